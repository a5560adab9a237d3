//! Connector administration for the standalone worker: create, reconfigure, delete, pause,
//! resume, stop and restart (the write side of the REST API), plus the target states and the
//! [`ConfigStore`] that makes REST changes survive a restart.
//!
//! Design decision: the worker's running connectors (`Worker::connectors`) stay the runtime's
//! business; this layer keeps, beside them, what the operator *asked for* — config and
//! [`TargetState`] per connector — and brings the runtime in line after each change by stopping
//! the connector and starting it again as needed. Consequences a reader must know:
//! - **Pause stops the task threads** (their clients close, source offsets are flushed) while
//!   status shows `PAUSED` for the connector and each task; resume starts them again from the
//!   committed offsets. Kafka keeps paused tasks alive (sinks stay in the consumer group).
//! - **Restarting one task restarts all tasks of its connector** (`ConnectorRuntime` has no
//!   per-task replacement yet; TODO(next)). A connector-only restart regenerates the task
//!   configs and restarts the tasks only when those changed, as Kafka does.
//! - Write operations are serialised by one lock (`ops`), held while tasks stop and start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;
use serde_json::{Map, Value as JsonValue};

use super::{StartError, Worker};
use crate::config::providers::{self, ConfigProviders};
use crate::config::{check_connector, describe_problems, get};
use crate::runtime::active_topics;
use crate::runtime::config_store::{ConfigStore, ConfigStoreError, StoredConnector};
use crate::runtime::plugin::{Config, ConfigProblem, PluginKind};
use crate::runtime::status::{
    ConnectorOffset, ConnectorStatus, HerderError, OffsetPatch, RestartRequest, State, TargetState,
    TaskStatus,
};

/// What the operator asked for, per connector.
#[derive(Debug, Clone)]
struct Entry {
    config: Config,
    target: TargetState,
    /// Why bringing it to its target failed (shown as a FAILED connector when nothing runs).
    error: Option<String>,
    /// Written to the config store (created or changed through REST, or loaded from it);
    /// connectors only given on the command line are not.
    persist: bool,
}

#[derive(Default)]
pub(super) struct AdminState {
    ops: Mutex<()>,
    entries: Mutex<BTreeMap<String, Entry>>,
    task_configs: Mutex<BTreeMap<String, Vec<Config>>>,
    store: Mutex<Option<ConfigStore>>,
    /// Loaded from the store and not yet started (see `Worker::start_stored_connectors`).
    pending: Mutex<BTreeMap<String, StoredConnector>>,
    /// Set once the configured and stored connectors were started (`GET /health`).
    ready: AtomicBool,
    /// The worker's config providers, built on first use from the worker config (which
    /// `config::load_worker` already checked).
    providers: OnceLock<Result<ConfigProviders, String>>,
}

impl AdminState {
    pub(super) fn remember_task_configs(&self, name: &str, configs: &[Config]) {
        self.task_configs
            .lock()
            .insert(name.to_string(), configs.to_vec());
    }
    /// Remembers task configs generated from a resolved config as REST shows them: with the
    /// raw config's `${…}` placeholders back in place of resolved values (KAFKA-5117).
    pub(super) fn remember_shown_task_configs(&self, name: &str, raw: &Config, configs: &[Config]) {
        let shown: Vec<Config> = configs
            .iter()
            .map(|c| providers::restore_placeholders(raw, c))
            .collect();
        self.remember_task_configs(name, &shown);
    }
    pub(super) fn names(&self) -> Vec<String> {
        self.entries.lock().keys().cloned().collect()
    }
    pub(super) fn config(&self, name: &str) -> Option<Config> {
        self.entries.lock().get(name).map(|e| e.config.clone())
    }
    pub(super) fn target(&self, name: &str) -> Option<TargetState> {
        self.entries.lock().get(name).map(|e| e.target)
    }
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

impl Worker {
    /// Uses `store` for connectors created or changed through REST, and reads it now: its
    /// connectors start with [`Worker::start_stored_connectors`] (after the command-line ones,
    /// which win over stored ones of the same name).
    pub fn with_config_store(self, store: ConfigStore) -> Result<Self, ConfigStoreError> {
        let stored = store.load()?;
        {
            let mut pending = self.admin.pending.lock();
            for s in stored {
                pending.insert(s.name.clone(), s);
            }
        }
        *self.admin.store.lock() = Some(store);
        Ok(self)
    }

