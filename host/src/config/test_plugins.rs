//! Plugin descriptions for the config tests: what compilation sees of a plugin (its spec and
//! its validation answer), without the runtime that would open its tasks.

use std::sync::Arc;

use crate::spec::{
    Config, ConfigDef, ConfigProblem, ConfigType, Importance, PluginHandle, PluginKind,
    PluginLookup, PluginSpec,
};

/// A plugin whose `validate` answers a fixed result.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePlugin(Arc<(PluginSpec, Result<Vec<ConfigProblem>, String>)>);

impl FakePlugin {
    pub fn new(name: &str, kind: PluginKind, config: Vec<ConfigDef>) -> FakePlugin {
        FakePlugin::with_spec(spec(name, kind, config), Ok(Vec::new()))
    }

    pub fn with_spec(spec: PluginSpec, validate: Result<Vec<ConfigProblem>, String>) -> Self {
        FakePlugin(Arc::new((spec, validate)))
    }
}

impl PluginHandle for FakePlugin {
    type Error = String;
    fn spec(&self) -> &PluginSpec {
        &self.0 .0
    }
    fn validate(&self, _config: &Config) -> Result<Vec<ConfigProblem>, String> {
        self.0 .1.clone()
    }
}

pub struct FakeCatalog(pub Vec<FakePlugin>);

impl PluginLookup for FakeCatalog {
    type Plugin = FakePlugin;
    fn lookup(&self, class: &str) -> Option<FakePlugin> {
        self.0.iter().find(|p| p.spec().answers_to(class)).cloned()
    }
    fn all(&self) -> Vec<FakePlugin> {
        self.0.clone()
    }
}

pub fn spec(name: &str, kind: PluginKind, config: Vec<ConfigDef>) -> PluginSpec {
    PluginSpec {
        name: name.into(),
        aliases: Vec::new(),
        version: "1.0".into(),
        kind,
        description: String::new(),
        config,
    }
}

pub fn def(name: &str, ty: ConfigType, required: bool, secret: bool) -> ConfigDef {
    ConfigDef {
        name: name.into(),
        ty,
        default: None,
        required,
        secret,
        importance: Importance::High,
        documentation: String::new(),
        group: None,
        recommended_values: Vec::new(),
        file_access: None,
    }
}

pub fn cfg(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
