//! The framework keys Kafka Connect defines for every connector (`ConnectorConfig`,
//! `SinkConnectorConfig`, `SourceConnectorConfig`) and for each transform and predicate alias
//! (`ConnectorConfig.enrich`): their types, defaults and the metadata
//! `/connector-plugins/{plugin}/config` and `/config/validate` show.
//!
//! Design decision: one table serves both the REST answers and [`compile`](super::compile),
//! so a default shown to an operator is the default a connector runs with.

use super::get;
use crate::spec::{
    Config, ConfigDef, ConfigType, Importance, PluginHandle, PluginKind, PluginLookup,
};

/// One framework key, as Kafka's `ConfigDef.define` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameworkDef {
    pub name: &'static str,
    pub ty: ConfigType,
    pub default: Option<&'static str>,
    pub importance: Importance,
    pub group: &'static str,
    /// Position within the group.
    pub order: i32,
    /// Kafka's `ConfigDef.Width` name.
    pub width: &'static str,
    pub display_name: &'static str,
    pub documentation: &'static str,
}

impl FrameworkDef {
    /// Kafka marks only these two required (its converter keys default to null without
    /// being required).
    pub fn required(&self) -> bool {
        matches!(self.name, "name" | "connector.class")
    }
}

/// The keys of every connector.
const COMMON: &[FrameworkDef] = &[
    FrameworkDef {
        name: "name",
        ty: ConfigType::String,
        default: None,
        importance: Importance::High,
        group: "Common",
        order: 1,
        width: "MEDIUM",
        display_name: "Connector name",
        documentation: "Globally unique name to use for this connector.",
    },
    FrameworkDef {
        name: "connector.class",
        ty: ConfigType::String,
        default: None,
        importance: Importance::High,
        group: "Common",
        order: 2,
        width: "LONG",
        display_name: "Connector class",
        documentation: "Name or alias of the plugin to use for this connector.",
    },
    FrameworkDef {
        name: "tasks.max",
        ty: ConfigType::Int,
        default: Some("1"),
        importance: Importance::High,
        group: "Common",
        order: 3,
        width: "SHORT",
        display_name: "Tasks max",
        documentation: "Maximum number of tasks to use for this connector.",
    },
    FrameworkDef {
        name: "tasks.max.enforce",
        ty: ConfigType::Boolean,
        default: Some("true"),
        importance: Importance::Low,
        group: "Common",
        order: 4,
        width: "SHORT",
        display_name: "Enforce tasks max",
        documentation:
            "(Deprecated in Kafka) Whether a connector that generates more task configs than \
         tasks.max fails (true) or runs them all (false).",
    },
    FrameworkDef {
        name: "key.converter",
        ty: ConfigType::Class,
        default: None,
        importance: Importance::Low,
        group: "Common",
        order: 5,
        width: "SHORT",
        display_name: "Key converter class",
        documentation: "Converter class for the keys (overrides the worker's).",
    },
    FrameworkDef {
        name: "value.converter",
        ty: ConfigType::Class,
        default: None,
        importance: Importance::Low,
        group: "Common",
        order: 6,
        width: "SHORT",
        display_name: "Value converter class",
        documentation: "Converter class for the values (overrides the worker's).",
    },
    FrameworkDef {
        name: "header.converter",
        ty: ConfigType::Class,
        default: None,
        importance: Importance::Low,
        group: "Common",
        order: 7,
        width: "SHORT",
        display_name: "Header converter class",
        documentation: "Header converter class (overrides the worker's).",
    },
    FrameworkDef {
        name: "transforms",
        ty: ConfigType::List,
        default: Some(""),
        importance: Importance::Low,
        group: "Transforms",
        order: 8,
        width: "LONG",
        display_name: "Transforms",
        documentation: "Aliases for the transformations to be applied to records.",
    },
    FrameworkDef {
        name: "predicates",
        ty: ConfigType::List,
        default: Some(""),
        importance: Importance::Low,
        group: "Predicates",
        order: 9,
        width: "LONG",
        display_name: "Predicates",
        documentation: "Aliases for the predicates used by transformations.",
    },
    FrameworkDef {
        name: "config.action.reload",
        ty: ConfigType::String,
        default: Some("restart"),
        importance: Importance::Low,
        group: "Common",
        order: 10,
        width: "MEDIUM",
        display_name: "Reload Action",
        documentation: "What to do when a config provider reports a change: none or restart.",
    },
    FrameworkDef {
        name: "errors.retry.timeout",
        ty: ConfigType::Long,
        default: Some("0"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 1,
        width: "MEDIUM",
        display_name: "Retry Timeout for Errors",
        documentation: "Milliseconds to retry a failed operation; 0 = no retries, -1 = forever.",
    },
    FrameworkDef {
        name: "errors.retry.delay.max.ms",
        ty: ConfigType::Long,
        default: Some("60000"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 2,
        width: "MEDIUM",
        display_name: "Maximum Delay Between Retries for Errors",
        documentation: "Maximum milliseconds between consecutive retries.",
    },
    FrameworkDef {
        name: "errors.tolerance",
        ty: ConfigType::String,
        default: Some("none"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 3,
        width: "SHORT",
        display_name: "Error Tolerance",
        documentation: "none: fail the task on an error; all: skip problematic records.",
    },
    FrameworkDef {
        name: "errors.log.enable",
        ty: ConfigType::Boolean,
        default: Some("false"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 4,
        width: "SHORT",
        display_name: "Log Errors",
        documentation: "Log each error and the failed operation.",
    },
    FrameworkDef {
        name: "errors.log.include.messages",
        ty: ConfigType::Boolean,
        default: Some("false"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 5,
        width: "SHORT",
        display_name: "Log Error Details",
        documentation: "Include the failed record in the error log.",
    },
];

/// Sink connectors' keys.
const SINK: &[FrameworkDef] = &[
    FrameworkDef {
        name: "topics",
        ty: ConfigType::List,
        default: Some(""),
        importance: Importance::High,
        group: "Common",
        order: 4,
        width: "LONG",
        display_name: "Topics",
        documentation: "Topics to consume (or use topics.regex).",
    },
    FrameworkDef {
        name: "topics.regex",
        ty: ConfigType::String,
        default: Some(""),
        importance: Importance::High,
        group: "Common",
        order: 4,
        width: "LONG",
        display_name: "Topics regex",
        documentation: "Regular expression of the topics to consume (or use topics).",
    },
    FrameworkDef {
        name: "errors.deadletterqueue.topic.name",
        ty: ConfigType::String,
        default: Some(""),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 6,
        width: "MEDIUM",
        display_name: "Dead Letter Queue Topic Name",
        documentation: "Topic for records that failed; empty = no DLQ.",
    },
    FrameworkDef {
        name: "errors.deadletterqueue.topic.replication.factor",
        ty: ConfigType::Short,
        default: Some("3"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 7,
        width: "MEDIUM",
        display_name: "Dead Letter Queue Topic Replication Factor",
        documentation: "Replication factor of the DLQ topic when it is created.",
    },
    FrameworkDef {
        name: "errors.deadletterqueue.context.headers.enable",
        ty: ConfigType::Boolean,
        default: Some("false"),
        importance: Importance::Medium,
        group: "Error Handling",
        order: 8,
        width: "MEDIUM",
        display_name: "Enable Error Context Headers",
        documentation: "Add __connect.errors.* headers to DLQ records.",
    },
];

/// Source connectors: Kafka's `Topic Creation` group (Sluice creates topics from
/// `topic.creation.*`), and its `Exactly Once Support` and `offsets.topic` groups with Kafka's
/// definitions, so tools that read them find them. Sluice's sources are at-least-once:
/// [`compile`](super::compile) refuses the values that ask for transactions, and
/// `offsets.storage.topic` has no effect in standalone mode (as in Kafka).
const SOURCE: &[FrameworkDef] = &[
    FrameworkDef {
        name: "topic.creation.groups",
        ty: ConfigType::List,
        default: Some(""),
        importance: Importance::Low,
        group: "Topic Creation",
        order: 1,
        width: "LONG",
        display_name: "Topic Creation Groups",
        documentation: "Groups of configurations for topics created by source connectors",
    },
    FrameworkDef {
        name: "exactly.once.support",
        ty: ConfigType::String,
        default: Some("requested"),
        importance: Importance::Medium,
        group: "Exactly Once Support",
        order: 2,
        width: "SHORT",
        display_name: "Exactly once support",
        documentation:
            "requested or required. Sluice's source connectors deliver at-least-once, so \
         required is refused.",
    },
    FrameworkDef {
        name: "transaction.boundary",
        ty: ConfigType::String,
        default: Some("poll"),
        importance: Importance::Medium,
        group: "Exactly Once Support",
        order: 3,
        width: "SHORT",
        display_name: "Transaction Boundary",
        documentation:
            "poll, interval or connector. Sluice's source connectors do not write in producer \
         transactions, so only poll is accepted.",
    },
    FrameworkDef {
        name: "transaction.boundary.interval.ms",
        ty: ConfigType::Long,
        default: None,
        importance: Importance::Low,
        group: "Exactly Once Support",
        order: 4,
        width: "SHORT",
        display_name: "Transaction boundary interval",
        documentation:
            "Commit interval for transaction.boundary=interval (at least 0); unused by Sluice.",
    },
    FrameworkDef {
        name: "offsets.storage.topic",
        ty: ConfigType::String,
        default: None,
        importance: Importance::Low,
        group: "offsets.topic",
        order: 1,
        width: "LONG",
        display_name: "Offsets topic",
        documentation:
            "A separate offsets topic for this connector (distributed mode). No effect in \
         standalone mode: offsets are kept in offset.storage.file.filename.",
    },
];

/// The framework keys Kafka defines for a connector of `kind`, in Kafka's order.
pub fn framework_defs(kind: PluginKind) -> impl Iterator<Item = &'static FrameworkDef> {
    let specific: &[FrameworkDef] = match kind {
        PluginKind::Sink => SINK,
        PluginKind::Source => SOURCE,
        _ => &[],
    };
    COMMON.iter().chain(specific)
}

/// The definition of framework key `name` (of any connector kind).
pub fn framework_def(name: &str) -> Option<&'static FrameworkDef> {
    COMMON
        .iter()
        .chain(SINK)
        .chain(SOURCE)
        .find(|d| d.name == name)
}

/// One `Transforms: <alias>` or `Predicates: <alias>` group of a connector config: the
/// framework keys Kafka defines for the alias, then the plugin's own keys, all prefixed.
pub struct AliasGroup {
    /// `Transforms: <alias>` / `Predicates: <alias>`.
    pub group: String,
    /// `transforms.<alias>.` / `predicates.<alias>.`.
    pub prefix: String,
    /// Definitions with their full key names, in the group's order.
    pub defs: Vec<ConfigDef>,
}

/// Kafka's `ConnectorConfig.enrich`: for each alias in `transforms` (then `predicates`), a
/// group with `<prefix>.type`, for transforms `predicate` and `negate`, and the keys of the
/// plugin `type` names (none when it names no known plugin; the type error says why).
pub fn alias_groups<L: PluginLookup + ?Sized>(config: &Config, catalog: &L) -> Vec<AliasGroup> {
    let mut out = Vec::new();
    for (list_key, label, what) in [
        ("transforms", "Transforms", "transformation"),
        ("predicates", "Predicates", "predicate"),
    ] {
        let mut seen: Vec<String> = Vec::new();
        for alias in get(config, list_key)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if seen.iter().any(|s| s == alias) {
                continue;
            }
            seen.push(alias.to_string());
            let prefix = format!("{list_key}.{alias}.");
            let group = format!("{label}: {alias}");
            let def = |name: &str, ty, default: Option<&str>, importance, doc: String| ConfigDef {
                name: format!("{prefix}{name}"),
                ty,
                default: default.map(str::to_string),
                required: default.is_none() && name == "type",
                secret: false,
                importance,
                documentation: doc,
                group: Some(group.clone()),
                recommended_values: Vec::new(),
                file_access: None,
            };
            let mut defs = vec![def(
                "type",
                ConfigType::Class,
                None,
                Importance::High,
                format!("Class for the '{alias}' {what}."),
            )];
            if list_key == "transforms" {
                defs.push(def(
                    "predicate",
                    ConfigType::String,
                    None,
                    Importance::Medium,
                    "The alias of a predicate used to determine whether to apply this transformation.".into(),
                ));
                defs.push(def(
                    "negate",
                    ConfigType::Boolean,
                    Some("false"),
                    Importance::Medium,
                    "Whether the configured predicate should be negated.".into(),
                ));
            }
            if let Some(plugin) =
                get(config, &format!("{prefix}type")).and_then(|t| catalog.lookup(t.trim()))
            {
                for d in &plugin.spec().config {
                    let mut d = d.clone();
                    d.name = format!("{prefix}{}", d.name);
                    d.group = Some(group.clone());
                    defs.push(d);
                }
            }
            // Kafka lists `type` first, then the embedded keys sorted by name (as the
            // reference's validate response shows).
            defs[1..].sort_by(|a, b| a.name.cmp(&b.name));
            let kind = if list_key == "transforms" {
                PluginKind::Transform
            } else {
                PluginKind::Predicate
            };
            let mut types: Vec<String> = catalog
                .all()
                .iter()
                .map(|p| p.spec())
                .filter(|s| s.kind == kind)
                .map(|s| s.name.clone())
                .collect();
            types.sort();
            defs[0].recommended_values = types;
            out.push(AliasGroup {
                group,
                prefix,
                defs,
            });
        }
    }
    out
}
