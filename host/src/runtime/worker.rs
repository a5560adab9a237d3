//! The standalone worker: owns the plugin catalog, the offset store, the Kafka settings and
//! the running connectors, and answers the REST layer as its [`Herder`].
//!
//! Design decision: starting a connector validates it completely before any task thread
//! exists (the config compiled into a `config::ConnectorPlan`, its converters built, its task
//! configs generated), and the tasks then run that plan, never the config text; a connector
//! that fails to start is reported with the precise problem and never affects the others.
//!
//! Submodules: `config_state` (what the operator asked for, persisted), `lifecycle` (REST
//! write operations), `offsets` (REST offset operations), `topic_tracking`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::producer::Producer;

mod config_state;
#[cfg(test)]
mod fixtures;
mod lifecycle;
mod offsets;
mod topic_tracking;

use super::connector::{ConnectorRuntime, Converters, Pipeline};
use super::herder::{ConnectorStatus, Herder, HerderError, RestartRequest, TargetState};
use super::plugin::{PluginCatalog, TaskId};
use super::sink_task::{self, SinkTaskSetup};
use super::source_task::{self, SourceTaskSetup};
use crate::config::secrets::Secrets;
use crate::config::{compile, describe_problems, ConverterConfig, ConverterConfigs, WorkerConfig};
use crate::convert::{self, ConvertError, Converter, HeaderConverter};
use crate::kafka::KafkaSettings;
use crate::offsets::{ConnectorOffset, OffsetPatch, SourceOffsetStore};
use crate::spec::{Config, PluginKind};

/// Why a connector could not be started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// The config is invalid (Kafka Connect's "Connector configuration is invalid…" text).
    #[error("{0}")]
    Invalid(String),
    #[error("connector {0:?} already exists")]
    AlreadyExists(String),
    #[error("connector {name:?}: {message}")]
    Converter { name: String, message: String },
    /// The plugin could not split the connector into tasks.
    #[error("connector {name:?} failed to create task configs: {message}")]
    TaskConfigs { name: String, message: String },
    #[error("{0}")]
    Spawn(String),
}

/// Builds the converters of a connector from their configs (the `convert` module's
/// factories in production; tests substitute simple ones).
pub trait ConverterFactory: Send + Sync {
    fn converter(
        &self,
        config: &ConverterConfig,
        is_key: bool,
    ) -> Result<Arc<dyn Converter>, ConvertError>;
    fn header_converter(
        &self,
        config: &ConverterConfig,
    ) -> Result<Arc<dyn HeaderConverter>, ConvertError>;
}

/// The built-in converters (`convert::converter`, `convert::header_converter`).
pub struct BuiltinConverters;

impl ConverterFactory for BuiltinConverters {
    fn converter(
        &self,
        config: &ConverterConfig,
        is_key: bool,
    ) -> Result<Arc<dyn Converter>, ConvertError> {
        convert::converter(config, is_key)
    }
    fn header_converter(
        &self,
        config: &ConverterConfig,
    ) -> Result<Arc<dyn HeaderConverter>, ConvertError> {
        convert::header_converter(config)
    }
}

/// A standalone worker.
pub struct Worker {
    converter_factory: Arc<dyn ConverterFactory>,
    catalog: Arc<dyn PluginCatalog>,
    config: WorkerConfig,
    kafka: KafkaSettings,
    store: Arc<dyn SourceOffsetStore>,
    worker_id: Mutex<String>,
    cluster_id: Mutex<Option<String>>,
    connectors: Mutex<BTreeMap<String, ConnectorRuntime>>,
    /// Configs, target states and persistence of connectors (see `config_state`).
    config_state: config_state::ConfigState,
}

impl Worker {
    pub fn new(
        config: WorkerConfig,
        kafka: KafkaSettings,
        catalog: Arc<dyn PluginCatalog>,
        store: Arc<dyn SourceOffsetStore>,
    ) -> Self {
        Worker {
            converter_factory: Arc::new(BuiltinConverters),
            catalog,
            config,
            kafka,
            store,
            worker_id: Mutex::new(String::new()),
            cluster_id: Mutex::new(None),
            connectors: Mutex::new(BTreeMap::new()),
            config_state: Default::default(),
        }
    }

