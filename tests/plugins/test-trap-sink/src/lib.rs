//! Test-only sink `test-trap-sink`: accepts every record and panics inside `put` when a
//! record's value is the string in `trap.on` (default `boom`), so integration tests can
//! check that a guest trap fails only that task. With `retry.on`, the first `put` that sees
//! that value fails as retriable (nothing of that batch accepted) and the next one accepts it,
//! so tests can check that the host retries the same batch.

use sluice_plugin_sdk::{
    log, Config, ConfigDef, PluginSpec, Record, RecordFailure, Sink, TaskError, Value,
};

/// The trapping sink task.
pub struct TrapSink {
    trap_on: String,
    retry_on: Option<String>,
    accepted: u64,
}

impl Sink for TrapSink {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-trap-sink", "0.1.0")
            .description("Test only: panics in put() when a record value equals `trap.on`.")
            .config(ConfigDef::list("topics").doc("Topics to consume (handled by the host)."))
            .config(
                ConfigDef::string("trap.on")
                    .default("boom")
                    .doc("String value that makes put() panic."),
            )
            .config(
                ConfigDef::string("retry.on")
                    .doc("String value that makes the first put() seeing it fail as retriable."),
            )
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let trap_on = config.required_str("trap.on")?.to_string();
        Ok(TrapSink {
            trap_on,
            retry_on: config.get("retry.on").map(str::to_string),
            accepted: 0,
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        let is = |r: &Record, v: &str| matches!(&r.value, Value::String(s) if s == v);
        if let Some(retry_on) = &self.retry_on {
            if records.iter().any(|r| is(r, retry_on)) {
                let message = format!("test-trap-sink: value {retry_on:?} asks for a retry");
                self.retry_on = None; // once
                return Err(TaskError::Retriable(message));
            }
        }
        for record in &records {
            if matches!(&record.value, Value::String(s) if *s == self.trap_on) {
                log::error!(
                    "test-trap-sink: trapping on value {:?} after {} records",
                    self.trap_on,
                    self.accepted
                );
                panic!("test-trap-sink: value {:?} triggers the trap", self.trap_on);
            }
            self.accepted += 1;
        }
        Ok(Vec::new())
    }
}

sluice_plugin_sdk::export_sink!(TrapSink);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "triggers the trap")]
    fn panics_on_the_trap_value() {
        let mut sink = TrapSink::open(Config::new(vec![("trap.on".into(), "x".into())])).unwrap();
        assert!(sink
            .put(vec![Record::new("t").with_value(None, "ok")])
            .unwrap()
            .is_empty());
        let _ = sink.put(vec![Record::new("t").with_value(None, "x")]);
    }
}
