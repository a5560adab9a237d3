//! The leader's incremental cooperative assignment (KIP-415, `connect.protocol=compatible` or
//! `sessioned`), the counterpart of Kafka Connect's `IncrementalCooperativeAssignor`: each
//! member keeps what it runs, and an assignment names only what a member must start (new
//! work) and what it must stop (revoked work). A member that got revocations stops them and
//! rejoins at once; the follow-up rebalance hands the freed work to the members with the
//! least of it. So a rebalance stops only the connectors and tasks that move.
//!
//! The design decisions to know:
//! - **What is running is what the members say** (their JoinGroup metadata carries their
//!   current assignment), not what the leader remembers: a new leader, or a worker that
//!   rejoined as a new member, starts from the truth.
//! - **A departed worker's work is held back** for `scheduled.rebalance.max.delay.ms`. Work
//!   no member reports is *lost* when the leader assigned it in its last round (its memory),
//!   or when the status topic last saw it on a worker that is no member now — or that
//!   rejoined with nothing, i.e. restarted. The status topic makes this independent of who
//!   leads: a worker that becomes leader because the old one died knows as much as it did
//!   (a new leader starts the delay afresh). Lost work waits for the delay to pass (every
//!   member is told the remaining delay, and the leader rejoins when it is up), unless a
//!   member with no work at all shows up first — typically the departed worker itself,
//!   restarted — which then gets it at once (each item back to the worker the status topic
//!   names when that is one of the empty members). So a rolling restart moves nothing but
//!   the restarted worker's own work back to it. Work never seen running is new and is
//!   assigned at once.
//! - **Balance is per kind**: connectors and tasks are each spread so that no two members
//!   differ by more than one; work is revoked only from members above their share, and
//!   never while lost work is held (the returning worker would make it unbalanced again).

use std::collections::{BTreeMap, BTreeSet};

use super::assignor::{base_assignment, member_ids};
use super::config_state::ConfigSnapshot;
use super::protocol::{Assignment, TaskId, WorkerMetadata, CONFIG_MISMATCH};

/// A member's connectors and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    pub connectors: BTreeSet<String>,
    pub tasks: BTreeSet<TaskId>,
}

