//! One running connector: its task threads, their stop flags and observed states.
//!
//! Design decision: **one OS thread per task** (`sluice-<connector>-<task>`). Plugin calls
//! are synchronous CPU work and rdkafka's synchronous clients block, so none of this may run
//! on the async executor. A task's failure (error, trap, panic) is caught on its own thread
//! and recorded as FAILED with a trace; it stops nothing else.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::plugin::{Config, PluginCatalog, PluginKind};
use super::status::{ConnectorStatus, State, TaskStatus};
use super::transforms::ChainSpec;
use crate::config::{describe_problems, ConnectorConfig, ConverterConfig, WorkerConfig};
use crate::convert::{Converter, HeaderConverter};

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

/// What the worker resolves once per connector for all its tasks: the SMT chain (each task
/// opens its own instances) and the converter class names.
#[derive(Clone, Default)]
pub struct Pipeline {
    pub chain: ChainSpec,
    pub converter_classes: ConverterClasses,
}

impl Pipeline {
    /// Resolves the chain against the catalog (already validated by `check_connector`, so
    /// an error here is rendered like a config error).
    pub fn resolve(
        cc: &ConnectorConfig,
        worker: &WorkerConfig,
        catalog: &dyn PluginCatalog,
    ) -> Result<Pipeline, String> {
        let chain = ChainSpec::resolve(&cc.raw, catalog).map_err(|p| describe_problems(&p))?;
        let pick = |o: &Option<ConverterConfig>, w: &ConverterConfig| {
            o.as_ref().unwrap_or(w).class.clone()
        };
        Ok(Pipeline {
            chain,
            converter_classes: ConverterClasses {
                key: pick(&cc.key_converter, &worker.key_converter),
                value: pick(&cc.value_converter, &worker.value_converter),
                header: pick(&cc.header_converter, &worker.header_converter),
            },
        })
    }
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
        }
    }

    /// The connector itself failed (e.g. splitting it into task configs).
    pub fn fail(&mut self, trace: String) {
        self.state = State::Failed;
        self.trace = Some(trace);
    }

    /// Starts task `id` on its own thread. `body` runs there; `Err(trace)` or a panic marks the
    /// task FAILED, `Ok` (a requested stop) leaves it UNASSIGNED. `body` reports RUNNING
    /// itself through the callback it is given, once its clients and plugin are open.
    pub fn spawn_task<F>(&mut self, id: u32, body: F) -> Result<(), String>
    where
        F: FnOnce(TaskControl, &dyn Fn()) -> Result<(), String> + Send + 'static,
    {
        let status = Arc::new(Mutex::new(TaskStatus {
            id,
            state: State::Unassigned,
            trace: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let control = TaskControl { stop: stop.clone() };
        let thread_status = status.clone();
        let connector = self.name.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sluice-{}-{id}", self.name))
            .spawn(move || {
                let span = tracing::info_span!("task", connector = %connector, task = id);
                let _entered = span.enter();
                let running_status = thread_status.clone();
                let mark_running = move || running_status.lock().state = State::Running;
                let result =
                    std::panic::catch_unwind(AssertUnwindSafe(|| body(control, &mark_running)));
                let mut st = thread_status.lock();
                match result {
                    Ok(Ok(())) => {
                        st.state = State::Unassigned;
                        tracing::info!("task stopped");
                    }
                    Ok(Err(trace)) => {
                        tracing::error!("task failed: {trace}");
                        st.state = State::Failed;
                        st.trace = Some(trace);
                    }
                    Err(panic) => {
                        let msg = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        let trace = format!("task thread panicked: {msg}");
                        tracing::error!("{trace}");
                        st.state = State::Failed;
                        st.trace = Some(trace);
                    }
                }
            })
            .map_err(|e| format!("cannot spawn a thread for task {}-{id}: {e}", self.name))?;
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

    pub fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            name: self.name.clone(),
            state: self.state,
            trace: self.trace.clone(),
            tasks: self.tasks.iter().map(|t| t.status.lock().clone()).collect(),
            kind: self.kind,
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
        let mut stuck = Vec::new();
        for t in &mut self.tasks {
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
        self.state = State::Unassigned;
        stuck
    }
}
