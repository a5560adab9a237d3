//! Worker and connector configuration: parsed from `.properties` / JSON, then compiled in one
//! pass that reports every problem at once (naming the key, the value and what is accepted).
//!
//! Layout: `files` reads the two file formats into a raw [`Config`] (string pairs, as Kafka
//! Connect sees them), `worker` turns a worker file into a [`WorkerConfig`], `connector`
//! compiles a connector config against the plugin catalog into a [`ConnectorPlan`] from its
//! parts (`chain` for `transforms`/`predicates`, `error_handling` for `errors.*`, `restart`
//! for `restart.*`, `framework` for the keys Kafka defines for every connector), and `types`
//! holds Kafka's `ConfigDef` value parsing so all give the same messages as Kafka Connect.
//!
//! The design decision to know: configs stay raw strings until compiled, and are compiled
//! only here. Nothing is coerced while reading, so `GET /connectors/{name}/config` can show
//! exactly what was submitted and every check reports on the text the user wrote; the worker
//! runs the typed plan, never the strings.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::spec::Config;

/// A converter class and the properties under its prefix (e.g. `value.converter.schemas.enable`
/// becomes `schemas.enable`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterConfig {
    pub class: String,
    pub props: Config,
}

/// A worker's configuration: the keys both modes share (a distributed worker's extra keys are
/// in [`DistributedConfig`]).
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `None`: start the embedded development broker.
    pub bootstrap_servers: Option<String>,
    pub key_converter: ConverterConfig,
    pub value_converter: ConverterConfig,
    pub header_converter: ConverterConfig,
    pub offset_storage_file: PathBuf,
    pub offset_flush_interval: Duration,
    pub plugin_path: Vec<PathBuf>,
    /// `listeners`, e.g. `http://0.0.0.0:8083`.
    pub listeners: Vec<String>,
    pub task_shutdown_graceful_timeout: Duration,
    /// `metrics.enable` (Sluice's; default true): whether tasks count their metrics and
    /// `GET /metrics` answers. Off only to measure what counting costs (docs/benchmarks.md).
    pub metrics_enabled: bool,
    /// Every key as given, for pass-through prefixes (`producer.*`, `consumer.*`, `admin.*`)
    /// and settings without a dedicated field.
    pub raw: Config,
}

/// Looks up a key in a config.
pub fn get<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

mod chain;
mod connector;
mod distributed;
mod error_handling;
mod files;
mod framework;
mod listener;
pub mod password_file;
mod plan;
pub mod providers;
pub mod rest_security;
pub mod restart;
pub mod secrets;
#[cfg(test)]
pub(crate) mod test_plugins;
pub mod tls;
mod types;
mod worker;

pub use chain::{ChainSpec, PredicateSpec, StepSpec};
pub use connector::{compile, describe_problems};
pub use distributed::{
    distributed_from_config, load_distributed, ConnectProtocol, DistributedConfig, InternalTopic,
};
pub use error_handling::{ErrorSettings, Tolerance};
pub use files::{load_connector, parse_connector, read_properties};
pub use framework::{alias_groups, framework_def, framework_defs, AliasGroup, FrameworkDef};
pub use listener::{parse_listener, ListenerAddr, ListenerError};
pub use plan::{ConnectorPlan, ConverterConfigs, TooManyTasks};
pub use restart::{plugin_view, RestartPolicy};
use types::bool_key;
pub use types::{check_type, invalid_value, parse_int, parse_long, InvalidValue};
pub use worker::{load_worker, worker_from_config};

/// Kafka's default key and value converter class.
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
/// Kafka's default header converter class.
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Why a worker or connector config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax error; `line` (and `column` for JSON) are 1-based.
    #[error("{path}:{line}{}: {message}", column.map(|c| format!(":{c}")).unwrap_or_default())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: Option<usize>,
        message: String,
    },
    /// The file parsed, but keys have values that are not accepted (every problem, in order).
    #[error("{path}: invalid configuration:\n  {}", problems.join("\n  "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// The converter configured under `key` (`key.converter`, `value.converter`, `header.converter`)
/// with its `<key>.<prop>` properties, the prefix removed. `None` when `key` is not set.
pub fn converter_config(config: &Config, key: &str) -> Option<ConverterConfig> {
    let class = get(config, key)?.trim().to_string();
    Some(ConverterConfig {
        class,
        props: with_prefix(config, &format!("{key}.")),
    })
}

/// The keys that start with `prefix`, with the prefix removed (Kafka's `originalsWithPrefix`).
pub fn with_prefix(config: &Config, prefix: &str) -> Config {
    let mut props: Config = Vec::new();
    for (k, v) in config {
        if let Some(prop) = k.strip_prefix(prefix) {
            set(&mut props, prop, v);
        }
    }
    props
}

/// Sets `key` to `value`, replacing an earlier value in place (Java `Properties` semantics: the
/// last occurrence wins, the first position is kept).
pub fn set(config: &mut Config, key: &str, value: &str) {
    match config.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => config.push((key.to_string(), value.to_string())),
    }
}
