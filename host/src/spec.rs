//! The plugin contract every layer shares: a config (string pairs), a plugin's description
//! ([`PluginSpec`] with its [`ConfigDef`]s) and the problems a check reports. It depends on no
//! other module of the crate.
//!
//! Design decision: config compilation needs only two things of a plugin, what it declares and
//! its own validation ([`PluginHandle`]), and of the catalog only lookups ([`PluginLookup`]).
//! The runtime's plugin and catalog traits implement them, so `config` resolves class names
//! and keeps the plugin it checked against without depending on the runtime that opens tasks.

/// A connector or transform config: Kafka Connect's string keys and values, in order.
pub type Config = Vec<(String, String)>;

/// What a plugin is: a connector (source or sink) or an SMT building block.
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

/// Kafka's `ConfigDef.Importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

/// One config key a plugin declares (Kafka's `ConfigDef.ConfigKey`).
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

/// What a plugin says about itself: names, kind and config keys.
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

/// A loaded plugin as config compilation sees it. A compiled plan keeps the handle, so tasks
/// open exactly the plugin their config was checked against.
pub trait PluginHandle: Clone + Send + Sync {
    /// Why the plugin's own validation could not run (shown in a problem).
    type Error: std::fmt::Display;
    fn spec(&self) -> &PluginSpec;
    /// Plugin-specific validation (the host checks required keys and types first).
    fn validate(&self, config: &Config) -> Result<Vec<ConfigProblem>, Self::Error>;
}

/// The plugins a config is compiled against.
pub trait PluginLookup {
    type Plugin: PluginHandle;
    /// The plugin a `connector.class` / `type` value names (name or alias).
    fn lookup(&self, class: &str) -> Option<Self::Plugin>;
    fn all(&self) -> Vec<Self::Plugin>;
}
