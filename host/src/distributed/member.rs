//! One distributed worker's life in its group: read the config topic to its end, join, let
//! the leader assign, run what was assigned on the local runtime, heartbeat, and start over
//! when the coordinator rebalances.
//!
//! Design decisions for this first slice (docs/distributed.md lists what comes next):
//! - **Eager rebalancing.** The worker offers the configured sub-protocol and every older
//!   one, as Kafka Connect does (so it can join a group a Kafka Connect cluster left, whose
//!   coordinator still remembers `sessioned`), with each one's payload format; but whichever
//!   is chosen, every rebalance stops what it runs and takes a fresh, complete assignment (no
//!   revocations). So mixing Sluice and Kafka Connect workers in one group is not supported
//!   yet: a Java worker on `compatible`/`sessioned` reads assignments incrementally.
//! - **The local runtime is the standalone [`Worker`](crate::runtime::Worker)**, driven through
//!   its [`Herder`] trait: an assigned connector is created there with its config and target
//!   state from the config topic, an unassigned one deleted there. The local worker keeps no
//!   config file; the config topic is the only truth.
//! - The leader notices new or deleted connectors while heartbeating (it tails the config
//!   topic) and rejoins, which rebalances the group.
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
use super::protocol::{
    decode_assignment, decode_metadata, encode_assignment, encode_metadata, Assignment,
    WorkerMetadata, CONFIG_MISMATCH,
};
use super::records::{self, ConfigRecord};
use crate::config::{ConnectProtocol, DistributedConfig};
use crate::kafka::group::{GroupError, GroupMember, GroupSettings, Heartbeater};
use crate::kafka::topic_log::{LogError, TopicLog};
use crate::runtime::herder::{Herder, TargetState};
use crate::spec::Config;

/// Why the worker left its group.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// A distributed worker's membership and the connectors it runs.
pub struct Member {
    config: DistributedConfig,
    url: String,
    group: GroupMember,
    config_log: TopicLog,
    view: SharedView,
    local: Arc<dyn Herder>,
    /// What this worker started locally: config and target state.
    running: BTreeMap<String, (Config, TargetState)>,
    assignment: Assignment,
    /// The cluster's connectors when the last assignment was made.
    assigned_set: Vec<String>,
    /// The members the leader assigned work to in this generation (leader only).
    assigned_members: Vec<String>,
    rebalances: u64,
}

