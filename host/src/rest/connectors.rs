//! `/connectors` and `/connectors/{name}[/config|/status]`: list (with `expand=status|info`),
//! create, info, delete, config get/put/patch and status, in Kafka Connect's JSON shapes and
//! status codes (reference §1.2, §1.3). Lifecycle and task endpoints are in `lifecycle`.
//!
//! Writes are validated completely by the herder before anything changes: an invalid config is
//! a 400 with Kafka's "Connector configuration is invalid…" text and leaves the worker as it was.
//!
//! Secrets (unlike Kafka, which echoes them): every config in a response goes through
//! [`Secrets::mask`] (`[hidden]`), task failure traces and write errors through
//! [`Secrets::redact`]; a PUT or PATCH value of `[hidden]` for a secret key keeps the stored
//! value, so GET-then-PUT loses nothing (`config::secrets` has the rule).
//!
//! Offsets and active topics are in `offsets`. TODO(next): the deprecated `/tasks-config`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Map, Value as JsonValue};

use super::body::{self, bad_request};
use super::{blocking, ApiError, Routes};
use crate::config::secrets::Secrets;
use crate::runtime::herder::{ConnectorStatus, Herder, HerderError, TargetState};
use crate::spec::{Config, PluginKind};

pub(super) type Herd = State<Arc<dyn Herder>>;
type Body = Result<Bytes, BytesRejection>;

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/connectors", &["GET", "POST"], get(list).post(create))
        .add(
            "/connectors/{name}",
            &["GET", "DELETE"],
            get(info).delete(delete),
        )
        .add(
            "/connectors/{name}/config",
            &["GET", "PUT", "PATCH"],
            get(config).put(put_config).patch(patch_config),
        )
        .add("/connectors/{name}/status", &["GET"], get(status))
}

/// `POST /connectors` `{"name":…,"config":{…},"initial_state":…}`: 201 + `Location` +
/// ConnectorInfo.
async fn create(State(herder): Herd, body: Body) -> Result<Response, ApiError> {
    let body = body::json(body)?;
    let request = body::object(&body, "The request body")?;
    for key in request.keys() {
        if !matches!(key.as_str(), "name" | "config" | "initial_state") {
            return Err(bad_request(format!(
                "Unrecognized field {key:?} in the request body; expected \"name\", \"config\" \
                 and optionally \"initial_state\""
            )));
        }
    }
    // Kafka trims the name and lets config validation report an empty one.
    let name = match request.get("name") {
        None | Some(JsonValue::Null) => String::new(),
        Some(JsonValue::String(n)) => n.trim().to_string(),
        Some(other) => {
            return Err(bad_request(format!(
                "\"name\" must be a string, not {}",
                body::kind(other)
            )))
        }
    };
    let mut config =
        match request.get("config") {
            Some(c @ JsonValue::Object(_)) => body::config(body::object(c, "\"config\"")?)?,
            None | Some(JsonValue::Null) => return Err(bad_request(
                "The request body has no \"config\" object (expected {\"name\":…,\"config\":{…}})",
            )),
            Some(other) => {
                return Err(bad_request(format!(
                    "\"config\" must be a JSON object, not {}",
                    body::kind(other)
                )))
            }
        };
    let initial = match request.get("initial_state") {
        None | Some(JsonValue::Null) => TargetState::Started,
        Some(JsonValue::String(s)) => match s.trim().to_ascii_uppercase().as_str() {
            "RUNNING" => TargetState::Started,
            "PAUSED" => TargetState::Paused,
            "STOPPED" => TargetState::Stopped,
            _ => {
                return Err(bad_request(format!(
                    "Invalid initial_state {s:?}; expected RUNNING, PAUSED or STOPPED"
                )))
            }
        },
        Some(other) => {
            return Err(bad_request(format!(
                "\"initial_state\" must be a string (RUNNING, PAUSED or STOPPED), not {}",
                body::kind(other)
            )))
        }
    };
    body::check_and_put_name(&name, &mut config)?;
    let secrets = secrets_of(herder.as_ref(), &config);
    // An existing connector is Kafka's 409, answered by the herder; otherwise a `[hidden]`
    // secret has nothing to stand for.
    if herder.connector_config(&name).is_none() {
        secrets
            .keep_hidden(&mut config, None)
            .map_err(|e| bad_request(e.to_string()))?;
    }
    let h = herder.clone();
    blocking(move || h.create_connector(config, initial))
        .await?
        .map_err(|e| redacted(e, &secrets))?;
    created_response(herder.as_ref(), &name, StatusCode::CREATED)
}

