//! `file-sink`: Kafka's `FileStreamSinkConnector` as a Sluice plugin.
//!
//! Appends one line per record to `file`: the value rendered as Kafka's
//! `PrintStream.println(record.value())` would (see [`render`] for the exact mapping; bytes
//! are written raw instead of Java's `[B@…`). The design decision: each `put` batch is
//! rendered into a buffer and written to the file in one call when the batch ends, so the
//! lines are visible right away (as with Kafka's sink, which prints each record directly);
//! `flush` fsyncs — the host commits consumer offsets only after `flush` returns, so every
//! committed record is on disk.
//!
//! The batch is written at the file's current end with one positional write (`pwrite`, i.e.
//! WASI `descriptor.write`, through rustix's safe wrapper), not through the file's append
//! stream: a stream write is handed to the host's thread pool and waited for, in chunks,
//! while a positional write is one call that the host performs on the calling thread.
//! Appending this way assumes no other writer appends to the same file at the same moment,
//! which holds for a connector with one task. With `tasks.max` above 1 every task appends to
//! the same file (Kafka's FileStreamSink gives each task the same config), so each writes
//! through the append stream instead (WASI's O_APPEND): the host appends each write
//! atomically at the current end, whoever wrote last. The batch goes out in line-aligned
//! writes of at most [`SHARED_WRITE`] bytes, so two tasks' lines never interleave mid-line
//! (a single line longer than that is the exception).
//!
//! Sluice hands the task its batches as borrowed records ([`BorrowedSink`]), so a string
//! value is written straight from the host's batch; other hosts call `put`.

pub mod render;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};

use sluice_plugin_sdk::{
    log, BorrowedSink, Config, ConfigDef, ConfigProblem, FileAccess, Importance, PluginSpec,
    Record, RecordFailure, RecordRef, Sink, TaskError, TopicPartitionOffset,
};

const FILE: &str = "file";

/// Largest write in shared mode: WASI's `blocking-write-and-flush` takes at most 4096 bytes,
/// so a larger write could be split where another task's write lands in between.
const SHARED_WRITE: usize = 4096;

/// One FileStreamSink task.
pub struct FileSink {
    file_name: String,
    file: File,
    /// One batch's lines; kept between batches so its capacity is reused.
    buf: Vec<u8>,
    /// Other tasks of the connector append to the same file (`tasks.max` > 1).
    shared: bool,
}

impl FileSink {
    /// One line per record (`render` writes its value), then the whole batch to the file.
    fn write_lines<R>(
        &mut self,
        records: &[R],
        render: impl Fn(&mut Vec<u8>, &R) -> io::Result<()>,
    ) -> Result<Vec<RecordFailure>, TaskError> {
        self.buf.clear();
        let written = records
            .iter()
            .try_for_each(|r| render(&mut self.buf, r).and_then(|()| self.buf.write_all(b"\n")))
            // Visible to readers now (one write per batch); durable at `flush`.
            .and_then(|()| {
                if self.shared {
                    append_shared(&self.file, &self.buf)
                } else {
                    append(&self.file, &self.buf)
                }
            });
        written.map_err(|e| TaskError::retriable(format!("writing to {}: {e}", self.file_name)))?;
        Ok(Vec::new())
    }
}

/// Writes all of `bytes` at the end of `file` with positional writes.
fn append(file: &File, mut bytes: &[u8]) -> io::Result<()> {
    let mut at = file.metadata()?.len();
    while !bytes.is_empty() {
        let n = rustix::io::pwrite(file, bytes, at)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        at += n as u64;
    }
    Ok(())
}

/// Writes all of `bytes` through the file's append stream, in writes that end at a line's end
/// and hold at most [`SHARED_WRITE`] bytes (or one longer line).
fn append_shared(mut file: &File, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let limit = bytes.len().min(SHARED_WRITE);
        let end = if limit == bytes.len() {
            limit
        } else {
            match bytes[..limit].iter().rposition(|b| *b == b'\n') {
                Some(nl) => nl + 1,
                // One line longer than a write: up to its end.
                None => bytes
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |nl| nl + 1),
            }
        };
        file.write_all(&bytes[..end])?;
        bytes = &bytes[end..];
    }
    Ok(())
}

impl Sink for FileSink {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.file.FileStreamSinkConnector", "0.1.0")
            .alias("FileStreamSinkConnector")
            .alias("FileStreamSink")
            .alias("file-sink")
            .description("Appends each record's value as a line to a file (Kafka's FileStreamSink).")
            .config(
                ConfigDef::string(FILE)
                    .required()
                    .importance(Importance::High)
                    .doc("Destination filename. Required in Sluice (Kafka writes to standard output when unset).")
                    .file_access(FileAccess::WriteFile),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        if config.get(FILE).is_none_or(|f| f.trim().is_empty()) {
            return vec![ConfigProblem {
                key: FILE.into(),
                message:
                    "`file` is required: Kafka's FileStreamSink writes to standard output when \
                          it is unset, but a Sluice plugin's standard output is the host log; name \
                          the file to append to"
                        .into(),
            }];
        }
        Vec::new()
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        if let Some(p) = Self::validate(&config).into_iter().next() {
            return Err(TaskError::Fatal(format!(
                "config `{}`: {}",
                p.key, p.message
            )));
        }
        let file_name = config.required_str(FILE)?.to_string();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file_name)
            .map_err(|e| {
                TaskError::fatal(format!(
                    "couldn't find or create file '{file_name}' for FileStreamSinkTask: {e}"
                ))
            })?;
        let shared = config
            .get("tasks.max")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .is_some_and(|n| n > 1);
        log::info!(
            "file-sink: appending to {file_name}{}",
            if shared {
                " (shared with the connector's other tasks: atomic appends)"
            } else {
                ""
            }
        );
        Ok(FileSink {
            file_name,
            file,
            buf: Vec::new(),
            shared,
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        self.write_lines(&records, |out, r| {
            render::render(out, &r.value, r.value_schema.as_deref())
        })
    }

    fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        // Every batch is already in the file (written when its `put` ended).
        self.file
            .sync_data()
            .map_err(|e| TaskError::retriable(format!("flushing {}: {e}", self.file_name)))
    }
}

