//! One running connector: its task threads, their stop flags and observed states.
//!
//! Design decision: **one OS thread per task** (`sluice-<connector>-<task>`). Plugin calls
//! are synchronous CPU work and rdkafka's synchronous clients block, so none of this may run
//! on the async executor. A task's failure (error, trap, panic) is caught on its own thread
//! and recorded as FAILED with a trace; it stops nothing else. With `restart.on.failure=true`
//! the task's thread also restarts it after a backoff (see `restart.rs`).

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::herder::{ConnectorStatus, State, TaskStatus};
use super::plugin::Plugin;
use super::restart::{Decision, Schedule};
use super::task::TaskError;
use crate::backoff::sleep_unless_stopped;
use crate::config::secrets::Secrets;
use crate::config::{ChainSpec, ConnectorPlan, ConverterConfigs, ErrorSettings, RestartPolicy};
use crate::convert::{Converter, HeaderConverter};
use crate::spec::{Config, PluginKind};

/// The converters a task uses (connector overrides, else the worker's).
#[derive(Clone)]
pub struct Converters {
    pub key: Arc<dyn Converter>,
    pub value: Arc<dyn Converter>,
    pub header: Arc<dyn HeaderConverter>,
}

/// The converter class names a task reports in `__connect.errors.class.name` and logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConverterClasses {
    pub key: String,
    pub value: String,
    pub header: String,
}

/// What every task of a connector takes from its compiled plan: the SMT chain (each task
/// opens its own instances), the converter class names and the `errors.*` settings.
#[derive(Clone, Default)]
pub struct Pipeline {
    pub chain: ChainSpec<Arc<dyn Plugin>>,
    pub converter_classes: ConverterClasses,
    pub errors: ErrorSettings,
}

impl Pipeline {
    pub fn new(plan: &ConnectorPlan<Arc<dyn Plugin>>, converters: &ConverterConfigs) -> Pipeline {
        Pipeline {
            chain: plan.chain.clone(),
            converter_classes: ConverterClasses {
                key: converters.key.class.clone(),
                value: converters.value.class.clone(),
                header: converters.header.class.clone(),
            },
            errors: plan.errors.clone(),
        }
    }
}

/// Why one run of a task ended other than by a requested stop. Its text is the task's FAILED
/// trace (the connector removes its secret values before storing or logging it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskFailure {
    /// The plugin could not open the task instance.
    #[error("cannot start the {} task: {error}", kind.rest_name())]
    Open { kind: PluginKind, error: TaskError },
    /// The task's clients, transforms or error reporting could not be set up.
    #[error("{0}")]
    Setup(String),
    /// The running task failed: the trace names the record, stage or call, and why.
    #[error("{0}")]
    Run(String),
}

/// A task's thread could not be started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot spawn a thread for task {connector}-{task}: {reason}")]
pub struct SpawnError {
    connector: String,
    task: u32,
    reason: String,
}

/// What a task loop sees of its supervisor: the stop flag.
#[derive(Clone)]
pub struct TaskControl {
    pub stop: Arc<AtomicBool>,
}

impl TaskControl {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Starts task `n` of a running connector with the plan, converters and task configs the
/// connector started with (see `Worker::task_spawner`).
pub struct TaskSpawner {
    tasks: u32,
    #[allow(clippy::type_complexity)]
    spawn: Box<dyn Fn(&mut ConnectorRuntime, u32) -> Result<(), SpawnError> + Send + Sync>,
}

impl TaskSpawner {
    pub fn new(
        tasks: u32,
        spawn: impl Fn(&mut ConnectorRuntime, u32) -> Result<(), SpawnError> + Send + Sync + 'static,
    ) -> Self {
        TaskSpawner {
            tasks,
            spawn: Box::new(spawn),
        }
    }

    /// How many task configs the connector generated.
    pub fn tasks(&self) -> u32 {
        self.tasks
    }

