//! One distributed worker's life in its group: read the config topic to its end, join, let
//! the leader assign, run what was assigned on the local runtime, heartbeat, and start over
//! when the coordinator rebalances.
//!
//! Design decisions (docs/distributed.md, *Group protocol*):
//! - **The chosen sub-protocol decides how a rebalance goes.** The worker offers the
//!   configured sub-protocol and every older one, as Kafka Connect does (so it can join a
//!   group a Kafka Connect cluster left, whose coordinator still remembers `sessioned`).
//!   With `default` (eager) every rebalance stops what it runs and takes a fresh, complete
//!   assignment. With `compatible`/`sessioned` (KIP-415) the worker reports what it runs in
//!   its JoinGroup metadata, keeps running it through rebalances, and applies an assignment
//!   as a change: it stops only the revoked connectors and tasks and starts the new ones
//!   (tasks move in place, [`Worker::change_placement`]). The leader assigns with
//!   [`CooperativeAssignor`], which holds a departed worker's work for
//!   `scheduled.rebalance.max.delay.ms`; the leader rejoins when that delay is up.
//! - **Metadata the coordinator holds must be what the member runs** (tansu 0.6 answers a
//!   JoinGroup at once with the metadata each member sent last, docs/distributed.md *Test
//!   brokers*). So a worker whose work changed in a rebalance rejoins — after a grace of one
//!   heartbeat interval, so the other members fetch their assignments of that generation
//!   first — and a leader that sees a member report other work than it assigned in the last
//!   round it led waits (bounded) for that member to rejoin before it assigns anything.
//! - **The local runtime is the standalone [`Worker`](crate::runtime::Worker)**, driven through
//!   its [`Herder`] trait: a connector with an assigned part here (the connector itself
//!   and/or some of its tasks, a [`Placement`]) is created there with its config and target
//!   state from the config topic, and runs only that part; an unassigned one is deleted there.
//!   The local worker keeps no config file; the config topic is the only truth.
//! - The leader notices new or deleted connectors, and changed task counts, while it runs
//!   (it tails the config topic) and rejoins, which rebalances the group.
//! - KIP-745 restart requests (`restart-connector-<name>`) read after the first assignment
//!   are applied to what runs here.
//! - **Heartbeats run on a thread of their own** ([`HeartbeatThread`]), also while this
//!   thread stops connectors or rejoins, and a rejoin answered with the generation this worker
//!   already had (tansu 0.6 after evicting a crashed member) makes it leave and join as a new
//!   member, which starts a new generation (docs/distributed.md, *Test brokers*).
//! - **The worker running a connector publishes its task configs** (`task-<name>-<n>` and
//!   `commit-<name>`) when they differ from the committed ones, so every worker's REST API
//!   shows them. Kafka Connect has the connector's worker ask the leader to write them; the
//!   config topic has a single partition, so a direct write keeps the same order.
//! - What this worker learns (config snapshot, leader, assignment) goes into the shared
//!   [`ClusterView`](super::cluster::ClusterView) the REST API answers from; while it
//!   rejoins, the view has no leader and writes answer 409.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::assignor::assign;
use super::cluster::{read_config, SharedView};
use super::config_state::RestartRequest;
use super::cooperative::{CooperativeAssignor, LastSeen, Work};
use super::heartbeat::HeartbeatThread;
use super::protocol::{
    decode_assignment, decode_metadata, encode_assignment, encode_metadata, Assignment, TaskId,
    WorkerMetadata, CONFIG_MISMATCH,
};
use super::records::{self, ConfigRecord};
use crate::config::{ConnectProtocol, DistributedConfig};
use crate::kafka::group::{GroupError, GroupMember, GroupSettings};
use crate::kafka::topic_log::{LogError, TopicLog};
use crate::runtime::herder::{Herder, TargetState};
use crate::runtime::{Placement, Worker};
use crate::spec::Config;

/// Why the worker left its group.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("cannot start the heartbeat thread: {0}")]
    Thread(String),
}

