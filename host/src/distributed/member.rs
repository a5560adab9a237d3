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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::assignor::assign;
use super::config_state::ConfigSnapshot;
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
    snapshot: ConfigSnapshot,
    local: Arc<dyn Herder>,
    /// What this worker started locally: config and target state.
    running: BTreeMap<String, (Config, TargetState)>,
    assignment: Assignment,
    rebalances: u64,
}

impl Member {
    /// Connects to the group's coordinator and opens the config topic (which must exist).
    pub fn connect(
        config: DistributedConfig,
        url: String,
        client_id: &str,
        config_log: TopicLog,
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
            snapshot: ConfigSnapshot::new(),
            local,
            running: BTreeMap::new(),
            assignment: Assignment::default(),
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
            self.read_config(stop)?;
            let metadata = WorkerMetadata {
                url: self.url.clone(),
                config_offset: self.snapshot.offset,
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
                assign(
                    version,
                    &joined.member_id,
                    &self.url,
                    &self.snapshot,
                    &members,
                )
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
            while self.snapshot.offset < assignment.config_offset && Instant::now() < deadline {
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
            self.assignment = assignment;
            self.reconcile();
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
            let before: Vec<String> = self.snapshot.connectors.keys().cloned().collect();
            if let Err(e) = self.read_config(stop) {
                tracing::warn!("reading the config topic: {e}");
            }
            let after: Vec<String> = self.snapshot.connectors.keys().cloned().collect();
            if before != after && leader {
                tracing::info!(before = ?before, after = ?after, "connectors were added or removed: rebalancing");
                return Ok(true);
            }
            // Config and target-state changes of connectors running here apply in place.
            self.reconcile();
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Reads the config topic to its end into the snapshot.
    fn read_config(&mut self, stop: &AtomicBool) -> Result<(), MemberError> {
        let snapshot = &mut self.snapshot;
        self.config_log
            .read_to_end(Duration::from_secs(60), stop, |r| {
                let key = r
                    .key
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                match ConfigRecord::decode(&key, r.value.as_deref()) {
                    Ok(record) => snapshot.apply(r.offset, record),
                    Err(e) => {
                        tracing::warn!(
                            "config topic: skipping a record at offset {}: {e}",
                            r.offset
                        );
                        snapshot.apply(
                            r.offset,
                            ConfigRecord::Other {
                                key: key.to_string(),
                                value: None,
                            },
                        );
                    }
                }
            })?;
        Ok(())
    }

    /// Brings the local runtime in line with the assignment and the config snapshot.
    fn reconcile(&mut self) {
        let mut wanted: BTreeMap<String, (Config, TargetState)> = BTreeMap::new();
        for name in &self.assignment.connectors {
            let Some(config) = self.snapshot.connectors.get(name) else {
                continue;
            };
            let mut config = config.clone();
            if !config.iter().any(|(k, _)| k == "name") {
                config.insert(0, ("name".to_string(), name.clone()));
            }
            let target = match self.snapshot.target_state(name) {
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
