//! `file-source`: Kafka's `FileStreamSourceConnector` as a Sluice plugin.
//!
//! Reads lines from `file` and produces each as a record with a STRING value and a null
//! key, with Kafka's source partition `{"filename": <file>}` and offset
//! `{"position": <byte position after the line>}`, so offsets written by either carry over.
//! The design decision: the file stays open and is read in large chunks; a poll returns as
//! soon as the batch is full or the file has no more complete lines (an empty batch lets the
//! host back off), so the task never blocks waiting for data.

mod lines;

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_plugin_sdk::{
    log, Config, ConfigDef, ConfigProblem, FileAccess, Importance, OffsetMap, PluginSpec, Record,
    Schema, SchemaRef, Source, SourcePosition, SourceRecord, TaskError,
};

pub use lines::LineSplitter;

const FILE: &str = "file";
const TOPIC: &str = "topic";
const BATCH_SIZE: &str = "batch.size";
/// Kafka's keys in the source partition and offset maps.
const FILENAME_FIELD: &str = "filename";
const POSITION_FIELD: &str = "position";
/// Bytes asked of the file per read.
const CHUNK: usize = 256 * 1024;

/// One FileStreamSource task.
pub struct FileSource {
    file_name: String,
    topic: String,
    batch_size: usize,
    value_schema: SchemaRef,
    /// Position to start from when the file is (lazily) opened.
    start_position: u64,
    /// `None` until the file exists and is open (Kafka also waits for a missing file).
    reader: Option<(File, LineSplitter)>,
    warned_missing: bool,
    /// Whether the file was opened before (reopening at EOF is silent).
    opened: bool,
}

fn file_problem() -> ConfigProblem {
    ConfigProblem {
        key: FILE.to_string(),
        message: "`file` is required: Kafka's FileStreamSource reads standard input when it is \
                  unset, but a Sluice plugin has no standard input; name the file to read"
            .to_string(),
    }
}

impl Source for FileSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.file.FileStreamSourceConnector", "0.1.0")
            .alias("FileStreamSourceConnector")
            .alias("FileStreamSource")
            .alias("file-source")
            .description("Reads lines from a file and produces each as a record (Kafka's FileStreamSource).")
            .config(
                ConfigDef::string(FILE)
                    .required()
                    .importance(Importance::High)
                    .doc("Source filename. Required in Sluice (Kafka reads standard input when unset).")
                    .file_access(FileAccess::ReadFile),
            )
            .config(
                ConfigDef::string(TOPIC)
                    .required()
                    .importance(Importance::High)
                    .doc("The topic to publish data to"),
            )
            .config(
                ConfigDef::int(BATCH_SIZE)
                    .default(2000)
                    .importance(Importance::Low)
                    .doc("The maximum number of records the source task can read from the file each time it is polled"),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.get(FILE).is_none_or(|f| f.trim().is_empty()) {
            problems.push(file_problem());
        }
        if config.get(TOPIC).is_some_and(|t| t.trim().is_empty()) {
            problems.push(ConfigProblem {
                key: TOPIC.into(),
                message: "String must be non-empty".into(),
            });
        }
        match config.optional_int(BATCH_SIZE) {
            Err(e) => problems.push(e.into()),
            Ok(Some(n)) if n < 1 => problems.push(ConfigProblem {
                key: BATCH_SIZE.into(),
                message: format!("{n} is not valid; use a positive number of records"),
            }),
            Ok(_) => {}
        }
        problems
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        if let Some(p) = Self::validate(&config).into_iter().next() {
            return Err(TaskError::Fatal(format!(
                "config `{}`: {}",
                p.key, p.message
            )));
        }
        let file_name = config.required_str(FILE)?.to_string();
        let topic = config.required_str(TOPIC)?.to_string();
        let batch_size = usize::try_from(config.required_int(BATCH_SIZE)?).unwrap_or(usize::MAX);
        let mut start_position = 0;
        for position in committed
            .iter()
            .filter(|p| p.partition.get_str(FILENAME_FIELD) == Some(&file_name))
        {
            match position.offset.get(POSITION_FIELD) {
                None => {}
                Some(v) => {
                    start_position = v
                        .as_i64()
                        .and_then(|p| u64::try_from(p).ok())
                        .ok_or_else(|| TaskError::fatal(format!(
                            "committed offset for file {file_name}: position {v:?} is not a non-negative integer"
                        )))?;
                }
            }
        }
        if start_position > 0 {
            log::info!("file-source: resuming {file_name} at byte {start_position}");
        }
        Ok(FileSource {
            file_name,
            topic,
            batch_size,
            value_schema: Schema::string().into_ref(),
            start_position,
            reader: None,
            warned_missing: false,
            opened: false,
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        if self.reader.is_none() && !self.open_file()? {
            return Ok(Vec::new());
        }
        let Some((file, splitter)) = self.reader.as_mut() else {
            return Ok(Vec::new());
        };
        let limit = self.batch_size.min(max_records as usize).max(1);
        let mut records = Vec::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        loop {
            while records.len() < limit {
                let Some((line, position)) = splitter.next_line() else {
                    break;
                };
                records.push(SourceRecord::new(
                    OffsetMap::new().with(FILENAME_FIELD, self.file_name.as_str()),
                    OffsetMap::new().with(POSITION_FIELD, position as i64),
                    Record::new(self.topic.as_str())
                        .with_value(Some(self.value_schema.clone()), line)
                        .with_timestamp(now),
                ));
            }
            if records.len() >= limit {
                return Ok(records);
            }
            let spare = splitter.spare(CHUNK);
            match file.read(spare) {
                Ok(0) => {
                    splitter.filled(CHUNK, 0);
                    // At end of file. wasi-libc keeps a file's input stream closed once it
                    // reported EOF, so lines appended later would never be seen through this
                    // handle, while Kafka's FileStreamSource tails the file. Reopen on the
                    // next poll at the last complete line (a partial trailing line is read
                    // again from there).
                    let position = splitter.position();
                    self.start_position = position;
                    self.reader = None;
                    return Ok(records);
                }
                Ok(n) => splitter.filled(CHUNK, n),
                Err(e) if e.kind() == ErrorKind::Interrupted => splitter.filled(CHUNK, 0),
                Err(e) => {
                    splitter.filled(CHUNK, 0);
                    if !records.is_empty() {
                        // Hand over what was read; the error shows again on the next poll.
                        return Ok(records);
                    }
                    return Err(TaskError::Retriable(format!(
                        "reading {}: {e}",
                        self.file_name
                    )));
                }
            }
        }
    }

    fn stop(&mut self) {
        self.reader = None;
    }
}

impl FileSource {
    /// Opens the file at the start position; `Ok(false)` while it does not exist yet.
    fn open_file(&mut self) -> Result<bool, TaskError> {
        let mut file = match File::open(&self.file_name) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !self.warned_missing {
                    log::warn!(
                        "file-source: couldn't find file {}, waiting for it to be created",
                        self.file_name
                    );
                    self.warned_missing = true;
                }
                return Ok(false);
            }
            Err(e) => {
                return Err(TaskError::fatal(format!(
                    "error while trying to open file {}: {e}",
                    self.file_name
                )))
            }
        };
        if self.start_position > 0 {
            file.seek(SeekFrom::Start(self.start_position))
                .map_err(|e| {
                    TaskError::fatal(format!(
                        "seeking {} to byte {}: {e}",
                        self.file_name, self.start_position
                    ))
                })?;
        }
        if !self.opened {
            log::info!(
                "file-source: reading {} from byte {}",
                self.file_name,
                self.start_position
            );
            self.opened = true;
        }
        self.reader = Some((file, LineSplitter::at(self.start_position)));
        Ok(true)
    }
}

