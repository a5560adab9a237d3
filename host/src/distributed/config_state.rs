//! The cluster's configuration as the config topic says it is: the records applied in topic
//! order give connector configs, target states and the *committed* task configs, plus the
//! offset read up to (what a worker reports in its group metadata).
//!
//! Design decision, as in Kafka Connect's `KafkaConfigBackingStore`: task configs are staged
//! per connector until a `commit-<name>` record publishes tasks `0..n` at once, so a leader
//! that dies half-way through writing task configs leaves the previous set in force instead of
//! a mix. A commit whose task configs are incomplete marks the connector *inconsistent*
//! (reported, not run) until the next complete commit.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{ConfigRecord, TargetState};
use crate::config::Config;

/// The applied state of a config topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSnapshot {
    /// The offset of the next record to read (-1 before any record, as Java reports).
    pub offset: i64,
    pub connectors: BTreeMap<String, Config>,
    pub target_states: BTreeMap<String, TargetState>,
    /// Committed task configs, index = task id.
    pub tasks: BTreeMap<String, Vec<Config>>,
    /// Connectors whose last commit referenced task configs that were never written.
    pub inconsistent: BTreeSet<String>,
    /// Task configs written but not yet committed.
    staged: BTreeMap<String, BTreeMap<u32, Config>>,
    /// The last restart request (KIP-745 `restart-connector-<name>`) per connector.
    pub restarts: BTreeMap<String, RestartRequest>,
}

/// A `restart-connector-<name>` record and the offset it was read at (each worker acts on
/// the requests it reads after it joined, for what it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartRequest {
    pub offset: i64,
    pub include_tasks: bool,
    pub only_failed: bool,
}

impl ConfigSnapshot {
    pub fn new() -> Self {
        ConfigSnapshot {
            offset: -1,
            ..Self::default()
        }
    }

    /// A connector's target state (`STARTED` when the topic has none, as in Kafka).
    pub fn target_state(&self, connector: &str) -> TargetState {
        self.target_states
            .get(connector)
            .copied()
            .unwrap_or(TargetState::Started)
    }

    /// Applies the record found at `offset`.
    pub fn apply(&mut self, offset: i64, record: ConfigRecord) {
        self.offset = offset + 1;
        match record {
            ConfigRecord::Connector { name, config } => match config {
                Some(c) => {
                    self.connectors.insert(name, c);
                }
                None => {
                    self.connectors.remove(&name);
                    self.tasks.remove(&name);
                    self.staged.remove(&name);
                    self.inconsistent.remove(&name);
                    self.target_states.remove(&name);
                    self.restarts.remove(&name);
                }
            },
            ConfigRecord::Task {
                connector,
                task,
                config,
            } => {
                let staged = self.staged.entry(connector).or_default();
                match config {
                    Some(c) => {
                        staged.insert(task, c);
                    }
                    None => {
                        staged.remove(&task);
                    }
                }
            }
            ConfigRecord::Commit { connector, tasks } => {
                let staged = self.staged.remove(&connector).unwrap_or_default();
                let mut published = Vec::with_capacity(tasks as usize);
                let mut complete = true;
                for i in 0..tasks {
                    match staged.get(&i) {
                        Some(c) => published.push(c.clone()),
                        None => complete = false,
                    }
                }
                if complete {
                    self.inconsistent.remove(&connector);
                    self.tasks.insert(connector, published);
                } else {
                    tracing::warn!(
                        connector,
                        tasks,
                        "config topic: a task-config commit names tasks whose configs were \
                         never written; the connector is inconsistent until its next commit"
                    );
                    self.inconsistent.insert(connector);
                }
            }
            ConfigRecord::TargetState { connector, state } => match state {
                Some(s) => {
                    self.target_states.insert(connector, s);
                }
                None => {
                    self.target_states.remove(&connector);
                }
            },
            ConfigRecord::Restart {
                connector,
                include_tasks,
                only_failed,
            } => {
                self.restarts.insert(
                    connector,
                    RestartRequest {
                        offset,
                        include_tasks,
                        only_failed,
                    },
                );
            }
            ConfigRecord::Other { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn task(c: &str, i: u32, file: &str) -> ConfigRecord {
        ConfigRecord::Task {
            connector: c.into(),
            task: i,
            config: Some(cfg(&[("file", file)])),
        }
    }

    #[test]
    fn tasks_are_published_by_their_commit_only() {
        let mut s = ConfigSnapshot::new();
        assert_eq!(s.offset, -1);
        s.apply(
            0,
            ConfigRecord::Connector {
                name: "c".into(),
                config: Some(cfg(&[("tasks.max", "2")])),
            },
        );
        s.apply(1, task("c", 0, "a"));
        s.apply(2, task("c", 1, "b"));
        assert!(s.tasks.is_empty(), "not committed yet");
        s.apply(
            3,
            ConfigRecord::Commit {
                connector: "c".into(),
                tasks: 2,
            },
        );
        assert_eq!(
            s.tasks["c"],
            vec![cfg(&[("file", "a")]), cfg(&[("file", "b")])]
        );
        assert_eq!(s.offset, 4);
        assert_eq!(s.target_state("c"), TargetState::Started);

        // A commit for tasks whose configs are missing keeps the previous set and flags it.
        s.apply(4, task("c", 0, "x"));
        s.apply(
            5,
            ConfigRecord::Commit {
                connector: "c".into(),
                tasks: 2,
            },
        );
        assert!(s.inconsistent.contains("c"));
        assert_eq!(s.tasks["c"][0], cfg(&[("file", "a")]));

        s.apply(
            6,
            ConfigRecord::TargetState {
                connector: "c".into(),
                state: Some(TargetState::Paused),
            },
        );
        assert_eq!(s.target_state("c"), TargetState::Paused);
        // KIP-745: the last restart request, with where it was read.
        s.apply(
            7,
            ConfigRecord::Restart {
                connector: "c".into(),
                include_tasks: true,
                only_failed: false,
            },
        );
        assert_eq!(
            s.restarts["c"],
            RestartRequest {
                offset: 7,
                include_tasks: true,
                only_failed: false
            }
        );
        s.apply(
            8,
            ConfigRecord::Connector {
                name: "c".into(),
                config: None,
            },
        );
        assert!(s.connectors.is_empty() && s.tasks.is_empty() && s.inconsistent.is_empty());
        assert!(s.restarts.is_empty());
        assert_eq!(s.target_state("c"), TargetState::Started);
    }
}