    /// Starts a connector given on the command line. Its config wins over a stored one of the
    /// same name; a stored target state (paused, stopped) is kept.
    pub fn start_configured(&self, raw: Config) -> Result<String, StartError> {
        let name = get(&raw, "name").unwrap_or_default().to_string();
        let _ops = self.admin.ops.lock();
        let stored = self.admin.pending.lock().remove(&name);
        let Some(stored) = stored else {
            let result = self.start_connector(raw.clone());
            if matches!(
                result,
                Ok(_) | Err(StartError::TaskConfigs { .. } | StartError::Spawn(_))
            ) {
                let entry = Entry {
                    config: raw,
                    target: TargetState::Started,
                    error: result.as_ref().err().map(ToString::to_string),
                    persist: false,
                };
                self.admin.entries.lock().insert(name, entry);
            }
            return result;
        };
        let entry = Entry {
            config: raw,
            target: stored.target,
            error: None,
            persist: true,
        };
        if let Err(e) = self.save_with(|m| {
            m.insert(name.clone(), entry);
        }) {
            tracing::warn!(connector = %name, "{e}");
        }
        match self.apply(&name) {
            Some(error) => Err(StartError::Invalid(error)),
            None => Ok(name),
        }
    }

    /// Starts the stored connectors no command-line file named; returns each name with the
    /// reason it could not reach its target state, if any.
    pub fn start_stored_connectors(&self) -> Vec<(String, Option<String>)> {
        let _ops = self.admin.ops.lock();
        let pending = std::mem::take(&mut *self.admin.pending.lock());
        let mut out = Vec::new();
        for (name, s) in pending {
            let entry = Entry {
                config: s.config,
                target: s.target,
                error: None,
                persist: true,
            };
            self.admin.entries.lock().insert(name.clone(), entry);
            let error = self.apply(&name);
            out.push((name, error));
        }
        self.admin.ready.store(true, Ordering::Release);
        out
    }

    /// The status REST shows: the running connector's, or one derived from the target state.
    pub(super) fn admin_status(
        &self,
        name: &str,
        running: Option<ConnectorStatus>,
    ) -> Option<ConnectorStatus> {
        let Some(entry) = self.admin.entries.lock().get(name).cloned() else {
            return running;
        };
        if entry.target == TargetState::Started {
            if let Some(r) = running {
                return Some(r);
            }
        }
        let kind = self.kind_of(&entry.config);
        let status = |state, trace, tasks| ConnectorStatus {
            name: name.to_string(),
            state,
            trace,
            tasks,
            kind,
        };
        if let (Some(error), false) = (&entry.error, entry.target == TargetState::Stopped) {
            return Some(status(State::Failed, Some(error.clone()), Vec::new()));
        }
        Some(match entry.target {
            TargetState::Started => status(State::Unassigned, None, Vec::new()),
            TargetState::Stopped => status(State::Stopped, None, Vec::new()),
            TargetState::Paused => {
                let count = self.admin.task_configs.lock().get(name).map_or(0, Vec::len);
                let tasks = (0..count as u32)
                    .map(|id| TaskStatus {
                        id,
                        state: State::Paused,
                        trace: None,
                    })
                    .collect();
                status(State::Paused, None, tasks)
            }
        })
    }

    /// The plugin kind of a config's `connector.class`. A class no plugin answers to is
    /// reported as `Transform`, which REST shows as Kafka's `"type":"unknown"`.
    fn kind_of(&self, config: &Config) -> PluginKind {
        get(config, "connector.class")
            .and_then(|c| self.catalog.find(c.trim()))
            .map_or(PluginKind::Transform, |p| p.spec().kind)
    }

