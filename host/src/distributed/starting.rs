//! A distributed worker before it reached the Kafka cluster: the REST API is already up and
//! answers, and the internal topics are created or checked again and again until the broker
//! answers.
//!
//! Design decisions:
//! - **Start anyway, say what is awaited.** A broker that is down or unreachable when a worker
//!   starts is an outage, not a configuration error: the worker keeps trying (growing waits,
//!   at most 10 s apart) and logs which broker and which internal topic it waits for, so an
//!   operator sees at once why nothing runs yet. Anything the broker *refused* (a topic that
//!   is not compacted, a config topic with several partitions, a replication factor the
//!   cluster cannot give) stays a start-up error, as does a bad worker file (checked before).
//! - **The REST API answers meanwhile** through [`StartingHerder`], which hands every request
//!   to the real herder once the worker joined: `GET /`, the worker's plugins
//!   (`/connector-plugins`, validation) and loggers answer; `GET /health` is 503 `starting`;
//!   everything under `/connectors` is 503 with what the worker waits for (Kafka Connect 3.9
//!   queues such requests behind its herder's start-up and answers 500 after its 90 s request
//!   timeout; an immediate 503 tells a client the same, sooner).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::backoff::{sleep_unless_stopped, Backoff};
use crate::config::InternalTopic;
use crate::kafka::topic_log::{ensure_internal_topic, LogError};
use crate::kafka::KafkaSettings;
use crate::offsets::{ConnectorOffset, OffsetPatch};
use crate::runtime::herder::{
    ConnectorStatus, Herder, HerderError, RestartRequest, Route, TargetState,
};
use crate::runtime::plugin::PluginCatalog;
use crate::spec::{Config, PluginKind};

/// The REST API's herder of a distributed worker: answers for a starting worker until
/// [`StartingHerder::started`] hands it the real one, then delegates every call.
pub struct StartingHerder {
    herder: OnceLock<Arc<dyn Herder>>,
    worker_id: Mutex<String>,
    catalog: Arc<dyn PluginCatalog>,
    /// What the worker waits for (for 503 answers).
    waiting: Mutex<String>,
}

impl StartingHerder {
    pub fn new(catalog: Arc<dyn PluginCatalog>) -> Self {
        StartingHerder {
            herder: OnceLock::new(),
            worker_id: Mutex::new(String::new()),
            catalog,
            waiting: Mutex::new("starting".into()),
        }
    }

    /// The advertised `host:port`, once the listener is bound.
    pub fn set_worker_id(&self, id: &str) {
        *self.worker_id.lock() = id.to_string();
    }

    /// What the worker waits for now, as 503 answers say it.
    pub fn waiting_for(&self, what: String) {
        *self.waiting.lock() = what;
    }

    /// The worker joined: from now on every request goes to `herder`.
    pub fn started(&self, herder: Arc<dyn Herder>) {
        let _ = self.herder.set(herder);
    }

    fn real(&self) -> Option<&Arc<dyn Herder>> {
        self.herder.get()
    }

    fn unavailable(&self) -> HerderError {
        HerderError::Unavailable(self.message())
    }

    fn message(&self) -> String {
        format!(
            "Cannot complete request: this worker is still starting ({})",
            self.waiting.lock()
        )
    }
}

