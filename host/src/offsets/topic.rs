//! Source offsets in a Kafka offsets topic (distributed mode's `offset.storage.topic`), in
//! Kafka Connect's format: key `["<connector>",{<partition>}]`, value the offset map, both
//! compact JSON (Kafka's internal JsonConverter, `schemas.enable=false`); a null value deletes
//! a partition's offset. So offsets written by Kafka Connect workers are read here, and the
//! other way round.
//!
//! Design decisions: (1) a key read from the topic keeps its exact bytes and later writes for
//! that partition reuse them — compaction keeps only the last record *per key bytes*, and a
//! Java worker orders a partition map's fields its own way (HashMap order), so re-encoding
//! would leave two live keys for one partition. New partitions are written with sorted
//! fields. (2) `positions` reads the topic to its end first, so a task moved from another
//! worker resumes from what that worker flushed last, not from what this worker read at
//! start. (3) As with the file store, staged offsets are visible to `positions` before they
//! are flushed (they were acknowledged by the broker).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value as Json;

use super::{OffsetError, SourceOffsetStore};
use crate::data::{OffsetMap, SourcePosition};
use crate::kafka::topic_log::{LogError, LogRecord, TopicLog};

/// How long `positions` waits to read the topic to its end before answering with what it has.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// (connector, canonical partition JSON).
type Key = (String, String);

#[derive(Default)]
struct Entries {
    /// What the topic holds: the key bytes as found (or first written) and the position.
    stored: BTreeMap<Key, (Vec<u8>, SourcePosition)>,
    /// Acknowledged but not yet written to the topic.
    staged: BTreeMap<Key, SourcePosition>,
}

/// Source offsets kept in an offsets topic.
pub struct TopicOffsetStore {
    log: Mutex<TopicLog>,
    entries: Mutex<Entries>,
    /// Serialises flushes, so two flushes never interleave their records.
    flush_lock: Mutex<()>,
}

