//! Test-only sink `test-hostile-sink`: never returns from `put` (a busy loop), so the sandbox
//! tests can check that the call timeout (`wasm.call.timeout.ms`) fails only this task.

use sluice_plugin_sdk::{Config, ConfigDef, PluginSpec, Record, RecordFailure, Sink, TaskError};

/// The looping sink task.
pub struct HostileSink;

impl Sink for HostileSink {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-hostile-sink", "0.1.0")
            .description("Test only: put() never returns.")
            .config(ConfigDef::list("topics").doc("Topics to consume (handled by the host)."))
    }

    fn open(_config: Config) -> Result<Self, TaskError> {
        Ok(HostileSink)
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

sluice_plugin_sdk::export_sink!(HostileSink);