/// ConnectorInfo with `status`, plus `Location` when created.
fn created_response(
    herder: &dyn Herder,
    name: &str,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let info = connector_info(herder, name).ok_or_else(|| not_found(name))?;
    if status == StatusCode::CREATED {
        let location = format!("/connectors/{}", crate::url::encode_segment(name));
        Ok((status, [(header::LOCATION, location)], Json(info)).into_response())
    } else {
        Ok((status, Json(info)).into_response())
    }
}

/// `PUT /connectors/{name}/config`: 201 (+ `Location`) when created, 200 when updated.
async fn put_config(
    State(herder): Herd,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = body::json(body)?;
    let mut config = body::config(body::object(&body, "The connector config")?)?;
    body::check_and_put_name(&name, &mut config)?;
    let secrets = keep_stored_secrets(herder.as_ref(), &name, &mut config)?;
    let (h, n) = (herder.clone(), name.clone());
    let created = blocking(move || h.put_connector_config(&n, config))
        .await?
        .map_err(|e| redacted(e, &secrets))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    created_response(herder.as_ref(), &name, status)
}

/// `PATCH /connectors/{name}/config` (KIP-477): merges the given keys into the config; a
/// `null` value removes its key. 404 when the connector does not exist.
async fn patch_config(
    State(herder): Herd,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = body::json(body)?;
    let patch = body::config_entries(body::object(&body, "The config patch")?, true)?;
    let mut config: Config = herder
        .connector_config(&name)
        .ok_or_else(|| not_found(&name))?;
    for (key, value) in patch {
        match value {
            Some(v) => crate::config::set(&mut config, &key, &v),
            None => config.retain(|(k, _)| *k != key),
        }
    }
    body::check_and_put_name(&name, &mut config)?;
    let secrets = keep_stored_secrets(herder.as_ref(), &name, &mut config)?;
    let (h, n) = (herder.clone(), name.clone());
    blocking(move || h.put_connector_config(&n, config))
        .await?
        .map_err(|e| redacted(e, &secrets))?;
    created_response(herder.as_ref(), &name, StatusCode::OK)
}

