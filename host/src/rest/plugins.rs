//! `/connector-plugins`: the plugin list (`connectorsOnly`), a plugin's config definitions
//! (ConfigKeyInfo) and config validation (ConfigInfos), in Kafka's shapes (reference §1.3).
//!
//! The decision to know: validation runs the same `config::compile` pass that creating
//! a connector runs, so `/config/validate` reports exactly the problems a create would refuse
//! with; its errors are attached to the key they name (a problem about a key with no
//! definition appears with `"definition": null`, as in Kafka). Password values and defaults
//! are always `[hidden]`.
//!
//! Each transform and predicate alias gets its `Transforms: <alias>` / `Predicates: <alias>`
//! group (Kafka's `ConnectorConfig.enrich`), with the plugin's own keys under the prefix.
//! Source connectors also get Kafka's `Topic Creation`, `Exactly Once Support` and
//! `offsets.topic` groups (Kafka's definitions: `config::framework`; what Sluice accepts in
//! them: `config::compile`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, put};
use axum::Json;
use serde_json::{json, Value as JsonValue};

use super::body::{self, bad_request};
use super::connectors::Herd;
use super::lifecycle::flag;
use super::{blocking, ApiError, Routes};
use crate::config::secrets::{host_secret, HIDDEN};
use crate::config::{
    alias_groups, check_type, compile, framework_defs, get as config_get, AliasGroup, FrameworkDef,
};
use crate::runtime::plugin::PluginCapability;
use crate::spec::{Config, ConfigDef, ConfigProblem, ConfigType, Importance, PluginKind};

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
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == "connectorsOnly" && v.eq_ignore_ascii_case("false"));
    // Sluice's extension, only on request (`capabilities=true`, as the dashboard asks):
    // Kafka Connect's clients and the differential test expect PluginInfo's exact fields.
    let with_capabilities = flag(query.as_deref(), "capabilities");
    // (class, type, version, capabilities)
    let mut entries: Vec<(String, &'static str, Option<String>, Vec<PluginCapability>)> =
        Vec::new();
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
        entries.push((
            spec.name.clone(),
            spec.kind.rest_name(),
            version,
            p.capabilities(),
        ));
    }
    if !connectors_only {
        let version = Some(env!("CARGO_PKG_VERSION").to_string());
        for class in crate::convert::converter_classes() {
            entries.push((class.to_string(), "converter", version.clone(), Vec::new()));
        }
        for class in crate::convert::header_converter_classes() {
            entries.push((
                class.to_string(),
                "header_converter",
                version.clone(),
                Vec::new(),
            ));
        }
    }
    entries.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    entries.dedup_by(|a, b| (&a.0, a.1, &a.2) == (&b.0, b.1, &b.2));
    let list = entries
        .into_iter()
        .map(|(class, ty, version, capabilities)| {
            let mut o = json!({"class": class, "type": ty});
            if let Some(v) = version {
                o["version"] = JsonValue::String(v);
            }
            // Sluice's addition to Kafka's PluginInfo: what a WebAssembly plugin's sandbox
            // can be granted, and by which connector keys (the dashboard shows them).
            if with_capabilities && !capabilities.is_empty() {
                o["capabilities"] = capabilities
                    .into_iter()
                    .map(|c| json!({"name": c.name, "granted_by": c.granted_by}))
                    .collect();
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
        if !spec.config.iter().any(|p| p.name == d.name) {
            defs.push(key_info_framework(d));
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
    let problems = blocking(move || match compile(&checked, checker.as_ref()) {
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

fn key_info_framework(d: &FrameworkDef) -> JsonValue {
    json!({
        "name": d.name,
        "type": d.ty.rest_name(),
        "required": d.required(),
        "default_value": d.default,
        "importance": importance(d.importance),
        "documentation": d.documentation,
        "group": d.group,
        "order": d.order,
        "width": d.width,
        "display_name": d.display_name,
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
        if defs.iter().any(|p| p.name == d.name) {
            continue; // the plugin's own definition of the key wins
        }
        defined.push(d.name);
        configs.push(json!({
            "definition": key_info_framework(d),
            "value": value_of(d.name, d.ty, d.default, false, &[]),
        }));
    }
    for a in aliases {
        for (order, def) in a.defs.iter().enumerate() {
            defined.push(&def.name);
            let hidden = secret(def.ty, def.secret);
            let mut info = key_info_plugin(def);
            info["order"] = json!(order);
            if order == 0 {
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
