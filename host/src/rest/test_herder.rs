//! Test doubles for the REST layer: [`FakeHerder`], a herder with a fixed set of connectors
//! (and one plugin whose `api.key` is secret), the API served over it on a free port, and a
//! raw HTTP/1.1 client to talk to it.
//!
//! Design decision: requests go over a real socket, not through `tower::ServiceExt`, so the
//! tests see what a client sees (status line, headers, body limits, the 404/405 fallbacks).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::serve;
use crate::runtime::herder::{ConnectorStatus, Herder, HerderError, State, TaskStatus};
use crate::spec::{Config, PluginKind};

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
                    worker_id: None,
                    trace: Some(String::new()),
                }],
                kind: PluginKind::Source,
                worker_id: None,
            }),
            _ if self.is_secret_source(name) => Some(ConnectorStatus {
                name: name.into(),
                state: State::Running,
                trace: None,
                tasks: vec![TaskStatus {
                    id: 0,
                    state: State::Failed,
                    worker_id: None,
                    // A plugin error quoting the secret it was given.
                    trace: crate::config::get(
                        &self.connector_config(name).unwrap_or_default(),
                        "api.key",
                    )
                    .map(|k| format!("login refused for key {k}")),
                }],
                kind: PluginKind::Source,
                worker_id: None,
            }),
            "zeta-sink" => Some(ConnectorStatus {
                name: name.into(),
                state: State::Running,
                trace: None,
                tasks: vec![
                    TaskStatus {
                        id: 1,
                        state: State::Failed,
                        worker_id: None,
                        trace: Some("boom\n\tat x".into()),
                    },
                    TaskStatus {
                        id: 0,
                        state: State::Running,
                        worker_id: None,
                        trace: None,
                    },
                ],
                kind: PluginKind::Sink,
                worker_id: None,
            }),
            _ => None,
        }
    }
    fn create_connector(
        &self,
        config: Config,
        _: crate::runtime::herder::TargetState,
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
        _: crate::runtime::herder::TargetState,
    ) -> Result<(), HerderError> {
        match self.connector_config(name) {
            Some(_) => Ok(()),
            None => Err(HerderError::NotFound(format!("Connector {name} not found"))),
        }
    }
    fn connector_offsets(
        &self,
        name: &str,
    ) -> Result<Vec<crate::offsets::ConnectorOffset>, HerderError> {
        let obj = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        match name {
            "alpha-src" => Ok(vec![crate::offsets::ConnectorOffset {
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
    ) -> Result<Box<dyn crate::runtime::task::SourceTask>, crate::runtime::task::TaskError> {
        Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
    }
    fn open_sink(
        &self,
        _: &crate::runtime::plugin::TaskId,
        _: &Config,
    ) -> Result<Box<dyn crate::runtime::task::SinkTask>, crate::runtime::task::TaskError> {
        Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
    }
    fn open_transform(
        &self,
        _: &crate::runtime::plugin::TaskId,
        _: &str,
        _: &Config,
    ) -> Result<Box<dyn crate::runtime::task::Transform>, crate::runtime::task::TaskError> {
        Err(crate::runtime::task::TaskError::Fatal("spec only".into()))
    }
    fn open_predicate(
        &self,
        _: &crate::runtime::plugin::TaskId,
        _: &str,
        _: &Config,
    ) -> Result<Box<dyn crate::runtime::task::Predicate>, crate::runtime::task::TaskError> {
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
pub(crate) async fn start_with<H: Herder + 'static>(
    herder: Arc<H>,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let herder: Arc<dyn Herder> = herder;
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
