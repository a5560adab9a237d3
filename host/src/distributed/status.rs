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
    /// Connectors this worker wrote a status for: whether the connector's own record, and
    /// the task ids.
    ours: BTreeMap<String, (bool, BTreeSet<u32>)>,
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
    /// The records for what changed since the last round. Only what the leader assigned
    /// here is written: a connector whose tasks run here may itself run elsewhere, and the
    /// local runtime reports a paused connector's tasks from its task configs.
    fn changes(&mut self) -> Records {
        let (generation, assigned_connectors, assigned_tasks) = {
            let v = self.view.read();
            (
                v.generation,
                v.assigned_connectors.clone(),
                v.assigned_tasks.clone(),
            )
        };
        let mut out = Vec::new();
        let running: Vec<String> = self.local.connectors();
        for name in &running {
            let Some(mut status) = self.local.connector_status(name) else {
                continue;
            };
            let own_connector = assigned_connectors.contains(name);
            status
                .tasks
                .retain(|t| assigned_tasks.contains(&(name.clone(), t.id)));
            let ids: BTreeSet<u32> = status.tasks.iter().map(|t| t.id).collect();
            let (was_connector, before) = self
                .ours
                .insert(name.clone(), (own_connector, ids.clone()))
                .unwrap_or_default();
            let mut dropped: Vec<StatusKey> = Vec::new();
            if was_connector && !own_connector {
                dropped.push(StatusKey::Connector(name.clone()));
            }
            dropped.extend(before.difference(&ids).map(|task| StatusKey::Task {
                connector: name.clone(),
                task: *task,
            }));
            self.release(&mut out, name, dropped, generation);
            self.put_all(&mut out, &status, own_connector, generation);
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
            let (connector, tasks) = self.ours.remove(&name).unwrap_or_default();
            let deleted = !self.view.read().snapshot.connectors.contains_key(&name);
            let mut keys = Vec::new();
            if connector {
                keys.push(StatusKey::Connector(name.clone()));
            }
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
            self.release(&mut out, &name, keys, generation);
        }
        out
    }

    /// Status records this worker stops speaking for: tombstones when the connector was
    /// deleted or the task no longer exists (beyond its committed task configs), else
    /// `UNASSIGNED` unless another worker already wrote it (Kafka Connect's `putSafe`).
    fn release(&mut self, out: &mut Records, name: &str, keys: Vec<StatusKey>, generation: i32) {
        let (deleted, tasks) = {
            let view = self.view.read();
            (
                !view.snapshot.connectors.contains_key(name),
                view.snapshot.tasks.get(name).map_or(0, Vec::len),
            )
        };
        for key in keys {
            let gone =
                deleted || matches!(&key, StatusKey::Task { task, .. } if *task as usize >= tasks);
            if gone {
                self.tombstone(out, key);
                continue;
            }
            if self.still_ours(&key) {
                self.put(out, key.clone(), "UNASSIGNED", None, generation);
            }
            // Either way this worker no longer speaks for it.
            self.written.remove(&key.encode());
        }
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

    fn put_all(
        &mut self,
        out: &mut Records,
        status: &ConnectorStatus,
        connector: bool,
        generation: i32,
    ) {
        if connector {
            self.put(
                out,
                StatusKey::Connector(status.name.clone()),
                status.state.as_str(),
                status.trace.clone(),
                generation,
            );
        }
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
            let mut v = view.write();
            v.snapshot.connectors.insert(name.into(), Vec::new());
            v.snapshot.tasks.insert(name.into(), vec![Vec::new()]);
            v.assigned_connectors.insert(name.into());
            v.assigned_tasks.insert((name.into(), 0));
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

        // "c" runs here with its task 0; its task 1 was assigned to another worker, and "d"
        // only has its task 1 here: only what was assigned here is written.
        {
            let mut v = view.write();
            for name in ["c", "d"] {
                v.snapshot.connectors.insert(name.into(), Vec::new());
                v.snapshot.tasks.insert(name.into(), vec![Vec::new(); 2]);
            }
            v.assigned_connectors.insert("c".into());
            v.assigned_tasks.insert(("c".into(), 0));
            v.assigned_tasks.insert(("d".into(), 1));
        }
        let two_tasks = |name: &str| {
            let mut s = status(name, State::Running, None);
            let mut second = s.tasks[0].clone();
            second.id = 1;
            s.tasks.push(second);
            s
        };
        *local.0.lock() = vec![two_tasks("c"), two_tasks("d")];
        assert_eq!(
            text(&diff.changes()),
            vec![
                ("status-connector-c".into(), record("RUNNING", None)),
                ("status-task-c-0".into(), record("RUNNING", None)),
                ("status-task-d-1".into(), record("RUNNING", None)),
            ]
        );
    }
}