impl BorrowedSink for FileSink {
    /// The same lines as `put`, written straight from the host's batch: the common string
    /// value is never copied into a record of its own.
    fn put_borrowed(
        &mut self,
        records: Vec<RecordRef<'_>>,
    ) -> Result<Vec<RecordFailure>, TaskError> {
        self.write_lines(&records, |out, r| {
            render::render_ref(out, &r.value, r.value_schema.as_deref())
        })
    }
}

sluice_plugin_sdk::export_sink!(FileSink: BorrowedSink);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::{Schema, Value};

    #[test]
    fn appends_one_line_per_record_visible_after_each_put() {
        let dir = std::env::temp_dir().join(format!("sluice-file-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        std::fs::write(&path, "existing\n").unwrap();
        let config = Config::new(vec![(FILE.into(), path.to_str().unwrap().into())]);
        let mut sink = FileSink::open(config).unwrap();
        let string = Schema::string().into_ref();
        let failures = sink
            .put(vec![
                Record::new("t").with_value(Some(string.clone()), "hello"),
                Record::new("t"),
                Record::new("t").with_value(None, Value::Int64(7)),
            ])
            .unwrap();
        assert!(failures.is_empty());
        // Written when the batch ends, before any flush (Kafka's sink prints each record).
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "existing\nhello\nnull\n7\n"
        );
        sink.put(vec![Record::new("t").with_value(None, "more")])
            .unwrap();
        sink.flush(&[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "existing\nhello\nnull\n7\nmore\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two tasks with `tasks.max=2` append batches to one file at the same time: every line
    /// arrives whole, once, the long ones included. (Natively the race of positional writes
    /// is rarely hit; `tests/integration/sink_tasks.rs` shows it through the WASI host.)
    #[test]
    fn tasks_sharing_a_file_append_whole_lines() {
        let dir = std::env::temp_dir().join(format!("sluice-file-sink-s-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut sink = FileSink::open(Config::new(vec![
                        (FILE.into(), path.to_str().unwrap().into()),
                        ("tasks.max".into(), "2".into()),
                    ]))
                    .unwrap();
                    assert!(sink.shared);
                    for b in 0..50 {
                        // A batch of several writes' worth, and one line longer than a write.
                        let mut batch: Vec<Record> = (0..200)
                            .map(|i| Record::new("t").with_value(None, format!("t{t}-b{b}-{i:04}")))
                            .collect();
                        let long = format!("t{t}-b{b}-long-{}", "x".repeat(SHARED_WRITE));
                        batch.push(Record::new("t").with_value(None, long));
                        sink.put(batch).unwrap();
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let mut got: Vec<&str> = text.lines().collect();
        got.sort_unstable();
        let mut want: Vec<String> = (0..2)
            .flat_map(|t| {
                (0..50).flat_map(move |b| {
                    (0..200)
                        .map(move |i| format!("t{t}-b{b}-{i:04}"))
                        .chain([format!("t{t}-b{b}-long-{}", "x".repeat(SHARED_WRITE))])
                })
            })
            .collect();
        want.sort_unstable();
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `put_borrowed` (what a Sluice host's packed batches reach) writes exactly what `put`
    /// writes, including logical values whose bytes or strings must not be written raw.
    #[test]
    fn borrowed_records_are_written_as_put_writes_them() {
        let dir = std::env::temp_dir().join(format!("sluice-file-sink-b-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (owned, borrowed) = (dir.join("owned.txt"), dir.join("borrowed.txt"));
        let string = Schema::string().into_ref();
        let decimal = Schema::decimal(2).into_ref();
        let named = Schema::string().with_name("com.example.Code").into_ref();
        let values: Vec<(Option<sluice_plugin_sdk::SchemaRef>, Value)> = vec![
            (Some(string), Value::from("hello")),
            (None, Value::from("schemaless")),
            (None, Value::Bytes(b"raw".to_vec())),
            (Some(decimal), Value::Bytes(vec![4, 210])),
            (Some(named), Value::from("named")),
            (None, Value::Int64(7)),
            (None, Value::Null),
        ];
        let records: Vec<Record> = values
            .iter()
            .map(|(s, v)| Record::new("t").with_value(s.clone(), v.clone()))
            .collect();
        let open = |path: &std::path::Path| {
            FileSink::open(Config::new(vec![(
                FILE.into(),
                path.to_str().unwrap().into(),
            )]))
            .unwrap()
        };
        open(&owned).put(records.clone()).unwrap();
        let refs: Vec<RecordRef<'_>> = records.iter().map(RecordRef::from).collect();
        open(&borrowed).put_borrowed(refs).unwrap();
        let want = std::fs::read_to_string(&owned).unwrap();
        assert_eq!(want, "hello\nschemaless\nraw\n12.34\nnamed\n7\nnull\n");
        assert_eq!(std::fs::read_to_string(&borrowed).unwrap(), want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
