//! The `plugin` interface every component exports (`spec`, `validate`), shared by the four
//! plugin kinds through [`Describe`].
//!
//! The spec is built once and its config definitions are kept for the component's life, so
//! every [`Config`] handed to plugin code knows the declared defaults without rebuilding the
//! spec per call.

use std::sync::{Arc, OnceLock};

use crate::bindings::plugin_world::exports::sluice::connect::plugin as wit;
use crate::config::{
    Config, ConfigDef, ConfigProblem, ConfigType, FileAccess, Importance, PluginSpec,
};

/// What the `plugin` export needs from a kind's adapter.
#[doc(hidden)]
pub trait Describe {
    const KIND: wit::PluginKind;
    fn spec() -> PluginSpec;
    fn validate(config: &Config) -> Vec<ConfigProblem>;
}

/// One plugin per component, so one set of definitions per component.
static DEFS: OnceLock<Arc<[ConfigDef]>> = OnceLock::new();

/// Wraps the host's pairs in a [`Config`] that knows the plugin's defaults.
pub(crate) fn config<D: Describe>(entries: Vec<(String, String)>) -> Config {
    let defs = DEFS.get_or_init(|| Arc::from(D::spec().config)).clone();
    Config::with_shared_defs(entries, defs)
}

impl<D: Describe> wit::Guest for D {
    fn spec() -> wit::PluginSpec {
        let spec = D::spec();
        wit::PluginSpec {
            name: spec.name,
            aliases: spec.aliases,
            version: spec.version,
            kind: D::KIND,
            description: spec.description,
            config: spec.config.into_iter().map(lower_def).collect(),
        }
    }

    fn validate(config: Vec<(String, String)>) -> Vec<wit::ConfigProblem> {
        D::validate(&self::config::<D>(config))
            .into_iter()
            .map(|p| wit::ConfigProblem {
                key: p.key,
                message: p.message,
            })
            .collect()
    }
}

fn lower_def(d: ConfigDef) -> wit::ConfigDef {
    wit::ConfigDef {
        name: d.name,
        type_: match d.ty {
            ConfigType::Boolean => wit::ConfigType::Boolean,
            ConfigType::String => wit::ConfigType::String,
            ConfigType::Int => wit::ConfigType::Int,
            ConfigType::Short => wit::ConfigType::Short,
            ConfigType::Long => wit::ConfigType::Long,
            ConfigType::Double => wit::ConfigType::Double,
            ConfigType::List => wit::ConfigType::List,
            ConfigType::Class => wit::ConfigType::Class,
            ConfigType::Password => wit::ConfigType::Password,
        },
        default_value: d.default_value,
        required: d.required,
        secret: d.secret,
        importance: match d.importance {
            Importance::High => wit::Importance::High,
            Importance::Medium => wit::Importance::Medium,
            Importance::Low => wit::Importance::Low,
        },
        documentation: d.documentation,
        group: d.group,
        recommended_values: d.recommended_values,
        file_access: d.file_access.map(|a| match a {
            FileAccess::ReadFile => wit::FileAccess::ReadFile,
            FileAccess::WriteFile => wit::FileAccess::WriteFile,
            FileAccess::ReadDir => wit::FileAccess::ReadDir,
            FileAccess::WriteDir => wit::FileAccess::WriteDir,
        }),
    }
}