    pub fn spawn(&self, runtime: &mut ConnectorRuntime, task: u32) -> Result<(), SpawnError> {
        (self.spawn)(runtime, task)
    }
}

/// Tasks asked to stop and taken out of their connector ([`ConnectorRuntime::detach_tasks`]).
pub struct StoppingTasks(Vec<TaskHandle>);

impl StoppingTasks {
    /// Waits until they ended or `deadline` passed; returns the ids still running then (left
    /// to finish on their own).
    pub fn join(mut self, deadline: Instant) -> Vec<u32> {
        join_threads(&mut self.0, deadline)
    }
}

/// Waits until every task thread ended or `deadline` passed; returns the ids of the tasks
/// still running then (their handles are kept: the threads finish on their own).
fn join_threads(tasks: &mut [TaskHandle], deadline: Instant) -> Vec<u32> {
    let mut stuck = Vec::new();
    for t in tasks {
        let Some(handle) = t.thread.take() else {
            continue;
        };
        while !handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if handle.is_finished() {
            let _ = handle.join();
        } else {
            stuck.push(t.id);
            t.thread = Some(handle);
        }
    }
    stuck
}

struct TaskHandle {
    id: u32,
    status: Arc<Mutex<TaskStatus>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A connector and its tasks.
pub struct ConnectorRuntime {
    pub name: String,
    pub kind: PluginKind,
    /// The config as submitted.
    pub config: Config,
    state: State,
    trace: Option<String>,
    tasks: Vec<TaskHandle>,
    /// Starts one more of its tasks (set once the connector started).
    spawner: Option<Arc<TaskSpawner>>,
    /// Secret values cut out of task failure traces before they are logged or stored (a
    /// plugin's error may quote its config).
    secrets: Arc<Secrets>,
}

impl ConnectorRuntime {
    pub fn new(name: String, kind: PluginKind, config: Config) -> Self {
        ConnectorRuntime {
            name,
            kind,
            config,
            state: State::Unassigned,
            trace: None,
            tasks: Vec::new(),
            spawner: None,
            secrets: Arc::default(),
        }
    }

    /// The secret values of this connector's config, for the tasks spawned after this call.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Arc::new(secrets);
        self
    }

    /// The connector itself failed (e.g. splitting it into task configs).
    /// The connector itself failed; the trace is kept without secret values.
    pub fn fail(&mut self, trace: String) {
        self.state = State::Failed;
        self.trace = Some(self.redact(&trace));
    }

    /// `text` without this connector's secret values (see [`ConnectorRuntime::with_secrets`]).
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }

