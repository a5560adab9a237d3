//! {{name}}: a Sluice sink. Appends each record value as a line to `file`.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};

use sluice_plugin_sdk::{
    log, Config, ConfigDef, FileAccess, PluginSpec, Record, RecordFailure, Sink, TaskError,
    TopicPartitionOffset, Value,
};

pub struct Plugin {
    out: BufWriter<File>,
}

impl Sink for Plugin {
    fn spec() -> PluginSpec {
        PluginSpec::new("{{plugin_name}}", "0.1.0")
            .description("Appends each string value as a line to a file.")
            .config(
                ConfigDef::string("file")
                    .required()
                    .doc("File to append to.")
                    // Without this the plugin can open no file at all.
                    .file_access(FileAccess::WriteFile),
            )
            .config(ConfigDef::list("topics").doc("Topics to consume (handled by the host)."))
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let path = config.required_str("file")?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TaskError::fatal(format!("cannot open {path}: {e}")))?;
        log::info!("{{name}}: appending to {path}");
        Ok(Plugin { out: BufWriter::new(file) })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        let mut failures = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match &r.value {
                Value::String(s) => writeln!(self.out, "{s}")
                    .map_err(|e| TaskError::retriable(format!("writing: {e}")))?,
                other => failures.push(RecordFailure {
                    index: i as u32,
                    message: format!("expected a string value, got {other:?}"),
                }),
            }
        }
        Ok(failures)
    }

    fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        self.out
            .flush()
            .map_err(|e| TaskError::retriable(format!("flushing: {e}")))
    }
}

sluice_plugin_sdk::export_sink!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_strings_and_fails_other_values() {
        let path = std::env::temp_dir().join(format!("{{crate_name}}-{}.txt", std::process::id()));
        let config = Config::new(vec![("file".into(), path.to_str().unwrap().into())]);
        let mut sink = Plugin::open(config).unwrap();
        let failures = sink
            .put(vec![Record::new("t").with_value(None, "hello"), Record::new("t").with_value(None, 1i64)])
            .unwrap();
        sink.flush(&[]).unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
        std::fs::remove_file(path).unwrap();
    }
}
