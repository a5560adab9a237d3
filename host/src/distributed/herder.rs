//! The REST API's [`Herder`] in distributed mode: the same endpoints and answers as
//! standalone, on every worker of the cluster.
//!
//! Design decisions (Kafka Connect's `DistributedHerder`):
//! - **Reads answer from the cluster's shared state** ([`ClusterView`](super::cluster)):
//!   connectors, configs, target states and task configs from the config topic; statuses from
//!   the local runtime for what runs here and from the status topic for the rest; source
//!   offsets from the offsets topic and sink offsets from the consumer groups, which every
//!   worker can read.
//! - **Writes are the leader's.** [`Herder::route`] sends a follower's write to the leader's
//!   URL from the last assignment (the REST layer relays it, `rest::forward`) and answers 409
//!   while the group rebalances or no leader is known. The leader validates the config with
//!   its local plugins, writes the config topic, and reads the topic back before it answers,
//!   so the answer (and every later read on the leader) shows the write. The workers then
//!   apply it: a new or deleted connector makes the leader rebalance the group; a config or
//!   target-state change is applied in place by the worker running the connector.
//! - **Restarts go to the worker running the connector** (known from the leader's
//!   assignment or the status topic's `worker_id`), as Kafka Connect forwards them.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use super::cluster::{read_config, SharedView};
use super::records::{self, ConfigRecord};
use crate::kafka::topic_log::TopicLog;
use crate::offsets::{ConnectorOffset, OffsetPatch};
use crate::runtime::herder::{
    ConnectorStatus, Herder, HerderError, RestartRequest, Route, State, TargetState, TaskStatus,
};
use crate::runtime::plugin::PluginCatalog;
use crate::runtime::Worker;
use crate::spec::Config;

/// Kafka Connect's 409 (`RebalanceNeededException`) when a write reaches a worker that is no
/// longer the leader with a current assignment (a rebalance started after routing).
pub const STALE_CONFIG: &str = "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)";
/// Kafka Connect's 409 when a worker knows no leader to forward a write to (while it rejoins
/// the group, or before its first assignment).
pub const NO_LEADER: &str = "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";

/// How long the leader waits to read its own config write back.
const READ_BACK: Duration = Duration::from_secs(30);

/// This worker's `host:port` and REST URL, known once the REST listener is bound.
struct Identity {
    worker_id: String,
    url: String,
}

pub struct DistributedHerder {
    local: Arc<Worker>,
    view: SharedView,
    /// The config topic, written by the leader (and read back through it).
    config_log: Mutex<TopicLog>,
    identity: OnceLock<Identity>,
}

impl DistributedHerder {
    pub fn new(local: Arc<Worker>, view: SharedView, config_log: TopicLog) -> Self {
        DistributedHerder {
            local,
            view,
            config_log: Mutex::new(config_log),
            identity: OnceLock::new(),
        }
    }

    /// Sets the advertised `host:port` (once the REST listener is bound).
    pub fn set_identity(&self, worker_id: String) {
        let url = format!("http://{worker_id}/");
        let _ = self.identity.set(Identity { worker_id, url });
    }

    fn url(&self) -> &str {
        self.identity.get().map_or("", |i| i.url.as_str())
    }

    /// Whether the connector itself (not only some of its tasks) runs here.
    fn runs_here(&self, name: &str) -> bool {
        self.view.read().assigned_connectors.contains(name)
            && self.local.connectors().iter().any(|n| n == name)
    }

    /// The ids of the connector's tasks assigned to this worker.
    fn tasks_here(&self, name: &str) -> std::collections::BTreeSet<u32> {
        self.view
            .read()
            .assigned_tasks
            .iter()
            .filter(|(c, _)| c == name)
            .map(|(_, t)| *t)
            .collect()
    }

    fn exists(&self, name: &str) -> bool {
        self.view.read().snapshot.connectors.contains_key(name)
    }