    /// Replaces the converter factory (before connectors start).
    pub fn with_converter_factory(mut self, factory: Arc<dyn ConverterFactory>) -> Self {
        self.converter_factory = factory;
        self
    }

    /// Sets the advertised `host:port` (known once the REST listener is bound).
    pub fn set_worker_id(&self, id: String) {
        *self.worker_id.lock() = id;
    }

    pub fn kafka(&self) -> &KafkaSettings {
        &self.kafka
    }

    /// Looks up the Kafka cluster id on a background thread (retrying while the broker is
    /// unreachable) so REST `GET /` never blocks on the network.
    pub fn discover_cluster_id(self: &Arc<Self>) {
        let worker = Arc::downgrade(self);
        let config = self.kafka.admin_config("sluice-worker-cluster-id");
        let spawned = std::thread::Builder::new()
            .name("sluice-cluster-id".into())
            .spawn(move || {
                let client: rdkafka::producer::BaseProducer = match config.create() {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("cannot create a client to read the Kafka cluster id: {e}");
                        return;
                    }
                };
                let mut delay = Duration::from_millis(200);
                loop {
                    if let Some(id) = client.client().fetch_cluster_id(Duration::from_secs(5)) {
                        match worker.upgrade() {
                            Some(w) => *w.cluster_id.lock() = Some(id),
                            None => return,
                        }
                        return;
                    }
                    if worker.strong_count() == 0 {
                        return;
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the cluster id lookup: {e}");
        }
    }

    /// Validates and starts a connector: one thread per task config. Returns its name.
    pub fn start_connector(&self, raw: Config) -> Result<String, StartError> {
        // `${provider:…}` placeholders are resolved for the plugin only; `raw` stays as stored.
        let resolved = self
            .resolve_placeholders(&raw)
            .map_err(StartError::Invalid)?;
        let plan = compile(&resolved, self.catalog.as_ref())
            .map_err(|p| StartError::Invalid(describe_problems(&p)))?;
        let name = plan.name.clone();
        if self.connectors.lock().contains_key(&name) {
            return Err(StartError::AlreadyExists(name));
        }
        let kind = plan.kind();
        let converter_configs = plan.converters(&self.config);
        let converters =
            self.converters(&converter_configs)
                .map_err(|message| StartError::Converter {
                    name: name.clone(),
                    message,
                })?;
        // The SMT chain, `errors.*` settings and converter names, for every task.
        let pipeline = Pipeline::new(&plan, &converter_configs);
        // Task failure traces are logged and stored without the secret values the tasks were
        // given (resolved secrets and provider values), as REST shows them.
        let secrets = Secrets::of(&resolved, Some(self.catalog.as_ref()))
            .with_resolved_placeholders(&raw, &resolved);
        let mut runtime =
            ConnectorRuntime::new(name.clone(), kind, raw.clone()).with_secrets(secrets);
        // More task configs than `tasks.max` fail the connector unless `tasks.max.enforce=false`.
        let generated = plan
            .plugin
            .task_configs(&plan.plugin_config(), plan.tasks_max)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                plan.check_task_count(t.len())
                    .map(|()| t)
                    .map_err(|e| e.to_string())
            });
        let task_configs = match generated {
            Ok(t) => {
                self.config_state
                    .remember_shown_task_configs(&name, &raw, &t);
                t
            }
            Err(message) => {
                // A plugin's message may quote its config: logged and shown without secrets.
                let message = runtime.redact(&message);
                runtime.fail(message.clone());
                self.connectors.lock().insert(name.clone(), runtime);
                return Err(StartError::TaskConfigs { name, message });
            }
        };
        tracing::info!(connector = %name, tasks = task_configs.len(), kind = kind.rest_name(), "starting connector");
        for (i, task_config) in task_configs.into_iter().enumerate() {
            let id = TaskId {
                connector: name.clone(),
                task: i as u32,
            };
            let plugin = plan.plugin.clone();
            let converters = converters.clone();
            let kafka = self.kafka.clone();
            let connector_config = plan.raw.clone();
            let flush_interval = self.config.offset_flush_interval;
            let pipeline = pipeline.clone();
            let spawned = match kind {
                PluginKind::Source => {
                    let store = self.store.clone();
                    let shutdown_timeout = self.config.task_shutdown_graceful_timeout;
                    // Called again for each automatic restart: everything is cloned per run.
                    runtime.spawn_task(
                        id.task,
                        plan.restart.clone(),
                        move |control, mark_running| {
                            let committed = store.positions(&id.connector);
                            let task = plugin
                                .open_source(&id, &task_config, committed)
                                .map_err(|e| format!("cannot start the source task: {e}"))?;
                            let setup = SourceTaskSetup {
                                id: id.clone(),
                                connector_config: connector_config.clone(),
                                converters: converters.clone(),
                                kafka: kafka.clone(),
                                store: store.clone(),
                                flush_interval,
                                shutdown_timeout,
                                pipeline: pipeline.clone(),
                            };
                            source_task::run(setup, task, control, mark_running)
                        },
                    )
                }
                _ => {
                    let (topics, topics_regex) = (plan.topics.clone(), plan.topics_regex.clone());
                    runtime.spawn_task(
                        id.task,
                        plan.restart.clone(),
                        move |control, mark_running| {
                            let task = plugin
                                .open_sink(&id, &task_config)
                                .map_err(|e| format!("cannot start the sink task: {e}"))?;
                            let setup = SinkTaskSetup {
                                id: id.clone(),
                                connector_config: connector_config.clone(),
                                topics: topics.clone(),
                                topics_regex: topics_regex.clone(),
                                converters: converters.clone(),
                                kafka: kafka.clone(),
                                flush_interval,
                                pipeline: pipeline.clone(),
                            };
                            sink_task::run(setup, task, control, mark_running)
                        },
                    )
                }
            };
            if let Err(e) = spawned {
                runtime.signal_stop();
                return Err(StartError::Spawn(e));
            }
        }
        self.connectors.lock().insert(name.clone(), runtime);
        Ok(name)
    }

