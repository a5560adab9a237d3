//! The status topic (Kafka Connect's `KafkaStatusBackingStore`): every worker writes the
//! states of the connectors and tasks it runs as `status-connector-<name>` /
//! `status-task-<name>-<n>` records (`{"state","trace","worker_id","generation"}`), and reads
//! everyone's into the [`ClusterView`](super::cluster::ClusterView), so `GET …/status` on any
//! worker answers for the whole cluster.
//!
//! Design decisions:
//! - **Polled, not event-driven.** The local runtime keeps each connector's and task's
//!   state; every [`TICK`] this thread compares them with what it last wrote and writes only
//!   the changes. A state change reaches the topic within a tick, and the runtime needs no
//!   listener plumbing.
//! - **Leaving a connector:** when this worker stops running a connector that still exists,
//!   it writes `UNASSIGNED` — unless the topic already shows another worker as its runner
//!   (Kafka Connect's `putSafe`: a slow old owner must not overwrite the new one's RUNNING).
//!   When the connector was deleted, it writes tombstones for the connector and its tasks,
//!   as Kafka Connect does for `DESTROYED`.
//! - The topic is read before each write round, so the "another worker runs it" check sees
//!   what the other workers wrote up to then.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::cluster::{apply_status, SharedView};
use super::records::{Status, StatusKey};
use crate::kafka::topic_log::TopicLog;
use crate::runtime::herder::{ConnectorStatus, Herder};

/// How often local states are compared with what was written, and the topic read.
pub const TICK: Duration = Duration::from_millis(250);

/// Writes this worker's states and reads everyone's.
pub struct StatusPublisher {
    log: TopicLog,
    diff: StatusDiff,
}

/// What to write: the local states compared with what this worker wrote before (kept apart
/// from the topic so it is testable without a broker).
struct StatusDiff {
    worker_id: String,
    view: SharedView,
    local: Arc<dyn Herder>,
    /// Key → (state, trace) this worker last wrote.
    written: BTreeMap<String, (String, Option<String>)>,
    /// Connectors this worker wrote a status for, with their task ids.
    ours: BTreeMap<String, BTreeSet<u32>>,
    /// Active topics this worker recorded, per connector it runs.
    topics: BTreeMap<String, BTreeSet<String>>,
}

type Records = Vec<(Vec<u8>, Option<Vec<u8>>)>;

impl StatusPublisher {
    pub fn new(log: TopicLog, worker_id: String, view: SharedView, local: Arc<dyn Herder>) -> Self {
        StatusPublisher {
            log,
            diff: StatusDiff {
                worker_id,
                view,
                local,
                written: BTreeMap::new(),
                ours: BTreeMap::new(),
                topics: BTreeMap::new(),
            },
        }
    }

    /// Runs until `stop` is set, then writes a last round (what stopped here is UNASSIGNED).
    pub fn run(mut self, stop: &AtomicBool) {
        let never = AtomicBool::new(false);
        while !stop.load(Ordering::Relaxed) {
            self.round(stop);
            std::thread::sleep(TICK);
        }
        self.round(&never);
    }

    fn round(&mut self, stop: &AtomicBool) {
        let view = self.diff.view.clone();
        if let Err(e) = self
            .log
            .read_to_end(Duration::from_secs(10), stop, |r| apply_status(&view, &r))
        {
            tracing::warn!("reading the status topic: {e}");
        }
        let records = self.diff.changes();
        if records.is_empty() {
            return;
        }
        match self.log.send(&records) {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!("writing the status topic (retried next round): {e}");
                // Forget what was not written, so the next round writes it again.
                for (key, _) in &records {
                    self.diff
                        .written
                        .remove(&String::from_utf8_lossy(key).into_owned());
                }
            }
        }
    }
}

