//! `/connector-plugins`: the plugin list (`connectorsOnly`), a plugin's config definitions
//! (ConfigKeyInfo) and config validation (ConfigInfos), in Kafka's shapes (reference §1.3).
//!
//! The decision to know: validation runs the same `config::check_connector` pass that creating
//! a connector runs, so `/config/validate` reports exactly the problems a create would refuse
//! with; its errors are attached to the key they name (a problem about a key with no
//! definition appears with `"definition": null`, as in Kafka). Password values and defaults
//! are always `[hidden]`.
//!
//! Each transform and predicate alias gets its `Transforms: <alias>` / `Predicates: <alias>`
//! group (Kafka's `ConnectorConfig.enrich`), with the plugin's own keys under the prefix.
//! Source connectors also get Kafka's `Topic Creation`, `Exactly Once Support` and
//! `offsets.topic` groups (what Sluice accepts in them: `config::check_connector`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, put};
use axum::Json;
use serde_json::{json, Value as JsonValue};

use super::body::{self, bad_request};
use super::connectors::Herd;
use super::{blocking, ApiError, Routes};
use crate::config::secrets::{host_secret, HIDDEN};
use crate::config::{check_connector, check_type, get as config_get};
use crate::runtime::plugin::{
    Config, ConfigDef, ConfigProblem, ConfigType, Importance, PluginKind,
};

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/connector-plugins", &["GET"], get(list))
        .add(
            "/connector-plugins/{plugin}/config",
            &["GET"],
            get(plugin_config),
        )
        .add(
            "/connector-plugins/{plugin}/config/validate",
            &["PUT"],
            put(validate),
        )
}

/// `GET /connector-plugins[?connectorsOnly=false]`: PluginInfo list, sorted by class.
async fn list(State(herder): Herd, RawQuery(query): RawQuery) -> Json<JsonValue> {
    // Only an explicit `false` lists everything (JAX-RS `Boolean.valueOf`, default true).
    let connectors_only = !query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == "connectorsOnly" && v.eq_ignore_ascii_case("false"));
    let mut entries: Vec<(String, &'static str, Option<String>)> = Vec::new();
    for p in herder
        .plugin_catalog()
        .map(|c| c.plugins())
        .unwrap_or_default()
    {
        let spec = p.spec();
        let is_connector = matches!(spec.kind, PluginKind::Source | PluginKind::Sink);
        if connectors_only && !is_connector {
            continue;
        }
        let version = Some(spec.version.clone()).filter(|v| !v.is_empty() && v != "undefined");
        entries.push((spec.name.clone(), spec.kind.rest_name(), version));
    }
    if !connectors_only {
        let version = Some(env!("CARGO_PKG_VERSION").to_string());
        for class in crate::convert::converter_classes() {
            entries.push((class.to_string(), "converter", version.clone()));
        }
        for class in crate::convert::header_converter_classes() {
            entries.push((class.to_string(), "header_converter", version.clone()));
        }
    }
    entries.sort();
    entries.dedup();
    let list = entries
        .into_iter()
        .map(|(class, ty, version)| {
            let mut o = json!({"class": class, "type": ty});
            if let Some(v) = version {
                o["version"] = JsonValue::String(v);
            }
            o
        })
        .collect();
    Json(JsonValue::Array(list))
}

/// Finds `plugin`; when it is unknown, rescans `plugin.path` once (file I/O, so on a
/// blocking thread) so a `.wasm` dropped in a moment ago is found at once (hot reload).
async fn find_or_rescan(
    catalog: &std::sync::Arc<dyn crate::runtime::plugin::PluginCatalog>,
    plugin: &str,
) -> Result<std::sync::Arc<dyn crate::runtime::plugin::Plugin>, ApiError> {
    if let Some(found) = catalog.find(plugin) {
        return Ok(found);
    }
    let (rescanned, name) = (catalog.clone(), plugin.to_string());
    blocking(move || {
        rescanned.rescan();
        rescanned.find(&name)
    })
    .await?
    .ok_or_else(|| unknown_plugin(plugin))
}

fn unknown_plugin(plugin: &str) -> ApiError {
    ApiError::not_found(format!("Unknown plugin {plugin}."))
}

