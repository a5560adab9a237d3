//! Test-only source `test-secret-source`: declares `api.key` as a PASSWORD, so the integration
//! tests can check that the host never shows, logs or quotes its value.
//!
//! What it does with the key makes the real value observable without putting it anywhere:
//! each of its `count` records is `key-fnv1a=<16 hex digits>`, the FNV-1a 64 hash of the
//! `api.key` it was given — a test that hashes the expected key knows the plugin received
//! the real value (not `[hidden]`). Its `validate` behaves like a careless plugin and quotes
//! the refused value (a key that does not start with `sk-`), so the host's redaction of
//! plugin messages is exercised too. A key starting with `sk-fail` makes the task fail in
//! `open` with a message quoting the key, for the host's redaction of failure traces.

use sluice_plugin_sdk::{
    log, Config, ConfigDef, ConfigProblem, OffsetMap, PluginSpec, Record, Schema, SchemaRef,
    Source, SourcePosition, SourceRecord, TaskError,
};

/// The hash the records carry (also used by the integration test, which copies the formula).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The source task.
pub struct SecretSource {
    topic: String,
    value: String,
    count: u64,
    next: u64,
    schema: SchemaRef,
}

impl Source for SecretSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-secret-source", "0.1.0")
            .description("Test only: emits the hash of its PASSWORD key `api.key`.")
            .config(
                ConfigDef::string("topic")
                    .required()
                    .doc("Topic to write to."),
            )
            .config(
                ConfigDef::password("api.key")
                    .required()
                    .doc("A secret; must start with `sk-`."),
            )
            .config(
                ConfigDef::long("count")
                    .default(1)
                    .doc("Records to emit, then idle."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match config.optional_str("api.key") {
            // Deliberately quotes the secret: the host must not pass it on.
            Some(key) if !key.starts_with("sk-") => vec![ConfigProblem {
                key: "api.key".into(),
                message: format!("api.key '{key}' is refused: it must start with sk-"),
            }],
            _ => Vec::new(),
        }
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let topic = config.required_str("topic")?.to_string();
        let key = config.required_str("api.key")?;
        if key.starts_with("sk-fail") {
            // Deliberately quotes the secret: the host must cut it out of the task's trace.
            return Err(TaskError::fatal(format!("cannot log in with key '{key}'")));
        }
        let count = u64::try_from(config.required_int("count")?)
            .map_err(|_| TaskError::fatal("config `count`: use a non-negative number"))?;
        let next = committed
            .iter()
            .filter_map(|p| p.offset.get_i64("n"))
            .map(|n| n as u64 + 1)
            .max()
            .unwrap_or(0);
        log::info!("test-secret-source opened");
        Ok(SecretSource {
            topic,
            value: format!("key-fnv1a={:016x}", fnv1a(key)),
            count,
            next,
            schema: Schema::string().into_ref(),
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        let end = self.count.min(self.next + u64::from(max_records.max(1)));
        let records = (self.next..end)
            .map(|n| {
                SourceRecord::new(
                    OffsetMap::new().with("test-secret-source", self.topic.as_str()),
                    OffsetMap::new().with("n", n as i64),
                    Record::new(self.topic.as_str())
                        .with_value(Some(self.schema.clone()), self.value.clone()),
                )
            })
            .collect();
        self.next = end;
        Ok(records)
    }
}

sluice_plugin_sdk::export_source!(SecretSource);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Value;

    fn config(key: &str) -> Config {
        Config::with_defs(
            vec![
                ("topic".into(), "t".into()),
                ("api.key".into(), key.into()),
                ("count".into(), "2".into()),
            ],
            &SecretSource::spec().config,
        )
    }

    #[test]
    fn emits_the_hash_of_the_key_it_was_given() {
        let mut task = SecretSource::open(config("sk-abc"), vec![]).unwrap();
        let records = task.poll(10).unwrap();
        assert_eq!(records.len(), 2);
        let expected = format!("key-fnv1a={:016x}", fnv1a("sk-abc"));
        assert_eq!(records[1].record.value, Value::from(expected.as_str()));
        assert!(task.poll(10).unwrap().is_empty());
        // The FNV-1a 64 test vector, so the integration test's copy can be checked against it.
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn validate_quotes_a_refused_key() {
        assert!(SecretSource::validate(&config("sk-ok")).is_empty());
        let p = SecretSource::validate(&config("nope"));
        assert_eq!(
            p[0].message,
            "api.key 'nope' is refused: it must start with sk-"
        );
    }
}
