//! What the operator asked for, per connector (Kafka's `ClusterConfigState` for one
//! standalone worker): its config and [`TargetState`], the task configs REST shows, and the
//! [`ConfigStore`] that makes REST changes survive a restart.
//!
//! Design decision: the worker's running connectors (`Worker::connectors`) stay the runtime's
//! business; this state is kept beside them, and after each change
//! [`Worker::bring_to_target`] brings the runtime in line by stopping the connector and
//! starting it again as needed. **Pause stops the task threads** (their clients close, source
//! offsets are flushed) while status shows `PAUSED` for the connector and each task; resume
//! starts them again from the committed offsets. Kafka keeps paused tasks alive (sinks stay in
//! the consumer group).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::{StartError, Worker};
use crate::config::providers::{self, ConfigProviders, ResolveError};
use crate::config::{compile, describe_problems, get};
use crate::runtime::config_store::{ConfigStore, ConfigStoreError, StoredConnector};
use crate::runtime::herder::{ConnectorStatus, HerderError, State, TargetState, TaskStatus};
use crate::spec::{Config, PluginKind};

/// What the operator asked for, per connector.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) config: Config,
    pub(super) target: TargetState,
    /// Why bringing it to its target failed (shown as a FAILED connector when nothing runs).
    pub(super) error: Option<String>,
    /// Written to the config store (created or changed through REST, or loaded from it);
    /// connectors only given on the command line are not.
    pub(super) persist: bool,
}

#[derive(Default)]
pub(super) struct ConfigState {
    pub(super) ops: Mutex<()>,
    pub(super) entries: Mutex<BTreeMap<String, Entry>>,
    pub(super) task_configs: Mutex<BTreeMap<String, Vec<Config>>>,
    pub(super) store: Mutex<Option<ConfigStore>>,
    /// Loaded from the store and not yet started (see `Worker::start_stored_connectors`).
    pub(super) pending: Mutex<BTreeMap<String, StoredConnector>>,
    /// Set once the configured and stored connectors were started (`GET /health`).
    pub(super) ready: AtomicBool,
    /// The worker's config providers, built on first use from the worker config (which
    /// `config::load_worker` already checked).
    pub(super) providers: OnceLock<Result<ConfigProviders, PlaceholderError>>,
}

/// A connector's `${provider:…}` placeholders could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum PlaceholderError {
    /// The worker's `config.providers` settings are invalid (their problems, joined).
    #[error("the worker's config providers are invalid: {0}")]
    InvalidProviders(String),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

impl ConfigState {
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

pub(super) fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

impl Worker {
    /// Uses `store` for connectors created or changed through REST, and reads it now: its
    /// connectors start with [`Worker::start_stored_connectors`] (after the command-line ones,
    /// which win over stored ones of the same name).
    pub fn with_config_store(self, store: ConfigStore) -> Result<Self, ConfigStoreError> {
        let stored = store.load()?;
        {
            let mut pending = self.config_state.pending.lock();
            for s in stored {
                pending.insert(s.name.clone(), s);
            }
        }
        *self.config_state.store.lock() = Some(store);
        Ok(self)
    }

    /// Starts a connector given on the command line. Its config wins over a stored one of the
    /// same name; a stored target state (paused, stopped) is kept.
    pub fn start_configured(&self, raw: Config) -> Result<String, StartError> {
        let name = get(&raw, "name").unwrap_or_default().to_string();
        let _ops = self.config_state.ops.lock();
        let stored = self.config_state.pending.lock().remove(&name);
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
                self.config_state.entries.lock().insert(name, entry);
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
        match self.bring_to_target(&name) {
            Some(error) => Err(StartError::Invalid(error)),
            None => Ok(name),
        }
    }

    /// Starts the stored connectors no command-line file named; returns each name with the
    /// reason it could not reach its target state, if any.
    pub fn start_stored_connectors(&self) -> Vec<(String, Option<String>)> {
        let _ops = self.config_state.ops.lock();
        let pending = std::mem::take(&mut *self.config_state.pending.lock());
        // All of them are listed (with the state their target implies) before the first one
        // starts: REST already answers, and a client must not see a partial list.
        self.config_state
            .entries
            .lock()
            .extend(pending.values().map(|s| {
                let entry = Entry {
                    config: s.config.clone(),
                    target: s.target,
                    error: None,
                    persist: true,
                };
                (s.name.clone(), entry)
            }));
        let mut out = Vec::new();
        for name in pending.into_keys() {
            let error = self.bring_to_target(&name);
            out.push((name, error));
        }
        self.config_state.ready.store(true, Ordering::Release);
        out
    }

