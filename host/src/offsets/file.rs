//! The standalone offset file.
//!
//! Format: one JSON object; each key is the Kafka offsets-topic key of one source partition,
//! `["<connector>",{<partition>}]` in compact JSON, and each value is that partition's offset
//! JSON. For example:
//!
//! ```json
//! {
//!   "[\"file-src\",{\"filename\":\"/tmp/a.txt\"}]": {"position":1234}
//! }
//! ```
//!
//! This is deliberately NOT Kafka's standalone format (a Java-serialized `HashMap` of byte
//! buffers, unreadable without a JVM); it reuses the offsets-topic key/value JSON so the same
//! entries can later be copied to or from a distributed offsets topic. A Java-serialized file
//! is recognised and rejected with a message saying so. Partition maps are `BTreeMap`s, so
//! their JSON (and thus the key) is canonical: the same partition always gives the same key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde_json::Value as Json;

use super::OffsetError;
use crate::data::{OffsetMap, SourcePosition};

/// Source offsets of every connector, kept in memory and flushed to one JSON file.
///
/// `Send + Sync`: tasks on several threads stage into one store shared through an `Arc`.
pub struct FileOffsetStore {
    path: PathBuf,
    state: Mutex<State>,
    /// Serialises flushes (one temp file at a time) without blocking `stage` during I/O.
    flush_lock: Mutex<()>,
}

#[derive(Default)]
struct State {
    /// Key: (connector, compact partition JSON); the JSON string orders partitions stably.
    entries: BTreeMap<(String, String), SourcePosition>,
    /// Bumped by every `stage`; `flushed` is the version last written to disk.
    version: u64,
    flushed: u64,
}

impl FileOffsetStore {
    /// Opens the store; a missing file is an empty store (as is an empty or blank file).
    pub fn open(path: &Path) -> Result<Self, OffsetError> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => parse(path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(OffsetError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                entries,
                ..State::default()
            }),
            flush_lock: Mutex::new(()),
        })
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The positions of one connector, flushed or staged, ordered by partition.
    ///
    /// Staged offsets are included: they were acknowledged by the broker, so a restarted task
    /// may resume from them (Kafka's in-memory offset store behaves the same).
    pub fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        let state = self.state.lock();
        state
            .entries
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Stages offsets (later ones win per partition); not durable until `flush`.
    pub fn stage(
        &self,
        connector: &str,
        offsets: impl IntoIterator<Item = (OffsetMap, OffsetMap)>,
    ) {
        // Build keys before taking the lock: serialising is the only real work here.
        let staged: Vec<_> = offsets
            .into_iter()
            .map(|(partition, offset)| {
                let key = partition_json(&partition);
                (
                    (connector.to_string(), key),
                    SourcePosition { partition, offset },
                )
            })
            .collect();
        if staged.is_empty() {
            return;
        }
        let mut state = self.state.lock();
        state.entries.extend(staged);
        state.version += 1;
    }

    /// Removes the offsets of `partitions` (`None`: all of the connector's); durable on the
    /// next `flush`. A partition without an offset is ignored, like a tombstone for nothing.
    pub fn remove(&self, connector: &str, partitions: Option<&[OffsetMap]>) {
        let mut state = self.state.lock();
        match partitions {
            None => state.entries.retain(|(c, _), _| c != connector),
            Some(list) => {
                for p in list {
                    state
                        .entries
                        .remove(&(connector.to_string(), partition_json(p)));
                }
            }
        }
        state.version += 1;
    }

    /// Writes everything staged to disk atomically (temp file in the same dir, fsync, rename,
    /// fsync dir). Does nothing when nothing changed since the last flush.
    pub fn flush(&self) -> Result<(), OffsetError> {
        let _one_at_a_time = self.flush_lock.lock();
        let (text, version) = {
            let state = self.state.lock();
            if state.version == state.flushed {
                return Ok(());
            }
            (render(&state.entries), state.version)
        };
        self.write_atomically(text.as_bytes())?;
        let mut state = self.state.lock();
        state.flushed = state.flushed.max(version);
        Ok(())
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), OffsetError> {
        crate::atomic_file::write(&self.path, bytes).map_err(|e| OffsetError::Io {
            action: e.action,
            path: self.path.clone(),
            source: e.source,
        })
    }
}

/// The compact JSON of a partition map (canonical: `OffsetMap` is sorted).
fn partition_json(partition: &OffsetMap) -> String {
    serde_json::to_string(partition).unwrap_or_default()
}