/// A distributed worker's membership and the connectors it runs.
pub struct Member {
    config: DistributedConfig,
    url: String,
    group: GroupMember,
    config_log: TopicLog,
    view: SharedView,
    local: Arc<Worker>,
    /// What this worker started locally: config, target state and which part runs here.
    running: BTreeMap<String, (Config, TargetState, Placement)>,
    assignment: Assignment,
    /// The cluster's connectors and their task counts when the last assignment was made.
    assigned_from: BTreeMap<String, usize>,
    /// Restart requests (KIP-745) from this config-topic offset on are still to be applied
    /// (`None` before the first assignment: older requests were for the workers then).
    restarts_from: Option<i64>,
    /// The member id and generation of the last completed rebalance (see
    /// [`Member::rejoined_the_same_generation`]).
    completed: Option<(String, i32)>,
    rebalances: u64,
    /// The leader's incremental cooperative assignor, with its memory between rounds.
    assignor: CooperativeAssignor,
    /// Leader: each member's complete work after the last round this worker led.
    last_round: Option<BTreeMap<String, Work>>,
    /// Leader: since when it waits for members whose metadata predates its last round.
    stale_since: Option<Instant>,
    /// Whether the last assignment was incremental (KIP-415): a rebalance keeps running work.
    incremental: bool,
    /// The clock of the assignor's deadlines.
    epoch: Instant,
}

impl Member {
    /// Connects to the group's coordinator and opens the config topic (which must exist).
    pub fn connect(
        config: DistributedConfig,
        url: String,
        client_id: &str,
        config_log: TopicLog,
        view: SharedView,
        local: Arc<Worker>,
    ) -> Result<Self, MemberError> {
        tracing::info!(
            connect_protocol = config.connect_protocol.wire_name(),
            incremental = config.connect_protocol != ConnectProtocol::Eager,
            scheduled_rebalance_max_delay_ms =
                config.scheduled_rebalance_max_delay.as_millis() as u64,
            "group protocol"
        );
        let group = GroupMember::connect(GroupSettings {
            bootstrap_servers: config.bootstrap_servers.clone(),
            group_id: config.group_id.clone(),
            client_id: client_id.to_string(),
            protocol_type: "connect".to_string(),
            session_timeout: config.session_timeout,
            rebalance_timeout: config.rebalance_timeout,
        })?;
        tracing::info!(group = %config.group_id, coordinator = group.coordinator(), "found the group coordinator");
        Ok(Member {
            config,
            url,
            group,
            config_log,
            view,
            local,
            running: BTreeMap::new(),
            assignment: Assignment::default(),
            assigned_from: BTreeMap::new(),
            restarts_from: None,
            completed: None,
            rebalances: 0,
            assignor: CooperativeAssignor::default(),
            last_round: None,
            stale_since: None,
            incremental: false,
            epoch: Instant::now(),
        })
    }

