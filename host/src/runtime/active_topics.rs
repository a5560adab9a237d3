//! Active topics (KIP-558): the topics each connector's records were produced to (sources) or
//! consumed from (sinks), for `GET /connectors/{name}/topics`.
//!
//! Design decisions:
//! - One process-wide registry, keyed by connector name, so task loops record topics without
//!   any plumbing through their setup structs. Kafka's standalone mode keeps these in memory
//!   too (its status store), so they are not persisted.
//! - The data path never takes the registry lock per record: each task holds a
//!   [`TaskTopics`] with the topics it already reported, and only a topic it has not seen yet
//!   reaches the registry. A reset bumps the connector's epoch; a task notices the new epoch
//!   (one atomic load per record) and reports its topics again, as Kafka re-records a topic
//!   after `PUT /connectors/{name}/topics/reset` when new records flow.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

#[derive(Default)]
struct ConnectorTopics {
    epoch: AtomicU64,
    topics: Mutex<BTreeSet<String>>,
}

fn registry() -> &'static Mutex<BTreeMap<String, Arc<ConnectorTopics>>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<String, Arc<ConnectorTopics>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn entry(connector: &str) -> Arc<ConnectorTopics> {
    registry()
        .lock()
        .entry(connector.to_string())
        .or_default()
        .clone()
}

/// The connector's active topics, sorted.
pub fn topics(connector: &str) -> Vec<String> {
    let found = registry().lock().get(connector).cloned();
    found.map_or_else(Vec::new, |c| c.topics.lock().iter().cloned().collect())
}

/// Forgets the connector's active topics (`PUT …/topics/reset`); running tasks record the
/// topics of their next records again.
pub fn reset(connector: &str) {
    let found = registry().lock().get(connector).cloned();
    if let Some(c) = found {
        c.topics.lock().clear();
        c.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// Forgets a deleted connector.
pub fn remove(connector: &str) {
    if let Some(c) = registry().lock().remove(connector) {
        // Tasks still holding the entry must not resurrect it under the old name.
        c.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// A task's view: records each topic once per epoch.
pub struct TaskTopics {
    connector: Arc<ConnectorTopics>,
    epoch: u64,
    seen: HashSet<String>,
    /// The last topic recorded: records mostly go to one topic, so most calls end at one
    /// string comparison.
    last: String,
}

impl TaskTopics {
    pub fn new(connector: &str) -> Self {
        let connector = entry(connector);
        let epoch = connector.epoch.load(Ordering::Acquire);
        TaskTopics {
            connector,
            epoch,
            seen: HashSet::new(),
            last: String::new(),
        }
    }

    /// Records that a record went to or came from `topic`.
    pub fn saw(&mut self, topic: &str) {
        let epoch = self.connector.epoch.load(Ordering::Acquire);
        if epoch != self.epoch {
            self.epoch = epoch;
            self.seen.clear();
            self.last.clear();
        }
        if self.last == topic {
            return;
        }
        self.last.clear();
        self.last.push_str(topic);
        if self.seen.contains(topic) {
            return;
        }
        self.seen.insert(topic.to_string());
        self.connector.topics.lock().insert(topic.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_recorded_once_reset_and_recorded_again() {
        let name = "active-topics-unit-test";
        let mut a = TaskTopics::new(name);
        let mut b = TaskTopics::new(name);
        a.saw("t2");
        a.saw("t1");
        a.saw("t2");
        b.saw("t3");
        assert_eq!(topics(name), ["t1", "t2", "t3"]);
        reset(name);
        assert!(topics(name).is_empty());
        a.saw("t1");
        assert_eq!(topics(name), ["t1"]);
        remove(name);
        assert!(topics(name).is_empty());
        assert!(topics("never-seen").is_empty());
    }
}
