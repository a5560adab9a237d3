//! The WIT `plugin-spec` as the runtime's [`PluginSpec`].

use super::bindings::plugin as wit;
use crate::spec::{
    ConfigDef, ConfigProblem, ConfigType, FileAccess, Importance, PluginKind, PluginSpec,
};

pub(crate) fn kind(k: wit::PluginKind) -> PluginKind {
    match k {
        wit::PluginKind::Source => PluginKind::Source,
        wit::PluginKind::Sink => PluginKind::Sink,
        wit::PluginKind::Transform => PluginKind::Transform,
        wit::PluginKind::Predicate => PluginKind::Predicate,
    }
}

pub(crate) fn spec(s: wit::PluginSpec) -> PluginSpec {
    PluginSpec {
        name: s.name,
        aliases: s.aliases,
        version: s.version,
        kind: kind(s.kind),
        description: s.description,
        config: s.config.into_iter().map(config_def).collect(),
    }
}

fn config_def(d: wit::ConfigDef) -> ConfigDef {
    let ty = match d.type_ {
        wit::ConfigType::Boolean => ConfigType::Boolean,
        wit::ConfigType::String => ConfigType::String,
        wit::ConfigType::Int => ConfigType::Int,
        wit::ConfigType::Short => ConfigType::Short,
        wit::ConfigType::Long => ConfigType::Long,
        wit::ConfigType::Double => ConfigType::Double,
        wit::ConfigType::List => ConfigType::List,
        wit::ConfigType::Class => ConfigType::Class,
        wit::ConfigType::Password => ConfigType::Password,
    };
    ConfigDef {
        name: d.name,
        ty,
        default: d.default_value,
        required: d.required,
        // Password-typed keys are always secret, whatever the plugin says.
        secret: d.secret || ty == ConfigType::Password,
        importance: match d.importance {
            wit::Importance::High => Importance::High,
            wit::Importance::Medium => Importance::Medium,
            wit::Importance::Low => Importance::Low,
        },
        documentation: d.documentation,
        group: d.group,
        recommended_values: d.recommended_values,
        file_access: d.file_access.map(|a| match a {
            wit::FileAccess::ReadFile => FileAccess::ReadFile,
            wit::FileAccess::WriteFile => FileAccess::WriteFile,
            wit::FileAccess::ReadDir => FileAccess::ReadDir,
            wit::FileAccess::WriteDir => FileAccess::WriteDir,
        }),
    }
}

pub(crate) fn problem(p: wit::ConfigProblem) -> ConfigProblem {
    ConfigProblem {
        key: p.key,
        message: p.message,
    }
}

/// The WIT name of a kind (as in the world names).
pub(crate) fn kind_name(k: PluginKind) -> &'static str {
    match k {
        PluginKind::Source => "source",
        PluginKind::Sink => "sink",
        PluginKind::Transform => "transform",
        PluginKind::Predicate => "predicate",
    }
}
