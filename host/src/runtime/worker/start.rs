//! Starting a connector: its config validated completely, then one thread per task.
//!
//! Design decision: starting a connector validates it completely before any task thread
//! exists (the config compiled into a `config::ConnectorPlan`, its converters built, its task
//! configs generated), and the tasks then run that plan, never the config text; a connector
//! that fails to start is reported with the precise problem and never affects the others.

use std::sync::Arc;

use super::{ConverterError, Worker};
use crate::config::secrets::Secrets;
use crate::config::{compile, describe_problems, ConnectorPlan};
use crate::runtime::connector::{
    ConnectorRuntime, Converters, Pipeline, SpawnError, TaskFailure, TaskSpawner,
};
use crate::runtime::plugin::{Plugin, TaskId};
use crate::runtime::sink_task::{self, SinkTaskSetup};
use crate::runtime::source_task::{self, SourceTaskSetup};
use crate::spec::{Config, PluginKind};

/// Why a connector could not be started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// The config is invalid (Kafka Connect's "Connector configuration is invalid…" text).
    #[error("{0}")]
    Invalid(String),
    #[error("connector {0:?} already exists")]
    AlreadyExists(String),
    #[error("connector {name:?}: {error}")]
    Converter { name: String, error: ConverterError },
    /// The plugin could not split the connector into tasks.
    #[error("connector {name:?} failed to create task configs: {message}")]
    TaskConfigs { name: String, message: String },
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}
impl Worker {
    /// Validates and starts a connector: one thread per task config. Returns its name.
    ///
    /// Counted in the worker's connector startup metrics unless the config was refused
    /// (invalid, or the name is taken): Kafka Connect validates before it starts anything.
    pub fn start_connector(&self, raw: Config) -> Result<String, StartError> {
        let result = self.start_connector_counted(raw);
        let w = &self.metrics.worker;
        match &result {
            Err(StartError::Invalid(_) | StartError::AlreadyExists(_)) => {}
            Ok(_) => {
                w.connector_startup_attempts.inc();
                w.connector_startup_success.inc();
            }
            Err(_) => {
                w.connector_startup_attempts.inc();
                w.connector_startup_failure.inc();
            }
        }
        result
    }

    fn start_connector_counted(&self, raw: Config) -> Result<String, StartError> {
        // `${provider:…}` placeholders are resolved for the plugin only; `raw` stays as stored.
        let resolved = self
            .resolve_placeholders(&raw)
            .map_err(|e| StartError::Invalid(e.to_string()))?;
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
                .map_err(|error| StartError::Converter {
                    name: name.clone(),
                    error,
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
        let placement = self.placements.lock().get(&name).cloned();
        tracing::info!(connector = %name, tasks = task_configs.len(), kind = kind.rest_name(), here = ?placement, "starting connector");
        let spawner = self.task_spawner(&plan, &converters, &pipeline, task_configs);
        for task in 0..spawner.tasks() {
            // Distributed mode: the other tasks run on other workers.
            if placement.as_ref().is_some_and(|p| !p.tasks.contains(&task)) {
                continue;
            }
            if let Err(e) = spawner.spawn(&mut runtime, task) {
                runtime.signal_stop();
                return Err(StartError::Spawn(e));
            }
        }
        runtime.set_spawner(spawner);
        if placement.is_some_and(|p| p.connector) {
            // The connector runs here even when none of its tasks does.
            runtime.mark_running();
        }
        self.connectors.lock().insert(name.clone(), runtime);
        Ok(name)
    }

    /// How each task of a connector starts: its plan, converters and task configs, kept with
    /// the running connector so distributed mode can start one more of its tasks here later
    /// without restarting the ones already running ([`Worker::change_placement`]).
    fn task_spawner(
        &self,
        plan: &ConnectorPlan<Arc<dyn Plugin>>,
        converters: &Converters,
        pipeline: &Pipeline,
        task_configs: Vec<Config>,
    ) -> TaskSpawner {
        let name = plan.name.clone();
        let kind = plan.kind();
        let tasks = task_configs.len() as u32;
        let plugin = plan.plugin.clone();
        let converters = converters.clone();
        let kafka = self.kafka.clone();
        let connector_config = plan.raw.clone();
        let flush_interval = self.config.offset_flush_interval;
        let shutdown_timeout = self.config.task_shutdown_graceful_timeout;
        let pipeline = pipeline.clone();
        let metrics = self.metrics.clone();
        let store = self.store.clone();
        let restart = plan.restart.clone();
        let (topics, topics_regex) = (plan.topics.clone(), plan.topics_regex.clone());
        TaskSpawner::new(tasks, move |runtime: &mut ConnectorRuntime, task: u32| {
            let id = TaskId {
                connector: name.clone(),
                task,
            };
            let task_config = task_configs.get(task as usize).cloned().unwrap_or_default();
            let plugin = plugin.clone();
            let converters = converters.clone();
            let kafka = kafka.clone();
            let connector_config = connector_config.clone();
            let pipeline = pipeline.clone();
            let metrics = metrics.clone();
            let task_metrics = metrics.register_task(&name, task, kind);
            match kind {
                PluginKind::Source => {
                    let store = store.clone();
                    // Called again for each automatic restart: everything is cloned per run.
                    runtime.spawn_task(task, restart.clone(), move |control, mark_running| {
                        metrics.task_startup(mark_running, |mark_running| {
                            let committed = store.positions(&id.connector);
                            let task = plugin.open_source(&id, &task_config, committed).map_err(
                                |error| TaskFailure::Open {
                                    kind: PluginKind::Source,
                                    error,
                                },
                            )?;
                            let setup = SourceTaskSetup {
                                id: id.clone(),
                                connector_config: connector_config.clone(),
                                converters: converters.clone(),
                                kafka: kafka.clone(),
                                store: store.clone(),
                                flush_interval,
                                shutdown_timeout,
                                pipeline: pipeline.clone(),
                                metrics: task_metrics.clone(),
                            };
                            source_task::run(setup, task, control, mark_running)
                        })
                    })
                }
                _ => {
                    let (topics, topics_regex) = (topics.clone(), topics_regex.clone());
                    runtime.spawn_task(task, restart.clone(), move |control, mark_running| {
                        metrics.task_startup(mark_running, |mark_running| {
                            let task = plugin.open_sink(&id, &task_config).map_err(|error| {
                                TaskFailure::Open {
                                    kind: PluginKind::Sink,
                                    error,
                                }
                            })?;
                            let setup = SinkTaskSetup {
                                id: id.clone(),
                                tasks,
                                connector_config: connector_config.clone(),
                                topics: topics.clone(),
                                topics_regex: topics_regex.clone(),
                                converters: converters.clone(),
                                kafka: kafka.clone(),
                                flush_interval,
                                pipeline: pipeline.clone(),
                                metrics: task_metrics.clone(),
                            };
                            sink_task::run(setup, task, control, mark_running)
                        })
                    })
                }
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::{ConverterConfig, WorkerConfig};
    use crate::data::Value;
    use crate::kafka::{EmbeddedBroker, KafkaSettings};
    use crate::offsets::SourceOffsetStore;
    use crate::runtime::herder::Herder;
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
            metrics_enabled: true,
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
