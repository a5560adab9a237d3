//! A loaded component as a runtime [`Plugin`]: validates configs and opens task instances.
//!
//! Design decisions: a plugin is offered from its spec alone; its compiled component is
//! deserialized from the cache and linked (`InstancePre`) when the first call needs the guest,
//! then shared by every later call of that plugin (see [`WasmPlugin::linked`]), so plugins no
//! connector uses cost no memory for code. Every call that needs
//! the guest — `validate`, `task_configs`, each task, each transform/predicate — gets a
//! fresh `Store` whose WASI sandbox is derived from *that call's* config (see `wasi.rs`),
//! and whose limits are the worker's defaults overridden by that config's reserved `wasm.*`
//! keys (see `limits.rs`), which are stripped before the plugin sees the config.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use wasmtime::component::InstancePre;

use super::bindings::{
    packed_sink, packed_source, packed_transforms, plugin as wit_plugin, predicates, sink_commit,
    sink_connector, source_commit, source_connector, transform_plans, transforms, types as wit,
};
use super::cache::Entry;
use super::engine::{HostState, Limits, Owner, WasmEngine};
use super::instance::PluginInstance;
use super::limits;
use super::sink::WasmSinkTask;
use super::source::WasmSourceTask;
use super::spec::{kind_name, problem};
use super::transform::{WasmPredicate, WasmTransform};
use super::wasi::{self, Missing};
use super::{lower, packed, spec};
use crate::data::SourcePosition;
use crate::runtime::plugin::{Plugin, TaskId};
use crate::runtime::reporter::{self, ConnectReporter, ReporterSettings};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::task::{Predicate, SinkTask, SourceTask, TaskError, Transform};
use crate::runtime::transforms::{ChainError, ChainSegment, JoinStep};
use crate::spec::{Config, ConfigProblem, PluginKind, PluginSpec};

/// Export indices of the kind interface, resolved once at load time.
#[derive(Clone)]
pub(crate) enum KindIndices {
    Source(source_connector::GuestIndices),
    Sink(sink_connector::GuestIndices),
    Transform(transforms::GuestIndices),
    Predicate(predicates::GuestIndices),
}

/// Export indices of the optional packed interface of the kind, when the component has it.
#[derive(Clone)]
pub(crate) enum PackedIndices {
    Source(packed_source::GuestIndices),
    Sink(packed_sink::GuestIndices),
    Transform(packed_transforms::GuestIndices),
}

/// A plugin offered by the registry: what the scan learnt (spec, capabilities), and the
/// compiled component once something needed it.
pub(crate) struct WasmPlugin {
    pub path: PathBuf,
    pub spec: PluginSpec,
    pub limits: Limits,
    /// What it imports, grouped (see `inspect`), with the keys that grant each.
    pub capabilities: Vec<crate::runtime::plugin::PluginCapability>,
    /// Whether it imports `reporter` (a sink reporting per-record outcomes).
    pub imports_reporter: bool,
    pub wasm: &'static WasmEngine,
    /// Its cache entry: the compiled artifact is deserialized from there on first use.
    pub artifact: Entry,
    /// The linked component, once a call needed it; then shared by all later calls.
    pub linked: Mutex<Option<Arc<Linked>>>,
}

/// A component deserialized and linked against the host, with its export indices resolved.
#[derive(Clone)]
pub(crate) struct Linked {
    pub pre: InstancePre<HostState>,
    pub plugin: wit_plugin::GuestIndices,
    pub kind: KindIndices,
    /// Tasks use the packed interface when the component exports one.
    pub packed: Option<PackedIndices>,
    /// A transform's `transform-plans`, when it exports that and `packed-transforms`.
    pub plans: Option<transform_plans::GuestIndices>,
    /// A source's `source-commit` (Kafka Connect's `SourceTask.commit()`), when exported.
    pub source_commit: Option<source_commit::GuestIndices>,
    /// A packed sink's `sink-commit` (Kafka Connect's `SinkTask.preCommit`/`close`), when
    /// exported.
    pub sink_commit: Option<sink_commit::GuestIndices>,
}

pub(crate) fn task_error(e: wit::TaskError) -> TaskError {
    match e {
        wit::TaskError::Retriable(m) => TaskError::Retriable(m),
        wit::TaskError::Fatal(m) => TaskError::Fatal(m),
    }
}