    fn exists(&self, name: &str) -> bool {
        self.admin.entries.lock().contains_key(name) || self.connectors.lock().contains_key(name)
    }

    /// Makes sure a connector started without this layer (directly through
    /// `start_connector`) has an entry before it is changed.
    fn ensure_entry(&self, name: &str) {
        let config = self.connectors.lock().get(name).map(|c| c.config.clone());
        if let Some(config) = config {
            self.admin
                .entries
                .lock()
                .entry(name.to_string())
                .or_insert(Entry {
                    config,
                    target: TargetState::Started,
                    error: None,
                    persist: false,
                });
        }
    }

    /// Checks a config completely (as starting it would), with Kafka's 400 message.
    fn validate(&self, raw: &Config) -> Result<(), HerderError> {
        self.rescan_if_unknown(raw);
        let (cc, _) = check_connector(raw, self.catalog.as_ref())
            .map_err(|p| HerderError::BadRequest(describe_problems(&p)))?;
        self.converters(&cc).map_err(|message| {
            HerderError::BadRequest(describe_problems(&[ConfigProblem {
                key: "converter".into(),
                message,
            }]))
        })?;
        Ok(())
    }

    /// Applies `change` to a copy of the entries, writes the persisted ones, then commits the
    /// copy: a change that cannot be stored is not made.
    fn save_with(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Entry>),
    ) -> Result<(), HerderError> {
        let mut entries = self.admin.entries.lock().clone();
        change(&mut entries);
        if let Some(store) = self.admin.store.lock().as_ref() {
            let stored: Vec<StoredConnector> = entries
                .iter()
                .filter(|(_, e)| e.persist)
                .map(|(name, e)| StoredConnector {
                    name: name.clone(),
                    config: e.config.clone(),
                    target: e.target,
                })
                .collect();
            store.save(&stored).map_err(|e| {
                tracing::error!("{e}");
                HerderError::Internal(e.to_string())
            })?;
        }
        *self.admin.entries.lock() = entries;
        Ok(())
    }

    /// Brings connector `name`'s runtime to its entry's target: stops what runs, then starts
    /// it (STARTED), computes its task configs without starting tasks (PAUSED), or leaves it
    /// without tasks (STOPPED). Records and returns why that failed.
    fn apply(&self, name: &str) -> Option<String> {
        let entry = self.admin.entries.lock().get(name).cloned()?;
        self.stop_connector(name);
        let error = match entry.target {
            TargetState::Started => self
                .start_connector(entry.config.clone())
                .err()
                .map(|e| e.to_string()),
            TargetState::Paused => match self.generate_task_configs(&entry.config) {
                Ok(configs) => {
                    self.admin.remember_task_configs(name, &configs);
                    None
                }
                Err(e) => Some(e),
            },
            TargetState::Stopped => {
                self.admin.task_configs.lock().remove(name);
                None
            }
        };
        if let Some(e) = self.admin.entries.lock().get_mut(name) {
            e.error = error.clone();
        }
        if let Some(error) = &error {
            tracing::error!(connector = name, "connector failed to start: {error}");
        }
        error
    }

    fn generate_task_configs(&self, raw: &Config) -> Result<Vec<Config>, String> {
        let (cc, plugin) =
            check_connector(raw, self.catalog.as_ref()).map_err(|p| describe_problems(&p))?;
        let configs = plugin
            .task_configs(&crate::runtime::restart::plugin_view(&cc.raw), cc.tasks_max)
            .map_err(|e| format!("connector {:?} failed to create task configs: {e}", cc.name))?;
        crate::config::enforce_tasks_max(&cc, configs.len())?;
        Ok(configs)
    }