impl Work {
    pub fn of(a: &Assignment) -> Work {
        Work {
            connectors: a.connectors.iter().cloned().collect(),
            tasks: a.tasks.iter().cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    pub fn extend(&mut self, other: &Work) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    pub fn without(&self, other: &Work) -> Work {
        Work {
            connectors: self
                .connectors
                .difference(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }

    fn within(&self, other: &Work) -> Work {
        Work {
            connectors: self
                .connectors
                .intersection(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.intersection(&other.tasks).cloned().collect(),
        }
    }
}

/// The worker (its REST URL, as members advertise it) the status topic last named for each
/// connector and task, in any state.
#[derive(Debug, Clone, Default)]
pub struct LastSeen {
    pub connectors: BTreeMap<String, String>,
    pub tasks: BTreeMap<TaskId, String>,
}

/// The connectors and tasks the config snapshot defines.
fn configured(snapshot: &ConfigSnapshot) -> Work {
    let mut w = Work::default();
    for connector in snapshot.connectors.keys() {
        w.connectors.insert(connector.clone());
        let tasks = snapshot.tasks.get(connector).map_or(0, Vec::len);
        for task in 0..tasks {
            w.tasks.insert(TaskId {
                connector: connector.clone(),
                task: i32::try_from(task).unwrap_or(i32::MAX),
            });
        }
    }
    w
}

/// Lost work waiting for its departed worker to come back, or for the delay to pass.
#[derive(Debug, Clone)]
struct Held {
    /// When it is reassigned anyway, in the caller's clock (ms).
    deadline_ms: u64,
    work: Work,
}

/// One member's part of a round: the assignment to send (only the changes) and everything
/// it runs once it applied it.
#[derive(Debug, Clone)]
pub struct MemberAssignment {
    pub member: String,
    pub assignment: Assignment,
    pub complete: Work,
}

/// The leader's memory between rounds (see the module docs).
#[derive(Debug, Default, Clone)]
pub struct CooperativeAssignor {
    /// Each member's work when the last round this leader ran ended (revocations removed);
    /// `None` when it did not run the last round.
    previous: Option<BTreeMap<String, Work>>,
    held: Option<Held>,
    /// When the delay announced in the last assignment this worker received is up (ms), so
    /// a worker that becomes leader keeps the deadline instead of starting a new delay.
    announced: Option<u64>,
}

impl CooperativeAssignor {
    /// Forgets the last round: another member led a round since.
    pub fn forget(&mut self) {
        self.previous = None;
        self.held = None;
    }

    /// Notes the delay of the assignment this worker received (leader or not) at `now_ms`.
    pub fn heard(&mut self, delay_ms: i32, now_ms: u64) {
        self.announced = u64::try_from(delay_ms)
            .ok()
            .filter(|d| *d > 0)
            .map(|d| now_ms.saturating_add(d));
    }

    /// Whether lost work is being held back (the leader rejoins at the deadline).
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Computes one round. `members` are (member id, metadata with the current assignment);
    /// `last_seen` is who the status topic names for each connector and task; `now_ms` is
    /// any monotonic clock in ms, `max_delay_ms` is `scheduled.rebalance.max.delay.ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn assign(
        &mut self,
        version: i16,
        leader: &str,
        leader_url: &str,
        snapshot: &ConfigSnapshot,
        members: &[(String, WorkerMetadata)],
        last_seen: &LastSeen,
        now_ms: u64,
        max_delay_ms: u64,
    ) -> Vec<MemberAssignment> {
        let base = base_assignment(version, leader, leader_url, snapshot);
        let ids = member_ids(members);
        if ids.is_empty() {
            return Vec::new();
        }
        let behind = members
            .iter()
            .any(|(_, m)| m.config_offset > snapshot.offset);
        if behind {
            // Everyone rejoins once the leader caught up; nobody stops anything.
            return ids
                .into_iter()
                .map(|id| MemberAssignment {
                    member: id.clone(),
                    assignment: Assignment {
                        error: CONFIG_MISMATCH,
                        ..base.clone()
                    },
                    complete: current_of(members, id),
                })
                .collect();
        }
        let configured = configured(snapshot);

        // What each member runs now; work claimed twice stays with the first member.
        let mut current: BTreeMap<&String, Work> = BTreeMap::new();
        let mut revoked: BTreeMap<&String, Work> = BTreeMap::new();
        let mut active = Work::default();
        for id in &ids {
            let mine = current_of(members, id);
            let dup = mine.within(&active);
            let gone = mine.without(&configured);
            let keep = mine.without(&dup).without(&gone);
            active.extend(&keep);
            let mut r = dup;
            r.extend(&gone);
            revoked.insert(id, r);
            current.insert(id, keep);
        }

        // Members with nothing (new, or restarted), and who is who by URL.
        let empty: Vec<&String> = ids
            .iter()
            .copied()
            .filter(|id| current[id].is_empty() && revoked[id].is_empty())
            .collect();
        let by_url: BTreeMap<&str, &String> = members
            .iter()
            .filter_map(|(id, m)| ids.contains(&id).then_some((m.url.as_str(), id)))
            .collect();
        // The member that ran an item before, by the status topic, if it came back empty.
        let returned = |url: Option<&String>| -> Option<&String> {
            by_url
                .get(url?.as_str())
                .copied()
                .filter(|id| empty.contains(id))
        };
        // Lost: run by nobody now, still configured, and assigned by this leader last round
        // to a member that is gone, or last seen on a worker that left (or came back empty).
        // Work a member still present does not report (it has not received or reported its
        // assignment yet) is not lost: it is assigned again at once.
        let unowned = configured.without(&active);
        let mut lost = Work::default();
        for (id, w) in self.previous.take().unwrap_or_default() {
            if !ids.iter().any(|m| **m == id) {
                lost.extend(&w.within(&unowned));
            }
        }
        let departed = |url: Option<&String>| {
            url.is_some_and(|u| !by_url.contains_key(u.as_str())) || returned(url).is_some()
        };
        for c in &unowned.connectors {
            if departed(last_seen.connectors.get(c)) {
                lost.connectors.insert(c.clone());
            }
        }
        for t in &unowned.tasks {
            if departed(last_seen.tasks.get(t)) {
                lost.tasks.insert(t.clone());
            }
        }
        let mut held = self.held.take().map(|mut h| {
            h.work = h.work.within(&configured).without(&active);
            h
        });
        if !lost.is_empty() && max_delay_ms > 0 {
            match &mut held {
                Some(h) => h.work.extend(&lost),
                None => {
                    let fresh = now_ms.saturating_add(max_delay_ms);
                    held = Some(Held {
                        deadline_ms: self.announced.map_or(fresh, |a| a.min(fresh)),
                        work: lost,
                    })
                }
            }
        }
        let mut complete = current.clone();
        let mut unassigned = unowned;
        let mut delay_ms = 0i32;
        if let Some(h) = held.filter(|h| !h.work.is_empty()) {
            if !empty.is_empty() {
                // A worker with nothing to do (the departed one, back) takes the lost work:
                // each item back to the member that ran it when it is one of them.
                tracing::info!(work = ?h.work, to = ?empty, "a worker without work is a member: it takes a departed worker's held connectors and tasks");
                unassigned = unassigned.without(&h.work);
                let mut rest = Work::default();
                for c in &h.work.connectors {
                    match returned(last_seen.connectors.get(c)) {
                        Some(id) => complete.entry(id).or_default().connectors.insert(c.clone()),
                        None => rest.connectors.insert(c.clone()),
                    };
                }
                for t in &h.work.tasks {
                    match returned(last_seen.tasks.get(t)) {
                        Some(id) => complete.entry(id).or_default().tasks.insert(t.clone()),
                        None => rest.tasks.insert(t.clone()),
                    };
                }
                spread(&mut complete, &empty, &rest);
            } else if now_ms >= h.deadline_ms {
                tracing::info!(work = ?h.work, "scheduled.rebalance.max.delay.ms passed: reassigning a departed worker's connectors and tasks");
            } else {
                unassigned = unassigned.without(&h.work);
                delay_ms = i32::try_from(h.deadline_ms - now_ms).unwrap_or(i32::MAX);
                tracing::info!(work = ?h.work, delay_ms, "holding a departed worker's connectors and tasks for its return");
                self.held = Some(h);
            }
        }
        spread(&mut complete, &ids, &unassigned);

        if self.held.is_none() {
            for (id, r) in balance(&mut complete, &current) {
                revoked.entry(id).or_default().extend(&r);
            }
        }

        self.previous = Some(
            complete
                .iter()
                .map(|(id, w)| ((*id).clone(), w.clone()))
                .collect(),
        );
        ids.into_iter()
            .map(|id| {
                let new = complete[id].without(&current[id]);
                let r = &revoked[id];
                MemberAssignment {
                    member: id.clone(),
                    assignment: Assignment {
                        connectors: new.connectors.into_iter().collect(),
                        tasks: new.tasks.into_iter().collect(),
                        revoked_connectors: r.connectors.iter().cloned().collect(),
                        revoked_tasks: r.tasks.iter().cloned().collect(),
                        delay_ms,
                        ..base.clone()
                    },
                    complete: complete[id].clone(),
                }
            })
            .collect()
    }
}

/// The work member `id` reports running (nothing when it reports no assignment).
fn current_of(members: &[(String, WorkerMetadata)], id: &str) -> Work {
    members
        .iter()
        .find(|(m, _)| m == id)
        .and_then(|(_, m)| m.assignment.as_ref())
        .map(Work::of)
        .unwrap_or_default()
}

/// Gives each item of `work` to the member of `to` with the least of its kind (ties: the
/// least work in all, then the member id), so new work evens the load out.
fn spread<'a>(complete: &mut BTreeMap<&'a String, Work>, to: &[&'a String], work: &Work) {
    let least = |complete: &BTreeMap<&'a String, Work>, count: &dyn Fn(&Work) -> usize| {
        to.iter()
            .copied()
            .min_by_key(|id| {
                let w = &complete[id];
                (count(w), w.connectors.len() + w.tasks.len(), *id)
            })
            .expect("at least one member")
    };
    for c in &work.connectors {
        let id = least(complete, &|w| w.connectors.len());
        complete.entry(id).or_default().connectors.insert(c.clone());
    }
    for t in &work.tasks {
        let id = least(complete, &|w| w.tasks.len());
        complete.entry(id).or_default().tasks.insert(t.clone());
    }
}

/// Revokes, per kind, what members hold beyond their share (total / members, one more for
/// the `total % members` members holding the most), so the follow-up round can give it to
/// the members below theirs. Work a member already ran is revoked first; excess work it was
/// only just given moves straight to the members with the least. Returns what each member
/// must stop and takes it out of `complete`.
fn balance<'a>(
    complete: &mut BTreeMap<&'a String, Work>,
    current: &BTreeMap<&'a String, Work>,
) -> BTreeMap<&'a String, Work> {
    let mut revoked: BTreeMap<&'a String, Work> = BTreeMap::new();
    let mut connectors: BTreeMap<&'a String, BTreeSet<String>> = complete
        .iter_mut()
        .map(|(id, w)| (*id, std::mem::take(&mut w.connectors)))
        .collect();
    let ran: BTreeMap<&'a String, &BTreeSet<String>> =
        current.iter().map(|(id, w)| (*id, &w.connectors)).collect();
    for (id, set) in balance_kind(&mut connectors, &ran) {
        revoked.entry(id).or_default().connectors = set;
    }
    let mut tasks: BTreeMap<&'a String, BTreeSet<TaskId>> = complete
        .iter_mut()
        .map(|(id, w)| (*id, std::mem::take(&mut w.tasks)))
        .collect();
    let ran: BTreeMap<&'a String, &BTreeSet<TaskId>> =
        current.iter().map(|(id, w)| (*id, &w.tasks)).collect();
    for (id, set) in balance_kind(&mut tasks, &ran) {
        revoked.entry(id).or_default().tasks = set;
    }
    for (id, w) in complete.iter_mut() {
        w.connectors = connectors.remove(id).unwrap_or_default();
        w.tasks = tasks.remove(id).unwrap_or_default();
    }
    revoked
}

/// [`balance`] for one kind of work: `sets` is what each member holds after this round,
/// `ran` what it ran before it.
fn balance_kind<'a, T: Ord + Clone>(
    sets: &mut BTreeMap<&'a String, BTreeSet<T>>,
    ran: &BTreeMap<&'a String, &BTreeSet<T>>,
) -> BTreeMap<&'a String, BTreeSet<T>> {
    let ids: Vec<&'a String> = sets.keys().copied().collect();
    let member_shares = shares(&ids, |id| sets[id].len(), ids.len());
    let empty = BTreeSet::new();
    let mut revoked: BTreeMap<&'a String, BTreeSet<T>> = BTreeMap::new();
    let mut pool = Vec::new();
    for (id, share) in member_shares {
        let before = ran.get(id).copied().unwrap_or(&empty);
        let set = sets.get_mut(id).expect("member");
        let excess = set.len().saturating_sub(share);
        for x in pick_excess(set, before, excess) {
            set.remove(&x);
            if before.contains(&x) {
                revoked.entry(id).or_default().insert(x);
            } else {
                pool.push(x);
            }
        }
    }
    for x in pool {
        let id = ids
            .iter()
            .copied()
            .min_by_key(|id| (sets[id].len(), *id))
            .expect("at least one member");
        sets.get_mut(id).expect("member").insert(x);
    }
    revoked
}

