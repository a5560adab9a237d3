//! The REST API, shaped exactly like Kafka Connect's so existing clients and tooling work
//! unchanged (reference §1): one file per resource (`root`, `connectors`), JSON everywhere,
//! errors as `{"error_code":<status>,"message":…}` — including unknown routes (404) and wrong
//! methods (405), which Kafka's Jersey server also answers in that shape.
//!
//! The design decision to know: handlers only read from the [`Herder`] trait, so the whole API
//! is testable with a fake herder and a real socket, without a broker or plugins.

pub mod auth;
mod body;
mod connectors;
mod cors;
mod forward;
mod lifecycle;
pub mod loggers;
pub mod metrics;
mod offsets;
mod plugins;
mod root;
#[cfg(test)]
mod test_herder;
mod ui;

pub use forward::CONFLICTING_OPERATION;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::config::rest_security::RestSecurity;
use crate::listen::ServeError;
use crate::runtime::herder::{Herder, HerderError};

/// Serves the REST API on `listener` (e.g. "http://0.0.0.0:8083", "http://:8083",
/// "http://localhost:0") until `shutdown` resolves, without TLS, authentication or CORS.
/// Returns the bound address (port 0 → real port) once listening.
pub async fn serve(
    listener: &str,
    herder: Arc<dyn Herder>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ServeError> {
    crate::listen::serve(listener, router(herder), "REST API", None, shutdown).await
}

/// Which routes a listener serves: `admin.listeners` moves `/admin/*` to listeners of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    /// `listeners` when `admin.listeners` is set: everything but `/admin/*`.
    NoAdmin,
    /// `admin.listeners`: `/admin/*` only.
    AdminOnly,
}

fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

async fn filter_scope(
    axum::extract::State(scope): axum::extract::State<Scope>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let admin = is_admin_path(request.uri().path());
    let served = match scope {
        Scope::All => true,
        Scope::NoAdmin => !admin,
        Scope::AdminOnly => admin,
    };
    if served {
        next.run(request).await
    } else {
        ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found").into_response()
    }
}

/// The API's routes behind the configured controls, outermost first: CORS (preflights are
/// answered before authentication: browsers send them without credentials), basic
/// authentication, then the listener's scope.
pub fn secured_router(
    herder: Arc<dyn Herder>,
    scope: Scope,
    basic_auth: Option<Arc<auth::BasicAuth>>,
    cors: Option<Arc<cors::Cors>>,
) -> Router {
    let mut app = router(herder);
    if scope != Scope::All {
        app = app.layer(axum::middleware::from_fn_with_state(scope, filter_scope));
    }
    if let Some(a) = basic_auth {
        app = app.layer(axum::middleware::from_fn_with_state(a, auth::require));
    }
    if let Some(c) = cors {
        app = app.layer(axum::middleware::from_fn_with_state(c, cors::handle));
    }
    app
}