/// The file text: one entry per line, so the file diffs and greps well.
fn render(entries: &BTreeMap<(String, String), SourcePosition>) -> String {
    let mut out = String::from("{");
    for (i, ((connector, partition), pos)) in entries.iter().enumerate() {
        let connector = serde_json::to_string(connector).unwrap_or_default();
        let key = format!("[{connector},{partition}]");
        let key = serde_json::to_string(&key).unwrap_or_default();
        let value = serde_json::to_string(&pos.offset).unwrap_or_default();
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&key);
        out.push_str(": ");
        out.push_str(&value);
    }
    out.push_str("\n}\n");
    out
}

fn parse(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<(String, String), SourcePosition>, OffsetError> {
    let corrupt = |message: String| OffsetError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    if bytes.starts_with(&[0xAC, 0xED]) {
        return Err(corrupt(
            "it is a Java-serialized Kafka Connect offset file; Sluice stores offsets as JSON \
             (see the offsets module docs) and cannot read Java serialization"
                .to_string(),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| corrupt(format!("not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let doc: Json = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let Json::Object(doc) = doc else {
        return Err(corrupt("expected a JSON object of offsets".to_string()));
    };
    let mut entries = BTreeMap::new();
    for (key, value) in doc {
        let bad_key = |why: &str| {
            corrupt(format!(
                "key {key:?}: {why}; expected [\"<connector>\",{{<partition>}}]"
            ))
        };
        let parsed: Json = serde_json::from_str(&key).map_err(|e| bad_key(&e.to_string()))?;
        let (connector, partition) = match parsed {
            Json::Array(mut items) if items.len() == 2 => {
                let partition = items.pop();
                let connector = items.pop();
                match (connector, partition) {
                    (Some(Json::String(c)), Some(Json::Object(p))) => (c, p),
                    _ => return Err(bad_key("wrong element types")),
                }
            }
            _ => return Err(bad_key("not a two-element array")),
        };
        let offset = match value {
            Json::Object(o) => o.into_iter().collect::<OffsetMap>(),
            // A null offset is a tombstone, as in the offsets topic.
            Json::Null => continue,
            other => {
                return Err(corrupt(format!(
                    "offset of {key:?} is {other}, expected a JSON object"
                )))
            }
        };
        let partition: OffsetMap = partition.into_iter().collect();
        entries.insert(
            (connector, partition_json(&partition)),
            SourcePosition { partition, offset },
        );
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn map(v: Json) -> OffsetMap {
        match v {
            Json::Object(o) => o.into_iter().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn missing_file_is_empty_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileOffsetStore::open(&dir.path().join("none.json")).expect("open");
        assert!(store.positions("c").is_empty());
        // Nothing staged: flush writes nothing.
        store.flush().expect("flush");
        assert!(files_in(dir.path()).is_empty());
    }

    #[test]
    fn stage_flush_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("offsets.json");
        let store = FileOffsetStore::open(&path).expect("open");
        store.stage(
            "file-src",
            [(
                map(json!({"filename": "/tmp/a.txt"})),
                map(json!({"position": 1234})),
            )],
        );
        store.stage(
            "other",
            [(map(json!({"b": 1, "a": "x"})), map(json!({"pos": 1})))],
        );
        // Staged offsets are visible before the flush, but not on disk.
        assert_eq!(store.positions("file-src").len(), 1);
        assert!(!path.exists());
        store.flush().expect("flush");

        let text = std::fs::read_to_string(&path).expect("read");
        let doc: Json = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            doc,
            json!({
                "[\"file-src\",{\"filename\":\"/tmp/a.txt\"}]": {"position": 1234},
                "[\"other\",{\"a\":\"x\",\"b\":1}]": {"pos": 1}
            })
        );

        let reopened = FileOffsetStore::open(&path).expect("reopen");
        assert_eq!(
            reopened.positions("file-src"),
            vec![SourcePosition {
                partition: map(json!({"filename": "/tmp/a.txt"})),
                offset: map(json!({"position": 1234})),
            }]
        );
        assert_eq!(
            reopened.positions("other")[0].partition,
            map(json!({"a": "x", "b": 1}))
        );
        assert!(reopened.positions("nobody").is_empty());
    }

    #[test]
    fn later_offsets_win_per_partition() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.json");
        let store = FileOffsetStore::open(&path).expect("open");
        let p = |f: &str| map(json!({"file": f}));
        store.stage(
            "c",
            [
                (p("a"), map(json!({"pos": 1}))),
                (p("b"), map(json!({"pos": 1}))),
            ],
        );
        store.stage(
            "c",
            [
                (p("a"), map(json!({"pos": 2}))),
                (p("a"), map(json!({"pos": 3}))),
            ],
        );
        store.flush().expect("flush");
        store.stage("c", [(p("b"), map(json!({"pos": 9})))]);
        store.flush().expect("flush");
        let positions = FileOffsetStore::open(&path).expect("reopen").positions("c");
        let got: Vec<(Json, Json)> = positions
            .into_iter()
            .map(|s| (json!(s.partition), json!(s.offset)))
            .collect();
        assert_eq!(
            got,
            vec![
                (json!({"file": "a"}), json!({"pos": 3})),
                (json!({"file": "b"}), json!({"pos": 9})),
            ]
        );
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.json");
        let store = FileOffsetStore::open(&path).expect("open");
        for i in 0..5 {
            store.stage("c", [(map(json!({"p": 0})), map(json!({"o": i})))]);
            store.flush().expect("flush");
        }
        assert_eq!(files_in(dir.path()), vec!["o.json".to_string()]);
    }

    #[test]
    fn failed_flush_names_the_file_and_cleans_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The target is a non-empty directory: the rename fails after the temp file was written.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("x"), "x").expect("write");
        let store = FileOffsetStore::open(&dir.path().join("taken"))
            .map(|_| ())
            .expect_err("must fail");
        assert!(store.to_string().contains("taken"), "{store}");

        let path = dir.path().join("missing-dir").join("o.json");
        let store = FileOffsetStore::open(&path).expect("open");
        store.stage("c", [(map(json!({"p": 0})), map(json!({"o": 1})))]);
        let e = store.flush().expect_err("must fail").to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert_eq!(files_in(dir.path()), vec!["taken".to_string()]);
        // Still staged: a later flush can succeed.
        std::fs::create_dir(dir.path().join("missing-dir")).expect("mkdir");
        store.flush().expect("flush after fixing the directory");
        assert_eq!(
            FileOffsetStore::open(&path)
                .expect("reopen")
                .positions("c")
                .len(),
            1
        );
    }

    #[test]
    fn concurrent_stage_from_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.json");
        let store = Arc::new(FileOffsetStore::open(&path).expect("open"));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..100 {
                        store.stage(
                            &format!("conn-{}", t % 2),
                            [(map(json!({"task": t})), map(json!({"i": i})))],
                        );
                        if i % 25 == 0 {
                            store.flush().expect("flush");
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        store.flush().expect("flush");
        let reopened = FileOffsetStore::open(&path).expect("reopen");
        for c in ["conn-0", "conn-1"] {
            let positions = reopened.positions(c);
            assert_eq!(positions.len(), 4, "{c}");
            for p in positions {
                assert_eq!(json!(p.offset), json!({"i": 99}), "{c} {:?}", p.partition);
            }
        }
        assert_eq!(files_in(dir.path()), vec!["o.json".to_string()]);
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.json");
        for (content, expect) in [
            (&b"{\"[\\\"c\\\",{}]\": {\"o\": 1"[..], "EOF"),
            (&b"[1,2]"[..], "expected a JSON object"),
            (&b"{\"not-a-key\": {}}"[..], "not-a-key"),
            (&b"{\"[\\\"c\\\",{}]\": 5}"[..], "expected a JSON object"),
            (&[0xAC, 0xED, 0x00, 0x05][..], "Java-serialized"),
        ] {
            std::fs::write(&path, content).expect("write");
            let e = FileOffsetStore::open(&path)
                .map(|_| ())
                .expect_err("must fail")
                .to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains("corrupt"), "{e}");
            assert!(e.contains(expect), "{expect}: {e}");
        }
    }

    #[test]
    fn blank_file_and_tombstones_are_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.json");
        std::fs::write(&path, "  \n").expect("write");
        assert!(FileOffsetStore::open(&path)
            .expect("open")
            .positions("c")
            .is_empty());
        std::fs::write(&path, r#"{"[\"c\",{\"p\":1}]": null}"#).expect("write");
        assert!(FileOffsetStore::open(&path)
            .expect("open")
            .positions("c")
            .is_empty());
    }
}
