//! Plugin description ([`PluginSpec`], [`ConfigDef`]) and typed access to a connector's
//! configuration ([`Config`]).
//!
//! A [`Config`] knows the plugin's [`ConfigDef`]s, so a getter falls back to the declared
//! default and a failed parse names the key, the value and what would be accepted — but
//! never echoes the value of a secret (`password`-typed or `.secret()`) key.

use std::fmt;
use std::sync::Arc;

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

/// Kafka's `ConfigDef.Importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

/// Filesystem access a key grants when it names a path. Without one, the plugin sees no
/// files at all; with one, the host preopens the file's directory (or the directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAccess {
    /// The value is a file: its directory is readable.
    ReadFile,
    /// The value is a file: its directory is writable.
    WriteFile,
    /// The value is a directory: readable.
    ReadDir,
    /// The value is a directory: writable.
    WriteDir,
}

/// One configuration key a plugin accepts (Kafka's `ConfigDef.define(...)`).
///
/// Keys are optional with no default unless [`required`](ConfigDef::required) or
/// [`default`](ConfigDef::default) say otherwise.
///
/// ```
/// use sluice_plugin_sdk::{ConfigDef, FileAccess, Importance};
///
/// let file = ConfigDef::string("file")
///     .required()
///     .importance(Importance::High)
///     .doc("Source filename.")
///     .file_access(FileAccess::ReadFile);
/// let batch = ConfigDef::int("batch.size").default(2000).doc("Max records per poll.");
/// assert!(file.required);
/// assert_eq!(batch.default_value.as_deref(), Some("2000"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDef {
    pub name: String,
    pub ty: ConfigType,
    /// Default as the string a user would write.
    pub default_value: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub recommended_values: Vec<String>,
    pub file_access: Option<FileAccess>,
}

impl ConfigDef {
    /// An optional key of type `ty` with no default, medium importance.
    pub fn new(name: impl Into<String>, ty: ConfigType) -> ConfigDef {
        ConfigDef {
            name: name.into(),
            ty,
            default_value: None,
            required: false,
            secret: ty == ConfigType::Password,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            recommended_values: Vec::new(),
            file_access: None,
        }
    }
    pub fn string(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::String)
    }
    pub fn int(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Int)
    }
    pub fn short(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Short)
    }
    pub fn long(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Long)
    }
    pub fn double(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Double)
    }
    pub fn boolean(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Boolean)
    }
    /// A comma-separated list.
    pub fn list(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::List)
    }
    pub fn class(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Class)
    }
    /// A secret: never logged, shown as `[hidden]` by the REST API.
    pub fn password(name: impl Into<String>) -> ConfigDef {
        ConfigDef::new(name, ConfigType::Password)
    }
    /// The key must be given (and has no default).
    pub fn required(mut self) -> ConfigDef {
        self.required = true;
        self.default_value = None;
        self
    }
    /// The default, as a user would write it (`2000`, `true`, `a,b`).
    pub fn default(mut self, value: impl ToString) -> ConfigDef {
        self.default_value = Some(value.to_string());
        self.required = false;
        self
    }
    pub fn doc(mut self, documentation: impl Into<String>) -> ConfigDef {
        self.documentation = documentation.into();
        self
    }
    pub fn importance(mut self, importance: Importance) -> ConfigDef {
        self.importance = importance;
        self
    }
    pub fn secret(mut self) -> ConfigDef {
        self.secret = true;
        self
    }
    pub fn group(mut self, group: impl Into<String>) -> ConfigDef {
        self.group = Some(group.into());
        self
    }
    /// The closed set of accepted values (shown as `recommended_values`).
    pub fn recommended<I, S>(mut self, values: I) -> ConfigDef
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.recommended_values = values.into_iter().map(Into::into).collect();
        self
    }
    /// Declares that the value is a path the plugin needs access to.
    pub fn file_access(mut self, access: FileAccess) -> ConfigDef {
        self.file_access = Some(access);
        self
    }
}

/// What a plugin says about itself. The kind (source, sink, ...) comes from the trait the
/// plugin implements, so it cannot disagree with the exports.
///
/// ```
/// use sluice_plugin_sdk::{ConfigDef, PluginSpec};
///
/// let spec = PluginSpec::new("com.example.MySource", "0.1.0")
///     .alias("my-source")
///     .description("Reads things.")
///     .config(ConfigDef::string("topic").required().doc("Topic to write to."));
/// assert_eq!(spec.aliases, vec!["my-source".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    pub name: String,
    pub aliases: Vec<String>,
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigDef>,
}