    pub(super) fn admin_create(
        &self,
        config: Config,
        initial: TargetState,
    ) -> Result<(), HerderError> {
        let name = get(&config, "name").unwrap_or_default().to_string();
        let _ops = self.admin.ops.lock();
        self.validate(&config)?;
        if self.exists(&name) {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        self.save_with(|m| {
            m.insert(
                name.clone(),
                Entry {
                    config,
                    target: initial,
                    error: None,
                    persist: true,
                },
            );
        })?;
        self.apply(&name);
        Ok(())
    }

    pub(super) fn admin_put(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        let _ops = self.admin.ops.lock();
        self.validate(&config)?;
        self.ensure_entry(name);
        let target = self.admin.target(name);
        self.save_with(|m| {
            m.insert(
                name.to_string(),
                Entry {
                    config,
                    target: target.unwrap_or_default(),
                    error: None,
                    persist: true,
                },
            );
        })?;
        self.apply(name);
        Ok(target.is_none())
    }

    pub(super) fn admin_delete(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.admin.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.save_with(|m| {
            m.remove(name);
        })?;
        self.stop_connector(name);
        self.admin.task_configs.lock().remove(name);
        active_topics::remove(name);
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    pub(super) fn admin_set_target(
        &self,
        name: &str,
        target: TargetState,
    ) -> Result<(), HerderError> {
        let _ops = self.admin.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.ensure_entry(name);
        if self.admin.target(name) == Some(target) {
            return Ok(());
        }
        self.save_with(|m| {
            if let Some(e) = m.get_mut(name) {
                e.target = target;
                e.persist = true;
            }
        })?;
        tracing::info!(
            connector = name,
            target = target.as_str(),
            "target state changed"
        );
        self.apply(name);
        Ok(())
    }

    pub(super) fn admin_restart(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> Result<(), HerderError> {
        let _ops = self.admin.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.ensure_entry(name);
        if self.admin.target(name) != Some(TargetState::Started) {
            // Kafka restarts a paused or stopped connector into the same target state:
            // nothing runs here, so there is nothing to restart.
            return Ok(());
        }
        let running = self
            .connectors
            .lock()
            .get(name)
            .map(super::ConnectorRuntime::status);
        let Some(status) = self.admin_status(name, running) else {
            return Err(not_found(name));
        };
        // Only FAILED counts: a connector whose tasks are still starting (UNASSIGNED) has not
        // failed, and `onlyFailed=true` must leave it alone.
        let connector_failed = status.state == State::Failed;
        let restart_connector = !request.only_failed || connector_failed;
        let restart_tasks = request.include_tasks
            && status
                .tasks
                .iter()
                .any(|t| !request.only_failed || t.state == State::Failed);
        if restart_tasks || (restart_connector && connector_failed) {
            self.apply(name);
        } else if restart_connector {
            // Restarting a healthy connector instance regenerates its task configs; its tasks
            // restart only when those changed (Kafka's `updateConnectorTasks`).
            let config = self.admin.config(name).unwrap_or_default();
            let current = self.admin.task_configs.lock().get(name).cloned();
            match self.generate_task_configs(&config) {
                Ok(fresh) if Some(&fresh) == current.as_ref() => {}
                _ => {
                    self.apply(name);
                }
            }
        }
        Ok(())
    }

    pub(super) fn admin_restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let has_task = {
            let running = self
                .connectors
                .lock()
                .get(name)
                .map(super::ConnectorRuntime::status);
            match self.admin_status(name, running) {
                None => return Err(not_found(name)),
                Some(s) => s.tasks.iter().any(|t| t.id == task),
            }
        };
        if !has_task {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        let _ops = self.admin.ops.lock();
        self.ensure_entry(name);
        if self.admin.target(name) == Some(TargetState::Started) {
            // TODO(next): restart only this task once ConnectorRuntime can replace one task.
            self.apply(name);
        }
        Ok(())
    }

    pub(super) fn admin_ready(&self) -> bool {
        self.admin.ready.load(Ordering::Acquire)
    }

    /// `config` with its `${provider:…}` placeholders resolved (for the plugin only).
    pub(super) fn resolve_placeholders(&self, config: &Config) -> Result<Config, String> {
        if !config.iter().any(|(_, v)| providers::has_placeholder(v)) {
            return Ok(config.clone());
        }
        let built = self.admin.providers.get_or_init(|| {
            ConfigProviders::from_worker(&self.config.raw).map_err(|p| p.join("; "))
        });
        let providers = built
            .as_ref()
            .map_err(|e| format!("the worker's config providers are invalid: {e}"))?;
        providers.resolve(config).map_err(|e| e.to_string())
    }

    /// The stored config of an existing connector, else Kafka's 404.
    fn existing_config(&self, name: &str) -> Result<Config, HerderError> {
        self.admin
            .config(name)
            .or_else(|| self.connectors.lock().get(name).map(|c| c.config.clone()))
            .ok_or_else(|| not_found(name))
    }

    pub(super) fn admin_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        let config = self.existing_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                super::offsets::read(&self.kafka, name, &config).map_err(HerderError::Internal)
            }
            _ => Ok(self
                .store
                .positions(name)
                .into_iter()
                .map(|p| ConnectorOffset {
                    partition: p.partition.into_iter().collect(),
                    offset: Some(p.offset.into_iter().collect()),
                })
                .collect()),
        }
    }