sluice_plugin_sdk::export_source!(FileSource);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Value;
    use std::io::Write;

    fn config(file: &str, batch: &str) -> Config {
        Config::with_defs(
            vec![
                (FILE.into(), file.into()),
                (TOPIC.into(), "lines".into()),
                (BATCH_SIZE.into(), batch.into()),
            ],
            &FileSource::spec().config,
        )
    }

    fn values(records: &[SourceRecord]) -> Vec<(String, i64)> {
        records
            .iter()
            .map(|r| match &r.record.value {
                Value::String(s) => (s.clone(), r.source_offset.get_i64(POSITION_FIELD).unwrap()),
                other => panic!("not a string: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn reads_batches_holds_partial_lines_and_resumes() {
        let dir = std::env::temp_dir().join(format!("sluice-file-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.txt");
        let path_str = path.to_str().unwrap().to_string();
        std::fs::write(&path, "a\nb\r\nc\rpart").unwrap();

        let mut task = FileSource::open(config(&path_str, "2"), vec![]).unwrap();
        let first = task.poll(100).unwrap();
        assert_eq!(values(&first), vec![("a".into(), 2), ("b".into(), 5)]);
        assert_eq!(
            first[0].source_partition.get_str(FILENAME_FIELD),
            Some(path_str.as_str())
        );
        assert_eq!(first[0].record.topic, "lines");
        assert_eq!(first[0].record.key, Value::Null);
        assert_eq!(values(&task.poll(100).unwrap()), vec![("c".into(), 7)]);
        assert!(
            task.poll(100).unwrap().is_empty(),
            "partial line must wait for its newline"
        );

        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"ial\n")
            .unwrap();
        assert_eq!(
            values(&task.poll(100).unwrap()),
            vec![("partial".into(), 15)]
        );

        // A new task resumes after the committed position.
        let committed = vec![SourcePosition {
            partition: OffsetMap::new().with(FILENAME_FIELD, path_str.as_str()),
            offset: OffsetMap::new().with(POSITION_FIELD, 5i64),
        }];
        let mut resumed = FileSource::open(config(&path_str, "10"), committed).unwrap();
        assert_eq!(
            values(&resumed.poll(100).unwrap()),
            vec![("c".into(), 7), ("partial".into(), 15)]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_key_is_explained_and_missing_file_waits() {
        let problems = FileSource::validate(&Config::with_defs(
            vec![(TOPIC.into(), "t".into())],
            &FileSource::spec().config,
        ));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("standard input"),
            "{}",
            problems[0].message
        );

        let mut task = FileSource::open(config("/nonexistent/sluice/in.txt", "5"), vec![]).unwrap();
        assert!(task.poll(10).unwrap().is_empty());
    }
}