/// Each member's share of one kind of work: `total / n`, plus one for the `total % n`
/// members that hold the most (so the fewest items move).
fn shares<'a>(
    ids: &[&'a String],
    count: impl Fn(&'a String) -> usize,
    n: usize,
) -> Vec<(&'a String, usize)> {
    let total: usize = ids.iter().map(|id| count(id)).sum();
    let (base, extra) = (total / n, total % n);
    let mut by_load: Vec<&'a String> = ids.to_vec();
    by_load.sort_by_key(|id| (std::cmp::Reverse(count(id)), *id));
    by_load
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, base + usize::from(i < extra)))
        .collect()
}

/// `excess` items of `all` to revoke: the last ones the member already ran, then the last
/// new ones.
fn pick_excess<T: Ord + Clone>(all: &BTreeSet<T>, ran: &BTreeSet<T>, excess: usize) -> Vec<T> {
    let old = all.iter().rev().filter(|x| ran.contains(x));
    let new = all.iter().rev().filter(|x| !ran.contains(x));
    old.chain(new).take(excess).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    const DELAY: u64 = 10_000;

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

    /// The layout: six connectors with two tasks each.
    fn six_by_two() -> ConfigSnapshot {
        snapshot(&[
            ("c0", 2),
            ("c1", 2),
            ("c2", 2),
            ("c3", 2),
            ("c4", 2),
            ("c5", 2),
        ])
    }

    /// A cluster simulated round by round: each member applies its assignment as a worker
    /// does (revoked work stops, new work starts) and reports the result when it rejoins.
    struct Sim {
        assignor: CooperativeAssignor,
        running: BTreeMap<String, Work>,
        snapshot: ConfigSnapshot,
        now: u64,
        /// Per round: what every member started and stopped.
        started: Vec<BTreeMap<String, Work>>,
        stopped: Vec<BTreeMap<String, Work>>,
        delays: Vec<i32>,
        /// The status topic: who last ran each item (workers write it when they start one).
        seen: LastSeen,
    }

    impl Sim {
        fn new(snapshot: ConfigSnapshot, members: &[&str]) -> Sim {
            Sim {
                assignor: CooperativeAssignor::default(),
                running: members
                    .iter()
                    .map(|m| (m.to_string(), Work::default()))
                    .collect(),
                snapshot,
                now: 0,
                started: Vec::new(),
                stopped: Vec::new(),
                delays: Vec::new(),
                seen: LastSeen::default(),
            }
        }

        /// One rebalance; returns whether some member got revocations (it rejoins at once).
        fn round(&mut self) -> bool {
            let members: Vec<(String, WorkerMetadata)> = self
                .running
                .iter()
                .map(|(id, w)| {
                    let assignment = (!w.is_empty()).then(|| Assignment {
                        version: 1,
                        connectors: w.connectors.iter().cloned().collect(),
                        tasks: w.tasks.iter().cloned().collect(),
                        ..Assignment::default()
                    });
                    (
                        id.clone(),
                        WorkerMetadata {
                            url: format!("http://{id}/"),
                            config_offset: 10,
                            assignment,
                        },
                    )
                })
                .collect();
            let leader = members[0].0.clone();
            let out = self.assignor.assign(
                1,
                &leader,
                "http://leader/",
                &self.snapshot,
                &members,
                &self.seen,
                self.now,
                DELAY,
            );
            assert_eq!(out.len(), members.len());
            let (mut started, mut stopped) = (BTreeMap::new(), BTreeMap::new());
            let mut revocations = false;
            let mut delays = BTreeSet::new();
            for m in out {
                let a = &m.assignment;
                delays.insert(a.delay_ms);
                let run = self.running.get_mut(&m.member).expect("member");
                let revoked = Work {
                    connectors: a.revoked_connectors.iter().cloned().collect(),
                    tasks: a.revoked_tasks.iter().cloned().collect(),
                };
                let new = Work::of(a);
                assert!(
                    revoked.within(run) == revoked,
                    "{}: revoked what it does not run",
                    m.member
                );
                assert!(
                    new.within(run).is_empty(),
                    "{}: assigned what it runs",
                    m.member
                );
                revocations |= !revoked.is_empty();
                *run = run.without(&revoked);
                run.extend(&new);
                let url = format!("http://{}/", m.member);
                for c in &new.connectors {
                    self.seen.connectors.insert(c.clone(), url.clone());
                }
                for t in &new.tasks {
                    self.seen.tasks.insert(t.clone(), url.clone());
                }
                assert_eq!(*run, m.complete, "{}", m.member);
                started.insert(m.member.clone(), new);
                stopped.insert(m.member.clone(), revoked);
            }
            assert_eq!(delays.len(), 1, "every member hears the same delay");
            self.delays.push(delays.into_iter().next().unwrap_or(0));
            self.started.push(started);
            self.stopped.push(stopped);
            revocations
        }

        /// Rounds until no member got revocations (at most `limit`); returns the count.
        fn settle(&mut self, limit: usize) -> usize {
            for n in 1..=limit {
                if !self.round() {
                    return n;
                }
            }
            panic!(
                "no stable assignment after {limit} rounds: {:?}",
                self.running
            );
        }

        fn join(&mut self, id: &str) {
            self.running.insert(id.to_string(), Work::default());
        }

        fn kill(&mut self, id: &str) -> Work {
            self.running.remove(id).expect("member")
        }

        /// Every configured item runs exactly once.
        fn assert_all_running_once(&self) {
            let mut all = Work::default();
            let mut count = 0;
            for w in self.running.values() {
                all.extend(w);
                count += w.connectors.len() + w.tasks.len();
            }
            let want = configured(&self.snapshot);
            assert_eq!(all, want);
            assert_eq!(
                count,
                want.connectors.len() + want.tasks.len(),
                "duplicates"
            );
        }

        fn assert_balanced(&self) {
            let c: Vec<usize> = self.running.values().map(|w| w.connectors.len()).collect();
            let t: Vec<usize> = self.running.values().map(|w| w.tasks.len()).collect();
            for v in [&c, &t] {
                let (min, max) = (v.iter().min(), v.iter().max());
                assert!(
                    max.zip(min).is_some_and(|(a, b)| a - b <= 1),
                    "unbalanced: connectors {c:?} tasks {t:?}"
                );
            }
        }

        fn moved_in_last_round(&self) -> usize {
            let last = self.stopped.last().expect("a round");
            last.values()
                .map(|w| w.connectors.len() + w.tasks.len())
                .sum()
        }
    }

    #[test]
    fn a_fresh_cluster_gets_everything_balanced_in_one_round() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        assert_eq!(sim.settle(3), 1);
        sim.assert_all_running_once();
        sim.assert_balanced();
        for w in sim.running.values() {
            assert_eq!((w.connectors.len(), w.tasks.len()), (2, 4));
        }
        assert_eq!(sim.delays, [0]);
    }

    #[test]
    fn a_joining_worker_takes_only_its_share_and_nothing_else_moves() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let before = sim.running.clone();
        let from = sim.started.len();
        sim.join("w4");
        // A revocation round, then the follow-up that assigns what was freed.
        assert_eq!(sim.settle(4), 2);
        sim.assert_all_running_once();
        sim.assert_balanced();
        // 6 connectors over 4: two members keep 2, two get 1 (w4 from nothing), so two
        // connectors move; 12 tasks over 4: 3 each, so w4 gets 3 tasks, one from each.
        let moved: usize = sim
            .stopped
            .iter()
            .flat_map(|r| r.values())
            .map(|w| w.connectors.len() + w.tasks.len())
            .sum();
        assert_eq!(moved, 1 + 3, "only w4's share moves");
        assert_eq!(sim.running["w4"].connectors.len(), 1);
        assert_eq!(sim.running["w4"].tasks.len(), 3);
        // The old members only lost work; nothing they kept was stopped or started.
        for id in ["w1", "w2", "w3"] {
            let kept = sim.running[id].clone();
            assert!(kept.without(&before[id]).is_empty(), "{id} gained work");
            for r in sim.started.iter().skip(from) {
                assert!(r[id].is_empty(), "{id} started something");
            }
        }
    }

    #[test]
    fn a_departed_workers_work_is_held_for_the_delay_then_spread() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let before = sim.running.clone();
        let lost = sim.kill("w2");
        sim.now = 1_000;
        // The survivors keep their work; the lost work waits, and everyone hears the delay.
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&10_000));
        assert_eq!(sim.moved_in_last_round(), 0);
        for id in ["w1", "w3"] {
            assert_eq!(sim.running[id], before[id]);
        }
        assert!(sim.assignor.holding());
        // A rebalance within the delay (e.g. a config change) still holds it, with the rest
        // of the delay.
        sim.now = 4_000;
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&7_000));
        for id in ["w1", "w3"] {
            assert_eq!(sim.running[id], before[id]);
        }
        // When the delay is up the lost work is spread over the survivors, nothing else moves.
        sim.now = 11_000;
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&0));
        assert!(!sim.assignor.holding());
        sim.assert_all_running_once();
        sim.assert_balanced();
        let started: Work =
            sim.started
                .last()
                .expect("round")
                .values()
                .fold(Work::default(), |mut all, w| {
                    all.extend(w);
                    all
                });
        assert_eq!(started, lost);
        for id in ["w1", "w3"] {
            assert!(
                before[id].without(&sim.running[id]).is_empty(),
                "{id} lost work"
            );
        }
    }

    #[test]
    fn a_worker_back_within_the_delay_gets_its_work_back_and_nothing_else_moves() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let before = sim.running.clone();
        let lost = sim.kill("w2");
        sim.now = 1_000;
        sim.round();
        // Restarted (a rolling restart): it comes back empty, as a new member.
        sim.join("w2-again");
        sim.now = 3_000;
        assert!(!sim.round(), "no revocations");
        assert_eq!(sim.delays.last(), Some(&0));
        assert_eq!(sim.running["w2-again"], lost);
        for id in ["w1", "w3"] {
            assert_eq!(sim.running[id], before[id]);
        }
        sim.assert_all_running_once();
        sim.assert_balanced();
        // Nothing but the returned work was started in the whole restart.
        let started: usize = sim
            .started
            .iter()
            .skip(1)
            .flat_map(|r| r.values())
            .map(|w| w.connectors.len() + w.tasks.len())
            .sum();
        assert_eq!(started, lost.connectors.len() + lost.tasks.len());
    }

    #[test]
    fn a_rolling_restart_moves_only_each_restarted_workers_own_work() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let mut rounds = 0;
        for (old, new) in [("w1", "w4"), ("w2", "w5"), ("w3", "w6")] {
            let others: Vec<(String, Work)> = sim
                .running
                .iter()
                .filter(|(id, _)| id.as_str() != old)
                .map(|(id, w)| (id.clone(), w.clone()))
                .collect();
            let lost = sim.kill(old);
            sim.now += 2_000;
            rounds += sim.settle(3);
            sim.join(new);
            sim.now += 2_000;
            rounds += sim.settle(3);
            assert_eq!(sim.running[new], lost, "{new} takes {old}'s work");
            for (id, w) in others {
                assert_eq!(sim.running[&id], w, "{id} untouched");
            }
            sim.assert_all_running_once();
        }
        assert_eq!(rounds, 6, "one round per leave and per join");
    }

    #[test]
    fn without_a_delay_lost_work_moves_at_once() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        sim.kill("w3");
        let out = sim.assignor.assign(
            1,
            "w1",
            "u",
            &sim.snapshot,
            &sim.running
                .iter()
                .map(|(id, w)| {
                    (
                        id.clone(),
                        WorkerMetadata {
                            url: String::new(),
                            config_offset: 10,
                            assignment: Some(Assignment {
                                connectors: w.connectors.iter().cloned().collect(),
                                tasks: w.tasks.iter().cloned().collect(),
                                ..Assignment::default()
                            }),
                        },
                    )
                })
                .collect::<Vec<_>>(),
            &sim.seen,
            0,
            0,
        );
        let new: usize = out
            .iter()
            .map(|m| m.assignment.connectors.len() + m.assignment.tasks.len())
            .sum();
        assert_eq!(new, 2 + 4);
        assert!(out.iter().all(|m| m.assignment.delay_ms == 0
            && m.assignment.revoked_connectors.is_empty()
            && m.assignment.revoked_tasks.is_empty()));
        assert!(!sim.assignor.holding());
    }

    #[test]
    fn new_and_deleted_connectors_change_only_what_they_must() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let before = sim.running.clone();
        // c1 deleted, c6 (3 tasks) created, c0 down to one task.
        sim.snapshot.connectors.remove("c1");
        sim.snapshot.tasks.remove("c1");
        sim.snapshot
            .connectors
            .insert("c6".into(), cfg(&[("name", "c6")]));
        sim.snapshot.tasks.insert("c6".into(), vec![cfg(&[]); 3]);
        sim.snapshot.tasks.insert("c0".into(), vec![cfg(&[])]);
        sim.settle(3);
        sim.assert_all_running_once();
        sim.assert_balanced();
        let gone = |w: &Work| {
            w.connectors.contains("c1")
                || w.tasks.iter().any(|t| t.connector == "c1")
                || w.tasks.iter().any(|t| t.connector == "c0" && t.task == 1)
        };
        for id in ["w1", "w2", "w3"] {
            // Whatever stopped was deleted work (or moved for balance: at most one item).
            let stopped = before[id].without(&sim.running[id]);
            let moved = Work {
                connectors: stopped
                    .connectors
                    .iter()
                    .filter(|c| *c != "c1")
                    .cloned()
                    .collect(),
                tasks: stopped
                    .tasks
                    .iter()
                    .filter(|t| t.connector != "c1" && !(t.connector == "c0" && t.task == 1))
                    .cloned()
                    .collect(),
            };
            assert!(
                moved.connectors.len() + moved.tasks.len() <= 1,
                "{id}: {moved:?}"
            );
            assert!(!gone(&sim.running[id]));
        }
    }

    #[test]
    fn work_claimed_by_two_members_stays_with_one() {
        let s = snapshot(&[("a", 1)]);
        let both = Assignment {
            connectors: vec!["a".into()],
            tasks: vec![TaskId {
                connector: "a".into(),
                task: 0,
            }],
            ..Assignment::default()
        };
        let m = |id: &str| {
            (
                id.to_string(),
                WorkerMetadata {
                    url: String::new(),
                    config_offset: 10,
                    assignment: Some(both.clone()),
                },
            )
        };
        let out = CooperativeAssignor::default().assign(
            1,
            "w1",
            "u",
            &s,
            &[m("w1"), m("w2")],
            &LastSeen::default(),
            0,
            DELAY,
        );
        let by: BTreeMap<_, _> = out.iter().map(|m| (m.member.as_str(), m)).collect();
        assert!(by["w1"].assignment.revoked_connectors.is_empty());
        assert_eq!(by["w2"].assignment.revoked_connectors, ["a"]);
        assert_eq!(by["w2"].assignment.revoked_tasks.len(), 1);
        assert!(by["w2"].complete.is_empty());
    }

    #[test]
    fn a_member_ahead_of_the_leader_gets_everyone_to_rejoin_keeping_their_work() {
        let s = snapshot(&[("a", 1)]);
        let m = |id: &str, offset| {
            (
                id.to_string(),
                WorkerMetadata {
                    url: String::new(),
                    config_offset: offset,
                    assignment: Some(Assignment {
                        connectors: vec!["a".into()],
                        ..Assignment::default()
                    }),
                },
            )
        };
        let out = CooperativeAssignor::default().assign(
            2,
            "w1",
            "u",
            &s,
            &[m("w1", 10), m("w2", 12)],
            &LastSeen::default(),
            0,
            DELAY,
        );
        assert!(out.iter().all(|m| m.assignment.error == CONFIG_MISMATCH
            && m.assignment.connectors.is_empty()
            && m.assignment.revoked_connectors.is_empty()
            && m.assignment.version == 2));
    }

    /// A leader that did not lead the last round (the old one died) knows a departed
    /// worker's work from the status topic, and keeps the deadline it heard as a follower.
    #[test]
    fn a_new_leader_holds_a_departed_workers_work_by_the_status_topic() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let before = sim.running.clone();
        sim.kill("w2");
        sim.now = 1_000;
        sim.round();
        assert_eq!(sim.delays.last(), Some(&10_000));
        // Another member leads now: no memory, but the deadline it heard (t = 11 000).
        sim.assignor = CooperativeAssignor::default();
        sim.assignor.heard(10_000, 1_000);
        sim.now = 4_000;
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&7_000), "the same deadline");
        for id in ["w1", "w3"] {
            assert_eq!(sim.running[id], before[id]);
        }
        // Without any memory at all (nothing heard) the delay starts afresh.
        sim.assignor = CooperativeAssignor::default();
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&10_000));
        sim.now = 14_000;
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&0));
        sim.assert_all_running_once();
        sim.assert_balanced();
    }

    /// Work nobody ran before (no status, no memory) is new: assigned at once.
    #[test]
    fn work_never_seen_running_is_assigned_at_once() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        sim.kill("w2");
        sim.assignor = CooperativeAssignor::default();
        sim.seen = LastSeen::default();
        assert!(!sim.round());
        assert_eq!(sim.delays.last(), Some(&0));
        sim.assert_all_running_once();
        sim.assert_balanced();
    }

    /// A worker restarted with the same id (same URL) gets its own work back, even when
    /// another empty worker joined at the same time (which then takes its share).
    #[test]
    fn a_worker_restarted_with_the_same_id_gets_exactly_its_own_work_back() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        let lost = sim.kill("w2");
        sim.now = 1_000;
        sim.round();
        sim.join("w2");
        sim.join("w9");
        sim.now = 2_000;
        sim.round();
        // w2 gets its own work back (nothing else); balancing may hand some of it straight
        // to w9, which holds none.
        assert!(sim.running["w2"].without(&lost).is_empty());
        let back = sim.running["w2"].connectors.len() + sim.running["w2"].tasks.len();
        assert!(
            back >= lost.connectors.len() + lost.tasks.len() - 1,
            "{back}"
        );
        assert!(sim.running["w9"].without(&lost).is_empty());
        // The new worker then takes its share by the usual revocation round.
        sim.settle(3);
        sim.assert_all_running_once();
        sim.assert_balanced();
    }

    /// A whole cluster restarted (or one adopting Kafka Connect's topics, whose statuses name
    /// workers that are gone): every member is empty, so nothing waits.
    #[test]
    fn a_restarted_cluster_runs_everything_at_once() {
        let mut sim = Sim::new(six_by_two(), &["w1", "w2", "w3"]);
        sim.settle(3);
        for id in ["w1", "w2", "w3"] {
            sim.kill(id);
        }
        for id in ["n1", "n2", "n3"] {
            sim.join(id);
        }
        sim.now = 1_000;
        assert_eq!(sim.settle(3), 1);
        assert_eq!(sim.delays.last(), Some(&0));
        sim.assert_all_running_once();
        sim.assert_balanced();
    }
}