    /// Hot reload on demand: when `raw` names a plugin class (connector, transform or
    /// predicate) the catalog does not know, rescan `plugin.path` once before judging it, so
    /// a `.wasm` dropped in a moment ago is found without waiting for the periodic scan.
    /// Blocking: callers run on a task or blocking thread.
    fn rescan_if_unknown(&self, raw: &Config) {
        let unknown = raw.iter().any(|(k, v)| {
            let names_a_class = k == "connector.class"
                || ((k.starts_with("transforms.") || k.starts_with("predicates."))
                    && k.ends_with(".type")
                    && k.matches('.').count() == 2);
            names_a_class && !v.trim().is_empty() && self.catalog.find(v.trim()).is_none()
        });
        if unknown {
            self.catalog.rescan();
        }
    }

    /// Builds a connector's converters.
    fn converters(&self, configs: &ConverterConfigs) -> Result<Converters, String> {
        let ConverterConfigs {
            key: key_cfg,
            value: value_cfg,
            header: header_cfg,
        } = configs;
        Ok(Converters {
            key: self
                .converter_factory
                .converter(key_cfg, true)
                .map_err(|e| format!("key.converter {}: {e}", key_cfg.class))?,
            value: self
                .converter_factory
                .converter(value_cfg, false)
                .map_err(|e| format!("value.converter {}: {e}", value_cfg.class))?,
            header: self
                .converter_factory
                .header_converter(header_cfg)
                .map_err(|e| format!("header.converter {}: {e}", header_cfg.class))?,
        })
    }

    /// Stops one connector and waits (bounded by `task.shutdown.graceful.timeout.ms`) for its
    /// tasks. Returns false if it does not exist.
    pub fn stop_connector(&self, name: &str) -> bool {
        let Some(mut c) = self.connectors.lock().remove(name) else {
            return false;
        };
        c.signal_stop();
        let stuck = c.join(Instant::now() + self.join_budget());
        if !stuck.is_empty() {
            tracing::warn!(connector = name, ?stuck, "tasks did not stop in time");
        }
        true
    }

    /// Stops every connector: all tasks are signalled at once, then joined.
    pub fn stop_all(&self) {
        let mut connectors = std::mem::take(&mut *self.connectors.lock());
        for c in connectors.values() {
            c.signal_stop();
        }
        let deadline = Instant::now() + self.join_budget();
        for (name, c) in connectors.iter_mut() {
            let stuck = c.join(deadline);
            if !stuck.is_empty() {
                tracing::warn!(connector = %name, ?stuck, "tasks did not stop within the shutdown timeout");
            }
        }
    }

