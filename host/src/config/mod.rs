//! Worker and connector configuration: parsed from `.properties` / JSON, then checked in one
//! pass that reports every problem at once (naming the key, the value and what is accepted).

use std::path::PathBuf;
use std::time::Duration;

pub use crate::runtime::plugin::Config;

/// A converter class and the properties under its prefix (e.g. `value.converter.schemas.enable`
/// becomes `schemas.enable`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterConfig {
    pub class: String,
    pub props: Config,
}

/// A standalone worker's configuration.
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
    /// Every key as given, for pass-through prefixes (`producer.*`, `consumer.*`, `admin.*`)
    /// and settings without a dedicated field.
    pub raw: Config,
}

/// A connector's configuration, after the common keys were checked.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub name: String,
    pub class: String,
    pub tasks_max: u32,
    /// Per-connector converter overrides.
    pub key_converter: Option<ConverterConfig>,
    pub value_converter: Option<ConverterConfig>,
    pub header_converter: Option<ConverterConfig>,
    /// Sinks: `topics` (empty when `topics.regex` is used).
    pub topics: Vec<String>,
    /// Sinks: `topics.regex`.
    pub topics_regex: Option<String>,
    /// The whole config as given (including `name` and `connector.class`).
    pub raw: Config,
}

/// Looks up a key in a config.
pub fn get<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
