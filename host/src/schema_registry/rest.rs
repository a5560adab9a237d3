//! The registry's REST API (Confluent's paths, bodies and error codes), served on the
//! worker's `schema.registry.listeners`.
//!
//! Design decision: the registry's calls block (they read and write the `_schemas` topic), so
//! every handler runs them on tokio's blocking pool, never on an async thread.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value as Json};

use super::{invalid_level, RegistryError, SchemaRegistry, Submitted, VersionSpec};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Shared = Arc<SchemaRegistry>;
type Params = Query<std::collections::HashMap<String, String>>;

fn reply(status: StatusCode, body: Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        reply(
            status,
            json!({"error_code": self.code, "message": self.message}),
        )
    }
}

/// Runs a registry call on the blocking pool and answers with its JSON.
async fn blocking(f: impl FnOnce() -> Result<Json, RegistryError> + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(body)) => reply(StatusCode::OK, body),
        Ok(Err(e)) => e.into_response(),
        Err(e) => RegistryError {
            status: 500,
            code: 50001,
            message: format!("Error in the backend data store: {e}"),
        }
        .into_response(),
    }
}

fn flag(params: &Params, key: &str) -> bool {
    params
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn body_json(body: &Bytes) -> Result<Json, RegistryError> {
    if body.is_empty() {
        return Ok(Json::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| RegistryError {
        status: 422,
        code: 422,
        message: format!("Unrecognized request body: {e}"),
    })
}

fn submitted(body: &Bytes) -> Result<Submitted, RegistryError> {
    let json = body_json(body)?;
    let schema = json
        .get("schema")
        .and_then(Json::as_str)
        .ok_or_else(|| RegistryError {
            status: 422,
            code: 42201,
            message: "Invalid schema: the request has no \"schema\" string".into(),
        })?;
    Ok(Submitted {
        schema: schema.to_string(),
        schema_type: json
            .get("schemaType")
            .and_then(Json::as_str)
            .unwrap_or("AVRO")
            .to_string(),
        references: json
            .get("references")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default(),
    })
}

fn registered_json(r: &super::Registered) -> Json {
    let mut o = serde_json::Map::new();
    o.insert("subject".into(), json!(r.subject));
    o.insert("version".into(), json!(r.version));
    o.insert("id".into(), json!(r.id));
    if r.schema_type != "AVRO" {
        o.insert("schemaType".into(), json!(r.schema_type));
    }
    if !r.references.is_empty() {
        o.insert("references".into(), Json::Array(r.references.clone()));
    }
    o.insert("schema".into(), json!(r.schema));
    Json::Object(o)
}

async fn root() -> Response {
    reply(StatusCode::OK, json!({}))
}

async fn schema_types() -> Response {
    reply(StatusCode::OK, json!(super::SCHEMA_TYPES))
}

async fn subjects(State(r): State<Shared>, params: Params) -> Response {
    let deleted = flag(&params, "deleted");
    blocking(move || Ok(json!(r.subjects(deleted)?))).await
}

async fn versions(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    params: Params,
) -> Response {
    let deleted = flag(&params, "deleted");
    blocking(move || Ok(json!(r.versions(&subject, deleted)?))).await
}

async fn register(State(r): State<Shared>, Path(subject): Path<String>, body: Bytes) -> Response {
    blocking(move || {
        let s = submitted(&body)?;
        let id = r.register(&subject, &s)?;
        Ok(json!({ "id": id }))
    })
    .await
}

async fn lookup(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    params: Params,
    body: Bytes,
) -> Response {
    let deleted = flag(&params, "deleted");
    blocking(move || {
        let s = submitted(&body)?;
        Ok(registered_json(&r.lookup(&subject, &s, deleted)?))
    })
    .await
}

async fn delete_subject(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    params: Params,
) -> Response {
    let permanent = flag(&params, "permanent");
    blocking(move || Ok(json!(r.delete_subject(&subject, permanent)?))).await
}

async fn version(
    State(r): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    params: Params,
) -> Response {
    let deleted = flag(&params, "deleted");
    let format = params.get("format").cloned();
    blocking(move || {
        let v = VersionSpec::parse(&version)?;
        let reg = r.version(&subject, v, deleted)?;
        Ok(registered_json(&r.formatted(reg, format.as_deref())?))
    })
    .await
}

async fn version_schema(
    State(r): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    match tokio::task::spawn_blocking(move || {
        let v = VersionSpec::parse(&version)?;
        r.version(&subject, v, false)
    })
    .await
    {
        // The schema itself, as Confluent answers this path.
        Ok(Ok(reg)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            reg.schema,
        )
            .into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => RegistryError {
            status: 500,
            code: 50001,
            message: e.to_string(),
        }
        .into_response(),
    }
}

async fn delete_version(
    State(r): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    params: Params,
) -> Response {
    let permanent = flag(&params, "permanent");
    blocking(move || {
        let v = VersionSpec::parse(&version)?;
        Ok(json!(r.delete_version(&subject, v, permanent)?))
    })
    .await
}

fn schema_id(raw: &str) -> Result<i32, RegistryError> {
    raw.parse().map_err(|_| RegistryError {
        status: 404,
        code: 40403,
        message: format!("Schema {raw} not found"),
    })
}

async fn schema_by_id(State(r): State<Shared>, Path(id): Path<String>, params: Params) -> Response {
    let format = params.get("format").cloned();
    blocking(move || {
        let reg = r.schema_by_id(schema_id(&id)?)?;
        let reg = r.formatted(reg, format.as_deref())?;
        let mut o = serde_json::Map::new();
        if reg.schema_type != "AVRO" {
            o.insert("schemaType".into(), json!(reg.schema_type));
        }
        if !reg.references.is_empty() {
            o.insert("references".into(), Json::Array(reg.references));
        }
        o.insert("schema".into(), json!(reg.schema));
        Ok(Json::Object(o))
    })
    .await
}

async fn schema_by_id_versions(State(r): State<Shared>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let found = r.id_versions(schema_id(&id)?)?;
        Ok(Json::Array(
            found
                .into_iter()
                .map(|(s, v)| json!({"subject": s, "version": v}))
                .collect(),
        ))
    })
    .await
}

