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

use parking_lot::Mutex;

use super::{StartError, Worker};
use crate::config::{check_connector, describe_problems, get};
use crate::runtime::config_store::{ConfigStore, ConfigStoreError, StoredConnector};
use crate::runtime::plugin::{Config, ConfigProblem, PluginKind};
use crate::runtime::status::{
    ConnectorStatus, HerderError, RestartRequest, State, TargetState, TaskStatus,
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
}

impl AdminState {
    pub(super) fn remember_task_configs(&self, name: &str, configs: &[Config]) {
        self.task_configs
            .lock()
            .insert(name.to_string(), configs.to_vec());
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
        plugin
            .task_configs(&cc.raw, cc.tasks_max)
            .map_err(|e| format!("connector {:?} failed to create task configs: {e}", cc.name))
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
            raw: Vec::new(),
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
}