    /// Kafka's precondition for altering or resetting offsets: the connector exists and is
    /// STOPPED. Returns its config.
    fn stopped_config(&self, name: &str) -> Result<Config, HerderError> {
        let config = self.existing_config(name)?;
        if self.admin.target(name) != Some(TargetState::Stopped) {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. \
                 This can be done for the specified connector by issuing a 'PUT' request to the \
                 '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(config)
    }

    pub(super) fn admin_alter_offsets(
        &self,
        name: &str,
        offsets: Vec<OffsetPatch>,
    ) -> Result<String, HerderError> {
        let _ops = self.admin.ops.lock();
        let config = self.stopped_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                let parsed = parse_sink_offsets(&offsets)?;
                super::offsets::alter(&self.kafka, name, &config, &parsed)
                    .map_err(HerderError::Internal)?;
            }
            _ => {
                let mut set = Vec::new();
                let mut removed = Vec::new();
                for (partition, offset) in offsets {
                    let partition = partition.ok_or_else(|| {
                        HerderError::BadRequest(
                            "The partition for a source connector offset cannot be null or missing"
                                .into(),
                        )
                    })?;
                    let partition: crate::data::OffsetMap = partition.into_iter().collect();
                    match offset {
                        Some(o) => set.push((partition, o.into_iter().collect())),
                        None => removed.push(partition),
                    }
                }
                if !removed.is_empty() {
                    self.store
                        .remove(name, Some(removed))
                        .map_err(HerderError::Internal)?;
                }
                self.store.stage(name, set);
                self.store.flush().map_err(HerderError::Internal)?;
            }
        }
        tracing::info!(connector = name, "offsets altered through REST");
        Ok("The offsets for this connector have been altered successfully".into())
    }

    pub(super) fn admin_reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let _ops = self.admin.ops.lock();
        let config = self.stopped_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                super::offsets::reset(&self.kafka, name, &config).map_err(HerderError::Internal)?
            }
            _ => self
                .store
                .remove(name, None)
                .map_err(HerderError::Internal)?,
        }
        tracing::info!(connector = name, "offsets reset through REST");
        Ok("The offsets for this connector have been reset successfully".into())
    }

    fn worker_flag(&self, key: &str) -> bool {
        !get(&self.config.raw, key).is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
    }

    pub(super) fn admin_active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        if !self.worker_flag("topic.tracking.enable") {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        // Like Kafka, an unknown connector simply has no active topics (no 404).
        Ok(active_topics::topics(name))
    }

    pub(super) fn admin_reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        if !self.worker_flag("topic.tracking.enable") {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.worker_flag("topic.tracking.allow.reset") {
            return Err(HerderError::Forbidden(
                "Topic tracking reset is disabled.".into(),
            ));
        }
        active_topics::reset(name);
        Ok(())
    }

    pub(super) fn admin_task_configs(&self, name: &str) -> Option<Vec<Config>> {
        if !self.exists(name) {
            return None;
        }
        if self.admin.target(name) == Some(TargetState::Stopped) {
            return Some(Vec::new());
        }
        Some(
            self.admin
                .task_configs
                .lock()
                .get(name)
                .cloned()
                .unwrap_or_default(),
        )
    }
}