async fn schema_by_id_subjects(State(r): State<Shared>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let mut subjects: Vec<String> = r
            .id_versions(schema_id(&id)?)?
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        subjects.dedup();
        Ok(json!(subjects))
    })
    .await
}

fn compatibility_answer(problems: Vec<String>, verbose: bool) -> Json {
    let mut o = serde_json::Map::new();
    o.insert("is_compatible".into(), json!(problems.is_empty()));
    if verbose {
        o.insert("messages".into(), json!(problems));
    }
    Json::Object(o)
}

async fn compatibility_version(
    State(r): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    params: Params,
    body: Bytes,
) -> Response {
    let verbose = flag(&params, "verbose");
    blocking(move || {
        let v = VersionSpec::parse(&version)?;
        let s = submitted(&body)?;
        Ok(compatibility_answer(
            r.test_compatibility(&subject, Some(v), &s)?,
            verbose,
        ))
    })
    .await
}

async fn compatibility_all(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    params: Params,
    body: Bytes,
) -> Response {
    let verbose = flag(&params, "verbose");
    blocking(move || {
        let s = submitted(&body)?;
        Ok(compatibility_answer(
            r.test_compatibility(&subject, None, &s)?,
            verbose,
        ))
    })
    .await
}

/// The `compatibility` value of a `PUT /config` body.
fn level_of(body: &Bytes) -> Result<String, RegistryError> {
    let json = body_json(body)?;
    json.get("compatibility")
        .or_else(|| json.get("compatibilityLevel"))
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| invalid_level("(missing)"))
}

async fn get_config(State(r): State<Shared>) -> Response {
    blocking(move || Ok(json!({"compatibilityLevel": r.level(None, true)?}))).await
}

async fn put_config(State(r): State<Shared>, body: Bytes) -> Response {
    blocking(move || {
        let level = level_of(&body)?;
        Ok(json!({"compatibility": r.set_level(None, Some(&level))?}))
    })
    .await
}

async fn get_subject_config(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    params: Params,
) -> Response {
    let default_to_global = flag(&params, "defaultToGlobal");
    blocking(move || Ok(json!({"compatibilityLevel": r.level(Some(&subject), default_to_global)?})))
        .await
}

async fn put_subject_config(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    blocking(move || {
        let level = level_of(&body)?;
        Ok(json!({"compatibility": r.set_level(Some(&subject), Some(&level))?}))
    })
    .await
}

async fn delete_subject_config(State(r): State<Shared>, Path(subject): Path<String>) -> Response {
    blocking(move || {
        let previous = r.level(Some(&subject), false)?;
        r.set_level(Some(&subject), None)?;
        Ok(json!({"compatibilityLevel": previous}))
    })
    .await
}

fn mode_of(body: &Bytes) -> Result<String, RegistryError> {
    body_json(body)?
        .get("mode")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| RegistryError {
            status: 422,
            code: 42204,
            message: "Invalid mode: the request has no \"mode\"".into(),
        })
}

async fn get_mode(State(r): State<Shared>) -> Response {
    blocking(move || Ok(json!({"mode": r.mode(None)?}))).await
}

async fn put_mode(State(r): State<Shared>, body: Bytes) -> Response {
    blocking(move || Ok(json!({"mode": r.set_mode(None, &mode_of(&body)?)?}))).await
}

async fn get_subject_mode(State(r): State<Shared>, Path(subject): Path<String>) -> Response {
    blocking(move || Ok(json!({"mode": r.mode(Some(&subject))?}))).await
}

async fn put_subject_mode(
    State(r): State<Shared>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    blocking(move || Ok(json!({"mode": r.set_mode(Some(&subject), &mode_of(&body)?)?}))).await
}

async fn not_found() -> Response {
    RegistryError {
        status: 404,
        code: 404,
        message: "HTTP 404 Not Found".into(),
    }
    .into_response()
}

/// The registry's routes.
pub fn router(registry: Shared) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/versions", get(schema_by_id_versions))
        .route("/schemas/ids/{id}/subjects", get(schema_by_id_subjects))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(version_schema),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility_version),
        )
        .route("/config", get(get_config).put(put_config))
        .route(
            "/config/{subject}",
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route("/mode", get(get_mode).put(put_mode))
        .route(
            "/mode/{subject}",
            get(get_subject_mode).put(put_subject_mode),
        )
        .fallback(not_found)
        .with_state(registry)
}

/// Serves the registry on `listener` (`http://host:port`) until `shutdown` completes.
pub async fn serve(
    listener: &str,
    registry: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), crate::listen::ServeError> {
    // TLS for the Schema Registry is not implemented; `https://` is refused with the worker
    // config (`schema.registry.listeners`).
    crate::listen::serve(
        listener,
        router(registry),
        "Schema Registry API",
        None,
        shutdown,
    )
    .await
}