    fn stored_config(&self, name: &str) -> Result<Config, HerderError> {
        self.view
            .read()
            .snapshot
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    /// Writes are taken only by the leader with a current assignment; a worker that lost
    /// either between routing and handling answers Kafka's 409.
    fn ensure_leader(&self) -> Result<(), HerderError> {
        let view = self.view.read();
        if view.is_leader && view.leader_url.is_some() {
            Ok(())
        } else {
            Err(HerderError::Conflict(STALE_CONFIG.into()))
        }
    }

    /// Writes config-topic records, then reads the topic back until `done` holds on the
    /// snapshot (read-your-writes: the REST answer and every later read show the write).
    fn write(
        &self,
        records: &[ConfigRecord],
        done: impl Fn(&super::config_state::ConfigSnapshot) -> bool,
    ) -> Result<(), HerderError> {
        let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = records
            .iter()
            .map(|r| {
                let (k, v) = r.encode();
                (k.into_bytes(), v)
            })
            .collect();
        let log = self.config_log.lock();
        log.send(&encoded)
            .map_err(|e| HerderError::Internal(format!("cannot write the config topic: {e}")))?;
        let started = std::time::Instant::now();
        let never = AtomicBool::new(false);
        loop {
            read_config(&log, &self.view, READ_BACK, &never).map_err(|e| {
                HerderError::Internal(format!("cannot read the config topic back: {e}"))
            })?;
            if done(&self.view.read().snapshot) {
                return Ok(());
            }
            if started.elapsed() > READ_BACK {
                return Err(HerderError::Internal(format!(
                    "the config topic write was acknowledged but not read back within {READ_BACK:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A connector's status from the status topic (it runs on another worker).
    fn remote_status(&self, name: &str, config: &Config) -> Option<ConnectorStatus> {
        let view = self.view.read();
        let record = view.connector_status.get(name)?;
        let state = State::parse(&record.state)?;
        let tasks = view
            .task_status
            .range((name.to_string(), 0)..=(name.to_string(), u32::MAX))
            .filter_map(|((_, id), s)| {
                Some(TaskStatus {
                    id: *id,
                    state: State::parse(&s.state)?,
                    trace: s.trace.clone(),
                    worker_id: Some(s.worker_id.clone()),
                })
            })
            .collect();
        Some(ConnectorStatus {
            name: name.to_string(),
            state,
            trace: record.trace.clone(),
            tasks,
            kind: self.local.plugin_kind(config),
            worker_id: Some(record.worker_id.clone()),
        })
    }
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

fn target_record(name: &str, target: TargetState) -> ConfigRecord {
    ConfigRecord::TargetState {
        connector: name.to_string(),
        state: Some(match target {
            TargetState::Started => records::TargetState::Started,
            TargetState::Paused => records::TargetState::Paused,
            TargetState::Stopped => records::TargetState::Stopped,
        }),
    }
}

fn name_of(config: &Config) -> String {
    crate::config::get(config, "name")
        .unwrap_or_default()
        .to_string()
}

impl Herder for DistributedHerder {
    fn worker_id(&self) -> String {
        self.identity
            .get()
            .map(|i| i.worker_id.clone())
            .unwrap_or_default()
    }

    fn kafka_cluster_id(&self) -> Option<String> {
        self.local.kafka_cluster_id()
    }

    fn connectors(&self) -> Vec<String> {
        self.view
            .read()
            .snapshot
            .connectors
            .keys()
            .cloned()
            .collect()
    }

    /// The connector's state from where it runs, each task's from where it runs: the local
    /// runtime for what runs here, the status topic for the rest (tasks spread over workers
    /// independently of their connector).
    fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        let config = self.view.read().snapshot.connectors.get(name).cloned()?;
        let local = if self.local.connectors().iter().any(|n| n == name) {
            self.local.connector_status(name)
        } else {
            None
        };
        let remote = self.remote_status(name, &config);
        let tasks_here = self.tasks_here(name);
        let mut status = if self.runs_here(name) {
            local.clone().or_else(|| remote.clone())?
        } else if let Some(r) = remote.clone() {
            r
        } else {
            // Only tasks run here and the connector's runner has not written its state yet.
            let mut l = local.clone()?;
            l.state = State::Unassigned;
            l.trace = None;
            l
        };
        let mut tasks: std::collections::BTreeMap<u32, TaskStatus> = remote
            .map(|r| r.tasks)
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !tasks_here.contains(&t.id))
            .map(|t| (t.id, t))
            .collect();
        for t in local.map(|l| l.tasks).unwrap_or_default() {
            if tasks_here.contains(&t.id) {
                tasks.insert(
                    t.id,
                    TaskStatus {
                        worker_id: Some(self.worker_id()),
                        ..t
                    },
                );
            }
        }
        status.tasks = tasks.into_values().collect();
        Some(status)
    }

    fn connector_config(&self, name: &str) -> Option<Config> {
        self.view.read().snapshot.connectors.get(name).cloned()
    }

    fn create_connector(&self, config: Config, initial: TargetState) -> Result<(), HerderError> {
        self.ensure_leader()?;
        let name = name_of(&config);
        self.local.check_config(&config)?;
        if self.exists(&name) {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        // Kafka Connect writes a requested initial state before the config, so no worker
        // ever starts a connector created PAUSED or STOPPED.
        let mut records = Vec::new();
        if initial != TargetState::Started {
            records.push(target_record(&name, initial));
        }
        records.push(ConfigRecord::Connector {
            name: name.clone(),
            config: Some(config.clone()),
        });
        self.write(&records, |s| s.connectors.get(&name) == Some(&config))
    }

    fn put_connector_config(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        self.ensure_leader()?;
        self.local.check_config(&config)?;
        let created = !self.exists(name);
        self.write(
            &[ConfigRecord::Connector {
                name: name.to_string(),
                config: Some(config.clone()),
            }],
            |s| s.connectors.get(name) == Some(&config),
        )?;
        Ok(created)
    }

    fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.ensure_leader()?;
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.write(
            &[
                ConfigRecord::Connector {
                    name: name.to_string(),
                    config: None,
                },
                ConfigRecord::TargetState {
                    connector: name.to_string(),
                    state: None,
                },
            ],
            |s| !s.connectors.contains_key(name),
        )
    }

    fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.ensure_leader()?;
        if !self.exists(name) {
            return Err(not_found(name));
        }
        let wanted = match target_record(name, target) {
            ConfigRecord::TargetState { state, .. } => state,
            _ => None,
        };
        let mut records = Vec::new();
        if target == TargetState::Stopped {
            // As Kafka Connect 3.9 does (tests/fixtures/distributed/configs.jsonl): a stopped
            // connector has no tasks, published with an empty commit before the new state.
            records.push(ConfigRecord::Commit {
                connector: name.to_string(),
                tasks: 0,
            });
        }
        records.push(target_record(name, target));
        self.write(&records, |s| Some(s.target_state(name)) == wanted)
    }

    fn target_state(&self, name: &str) -> Option<TargetState> {
        let view = self.view.read();
        view.snapshot.connectors.contains_key(name).then(|| {
            match view.snapshot.target_state(name) {
                records::TargetState::Started => TargetState::Started,
                records::TargetState::Paused => TargetState::Paused,
                records::TargetState::Stopped => TargetState::Stopped,
            }
        })
    }

    /// With `includeTasks` or `onlyFailed` (KIP-745), the leader writes a
    /// `restart-connector-<name>` record and every worker restarts what of the connector runs
    /// there (see `member`); otherwise only the connector instance restarts, on its worker.
    fn restart_connector(&self, name: &str, request: RestartRequest) -> Result<(), HerderError> {
        if request.include_tasks || request.only_failed {
            self.ensure_leader()?;
            if !self.exists(name) {
                return Err(not_found(name));
            }
            let after = self.view.read().snapshot.offset;
            return self.write(
                &[ConfigRecord::Restart {
                    connector: name.to_string(),
                    include_tasks: request.include_tasks,
                    only_failed: request.only_failed,
                }],
                |s| s.restarts.get(name).is_some_and(|r| r.offset >= after),
            );
        }
        if self.runs_here(name) {
            return self.local.restart_connector(name, request);
        }
        if !self.exists(name) {
            return Err(not_found(name));
        }
        // Routed here although no worker is known to run it (just deleted, or a rebalance).
        Err(HerderError::Conflict(
            crate::runtime::herder::CONFLICTING_OPERATION.into(),
        ))
    }

    fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        if self.tasks_here(name).contains(&task) {
            return self.local.restart_task(name, task);
        }
        if !self.exists(name) {
            return Err(not_found(name));
        }
        Err(HerderError::Conflict(
            crate::runtime::herder::CONFLICTING_OPERATION.into(),
        ))
    }

    fn task_configs(&self, name: &str) -> Option<Vec<Config>> {
        let (committed, target) = {
            let view = self.view.read();
            if !view.snapshot.connectors.contains_key(name) {
                return None;
            }
            (
                view.snapshot.tasks.get(name).cloned(),
                view.snapshot.target_state(name),
            )
        };
        if target == records::TargetState::Stopped {
            return Some(Vec::new());
        }
        committed
            .or_else(|| self.local.task_configs(name))
            .or(Some(Vec::new()))
    }

    fn plugin_catalog(&self) -> Option<Arc<dyn PluginCatalog>> {
        self.local.plugin_catalog()
    }

    fn is_ready(&self) -> bool {
        self.view.read().ready
    }

    /// This worker's own tasks' metrics, as each Kafka Connect worker exports its own MBeans.
    fn metrics(&self) -> Option<Arc<crate::metrics::Metrics>> {
        self.local.metrics()
    }

    fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        let config = self.stored_config(name)?;
        self.local.offsets_with(name, &config)
    }

    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetPatch>) -> Result<String, HerderError> {
        self.ensure_leader()?;
        let config = self.stopped_config(name)?;
        self.local.alter_offsets_with(name, &config, offsets)
    }

    fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        self.ensure_leader()?;
        let config = self.stopped_config(name)?;
        self.local.reset_offsets_with(name, &config)
    }

    /// Active topics from the status topic (KIP-558), plus what the local runtime saw and
    /// has not written yet when the connector runs here. The worker's
    /// `topic.tracking.enable` is checked through the local runtime.
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        let local = self.local.active_topics(name)?;
        let mut topics = self
            .view
            .read()
            .active_topics
            .get(name)
            .cloned()
            .unwrap_or_default();
        // Tasks running here (with or without their connector) saw these.
        if self.local.connectors().iter().any(|n| n == name) {
            topics.extend(local);
        }
        Ok(topics.into_iter().collect())
    }