/// Serves the REST API on every entry of `listeners` (and `/admin/*` on `admin.listeners` when
/// set) with `security`'s TLS, authentication and CORS, until `shutdown` resolves. Returns
/// the first listener's bound address (the worker's identity) and a task that ends when every
/// server has stopped.
pub async fn serve_secured(
    listeners: &[String],
    security: &RestSecurity,
    herder: Arc<dyn Herder>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ServeError> {
    let basic_auth = match &security.basic_auth_file {
        Some(path) => Some(Arc::new(
            auth::BasicAuth::new(path.clone()).map_err(ServeError::Security)?,
        )),
        None => None,
    };
    let cors = security.cors.as_ref().map(|c| Arc::new(cors::Cors::new(c)));
    let (main_scope, admin) = match &security.admin_listeners {
        None => (Scope::All, Vec::new()),
        Some(admin) => (Scope::NoAdmin, admin.clone()),
    };
    // One shutdown signal, many servers.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let mut first = None;
    let mut tasks = Vec::new();
    let plan = listeners
        .iter()
        .map(|l| (l, main_scope, security.tls.clone(), "REST API"))
        .chain(admin.iter().map(|l| {
            (
                l,
                Scope::AdminOnly,
                security.admin_tls.clone(),
                "REST admin API",
            )
        }));
    for (listener, scope, tls, what) in plan {
        let app = secured_router(herder.clone(), scope, basic_auth.clone(), cors.clone());
        let mut stopped = stopped.clone();
        let (addr, task) = crate::listen::serve(listener, app, what, tls, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await?;
        first.get_or_insert(addr);
        tasks.push(task);
    }
    let addr = first.ok_or(ServeError::Security(
        "listeners: no REST listener configured".to_string(),
    ))?;
    let all = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    Ok((addr, all))
}

/// The router under construction plus the table of every (method, path) it serves, so the
/// OpenAPI document (docs/openapi.json) can be checked against the routes actually served:
/// every route goes through [`Routes::add`], which records what it registers.
pub(crate) struct Routes {
    router: Router<Arc<dyn Herder>>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    /// Registers `handlers` on `path`; `methods` lists the methods `handlers` answers (a test
    /// sends every method to every path and fails when the two disagree).
    pub(crate) fn add(
        mut self,
        path: &'static str,
        methods: &[&'static str],
        handlers: axum::routing::MethodRouter<Arc<dyn Herder>>,
    ) -> Self {
        self.router = self.router.route(path, handlers);
        self.table.extend(methods.iter().map(|m| (*m, path)));
        self
    }
}

fn all_routes() -> Routes {
    let r = Routes {
        router: Router::new(),
        table: Vec::new(),
    };
    let r = root::routes(r);
    let r = connectors::routes(r);
    let r = lifecycle::routes(r);
    let r = offsets::routes(r);
    let r = plugins::routes(r);
    let r = metrics::routes(r);
    let r = ui::routes(r);
    loggers::routes(r)
}

/// Every (method, path) the API serves, sorted (paths in axum's `{param}` syntax, which is
/// also OpenAPI's).
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    let mut t = all_routes().table;
    t.sort_by_key(|(m, p)| (*p, *m));
    t
}

/// The API's routes over `herder` (exposed for in-process use and tests).
pub fn router(herder: Arc<dyn Herder>) -> Router {
    all_routes()
        .router
        // Outermost after the body limit: a request another worker must answer (a follower's
        // write in distributed mode) is relayed before any handler sees it.
        .layer(axum::middleware::from_fn_with_state(
            herder.clone(),
            forward::route_request,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "HTTP 405 Method Not Allowed",
            )
        })
        .with_state(herder)
}

/// Kafka Connect's error body: `{"error_code":<status>,"message":…}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        let status = match &e {
            HerderError::NotFound(_) => StatusCode::NOT_FOUND,
            HerderError::AlreadyExists(_) => StatusCode::CONFLICT,
            HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::Forbidden(_) => StatusCode::FORBIDDEN,
            HerderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HerderError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            HerderError::Conflict(_) => StatusCode::CONFLICT,
            HerderError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Runs a herder call that may block (it stops and starts task threads, calls plugins, writes
/// files) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the worker operation failed: {e}"),
        )
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error_code": self.status.as_u16(), "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::test_herder::{request, send, send_json, start, FakeHerder};
    use super::*;

    #[tokio::test]
    async fn write_requests_with_bad_bodies_are_precise_4xx() {
        let (addr, _stop, _h) = start().await;
        let cases: &[(&str, &str, &str, u16, &str)] = &[
            ("POST", "/connectors", "{\"name\": ", 400, "Request body is not valid JSON: EOF while parsing a value at line 1 column 9"),
            ("POST", "/connectors", "", 400, "Request body is empty; expected a JSON object"),
            ("POST", "/connectors", "[1]", 400, "The request body must be a JSON object of string keys and values, not an array"),
            ("POST", "/connectors", r#"{"name":"n"}"#, 400, "The request body has no \"config\" object (expected {\"name\":…,\"config\":{…}})"),
            ("POST", "/connectors", r#"{"name":5,"config":{}}"#, 400, "\"name\" must be a string, not a number"),
            ("POST", "/connectors", r#"{"name":"n","config":{"a":[1]}}"#, 400, "Config value of \"a\" is an array; expected a string, number or boolean"),
            ("POST", "/connectors", r#"{"name":"n","config":{},"extra":1}"#, 400, "Unrecognized field \"extra\" in the request body; expected \"name\", \"config\" and optionally \"initial_state\""),
            ("POST", "/connectors", r#"{"name":"n","config":{},"initial_state":"GO"}"#, 400, "Invalid initial_state \"GO\"; expected RUNNING, PAUSED or STOPPED"),
            ("POST", "/connectors", r#"{"name":"n","config":{"name":"m"}}"#, 400, "Connector name configuration (m) doesn't match connector name in the URL (n)"),
            ("POST", "/connectors", r#"{"name":"alpha-src","config":{"connector.class":"X"}}"#, 409, "Connector alpha-src already exists"),
            ("PUT", "/connectors/a/config", r#"{"name":"b"}"#, 400, "Connector name configuration (b) doesn't match connector name in the URL (a)"),
            ("PATCH", "/connectors/ghost/config", r#"{"k":null}"#, 404, "Connector ghost not found"),
            ("PUT", "/connectors/ghost/pause", "", 404, "Unknown connector ghost"),
            ("PUT", "/connectors/ghost/resume", "", 404, "Unknown connector ghost"),
            ("GET", "/connectors/zeta-sink/tasks/9/status", "", 404, "No status found for task zeta-sink-9"),
            ("GET", "/connectors/zeta-sink/tasks/x/status", "", 404, "No status found for task zeta-sink-x"),
            ("GET", "/connector-plugins/Nope/config", "", 404, "Unknown plugin Nope."),
        ];
        for (method, path, body, status, message) in cases {
            let (got, _, json) = send_json(addr, method, path, body).await;
            assert_eq!(
                (got, json),
                (
                    *status,
                    serde_json::json!({"error_code": status, "message": message})
                ),
                "{method} {path} {body}"
            );
        }
        // Invalid config: Kafka's message, from the herder's validation.
        let (got, _, json) =
            send_json(addr, "POST", "/connectors", r#"{"name":"n","config":{}}"#).await;
        assert_eq!(got, 400);
        assert_eq!(
            json["message"],
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             Missing required configuration \"connector.class\" which has no default value.\n\
             You can also find the above list of errors at the endpoint \
             `/connector-plugins/{connectorType}/config/validate`"
        );
        // Oversized: 413 with a JSON body, never a 500 or a plain-text page.
        let big = format!(
            r#"{{"name":"n","config":{{"a":"{}"}}}}"#,
            "x".repeat(body::MAX_BODY_BYTES)
        );
        let (got, _, text) = send(addr, "POST", "/connectors", big.as_bytes()).await;
        assert_eq!(got, 413);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).expect("json"),
            serde_json::json!({"error_code": 413, "message": format!("Request body is larger than the limit of {} bytes", body::MAX_BODY_BYTES)})
        );
    }

    #[tokio::test]
    async fn create_trims_the_name_injects_it_and_answers_201_with_location() {
        let (addr, _stop, _h) = start().await;
        let (status, head, json) = send_json(
            addr,
            "POST",
            "/connectors",
            r#"{"name":"  new one ","config":{"connector.class":"FileStreamSource","tasks.max":2}}"#,
        )
        .await;
        assert_eq!(status, 201, "{json}");
        assert!(
            head.contains("location: /connectors/new%20one\r\n"),
            "{head}"
        );
        assert_eq!(
            json,
            serde_json::json!({
                "name": "new one",
                "config": {"connector.class": "FileStreamSource", "tasks.max": "2", "name": "new one"},
                "tasks": [],
                "type": "unknown"
            })
        );
        let (status, _, _) = send(addr, "PUT", "/connectors/new%20one/pause", b"").await;
        assert_eq!(status, 202);
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_are_json_errors() {
        let (addr, stop, handle) = start().await;
        let (status, body) = request(addr, "GET", "/nope").await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            serde_json::json!({"error_code":404,"message":"HTTP 404 Not Found"})
        );
        let (status, body) = request(addr, "DELETE", "/").await;
        assert_eq!(status, 405);
        assert_eq!(
            body,
            serde_json::json!({"error_code":405,"message":"HTTP 405 Method Not Allowed"})
        );
        stop.send(()).expect("server alive");
        handle.await.expect("server task ends after shutdown");
    }

    /// docs/openapi.json documents exactly the routes served, and every route answers exactly
    /// the methods the table lists (any other method is the 405 fallback).
    #[tokio::test]
    async fn openapi_document_and_routes_agree() {
        let doc: serde_json::Value =
            serde_json::from_str(root::OPENAPI).expect("docs/openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if method != "parameters" {
                    documented.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        documented.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        let served: Vec<(String, String)> = route_table()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(served, documented, "routes vs docs/openapi.json");

        let (addr, _stop, _h) = start().await;
        let mut paths: Vec<&str> = route_table().into_iter().map(|(_, p)| p).collect();
        paths.dedup();
        for path in paths {
            let concrete = path
                .replace("{name}", "alpha-src")
                .replace("{task}", "0")
                .replace("{plugin}", "Nope")
                .replace("{logger}", "root");
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let listed = route_table().contains(&(method, path));
                let (status, _, body) = send(addr, method, &concrete, b"").await;
                assert_eq!(
                    status == 405,
                    !listed,
                    "{method} {path}: {status} {body} (listed: {listed})"
                );
            }
        }
        let (status, head, body) = send(addr, "GET", "/openapi.json", b"").await;
        assert_eq!(status, 200);
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(body, root::OPENAPI);
    }

    #[tokio::test]
    async fn bind_error_names_the_listener() {
        let (addr, _stop, _h) = start().await;
        let taken = format!("http://127.0.0.1:{}", addr.port());
        let e = serve(
            &taken,
            Arc::new(FakeHerder::default()),
            std::future::pending(),
        )
        .await
        .expect_err("must fail");
        assert!(e.to_string().contains(&taken), "{e}");
    }
}
