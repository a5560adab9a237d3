//! Test-only source `test-trap-source`: emits `trap.after` (default 10) string records
//! `record-0`, `record-1`, … to `topic`, then panics in `poll`, so integration tests can
//! check that a guest trap fails only that task and the records before it were delivered.
//!
//! For restart tests, `trap.marker.dir` (a directory the plugin is granted write access to)
//! counts traps across task restarts: every trap leaves a marker file there, and once
//! `trap.times` markers exist the task stops trapping and emits up to `count` records. Each
//! task start logs `test-trap-source <VERSION> opened`, so tests can see which build of the
//! component a task runs (hot-reload tests patch [`VERSION`] in a copy of the `.wasm`).

use std::path::PathBuf;

use sluice_plugin_sdk::{
    log, Config, ConfigDef, FileAccess, OffsetMap, PluginSpec, Record, Schema, SchemaRef, Source,
    SourcePosition, SourceRecord, TaskError,
};

/// The version in the spec. The build metadata is a fixed-length marker so a test can make
/// a second, distinct component by replacing `build.1` with `build.2` in the binary.
pub const VERSION: &str = "0.1.0+build.1";

/// The trapping source task.
pub struct TrapSource {
    topic: String,
    trap_after: u64,
    /// Traps in total (across restarts) before the task behaves; `None`: always trap.
    trap_times: Option<u64>,
    marker_dir: Option<PathBuf>,
    /// Records to emit once no longer trapping; `None`: no end.
    count: Option<u64>,
    next: u64,
    schema: SchemaRef,
}

impl Source for TrapSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-trap-source", VERSION)
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
            .config(
                ConfigDef::long("trap.times")
                    .default(-1)
                    .doc("Traps in total, counted by marker files in trap.marker.dir; -1: always."),
            )
            .config(
                ConfigDef::string("trap.marker.dir")
                    .file_access(FileAccess::WriteDir)
                    .doc("Directory for one marker file per trap (required with trap.times)."),
            )
            .config(
                ConfigDef::long("count")
                    .default(-1)
                    .doc("Records to emit when not trapping; -1: no end."),
            )
    }

    fn open(config: Config, _committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let topic = config.required_str("topic")?.to_string();
        let trap_after = u64::try_from(config.required_int("trap.after")?).map_err(|_| {
            TaskError::fatal("config `trap.after`: use a non-negative number of records")
        })?;
        let trap_times = u64::try_from(config.required_int("trap.times")?).ok();
        let marker_dir = config.optional_str("trap.marker.dir").map(PathBuf::from);
        if trap_times.is_some() && marker_dir.is_none() {
            return Err(TaskError::fatal(
                "config `trap.times`: also set `trap.marker.dir` to count traps across restarts",
            ));
        }
        let count = u64::try_from(config.required_int("count")?).ok();
        log::info!("test-trap-source {VERSION} opened");
        Ok(TrapSource {
            topic,
            trap_after,
            trap_times,
            marker_dir,
            count,
            next: 0,
            schema: Schema::string().into_ref(),
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        let trapping = self.trapping()?;
        if trapping && self.next >= self.trap_after {
            if let Some(dir) = &self.marker_dir {
                let marker = dir.join(format!("trap-{}", self.traps_so_far()?));
                std::fs::write(&marker, b"trapped\n").map_err(|e| {
                    TaskError::fatal(format!("cannot write {}: {e}", marker.display()))
                })?;
            }
            log::error!("test-trap-source: trapping after {} records", self.next);
            panic!("test-trap-source: trap after {} records", self.next);
        }
        let limit = if trapping {
            self.trap_after
        } else {
            self.count.unwrap_or(u64::MAX)
        };
        let end = limit.min(self.next + u64::from(max_records.max(1)));
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

impl TrapSource {
    /// Whether this task still traps: always without `trap.times`, else until that many
    /// markers exist.
    fn trapping(&self) -> Result<bool, TaskError> {
        match self.trap_times {
            None => Ok(true),
            Some(times) => Ok(self.traps_so_far()? < times),
        }
    }

    fn traps_so_far(&self) -> Result<u64, TaskError> {
        let Some(dir) = &self.marker_dir else {
            return Ok(0);
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| TaskError::fatal(format!("cannot list {}: {e}", dir.display())))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("trap-"))
            .count() as u64)
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

    #[test]
    fn traps_only_as_often_as_asked_counting_markers() {
        let dir = std::env::temp_dir().join(format!("trap-markers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = || {
            Config::with_defs(
                vec![
                    ("topic".into(), "t".into()),
                    ("trap.after".into(), "2".into()),
                    ("trap.times".into(), "2".into()),
                    ("trap.marker.dir".into(), dir.display().to_string()),
                    ("count".into(), "5".into()),
                ],
                &TrapSource::spec().config,
            )
        };
        for _ in 0..2 {
            let mut task = TrapSource::open(config(), vec![]).unwrap();
            assert_eq!(task.poll(10).unwrap().len(), 2);
            let trapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.poll(1)));
            assert!(trapped.is_err());
        }
        let mut task = TrapSource::open(config(), vec![]).unwrap();
        assert_eq!(task.poll(10).unwrap().len(), 5);
        assert!(task.poll(10).unwrap().is_empty());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn trap_times_needs_a_marker_dir() {
        let config = Config::with_defs(
            vec![
                ("topic".into(), "t".into()),
                ("trap.times".into(), "1".into()),
            ],
            &TrapSource::spec().config,
        );
        assert!(TrapSource::open(config, vec![]).is_err());
    }
}