    /// Any worker may reset (as in Kafka Connect): the local registry now, the status
    /// topic's records through the status publisher (tombstones); the worker running the
    /// connector notices them and resets its own registry.
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.local.reset_active_topics(name)?;
        let mut view = self.view.write();
        let topics = view.active_topics.remove(name).unwrap_or_default();
        view.topic_resets
            .entry(name.to_string())
            .or_default()
            .extend(topics);
        Ok(())
    }

    fn connector_kind(&self, name: &str) -> Option<crate::spec::PluginKind> {
        let config = self.view.read().snapshot.connectors.get(name).cloned()?;
        Some(self.local.plugin_kind(&config))
    }

    fn route(&self, method: &str, path: &str) -> Route {
        let view = self.view.read().clone_routing();
        route(
            &view,
            self.url(),
            &|name, task| match task {
                None => self.runs_here(name),
                Some(task) => self.tasks_here(name).contains(&task),
            },
            method,
            path,
        )
    }
}

/// What routing needs of the [`ClusterView`](super::cluster::ClusterView) (cloned so no lock
/// is held while the local runtime is asked what it runs).
struct RoutingView {
    leader_url: Option<String>,
    is_leader: bool,
    owners: std::collections::BTreeMap<String, String>,
    /// Connector → the `worker_id` its status record names (not UNASSIGNED).
    status_owners: std::collections::BTreeMap<String, String>,
    /// (connector, task) → the `worker_id` its status record names (not UNASSIGNED).
    task_owners: std::collections::BTreeMap<(String, u32), String>,
}