/// The offsets-topic key of a partition, with sorted fields.
pub fn offset_key(connector: &str, partition: &OffsetMap) -> Vec<u8> {
    serde_json::to_vec(&Json::Array(vec![
        Json::String(connector.to_string()),
        Json::Object(
            partition
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    ]))
    .unwrap_or_default()
}

/// Decodes an offsets-topic key; `None` for keys that are not `[connector, {partition}]`.
pub fn parse_offset_key(key: &[u8]) -> Option<(String, OffsetMap)> {
    let v: Json = serde_json::from_slice(key).ok()?;
    let [connector, partition] = v.as_array()?.as_slice() else {
        return None;
    };
    let partition: OffsetMap = partition
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some((connector.as_str()?.to_string(), partition))
}

fn canonical(partition: &OffsetMap) -> String {
    serde_json::to_string(partition).unwrap_or_default()
}

fn log_error(topic: &str, e: LogError) -> OffsetError {
    OffsetError::Topic {
        topic: topic.to_string(),
        message: e.to_string(),
    }
}

impl TopicOffsetStore {
    /// Opens the store on an open log and reads the topic to its end.
    pub fn open(log: TopicLog) -> Result<Self, OffsetError> {
        let store = TopicOffsetStore {
            log: Mutex::new(log),
            entries: Mutex::new(Entries::default()),
            flush_lock: Mutex::new(()),
        };
        store.catch_up()?;
        Ok(store)
    }

    /// Reads what other workers wrote since the last call.
    fn catch_up(&self) -> Result<(), OffsetError> {
        let log = self.log.lock();
        let mut read = Vec::new();
        log.read_to_end(READ_TIMEOUT, &AtomicBool::new(false), |r| read.push(r))
            .map_err(|e| log_error(log.topic(), e))?;
        let topic = log.topic().to_string();
        drop(log);
        let mut entries = self.entries.lock();
        for LogRecord { key, value, .. } in read {
            let Some(key) = key else { continue };
            let Some((connector, partition)) = parse_offset_key(&key) else {
                tracing::warn!(
                    topic,
                    key = %String::from_utf8_lossy(&key),
                    "offsets topic: skipping a record whose key is not [\"<connector>\",{{<partition>}}]"
                );
                continue;
            };
            let k = (connector, canonical(&partition));
            match value.as_deref().map(serde_json::from_slice::<Json>) {
                None | Some(Ok(Json::Null)) => {
                    entries.stored.remove(&k);
                }
                Some(Ok(Json::Object(o))) => {
                    let offset: OffsetMap = o.into_iter().collect();
                    entries
                        .stored
                        .insert(k, (key, SourcePosition { partition, offset }));
                }
                Some(_) => tracing::warn!(
                    topic,
                    key = %String::from_utf8_lossy(&key),
                    "offsets topic: skipping a record whose value is not a JSON object"
                ),
            }
        }
        Ok(())
    }

    fn write(&self, records: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), OffsetError> {
        if records.is_empty() {
            return Ok(());
        }
        let log = self.log.lock();
        log.send(&records).map_err(|e| log_error(log.topic(), e))
    }
}

impl SourceOffsetStore for TopicOffsetStore {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        if let Err(e) = self.catch_up() {
            tracing::warn!(connector, "answering with the offsets read so far: {e}");
        }
        let entries = self.entries.lock();
        let mut out: BTreeMap<&Key, &SourcePosition> = entries
            .stored
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|(k, (_, p))| (k, p))
            .collect();
        for (k, p) in entries.staged.iter().filter(|((c, _), _)| c == connector) {
            out.insert(k, p);
        }
        out.into_values().cloned().collect()
    }

    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        if offsets.is_empty() {
            return;
        }
        let mut entries = self.entries.lock();
        for (partition, offset) in offsets {
            entries.staged.insert(
                (connector.to_string(), canonical(&partition)),
                SourcePosition { partition, offset },
            );
        }
    }

    fn flush(&self) -> Result<(), OffsetError> {
        let _one_at_a_time = self.flush_lock.lock();
        // Cloned, not taken: until the write is acknowledged they stay visible to
        // `positions`, and a failed write leaves them staged for the next flush.
        let staged = self.entries.lock().staged.clone();
        if staged.is_empty() {
            return Ok(());
        }
        let records: Vec<_> = {
            let entries = self.entries.lock();
            staged
                .iter()
                .map(|(k, p)| {
                    let key = entries
                        .stored
                        .get(k)
                        .map(|(bytes, _)| bytes.clone())
                        .unwrap_or_else(|| offset_key(&k.0, &p.partition));
                    (key, serde_json::to_vec(&p.offset).ok())
                })
                .collect()
        };
        self.write(records.clone())?;
        let mut entries = self.entries.lock();
        for ((k, p), (key, _)) in staged.into_iter().zip(records) {
            // Offsets staged while the write was under way stay staged.
            if entries.staged.get(&k) == Some(&p) {
                entries.staged.remove(&k);
            }
            entries.stored.insert(k, (key, p));
        }
        Ok(())
    }

    fn remove(
        &self,
        connector: &str,
        partitions: Option<Vec<OffsetMap>>,
    ) -> Result<(), OffsetError> {
        // Another worker may have written partitions this one has not read yet.
        self.catch_up()?;
        let keys: Vec<(Key, Vec<u8>)> = {
            let mut entries = self.entries.lock();
            let wanted: Option<Vec<String>> =
                partitions.map(|ps| ps.iter().map(canonical).collect());
            let matches =
                |k: &Key| k.0 == connector && wanted.as_ref().is_none_or(|w| w.contains(&k.1));
            entries.staged.retain(|k, _| !matches(k));
            let mut keys: Vec<(Key, Vec<u8>)> = entries
                .stored
                .iter()
                .filter(|(k, _)| matches(k))
                .map(|(k, (bytes, _))| (k.clone(), bytes.clone()))
                .collect();
            // A partition never stored still gets a tombstone under its canonical key.
            if let Some(w) = &wanted {
                for c in w {
                    let k = (connector.to_string(), c.clone());
                    if !keys.iter().any(|(have, _)| *have == k) {
                        if let Ok(p) = serde_json::from_str::<OffsetMap>(c) {
                            keys.push((k, offset_key(connector, &p)));
                        }
                    }
                }
            }
            keys
        };
        self.write(keys.iter().map(|(_, b)| (b.clone(), None)).collect())?;
        let mut entries = self.entries.lock();
        for (k, _) in keys {
            entries.stored.remove(&k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kafka_connects() {
        let mut p = OffsetMap::new();
        p.insert("filename".into(), Json::String("/tmp/a.txt".into()));
        assert_eq!(
            String::from_utf8(offset_key("file-src", &p)).expect("utf8"),
            r#"["file-src",{"filename":"/tmp/a.txt"}]"#
        );
        // A key as a Java worker may write it: fields in its own order, kept as read.
        let (c, parsed) =
            parse_offset_key(br#"["db",{"table":"t","schema":"s"}]"#).expect("parses");
        assert_eq!(c, "db");
        assert_eq!(canonical(&parsed), r#"{"schema":"s","table":"t"}"#);
        assert!(parse_offset_key(br#"["db"]"#).is_none());
        assert!(parse_offset_key(b"not json").is_none());
    }
}
