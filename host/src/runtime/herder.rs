//! The [`Herder`]: what the REST layer asks of the worker, and the vocabulary both speak
//! (observed [`State`]s, operator [`TargetState`]s, restart requests, [`HerderError`]s).
//!
//! Design decision: the trait's write side has default bodies answering "not supported", so a
//! read-only herder (a test double) implements only the reads, and the REST layer never
//! depends on the worker itself.

use crate::offsets::{
    ConnectorOffset, GroupOffsetsError, InvalidOffsets, OffsetError, OffsetPatch,
};
use crate::spec::{Config, PluginKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }

    /// Kafka's spelling (as [`State::as_str`] writes it); `None` for anything else
    /// (`DESTROYED`, which the status topic writes as a tombstone, or a newer state).
    pub fn parse(text: &str) -> Option<State> {
        Some(match text {
            "UNASSIGNED" => State::Unassigned,
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "STOPPED" => State::Stopped,
            "FAILED" => State::Failed,
            "RESTARTING" => State::Restarting,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub id: u32,
    pub state: State,
    /// Why it FAILED (error chain, plugin trap message).
    pub trace: Option<String>,
    /// The worker running it (`host:port`) when that is another worker of a distributed
    /// cluster (read from the status topic); `None`: this worker.
    pub worker_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    pub name: String,
    pub state: State,
    pub trace: Option<String>,
    pub tasks: Vec<TaskStatus>,
    /// Source or Sink.
    pub kind: PluginKind,
    /// As [`TaskStatus::worker_id`]: `None` is this worker.
    pub worker_id: Option<String>,
}

/// What the REST layer asks of the worker. Implemented by the runtime's worker.
pub trait Herder: Send + Sync {
    /// `host:port` this worker advertises (REST `worker_id`).
    fn worker_id(&self) -> String;
    /// The Kafka cluster id (REST `GET /`).
    fn kafka_cluster_id(&self) -> Option<String>;
    /// Connector names, sorted.
    fn connectors(&self) -> Vec<String>;
    fn connector_status(&self, name: &str) -> Option<ConnectorStatus>;
    /// The config as submitted (placeholders unresolved).
    fn connector_config(&self, name: &str) -> Option<Config>;

    // The write side (`POST /connectors`, pause/resume/stop, restart, …). Default bodies
    // answer "not supported", so read-only herders (test doubles) need not implement them.
    // Every one of these may block (stops and starts task threads, calls plugins, writes
    // files): callers on an async runtime use `spawn_blocking`.

    /// Creates a connector (`config` includes `name`). Errors: AlreadyExists, BadRequest.
    fn create_connector(&self, config: Config, initial: TargetState) -> Result<(), HerderError> {
        let _ = (config, initial);
        Err(unsupported())
    }
    /// Creates or replaces a connector's config; `Ok(true)` when it was created.
    fn put_connector_config(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        let _ = (name, config);
        Err(unsupported())
    }
    fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let _ = name;
        Err(unsupported())
    }
    /// Pause, resume (`Started`) or stop.
    fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let _ = (name, target);
        Err(unsupported())
    }
    fn target_state(&self, name: &str) -> Option<TargetState> {
        let _ = name;
        None
    }
    /// Restarts what `request` selects; runs synchronously (the REST layer decides whether to
    /// wait for it).
    fn restart_connector(&self, name: &str, request: RestartRequest) -> Result<(), HerderError> {
        let _ = (name, request);
        Err(unsupported())
    }
    fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let _ = (name, task);
        Err(unsupported())
    }
    /// The task configs the connector generated, in task id order; `None`: no such connector.
    fn task_configs(&self, name: &str) -> Option<Vec<Config>> {
        let _ = name;
        None
    }
    /// The plugins connectors can use (for `/connector-plugins`).
    fn plugin_catalog(&self) -> Option<std::sync::Arc<dyn super::plugin::PluginCatalog>> {
        None
    }

    // Readiness, offsets (KIP-875) and active topics (KIP-558); defaults for test doubles.

    /// The worker's metrics (`GET /metrics`); `None`: only the states are reported.
    fn metrics(&self) -> Option<std::sync::Arc<crate::metrics::Metrics>> {
        None
    }
    /// False while the worker is still starting its configured connectors (`GET /health`).
    fn is_ready(&self) -> bool {
        true
    }
    /// The connector's committed offsets (source: the offset store; sink: its consumer group).
    fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        let _ = name;
        Err(unsupported())
    }
    /// Alters offsets of a STOPPED connector: (partition, offset) pairs as the request gave
    /// them (`None`: JSON null or missing; a `None` offset removes that partition's offset).
    /// Returns Kafka's success message.
    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetPatch>) -> Result<String, HerderError> {
        let _ = (name, offsets);
        Err(unsupported())
    }
    /// Removes every offset of a STOPPED connector; returns Kafka's success message.
    fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let _ = name;
        Err(unsupported())
    }
    /// Topics the connector's records were produced to (source) or consumed from (sink).
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        let _ = name;
        Err(unsupported())
    }
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        let _ = name;
        Err(unsupported())
    }

    /// The plugin kind of connector `name`'s class when no status says it yet (distributed
    /// mode: a connector just written to the config topic); `None` falls back to "unknown".
    fn connector_kind(&self, name: &str) -> Option<PluginKind> {
        let _ = name;
        None
    }

    /// Where a request must be handled (distributed mode: a follower forwards writes to the
    /// leader, as Kafka Connect does). `path` is the request's path, with `?query` when the
    /// request has one. Standalone: always here.
    fn route(&self, method: &str, path: &str) -> Route {
        let _ = (method, path);
        Route::Here
    }
}