impl super::cluster::ClusterView {
    fn clone_routing(&self) -> RoutingView {
        RoutingView {
            leader_url: self.leader_url.clone(),
            is_leader: self.is_leader,
            owners: self.owners.clone(),
            status_owners: self
                .connector_status
                .iter()
                .filter(|(_, s)| !s.worker_id.is_empty() && s.state != "UNASSIGNED")
                .map(|(n, s)| (n.clone(), s.worker_id.clone()))
                .collect(),
            task_owners: self
                .task_status
                .iter()
                .filter(|(_, s)| !s.worker_id.is_empty() && s.state != "UNASSIGNED")
                .map(|(k, s)| (k.clone(), s.worker_id.clone()))
                .collect(),
        }
    }
}

/// [`Herder::route`] for distributed mode: reads and per-worker endpoints here; writes to the
/// leader (409 while none is known); restarts to the worker running the connector, or the
/// task. `runs_here(connector, None)`: the connector runs here; `(connector, Some(n))`: its
/// task `n` does.
fn route(
    view: &RoutingView,
    self_url: &str,
    runs_here: &dyn Fn(&str, Option<u32>) -> bool,
    method: &str,
    path: &str,
) -> Route {
    if method == "GET" {
        return Route::Here;
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // Plugin validation, loggers, `GET /`: every worker answers for itself. Active-topic
    // resets act on the worker that tracks them.
    if segments.first() != Some(&"connectors") || segments.get(2) == Some(&"topics") {
        return Route::Here;
    }
    // Kafka Connect clears the leader's URL with the assignment while it rejoins.
    let Some(leader_url) = view.leader_url.clone() else {
        return Route::Conflict(NO_LEADER.into());
    };
    // A connector restart with `includeTasks` or `onlyFailed` is a config-topic write
    // (KIP-745): the leader's.
    let kip_745 = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| (k == "includeTasks" || k == "onlyFailed") && v.eq_ignore_ascii_case("true"));
    if segments.last() == Some(&"restart")
        && segments.len() >= 3
        && !(segments.len() == 3 && kip_745)
    {
        let name = segments[1];
        // `/connectors/{name}/tasks/{n}/restart` goes to the task's worker.
        let task = (segments.len() == 5 && segments[2] == "tasks")
            .then(|| segments[3].parse::<u32>().ok())
            .flatten();
        if runs_here(name, task) {
            return Route::Here;
        }
        let owner = match task {
            Some(t) => view
                .task_owners
                .get(&(name.to_string(), t))
                .map(|id| format!("http://{id}/")),
            None => view.owners.get(name).cloned().or_else(|| {
                view.status_owners
                    .get(name)
                    .map(|id| format!("http://{id}/"))
            }),
        };
        if let Some(owner) = owner.filter(|u| u != self_url) {
            return Route::Forward(owner);
        }
    }
    if view.is_leader {
        Route::Here
    } else {
        Route::Forward(leader_url)
    }
}

