//! Connector lifecycle operations, the write side of the REST API: create, reconfigure,
//! delete, pause/resume/stop (target states) and restart.
//!
//! Design decisions:
//! - Every operation checks the config completely first (`config::compile`, then its
//!   converters), records the operator's wish in the [`ConfigState`](super::config_state),
//!   then brings the runtime in line ([`Worker::bring_to_target`]).
//! - Operations are serialised by one lock (`ConfigState::ops`), held while tasks stop and
//!   start.
//! - **Restarting one task restarts all tasks of its connector** (`ConnectorRuntime` has no
//!   per-task replacement yet; TODO(next)). A connector-only restart regenerates the task
//!   configs and restarts the tasks only when those changed, as Kafka does.

use super::config_state::{not_found, Entry};
use super::Worker;
use crate::config::{compile, describe_problems, get};
use crate::runtime::active_topics;
use crate::runtime::herder::{HerderError, RestartRequest, State, TargetState};
use crate::spec::{Config, ConfigProblem};

impl Worker {
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

    /// Checks a config completely (as starting it would), with Kafka's 400 message.
    fn validate(&self, raw: &Config) -> Result<(), HerderError> {
        self.rescan_if_unknown(raw);
        let plan = compile(raw, self.catalog.as_ref())
            .map_err(|p| HerderError::BadRequest(describe_problems(&p)))?;
        self.converters(&plan.converters(&self.config))
            .map_err(|e| {
                HerderError::BadRequest(describe_problems(&[ConfigProblem {
                    key: "converter".into(),
                    message: e.to_string(),
                }]))
            })?;
        Ok(())
    }

    /// Checks a config completely, as creating the connector would, without creating it
    /// (distributed mode's leader validates before it writes the config topic).
    pub fn check_config(&self, raw: &Config) -> Result<(), HerderError> {
        self.validate(raw)
    }

    /// The plugin kind of a config's `connector.class` (`Transform` when no plugin answers
    /// to it, which REST shows as `"type":"unknown"`).
    pub fn plugin_kind(&self, config: &Config) -> crate::spec::PluginKind {
        self.kind_of(config)
    }

    pub(super) fn create(&self, config: Config, initial: TargetState) -> Result<(), HerderError> {
        let name = get(&config, "name").unwrap_or_default().to_string();
        let _ops = self.config_state.ops.lock();
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
        self.bring_to_target(&name);
        Ok(())
    }

    pub(super) fn reconfigure(&self, name: &str, config: Config) -> Result<bool, HerderError> {
        let _ops = self.config_state.ops.lock();
        self.validate(&config)?;
        self.ensure_entry(name);
        let target = self.config_state.target(name);
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
        self.bring_to_target(name);
        Ok(target.is_none())
    }

    pub(super) fn delete(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.config_state.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.save_with(|m| {
            m.remove(name);
        })?;
        self.stop_connector(name);
        self.config_state.task_configs.lock().remove(name);
        self.placements.lock().remove(name);
        active_topics::remove(name);
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    pub(super) fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let _ops = self.config_state.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.ensure_entry(name);
        if self.config_state.target(name) == Some(target) {
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
        self.bring_to_target(name);
        Ok(())
    }

    pub(super) fn restart(&self, name: &str, request: RestartRequest) -> Result<(), HerderError> {
        let _ops = self.config_state.ops.lock();
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.ensure_entry(name);
        if self.config_state.target(name) != Some(TargetState::Started) {
            // Kafka restarts a paused or stopped connector into the same target state:
            // nothing runs here, so there is nothing to restart.
            return Ok(());
        }
        let running = self
            .connectors
            .lock()
            .get(name)
            .map(super::ConnectorRuntime::status);
        let Some(status) = self.reported_status(name, running) else {
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
            self.bring_to_target(name);
        } else if restart_connector {
            // Restarting a healthy connector instance regenerates its task configs; its tasks
            // restart only when those changed (Kafka's `updateConnectorTasks`).
            let config = self.config_state.config(name).unwrap_or_default();
            let current = self.config_state.task_configs.lock().get(name).cloned();
            match self.generate_task_configs(&config) {
                Ok(fresh) if Some(&fresh) == current.as_ref() => {}
                _ => {
                    self.bring_to_target(name);
                }
            }
        }
        Ok(())
    }

    pub(super) fn restart_one_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let has_task = {
            let running = self
                .connectors
                .lock()
                .get(name)
                .map(super::ConnectorRuntime::status);
            match self.reported_status(name, running) {
                None => return Err(not_found(name)),
                Some(s) => s.tasks.iter().any(|t| t.id == task),
            }
        };
        if !has_task {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        let _ops = self.config_state.ops.lock();
        self.ensure_entry(name);
        if self.config_state.target(name) == Some(TargetState::Started) {
            // TODO(next): restart only this task once ConnectorRuntime can replace one task.
            self.bring_to_target(name);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::fixtures::{idle, worker};
    use crate::config::get;
    use crate::runtime::config_store::{ConfigStore, StoredConnector};
    use crate::runtime::herder::{Herder, HerderError, State, TargetState};
    use crate::runtime::test_doubles::cfg;

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

    /// Distributed mode: a placement change starts and stops only the tasks that move; the
    /// task that stays keeps its thread (no second start is counted).
    #[test]
    fn a_placement_change_starts_and_stops_only_the_tasks_that_move() {
        use crate::runtime::Placement;
        let w = worker(None);
        let placed = |connector: bool, tasks: &[u32]| Placement {
            connector,
            tasks: tasks.iter().copied().collect(),
        };
        w.set_placement("a", Some(placed(true, &[0])));
        w.create_connector(idle("a"), TargetState::Started).unwrap();
        let task_ids = || {
            w.connectors.lock()["a"]
                .status()
                .tasks
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(task_ids(), [0]);
        let wait = |what: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !what() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        wait(&|| w.connectors.lock()["a"].status().tasks[0].state == State::Running);
        let starts = || w.metrics.worker.task_startup_attempts.get();
        let before = starts();
        // Task 1 moves here and the connector instance away: task 0 runs on.
        assert!(w.change_placement("a", &placed(false, &[0, 1])));
        assert_eq!(task_ids(), [0, 1]);
        // Task 0 moves away: only it stops.
        assert!(w.change_placement("a", &placed(false, &[1])));
        assert_eq!(task_ids(), [1]);
        wait(&|| starts() > before);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(starts(), before + 1, "only task 1 started");
        // A task the connector did not generate cannot be placed in place.
        assert!(!w.change_placement("a", &placed(false, &[1, 2])));
        assert!(!w.change_placement("unknown", &placed(true, &[0])));
        w.stop_all();
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
}