    /// The status REST shows: the running connector's, or one derived from the target state.
    pub(super) fn reported_status(
        &self,
        name: &str,
        running: Option<ConnectorStatus>,
    ) -> Option<ConnectorStatus> {
        let Some(entry) = self.config_state.entries.lock().get(name).cloned() else {
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
            worker_id: None,
        };
        if let (Some(error), false) = (&entry.error, entry.target == TargetState::Stopped) {
            return Some(status(State::Failed, Some(error.clone()), Vec::new()));
        }
        Some(match entry.target {
            TargetState::Started => status(State::Unassigned, None, Vec::new()),
            TargetState::Stopped => status(State::Stopped, None, Vec::new()),
            TargetState::Paused => {
                let count = self
                    .config_state
                    .task_configs
                    .lock()
                    .get(name)
                    .map_or(0, Vec::len);
                let tasks = (0..count as u32)
                    .map(|id| TaskStatus {
                        id,
                        state: State::Paused,
                        trace: None,
                        worker_id: None,
                    })
                    .collect();
                status(State::Paused, None, tasks)
            }
        })
    }

    /// The plugin kind of a config's `connector.class`. A class no plugin answers to is
    /// reported as `Transform`, which REST shows as Kafka's `"type":"unknown"`.
    pub(super) fn kind_of(&self, config: &Config) -> PluginKind {
        get(config, "connector.class")
            .and_then(|c| self.catalog.find(c.trim()))
            .map_or(PluginKind::Transform, |p| p.spec().kind)
    }

    pub(super) fn exists(&self, name: &str) -> bool {
        self.config_state.entries.lock().contains_key(name)
            || self.connectors.lock().contains_key(name)
    }

    /// Makes sure a connector started without this layer (directly through
    /// `start_connector`) has an entry before it is changed.
    pub(super) fn ensure_entry(&self, name: &str) {
        let config = self.connectors.lock().get(name).map(|c| c.config.clone());
        if let Some(config) = config {
            self.config_state
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

    /// Applies `change` to a copy of the entries, writes the persisted ones, then commits the
    /// copy: a change that cannot be stored is not made.
    pub(super) fn save_with(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Entry>),
    ) -> Result<(), HerderError> {
        let mut entries = self.config_state.entries.lock().clone();
        change(&mut entries);
        if let Some(store) = self.config_state.store.lock().as_ref() {
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
        *self.config_state.entries.lock() = entries;
        Ok(())
    }

    /// Brings connector `name`'s runtime to its entry's target: stops what runs, then starts
    /// it (STARTED), computes its task configs without starting tasks (PAUSED), or leaves it
    /// without tasks (STOPPED). Records and returns why that failed.
    pub(super) fn bring_to_target(&self, name: &str) -> Option<String> {
        let entry = self.config_state.entries.lock().get(name).cloned()?;
        self.stop_connector(name);
        let error = match entry.target {
            TargetState::Started => self
                .start_connector(entry.config.clone())
                .err()
                .map(|e| e.to_string()),
            TargetState::Paused => match self.generate_task_configs(&entry.config) {
                Ok(configs) => {
                    self.config_state.remember_task_configs(name, &configs);
                    None
                }
                Err(e) => Some(e),
            },
            TargetState::Stopped => {
                self.config_state.task_configs.lock().remove(name);
                None
            }
        };
        if let Some(e) = self.config_state.entries.lock().get_mut(name) {
            e.error = error.clone();
        }
        if let Some(error) = &error {
            tracing::error!(connector = name, "connector failed to start: {error}");
        }
        error
    }

    pub(super) fn generate_task_configs(&self, raw: &Config) -> Result<Vec<Config>, String> {
        let plan = compile(raw, self.catalog.as_ref()).map_err(|p| describe_problems(&p))?;
        let configs = plan
            .plugin
            .task_configs(&plan.plugin_config(), plan.tasks_max)
            .map_err(|e| {
                format!(
                    "connector {:?} failed to create task configs: {e}",
                    plan.name
                )
            })?;
        plan.check_task_count(configs.len())
            .map_err(|e| e.to_string())?;
        Ok(configs)
    }

    /// `config` with its `${provider:…}` placeholders resolved (for the plugin only).
    pub(super) fn resolve_placeholders(&self, config: &Config) -> Result<Config, PlaceholderError> {
        if !config.iter().any(|(_, v)| providers::has_placeholder(v)) {
            return Ok(config.clone());
        }
        let built = self.config_state.providers.get_or_init(|| {
            ConfigProviders::from_worker(&self.config.raw).map_err(|p| {
                PlaceholderError::InvalidProviders(
                    p.into_iter()
                        .map(|p| p.message)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })
        });
        let providers = built.as_ref().map_err(Clone::clone)?;
        Ok(providers.resolve(config)?)
    }

    /// The stored config of an existing connector, else Kafka's 404.
    pub(super) fn existing_config(&self, name: &str) -> Result<Config, HerderError> {
        self.config_state
            .config(name)
            .or_else(|| self.connectors.lock().get(name).map(|c| c.config.clone()))
            .ok_or_else(|| not_found(name))
    }

    pub(super) fn ready(&self) -> bool {
        self.config_state.ready.load(Ordering::Acquire)
    }

    pub(super) fn shown_task_configs(&self, name: &str) -> Option<Vec<Config>> {
        if !self.exists(name) {
            return None;
        }
        if self.config_state.target(name) == Some(TargetState::Stopped) {
            return Some(Vec::new());
        }
        Some(
            self.config_state
                .task_configs
                .lock()
                .get(name)
                .cloned()
                .unwrap_or_default(),
        )
    }
}