impl StatusDiff {
    /// The records for what changed since the last round.
    fn changes(&mut self) -> Records {
        let generation = self.view.read().generation;
        let mut out = Vec::new();
        let running: Vec<String> = self.local.connectors();
        for name in &running {
            let Some(status) = self.local.connector_status(name) else {
                continue;
            };
            let ids: BTreeSet<u32> = status.tasks.iter().map(|t| t.id).collect();
            let before = self
                .ours
                .insert(name.clone(), ids.clone())
                .unwrap_or_default();
            for gone in before.difference(&ids) {
                self.tombstone(
                    &mut out,
                    StatusKey::Task {
                        connector: name.clone(),
                        task: *gone,
                    },
                );
            }
            self.put_all(&mut out, &status, generation);
            self.record_topics(&mut out, name);
        }
        let resets = std::mem::take(&mut self.view.write().topic_resets);
        for (name, topics) in resets {
            for topic in topics {
                out.push((super::cluster::topic_key(&topic, &name).into_bytes(), None));
            }
        }
        let left: Vec<String> = self
            .ours
            .keys()
            .filter(|n| !running.contains(n))
            .cloned()
            .collect();
        for name in left {
            let tasks = self.ours.remove(&name).unwrap_or_default();
            let deleted = !self.view.read().snapshot.connectors.contains_key(&name);
            let mut keys = vec![StatusKey::Connector(name.clone())];
            keys.extend(tasks.into_iter().map(|task| StatusKey::Task {
                connector: name.clone(),
                task,
            }));
            if !deleted {
                // Topics its tasks used here just before it moved (the registry outlives the
                // connector's run here) are still recorded, so none is lost in a rebalance.
                self.record_topics(&mut out, &name);
            }
            let recorded = self.topics.remove(&name).unwrap_or_default();
            if deleted {
                // Kafka Connect drops a deleted connector's active topics too.
                let known = self.view.read().active_topics.get(&name).cloned();
                for topic in recorded.union(&known.unwrap_or_default()) {
                    out.push((super::cluster::topic_key(topic, &name).into_bytes(), None));
                }
            }
            for key in keys {
                if deleted {
                    self.tombstone(&mut out, key);
                } else if self.still_ours(&key) {
                    self.put(&mut out, key, "UNASSIGNED", None, generation);
                }
                // Either way this worker no longer speaks for it.
            }
            self.written.retain(|k, _| {
                !(k == &format!("status-connector-{name}")
                    || k.starts_with(&format!("status-task-{name}-")))
            });
        }
        out
    }

