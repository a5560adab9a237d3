//! Observed connector and task states, in Kafka Connect's vocabulary.

use super::plugin::{Config, PluginKind};

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub id: u32,
    pub state: State,
    /// Why it FAILED (error chain, plugin trap message).
    pub trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    pub name: String,
    pub state: State,
    pub trace: Option<String>,
    pub tasks: Vec<TaskStatus>,
    /// Source or Sink.
    pub kind: PluginKind,
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
}