impl PluginSpec {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> PluginSpec {
        PluginSpec {
            name: name.into(),
            aliases: Vec::new(),
            version: version.into(),
            description: String::new(),
            config: Vec::new(),
        }
    }
    pub fn alias(mut self, alias: impl Into<String>) -> PluginSpec {
        self.aliases.push(alias.into());
        self
    }
    pub fn description(mut self, description: impl Into<String>) -> PluginSpec {
        self.description = description.into();
        self
    }
    pub fn config(mut self, def: ConfigDef) -> PluginSpec {
        self.config.push(def);
        self
    }
    /// Adds every definition of `defs`, in order (a connector's `config::defs()`).
    pub fn configs(mut self, defs: impl IntoIterator<Item = ConfigDef>) -> PluginSpec {
        self.config.extend(defs);
        self
    }
}

/// A key whose value is missing or cannot be used. The message names the key and what
/// would be accepted; the value is included unless the key is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

/// One problem with one key, as returned by a plugin's `validate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl ConfigProblem {
    /// Problems on one line, `config `key`: message; …`, so a task's trace or a connector's
    /// error names each key ([`crate::TaskError::invalid_config`] says it this way).
    pub fn join(problems: &[ConfigProblem]) -> String {
        problems
            .iter()
            .map(|p| format!("config `{}`: {}", p.key, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<ConfigError> for ConfigProblem {
    fn from(e: ConfigError) -> ConfigProblem {
        ConfigProblem {
            key: e.key,
            message: e.message,
        }
    }
}

/// A connector's (or transform's) configuration: string keys and values as in Kafka
/// Connect, with typed getters that fall back to the plugin's declared defaults.
///
/// ```
/// use sluice_plugin_sdk::{Config, ConfigDef};
///
/// let defs = [ConfigDef::int("batch.size").default(2000), ConfigDef::list("fields")];
/// let config = Config::with_defs(
///     vec![("file".into(), "/tmp/in.txt".into()), ("fields".into(), "a, b,c".into())],
///     &defs,
/// );
/// assert_eq!(config.required_str("file").unwrap(), "/tmp/in.txt");
/// assert_eq!(config.optional_int("batch.size").unwrap(), Some(2000));
/// assert_eq!(config.list("fields").unwrap(), vec!["a", "b", "c"]);
/// let err = config.required_str("topic").unwrap_err();
/// assert_eq!(err.to_string(), "config `topic`: missing required key");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    entries: Vec<(String, String)>,
    defs: Arc<[ConfigDef]>,
}

impl PartialEq for Config {
    fn eq(&self, other: &Config) -> bool {
        self.entries == other.entries
    }
}

impl Config {
    /// A config with no declared keys (so no defaults).
    pub fn new(entries: Vec<(String, String)>) -> Config {
        Config {
            entries,
            defs: Arc::from(Vec::new()),
        }
    }
    /// A config that knows the plugin's key definitions (and so their defaults).
    pub fn with_defs(entries: Vec<(String, String)>, defs: &[ConfigDef]) -> Config {
        Config {
            entries,
            defs: Arc::from(defs.to_vec()),
        }
    }
    /// [`with_defs`](Config::with_defs) from borrowed pairs, as written in tests and examples.
    ///
    /// ```
    /// use sluice_plugin_sdk::{Config, ConfigDef};
    ///
    /// let defs = [ConfigDef::string("field").required(), ConfigDef::int("size").default(8)];
    /// let config = Config::from_pairs(&[("field", "id")], &defs);
    /// assert_eq!(config.get("field"), Some("id"));
    /// assert_eq!(config.get("size"), Some("8"));
    /// ```
    pub fn from_pairs(pairs: &[(&str, &str)], defs: &[ConfigDef]) -> Config {
        let entries = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::with_defs(entries, defs)
    }
    pub(crate) fn with_shared_defs(
        entries: Vec<(String, String)>,
        defs: Arc<[ConfigDef]>,
    ) -> Config {
        Config { entries, defs }
    }

    /// The value as given, else the declared default.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.def(key).and_then(|d| d.default_value.as_deref()))
    }
    /// Whether the key was given explicitly (defaults do not count).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }
    /// The explicitly given entries (no defaults), in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
    /// Sets a key, replacing an earlier value. Handy in `task_configs`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
    }
    /// The entries as the plain pairs the host exchanges.
    pub fn into_entries(self) -> Vec<(String, String)> {
        self.entries
    }

    /// The string value; an error if neither given nor defaulted.
    pub fn required_str(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key)
            .ok_or_else(|| self.error(key, "missing required key".to_string()))
    }
    pub fn optional_str(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
    /// An integer (`int`, `short` or `long`); an error if missing or not an integer.
    pub fn required_int(&self, key: &str) -> Result<i64, ConfigError> {
        self.optional_int(key)?
            .ok_or_else(|| self.error(key, "missing required key".to_string()))
    }
    /// An integer if given or defaulted; an error if present but not an integer.
    pub fn optional_int(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        self.parse(key, "an integer such as 100", |v| {
            v.trim().parse::<i64>().ok()
        })
    }
    pub fn required_double(&self, key: &str) -> Result<f64, ConfigError> {
        self.optional_double(key)?
            .ok_or_else(|| self.error(key, "missing required key".to_string()))
    }
    pub fn optional_double(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.parse(key, "a number such as 1.5", |v| {
            v.trim().parse::<f64>().ok()
        })
    }
    /// A boolean (`true`/`false`, any case, as Kafka); an error if missing or malformed.
    pub fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        self.optional_bool(key)?
            .ok_or_else(|| self.error(key, "missing required key".to_string()))
    }
    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.parse(key, "`true` or `false`", |v| {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        })
    }
    /// A comma-separated list, items trimmed, empty items dropped; empty if missing.
    pub fn list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }
    /// A value that must be one of `allowed` (compared exactly).
    pub fn one_of<'a>(
        &'a self,
        key: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(self.error(
                key,
                format!(
                    "{} is not accepted; use one of: {}",
                    self.shown(key, v),
                    allowed.join(", ")
                ),
            )),
        }
    }

    fn def(&self, key: &str) -> Option<&ConfigDef> {
        self.defs.iter().find(|d| d.name == key)
    }
    fn is_secret(&self, key: &str) -> bool {
        self.def(key)
            .is_some_and(|d| d.secret || d.ty == ConfigType::Password)
    }
    fn shown(&self, key: &str, value: &str) -> String {
        if self.is_secret(key) {
            "the value [hidden]".to_string()
        } else {
            format!("\"{value}\"")
        }
    }
    fn error(&self, key: &str, message: String) -> ConfigError {
        ConfigError {
            key: key.to_string(),
            message,
        }
    }
    fn parse<T>(
        &self,
        key: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| {
                self.error(
                    key,
                    format!("{} is not valid; expected {expected}", self.shown(key, v)),
                )
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn getters_fall_back_to_defaults_and_name_bad_values() {
        let defs = [
            ConfigDef::int("batch.size").default(2000),
            ConfigDef::boolean("flag").default(false),
            ConfigDef::password("secret"),
        ];
        let config = Config::with_defs(
            vec![
                ("batch.size".into(), "12x".into()),
                ("secret".into(), "hunter2".into()),
                ("n".into(), " 5 ".into()),
            ],
            &defs,
        );
        let err = config.optional_int("batch.size").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `batch.size`: \"12x\" is not valid; expected an integer such as 100"
        );
        assert_eq!(config.optional_int("n").unwrap(), Some(5));
        assert!(!config.bool("flag").unwrap());
        let err = config.required_int("secret").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("[hidden]"), "{err}");
        assert_eq!(config.optional_int("absent").unwrap(), None);
        assert!(config.list("absent").unwrap().is_empty());
    }

    #[test]
    fn set_replaces_and_one_of_lists_choices() {
        let mut config = Config::new(vec![("mode".into(), "x".into())]);
        config.set("mode", "users");
        assert_eq!(
            config.entries(),
            &[("mode".to_string(), "users".to_string())]
        );
        assert_eq!(
            config.one_of("mode", &["users", "orders"]).unwrap(),
            Some("users")
        );
        config.set("mode", "pets");
        let err = config.one_of("mode", &["users", "orders"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `mode`: \"pets\" is not accepted; use one of: users, orders"
        );
    }
}