/// Where [`Herder::route`] sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Handled by this worker.
    Here,
    /// Forwarded to the worker at this base URL (`http://host:port/`), its answer relayed.
    Forward(String),
    /// Answered 409 with this message (a rebalance is under way, no leader is known).
    Conflict(String),
    /// Answered 503 with this message (the worker is still starting: no cluster state yet).
    Unavailable(String),
}

/// What an operator asked a connector to do (Kafka's target state, stored apart from the
/// observed [`State`]). REST's `initial_state=RUNNING` is [`TargetState::Started`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetState {
    #[default]
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// Kafka's config-topic spelling (`STARTED`, `PAUSED`, `STOPPED`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// Parses Kafka's stored spelling, or REST's `initial_state` (`RUNNING`), ignoring case.
    pub fn parse(text: &str) -> Option<TargetState> {
        match text.trim().to_ascii_uppercase().as_str() {
            "STARTED" | "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// Why a write through the [`Herder`] was refused; the REST layer maps each to Kafka's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HerderError {
    /// 404 (e.g. "Connector x not found").
    #[error("{0}")]
    NotFound(String),
    /// 409 ("Connector x already exists").
    #[error("{0}")]
    AlreadyExists(String),
    /// 400: invalid config (Kafka's "Connector configuration is invalid…" text) or request.
    #[error("{0}")]
    BadRequest(String),
    /// 403 (e.g. "Topic tracking is disabled.").
    #[error("{0}")]
    Forbidden(String),
    /// 500: the worker could not do it (e.g. the config file could not be written).
    #[error("{0}")]
    Internal(String),
    /// 405/501-like: this herder does not implement the operation.
    #[error("{0}")]
    Unsupported(String),
    /// 409: the cluster cannot take the write now (a rebalance, this worker is no longer the
    /// leader); Kafka Connect's message.
    #[error("{0}")]
    Conflict(String),
    /// 503: the worker cannot answer yet (a distributed worker still waiting for its Kafka
    /// cluster); the message says what it waits for.
    #[error("{0}")]
    Unavailable(String),
}

/// A sink offsets payload Kafka would refuse: a bad request, with Kafka's message.
impl From<InvalidOffsets> for HerderError {
    fn from(e: InvalidOffsets) -> Self {
        HerderError::BadRequest(e.to_string())
    }
}

/// The offset store could not be written: the worker's failure, not the request's.
impl From<OffsetError> for HerderError {
    fn from(e: OffsetError) -> Self {
        HerderError::Internal(e.to_string())
    }
}

/// A sink's consumer group could not be read or changed: the worker's failure.
impl From<GroupOffsetsError> for HerderError {
    fn from(e: GroupOffsetsError) -> Self {
        HerderError::Internal(e.to_string())
    }
}

/// Which instances `POST /connectors/{name}/restart` restarts (KIP-745).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartRequest {
    pub include_tasks: bool,
    pub only_failed: bool,
}

fn unsupported() -> HerderError {
    HerderError::Unsupported("this worker does not support changing connectors".into())
}

/// Kafka Connect's 409 when a request forwarded twice still found no worker to take it. Here,
/// below both `rest` (which forwards) and `distributed` (whose herder refuses), so neither
/// imports the other.
pub const CONFLICTING_OPERATION: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";