/// `DELETE /connectors/{name}`: 204.
async fn delete(State(herder): Herd, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    blocking(move || herder.delete_connector(&name)).await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors[?expand=status&expand=info]`: names, sorted; with `expand`, an object
/// keyed by name. Unknown `expand` values are ignored, as in Kafka.
async fn list(State(herder): Herd, RawQuery(query): RawQuery) -> Json<JsonValue> {
    let mut names = herder.connectors();
    names.sort();
    let expand: Vec<&str> = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("expand="))
        .collect();
    let (with_status, with_info) = (expand.contains(&"status"), expand.contains(&"info"));
    if !with_status && !with_info {
        return Json(json!(names));
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        if with_status {
            if let Some(s) = redacted_status(herder.as_ref(), &name) {
                entry.insert("status".into(), state_info(&s, &herder.worker_id()));
            }
        }
        if with_info {
            if let Some(i) = connector_info(herder.as_ref(), &name) {
                entry.insert("info".into(), i);
            }
        }
        out.insert(name, JsonValue::Object(entry));
    }
    Json(JsonValue::Object(out))
}

/// `GET /connectors/{name}`: ConnectorInfo.
async fn info(State(herder): Herd, Path(name): Path<String>) -> Result<Json<JsonValue>, ApiError> {
    connector_info(herder.as_ref(), &name)
        .map(Json)
        .ok_or_else(|| not_found(&name))
}

/// `GET /connectors/{name}/config`: the config as submitted, secrets masked.
async fn config(
    State(herder): Herd,
    Path(name): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let config = herder
        .connector_config(&name)
        .ok_or_else(|| not_found(&name))?;
    let shown = secrets_of(herder.as_ref(), &config).mask(&config);
    Ok(Json(config_object(&shown)))
}

/// `GET /connectors/{name}/status`: ConnectorStateInfo.
async fn status(
    State(herder): Herd,
    Path(name): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let s = redacted_status(herder.as_ref(), &name)
        .ok_or_else(|| ApiError::not_found(format!("No status found for connector {name}")))?;
    Ok(Json(state_info(&s, &herder.worker_id())))
}

pub(super) fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Connector {name} not found"))
}

/// The secrets of `config`, with the plugins' declarations from the herder's catalog.
pub(super) fn secrets_of(herder: &dyn Herder, config: &Config) -> Secrets {
    Secrets::of(config, herder.plugin_catalog().as_deref())
}

/// The secrets of connector `name`'s stored config (none when it does not exist).
pub(super) fn stored_secrets(herder: &dyn Herder, name: &str) -> Secrets {
    herder
        .connector_config(name)
        .map(|c| secrets_of(herder, &c))
        .unwrap_or_default()
}

/// A write's error as the API answers it, without the secret values the request carried (a
/// plugin's validation message may quote them).
fn redacted(e: HerderError, secrets: &Secrets) -> ApiError {
    let mut error = ApiError::from(e);
    error.message = secrets.redact(&error.message);
    error
}

/// Replaces `[hidden]` secret values of a PUT or PATCH with the stored ones; a 400 when there
/// is none to keep. Returns the secrets of the config about to be written.
fn keep_stored_secrets(
    herder: &dyn Herder,
    name: &str,
    config: &mut Config,
) -> Result<Secrets, ApiError> {
    let secrets = secrets_of(herder, config);
    let stored = herder.connector_config(name);
    let stored_secrets = stored.as_ref().map(|c| secrets_of(herder, c));
    secrets
        .keep_hidden(config, stored.as_ref().zip(stored_secrets.as_ref()))
        .map_err(|e| bad_request(e.to_string()))?;
    // The real values are in `config` now: those are what an error must not quote.
    Ok(secrets_of(herder, config))
}

/// Connector `name`'s status with secret values cut out of its failure traces (a plugin's
/// error may quote its config).
pub(super) fn redacted_status(herder: &dyn Herder, name: &str) -> Option<ConnectorStatus> {
    let mut status = herder.connector_status(name)?;
    let secrets = stored_secrets(herder, name);
    let redact = |trace: &mut Option<String>| {
        if let Some(t) = trace.as_mut() {
            *t = secrets.redact(t);
        }
    };
    redact(&mut status.trace);
    for task in &mut status.tasks {
        redact(&mut task.trace);
    }
    Some(status)
}

pub(super) fn config_object(config: &[(String, String)]) -> JsonValue {
    let mut m = Map::new();
    for (k, v) in config {
        m.insert(k.clone(), JsonValue::String(v.clone()));
    }
    JsonValue::Object(m)
}

/// Kafka's connector `type`: `source`, `sink` or `unknown`.
pub(super) fn type_name(kind: Option<PluginKind>) -> &'static str {
    match kind {
        Some(k @ (PluginKind::Source | PluginKind::Sink)) => k.rest_name(),
        _ => "unknown",
    }
}

/// ConnectorInfo: `{"name","config","tasks":[{"connector","task"}],"type"}`.
fn connector_info(herder: &dyn Herder, name: &str) -> Option<JsonValue> {
    let config = herder.connector_config(name)?;
    let status = herder.connector_status(name);
    let mut ids: Vec<u32> = status
        .iter()
        .flat_map(|s| s.tasks.iter().map(|t| t.id))
        .collect();
    ids.sort_unstable();
    let tasks: Vec<JsonValue> = ids
        .iter()
        .map(|id| json!({"connector": name, "task": id}))
        .collect();
    let shown = secrets_of(herder, &config).mask(&config);
    Some(json!({
        "name": name,
        "config": config_object(&shown),
        "tasks": tasks,
        "type": type_name(status.map(|s| s.kind).or_else(|| herder.connector_kind(name))),
    }))
}

/// ConnectorStateInfo; `trace` is left out when empty, tasks are sorted by id.
pub(super) fn state_info(s: &ConnectorStatus, worker_id: &str) -> JsonValue {
    let with_trace = |mut obj: Map<String, JsonValue>, trace: &Option<String>| {
        if let Some(t) = trace.as_deref().filter(|t| !t.is_empty()) {
            obj.insert("trace".into(), JsonValue::String(t.to_string()));
        }
        JsonValue::Object(obj)
    };
    let mut connector = Map::new();
    connector.insert("state".into(), json!(s.state.as_str()));
    // A status read from a distributed cluster's status topic names the worker running it.
    connector.insert(
        "worker_id".into(),
        json!(s.worker_id.as_deref().unwrap_or(worker_id)),
    );
    let mut tasks: Vec<_> = s.tasks.iter().collect();
    tasks.sort_by_key(|t| t.id);
    let tasks: Vec<JsonValue> = tasks
        .into_iter()
        .map(|t| {
            let mut obj = Map::new();
            obj.insert("id".into(), json!(t.id));
            obj.insert("state".into(), json!(t.state.as_str()));
            obj.insert(
                "worker_id".into(),
                json!(t.worker_id.as_deref().unwrap_or(worker_id)),
            );
            with_trace(obj, &t.trace)
        })
        .collect();
    json!({
        "name": s.name,
        "connector": with_trace(connector, &s.trace),
        "tasks": tasks,
        "type": type_name(Some(s.kind)),
    })
}

#[cfg(test)]
mod tests {
    use crate::rest::test_herder::{request, send_json, start, start_with, FakeHerder};
    use serde_json::json;
    use std::sync::Arc;

    /// Secrets are `[hidden]` in every response that shows a config, traces and write errors
    /// never quote them, and `[hidden]` sent back keeps the stored value.
    #[tokio::test]
    async fn secrets_are_hidden_everywhere_and_kept_on_put() {
        let herder = Arc::new(FakeHerder::default());
        let (addr, _stop, _h) = start_with(herder.clone()).await;
        let (key, jaas) = ("k3y-s3cret-1", "jaas-s3cret-2");
        let config = json!({
            "connector.class": "SecretSource",
            "api.key": key,
            "producer.override.sasl.jaas.config": jaas,
            "db.password": "${env:DB_PW}",
            "note": "[hidden]",
        });
        let body = json!({"name": "vault", "config": config}).to_string();
        let (status, _, created) = send_json(addr, "POST", "/connectors", &body).await;
        assert_eq!(status, 201, "{created}");
        let shown = json!({
            "connector.class": "SecretSource",
            "api.key": "[hidden]",
            "producer.override.sasl.jaas.config": "[hidden]",
            // Only a placeholder: where the secret lives, shown as written.
            "db.password": "${env:DB_PW}",
            // Not a secret key: "[hidden]" is an ordinary value.
            "note": "[hidden]",
            "name": "vault",
        });
        assert_eq!(created["config"], shown);
        let (_, got) = request(addr, "GET", "/connectors/vault/config").await;
        assert_eq!(got, shown);
        let (_, got) = request(addr, "GET", "/connectors/vault").await;
        assert_eq!(got["config"], shown);
        let (_, got) = request(addr, "GET", "/connectors?expand=info&expand=status").await;
        assert_eq!(got["vault"]["info"]["config"], shown);
        let (_, tasks) = request(addr, "GET", "/connectors/vault/tasks").await;
        assert_eq!(tasks[0]["config"]["api.key"], "[hidden]");
        assert_eq!(tasks[0]["config"]["task.credential"], "[hidden]", "{tasks}");
        let (_, got) = request(addr, "GET", "/connectors/vault/status").await;
        assert_eq!(got["tasks"][0]["trace"], "login refused for key [hidden]");
        let (_, got) = request(addr, "GET", "/connectors/vault/tasks/0/status").await;
        assert_eq!(got["trace"], "login refused for key [hidden]");
        for path in [
            "/connectors/vault",
            "/connectors/vault/config",
            "/connectors/vault/tasks",
            "/connectors/vault/status",
            "/connectors/vault/tasks/0/status",
            "/connectors?expand=info&expand=status",
        ] {
            let (_, body) = request(addr, "GET", path).await;
            let text = body.to_string();
            assert!(
                !text.contains(key) && !text.contains(jaas),
                "{path}: {text}"
            );
        }
        let stored = || {
            use crate::runtime::herder::Herder;
            herder.connector_config("vault").expect("stored")
        };

        // GET-then-PUT keeps the real values.
        let (status, _, put) =
            send_json(addr, "PUT", "/connectors/vault/config", &shown.to_string()).await;
        assert_eq!((status, &put["config"]), (200, &shown));
        let s = stored();
        assert_eq!(crate::config::get(&s, "api.key"), Some(key));
        assert_eq!(
            crate::config::get(&s, "producer.override.sasl.jaas.config"),
            Some(jaas)
        );
        assert_eq!(crate::config::get(&s, "note"), Some("[hidden]"));
        // PATCH likewise; a new value replaces the secret.
        let patch = json!({"api.key": "[hidden]", "tasks.max": "2"}).to_string();
        let (status, _, _) = send_json(addr, "PATCH", "/connectors/vault/config", &patch).await;
        assert_eq!(status, 200);
        assert_eq!(crate::config::get(&stored(), "api.key"), Some(key));
        assert_eq!(crate::config::get(&stored(), "tasks.max"), Some("2"));
        let patch = json!({"api.key": "n3w-k3y"}).to_string();
        let (status, _, _) = send_json(addr, "PATCH", "/connectors/vault/config", &patch).await;
        assert_eq!(status, 200);
        assert_eq!(crate::config::get(&stored(), "api.key"), Some("n3w-k3y"));

        // A refused write does not quote the secret it carried.
        let patch = json!({"api.key": "x9z"}).to_string();
        let (status, _, got) = send_json(addr, "PATCH", "/connectors/vault/config", &patch).await;
        assert_eq!(
            (status, got),
            (
                400,
                json!({"error_code": 400, "message": "api.key [hidden] is too short"})
            )
        );

        // `[hidden]` with nothing stored to keep: a precise 400.
        let hidden_message = |what: &str| {
            format!(
                "The value of secret config \"api.key\" is \"[hidden]\", the mask REST \
                 responses show for secrets; {what}. Send the real value or a \
                 ${{provider:…}} placeholder"
            )
        };
        let body = json!({"name": "fresh", "config": {"connector.class": "SecretSource", "api.key": "[hidden]"}});
        let (status, _, got) = send_json(addr, "POST", "/connectors", &body.to_string()).await;
        assert_eq!(
            (status, got["message"].as_str()),
            (
                400,
                Some(
                    hidden_message(
                        "the connector does not exist yet, so there is no stored value to keep"
                    )
                    .as_str()
                )
            )
        );
        let body = json!({"connector.class": "SecretSource", "api.key": "[hidden]"}).to_string();
        let (status, _, got) = send_json(addr, "PUT", "/connectors/fresh/config", &body).await;
        assert_eq!(status, 400, "{got}");
        // An existing connector stays Kafka's 409, whatever the body holds.
        let body = json!({"name": "vault", "config": {"connector.class": "SecretSource", "api.key": "[hidden]"}});
        let (status, _, _) = send_json(addr, "POST", "/connectors", &body.to_string()).await;
        assert_eq!(status, 409);
    }

    #[tokio::test]
    async fn list_is_sorted() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors").await;
        assert_eq!(status, 200);
        assert_eq!(body, json!(["alpha-src", "zeta-sink"]));
        let (_, body) = request(addr, "GET", "/connectors?expand=bogus").await;
        assert_eq!(body, json!(["alpha-src", "zeta-sink"]));
    }

    #[tokio::test]
    async fn list_expands_status_and_info() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors?expand=status&expand=info").await;
        assert_eq!(status, 200);
        assert_eq!(body["alpha-src"]["status"]["connector"]["state"], "RUNNING");
        assert_eq!(body["alpha-src"]["info"]["type"], "source");
        assert_eq!(
            body["zeta-sink"]["info"]["config"]["connector.class"],
            "FileStreamSink"
        );
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["alpha-src", "zeta-sink"]);
        let (_, body) = request(addr, "GET", "/connectors?expand=status").await;
        assert!(body["zeta-sink"].get("info").is_none());
        assert_eq!(body["zeta-sink"]["status"]["type"], "sink");
    }

    #[tokio::test]
    async fn status_matches_kafka_shape() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors/zeta-sink/status").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({
                "name": "zeta-sink",
                "connector": {"state": "RUNNING", "worker_id": "10.0.0.5:8083"},
                "tasks": [
                    {"id": 0, "state": "RUNNING", "worker_id": "10.0.0.5:8083"},
                    {"id": 1, "state": "FAILED", "worker_id": "10.0.0.5:8083", "trace": "boom\n\tat x"}
                ],
                "type": "sink"
            })
        );
        // An empty trace is left out, as in Kafka.
        let (_, body) = request(addr, "GET", "/connectors/alpha-src/status").await;
        assert_eq!(
            body["tasks"][0],
            json!({"id": 0, "state": "RUNNING", "worker_id": "10.0.0.5:8083"})
        );
        assert_eq!(body["type"], "source");
    }

    #[tokio::test]
    async fn missing_connector_is_404_with_kafka_message() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors/ghost/status").await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error_code": 404, "message": "No status found for connector ghost"})
        );
        let (status, body) = request(addr, "GET", "/connectors/ghost").await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error_code": 404, "message": "Connector ghost not found"})
        );
        let (status, _) = request(addr, "GET", "/connectors/ghost/config").await;
        assert_eq!(status, 404);
        let (status, body) = request(addr, "POST", "/connectors/zeta-sink/status").await;
        assert_eq!(status, 405);
        assert_eq!(body["error_code"], 405);
    }

    #[tokio::test]
    async fn info_and_config() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors/zeta-sink").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({
                "name": "zeta-sink",
                "config": {"connector.class": "FileStreamSink", "name": "zeta-sink", "tasks.max": "2"},
                "tasks": [{"connector": "zeta-sink", "task": 0}, {"connector": "zeta-sink", "task": 1}],
                "type": "sink"
            })
        );
        let (status, body) = request(addr, "GET", "/connectors/alpha-src/config").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"connector.class": "FileStreamSource", "name": "alpha-src", "tasks.max": "2"})
        );
        // Insertion order is kept (serde_json preserve_order).
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["connector.class", "name", "tasks.max"]);
    }
}
