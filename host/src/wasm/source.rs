//! A source component's task resource as a runtime [`SourceTask`].

use wasmtime::component::ResourceAny;

use super::bindings::source_connector::Guest;
use super::instance::PluginInstance;
use super::lift;
use super::limits::{self, OUTPUT_KEY};
use super::plugin::task_error;
use crate::data::SourceRecord;
use crate::runtime::task::{Polled, SourceTask, TaskError};

pub(crate) struct WasmSourceTask {
    inst: PluginInstance,
    guest: Guest,
    task: Option<ResourceAny>,
}

impl WasmSourceTask {
    pub fn new(inst: PluginInstance, guest: Guest, task: ResourceAny) -> Self {
        WasmSourceTask {
            inst,
            guest,
            task: Some(task),
        }
    }
}

impl SourceTask for WasmSourceTask {
    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        self.poll_deferred(max_records)?.into_records()
    }

    /// The records are lifted out of the component here (bounded by the limits checked
    /// below); turning them into host records (offset maps, data trees) is left to the
    /// caller's `into_records`.
    fn poll_deferred(&mut self, max_records: u32) -> Result<Polled, TaskError> {
        let Some(task) = self.task else {
            return Err(TaskError::Fatal("source task polled after stop".into()));
        };
        let guest = &self.guest;
        let batch = self
            .inst
            .call_as("poll", |store, _| {
                guest.source_task().call_poll(store, task, max_records)
            })?
            .map_err(task_error)?;
        // The batch is already lifted (bounded by the guest's memory limit); refuse to go
        // further with one the task was not allowed to return.
        if batch.records.len() > max_records as usize {
            return Err(TaskError::Fatal(format!(
                "plugin exceeded max_records={max_records} in poll: it returned {} records",
                batch.records.len()
            )));
        }
        let size = limits::source_batch_size(&batch);
        let cap = self.inst.limits().output_bytes;
        if size > cap {
            return Err(TaskError::Fatal(format!(
                "plugin exceeded {OUTPUT_KEY}={cap} in poll: it returned about {size} bytes in {} records",
                batch.records.len()
            )));
        }
        Ok(Polled::deferred(batch.records.len(), move || {
            lift::source_batch(batch).map_err(|e| {
                TaskError::Fatal(format!("source plugin returned malformed records: {e}"))
            })
        }))
    }

    fn stop(&mut self) {
        let Some(task) = self.task.take() else { return };
        if self.inst.is_poisoned() {
            return; // never call into a trapped instance; dropping the store frees it
        }
        let guest = &self.guest;
        if let Err(e) = self.inst.call_as("stop", |store, _| {
            guest.source_task().call_stop(&mut *store, task)?;
            task.resource_drop(store)
        }) {
            tracing::warn!("source task failed while stopping: {e}");
        }
    }
}