impl WasmPlugin {
    /// The linked component: deserialized from the cache on the first call that needs the
    /// guest (concurrent first calls wait for one load), then kept and shared. A plugin whose
    /// artifact was damaged since the scan is recompiled from its file here.
    pub(crate) fn linked(&self) -> Result<Arc<Linked>, TaskError> {
        let mut slot = self.linked.lock();
        if let Some(linked) = &*slot {
            return Ok(linked.clone());
        }
        let linked = super::load::link_artifact(self.wasm, &self.path, &self.artifact, &self.spec)
            .map_err(|e| {
                TaskError::Fatal(format!(
                    "plugin `{}` ({}) cannot be loaded: {e}",
                    self.spec.name,
                    self.path.display()
                ))
            })?;
        tracing::debug!(
            plugin = self.spec.name.as_str(),
            file = %self.path.display(),
            "deserialized the plugin's compiled component (first use)"
        );
        let linked = Arc::new(linked);
        *slot = Some(linked.clone());
        Ok(linked)
    }

    /// Whether the component is deserialized (tests: loading stays lazy).
    #[cfg(test)]
    pub(crate) fn is_linked(&self) -> bool {
        self.linked.lock().is_some()
    }

    /// A fresh instance whose sandbox is what `config` grants and whose limits its `wasm.*`
    /// keys set; returns the config to hand the plugin (path-valued keys made absolute,
    /// `wasm.*` keys removed).
    fn instantiate(
        &self,
        linked: &Linked,
        config: &Config,
        owner: Owner,
        missing: Missing,
    ) -> Result<(PluginInstance, Config), TaskError> {
        let limits = self
            .limits
            .with_config(config)
            .map_err(|p| TaskError::Fatal(limits::describe_problems(&p)))?;
        let (config, _) = limits::split(config);
        let cwd = std::env::current_dir().map_err(|e| {
            TaskError::Fatal(format!(
                "cannot determine the worker's current directory: {e}"
            ))
        })?;
        let (config, grants) = wasi::grants(&self.spec, &config, &cwd).map_err(TaskError::Fatal)?;
        let ctx =
            wasi::context(&grants, &limits.network, &owner, missing).map_err(TaskError::Fatal)?;
        let instance = PluginInstance::new(&linked.pre, ctx, &limits, owner)?;
        Ok((instance, config))
    }

    /// The task's Connect Reporter: when the component imports `reporter` and the config
    /// sets `reporter.bootstrap.servers`.
    fn reporter(&self, id: &TaskId, config: &Config) -> Result<Option<ConnectReporter>, TaskError> {
        if !self.imports_reporter {
            return Ok(None);
        }
        let fatal = |e: reporter::Error| TaskError::Fatal(format!("reporter: {e}"));
        match ReporterSettings::from_config(config, &id.connector).map_err(fatal)? {
            Some(settings) => Ok(Some(ConnectReporter::new(settings, id).map_err(fatal)?)),
            None => Ok(None),
        }
    }

    fn host_owner(&self, what: &str) -> Owner {
        Owner {
            connector: self.spec.name.clone(),
            task: what.to_owned(),
        }
    }

    fn task_owner(id: &TaskId) -> Owner {
        Owner {
            connector: id.connector.clone(),
            task: id.task.to_string(),
        }
    }

    fn no_task_configs(&self) -> TaskError {
        TaskError::Fatal(format!(
            "plugin `{}` is a {} plugin: only source and sink connectors have task configs",
            self.spec.name,
            kind_name(self.spec.kind)
        ))
    }

    fn wrong_kind(&self, wanted: PluginKind) -> TaskError {
        TaskError::Fatal(format!(
            "plugin `{}` ({}) is a {} plugin, not a {} plugin",
            self.spec.name,
            self.path.display(),
            kind_name(self.spec.kind),
            kind_name(wanted)
        ))
    }
}

impl Plugin for WasmPlugin {
    fn spec(&self) -> &PluginSpec {
        &self.spec
    }
    fn capabilities(&self) -> Vec<crate::runtime::plugin::PluginCapability> {
        self.capabilities.clone()
    }