    /// Starts task `id` on its own thread. `body` runs there; a [`TaskFailure`] or a panic
    /// marks the task FAILED, `Ok` (a requested stop) leaves it UNASSIGNED. `body` reports
    /// RUNNING itself through the callback it is given, once its clients and plugin are open.
    ///
    /// With a `restart` policy the same thread supervises the task: after a failure it waits
    /// the backoff (status FAILED, the trace saying which restart comes when), then runs
    /// `body` again (status RESTARTING until it reports RUNNING). Stopping the task cancels
    /// a pending restart. See `restart.rs` for the schedule.
    pub fn spawn_task<F>(
        &mut self,
        id: u32,
        restart: Option<RestartPolicy>,
        mut body: F,
    ) -> Result<(), SpawnError>
    where
        F: FnMut(TaskControl, &dyn Fn()) -> Result<(), TaskFailure> + Send + 'static,
    {
        let status = Arc::new(Mutex::new(TaskStatus {
            id,
            state: State::Unassigned,
            trace: None,
            worker_id: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let control = TaskControl { stop: stop.clone() };
        let thread_status = status.clone();
        let connector = self.name.clone();
        let secrets = self.secrets.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sluice-{}-{id}", self.name))
            .spawn(move || {
                let span = tracing::info_span!("task", connector = %connector, task = id);
                let _entered = span.enter();
                let mut schedule = restart.map(Schedule::new);
                loop {
                    // When this run reached RUNNING (for the restart counter's reset rule).
                    let running_since = Cell::new(None::<Instant>);
                    let running_status = thread_status.clone();
                    let mark_running = || {
                        running_since.set(Some(Instant::now()));
                        let mut st = running_status.lock();
                        st.state = State::Running;
                        st.trace = None;
                    };
                    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        body(control.clone(), &mark_running)
                    }));
                    let trace = match result {
                        Ok(Ok(())) => {
                            thread_status.lock().state = State::Unassigned;
                            tracing::info!("task stopped");
                            return;
                        }
                        Ok(Err(failure)) => {
                            let trace = secrets.redact(&failure.to_string());
                            tracing::error!("task failed: {trace}");
                            trace
                        }
                        Err(panic) => {
                            let msg = panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".into());
                            let trace = secrets.redact(&format!("task thread panicked: {msg}"));
                            tracing::error!("{trace}");
                            trace
                        }
                    };
                    let fail = |trace: String| {
                        let mut st = thread_status.lock();
                        st.state = State::Failed;
                        st.trace = Some(trace);
                    };
                    let Some(schedule) = schedule.as_mut().filter(|_| !control.stopping()) else {
                        fail(trace);
                        return;
                    };
                    let healthy_for = running_since
                        .get()
                        .map_or(Duration::ZERO, |t| t.elapsed());
                    let decision = schedule.on_failure(healthy_for);
                    let note = schedule.describe(&decision);
                    fail(format!("{trace}\n\n({note})"));
                    let Decision::Restart { attempt, delay } = decision else {
                        tracing::error!(connector = %connector, task = id, "task {connector}-{id}: {note}");
                        return;
                    };
                    tracing::warn!(
                        connector = %connector,
                        task = id,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "task {connector}-{id} failed: {note}"
                    );
                    if !sleep_unless_stopped(delay, &control.stop) {
                        // Stopped while waiting (REST restart, pause, stop, delete, shutdown):
                        // the pending restart is cancelled.
                        fail(trace);
                        tracing::info!("pending automatic restart cancelled: the task was stopped");
                        return;
                    }
                    {
                        let mut st = thread_status.lock();
                        st.state = State::Restarting;
                        st.trace = None;
                    }
                    tracing::info!(attempt, "restarting task {connector}-{id} automatically");
                }
            })
            .map_err(|e| SpawnError {
                connector: self.name.clone(),
                task: id,
                reason: e.to_string(),
            })?;
        self.tasks.push(TaskHandle {
            id,
            status,
            stop,
            thread: Some(thread),
        });
        if self.state != State::Failed {
            self.state = State::Running;
        }
        Ok(())
    }

    pub fn set_spawner(&mut self, spawner: TaskSpawner) {
        self.spawner = Some(Arc::new(spawner));
    }

    /// How to start more of its tasks (`None` before it started).
    pub fn spawner(&self) -> Option<Arc<TaskSpawner>> {
        self.spawner.clone()
    }

    /// The ids of the tasks running (or failed) here.
    pub fn task_ids(&self) -> Vec<u32> {
        self.tasks.iter().map(|t| t.id).collect()
    }

