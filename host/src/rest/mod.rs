//! The REST API, shaped exactly like Kafka Connect's so existing clients and tooling work
//! unchanged (reference §1): one file per resource (`root`, `connectors`), JSON everywhere,
//! errors as `{"error_code":<status>,"message":…}` — including unknown routes (404) and wrong
//! methods (405), which Kafka's Jersey server also answers in that shape.
//!
//! The design decision to know: handlers only read from the [`Herder`] trait, so the whole API
//! is testable with a fake herder and a real socket, without a broker or plugins.

mod body;
mod connectors;
mod lifecycle;
pub mod loggers;
mod offsets;
mod plugins;
mod root;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::config::{parse_listener, ListenerError};
use crate::runtime::status::{Herder, HerderError};

/// Why the REST server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error(transparent)]
    Listener(#[from] ListenerError),
    #[error("cannot listen on {value:?}: {source}")]
    Bind {
        value: String,
        #[source]
        source: std::io::Error,
    },
}

/// Serves the REST API on `listener` (e.g. "http://0.0.0.0:8083", "http://:8083",
/// "http://localhost:0") until `shutdown` resolves. Returns the bound address (port 0 → real
/// port) once listening.
pub async fn serve(
    listener: &str,
    herder: Arc<dyn Herder>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), RestError> {
    let addr = parse_listener(listener)?;
    let bind_err = |source| RestError::Bind {
        value: listener.to_string(),
        source,
    };
    let socket = tokio::net::TcpListener::bind((addr.host.as_str(), addr.port))
        .await
        .map_err(bind_err)?;
    let local = socket.local_addr().map_err(bind_err)?;
    let app = router(herder);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(socket, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("REST server on {local} stopped: {e}");
        }
    });
    tracing::info!("REST API listening on http://{local}");
    Ok((local, handle))
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
pub(crate) mod tests {
    use super::*;
    use crate::runtime::status::{ConnectorStatus, State, TaskStatus};
    use crate::spec::{Config, PluginKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A herder with two connectors: a running source and a sink with a failed task; it
    /// accepts new connectors that name a `connector.class` (kept in `created`).
    #[derive(Default)]
    pub(crate) struct FakeHerder {
        created: parking_lot::Mutex<Vec<Config>>,
    }

    impl Herder for FakeHerder {
        fn worker_id(&self) -> String {
            "10.0.0.5:8083".into()
        }
        fn kafka_cluster_id(&self) -> Option<String> {
            Some("abc123".into())
        }
        fn connectors(&self) -> Vec<String> {
            let mut names: Vec<String> = vec!["zeta-sink".into(), "alpha-src".into()];
            names.extend(
                self.created
                    .lock()
                    .iter()
                    .filter_map(|c| crate::config::get(c, "name").map(str::to_string)),
            );
            names
        }
        fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
            match name {
                "alpha-src" => Some(ConnectorStatus {
                    name: name.into(),
                    state: State::Running,
                    trace: None,
                    tasks: vec![TaskStatus {
                        id: 0,
                        state: State::Running,
                        trace: Some(String::new()),
                    }],
                    kind: PluginKind::Source,
                }),
                _ if self.is_secret_source(name) => Some(ConnectorStatus {
                    name: name.into(),
                    state: State::Running,
                    trace: None,
                    tasks: vec![TaskStatus {
                        id: 0,
                        state: State::Failed,
                        // A plugin error quoting the secret it was given.
                        trace: crate::config::get(
                            &self.connector_config(name).unwrap_or_default(),
                            "api.key",
                        )
                        .map(|k| format!("login refused for key {k}")),
                    }],
                    kind: PluginKind::Source,
                }),
                "zeta-sink" => Some(ConnectorStatus {
                    name: name.into(),
                    state: State::Running,
                    trace: None,
                    tasks: vec![
                        TaskStatus {
                            id: 1,
                            state: State::Failed,
                            trace: Some("boom\n\tat x".into()),
                        },
                        TaskStatus {
                            id: 0,
                            state: State::Running,
                            trace: None,
                        },
                    ],
                    kind: PluginKind::Sink,
                }),
                _ => None,
            }
        }
        fn create_connector(
            &self,
            config: Config,
            _: crate::runtime::status::TargetState,
        ) -> Result<(), HerderError> {
            let name = crate::config::get(&config, "name")
                .unwrap_or_default()
                .to_string();
            if self.connector_config(&name).is_some() {
                return Err(HerderError::AlreadyExists(format!(
                    "Connector {name} already exists"
                )));
            }
            if crate::config::get(&config, "connector.class").is_none() {
                return Err(HerderError::BadRequest(crate::config::describe_problems(&[
                    crate::spec::ConfigProblem {
                        key: "connector.class".into(),
                        message: "Missing required configuration \"connector.class\" which has no default value.".into(),
                    },
                ])));
            }
            self.created.lock().push(config);
            Ok(())
        }
        fn put_connector_config(&self, name: &str, config: Config) -> Result<bool, HerderError> {
            // Like a plugin's validation message, quoting the value it refuses.
            if let Some(key) = crate::config::get(&config, "api.key").filter(|k| k.len() < 4) {
                return Err(HerderError::BadRequest(format!(
                    "api.key {key} is too short"
                )));
            }
            let mut created = self.created.lock();
            created.retain(|c| crate::config::get(c, "name") != Some(name));
            created.push(config);
            Ok(false)
        }
        fn task_configs(&self, name: &str) -> Option<Vec<Config>> {
            // One task whose plugin copied the secret under another key.
            let mut task = self.connector_config(name)?;
            if let Some(k) = crate::config::get(&task, "api.key").map(str::to_string) {
                task.push(("task.credential".into(), k));
            }
            Some(vec![task])
        }
        fn plugin_catalog(&self) -> Option<Arc<dyn crate::runtime::plugin::PluginCatalog>> {
            Some(Arc::new(SecretCatalog))
        }
        fn set_target_state(
            &self,
            name: &str,
            _: crate::runtime::status::TargetState,
        ) -> Result<(), HerderError> {
            match self.connector_config(name) {
                Some(_) => Ok(()),
                None => Err(HerderError::NotFound(format!("Connector {name} not found"))),
            }
        }
        fn connector_offsets(
            &self,
            name: &str,
        ) -> Result<Vec<crate::runtime::status::ConnectorOffset>, HerderError> {
            let obj = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
            match name {
                "alpha-src" => Ok(vec![crate::runtime::status::ConnectorOffset {
                    partition: obj(serde_json::json!({"filename": "/tmp/a.txt"})),
                    offset: Some(obj(serde_json::json!({"position": 42}))),
                }]),
                _ => Err(HerderError::NotFound(format!("Connector {name} not found"))),
            }
        }
        fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
            match name {
                "alpha-src" => Ok(vec!["t1".into(), "t2".into()]),
                _ => Err(HerderError::NotFound(format!("Connector {name} not found"))),
            }
        }
        fn connector_config(&self, name: &str) -> Option<Config> {
            if let Some(c) = self
                .created
                .lock()
                .iter()
                .find(|c| crate::config::get(c, "name") == Some(name))
            {
                return Some(c.clone());
            }
            let class = match name {
                "alpha-src" => "FileStreamSource",
                "zeta-sink" => "FileStreamSink",
                _ => return None,
            };
            Some(vec![
                ("connector.class".into(), class.into()),
                ("name".into(), name.into()),
                ("tasks.max".into(), "2".into()),
            ])
        }
    }

    impl FakeHerder {
        fn is_secret_source(&self, name: &str) -> bool {
            self.created.lock().iter().any(|c| {
                crate::config::get(c, "name") == Some(name)
                    && crate::config::get(c, "connector.class") == Some("SecretSource")
            })
        }
    }

    /// A catalog of one source, `SecretSource`, whose `api.key` is a PASSWORD.
    struct SecretCatalog;

    impl crate::runtime::plugin::PluginCatalog for SecretCatalog {
        fn find(&self, class: &str) -> Option<Arc<dyn crate::runtime::plugin::Plugin>> {
            (class == "SecretSource").then(|| Arc::new(SecretSource::new()) as _)
        }
        fn plugins(&self) -> Vec<Arc<dyn crate::runtime::plugin::Plugin>> {
            vec![Arc::new(SecretSource::new())]
        }
    }

    /// Only its spec matters here: the REST layer reads which keys are secret from it.
    struct SecretSource(crate::spec::PluginSpec);

    impl SecretSource {
        fn new() -> Self {
            use crate::spec::{ConfigDef, ConfigType, Importance, PluginSpec};
            SecretSource(PluginSpec {
                name: "SecretSource".into(),
                aliases: Vec::new(),
                version: "1.0".into(),
                kind: PluginKind::Source,
                description: String::new(),
                config: vec![ConfigDef {
                    name: "api.key".into(),
                    ty: ConfigType::Password,
                    default: None,
                    required: true,
                    secret: true,
                    importance: Importance::High,
                    documentation: String::new(),
                    group: None,
                    recommended_values: Vec::new(),
                    file_access: None,
                }],
            })
        }
    }

    impl crate::runtime::plugin::Plugin for SecretSource {
        fn spec(&self) -> &crate::spec::PluginSpec {
            &self.0
        }
        fn validate(
            &self,
            _: &Config,
        ) -> Result<Vec<crate::spec::ConfigProblem>, crate::runtime::task::TaskError> {
            Ok(Vec::new())
        }
        fn task_configs(
            &self,
            c: &Config,
            _: u32,
        ) -> Result<Vec<Config>, crate::runtime::task::TaskError> {
            Ok(vec![c.clone()])
        }
        fn open_source(
            &self,
            _: &crate::runtime::plugin::TaskId,
            _: &Config,
            _: Vec<crate::data::SourcePosition>,
        ) -> Result<Box<dyn crate::runtime::task::SourceTask>, crate::runtime::task::TaskError>
        {
            Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
        }
        fn open_sink(
            &self,
            _: &crate::runtime::plugin::TaskId,
            _: &Config,
        ) -> Result<Box<dyn crate::runtime::task::SinkTask>, crate::runtime::task::TaskError>
        {
            Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
        }
        fn open_transform(
            &self,
            _: &crate::runtime::plugin::TaskId,
            _: &str,
            _: &Config,
        ) -> Result<Box<dyn crate::runtime::task::Transform>, crate::runtime::task::TaskError>
        {
            Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
        }
        fn open_predicate(
            &self,
            _: &crate::runtime::plugin::TaskId,
            _: &str,
            _: &Config,
        ) -> Result<Box<dyn crate::runtime::task::Predicate>, crate::runtime::task::TaskError>
        {
            Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
        }
    }

    /// Starts the API on a free port; returns its address and a trigger that stops it.
    pub(crate) async fn start() -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        start_with(Arc::new(FakeHerder::default())).await
    }

    /// [`start`] over a given herder (so a test can look at what it stored).
    pub(crate) async fn start_with(
        herder: Arc<FakeHerder>,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, handle) = serve("http://127.0.0.1:0", herder, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
        (addr, tx, handle)
    }

    /// One HTTP/1.1 request over a raw socket; returns the status and the parsed JSON body.
    pub(crate) async fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
    ) -> (u16, serde_json::Value) {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read");
        let text = String::from_utf8(buf).expect("utf8");
        let (head, body) = text.split_once("\r\n\r\n").expect("http response");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "not JSON: {head}"
        );
        let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("body {body:?}: {e}"));
        (status, json)
    }

    /// One HTTP/1.1 request with a body; returns the status, the head (lower-cased) and the
    /// body text.
    pub(crate) async fn send(
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, String, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.expect("write");
        // A server may answer (413) before reading the whole body.
        let _ = s.write_all(body).await;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("http response");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        (status, head.to_ascii_lowercase(), body.to_string())
    }

    /// `send`, expecting a JSON body.
    pub(crate) async fn send_json(
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, String, serde_json::Value) {
        let (status, head, text) = send(addr, method, path, body.as_bytes()).await;
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("body {text:?}: {e}"));
        (status, head, json)
    }

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