    /// Runs until `stop` is set: then stops the local connectors and leaves the group.
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), MemberError> {
        let result = self.run_inner(stop);
        self.stop_all();
        match self.group.leave() {
            Ok(()) => tracing::info!(group = %self.config.group_id, "left the group"),
            Err(e) => tracing::warn!(group = %self.config.group_id, "leaving the group: {e}"),
        }
        result
    }

    fn run_inner(&mut self, stop: &AtomicBool) -> Result<(), MemberError> {
        let heartbeat =
            HeartbeatThread::start(self.group.heartbeater(), self.config.heartbeat_interval)
                .map_err(|e| MemberError::Thread(e.to_string()))?;
        let metrics = self.local.metrics();
        // Set when SyncGroup is asked again for the same round: the config topic was just read.
        let mut retrying = false;
        while !stop.load(Ordering::Relaxed) {
            // Rejoining: no leader to forward writes to until the new assignment.
            self.view.write().leader_url = None;
            if let Some(m) = &metrics {
                m.rebalance
                    .started(&protocol_metric_name(self.config.connect_protocol));
            }
            if !std::mem::take(&mut retrying) {
                self.read_config(stop)?;
            }
            // KIP-415: what this worker runs (the eager metadata has no room for it).
            let running = Work::of(&self.assignment);
            let metadata = WorkerMetadata {
                url: self.url.clone(),
                config_offset: self.view.read().snapshot.offset,
                assignment: (!running.is_empty()).then(|| Assignment {
                    revoked_connectors: Vec::new(),
                    revoked_tasks: Vec::new(),
                    ..self.assignment.clone()
                }),
            };
            // Kafka Connect's offer: the configured sub-protocol and every older one, each
            // with its metadata version; the coordinator picks one all members offer.
            let protocols: Vec<(String, Vec<u8>)> = self
                .config
                .connect_protocol
                .offered()
                .into_iter()
                .map(|p| {
                    (
                        p.wire_name().to_string(),
                        encode_metadata(p.version(), &metadata),
                    )
                })
                .collect();
            let joined = match self.group.join(&protocols) {
                Ok(j) => j,
                Err(e) if is_transient(&e) => {
                    tracing::warn!("joining the group failed, retrying: {e}");
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                // Members (e.g. Kafka Connect workers, or one that died and is not evicted
                // yet) hold the group on a sub-protocol this worker does not speak; some
                // coordinators (tansu) refuse the join instead of falling back to "default".
                Err(e)
                    if e.code()
                        == Some(crate::kafka::group::codes::INCONSISTENT_GROUP_PROTOCOL) =>
                {
                    tracing::warn!(
                        "the group's members use a sub-protocol other than \"default\" (live Kafka Connect workers, or departed ones not yet evicted after their session timeout); retrying: {e}"
                    );
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if self.rejoined_the_same_generation(joined.generation, &joined.member_id) {
                // tansu 0.6 evicts a crashed member without a new generation, and answers a
                // rejoin with the generation (and, in SyncGroup, the assignment) it had: no
                // rebalance would ever happen. Leaving and joining as a new member makes it
                // start one, which every other member learns from its next heartbeat.
                tracing::info!(
                    generation = joined.generation,
                    "the coordinator answered the rejoin with the generation this worker already had: leaving and joining again as a new member, so that a new generation starts"
                );
                self.completed = None;
                heartbeat.set("", -1, Vec::new());
                if let Err(e) = self.group.leave() {
                    tracing::warn!("leaving the group: {e}");
                }
                continue;
            }
            // Heartbeats from now on keep this member alive while the leader assigns.
            heartbeat.set(&joined.member_id, joined.generation, Vec::new());
            let version = ConnectProtocol::from_wire_name(&joined.protocol)
                .unwrap_or(ConnectProtocol::Eager)
                .version();
            let mut owners = BTreeMap::new();
            let mut assigned_from: Option<BTreeMap<String, usize>> = None;
            // Leader, incremental: the assignor as it was before this round (restored when
            // the round does not complete) and every member's work after it.
            let mut saved_assignor: Option<CooperativeAssignor> = None;
            let mut round: Option<BTreeMap<String, Work>> = None;
            let assignments = if joined.is_leader() {
                let mut members = Vec::new();
                for (id, bytes) in &joined.members {
                    match decode_metadata(bytes) {
                        Ok(m) => members.push((id.clone(), m)),
                        Err(e) => {
                            tracing::warn!(member = %id, "ignoring a member whose metadata is unreadable: {e}")
                        }
                    }
                }
                let snapshot = self.view.read().snapshot.clone();
                assigned_from = Some(task_counts(&snapshot));
                if version >= 1 {
                    if self.wait_for_stale_members(&joined.member_id, &members) {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    saved_assignor = Some(self.assignor.clone());
                    let now_ms = self.now_ms();
                    let computed = self.assignor.assign(
                        version,
                        &joined.member_id,
                        &self.url,
                        &snapshot,
                        &members,
                        &self.last_seen(),
                        now_ms,
                        u64::try_from(self.config.scheduled_rebalance_max_delay.as_millis())
                            .unwrap_or(u64::MAX),
                    );
                    for a in &computed {
                        if let Some((_, m)) = members.iter().find(|(id, _)| *id == a.member) {
                            for c in &a.complete.connectors {
                                owners.insert(c.clone(), m.url.clone());
                            }
                        }
                    }
                    round = Some(
                        computed
                            .iter()
                            .map(|a| (a.member.clone(), a.complete.clone()))
                            .collect(),
                    );
                    computed
                        .into_iter()
                        .map(|a| (a.member, encode_assignment(version, &a.assignment)))
                        .collect()
                } else {
                    let computed =
                        assign(version, &joined.member_id, &self.url, &snapshot, &members);
                    // Who runs what, for routing restarts to the worker running the connector.
                    for (id, a) in &computed {
                        if let Some((_, m)) = members.iter().find(|(m, _)| m == id) {
                            for c in &a.connectors {
                                owners.insert(c.clone(), m.url.clone());
                            }
                        }
                    }
                    computed
                        .into_iter()
                        .map(|(id, a)| (id, encode_assignment(version, &a)))
                        .collect()
                }
            } else {
                Vec::new()
            };
            let bytes = match self.group.sync(&assignments) {
                Ok(b) => b,
                Err(e) => {
                    // The round did not happen: the assignor forgets it.
                    if let Some(saved) = saved_assignor {
                        self.assignor = saved;
                    }
                    if e.needs_rejoin() || is_transient(&e) {
                        // On tansu, also the answer while the leader has not sent its
                        // assignment yet: wait a little instead of asking again at once.
                        tracing::info!("rebalance restarted during SyncGroup: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                        retrying = true;
                        continue;
                    }
                    return Err(e.into());
                }
            };
            let assignment = match decode_assignment(&bytes) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("the leader's assignment is unreadable, rejoining: {e}");
                    continue;
                }
            };
            self.rebalances += 1;
            if assignment.error == CONFIG_MISMATCH {
                tracing::info!(
                    "the leader's config is behind this worker's; rejoining once it caught up"
                );
                continue;
            }
            // Another member led this round: the assignor's memory of its own is stale.
            if joined.is_leader() {
                self.last_round = round;
            } else {
                self.last_round = None;
                self.assignor.forget();
            }
            // KIP-415: the assignment names what to start and what to stop; the rest of
            // what runs here keeps running. Eager: it is everything this worker runs.
            let incremental = version >= 1 && assignment.version >= 1;
            let revoked = Work {
                connectors: assignment.revoked_connectors.iter().cloned().collect(),
                tasks: assignment.revoked_tasks.iter().cloned().collect(),
            };
            let added = Work::of(&assignment);
            let (assignment, changed) = if incremental {
                self.assignor.heard(assignment.delay_ms, self.now_ms());
                let mut complete = Work::of(&self.assignment).without(&revoked);
                complete.extend(&added);
                let changed = !revoked.is_empty() || !added.is_empty();
                (
                    Assignment {
                        connectors: complete.connectors.into_iter().collect(),
                        tasks: complete.tasks.into_iter().collect(),
                        revoked_connectors: Vec::new(),
                        revoked_tasks: Vec::new(),
                        ..assignment
                    },
                    changed,
                )
            } else {
                (assignment, false)
            };
            self.incremental = incremental;
            // Read at least as far as the leader did before running anything.
            let deadline = Instant::now() + self.config.worker_sync_timeout;
            while self.view.read().snapshot.offset < assignment.config_offset
                && Instant::now() < deadline
            {
                self.read_config(stop)?;
            }
            tracing::info!(
                generation = joined.generation,
                member = %joined.member_id,
                leader = %assignment.leader,
                leader_url = %assignment.leader_url,
                is_leader = joined.is_leader(),
                members = joined.members.len(),
                protocol = %joined.protocol,
                connectors = ?assignment.connectors,
                tasks = assignment.tasks.len(),
                started = %describe(&added),
                revoked = %describe(&revoked),
                delay_ms = assignment.delay_ms,
                rebalances = self.rebalances,
                "rebalance complete: assignment received"
            );
            {
                let mut view = self.view.write();
                view.leader_url = Some(assignment.leader_url.clone());
                view.is_leader = joined.is_leader();
                view.generation = joined.generation;
                view.owners = owners;
                view.assigned_connectors = assignment.connectors.iter().cloned().collect();
                view.assigned_tasks = assignment
                    .tasks
                    .iter()
                    .filter_map(|t| Some((t.connector.clone(), u32::try_from(t.task).ok()?)))
                    .collect();
                view.ready = true;
                // The leader compares with what it assigned from: a connector written after
                // that (by its REST herder) still triggers a rebalance.
                self.assigned_from = assigned_from.unwrap_or_else(|| task_counts(&view.snapshot));
            }
            let assigned_members = if joined.is_leader() {
                joined.members.iter().map(|(id, _)| id.clone()).collect()
            } else {
                Vec::new()
            };
            heartbeat.set(&joined.member_id, joined.generation, assigned_members);
            self.completed = Some((joined.member_id.clone(), joined.generation));
            self.assignment = assignment;
            if self.restarts_from.is_none() {
                self.restarts_from = Some(self.view.read().snapshot.offset);
            }
            self.reconcile();
            self.publish_task_configs();
            // Kafka Connect's rebalance ends when the worker has started its assignment.
            if let Some(m) = &metrics {
                let protocol = ConnectProtocol::from_wire_name(&joined.protocol)
                    .unwrap_or(self.config.connect_protocol);
                m.rebalance.completed(
                    joined.generation,
                    &self.assignment.leader,
                    &protocol_metric_name(protocol),
                );
            }
            // A worker whose work changed rejoins (after revocations Kafka Connect's rule; for
            // new work so the coordinator holds metadata saying what runs here, see the
            // module docs), after a grace that lets the other members fetch this generation's
            // assignments. The leader rejoins when held work's delay is up.
            let rejoin_at = if changed {
                tracing::info!(
                    revoked = %describe(&revoked),
                    started = %describe(&added),
                    "this worker's connectors and tasks changed: rejoining so that the group sees what runs here"
                );
                Some(Instant::now() + self.config.heartbeat_interval + Duration::from_millis(500))
            } else if incremental && joined.is_leader() && self.assignment.delay_ms > 0 {
                Some(
                    Instant::now()
                        + Duration::from_millis(
                            u64::try_from(self.assignment.delay_ms).unwrap_or(0),
                        ),
                )
            } else {
                None
            };
            if self.run_until_rebalance(&heartbeat, joined.is_leader(), rejoin_at, stop)? {
                if self.incremental {
                    // It kept reading the config topic while it ran: rejoin at once.
                    retrying = true;
                } else {
                    // Eager: everything stops before the group rebalances.
                    self.stop_all();
                    self.assignment = Assignment::default();
                }
            }
        }
        Ok(())
    }

    /// Milliseconds on the assignor's clock.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Leader, incremental: whether to wait for members whose metadata says they run other
    /// work than this leader assigned them in its last round — the coordinator answered
    /// before they rejoined with what they run now (tansu 0.6 answers a JoinGroup at once).
    /// Assigning from that would hand work that runs to a second worker. The wait is
    /// bounded: a member that never received the last round's assignment keeps reporting
    /// the work it had, which is then the truth.
    fn wait_for_stale_members(&mut self, me: &str, members: &[(String, WorkerMetadata)]) -> bool {
        let Some(last) = &self.last_round else {
            return false;
        };
        let stale: Vec<&String> = members
            .iter()
            .filter(|(id, m)| {
                id != me
                    && last.get(id).is_some_and(|w| {
                        *w != m.assignment.as_ref().map(Work::of).unwrap_or_default()
                    })
            })
            .map(|(id, _)| id)
            .collect();
        if stale.is_empty() {
            self.stale_since = None;
            return false;
        }
        // Kafka's join barrier waits up to the rebalance timeout for every member to rejoin.
        let bound = self.config.rebalance_timeout;
        let since = *self.stale_since.get_or_insert_with(Instant::now);
        if since.elapsed() < bound {
            tracing::info!(
                members = ?stale,
                "members' metadata predates the last assignment (they have not rejoined since): waiting for them before assigning"
            );
            return true;
        }
        tracing::warn!(
            members = ?stale,
            waited_ms = since.elapsed().as_millis() as u64,
            "members still report other work than they were assigned last: assigning from what they report"
        );
        self.stale_since = None;
        false
    }

    /// Who the status topic last named for each connector and task (their URLs, as members
    /// advertise them).
    fn last_seen(&self) -> LastSeen {
        let view = self.view.read();
        let url = |id: &str| format!("http://{id}/");
        LastSeen {
            connectors: view
                .connector_status
                .iter()
                .filter(|(_, s)| !s.worker_id.is_empty())
                .map(|(n, s)| (n.clone(), url(&s.worker_id)))
                .collect(),
            tasks: view
                .task_status
                .iter()
                .filter(|(_, s)| !s.worker_id.is_empty())
                .map(|((c, t), s)| {
                    (
                        TaskId {
                            connector: c.clone(),
                            task: i32::try_from(*t).unwrap_or(i32::MAX),
                        },
                        url(&s.worker_id),
                    )
                })
                .collect(),
        }
    }

    /// True when a rejoin came back with the generation of this member's last completed
    /// rebalance: a coordinator starts a new generation for every rebalance, so the same one
    /// means it did not (see where this is called).
    fn rejoined_the_same_generation(&self, generation: i32, member_id: &str) -> bool {
        self.completed
            .as_ref()
            .is_some_and(|(id, g)| *g == generation && id == member_id)
    }

    /// Runs the assignment (applying config changes in place) until the heartbeat thread
    /// reports that the group rebalances, or the leader sees connectors added or removed, or
    /// `rejoin_at` passed (`Ok(true)`), or `stop` is set (`Ok(false)`).
    fn run_until_rebalance(
        &mut self,
        heartbeat: &HeartbeatThread,
        leader: bool,
        rejoin_at: Option<Instant>,
        stop: &AtomicBool,
    ) -> Result<bool, MemberError> {
        let generation = self.group.generation();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if heartbeat.rebalance_needed(generation) {
                return Ok(true);
            }
            if rejoin_at.is_some_and(|t| Instant::now() >= t) {
                if leader && self.assignor.holding() {
                    tracing::info!("scheduled.rebalance.max.delay.ms is up for a departed worker's connectors and tasks: rebalancing");
                }
                return Ok(true);
            }
            if let Err(e) = self.read_config(stop) {
                tracing::warn!("reading the config topic: {e}");
            }
            // Compared with what the assignment was made from (not with the last read: the
            // REST herder reads the leader's own writes into the same snapshot). New task
            // configs need a rebalance too: tasks are assigned like connectors.
            let now = task_counts(&self.view.read().snapshot);
            if now != self.assigned_from && leader {
                tracing::info!(before = ?self.assigned_from, after = ?now, "connectors or their task counts changed: rebalancing");
                return Ok(true);
            }
            // Config and target-state changes of connectors running here apply in place.
            self.reconcile();
            self.apply_restarts();
            self.publish_task_configs();
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Reads the config topic to its end into the shared snapshot.
    fn read_config(&mut self, stop: &AtomicBool) -> Result<(), MemberError> {
        read_config(&self.config_log, &self.view, Duration::from_secs(60), stop)?;
        Ok(())
    }

    /// Writes the task configs of the connectors running here when they differ from the
    /// committed ones (see the module docs), each set followed by its commit record.
    fn publish_task_configs(&mut self) {
        let names: Vec<String> = self
            .running
            .iter()
            .filter(|(_, (_, t, here))| *t != TargetState::Stopped && here.connector)
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(configs) = self.local.task_configs(&name).filter(|c| !c.is_empty()) else {
                continue;
            };
            let (committed, target) = {
                let view = self.view.read();
                (
                    view.snapshot.tasks.get(&name).cloned(),
                    view.snapshot.target_state(&name),
                )
            };
            // A stop the runtime has not applied yet must not be undone by republishing.
            if committed.as_ref() == Some(&configs) || target == records::TargetState::Stopped {
                continue;
            }
            let mut records: Vec<ConfigRecord> = configs
                .iter()
                .enumerate()
                .map(|(i, c)| ConfigRecord::Task {
                    connector: name.clone(),
                    task: u32::try_from(i).unwrap_or(u32::MAX),
                    config: Some(c.clone()),
                })
                .collect();
            records.push(ConfigRecord::Commit {
                connector: name.clone(),
                tasks: u32::try_from(configs.len()).unwrap_or(u32::MAX),
            });
            let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = records
                .iter()
                .map(|r| {
                    let (k, v) = r.encode();
                    (k.into_bytes(), v)
                })
                .collect();
            match self.config_log.send(&encoded) {
                Ok(()) => {
                    tracing::info!(connector = %name, tasks = configs.len(), "task configs written to the config topic");
                    // Read back at once, so the next comparison sees them committed.
                    if let Err(e) = self.read_config(&AtomicBool::new(false)) {
                        tracing::warn!("reading the config topic: {e}");
                    }
                }
                Err(e) => {
                    tracing::warn!(connector = %name, "cannot write task configs (retried): {e}")
                }
            }
        }
    }

    /// What the assignment places here, per connector: the connector itself and its tasks.
    fn placements(&self) -> BTreeMap<String, Placement> {
        let mut out: BTreeMap<String, Placement> = BTreeMap::new();
        for name in &self.assignment.connectors {
            out.entry(name.clone()).or_default().connector = true;
        }
        for t in &self.assignment.tasks {
            if let Ok(id) = u32::try_from(t.task) {
                out.entry(t.connector.clone()).or_default().tasks.insert(id);
            }
        }
        out
    }

    /// Brings the local runtime in line with the assignment and the config snapshot: each
    /// connector with a part here runs that part (see [`Placement`]).
    fn reconcile(&mut self) {
        let view = self.view.read().snapshot.clone();
        let mut wanted: BTreeMap<String, (Config, TargetState, Placement)> = BTreeMap::new();
        for (name, here) in self.placements() {
            let Some(config) = view.connectors.get(&name) else {
                continue;
            };
            let mut config = config.clone();
            if !config.iter().any(|(k, _)| k == "name") {
                config.insert(0, ("name".to_string(), name.clone()));
            }
            let target = match view.target_state(&name) {
                records::TargetState::Started => TargetState::Started,
                records::TargetState::Paused => TargetState::Paused,
                records::TargetState::Stopped => TargetState::Stopped,
            };
            wanted.insert(name, (config, target, here));
        }
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, (config, _, _))| wanted.get(*name).is_none_or(|(c, _, _)| c != config))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            self.stop_one(&name);
        }
        // A connector whose part here changed moves in place: only the tasks that move start
        // or stop (when that is not possible it restarts with its new part).
        let moved: Vec<(String, Placement)> = self
            .running
            .iter()
            .filter_map(|(name, (_, _, here))| {
                let (_, _, h) = wanted.get(name)?;
                (h != here).then(|| (name.clone(), h.clone()))
            })
            .collect();
        for (name, here) in moved {
            let was_connector = self.running.get(&name).is_some_and(|(_, _, h)| h.connector);
            if self.local.change_placement(&name, &here) {
                if here.connector && !was_connector {
                    tracing::info!(connector = %name, tasks = ?here.tasks, "assigned connector started (its tasks here keep running)");
                }
                if let Some(entry) = self.running.get_mut(&name) {
                    entry.2 = here;
                }
            } else {
                self.stop_one(&name);
            }
        }
        for (name, (config, target, here)) in wanted {
            match self.running.get(&name) {
                Some((_, t, _)) if *t == target => {}
                Some(_) => match self.local.set_target_state(&name, target) {
                    Ok(()) => {
                        tracing::info!(connector = %name, target = target.as_str(), "target state applied");
                        self.running.insert(name, (config, target, here));
                    }
                    Err(e) => tracing::error!(connector = %name, "cannot apply target state: {e}"),
                },
                None => {
                    self.local.set_placement(&name, Some(here.clone()));
                    let what = if here.connector {
                        "assigned connector started"
                    } else {
                        "assigned tasks started"
                    };
                    match self.local.create_connector(config.clone(), target) {
                        Ok(()) => {
                            tracing::info!(connector = %name, target = target.as_str(), tasks = ?here.tasks, "{what}")
                        }
                        Err(e) => {
                            tracing::error!(connector = %name, "assigned connector cannot start: {e}")
                        }
                    }
                    // Remembered even when it failed: it is retried on the next change.
                    self.running.insert(name, (config, target, here));
                }
            }
        }
    }

    /// KIP-745: restarts what runs here of each connector named by a restart request read
    /// since the last call (the connector instance and/or tasks, failed ones only or all, as
    /// the local runtime's restart decides from their states).
    fn apply_restarts(&mut self) {
        let Some(from) = self.restarts_from else {
            return;
        };
        let requests: Vec<(String, RestartRequest)> = self
            .view
            .read()
            .snapshot
            .restarts
            .iter()
            .filter(|(_, r)| r.offset >= from)
            .map(|(n, r)| (n.clone(), *r))
            .collect();
        for (name, r) in requests {
            self.restarts_from = Some(self.restarts_from.unwrap_or(from).max(r.offset + 1));
            if !self.running.contains_key(&name) {
                continue;
            }
            let request = crate::runtime::herder::RestartRequest {
                include_tasks: r.include_tasks,
                only_failed: r.only_failed,
            };
            match self.local.restart_connector(&name, request) {
                Ok(()) => tracing::info!(
                    connector = %name,
                    include_tasks = r.include_tasks,
                    only_failed = r.only_failed,
                    "restart request applied"
                ),
                Err(e) => tracing::warn!(connector = %name, "restart request: {e}"),
            }
        }
    }

    fn stop_one(&mut self, name: &str) {
        self.running.remove(name);
        match self.local.delete_connector(name) {
            Ok(()) => tracing::info!(connector = %name, "connector stopped here"),
            Err(e) => tracing::debug!(connector = %name, "stopping: {e}"),
        }
    }

    fn stop_all(&mut self) {
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.stop_one(&name);
        }
    }
}

/// `c1, c2-0, c2-1` for a log line.
fn describe(w: &Work) -> String {
    w.connectors
        .iter()
        .cloned()
        .chain(
            w.tasks
                .iter()
                .map(|t| format!("{}-{}", t.connector, t.task)),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each connector of the snapshot with its number of committed task configs.
fn task_counts(snapshot: &super::config_state::ConfigSnapshot) -> BTreeMap<String, usize> {
    snapshot
        .connectors
        .keys()
        .map(|c| (c.clone(), snapshot.tasks.get(c).map_or(0, Vec::len)))
        .collect()
}

fn is_transient(e: &GroupError) -> bool {
    use crate::kafka::group::codes;
    matches!(e, GroupError::Io { .. })
        || matches!(
            e.code(),
            Some(
                codes::COORDINATOR_LOAD_IN_PROGRESS
                    | codes::COORDINATOR_NOT_AVAILABLE
                    | codes::NOT_COORDINATOR
                    | codes::REBALANCE_IN_PROGRESS
            )
        )
}

/// Kafka Connect's `connect-protocol` metric value: the protocol's enum name (`EAGER`, ...).
fn protocol_metric_name(p: ConnectProtocol) -> String {
    format!("{p:?}").to_ascii_uppercase()
}