    fn validate(&self, config: &Config) -> Result<Vec<ConfigProblem>, TaskError> {
        // Bad sandbox settings are reported with the plugin's own problems; the plugin is
        // still asked (under the default limits) so the user sees everything at once.
        let (limit_problems, config) = match self.limits.with_config(config) {
            Ok(_) => (Vec::new(), config.clone()),
            Err(p) => (p, limits::split(config).0),
        };
        let linked = self.linked()?;
        let (mut inst, config) = self.instantiate(
            &linked,
            &config,
            self.host_owner("validate"),
            Missing::Lenient,
        )?;
        let guest = inst.with(|store, i| linked.plugin.load(store, i))?;
        let problems = inst.call_as("validate", |store, _| guest.call_validate(store, &config))?;
        Ok(limit_problems
            .into_iter()
            .chain(problems.into_iter().map(problem))
            .collect())
    }

    fn task_configs(&self, config: &Config, max_tasks: u32) -> Result<Vec<Config>, TaskError> {
        let reserved = limits::split(config).1;
        if !matches!(self.spec.kind, PluginKind::Source | PluginKind::Sink) {
            return Err(self.no_task_configs());
        }
        let linked = self.linked()?;
        let (mut inst, config) = self.instantiate(
            &linked,
            config,
            self.host_owner("task-configs"),
            Missing::Lenient,
        )?;
        let result = match &linked.kind {
            KindIndices::Source(idx) => {
                let guest = inst.with(|store, i| idx.load(store, i))?;
                inst.call_as("task-configs", |store, _| {
                    guest.call_task_configs(store, &config, max_tasks)
                })?
            }
            KindIndices::Sink(idx) => {
                let guest = inst.with(|store, i| idx.load(store, i))?;
                inst.call_as("task-configs", |store, _| {
                    guest.call_task_configs(store, &config, max_tasks)
                })?
            }
            KindIndices::Transform(_) | KindIndices::Predicate(_) => {
                return Err(self.no_task_configs())
            }
        };
        let mut tasks = result.map_err(TaskError::Fatal)?;
        // Each task runs under its connector's limits, whatever the plugin put in (a plugin
        // cannot raise its own limits through a task config).
        for task in &mut tasks {
            task.retain(|(k, _)| !k.starts_with(limits::RESERVED_PREFIX));
            task.extend(reserved.iter().cloned());
        }
        Ok(tasks)
    }

    fn open_source(
        &self,
        id: &TaskId,
        config: &Config,
        committed: Vec<SourcePosition>,
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        if self.spec.kind != PluginKind::Source {
            return Err(self.wrong_kind(PluginKind::Source));
        }
        let linked = self.linked()?;
        let KindIndices::Source(idx) = &linked.kind else {
            return Err(self.wrong_kind(PluginKind::Source));
        };
        let committed = lower::positions(committed).map_err(TaskError::Fatal)?;
        let (mut inst, config) =
            self.instantiate(&linked, config, Self::task_owner(id), Missing::Strict)?;
        let commit = match &linked.source_commit {
            Some(c) => Some(inst.with(|store, i| c.load(store, i))?),
            None => None,
        };
        if let Some(PackedIndices::Source(p)) = &linked.packed {
            let guest = inst.with(|store, i| p.load(store, i))?;
            let task = inst
                .call_as("open", |store, _| {
                    guest
                        .packed_source_task()
                        .call_open(store, &config, &committed)
                })?
                .map_err(task_error)?;
            return Ok(Box::new(
                WasmSourceTask::packed(inst, guest, task).with_commit(commit),
            ));
        }
        let guest = inst.with(|store, i| idx.load(store, i))?;
        let task = inst
            .call_as("open", |store, _| {
                guest.source_task().call_open(store, &config, &committed)
            })?
            .map_err(task_error)?;
        Ok(Box::new(
            WasmSourceTask::new(inst, guest, task).with_commit(commit),
        ))
    }

