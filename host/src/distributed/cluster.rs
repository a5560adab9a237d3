//! What one worker knows of its cluster, shared between the threads that learn it (the group
//! member, the status-topic reader, the REST herder reading its own writes back) and the REST
//! API that answers from it.
//!
//! Design decision: one [`ConfigSnapshot`] per worker, fed by every reader of the config
//! topic. Each reader has its own consumer, and a record is applied only when it is past
//! what the snapshot already holds (`offset >= snapshot.offset`): the config topic has one
//! partition, so "past" is well defined and two readers never apply a record twice. That is
//! what lets the REST herder read its own write back at once, even while the member thread
//! is busy in a rebalance.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::config_state::ConfigSnapshot;
use super::records::{ConfigRecord, Status, StatusKey};
use crate::kafka::topic_log::{LogError, LogRecord, TopicLog};

/// The cluster as this worker sees it.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub snapshot: ConfigSnapshot,
    /// The leader's REST URL from the last assignment; `None` before the first one and while
    /// the group rebalances (writes then answer 409).
    pub leader_url: Option<String>,
    pub is_leader: bool,
    /// The generation of the last assignment (written into status records).
    pub generation: i32,
    /// Connector → REST URL of the worker the leader assigned it to (known to the leader).
    pub owners: BTreeMap<String, String>,
    /// What the leader assigned to this worker: connectors, and tasks (connector, id).
    pub assigned_connectors: BTreeSet<String>,
    pub assigned_tasks: BTreeSet<(String, u32)>,
    /// The status topic's current records.
    pub connector_status: BTreeMap<String, Status>,
    pub task_status: BTreeMap<(String, u32), Status>,
    /// Active topics per connector (KIP-558 `status-topic-<topic>:connector-<name>` records).
    pub active_topics: BTreeMap<String, BTreeSet<String>>,
    /// Active-topic resets asked of this worker's REST API: connector → the topics whose
    /// records the status publisher tombstones.
    pub topic_resets: BTreeMap<String, BTreeSet<String>>,
    /// True once the worker got its first assignment.
    pub ready: bool,
}

impl Default for ClusterView {
    fn default() -> Self {
        ClusterView {
            snapshot: ConfigSnapshot::new(),
            leader_url: None,
            is_leader: false,
            generation: -1,
            owners: BTreeMap::new(),
            assigned_connectors: BTreeSet::new(),
            assigned_tasks: BTreeSet::new(),
            connector_status: BTreeMap::new(),
            task_status: BTreeMap::new(),
            active_topics: BTreeMap::new(),
            topic_resets: BTreeMap::new(),
            ready: false,
        }
    }
}

pub type SharedView = Arc<RwLock<ClusterView>>;

/// Reads the config topic to its end into the shared snapshot (records it already holds are
/// skipped; see the module docs).
pub fn read_config(
    log: &TopicLog,
    view: &SharedView,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<(), LogError> {
    log.read_to_end(timeout, stop, |r| apply_config(view, r))
}

fn apply_config(view: &SharedView, r: LogRecord) {
    let mut v = view.write();
    if r.offset < v.snapshot.offset {
        return;
    }
    let key = r
        .key
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let record = ConfigRecord::decode(&key, r.value.as_deref()).unwrap_or_else(|e| {
        tracing::warn!(
            "config topic: skipping a record at offset {}: {e}",
            r.offset
        );
        ConfigRecord::Other {
            key: key.to_string(),
            value: None,
        }
    });
    v.snapshot.apply(r.offset, record);
}

/// Applies one status-topic record (a tombstone removes the entry; unreadable ones are
/// skipped with a warning, as Kafka Connect does).
pub fn apply_status(view: &SharedView, r: &LogRecord) {
    let Some(key) = r.key.as_deref().map(String::from_utf8_lossy) else {
        return;
    };
    let parsed = match StatusKey::decode(&key) {
        StatusKey::Other(other) => {
            if let Some((topic, connector)) = parse_topic_key(&other) {
                let mut v = view.write();
                let topics = v.active_topics.entry(connector.to_string()).or_default();
                if r.value.is_some() {
                    topics.insert(topic.to_string());
                } else {
                    topics.remove(topic);
                }
            }
            return;
        }
        k => k,
    };
    let status = match r.value.as_deref().map(|v| Status::decode(&key, v)) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            tracing::warn!("status topic: skipping a record: {e}");
            return;
        }
    };
    let mut v = view.write();
    match (parsed, status) {
        (StatusKey::Connector(name), Some(s)) => {
            v.connector_status.insert(name, s);
        }
        (StatusKey::Connector(name), None) => {
            v.connector_status.remove(&name);
        }
        (StatusKey::Task { connector, task }, Some(s)) => {
            v.task_status.insert((connector, task), s);
        }
        (StatusKey::Task { connector, task }, None) => {
            v.task_status.remove(&(connector, task));
        }
        (StatusKey::Other(_), _) => {}
    }
}

/// The status-topic key of an active topic: `status-topic-<topic>:connector-<connector>`.
pub fn topic_key(topic: &str, connector: &str) -> String {
    format!("status-topic-{topic}:connector-{connector}")
}

/// (topic, connector) of an active-topic key. Topic names cannot contain `:`, so the first
/// `:connector-` ends the topic (a connector name may contain anything).
pub fn parse_topic_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix("status-topic-")?.split_once(":connector-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_topic_keys_read_like_kafka_connects() {
        // As captured from Kafka Connect 3.9 (tests/fixtures/distributed/status.jsonl).
        assert_eq!(
            parse_topic_key("status-topic-capture-lines:connector-fs-src"),
            Some(("capture-lines", "fs-src"))
        );
        assert_eq!(
            parse_topic_key(&topic_key("t.1", "a:connector-b")),
            Some(("t.1", "a:connector-b"))
        );
        assert_eq!(parse_topic_key("status-connector-x"), None);
    }
}