impl Herder for StartingHerder {
    fn worker_id(&self) -> String {
        match self.real() {
            Some(h) => h.worker_id(),
            None => self.worker_id.lock().clone(),
        }
    }
    fn kafka_cluster_id(&self) -> Option<String> {
        self.real().and_then(|h| h.kafka_cluster_id())
    }
    fn connectors(&self) -> Vec<String> {
        self.real().map(|h| h.connectors()).unwrap_or_default()
    }
    fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        self.real().and_then(|h| h.connector_status(name))
    }
    fn connector_config(&self, name: &str) -> Option<Config> {
        self.real().and_then(|h| h.connector_config(name))
    }
    fn create_connector(&self, config: Config, initial: TargetState) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.create_connector(config, initial),
            None => Err(self.unavailable()),
        }
    }
    fn put_connector_config(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        match self.real() {
            Some(h) => h.put_connector_config(name, config),
            None => Err(self.unavailable()),
        }
    }
    fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.delete_connector(name),
            None => Err(self.unavailable()),
        }
    }
    fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.set_target_state(name, target),
            None => Err(self.unavailable()),
        }
    }
    fn target_state(&self, name: &str) -> Option<TargetState> {
        self.real().and_then(|h| h.target_state(name))
    }
    fn restart_connector(&self, name: &str, request: RestartRequest) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.restart_connector(name, request),
            None => Err(self.unavailable()),
        }
    }
    fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.restart_task(name, task),
            None => Err(self.unavailable()),
        }
    }
    fn task_configs(&self, name: &str) -> Option<Vec<Config>> {
        self.real().and_then(|h| h.task_configs(name))
    }
    fn plugin_catalog(&self) -> Option<Arc<dyn PluginCatalog>> {
        match self.real() {
            Some(h) => h.plugin_catalog(),
            None => Some(self.catalog.clone()),
        }
    }
    fn metrics(&self) -> Option<Arc<crate::metrics::Metrics>> {
        self.real().and_then(|h| h.metrics())
    }
    fn is_ready(&self) -> bool {
        self.real().is_some_and(|h| h.is_ready())
    }
    fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        match self.real() {
            Some(h) => h.connector_offsets(name),
            None => Err(self.unavailable()),
        }
    }
    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetPatch>) -> Result<String, HerderError> {
        match self.real() {
            Some(h) => h.alter_offsets(name, offsets),
            None => Err(self.unavailable()),
        }
    }
    fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        match self.real() {
            Some(h) => h.reset_offsets(name),
            None => Err(self.unavailable()),
        }
    }
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        match self.real() {
            Some(h) => h.active_topics(name),
            None => Err(self.unavailable()),
        }
    }
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        match self.real() {
            Some(h) => h.reset_active_topics(name),
            None => Err(self.unavailable()),
        }
    }
    fn connector_kind(&self, name: &str) -> Option<PluginKind> {
        self.real().and_then(|h| h.connector_kind(name))
    }
    fn route(&self, method: &str, path: &str) -> Route {
        match self.real() {
            Some(h) => h.route(method, path),
            // Nothing about connectors can be known or done before the cluster is reached.
            None if path.trim_start_matches('/').starts_with("connectors") => {
                Route::Unavailable(self.message())
            }
            None => Route::Here,
        }
    }
}

/// The longest wait between two attempts to reach the broker.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// Creates or checks each internal topic ([`ensure_internal_topic`]), retrying while the
/// broker does not answer: logs which broker and which topic it waits for (at the first
/// failure and then at most every 30 s), tells `herder` for its 503 answers, and logs when
/// the broker answered. `Ok(false)`: `stop` was set while waiting. Errors other than an
/// unreachable broker are returned at once.
pub fn prepare_internal_topics(
    kafka: &KafkaSettings,
    topics: &[&InternalTopic],
    herder: &StartingHerder,
    stop: &AtomicBool,
) -> Result<bool, LogError> {
    let bootstrap = &kafka.bootstrap_servers;
    let started = std::time::Instant::now();
    let mut waited = false;
    for topic in topics {
        let mut backoff = Backoff::new(Duration::from_millis(500), MAX_RETRY);
        let mut last_log: Option<std::time::Instant> = None;
        let mut attempts = 0u32;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            match ensure_internal_topic(kafka, topic) {
                Ok(_) => break,
                Err(LogError::Unreachable { message, .. }) => {
                    attempts += 1;
                    waited = true;
                    let what = format!(
                        "waiting for the Kafka broker at {bootstrap} to create or check the internal topic {} ({})",
                        topic.name, topic.key
                    );
                    herder.waiting_for(format!("{what}: {message}"));
                    if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
                        tracing::warn!(
                            broker = %bootstrap,
                            topic = %topic.name,
                            attempts,
                            waited_s = started.elapsed().as_secs(),
                            "{what}; the broker does not answer ({message}); retrying until it does (the REST API answers 503 meanwhile)"
                        );
                        last_log = Some(std::time::Instant::now());
                    }
                    if !sleep_unless_stopped(backoff.next_delay(), stop) {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    if waited {
        tracing::info!(
            broker = %bootstrap,
            waited_s = started.elapsed().as_secs(),
            "the Kafka broker answers: internal topics ready, joining the group"
        );
    }
    herder.waiting_for("joining the group".into());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_cluster_is_reached_connector_requests_are_unavailable() {
        let catalog: Arc<dyn PluginCatalog> =
            Arc::new(crate::runtime::test_doubles::TestCatalog(Vec::new()));
        let h = StartingHerder::new(catalog);
        h.waiting_for("waiting for the Kafka broker at b:1".into());
        assert!(!h.is_ready());
        assert!(h.plugin_catalog().is_some());
        match h.route("GET", "/connectors?expand=status") {
            Route::Unavailable(m) => assert!(m.contains("waiting for the Kafka broker at b:1")),
            other => panic!("{other:?}"),
        }
        assert_eq!(h.route("GET", "/connector-plugins"), Route::Here);
        assert_eq!(h.route("GET", "/"), Route::Here);
        assert!(matches!(
            h.delete_connector("x"),
            Err(HerderError::Unavailable(_))
        ));
    }
}