/// Kafka's `SinkUtils.parseSinkConnectorOffsets`: `{"kafka_topic","kafka_partition"}` and
/// `{"kafka_offset"}|null`, numbers given as numbers or strings, with Kafka's messages.
fn parse_sink_offsets(
    offsets: &[OffsetPatch],
) -> Result<Vec<(String, i32, Option<i64>)>, HerderError> {
    let bad = |m: String| HerderError::BadRequest(m);
    // Java's `String.valueOf` of a JSON value: strings without quotes.
    let text = |v: &JsonValue| match v {
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::with_capacity(offsets.len());
    for (partition, offset) in offsets {
        let partition: &Map<String, JsonValue> = partition.as_ref().ok_or_else(|| {
            bad("The partition for a sink connector offset cannot be null or missing".into())
        })?;
        let (Some(topic), Some(part)) = (
            partition.get("kafka_topic"),
            partition.get("kafka_partition"),
        ) else {
            return Err(bad("The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'".into()));
        };
        if topic.is_null() {
            return Err(bad(
                "Kafka topic names must be valid strings and may not be null".into(),
            ));
        }
        if part.is_null() {
            return Err(bad(
                "Kafka partitions must be valid numbers and may not be null".into(),
            ));
        }
        let part: i32 = text(part).parse().map_err(|_| {
            bad(format!(
                "Failed to parse the following Kafka partition value in the provided offsets: '{}'. Partition values for sink connectors need to be integers.",
                text(part)
            ))
        })?;
        let offset = match offset {
            None => None,
            Some(o) => {
                let v = o.get("kafka_offset").ok_or_else(|| {
                    bad("The offset for a sink connector should either be null or contain the key 'kafka_offset'".into())
                })?;
                Some(text(v).parse::<i64>().map_err(|_| {
                    bad(format!(
                        "Failed to parse the following Kafka offset value in the provided offsets: '{}'. Offset values for sink connectors need to be integers.",
                        text(v)
                    ))
                })?)
            }
        };
        out.push((text(topic), part, offset));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{ConverterConfig, WorkerConfig};
    use crate::kafka::KafkaSettings;
    use crate::runtime::status::Herder;
    use crate::runtime::test_doubles::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn worker(store: Option<ConfigStore>) -> Worker {
        let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
        let conv = |class: &str| ConverterConfig {
            class: class.to_string(),
            props: Vec::new(),
        };
        let config = WorkerConfig {
            bootstrap_servers: None,
            key_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
            value_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
            header_converter: conv("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
            offset_storage_file: "/nonexistent/unused".into(),
            offset_flush_interval: Duration::from_millis(200),
            plugin_path: Vec::new(),
            listeners: Vec::new(),
            task_shutdown_graceful_timeout: Duration::from_secs(5),
            raw: cfg(&[
                ("config.providers", "env"),
                (
                    "config.providers.env.class",
                    "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                ),
                (
                    "config.providers.env.param.allowlist.pattern",
                    "SLUICE_ADMIN_.*",
                ),
            ]),
        };
        // Nothing listens on port 1: clients are created lazily and idle tasks never connect.
        let w = Worker::new(
            config,
            KafkaSettings::plain("127.0.0.1:1"),
            Arc::new(TestCatalog(vec![source])),
            Arc::new(MemoryOffsetStore::default()),
        )
        .with_converter_factory(Arc::new(Utf8Converters));
        match store {
            Some(s) => w.with_config_store(s).unwrap(),
            None => w,
        }
    }

    fn idle(name: &str) -> Config {
        cfg(&[
            ("name", name),
            ("connector.class", "TestSource"),
            ("tasks.max", "2"),
            ("test.behaviour.0", "idle"),
            ("test.behaviour.1", "idle"),
        ])
    }

    #[test]
    fn lifecycle_through_target_states_and_back_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(dir.path().join("connectors.json"));
        let w = worker(Some(store.clone()));
        w.create_connector(idle("a"), TargetState::Started).unwrap();
        assert_eq!(
            w.create_connector(idle("a"), TargetState::Started),
            Err(HerderError::AlreadyExists(
                "Connector a already exists".into()
            ))
        );
        assert_eq!(w.task_configs("a").unwrap().len(), 2);
        w.set_target_state("a", TargetState::Paused).unwrap();
        let s = w.connector_status("a").unwrap();
        assert_eq!(s.state, State::Paused);
        assert_eq!(
            s.tasks.iter().map(|t| t.state).collect::<Vec<_>>(),
            [State::Paused, State::Paused]
        );
        assert!(w.connectors.lock().is_empty(), "paused: no task threads");
        w.set_target_state("a", TargetState::Stopped).unwrap();
        let s = w.connector_status("a").unwrap();
        assert_eq!((s.state, s.tasks.len()), (State::Stopped, 0));
        assert_eq!(w.task_configs("a"), Some(Vec::new()));
        assert_eq!(
            store.load().unwrap(),
            vec![StoredConnector {
                name: "a".into(),
                config: idle("a"),
                target: TargetState::Stopped
            }]
        );
        w.create_connector(idle("b"), TargetState::Started).unwrap();
        w.stop_all();

        // A new worker on the same store: "a" comes back stopped, "b" runs again; a
        // command-line config for "b" wins over the stored one.
        let w2 = worker(Some(store.clone()));
        let mut cli_b = idle("b");
        cli_b.push(("tasks.max".into(), "1".into()));
        w2.start_configured(cli_b.clone()).unwrap();
        let started = w2.start_stored_connectors();
        assert_eq!(started, vec![("a".to_string(), None)]);
        assert_eq!(w2.connectors(), ["a", "b"]);
        assert_eq!(w2.connector_status("a").unwrap().state, State::Stopped);
        assert_eq!(w2.connector_config("b"), Some(cli_b));
        assert_eq!(w2.task_configs("b").unwrap().len(), 1);
        w2.delete_connector("a").unwrap();
        assert_eq!(
            w2.delete_connector("a"),
            Err(HerderError::NotFound("Connector a not found".into()))
        );
        assert_eq!(
            store
                .load()
                .unwrap()
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        w2.stop_all();
    }

    #[test]
    fn invalid_configs_and_unknown_names_are_refused() {
        let w = worker(None);
        let e = w
            .create_connector(cfg(&[("name", "x")]), TargetState::Started)
            .unwrap_err();
        let HerderError::BadRequest(text) = e else {
            panic!("{e:?}")
        };
        assert!(text.starts_with(
            "Connector configuration is invalid and contains the following 1 error(s):"
        ));
        assert!(w.connectors().is_empty());
        assert_eq!(
            w.set_target_state("ghost", TargetState::Paused),
            Err(HerderError::NotFound("Connector ghost not found".into()))
        );
        w.create_connector(idle("t"), TargetState::Started).unwrap();
        assert_eq!(
            w.restart_task("t", 7),
            Err(HerderError::NotFound("Task t-7 not found".into()))
        );
        assert_eq!(w.put_connector_config("t", idle("t")), Ok(false));
        assert_eq!(w.put_connector_config("u", idle("u")), Ok(true));
        w.stop_all();
    }

    fn obj(v: serde_json::Value) -> Map<String, JsonValue> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn source_offsets_change_only_when_stopped() {
        let w = worker(None);
        w.create_connector(idle("o"), TargetState::Started).unwrap();
        let set = vec![(
            Some(obj(serde_json::json!({"f": "a"}))),
            Some(obj(serde_json::json!({"pos": 3}))),
        )];
        let not_stopped = HerderError::BadRequest("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/o/stop' endpoint".into());
        assert_eq!(w.alter_offsets("o", set.clone()), Err(not_stopped.clone()));
        assert_eq!(w.reset_offsets("o"), Err(not_stopped));
        w.set_target_state("o", TargetState::Stopped).unwrap();
        assert_eq!(
            w.alter_offsets("o", set).unwrap(),
            "The offsets for this connector have been altered successfully"
        );
        assert_eq!(
            w.connector_offsets("o").unwrap(),
            vec![ConnectorOffset {
                partition: obj(serde_json::json!({"f": "a"})),
                offset: Some(obj(serde_json::json!({"pos": 3}))),
            }]
        );
        // A null offset removes the partition; a null partition is refused.
        w.alter_offsets("o", vec![(Some(obj(serde_json::json!({"f": "a"}))), None)])
            .unwrap();
        assert_eq!(w.connector_offsets("o").unwrap(), Vec::new());
        assert_eq!(
            w.alter_offsets("o", vec![(None, None)]),
            Err(HerderError::BadRequest(
                "The partition for a source connector offset cannot be null or missing".into()
            ))
        );
        assert_eq!(
            w.reset_offsets("o").unwrap(),
            "The offsets for this connector have been reset successfully"
        );
        assert_eq!(
            w.connector_offsets("ghost"),
            Err(HerderError::NotFound("Connector ghost not found".into()))
        );
        w.stop_all();
    }

    #[test]
    fn placeholders_resolve_for_tasks_and_stay_in_rest_task_configs() {
        std::env::set_var("SLUICE_ADMIN_BEHAVIOUR", "idle");
        let w = worker(None);
        let mut config = idle("p");
        crate::config::set(
            &mut config,
            "test.behaviour.0",
            "${env:SLUICE_ADMIN_BEHAVIOUR}",
        );
        w.create_connector(config.clone(), TargetState::Started)
            .unwrap();
        let tasks = w.task_configs("p").unwrap();
        assert_eq!(
            get(&tasks[0], "test.behaviour.0"),
            Some("${env:SLUICE_ADMIN_BEHAVIOUR}")
        );
        assert_eq!(w.connector_config("p"), Some(config));
        let s = w.connector_status("p").unwrap();
        assert_ne!(s.state, State::Failed, "{s:?}");
        // An env var outside the allowlist fails the connector with a precise message.
        let mut bad = idle("q");
        crate::config::set(&mut bad, "test.behaviour.0", "${env:HOME}");
        w.create_connector(bad, TargetState::Started).unwrap();
        let s = w.connector_status("q").unwrap();
        assert_eq!(s.state, State::Failed);
        assert_eq!(
            s.trace.as_deref(),
            Some("cannot resolve the config provider placeholder in \"test.behaviour.0\": environment variable \"HOME\" is not allowed by config.providers.env.param.allowlist.pattern")
        );
        w.stop_all();
    }

    #[test]
    fn sink_offsets_are_parsed_like_kafka() {
        let p = |v: serde_json::Value, o: Option<serde_json::Value>| -> OffsetPatch {
            (Some(obj(v)), o.map(obj))
        };
        let ok = parse_sink_offsets(&[
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": "2"}),
                Some(serde_json::json!({"kafka_offset": 10})),
            ),
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": 3}),
                None,
            ),
        ])
        .unwrap();
        assert_eq!(
            ok,
            vec![("t".to_string(), 2, Some(10)), ("t".to_string(), 3, None)]
        );
        let e = parse_sink_offsets(&[p(
            serde_json::json!({"kafka_topic": null, "kafka_partition": 1}),
            None,
        )]);
        assert_eq!(
            e,
            Err(HerderError::BadRequest(
                "Kafka topic names must be valid strings and may not be null".into()
            ))
        );
    }
}
