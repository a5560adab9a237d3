//! The worker as the REST layer's [`Herder`]: each answer delegates to the submodule that
//! owns the concern.
//!
//! Design decision: a connector is known to the worker while it runs or while the operator's
//! config for it is stored, so listings and lookups consult both the running connectors and
//! the [`ConfigState`](super::config_state).

use std::sync::Arc;

use super::Worker;
use crate::offsets::{ConnectorOffset, OffsetPatch};
use crate::runtime::connector::ConnectorRuntime;
use crate::runtime::herder::{ConnectorStatus, Herder, HerderError, RestartRequest, TargetState};
use crate::runtime::plugin::PluginCatalog;
use crate::spec::Config;

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
    fn metrics(&self) -> Option<Arc<crate::metrics::Metrics>> {
        Some(self.metrics.clone())
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
