//! A source component's task resource as a runtime [`SourceTask`], over the structured
//! `source-connector` interface or, when the component exports it, `packed-source`.

use wasmtime::component::ResourceAny;

use super::bindings::{packed_source, source_commit, source_connector};
use super::instance::PluginInstance;
use super::lift;
use super::limits::{self, OUTPUT_KEY};
use super::packed::codec;
use super::plugin::task_error;
use crate::data::{MalformedBatch, SourceBatch, SourcePosition};
use crate::runtime::task::{SourceTask, TaskError};

enum Guest {
    Structured(source_connector::Guest),
    Packed(packed_source::Guest),
}

pub(crate) struct WasmSourceTask {
    inst: PluginInstance,
    guest: Guest,
    task: Option<ResourceAny>,
    /// The component's `source-commit`, when it exports one.
    commit: Option<source_commit::Guest>,
}

impl WasmSourceTask {
    pub fn new(inst: PluginInstance, guest: source_connector::Guest, task: ResourceAny) -> Self {
        WasmSourceTask {
            inst,
            guest: Guest::Structured(guest),
            task: Some(task),
            commit: None,
        }
    }

    pub fn packed(inst: PluginInstance, guest: packed_source::Guest, task: ResourceAny) -> Self {
        WasmSourceTask {
            inst,
            guest: Guest::Packed(guest),
            task: Some(task),
            commit: None,
        }
    }
}

impl WasmSourceTask {
    pub fn with_commit(mut self, commit: Option<source_commit::Guest>) -> Self {
        self.commit = commit;
        self
    }
}

impl SourceTask for WasmSourceTask {
    /// The records are lifted out of the component here (bounded by the limits checked
    /// below); turning them into host records (offset maps, data trees) is left to the
    /// caller's `into_records`.
    fn poll(&mut self, max_records: u32) -> Result<SourceBatch, TaskError> {
        let Some(task) = self.task else {
            return Err(TaskError::Fatal("source task polled after stop".into()));
        };
        let cap = self.inst.limits().output_bytes;
        let guest = &self.guest;
        match guest {
            Guest::Structured(g) => {
                let batch = self
                    .inst
                    .call_as("poll", |store, _| {
                        g.source_task().call_poll(store, task, max_records)
                    })?
                    .map_err(task_error)?;
                // The batch is already lifted (bounded by the guest's memory limit); refuse to
                // go further with one the task was not allowed to return.
                let count = batch.records.len();
                let size = limits::source_batch_size(&batch);
                check_poll(count, max_records, size, cap, "about ")?;
                Ok(SourceBatch::deferred(count, move || {
                    lift::source_batch(batch).map_err(|e| {
                        MalformedBatch(format!("source plugin returned malformed records: {e}"))
                    })
                }))
            }
            Guest::Packed(g) => {
                let bytes = self
                    .inst
                    .call_as("poll", |store, _| {
                        g.packed_source_task().call_poll(store, task, max_records)
                    })?
                    .map_err(task_error)?;
                let malformed = |e: sluice_packed::Error| {
                    MalformedBatch(format!(
                        "source plugin returned a malformed packed batch: {e}"
                    ))
                };
                let count =
                    codec::count(&bytes).map_err(|e| TaskError::Fatal(malformed(e).to_string()))?;
                check_poll(count, max_records, bytes.len(), cap, "")?;
                Ok(SourceBatch::deferred(count, move || {
                    codec::decode_source_batch(&bytes).map_err(malformed)
                }))
            }
        }
    }

    fn commit(&mut self, committed: Vec<SourcePosition>) -> Result<(), TaskError> {
        let (Some(commit), Some(task)) = (&self.commit, self.task) else {
            return Ok(());
        };
        let positions = super::lower::positions(committed).map_err(TaskError::Fatal)?;
        let packed = matches!(self.guest, Guest::Packed(_));
        self.inst.call_as("commit", |store, _| {
            if packed {
                commit.call_committed_packed(store, task, &positions)
            } else {
                commit.call_committed(store, task, &positions)
            }
        })
    }

    fn stop(&mut self) {
        let Some(task) = self.task.take() else { return };
        if self.inst.is_poisoned() {
            return; // never call into a trapped instance; dropping the store frees it
        }
        let guest = &self.guest;
        if let Err(e) = self.inst.call_as("stop", |store, _| {
            match guest {
                Guest::Structured(g) => g.source_task().call_stop(&mut *store, task)?,
                Guest::Packed(g) => g.packed_source_task().call_stop(&mut *store, task)?,
            }
            task.resource_drop(store)
        }) {
            tracing::warn!("source task failed while stopping: {e}");
        }
    }
}

/// Refuses a polled batch the task was not allowed to return: more than `max_records`
/// records, or more than `wasm.output.max.bytes` (`size` is exact for a packed batch and an
/// estimate, worded "about", for a structured one).
fn check_poll(
    count: usize,
    max_records: u32,
    size: usize,
    cap: usize,
    about: &str,
) -> Result<(), TaskError> {
    if count > max_records as usize {
        return Err(TaskError::Fatal(format!(
            "plugin exceeded max_records={max_records} in poll: it returned {count} records"
        )));
    }
    if size > cap {
        return Err(TaskError::Fatal(format!(
            "plugin exceeded {OUTPUT_KEY}={cap} in poll: it returned {about}{size} bytes in {count} records"
        )));
    }
    Ok(())
}