/// `GET /connector-plugins/{plugin}/config`: the plugin's own ConfigKeyInfo list; for a
/// source or sink connector followed by the framework keys Kafka defines for its kind (the
/// reference 3.9 lists them too), except those the plugin defines itself.
async fn plugin_config(
    State(herder): Herd,
    Path(plugin): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let catalog = herder
        .plugin_catalog()
        .ok_or_else(|| unknown_plugin(&plugin))?;
    let found = find_or_rescan(&catalog, &plugin).await?;
    let spec = found.spec();
    let mut defs: Vec<JsonValue> = spec.config.iter().map(key_info_plugin).collect();
    let connector = matches!(spec.kind, PluginKind::Source | PluginKind::Sink);
    for d in framework_defs(spec.kind).filter(|_| connector) {
        if !spec.config.iter().any(|p| p.name == d.0) {
            defs.push(key_info_common(d));
        }
    }
    Ok(Json(JsonValue::Array(defs)))
}

/// `PUT /connector-plugins/{plugin}/config/validate`: ConfigInfos, 200 even with errors.
async fn validate(
    State(herder): Herd,
    Path(plugin): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<JsonValue>, ApiError> {
    let body = body::json(body)?;
    let mut config = body::config(body::object(&body, "The connector config")?)?;
    let catalog = herder
        .plugin_catalog()
        .ok_or_else(|| unknown_plugin(&plugin))?;
    let target = find_or_rescan(&catalog, &plugin).await?;
    match config_get(&config, "connector.class").map(str::trim) {
        Some(included) => {
            let same = included == plugin
                || catalog
                    .find(included)
                    .is_some_and(|p| p.spec().name == target.spec().name);
            if !same {
                return Err(bad_request(format!(
                    "Included connector type {included} does not match request type {plugin}"
                )));
            }
        }
        None => config.push(("connector.class".into(), plugin.clone())),
    }
    // Plugin validation may call into WebAssembly: not on an async thread.
    let checked = config.clone();
    let checker = catalog.clone();
    let problems = blocking(move || match check_connector(&checked, checker.as_ref()) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    })
    .await?;
    let spec = target.spec();
    let aliases = alias_groups(&config, catalog.as_ref());
    Ok(Json(config_infos(
        &config,
        spec.kind,
        &spec.config,
        &aliases,
        &problems,
    )))
}

/// One `Transforms: <alias>` or `Predicates: <alias>` group of the validate response: the
/// framework keys Kafka defines for the alias, then the plugin's own keys, all prefixed.
struct AliasGroup {
    group: String,
    prefix: String,
    /// (definition with the full key name, order in the group).
    defs: Vec<(ConfigDef, i32)>,
}

/// Kafka's `ConnectorConfig.enrich`: for each alias in `transforms` (then `predicates`), a
/// group with `<prefix>.type`, for transforms `predicate` and `negate`, and the keys of the
/// plugin `type` names (none when it names no known plugin; the type error says why).
fn alias_groups(
    config: &Config,
    catalog: &dyn crate::runtime::plugin::PluginCatalog,
) -> Vec<AliasGroup> {
    let mut out = Vec::new();
    for (list_key, label, what) in [
        ("transforms", "Transforms", "transformation"),
        ("predicates", "Predicates", "predicate"),
    ] {
        let mut seen: Vec<String> = Vec::new();
        for alias in config_get(config, list_key)
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
                config_get(config, &format!("{prefix}type")).and_then(|t| catalog.find(t.trim()))
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
                .plugins()
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
                defs: defs
                    .into_iter()
                    .enumerate()
                    .map(|(i, d)| (d, i as i32))
                    .collect(),
            });
        }
    }
    out
}

/// A common key Kafka defines for every connector: (name, type, default, importance, group,
/// order, width, display name, documentation).
type CommonDef = (
    &'static str,
    ConfigType,
    Option<&'static str>,
    Importance,
    &'static str,
    i32,
    &'static str,
    &'static str,
    &'static str,
);

