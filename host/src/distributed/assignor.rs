//! The leader's assignment (Kafka Connect's `EagerAssignor`): every connector and task is
//! handed out afresh on each rebalance, round-robin over the members sorted by member id —
//! connectors first, then every connector's tasks, continuing the round where the connectors
//! stopped. So a connector's tasks run on other workers than the connector itself, and three
//! tasks spread over three workers.
//!
//! Incremental cooperative assignment (KIP-415) is the next step (docs/distributed.md).

use std::collections::BTreeMap;

use super::config_state::ConfigSnapshot;
use super::protocol::{Assignment, TaskId, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR};

/// Computes every member's assignment. `members` are (member id, metadata); `leader` is this
/// worker's member id and `snapshot` its config state. When a member has read the config
/// topic further than the leader, everyone gets `CONFIG_MISMATCH` and rejoins after the
/// leader caught up, as in Kafka Connect.
pub fn assign(
    version: i16,
    leader: &str,
    leader_url: &str,
    snapshot: &ConfigSnapshot,
    members: &[(String, WorkerMetadata)],
) -> Vec<(String, Assignment)> {
    let base = base_assignment(version, leader, leader_url, snapshot);
    let ids = member_ids(members);
    let max_offset = members.iter().map(|(_, m)| m.config_offset).max();
    if max_offset.is_some_and(|m| m > snapshot.offset) {
        return ids
            .into_iter()
            .map(|id| {
                (
                    id.clone(),
                    Assignment {
                        error: CONFIG_MISMATCH,
                        ..base.clone()
                    },
                )
            })
            .collect();
    }
    let mut out: BTreeMap<&String, Assignment> = ids.iter().map(|id| (*id, base.clone())).collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut next = (0..ids.len()).cycle();
    let mut next_member = || ids[next.next().unwrap_or(0)];
    for connector in snapshot.connectors.keys() {
        let a = out
            .get_mut(next_member())
            .expect("every member has an entry");
        a.connectors.push(connector.clone());
    }
    for connector in snapshot.connectors.keys() {
        let tasks = snapshot.tasks.get(connector).map_or(0, Vec::len);
        for task in 0..tasks {
            let a = out
                .get_mut(next_member())
                .expect("every member has an entry");
            a.tasks.push(TaskId {
                connector: connector.clone(),
                task: i32::try_from(task).unwrap_or(i32::MAX),
            });
        }
    }
    out.into_iter().map(|(id, a)| (id.clone(), a)).collect()
}

/// An assignment from `leader` at the snapshot's offset, with nothing in it yet.
pub(super) fn base_assignment(
    version: i16,
    leader: &str,
    leader_url: &str,
    snapshot: &ConfigSnapshot,
) -> Assignment {
    Assignment {
        version,
        error: NO_ERROR,
        leader: leader.to_string(),
        leader_url: leader_url.to_string(),
        config_offset: snapshot.offset,
        ..Assignment::default()
    }
}

/// The members' ids, sorted, each once.
pub(super) fn member_ids(members: &[(String, WorkerMetadata)]) -> Vec<&String> {
    let mut ids: Vec<&String> = members.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn member(id: &str, offset: i64) -> (String, WorkerMetadata) {
        (
            id.to_string(),
            WorkerMetadata {
                url: format!("http://{id}/"),
                config_offset: offset,
                assignment: None,
            },
        )
    }

    fn snapshot(connectors: &[(&str, usize)]) -> ConfigSnapshot {
        let mut s = ConfigSnapshot::new();
        s.offset = 10;
        for (name, tasks) in connectors {
            s.connectors
                .insert(name.to_string(), cfg(&[("name", name)]));
            s.tasks.insert(name.to_string(), vec![cfg(&[]); *tasks]);
        }
        s
    }

    /// Kafka Connect's EagerAssignor: connectors a, b, c, d go to w1, w2, w3, w1; the round
    /// goes on with the tasks a-0, a-1, b-0, b-1, c-0 to w2, w3, w1, w2, w3.
    #[test]
    fn connectors_then_tasks_spread_round_robin() {
        let s = snapshot(&[("a", 2), ("b", 2), ("c", 1), ("d", 0)]);
        let members = [member("w3", 10), member("w1", 10), member("w2", 10)];
        let out = assign(0, "w1", "http://w1/", &s, &members);
        let by: BTreeMap<_, _> = out.into_iter().collect();
        let tasks = |w: &str| {
            by[w]
                .tasks
                .iter()
                .map(|t| format!("{}-{}", t.connector, t.task))
                .collect::<Vec<_>>()
        };
        assert_eq!(by["w1"].connectors, vec!["a", "d"]);
        assert_eq!(by["w2"].connectors, vec!["b"]);
        assert_eq!(by["w3"].connectors, vec!["c"]);
        assert_eq!(tasks("w1"), vec!["b-0"]);
        assert_eq!(tasks("w2"), vec!["a-0", "b-1"]);
        assert_eq!(tasks("w3"), vec!["a-1", "c-0"]);
        for a in by.values() {
            assert_eq!(a.leader, "w1");
            assert_eq!(a.leader_url, "http://w1/");
            assert_eq!(a.config_offset, 10);
            assert_eq!(a.error, NO_ERROR);
        }
        // One connector with three tasks on three workers: one task each.
        let out = assign(0, "w1", "u", &snapshot(&[("x", 3)]), &members);
        let by: BTreeMap<_, _> = out.into_iter().collect();
        assert_eq!(by["w1"].connectors, vec!["x"]);
        for (w, task) in [("w1", 2), ("w2", 0), ("w3", 1)] {
            assert_eq!(
                by[w].tasks.iter().map(|t| t.task).collect::<Vec<_>>(),
                [task]
            );
        }
    }

    #[test]
    fn a_member_ahead_of_the_leader_gets_everyone_to_rejoin() {
        let s = snapshot(&[("a", 1)]);
        let out = assign(0, "w1", "u", &s, &[member("w1", 10), member("w2", 12)]);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|(_, a)| a.error == CONFIG_MISMATCH && a.connectors.is_empty()));
    }
}
