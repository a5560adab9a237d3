//! What the runtime knows about a plugin, independent of how it is implemented.
//!
//! `wasm/` implements [`PluginCatalog`] over components in `plugin.path`; tests can implement
//! it with native doubles, so the runtime never depends on WebAssembly directly. Config
//! compilation sees them through `spec`'s [`PluginHandle`] and [`PluginLookup`].

use std::sync::Arc;

use super::retry::RetryPolicy;
use super::task::{Predicate, SinkTask, SourceTask, TaskError, Transform};
use super::transforms::{ChainError, ChainSegment, JoinStep};
use crate::data::SourcePosition;
use crate::spec::{Config, ConfigProblem, PluginHandle, PluginLookup, PluginSpec};

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

/// One capability a plugin's sandbox can be granted (what `sluice plugins inspect` lists):
/// `filesystem`, `sockets`, `http`, `clocks`, …, and the connector config keys that grant it
/// (empty: always available, e.g. clocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCapability {
    pub name: String,
    pub granted_by: Vec<String>,
}

/// A loaded plugin: it describes itself and creates task instances.
pub trait Plugin: Send + Sync {
    fn spec(&self) -> &PluginSpec;
    /// What its sandbox can be granted, from what it imports (none for native plugins).
    fn capabilities(&self) -> Vec<PluginCapability> {
        Vec::new()
    }
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
    /// Joins consecutive steps of a transform chain (opened, without predicates, the first
    /// one this plugin's) into one segment, when this plugin's implementation applies them
    /// together more cheaply than the chain would one by one. Takes the steps it joins from
    /// the front of `steps` and returns their segment, or takes none and returns `None`
    /// (the default).
    fn join_transforms(
        &self,
        steps: &mut Vec<JoinStep>,
        retry: &RetryPolicy,
    ) -> Result<Option<Box<dyn ChainSegment>>, ChainError> {
        let _ = (steps, retry);
        Ok(None)
    }
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

impl PluginHandle for Arc<dyn Plugin> {
    type Error = TaskError;
    fn spec(&self) -> &PluginSpec {
        Plugin::spec(self.as_ref())
    }
    fn validate(&self, config: &Config) -> Result<Vec<ConfigProblem>, TaskError> {
        Plugin::validate(self.as_ref(), config)
    }
}

impl<C: PluginCatalog + ?Sized> PluginLookup for C {
    type Plugin = Arc<dyn Plugin>;
    fn lookup(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.find(class)
    }
    fn all(&self) -> Vec<Arc<dyn Plugin>> {
        self.plugins()
    }
}