const COMMON: &[CommonDef] = &[
    (
        "name",
        ConfigType::String,
        None,
        Importance::High,
        "Common",
        1,
        "MEDIUM",
        "Connector name",
        "Globally unique name to use for this connector.",
    ),
    (
        "connector.class",
        ConfigType::String,
        None,
        Importance::High,
        "Common",
        2,
        "LONG",
        "Connector class",
        "Name or alias of the plugin to use for this connector.",
    ),
    (
        "tasks.max",
        ConfigType::Int,
        Some("1"),
        Importance::High,
        "Common",
        3,
        "SHORT",
        "Tasks max",
        "Maximum number of tasks to use for this connector.",
    ),
    (
        "tasks.max.enforce",
        ConfigType::Boolean,
        Some("true"),
        Importance::Low,
        "Common",
        4,
        "SHORT",
        "Enforce tasks max",
        "(Deprecated in Kafka) Whether a connector that generates more task configs than \
         tasks.max fails (true) or runs them all (false).",
    ),
    (
        "key.converter",
        ConfigType::Class,
        None,
        Importance::Low,
        "Common",
        5,
        "SHORT",
        "Key converter class",
        "Converter class for the keys (overrides the worker's).",
    ),
    (
        "value.converter",
        ConfigType::Class,
        None,
        Importance::Low,
        "Common",
        6,
        "SHORT",
        "Value converter class",
        "Converter class for the values (overrides the worker's).",
    ),
    (
        "header.converter",
        ConfigType::Class,
        None,
        Importance::Low,
        "Common",
        7,
        "SHORT",
        "Header converter class",
        "Header converter class (overrides the worker's).",
    ),
    (
        "transforms",
        ConfigType::List,
        Some(""),
        Importance::Low,
        "Transforms",
        8,
        "LONG",
        "Transforms",
        "Aliases for the transformations to be applied to records.",
    ),
    (
        "predicates",
        ConfigType::List,
        Some(""),
        Importance::Low,
        "Predicates",
        9,
        "LONG",
        "Predicates",
        "Aliases for the predicates used by transformations.",
    ),
    (
        "config.action.reload",
        ConfigType::String,
        Some("restart"),
        Importance::Low,
        "Common",
        10,
        "MEDIUM",
        "Reload Action",
        "What to do when a config provider reports a change: none or restart.",
    ),
    (
        "errors.retry.timeout",
        ConfigType::Long,
        Some("0"),
        Importance::Medium,
        "Error Handling",
        1,
        "MEDIUM",
        "Retry Timeout for Errors",
        "Milliseconds to retry a failed operation; 0 = no retries, -1 = forever.",
    ),
    (
        "errors.retry.delay.max.ms",
        ConfigType::Long,
        Some("60000"),
        Importance::Medium,
        "Error Handling",
        2,
        "MEDIUM",
        "Maximum Delay Between Retries for Errors",
        "Maximum milliseconds between consecutive retries.",
    ),
    (
        "errors.tolerance",
        ConfigType::String,
        Some("none"),
        Importance::Medium,
        "Error Handling",
        3,
        "SHORT",
        "Error Tolerance",
        "none: fail the task on an error; all: skip problematic records.",
    ),
    (
        "errors.log.enable",
        ConfigType::Boolean,
        Some("false"),
        Importance::Medium,
        "Error Handling",
        4,
        "SHORT",
        "Log Errors",
        "Log each error and the failed operation.",
    ),
    (
        "errors.log.include.messages",
        ConfigType::Boolean,
        Some("false"),
        Importance::Medium,
        "Error Handling",
        5,
        "SHORT",
        "Log Error Details",
        "Include the failed record in the error log.",
    ),
];

const SINK: &[CommonDef] = &[
    (
        "topics",
        ConfigType::List,
        Some(""),
        Importance::High,
        "Common",
        4,
        "LONG",
        "Topics",
        "Topics to consume (or use topics.regex).",
    ),
    (
        "topics.regex",
        ConfigType::String,
        Some(""),
        Importance::High,
        "Common",
        4,
        "LONG",
        "Topics regex",
        "Regular expression of the topics to consume (or use topics).",
    ),
    (
        "errors.deadletterqueue.topic.name",
        ConfigType::String,
        Some(""),
        Importance::Medium,
        "Error Handling",
        6,
        "MEDIUM",
        "Dead Letter Queue Topic Name",
        "Topic for records that failed; empty = no DLQ.",
    ),
    (
        "errors.deadletterqueue.topic.replication.factor",
        ConfigType::Short,
        Some("3"),
        Importance::Medium,
        "Error Handling",
        7,
        "MEDIUM",
        "Dead Letter Queue Topic Replication Factor",
        "Replication factor of the DLQ topic when it is created.",
    ),
    (
        "errors.deadletterqueue.context.headers.enable",
        ConfigType::Boolean,
        Some("false"),
        Importance::Medium,
        "Error Handling",
        8,
        "MEDIUM",
        "Enable Error Context Headers",
        "Add __connect.errors.* headers to DLQ records.",
    ),
];