impl DistributedHerder {
    /// Kafka's precondition for altering or resetting offsets, on the cluster's target state.
    fn stopped_config(&self, name: &str) -> Result<Config, HerderError> {
        let config = self.stored_config(name)?;
        if self.view.read().snapshot.target_state(name) != records::TargetState::Stopped {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. \
                 This can be done for the specified connector by issuing a 'PUT' request to the \
                 '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(leader: Option<&str>, is_leader: bool) -> RoutingView {
        RoutingView {
            leader_url: leader.map(str::to_string),
            is_leader,
            owners: [("a".to_string(), "http://w2/".to_string())].into(),
            status_owners: [("b".to_string(), "w3:8083".to_string())].into(),
            task_owners: [(("a".to_string(), 1), "w4:8083".to_string())].into(),
        }
    }

    #[test]
    fn writes_go_to_the_leader_restarts_to_the_runner_reads_stay() {
        let here = |n: &str, task: Option<u32>| n == "mine" || task == Some(7);
        let follower = view(Some("http://w1/"), false);
        let r = |v: &RoutingView, m: &str, p: &str| route(v, "http://w9/", &here, m, p);
        assert_eq!(r(&follower, "GET", "/connectors/a/status"), Route::Here);
        assert_eq!(
            r(&follower, "POST", "/connectors"),
            Route::Forward("http://w1/".into())
        );
        assert_eq!(
            r(&follower, "PUT", "/connectors/a/pause"),
            Route::Forward("http://w1/".into())
        );
        assert_eq!(
            r(&follower, "DELETE", "/connectors/a/offsets"),
            Route::Forward("http://w1/".into())
        );
        // Per-worker endpoints.
        assert_eq!(
            r(&follower, "PUT", "/connector-plugins/X/config/validate"),
            Route::Here
        );
        assert_eq!(r(&follower, "PUT", "/admin/loggers/root"), Route::Here);
        assert_eq!(
            r(&follower, "PUT", "/connectors/a/topics/reset"),
            Route::Here
        );
        // Restarts: here when it runs here, else its runner (assignment, then status topic),
        // else the leader.
        assert_eq!(
            r(&follower, "POST", "/connectors/mine/restart"),
            Route::Here
        );
        assert_eq!(
            r(&follower, "POST", "/connectors/a/restart"),
            Route::Forward("http://w2/".into())
        );
        // A task restart goes to the task's worker (tasks run apart from their connector):
        // here for task 7, w4 for a-1, else the leader.
        assert_eq!(
            r(&follower, "POST", "/connectors/a/tasks/1/restart"),
            Route::Forward("http://w4:8083/".into())
        );
        assert_eq!(
            r(&follower, "POST", "/connectors/a/tasks/7/restart"),
            Route::Here
        );
        assert_eq!(
            r(&follower, "POST", "/connectors/b/tasks/0/restart"),
            Route::Forward("http://w1/".into())
        );
        assert_eq!(
            r(&follower, "POST", "/connectors/c/restart"),
            Route::Forward("http://w1/".into())
        );
        // KIP-745 restarts are config-topic writes: the leader's, wherever the connector runs.
        assert_eq!(
            r(
                &follower,
                "POST",
                "/connectors/mine/restart?includeTasks=true"
            ),
            Route::Forward("http://w1/".into())
        );
        assert_eq!(
            r(
                &follower,
                "POST",
                "/connectors/a/restart?onlyFailed=TRUE&forward=true"
            ),
            Route::Forward("http://w1/".into())
        );
        assert_eq!(
            r(
                &follower,
                "POST",
                "/connectors/a/restart?includeTasks=false"
            ),
            Route::Forward("http://w2/".into())
        );
        // The leader takes writes itself; nobody takes them while no leader is known.
        let leader = view(Some("http://w9/"), true);
        assert_eq!(r(&leader, "POST", "/connectors"), Route::Here);
        assert_eq!(r(&leader, "POST", "/connectors/c/restart"), Route::Here);
        let rejoining = view(None, false);
        assert_eq!(
            r(&rejoining, "PUT", "/connectors/a/config"),
            Route::Conflict(NO_LEADER.into())
        );
        assert_eq!(r(&rejoining, "GET", "/connectors"), Route::Here);
    }
}