    /// KIP-558: writes a record for each topic the local runtime saw that the topic does not
    /// hold yet. A topic this worker recorded that is gone from the topic was reset (by any
    /// worker's REST API): the local registry is reset too, so the tasks report it again
    /// when records flow, as Kafka Connect re-records it.
    fn record_topics(&mut self, out: &mut Records, name: &str) {
        let Ok(local) = self.local.active_topics(name) else {
            return; // topic.tracking.enable=false
        };
        let known = self
            .view
            .read()
            .active_topics
            .get(name)
            .cloned()
            .unwrap_or_default();
        let recorded = self.topics.entry(name.to_string()).or_default();
        if recorded.iter().any(|t| !known.contains(t)) {
            recorded.clear();
            crate::runtime::active_topics::reset(name);
            return;
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        for topic in local {
            if recorded.contains(&topic) {
                continue;
            }
            if !known.contains(&topic) {
                // Kafka Connect's value; Sluice's registry does not say which task saw it.
                let value = serde_json::json!({"topic": {
                    "name": topic, "connector": name, "task": 0, "discoverTimestamp": now_ms
                }});
                out.push((
                    super::cluster::topic_key(&topic, name).into_bytes(),
                    Some(value.to_string().into_bytes()),
                ));
            }
            recorded.insert(topic);
        }
    }

    fn put_all(&mut self, out: &mut Records, status: &ConnectorStatus, generation: i32) {
        self.put(
            out,
            StatusKey::Connector(status.name.clone()),
            status.state.as_str(),
            status.trace.clone(),
            generation,
        );
        for t in &status.tasks {
            self.put(
                out,
                StatusKey::Task {
                    connector: status.name.clone(),
                    task: t.id,
                },
                t.state.as_str(),
                t.trace.clone(),
                generation,
            );
        }
    }

    /// Queues a status record unless it is what this worker last wrote for the key.
    fn put(
        &mut self,
        out: &mut Records,
        key: StatusKey,
        state: &str,
        trace: Option<String>,
        generation: i32,
    ) {
        let key_text = key.encode();
        let now = (state.to_string(), trace.clone().filter(|t| !t.is_empty()));
        if self.written.get(&key_text) == Some(&now) {
            return;
        }
        let value = Status {
            state: now.0.clone(),
            trace: now.1.clone(),
            worker_id: self.worker_id.clone(),
            generation,
        }
        .encode();
        out.push((key_text.clone().into_bytes(), Some(value)));
        self.written.insert(key_text, now);
    }

    fn tombstone(&mut self, out: &mut Records, key: StatusKey) {
        let key_text = key.encode();
        self.written.remove(&key_text);
        out.push((key_text.into_bytes(), None));
    }

    /// Whether the topic's current record for `key` is this worker's (or there is none).
    fn still_ours(&self, key: &StatusKey) -> bool {
        let view = self.view.read();
        let current = match key {
            StatusKey::Connector(name) => view.connector_status.get(name),
            StatusKey::Task { connector, task } => {
                view.task_status.get(&(connector.clone(), *task))
            }
            StatusKey::Other(_) => None,
        };
        current.is_none_or(|s| s.worker_id == self.worker_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::herder::{State, TaskStatus};
    use crate::spec::{Config, PluginKind};
    use parking_lot::Mutex;

    /// A local runtime that runs exactly the statuses it is given.
    #[derive(Default)]
    struct Local(Mutex<Vec<ConnectorStatus>>);

    impl Herder for Local {
        fn worker_id(&self) -> String {
            "w1:8083".into()
        }
        fn kafka_cluster_id(&self) -> Option<String> {
            None
        }
        fn connectors(&self) -> Vec<String> {
            self.0.lock().iter().map(|s| s.name.clone()).collect()
        }
        fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
            self.0.lock().iter().find(|s| s.name == name).cloned()
        }
        fn connector_config(&self, _: &str) -> Option<Config> {
            None
        }
    }

    fn status(name: &str, task: State, trace: Option<&str>) -> ConnectorStatus {
        ConnectorStatus {
            name: name.into(),
            state: State::Running,
            trace: None,
            tasks: vec![TaskStatus {
                id: 0,
                state: task,
                trace: trace.map(str::to_string),
                worker_id: None,
            }],
            kind: PluginKind::Source,
            worker_id: None,
        }
    }

    fn text(records: &Records) -> Vec<(String, Option<String>)> {
        records
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    v.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect()
    }

    fn record(state: &str, trace: Option<&str>) -> Option<String> {
        let status = Status {
            state: state.into(),
            trace: trace.map(str::to_string),
            worker_id: "w1:8083".into(),
            generation: 7,
        };
        Some(String::from_utf8(status.encode()).expect("utf8"))
    }

    /// Changes only, in Kafka Connect's format; UNASSIGNED when a connector stops running
    /// here unless another worker already claimed it; tombstones once it is deleted.
    #[test]
    fn writes_changes_leaves_politely_and_tombstones_deleted_connectors() {
        let local = Arc::new(Local::default());
        let view = SharedView::default();
        view.write().generation = 7;
        for name in ["a", "b"] {
            view.write()
                .snapshot
                .connectors
                .insert(name.into(), Vec::new());
        }
        let mut diff = StatusDiff {
            worker_id: "w1:8083".into(),
            view: view.clone(),
            local: local.clone(),
            written: BTreeMap::new(),
            ours: BTreeMap::new(),
            topics: BTreeMap::new(),
        };
        *local.0.lock() = vec![status("a", State::Running, None)];
        assert_eq!(
            text(&diff.changes()),
            vec![
                ("status-connector-a".into(), record("RUNNING", None)),
                ("status-task-a-0".into(), record("RUNNING", None)),
            ]
        );
        assert!(diff.changes().is_empty(), "nothing changed");
        *local.0.lock() = vec![status("a", State::Failed, Some("boom"))];
        assert_eq!(
            text(&diff.changes()),
            vec![("status-task-a-0".into(), record("FAILED", Some("boom")))]
        );

        // "a" moved: the topic already names w2 for the connector, not yet for the task.
        view.write().connector_status.insert(
            "a".into(),
            Status {
                state: "RUNNING".into(),
                trace: None,
                worker_id: "w2:8083".into(),
                generation: 8,
            },
        );
        *local.0.lock() = vec![status("b", State::Running, None)];
        assert_eq!(
            text(&diff.changes()),
            vec![
                ("status-connector-b".into(), record("RUNNING", None)),
                ("status-task-b-0".into(), record("RUNNING", None)),
                ("status-task-a-0".into(), record("UNASSIGNED", None)),
            ]
        );

        // "b" deleted: tombstones.
        view.write().snapshot.connectors.remove("b");
        local.0.lock().clear();
        assert_eq!(
            text(&diff.changes()),
            vec![
                ("status-connector-b".into(), None),
                ("status-task-b-0".into(), None),
            ]
        );
        assert!(diff.changes().is_empty());
    }
}
