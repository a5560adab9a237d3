//! A connector config compiled by [`compile`](super::compile): the typed settings the worker
//! runs, and the checks that only make sense once tasks exist (`tasks.max.enforce`).
//!
//! Design decision: the plan is generic over the catalog's plugin handle, so `config` keeps
//! the plugins it checked against without depending on the runtime that opens them.

use super::restart::plugin_view;
use super::{ChainSpec, Config, ConverterConfig, ErrorSettings, RestartPolicy, WorkerConfig};
use crate::spec::{PluginHandle, PluginKind};

/// A connector config compiled against the catalog: every setting the worker needs, typed.
/// `P` is the catalog's plugin handle; the plan keeps the plugins (connector, transforms,
/// predicates) it was checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorPlan<P> {
    pub name: String,
    /// `connector.class` as written (trimmed).
    pub class: String,
    pub plugin: P,
    pub tasks_max: u32,
    /// `tasks.max.enforce` (Kafka's default `true`): see [`ConnectorPlan::check_task_count`].
    pub enforce_tasks_max: bool,
    /// Per-connector converter overrides (`None`: the worker's).
    pub key_converter: Option<ConverterConfig>,
    pub value_converter: Option<ConverterConfig>,
    pub header_converter: Option<ConverterConfig>,
    /// Sinks: `topics` (empty when `topics.regex` is used).
    pub topics: Vec<String>,
    /// Sinks: `topics.regex`.
    pub topics_regex: Option<String>,
    pub chain: ChainSpec<P>,
    pub errors: ErrorSettings,
    /// `None`: failed tasks are not restarted automatically.
    pub restart: Option<RestartPolicy>,
    /// The whole config as given (including `name` and `connector.class`).
    pub raw: Config,
}

/// Kafka's `TooManyTasksException`: the plugin generated more task configs than `tasks.max`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The connector {connector} has generated {generated} tasks, which is greater than \
     {tasks_max}, the maximum number of tasks it is configured to create. This behaviour should \
     be considered a bug and is disallowed. If necessary, it can be permitted by reconfiguring \
     the connector with 'tasks.max.enforce' set to false; however, this option will be removed \
     in a future release of Kafka Connect."
)]
pub struct TooManyTasks {
    pub connector: String,
    pub generated: usize,
    pub tasks_max: u32,
}

impl<P: PluginHandle> ConnectorPlan<P> {
    pub fn kind(&self) -> PluginKind {
        self.plugin.spec().kind
    }

    /// The config the connector plugin sees: without the host's reserved `restart.*` keys.
    pub fn plugin_config(&self) -> Config {
        plugin_view(&self.raw)
    }
}

/// The converters a connector runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterConfigs {
    pub key: ConverterConfig,
    pub value: ConverterConfig,
    pub header: ConverterConfig,
}

impl<P> ConnectorPlan<P> {
    /// The connector's converter overrides, else the worker's converters.
    pub fn converters(&self, worker: &WorkerConfig) -> ConverterConfigs {
        let pick = |own: &Option<ConverterConfig>, default: &ConverterConfig| {
            own.as_ref().unwrap_or(default).clone()
        };
        ConverterConfigs {
            key: pick(&self.key_converter, &worker.key_converter),
            value: pick(&self.value_converter, &worker.value_converter),
            header: pick(&self.header_converter, &worker.header_converter),
        }
    }

    /// Kafka's `tasks.max.enforce`: more task configs than `tasks.max` fail the connector,
    /// unless the key is `false` (deprecated in Kafka, honoured for configs written for it),
    /// which runs them all with a warning.
    pub fn check_task_count(&self, generated: usize) -> Result<(), TooManyTasks> {
        if generated <= self.tasks_max as usize {
            return Ok(());
        }
        if self.enforce_tasks_max {
            return Err(TooManyTasks {
                connector: self.name.clone(),
                generated,
                tasks_max: self.tasks_max,
            });
        }
        tracing::warn!(
            connector = %self.name,
            generated,
            tasks_max = self.tasks_max,
            "the connector generated more tasks than tasks.max; running them all because \
             tasks.max.enforce=false"
        );
        Ok(())
    }
}