/// Source connectors: Kafka's `Topic Creation` group (Sluice creates topics from
/// `topic.creation.*`), and its `Exactly Once Support` and `offsets.topic` groups with Kafka's
/// definitions, so tools that read them find them. Sluice's sources are at-least-once:
/// `check_connector` refuses the values that ask for transactions, and
/// `offsets.storage.topic` has no effect in standalone mode (as in Kafka).
const SOURCE: &[CommonDef] = &[
    (
        "topic.creation.groups",
        ConfigType::List,
        Some(""),
        Importance::Low,
        "Topic Creation",
        1,
        "LONG",
        "Topic Creation Groups",
        "Groups of configurations for topics created by source connectors",
    ),
    (
        "exactly.once.support",
        ConfigType::String,
        Some("requested"),
        Importance::Medium,
        "Exactly Once Support",
        2,
        "SHORT",
        "Exactly once support",
        "requested or required. Sluice's source connectors deliver at-least-once, so \
         required is refused.",
    ),
    (
        "transaction.boundary",
        ConfigType::String,
        Some("poll"),
        Importance::Medium,
        "Exactly Once Support",
        3,
        "SHORT",
        "Transaction Boundary",
        "poll, interval or connector. Sluice's source connectors do not write in producer \
         transactions, so only poll is accepted.",
    ),
    (
        "transaction.boundary.interval.ms",
        ConfigType::Long,
        None,
        Importance::Low,
        "Exactly Once Support",
        4,
        "SHORT",
        "Transaction boundary interval",
        "Commit interval for transaction.boundary=interval (at least 0); unused by Sluice.",
    ),
    (
        "offsets.storage.topic",
        ConfigType::String,
        None,
        Importance::Low,
        "offsets.topic",
        1,
        "LONG",
        "Offsets topic",
        "A separate offsets topic for this connector (distributed mode). No effect in \
         standalone mode: offsets are kept in offset.storage.file.filename.",
    ),
];

/// The framework keys Kafka defines for a connector of `kind`, in Kafka's order.
fn framework_defs(kind: PluginKind) -> impl Iterator<Item = &'static CommonDef> {
    let specific: &[CommonDef] = match kind {
        PluginKind::Sink => SINK,
        PluginKind::Source => SOURCE,
        _ => &[],
    };
    COMMON.iter().chain(specific)
}

fn importance(i: Importance) -> &'static str {
    match i {
        Importance::High => "HIGH",
        Importance::Medium => "MEDIUM",
        Importance::Low => "LOW",
    }
}

fn secret(ty: ConfigType, flagged: bool) -> bool {
    flagged || ty == ConfigType::Password
}

/// ConfigKeyInfo of a plugin's own key (no group order or width: Kafka's defaults).
fn key_info_plugin(def: &ConfigDef) -> JsonValue {
    let hidden = secret(def.ty, def.secret);
    json!({
        "name": def.name,
        "type": def.ty.rest_name(),
        "required": def.required && def.default.is_none(),
        "default_value": def.default.as_ref().map(|d| if hidden { HIDDEN.to_string() } else { d.clone() }),
        "importance": importance(def.importance),
        "documentation": def.documentation,
        "group": def.group,
        "order": -1,
        "width": "NONE",
        "display_name": def.name,
        "dependents": [],
    })
}

fn key_info_common(d: &CommonDef) -> JsonValue {
    let (name, ty, default, imp, group, order, width, display, doc) = *d;
    json!({
        "name": name,
        "type": ty.rest_name(),
        // Kafka's converter keys default to null without being required.
        "required": matches!(name, "name" | "connector.class"),
        "default_value": default,
        "importance": importance(imp),
        "documentation": doc,
        "group": group,
        "order": order,
        "width": width,
        "display_name": display,
        "dependents": [],
    })
}