    /// Asks only the tasks `ids` to stop (the others keep running) and takes them out of
    /// this connector; join them with [`StoppingTasks::join`] (without holding locks).
    pub fn detach_tasks(&mut self, ids: &[u32]) -> StoppingTasks {
        let (stopping, keep): (Vec<TaskHandle>, Vec<TaskHandle>) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| ids.contains(&t.id));
        self.tasks = keep;
        for t in &stopping {
            t.stop.store(true, Ordering::Relaxed);
        }
        StoppingTasks(stopping)
    }

    /// The connector runs (distributed mode: also when none of its tasks runs here).
    pub fn mark_running(&mut self) {
        if self.state != State::Failed {
            self.state = State::Running;
        }
    }

    pub fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            name: self.name.clone(),
            state: self.state,
            trace: self.trace.clone(),
            tasks: self.tasks.iter().map(|t| t.status.lock().clone()).collect(),
            kind: self.kind,
            worker_id: None,
        }
    }

    /// Asks every task to stop (returns at once).
    pub fn signal_stop(&self) {
        for t in &self.tasks {
            t.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Waits until every task thread ended or `deadline` passed; returns the ids of the tasks
    /// still running then (their threads are left to finish on their own).
    pub fn join(&mut self, deadline: Instant) -> Vec<u32> {
        let stuck = join_threads(&mut self.tasks, deadline);
        self.state = State::Unassigned;
        stuck
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod supervision_tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn policy(max_attempts: Option<u32>, delay_ms: u64) -> RestartPolicy {
        RestartPolicy {
            initial: Duration::from_millis(delay_ms),
            max: Duration::from_millis(delay_ms * 2),
            max_attempts,
            healthy_after: Duration::from_secs(600),
        }
    }

    fn wait_for(rt: &ConnectorRuntime, what: impl Fn(&TaskStatus) -> bool) -> TaskStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = rt.status().tasks[0].clone();
            if what(&t) {
                return t;
            }
            assert!(Instant::now() < deadline, "last status: {t:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_failed_task_is_run_again_until_it_stays_up() {
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let mut rt = ConnectorRuntime::new("c".into(), PluginKind::Source, Vec::new());
        rt.spawn_task(
            0,
            Some(policy(Some(5), 10)),
            move |control, mark_running| {
                let run = counted.fetch_add(1, Ordering::SeqCst);
                if run < 2 {
                    return Err(TaskFailure::Run(format!("boom {run}")));
                }
                mark_running();
                while !control.stopping() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(())
            },
        )
        .unwrap();
        let t = wait_for(&rt, |t| t.state == State::Running);
        assert_eq!(t.trace, None);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        rt.signal_stop();
        assert!(rt.join(Instant::now() + Duration::from_secs(10)).is_empty());
    }

    #[test]
    fn failure_traces_are_stored_without_secret_values() {
        let config = crate::runtime::test_doubles::cfg(&[
            ("name", "c"),
            ("connector.class", "x"),
            ("connection.password", "p4ss"),
        ]);
        let secrets = Secrets::with_defs(&config, |_| None);
        let mut rt =
            ConnectorRuntime::new("c".into(), PluginKind::Source, config).with_secrets(secrets);
        rt.spawn_task(0, None, |_, _| {
            Err(TaskFailure::Run("login with p4ss refused".into()))
        })
        .unwrap();
        let t = wait_for(&rt, |t| t.state == State::Failed);
        assert_eq!(t.trace.as_deref(), Some("login with [hidden] refused"));
        // The connector's own failure (e.g. splitting into task configs) likewise.
        rt.fail("no tasks for p4ss".into());
        assert_eq!(rt.status().trace.as_deref(), Some("no tasks for [hidden]"));
        assert!(rt.join(Instant::now() + Duration::from_secs(10)).is_empty());
    }

    #[test]
    fn the_limit_leaves_it_failed_and_a_stop_cancels_a_pending_restart() {
        let mut rt = ConnectorRuntime::new("c".into(), PluginKind::Source, Vec::new());
        rt.spawn_task(0, Some(policy(Some(1), 10)), |_, _| {
            Err(TaskFailure::Run("boom".into()))
        })
        .unwrap();
        let t = wait_for(&rt, |t| {
            t.trace
                .as_deref()
                .is_some_and(|s| s.contains("not restarted again"))
        });
        assert_eq!(t.state, State::Failed);
        assert!(t.trace.unwrap().starts_with("boom\n\n("));
        assert!(rt.join(Instant::now() + Duration::from_secs(10)).is_empty());

        // A ten-minute backoff is cut short by the stop flag.
        let mut rt = ConnectorRuntime::new("c".into(), PluginKind::Source, Vec::new());
        rt.spawn_task(0, Some(policy(None, 600_000)), |_, _| {
            Err(TaskFailure::Run("boom".into()))
        })
        .unwrap();
        let t = wait_for(&rt, |t| t.state == State::Failed);
        assert!(t
            .trace
            .unwrap()
            .contains("automatic restart 1 (no limit) in 600000 ms"));
        rt.signal_stop();
        assert!(rt.join(Instant::now() + Duration::from_secs(10)).is_empty());
        assert_eq!(rt.status().tasks[0].trace.as_deref(), Some("boom"));
    }
}