impl Member {
    /// Connects to the group's coordinator and opens the config topic (which must exist).
    pub fn connect(
        config: DistributedConfig,
        url: String,
        client_id: &str,
        config_log: TopicLog,
        view: SharedView,
        local: Arc<dyn Herder>,
    ) -> Result<Self, MemberError> {
        if config.connect_protocol != ConnectProtocol::Eager {
            tracing::warn!(
                "connect.protocol={}: the group protocol's payloads follow it, but this version rebalances eagerly (every rebalance stops and reassigns everything); incremental cooperative rebalancing is not implemented yet, and mixing Sluice and Kafka Connect workers in one group is not supported yet",
                config.connect_protocol.wire_name()
            );
        }
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
            assigned_set: Vec::new(),
            assigned_members: Vec::new(),
            rebalances: 0,
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
        let mut heartbeater: Option<Heartbeater> = None;
        while !stop.load(Ordering::Relaxed) {
            // Rejoining: no leader to forward writes to until the new assignment.
            self.view.write().leader_url = None;
            self.read_config(stop)?;
            let metadata = WorkerMetadata {
                url: self.url.clone(),
                config_offset: self.view.read().snapshot.offset,
                assignment: None,
            };
            // Kafka Connect's offer: the configured sub-protocol and every older one, each
            // with its metadata version. The payloads follow the chosen one's format; the
            // semantics stay eager (see the module docs).
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
            let version = ConnectProtocol::from_wire_name(&joined.protocol)
                .unwrap_or(ConnectProtocol::Eager)
                .version();
            let mut owners = BTreeMap::new();
            let mut assigned_from: Option<Vec<String>> = None;
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
                assigned_from = Some(snapshot.connectors.keys().cloned().collect());
                let computed = assign(version, &joined.member_id, &self.url, &snapshot, &members);
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
            } else {
                Vec::new()
            };
            let bytes = match self.group.sync(&assignments) {
                Ok(b) => b,
                Err(e) if e.needs_rejoin() || is_transient(&e) => {
                    tracing::info!("rebalance restarted during SyncGroup: {e}");
                    continue;
                }
                Err(e) => return Err(e.into()),
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
                connectors = ?assignment.connectors,
                tasks = assignment.tasks.len(),
                rebalances = self.rebalances,
                "rebalance complete: assignment received"
            );
            {
                let mut view = self.view.write();
                view.leader_url = Some(assignment.leader_url.clone());
                view.is_leader = joined.is_leader();
                view.generation = joined.generation;
                view.owners = owners;
                view.ready = true;
                // The leader compares with what it assigned from: a connector written after
                // that (by its REST herder) still triggers a rebalance.
                self.assigned_set = assigned_from
                    .unwrap_or_else(|| view.snapshot.connectors.keys().cloned().collect());
            }
            self.assigned_members = if joined.is_leader() {
                joined.members.iter().map(|(id, _)| id.clone()).collect()
            } else {
                Vec::new()
            };
            self.assignment = assignment;
            self.reconcile();
            self.publish_task_configs();
            if heartbeater.is_none() {
                heartbeater = Some(self.group.heartbeater()?);
            }
            let beat = heartbeater.as_mut().expect("created above");
            if self.heartbeat_until_rebalance(beat, joined.is_leader(), stop)? {
                // Eager: everything stops before the group rebalances.
                self.stop_all();
            }
        }
        Ok(())
    }

    /// Heartbeats until a rebalance is needed (`Ok(true)`) or `stop` is set (`Ok(false)`).
    fn heartbeat_until_rebalance(
        &mut self,
        beat: &mut Heartbeater,
        leader: bool,
        stop: &AtomicBool,
    ) -> Result<bool, MemberError> {
        let generation = self.group.generation();
        let member_id = self.group.member_id().to_string();
        let mut next = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if Instant::now() >= next {
                next = Instant::now() + self.config.heartbeat_interval;
                // tansu 0.6 was seen to evict a crashed member, hand the surviving follower
                // its old generation's assignment again and never tell the leader to
                // rebalance (docs/distributed.md): the leader checks that every member it
                // assigned work to is still listed, and rebalances when one is gone.
                if leader && !self.assigned_members.is_empty() {
                    if let Ok(Some(listed)) = beat.stable_members() {
                        if let Some(gone) =
                            self.assigned_members.iter().find(|m| !listed.contains(m))
                        {
                            tracing::warn!(member = %gone, "a member this leader assigned work to left the group without a rebalance: rebalancing");
                            return Ok(true);
                        }
                    }
                }
                match beat.beat(&member_id, generation) {
                    Ok(()) => {}
                    Err(e) if e.needs_rejoin() => {
                        tracing::info!("the group is rebalancing: {e}");
                        return Ok(true);
                    }
                    Err(e) => {
                        tracing::warn!("heartbeat failed: {e}");
                        return Ok(true);
                    }
                }
            }
            if let Err(e) = self.read_config(stop) {
                tracing::warn!("reading the config topic: {e}");
            }
            // Compared with the set the assignment was made from (not with the last read: the
            // REST herder reads the leader's own writes into the same snapshot).
            let now: Vec<String> = self
                .view
                .read()
                .snapshot
                .connectors
                .keys()
                .cloned()
                .collect();
            if now != self.assigned_set && leader {
                tracing::info!(before = ?self.assigned_set, after = ?now, "connectors were added or removed: rebalancing");
                return Ok(true);
            }
            // Config and target-state changes of connectors running here apply in place.
            self.reconcile();
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
            .filter(|(_, (_, t))| *t != TargetState::Stopped)
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

    /// Brings the local runtime in line with the assignment and the config snapshot.
    fn reconcile(&mut self) {
        let view = self.view.read().snapshot.clone();
        let mut wanted: BTreeMap<String, (Config, TargetState)> = BTreeMap::new();
        for name in &self.assignment.connectors {
            let Some(config) = view.connectors.get(name) else {
                continue;
            };
            let mut config = config.clone();
            if !config.iter().any(|(k, _)| k == "name") {
                config.insert(0, ("name".to_string(), name.clone()));
            }
            let target = match view.target_state(name) {
                records::TargetState::Started => TargetState::Started,
                records::TargetState::Paused => TargetState::Paused,
                records::TargetState::Stopped => TargetState::Stopped,
            };
            wanted.insert(name.clone(), (config, target));
        }
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, (config, _))| wanted.get(*name).is_none_or(|(c, _)| c != config))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            self.stop_one(&name);
        }
        for (name, (config, target)) in wanted {
            match self.running.get(&name) {
                Some((_, t)) if *t == target => {}
                Some(_) => match self.local.set_target_state(&name, target) {
                    Ok(()) => {
                        tracing::info!(connector = %name, target = target.as_str(), "target state applied");
                        self.running.insert(name, (config, target));
                    }
                    Err(e) => tracing::error!(connector = %name, "cannot apply target state: {e}"),
                },
                None => {
                    match self.local.create_connector(config.clone(), target) {
                        Ok(()) => {
                            tracing::info!(connector = %name, target = target.as_str(), "assigned connector started")
                        }
                        Err(e) => {
                            tracing::error!(connector = %name, "assigned connector cannot start: {e}")
                        }
                    }
                    // Remembered even when it failed: it is retried on the next change.
                    self.running.insert(name, (config, target));
                }
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