    fn open_sink(&self, id: &TaskId, config: &Config) -> Result<Box<dyn SinkTask>, TaskError> {
        if self.spec.kind != PluginKind::Sink {
            return Err(self.wrong_kind(PluginKind::Sink));
        }
        let linked = self.linked()?;
        let KindIndices::Sink(idx) = &linked.kind else {
            return Err(self.wrong_kind(PluginKind::Sink));
        };
        let reporter = self.reporter(id, config)?;
        let (mut inst, config) =
            self.instantiate(&linked, config, Self::task_owner(id), Missing::Strict)?;
        if let Some(PackedIndices::Sink(p)) = &linked.packed {
            let guest = inst.with(|store, i| p.load(store, i))?;
            let commit = match &linked.sink_commit {
                Some(c) => Some(inst.with(|store, i| c.load(store, i))?),
                None => None,
            };
            let task = inst
                .call_as("open", |store, _| {
                    guest.packed_sink_task().call_open(store, &config)
                })?
                .map_err(task_error)?;
            return Ok(Box::new(
                WasmSinkTask::packed(inst, guest, task)
                    .with_commit(commit)
                    .with_reporter(reporter),
            ));
        }
        let guest = inst.with(|store, i| idx.load(store, i))?;
        let task = inst
            .call_as("open", |store, _| {
                guest.sink_task().call_open(store, &config)
            })?
            .map_err(task_error)?;
        Ok(Box::new(
            WasmSinkTask::new(inst, guest, task).with_reporter(reporter),
        ))
    }

    fn open_transform(
        &self,
        id: &TaskId,
        class: &str,
        config: &Config,
    ) -> Result<Box<dyn Transform>, TaskError> {
        if self.spec.kind != PluginKind::Transform {
            return Err(self.wrong_kind(PluginKind::Transform));
        }
        let linked = self.linked()?;
        let KindIndices::Transform(idx) = &linked.kind else {
            return Err(self.wrong_kind(PluginKind::Transform));
        };
        let (mut inst, config) =
            self.instantiate(&linked, config, Self::task_owner(id), Missing::Strict)?;
        if let Some(PackedIndices::Transform(p)) = &linked.packed {
            let guest = inst.with(|store, i| p.load(store, i))?;
            let t = inst
                .call(|store, _| {
                    guest
                        .packed_transformer()
                        .call_create(store, class, &config)
                })?
                .map_err(TaskError::Fatal)?;
            let plans = match &linked.plans {
                Some(p) => Some(inst.with(|store, i| p.load(store, i))?),
                None => None,
            };
            return Ok(Box::new(WasmTransform::packed(
                inst, guest, t, plans, class,
            )?));
        }
        let guest = inst.with(|store, i| idx.load(store, i))?;
        let t = inst
            .call(|store, _| guest.transformer().call_create(store, class, &config))?
            .map_err(TaskError::Fatal)?;
        Ok(Box::new(WasmTransform::new(inst, guest, t)))
    }

    /// Joins the WASM transforms over `packed-transforms` at the front of `steps`, whichever
    /// plugins opened them (`packed::join`).
    fn join_transforms(
        &self,
        steps: &mut Vec<JoinStep>,
        retry: &RetryPolicy,
    ) -> Result<Option<Box<dyn ChainSegment>>, ChainError> {
        let segment = packed::join(steps, retry)?;
        Ok(segment.map(|s| Box::new(s) as Box<dyn ChainSegment>))
    }

    fn open_predicate(
        &self,
        id: &TaskId,
        class: &str,
        config: &Config,
    ) -> Result<Box<dyn Predicate>, TaskError> {
        if self.spec.kind != PluginKind::Predicate {
            return Err(self.wrong_kind(PluginKind::Predicate));
        }
        let linked = self.linked()?;
        let KindIndices::Predicate(idx) = &linked.kind else {
            return Err(self.wrong_kind(PluginKind::Predicate));
        };
        let (mut inst, config) =
            self.instantiate(&linked, config, Self::task_owner(id), Missing::Strict)?;
        let guest = inst.with(|store, i| idx.load(store, i))?;
        let t = inst
            .call(|store, _| guest.tester().call_create(store, class, &config))?
            .map_err(TaskError::Fatal)?;
        Ok(Box::new(WasmPredicate::new(inst, guest, t)))
    }
}

/// Reads the spec from a fresh, fully sandboxed instance (load time, before any config).
pub(crate) fn read_spec(
    pre: &InstancePre<HostState>,
    plugin: &wit_plugin::GuestIndices,
    limits: &Limits,
    owner: Owner,
) -> Result<(PluginSpec, PluginInstance), TaskError> {
    let ctx = wasi::context(&[], &Default::default(), &owner, Missing::Strict)
        .map_err(TaskError::Fatal)?;
    let mut inst = PluginInstance::new(pre, ctx, limits, owner)?;
    let guest = inst.with(|store, i| plugin.load(store, i))?;
    let s = inst.call_as("spec", |store, _| guest.call_spec(store))?;
    Ok((spec::spec(s), inst))
}
