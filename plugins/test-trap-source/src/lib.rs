//! Test-only source `test-trap-source`: emits `trap.after` (default 10) string records
//! `record-0`, `record-1`, … to `topic`, then panics in `poll`, so integration tests can
//! check that a guest trap fails only that task and the records before it were delivered.

use sluice_plugin_sdk::{
    log, Config, ConfigDef, OffsetMap, PluginSpec, Record, Schema, SchemaRef, Source,
    SourcePosition, SourceRecord, TaskError,
};

/// The trapping source task.
pub struct TrapSource {
    topic: String,
    trap_after: u64,
    next: u64,
    schema: SchemaRef,
}

impl Source for TrapSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-trap-source", "0.1.0")
            .description("Test only: emits `trap.after` records, then panics in poll().")
            .config(
                ConfigDef::string("topic")
                    .required()
                    .doc("Topic to write to."),
            )
            .config(
                ConfigDef::long("trap.after")
                    .default(10)
                    .doc("Records to emit before trapping."),
            )
    }

    fn open(config: Config, _committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let topic = config.required_str("topic")?.to_string();
        let trap_after = u64::try_from(config.required_int("trap.after")?).map_err(|_| {
            TaskError::fatal("config `trap.after`: use a non-negative number of records")
        })?;
        Ok(TrapSource {
            topic,
            trap_after,
            next: 0,
            schema: Schema::string().into_ref(),
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        if self.next >= self.trap_after {
            log::error!("test-trap-source: trapping after {} records", self.next);
            panic!("test-trap-source: trap after {} records", self.next);
        }
        let end = self
            .trap_after
            .min(self.next + u64::from(max_records.max(1)));
        let records = (self.next..end)
            .map(|n| {
                SourceRecord::new(
                    OffsetMap::new().with("test-trap-source", self.topic.as_str()),
                    OffsetMap::new().with("n", n as i64),
                    Record::new(self.topic.as_str())
                        .with_value(Some(self.schema.clone()), format!("record-{n}")),
                )
            })
            .collect();
        self.next = end;
        Ok(records)
    }
}

sluice_plugin_sdk::export_source!(TrapSource);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Value;

    #[test]
    fn emits_then_panics() {
        let config = Config::with_defs(
            vec![("topic".into(), "t".into())],
            &TrapSource::spec().config,
        );
        let mut task = TrapSource::open(config, vec![]).unwrap();
        let first = task.poll(4).unwrap();
        assert_eq!(first.len(), 4);
        assert_eq!(first[3].record.value, Value::from("record-3"));
        assert_eq!(task.poll(100).unwrap().len(), 6);
        let trapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.poll(1)));
        assert!(trapped.is_err());
    }
}
