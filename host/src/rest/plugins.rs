//! `/connector-plugins`: the plugin list (`connectorsOnly`), a plugin's config definitions
//! (ConfigKeyInfo) and config validation (ConfigInfos), in Kafka's shapes (reference §1.3).
//!
//! The decision to know: validation runs the same `config::check_connector` pass that creating
//! a connector runs, so `/config/validate` reports exactly the problems a create would refuse
//! with; its errors are attached to the key they name (a problem about a key with no
//! definition appears with `"definition": null`, as in Kafka). Password values and defaults
//! are always `[hidden]`.
//!
//! TODO(next): the per-alias `transforms.<a>.*` / `predicates.<a>.*` groups, and the
//! topic-creation and exactly-once groups of source connectors.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value as JsonValue};

use super::body::{self, bad_request};
use super::connectors::Herd;
use super::{blocking, ApiError};
use crate::config::{check_connector, get as config_get};
use crate::runtime::plugin::{
    Config, ConfigDef, ConfigProblem, ConfigType, Importance, PluginKind,
};
use crate::runtime::status::Herder;

pub(super) fn routes() -> Router<Arc<dyn Herder>> {
    Router::new()
        .route("/connector-plugins", get(list))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
}

const HIDDEN: &str = "[hidden]";

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

fn unknown_plugin(plugin: &str) -> ApiError {
    ApiError::not_found(format!("Unknown plugin {plugin}."))
}

/// `GET /connector-plugins/{plugin}/config`: the plugin's own ConfigKeyInfo list.
async fn plugin_config(
    State(herder): Herd,
    Path(plugin): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let found = herder
        .plugin_catalog()
        .and_then(|c| c.find(&plugin))
        .ok_or_else(|| unknown_plugin(&plugin))?;
    let defs: Vec<JsonValue> = found.spec().config.iter().map(key_info_plugin).collect();
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
    let target = catalog
        .find(&plugin)
        .ok_or_else(|| unknown_plugin(&plugin))?;
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
    let problems = blocking(move || match check_connector(&checked, catalog.as_ref()) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    })
    .await?;
    let spec = target.spec();
    Ok(Json(config_infos(
        &config,
        spec.kind,
        &spec.config,
        &problems,
    )))
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
        "config.action.reload",
        ConfigType::String,
        Some("restart"),
        Importance::Low,
        "Common",
        8,
        "MEDIUM",
        "Reload Action",
        "What to do when a config provider reports a change: none or restart.",
    ),
    (
        "transforms",
        ConfigType::List,
        Some(""),
        Importance::Low,
        "Transforms",
        1,
        "LONG",
        "Transforms",
        "Aliases for the transformations to apply to records.",
    ),
    (
        "predicates",
        ConfigType::List,
        Some(""),
        Importance::Low,
        "Predicates",
        1,
        "LONG",
        "Predicates",
        "Aliases for the predicates used by transformations.",
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
    problems: &[ConfigProblem],
) -> JsonValue {
    let mut groups: Vec<String> = ["Common", "Transforms", "Predicates", "Error Handling"]
        .map(String::from)
        .to_vec();
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
    let value_of = |key: &str, default: Option<&str>, hidden: bool, recommended: &[String]| {
        let value = config_get(config, key)
            .map(|v| if hidden { HIDDEN } else { v })
            .or(default.map(|d| if hidden { HIDDEN } else { d }));
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
    let sink: &[CommonDef] = if kind == PluginKind::Sink { SINK } else { &[] };
    for d in COMMON.iter().chain(sink) {
        if defs.iter().any(|p| p.name == d.0) {
            continue; // the plugin's own definition of the key wins
        }
        defined.push(d.0);
        configs.push(json!({
            "definition": key_info_common(d),
            "value": value_of(d.0, d.2, false, &[]),
        }));
    }
    for def in defs {
        defined.push(&def.name);
        let hidden = secret(def.ty, def.secret);
        configs.push(json!({
            "definition": key_info_plugin(def),
            "value": value_of(&def.name, def.default.as_deref(), hidden, &def.recommended_values),
        }));
    }
    let mut undefined: Vec<&str> = Vec::new();
    for p in problems {
        if !defined.contains(&p.key.as_str()) && !undefined.contains(&p.key.as_str()) {
            undefined.push(&p.key);
        }
    }
    for key in undefined {
        configs.push(json!({"definition": null, "value": value_of(key, None, false, &[])}));
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
        let infos = config_infos(&config, PluginKind::Sink, &defs, &problems);
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
}