    /// Tasks flush within `task.shutdown.graceful.timeout.ms`; commits and closing the
    /// consumer group need a little more.
    fn join_budget(&self) -> Duration {
        self.config.task_shutdown_graceful_timeout + Duration::from_secs(5)
    }
}

impl Herder for Worker {
    fn worker_id(&self) -> String {
        self.worker_id.lock().clone()
    }
    fn kafka_cluster_id(&self) -> Option<String> {
        self.cluster_id.lock().clone()
    }
    fn connectors(&self) -> Vec<String> {
        let mut names: Vec<String> = self.connectors.lock().keys().cloned().collect();
        names.extend(self.config_state.names());
        names.sort();
        names.dedup();
        names
    }
    fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        let running = self
            .connectors
            .lock()
            .get(name)
            .map(ConnectorRuntime::status);
        self.reported_status(name, running)
    }
    fn connector_config(&self, name: &str) -> Option<Config> {
        self.config_state
            .config(name)
            .or_else(|| self.connectors.lock().get(name).map(|c| c.config.clone()))
    }
    fn create_connector(&self, config: Config, initial: TargetState) -> Result<(), HerderError> {
        self.create(config, initial)
    }
    fn put_connector_config(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        self.reconfigure(name, config)
    }
    fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.delete(name)
    }
    fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.set_target(name, target)
    }
    fn target_state(&self, name: &str) -> Option<TargetState> {
        self.config_state.target(name).or_else(|| {
            self.connectors
                .lock()
                .contains_key(name)
                .then_some(TargetState::Started)
        })
    }
    fn restart_connector(&self, name: &str, request: RestartRequest) -> Result<(), HerderError> {
        self.restart(name, request)
    }
    fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.restart_one_task(name, task)
    }
    fn task_configs(&self, name: &str) -> Option<Vec<Config>> {
        self.shown_task_configs(name)
    }
    fn plugin_catalog(&self) -> Option<Arc<dyn PluginCatalog>> {
        Some(self.catalog.clone())
    }
    // Readiness: see `config_state`; offsets: `offsets`; active topics: `topic_tracking`.
    fn is_ready(&self) -> bool {
        self.ready()
    }
    fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        self.offsets_of(name)
    }
    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetPatch>) -> Result<String, HerderError> {
        self.alter_stopped_offsets(name, offsets)
    }
    fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        self.reset_stopped_offsets(name)
    }
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.tracked_topics(name)
    }
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.reset_tracked_topics(name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::kafka::EmbeddedBroker;
    use crate::runtime::herder::State;
    use crate::runtime::task::TopicPartitionOffset;
    use crate::runtime::test_doubles::*;
    use serde_json::json;

    fn worker_config(flush_ms: u64) -> WorkerConfig {
        let conv = |class: &str| ConverterConfig {
            class: class.to_string(),
            props: Vec::new(),
        };
        WorkerConfig {
            bootstrap_servers: None,
            key_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
            value_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
            header_converter: conv("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
            offset_storage_file: "/nonexistent/unused".into(),
            offset_flush_interval: Duration::from_millis(flush_ms),
            plugin_path: Vec::new(),
            listeners: Vec::new(),
            task_shutdown_graceful_timeout: Duration::from_secs(5),
            raw: Vec::new(),
        }
    }

    fn worker(
        bootstrap: &str,
        store: Arc<MemoryOffsetStore>,
        plugins: Vec<Arc<dyn crate::runtime::plugin::Plugin>>,
    ) -> Worker {
        Worker::new(
            worker_config(200),
            KafkaSettings::plain(bootstrap),
            Arc::new(TestCatalog(plugins)),
            store,
        )
        .with_converter_factory(Arc::new(Utf8Converters))
    }

    /// Nothing listens on port 1: clients are created (librdkafka connects lazily) but no
    /// broker is ever reached, which these tests do not need.
    const NO_BROKER: &str = "127.0.0.1:1";

    #[test]
    fn unknown_connector_class_is_reported_in_the_start_error() {
        let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
        let w = worker(NO_BROKER, Arc::default(), vec![source]);
        let err = w
            .start_connector(cfg(&[
                ("name", "bad"),
                ("connector.class", "com.example.Missing"),
            ]))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StartError::Invalid(_)), "{err:?}");
        assert!(text.contains("com.example.Missing"), "{text}");
        assert!(text.contains("connector.class"), "{text}");
        assert!(w.connectors().is_empty());
        // The worker still starts valid connectors afterwards.
        let name = w
            .start_connector(cfg(&[("name", "good"), ("connector.class", "TestSource")]))
            .unwrap();
        assert_eq!(name, "good");
        w.stop_all();
    }

    #[test]
    fn a_failing_task_is_failed_with_its_trace_and_nothing_else_stops() {
        let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
        let sink = TestPlugin::new("com.example.TestSinkConnector", PluginKind::Sink);
        let w = worker(NO_BROKER, Arc::default(), vec![source, sink]);
        w.start_connector(cfg(&[
            ("name", "src"),
            ("connector.class", "com.example.TestSourceConnector"),
            ("tasks.max", "2"),
            ("test.behaviour.0", "idle"),
            (
                "test.behaviour.1",
                "trap:wasm trap: unreachable instruction executed",
            ),
        ]))
        .unwrap();
        w.start_connector(cfg(&[
            ("name", "snk"),
            ("connector.class", "TestSinkConnector"),
            ("topics", "t"),
        ]))
        .unwrap();

        let failed = wait_until(Duration::from_secs(10), || {
            w.connector_status("src")
                .is_some_and(|s| s.tasks[1].state == State::Failed)
        });
        assert!(
            failed,
            "task 1 never failed: {:?}",
            w.connector_status("src")
        );
        // Give a wrongly propagated failure the time to show.
        std::thread::sleep(Duration::from_millis(300));
        let src = w.connector_status("src").unwrap();
        assert_eq!(src.state, State::Running);
        assert_eq!(src.tasks[0].state, State::Running, "{src:?}");
        let trace = src.tasks[1].trace.clone().unwrap_or_default();
        assert!(
            trace.contains("unreachable instruction executed"),
            "{trace}"
        );
        assert!(trace.contains("trapped"), "{trace}");
        let snk = w.connector_status("snk").unwrap();
        assert_eq!(
            (snk.state, snk.tasks[0].state),
            (State::Running, State::Running),
            "{snk:?}"
        );
        assert_eq!(snk.kind, PluginKind::Sink);
        assert_eq!(w.connectors(), vec!["snk".to_string(), "src".to_string()]);
        w.stop_all();
    }

    fn embedded_worker(
        broker: &EmbeddedBroker,
        store: Arc<MemoryOffsetStore>,
        plugins: Vec<Arc<dyn crate::runtime::plugin::Plugin>>,
    ) -> Worker {
        let mut kafka = KafkaSettings::plain("").using_embedded(broker);
        // The mock group coordinator only completes a rejoin after the previous member's
        // session timed out (45 s by default), although that member left the group.
        kafka.consumer = cfg(&[
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "500"),
        ]);
        Worker::new(
            worker_config(200),
            kafka,
            Arc::new(TestCatalog(plugins)),
            store,
        )
        .with_converter_factory(Arc::new(Utf8Converters))
    }

    /// A record the sink rejects fails the sink task (no DLQ yet) with the record's position
    /// in the trace, and its offset is never committed.
    #[test]
    fn a_rejected_sink_record_fails_the_task_and_is_not_committed() {
        init_logs();
        let broker = EmbeddedBroker::start().unwrap();
        let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
        let sink = TestPlugin::new("com.example.TestSinkConnector", PluginKind::Sink);
        let log = sink.sink_log.clone();
        let w = embedded_worker(&broker, Arc::default(), vec![source, sink]);
        w.start_connector(cfg(&[
            ("name", "f-src"),
            ("connector.class", "TestSource"),
            ("test.behaviour.0", "count:f-topic:10"),
        ]))
        .unwrap();
        w.start_connector(cfg(&[
            ("name", "f-sink"),
            ("connector.class", "TestSink"),
            ("topics", "f-topic"),
            ("test.fail.value", "v3"),
        ]))
        .unwrap();
        let failed = wait_until(Duration::from_secs(60), || {
            w.connector_status("f-sink")
                .is_some_and(|s| s.tasks[0].state == State::Failed)
        });
        let status = w.connector_status("f-sink").unwrap();
        assert!(failed, "{status:?}");
        let trace = status.tasks[0].trace.clone().unwrap_or_default();
        assert!(
            trace.contains("f-topic-0@3") && trace.contains("cannot store"),
            "{trace}"
        );
        assert_eq!(
            w.connector_status("f-src").unwrap().tasks[0].state,
            State::Running
        );
        let flushed_past_failure = log.flushes.lock().iter().flatten().any(|o| o.offset > 3);
        assert!(!flushed_past_failure, "{:?}", log.flushes.lock());
        w.stop_all();
    }

    /// Source -> topic -> sink through librdkafka's in-process mock broker; then both
    /// connectors restart and resume from their committed offsets without duplicates.
    #[test]
    fn source_to_sink_round_trip_resumes_from_committed_offsets() {
        init_logs();
        let broker = EmbeddedBroker::start().unwrap();
        let store = Arc::new(MemoryOffsetStore::default());
        let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
        let sink = TestPlugin::new("com.example.TestSinkConnector", PluginKind::Sink);
        let log = sink.sink_log.clone();
        let w = embedded_worker(&broker, store.clone(), vec![source, sink]);
        let src_cfg = |total: u32| {
            cfg(&[
                ("name", "rt-src"),
                ("connector.class", "TestSource"),
                ("test.behaviour.0", &format!("count:rt-topic:{total}")),
            ])
        };
        let sink_cfg = cfg(&[
            ("name", "rt-sink"),
            ("connector.class", "TestSink"),
            ("topics", "rt-topic"),
        ]);
        w.start_connector(src_cfg(500)).unwrap();
        w.start_connector(sink_cfg.clone()).unwrap();

        let got_all = wait_until(Duration::from_secs(60), || log.received.lock().len() >= 500);
        assert!(
            got_all,
            "sink got {} records; status {:?}",
            log.received.lock().len(),
            w.connector_status("rt-sink")
        );
        {
            let received = log.received.lock();
            for (i, r) in received.iter().enumerate() {
                assert_eq!(r.topic, "rt-topic");
                assert_eq!(r.kafka_partition, Some(0));
                assert_eq!(r.kafka_offset, Some(i as i64));
                assert_eq!(r.key.value, Value::String(format!("k{i}")));
                assert_eq!(r.value.value, Value::String(format!("v{i}")));
                assert_eq!(r.headers.len(), 1);
                assert_eq!(
                    (r.headers[0].key.as_str(), &r.headers[0].value.value),
                    ("h", &Value::String(format!("x{i}")))
                );
            }
        }
        w.stop_all();
        // Source offsets: the last acked record's offset.
        let positions = store.positions("rt-src");
        assert_eq!(positions.len(), 1);
        assert_eq!(positions[0].offset.get("pos"), Some(&json!(499)));
        // The sink was flushed with the next offset before the commit.
        let last_flush = log.flushes.lock().last().cloned().unwrap_or_default();
        assert_eq!(
            last_flush,
            vec![TopicPartitionOffset {
                topic: "rt-topic".into(),
                partition: 0,
                offset: 500
            }]
        );

        // Restart: the source resumes after 499, the sink after its committed offset 500.
        w.start_connector(src_cfg(600)).unwrap();
        w.start_connector(sink_cfg).unwrap();
        let got_more = wait_until(Duration::from_secs(60), || log.received.lock().len() >= 600);
        std::thread::sleep(Duration::from_millis(500));
        let received = log.received.lock().len();
        assert!(
            got_more && received == 600,
            "expected exactly 600 records, got {received}"
        );
        let values: Vec<Value> = log.received.lock()[500..]
            .iter()
            .map(|r| r.value.value.clone())
            .collect();
        let expected: Vec<Value> = (500..600).map(|i| Value::String(format!("v{i}"))).collect();
        assert_eq!(values, expected);
        w.stop_all();
        assert_eq!(
            store.positions("rt-src")[0].offset.get("pos"),
            Some(&json!(599))
        );
    }
}