/// Kafka's ConfigInfos for `config`, validated against a plugin of `kind` with `defs`.
fn config_infos(
    config: &Config,
    kind: PluginKind,
    defs: &[ConfigDef],
    aliases: &[AliasGroup],
    problems: &[ConfigProblem],
) -> JsonValue {
    let mut groups: Vec<String> = ["Common", "Transforms", "Predicates", "Error Handling"]
        .map(String::from)
        .to_vec();
    if kind == PluginKind::Source {
        groups
            .extend(["Topic Creation", "Exactly Once Support", "offsets.topic"].map(String::from));
    }
    groups.extend(aliases.iter().map(|a| a.group.clone()));
    for g in defs.iter().filter_map(|d| d.group.clone()) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let errors_for = |key: &str| -> Vec<String> {
        problems
            .iter()
            .filter(|p| p.key == key)
            .map(|p| p.message.clone())
            .collect()
    };
    let value_of =
        |key: &str, ty: ConfigType, default: Option<&str>, hidden: bool, recommended: &[String]| {
            // Keys the host knows as secret (e.g. `producer.override.sasl.jaas.config`) are
            // masked even without a definition, as GET /connectors/{name}/config masks them.
            let hidden = hidden || host_secret(key);
            let value = match config_get(config, key) {
                // Kafka's `ConfigDef.validate` keeps only values that parse as their type, so one
                // that does not shows as null (its error quotes what was given).
                Some(v) if check_type(key, v, ty, hidden).is_err() => None,
                Some(v) => Some(if hidden { HIDDEN } else { v }),
                None => default.map(|d| if hidden { HIDDEN } else { d }),
            };
            json!({
                "name": key,
                "value": value,
                "recommended_values": recommended,
                "errors": errors_for(key),
                "visible": true,
            })
        };
    let mut configs = Vec::new();
    let mut defined: Vec<&str> = Vec::new();
    for d in framework_defs(kind) {
        if defs.iter().any(|p| p.name == d.0) {
            continue; // the plugin's own definition of the key wins
        }
        defined.push(d.0);
        configs.push(json!({
            "definition": key_info_common(d),
            "value": value_of(d.0, d.1, d.2, false, &[]),
        }));
    }
    for a in aliases {
        for (def, order) in &a.defs {
            defined.push(&def.name);
            let hidden = secret(def.ty, def.secret);
            let mut info = key_info_plugin(def);
            info["order"] = json!(order);
            if *order == 0 {
                // `<prefix>type`: Kafka's width and display name.
                info["width"] = json!("LONG");
                let alias = a.group.split_once(": ").map_or("", |(_, alias)| alias);
                let what = if a.prefix.starts_with("transforms.") {
                    "Transformation"
                } else {
                    "Predicate"
                };
                info["display_name"] = json!(format!("{what} type for {alias}"));
            } else {
                info["display_name"] = json!(def.name.strip_prefix(&a.prefix).unwrap_or(&def.name));
            }
            configs.push(json!({
            "definition": info,
            "value": value_of(&def.name, def.ty, def.default.as_deref(), hidden, &def.recommended_values),
        }));
        }
    }
    // The connector's own keys come last, as in Kafka.
    for def in defs {
        defined.push(&def.name);
        let hidden = secret(def.ty, def.secret);
        configs.push(json!({
            "definition": key_info_plugin(def),
            "value": value_of(&def.name, def.ty, def.default.as_deref(), hidden, &def.recommended_values),
        }));
    }
    let mut undefined: Vec<&str> = Vec::new();
    for p in problems {
        if !defined.contains(&p.key.as_str()) && !undefined.contains(&p.key.as_str()) {
            undefined.push(&p.key);
        }
    }
    for key in undefined {
        configs.push(json!({"definition": null, "value": value_of(key, ConfigType::String, None, false, &[])}));
    }
    json!({
        "name": config_get(config, "connector.class").unwrap_or_default(),
        "error_count": problems.len(),
        "groups": groups,
        "configs": configs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, ty: ConfigType, default: Option<&str>, secret: bool) -> ConfigDef {
        ConfigDef {
            name: name.into(),
            ty,
            default: default.map(String::from),
            required: default.is_none(),
            secret,
            importance: Importance::High,
            documentation: format!("{name} doc"),
            group: Some("Files".into()),
            recommended_values: Vec::new(),
            file_access: None,
        }
    }

    #[test]
    fn config_infos_attach_errors_and_hide_passwords() {
        let defs = vec![
            def("file", ConfigType::String, None, false),
            def("api.key", ConfigType::Password, Some("dflt"), true),
        ];
        let config: Config = vec![
            ("connector.class".into(), "FileStreamSink".into()),
            ("api.key".into(), "s3cret".into()),
            ("tasks.max".into(), "0".into()),
        ];
        let problems = vec![
            ConfigProblem {
                key: "file".into(),
                message: "Missing required configuration \"file\" which has no default value."
                    .into(),
            },
            ConfigProblem {
                key: "tasks.max".into(),
                message: "Invalid value 0 for configuration tasks.max: Value must be at least 1"
                    .into(),
            },
            ConfigProblem {
                key: "mystery".into(),
                message: "bad".into(),
            },
        ];
        let infos = config_infos(&config, PluginKind::Sink, &defs, &[], &problems);
        assert_eq!(infos["name"], "FileStreamSink");
        assert_eq!(infos["error_count"], 3);
        assert_eq!(
            infos["groups"],
            json!([
                "Common",
                "Transforms",
                "Predicates",
                "Error Handling",
                "Files"
            ])
        );
        let find = |key: &str| {
            infos["configs"]
                .as_array()
                .expect("configs")
                .iter()
                .find(|c| c["value"]["name"] == key)
                .cloned()
                .unwrap_or_else(|| panic!("no {key}"))
        };
        assert_eq!(
            find("tasks.max"),
            json!({
                "definition": {"name": "tasks.max", "type": "INT", "required": false, "default_value": "1",
                    "importance": "HIGH", "documentation": "Maximum number of tasks to use for this connector.",
                    "group": "Common", "order": 3, "width": "SHORT", "display_name": "Tasks max", "dependents": []},
                "value": {"name": "tasks.max", "value": "0", "recommended_values": [],
                    "errors": ["Invalid value 0 for configuration tasks.max: Value must be at least 1"], "visible": true}
            })
        );
        let key = find("api.key");
        assert_eq!(key["value"]["value"], "[hidden]");
        assert_eq!(key["definition"]["default_value"], "[hidden]");
        assert_eq!(key["definition"]["type"], "PASSWORD");
        assert!(!infos.to_string().contains("s3cret") && !infos.to_string().contains("dflt"));
        let file = find("file");
        assert_eq!(file["definition"]["required"], true);
        assert_eq!(file["value"]["value"], JsonValue::Null);
        assert_eq!(file["value"]["errors"].as_array().map(Vec::len), Some(1));
        assert_eq!(find("mystery")["definition"], JsonValue::Null);
        assert_eq!(find("topics")["definition"]["group"], "Common");
    }

    #[test]
    fn source_infos_have_kafkas_groups_and_unparsed_values_are_null() {
        let config: Config = vec![
            ("connector.class".into(), "FileStreamSource".into()),
            ("tasks.max".into(), "abc".into()),
            ("tasks.max.enforce".into(), "maybe".into()),
        ];
        let problems = vec![ConfigProblem {
            key: "tasks.max".into(),
            message: "Invalid value abc for configuration tasks.max: Not a number of type INT"
                .into(),
        }];
        let infos = config_infos(&config, PluginKind::Source, &[], &[], &problems);
        assert_eq!(
            infos["groups"],
            json!([
                "Common",
                "Transforms",
                "Predicates",
                "Error Handling",
                "Topic Creation",
                "Exactly Once Support",
                "offsets.topic"
            ])
        );
        let by_name: std::collections::HashMap<String, JsonValue> = infos["configs"]
            .as_array()
            .expect("configs")
            .iter()
            .map(|c| {
                (
                    c["value"]["name"].as_str().unwrap_or("").to_string(),
                    c.clone(),
                )
            })
            .collect();
        // As Kafka shows them: a value that does not parse as its type is null.
        assert_eq!(by_name["tasks.max"]["value"]["value"], JsonValue::Null);
        assert_eq!(
            by_name["tasks.max.enforce"]["value"]["value"],
            JsonValue::Null
        );
        for (key, ty, default, group) in [
            ("tasks.max.enforce", "BOOLEAN", json!("true"), "Common"),
            ("topic.creation.groups", "LIST", json!(""), "Topic Creation"),
            (
                "exactly.once.support",
                "STRING",
                json!("requested"),
                "Exactly Once Support",
            ),
            (
                "transaction.boundary",
                "STRING",
                json!("poll"),
                "Exactly Once Support",
            ),
            (
                "transaction.boundary.interval.ms",
                "LONG",
                JsonValue::Null,
                "Exactly Once Support",
            ),
            (
                "offsets.storage.topic",
                "STRING",
                JsonValue::Null,
                "offsets.topic",
            ),
        ] {
            let d = &by_name[key]["definition"];
            assert_eq!(
                (&d["type"], &d["default_value"], &d["group"], &d["required"]),
                (&json!(ty), &default, &json!(group), &json!(false)),
                "{key}"
            );
        }
        // The exactly-once groups are Kafka's source connector keys only.
        let sink = config_infos(&config, PluginKind::Sink, &[], &[], &[]);
        assert!(!sink.to_string().contains("exactly.once.support"));
        assert!(sink.to_string().contains("tasks.max.enforce"));
    }
}
