//! The REST API, shaped exactly like Kafka Connect's so existing clients and tooling work
//! unchanged (reference §1): one file per resource (`root`, `connectors`), JSON everywhere,
//! errors as `{"error_code":<status>,"message":…}` — including unknown routes (404) and wrong
//! methods (405), which Kafka's Jersey server also answers in that shape.
//!
//! The design decision to know: handlers only read from the [`Herder`] trait, so the whole API
//! is testable with a fake herder and a real socket, without a broker or plugins.

mod connectors;
mod root;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::runtime::status::Herder;

const ACCEPTED_FORM: &str =
    "expected http://<host>:<port>, e.g. http://0.0.0.0:8083 or http://:8083 (empty host = all \
     interfaces, port 0 = any free port)";

/// Why the REST server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("invalid listener {value:?}: {message}; {ACCEPTED_FORM}")]
    Listener { value: String, message: String },
    #[error("cannot listen on {value:?}: {source}")]
    Bind {
        value: String,
        #[source]
        source: std::io::Error,
    },
}

/// A parsed `listeners` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerAddr {
    /// Host name or IP (IPv6 without brackets); empty in the config means all interfaces and
    /// is stored here as `0.0.0.0`.
    pub host: String,
    pub port: u16,
}

/// Parses one `listeners` entry (`http://host:port`). Pure: no name resolution.
pub fn parse_listener(value: &str) -> Result<ListenerAddr, RestError> {
    let err = |message: &str| RestError::Listener {
        value: value.to_string(),
        message: message.to_string(),
    };
    let trimmed = value.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| err("missing the http:// scheme"))?;
    if scheme.eq_ignore_ascii_case("https") {
        // TODO(next): TLS listeners (`listeners.https.*`).
        return Err(err("HTTPS listeners are not supported yet"));
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(err(&format!("unsupported scheme {scheme:?}")));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| err("unclosed '[' in IPv6 host"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| err("missing :<port>"))?;
        (host, port)
    } else {
        rest.rsplit_once(':')
            .ok_or_else(|| err("missing :<port>"))?
    };
    if host.contains(['/', ' ', '@']) {
        return Err(err("the host contains '/', ' ' or '@'"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| err(&format!("port {port:?} is not a number from 0 to 65535")))?;
    let host = if host.is_empty() {
        "0.0.0.0".to_string()
    } else {
        host.to_string()
    };
    Ok(ListenerAddr { host, port })
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

/// The API's routes over `herder` (exposed for in-process use and tests).
pub fn router(herder: Arc<dyn Herder>) -> Router {
    Router::new()
        .merge(root::routes())
        .merge(connectors::routes())
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error_code": self.status.as_u16(), "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runtime::plugin::{Config, PluginKind};
    use crate::runtime::status::{ConnectorStatus, State, TaskStatus};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A herder with two connectors: a running source and a sink with a failed task.
    pub(crate) struct FakeHerder;

    impl Herder for FakeHerder {
        fn worker_id(&self) -> String {
            "10.0.0.5:8083".into()
        }
        fn kafka_cluster_id(&self) -> Option<String> {
            Some("abc123".into())
        }
        fn connectors(&self) -> Vec<String> {
            vec!["zeta-sink".into(), "alpha-src".into()]
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
        fn connector_config(&self, name: &str) -> Option<Config> {
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

    /// Starts the API on a free port; returns its address and a trigger that stops it.
    pub(crate) async fn start() -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, handle) = serve("http://127.0.0.1:0", Arc::new(FakeHerder), async {
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

    #[test]
    fn listener_forms() {
        let p = |s| parse_listener(s).map(|a| (a.host, a.port));
        assert_eq!(
            p("http://0.0.0.0:8083").ok(),
            Some(("0.0.0.0".into(), 8083))
        );
        assert_eq!(p("http://:8083").ok(), Some(("0.0.0.0".into(), 8083)));
        assert_eq!(p("HTTP://localhost:0").ok(), Some(("localhost".into(), 0)));
        assert_eq!(p("http://[::1]:9000/").ok(), Some(("::1".into(), 9000)));
        for bad in [
            "localhost:8083",
            "http://host",
            "http://h:99999",
            "https://h:1",
            "ftp://h:1",
        ] {
            let e = parse_listener(bad).expect_err("must fail").to_string();
            assert!(e.contains(bad), "{e}");
            assert!(e.contains("expected http://<host>:<port>"), "{e}");
        }
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

    #[tokio::test]
    async fn bind_error_names_the_listener() {
        let (addr, _stop, _h) = start().await;
        let taken = format!("http://127.0.0.1:{}", addr.port());
        let e = serve(&taken, Arc::new(FakeHerder), std::future::pending())
            .await
            .expect_err("must fail");
        assert!(e.to_string().contains(&taken), "{e}");
    }
}
