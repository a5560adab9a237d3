//! What the runtime knows about a plugin, independent of how it is implemented.
//!
//! `wasm/` implements [`PluginCatalog`] over components in `plugin.path`; tests can implement
//! it with native doubles, so the runtime never depends on WebAssembly directly.

use std::sync::Arc;

use super::task::{Predicate, SinkTask, SourceTask, TaskError, Transform};
use crate::data::SourcePosition;

/// A connector or transform config: Kafka Connect's string keys and values, in order.
pub type Config = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    Source,
    Sink,
    Transform,
    Predicate,
}

impl PluginKind {
    /// The `type` Kafka Connect's REST API shows (`/connector-plugins`).
    pub fn rest_name(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Sink => "sink",
            PluginKind::Transform => "transformation",
            PluginKind::Predicate => "predicate",
        }
    }
}

/// Kafka's `ConfigDef.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    pub fn rest_name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDef {
    pub name: String,
    pub ty: ConfigType,
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub recommended_values: Vec<String>,
    /// The value is a path the plugin is granted (see the WIT `file-access`).
    pub file_access: Option<FileAccess>,
}

/// Filesystem access granted through a path-valued config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAccess {
    ReadFile,
    WriteFile,
    ReadDir,
    WriteDir,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    /// Primary name (`connector.class` value).
    pub name: String,
    pub aliases: Vec<String>,
    pub version: String,
    pub kind: PluginKind,
    pub description: String,
    pub config: Vec<ConfigDef>,
}

impl PluginSpec {
    /// Whether `class` names this plugin: its name, an alias, or (as Kafka Connect accepts)
    /// the simple class name or the simple name without its `Connector` suffix.
    pub fn answers_to(&self, class: &str) -> bool {
        std::iter::once(&self.name).chain(&self.aliases).any(|n| {
            if n == class {
                return true;
            }
            let simple = n.rsplit('.').next().unwrap_or(n);
            simple == class || simple.strip_suffix("Connector") == Some(class)
        })
    }
}

/// One problem with one config key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

/// Identifies the task a plugin instance runs for (used to tag its logs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskId {
    pub connector: String,
    pub task: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// A loaded plugin: it describes itself and creates task instances.
pub trait Plugin: Send + Sync {
    fn spec(&self) -> &PluginSpec;
    /// Plugin-specific validation (the host checks required keys and types first).
    fn validate(&self, config: &Config) -> Result<Vec<ConfigProblem>, TaskError>;
    /// Splits a connector config into at most `max_tasks` task configs (sources and sinks).
    fn task_configs(&self, config: &Config, max_tasks: u32) -> Result<Vec<Config>, TaskError>;
    fn open_source(
        &self,
        id: &TaskId,
        config: &Config,
        committed: Vec<SourcePosition>,
    ) -> Result<Box<dyn SourceTask>, TaskError>;
    fn open_sink(&self, id: &TaskId, config: &Config) -> Result<Box<dyn SinkTask>, TaskError>;
    /// Opens one transform instance. `class` is the configured `transforms.<alias>.type`
    /// (the name or alias the user wrote), so one plugin can serve `…$Key` and `…$Value`.
    fn open_transform(
        &self,
        id: &TaskId,
        class: &str,
        config: &Config,
    ) -> Result<Box<dyn Transform>, TaskError>;
    /// Opens one predicate instance; `class` is the configured `predicates.<alias>.type`.
    fn open_predicate(
        &self,
        id: &TaskId,
        class: &str,
        config: &Config,
    ) -> Result<Box<dyn Predicate>, TaskError>;
}

/// Why a plugin file could not be loaded (reported, never fatal to the worker).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedPlugin {
    pub path: std::path::PathBuf,
    pub reason: String,
}

/// The set of plugins a worker can use.
pub trait PluginCatalog: Send + Sync {
    /// Finds a plugin by `connector.class` / `type` value (name or alias).
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>>;
    fn plugins(&self) -> Vec<Arc<dyn Plugin>>;
    /// Looks again for plugins added, replaced or removed since the last look (hot reload),
    /// e.g. before reporting a class as unknown. Blocking (reads and may compile files):
    /// never call it on an async thread. Default: the set of plugins is fixed.
    fn rescan(&self) {}
}
