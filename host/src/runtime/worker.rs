//! The standalone worker: owns the plugin catalog, the offset store, the Kafka settings and
//! the running connectors, and stops them.
//!
//! Design decision: the worker's state is split by concern over its submodules, each an
//! `impl Worker` block: `start` (validating a config completely, then running its tasks),
//! `converters` (building a connector's converters), `config_state` (what the operator asked
//! for, persisted), `lifecycle` (REST write operations), `offsets` (REST offset operations),
//! `topic_tracking`, and `herder` (the [`Herder`](super::herder::Herder) the REST layer
//! talks to); this file holds the fields they share and stopping.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::producer::Producer;

mod config_state;
mod converters;
#[cfg(test)]
mod fixtures;
mod herder;
mod lifecycle;
mod offsets;
mod start;
mod topic_tracking;

pub use converters::{BuiltinConverters, ConverterError, ConverterFactory};
pub use start::StartError;

use super::connector::ConnectorRuntime;
use super::plugin::PluginCatalog;
use crate::config::WorkerConfig;
use crate::kafka::KafkaSettings;
use crate::metrics::Metrics;
use crate::offsets::SourceOffsetStore;

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
    /// Counters the tasks bump once per batch; read by `GET /metrics`.
    metrics: Arc<Metrics>,
    /// Distributed mode: which part of each connector runs here (see [`Placement`]).
    placements: Mutex<BTreeMap<String, Placement>>,
}

/// Distributed mode: the part of a connector the group's leader assigned to this worker —
/// the connector itself (which generates the task configs) and some of its tasks; the other
/// tasks run on other workers. Without one (standalone), a connector runs with all its
/// tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub connector: bool,
    pub tasks: BTreeSet<u32>,
}

impl Worker {
    pub fn new(
        config: WorkerConfig,
        kafka: KafkaSettings,
        catalog: Arc<dyn PluginCatalog>,
        store: Arc<dyn SourceOffsetStore>,
    ) -> Self {
        let metrics = Arc::new(Metrics::new(config.metrics_enabled));
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
            metrics,
            placements: Mutex::new(BTreeMap::new()),
        }
    }

    /// Distributed mode: runs only `placement`'s part of connector `name` from its next
    /// start on (`None`: the whole connector again).
    pub fn set_placement(&self, name: &str, placement: Option<Placement>) {
        let mut placements = self.placements.lock();
        match placement {
            Some(p) => placements.insert(name.to_string(), p),
            None => placements.remove(name),
        };
    }

    /// Distributed mode: moves a running connector to `placement` in place — stops the tasks
    /// no longer placed here and starts the newly placed ones while the others run on, so an
    /// incremental cooperative rebalance stops only what moves. Returns false, changing
    /// nothing, when that is not possible (the connector does not run here, or a task is
    /// placed that it did not generate): the caller then restarts it with the new placement.
    /// The connector instance moving here or away changes only what this worker reports and
    /// publishes for it (its status and task configs follow the assignment), not its tasks.
    pub fn change_placement(&self, name: &str, placement: &Placement) -> bool {
        let _ops = self.config_state.ops.lock();
        let Some(old) = self.placements.lock().get(name).cloned() else {
            return false;
        };
        let stopping = {
            let mut connectors = self.connectors.lock();
            let Some(runtime) = connectors.get_mut(name) else {
                return false;
            };
            let Some(spawner) = runtime.spawner() else {
                return false;
            };
            if placement.tasks.iter().any(|t| *t >= spawner.tasks()) {
                return false;
            }
            let removed: Vec<u32> = old.tasks.difference(&placement.tasks).copied().collect();
            let stopping = runtime.detach_tasks(&removed);
            for task in placement.tasks.difference(&old.tasks) {
                if let Err(e) = spawner.spawn(runtime, *task) {
                    tracing::error!(connector = name, task, "cannot start an assigned task: {e}");
                }
            }
            if placement.connector {
                runtime.mark_running();
            }
            stopping
        };
        self.placements
            .lock()
            .insert(name.to_string(), placement.clone());
        let stuck = stopping.join(Instant::now() + self.join_budget());
        for task in old.tasks.difference(&placement.tasks) {
            self.metrics.remove_task(name, *task);
        }
        if !stuck.is_empty() {
            tracing::warn!(connector = name, ?stuck, "tasks did not stop in time");
        }
        tracing::info!(connector = name, from = ?old, to = ?placement, "placement changed in place");
        true
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

    /// Stops one connector and waits (bounded by `task.shutdown.graceful.timeout.ms`) for its
    /// tasks. Returns false if it does not exist.
    pub fn stop_connector(&self, name: &str) -> bool {
        let Some(mut c) = self.connectors.lock().remove(name) else {
            return false;
        };
        c.signal_stop();
        let stuck = c.join(Instant::now() + self.join_budget());
        self.metrics.remove_connector(name);
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
            self.metrics.remove_connector(name);
        }
    }

    /// Tasks flush within `task.shutdown.graceful.timeout.ms`; commits and closing the
    /// consumer group need a little more.
    fn join_budget(&self) -> Duration {
        self.config.task_shutdown_graceful_timeout + Duration::from_secs(5)
    }
}
