//! A sink component's task resource as a runtime [`SinkTask`], over the structured
//! `sink-connector` interface or, when the component exports it, `packed-sink`.

use wasmtime::component::ResourceAny;

use super::bindings::types as wit;
use super::bindings::{packed_sink, sink_commit, sink_connector};
use super::instance::PluginInstance;
use super::packed::codec;
use super::plugin::task_error;
use super::{lift, lower};
use crate::data::ConnectRecord;
use crate::runtime::reporter::ConnectReporter;
use crate::runtime::task::{RecordFailure, SinkTask, TaskError, TopicPartitionOffset};

enum Guest {
    Structured(sink_connector::Guest),
    Packed(packed_sink::Guest),
}

pub(crate) struct WasmSinkTask {
    inst: PluginInstance,
    guest: Guest,
    task: Option<ResourceAny>,
    /// `sink-commit` (Kafka Connect's `preCommit`/`close`), when the component exports it.
    commit: Option<sink_commit::Guest>,
    /// Writes what the plugin reports through the `reporter` import, when the connector
    /// configures `reporter.*` and the component imports it.
    reporter: Option<ConnectReporter>,
}

impl WasmSinkTask {
    pub fn new(inst: PluginInstance, guest: sink_connector::Guest, task: ResourceAny) -> Self {
        WasmSinkTask {
            inst,
            guest: Guest::Structured(guest),
            task: Some(task),
            commit: None,
            reporter: None,
        }
    }

    pub fn packed(inst: PluginInstance, guest: packed_sink::Guest, task: ResourceAny) -> Self {
        WasmSinkTask {
            inst,
            guest: Guest::Packed(guest),
            task: Some(task),
            commit: None,
            reporter: None,
        }
    }

    /// Uses the component's `sink-commit` for `pre_commit` and `close` (only with the packed
    /// interface: its functions borrow the packed task).
    pub fn with_commit(mut self, commit: Option<sink_commit::Guest>) -> Self {
        if matches!(self.guest, Guest::Packed(_)) {
            self.commit = commit;
        }
        self
    }

    /// Writes the plugin's reports with `reporter` after each `put`.
    pub fn with_reporter(mut self, reporter: Option<ConnectReporter>) -> Self {
        if reporter.is_some() {
            self.inst.state_mut().reports.enable();
        }
        self.reporter = reporter;
        self
    }

    /// After a `put` returned: writes its reports (when it succeeded) and waits for Kafka's
    /// acknowledgement, so the batch counts as done only with its reports in Kafka.
    fn report(&mut self, put_ok: bool) -> Result<(), TaskError> {
        let Some(reporter) = &mut self.reporter else {
            return Ok(());
        };
        let reports = self
            .inst
            .state_mut()
            .reports
            .take()
            .map_err(TaskError::Fatal)?;
        if !put_ok || reports.is_empty() {
            // A failed put is retried or fails the task: its batch is reported when it is
            // put again.
            return Ok(());
        }
        reporter
            .send(reports)
            .map_err(|e| TaskError::Fatal(format!("reporter: {e}")))
    }

    fn task(&self) -> Result<ResourceAny, TaskError> {
        self.task
            .ok_or_else(|| TaskError::Fatal("sink task used after stop".into()))
    }
}

impl SinkTask for WasmSinkTask {
    fn put(&mut self, records: &mut Vec<ConnectRecord>) -> Result<Vec<RecordFailure>, TaskError> {
        let task = self.task()?;
        let count = records.len();
        if self.reporter.is_some() {
            self.inst.state_mut().reports.begin(records);
        }
        let guest = match &self.guest {
            Guest::Structured(g) => g,
            Guest::Packed(g) => {
                // The records are freed while the plugin works (peak memory holds one form
                // of the batch, not two); a retry gets them back from the bytes.
                let bytes = codec::encode_batch(records);
                records.clear();
                let result = self.inst.call_as("put", |store, _| {
                    g.packed_sink_task().call_put(store, task, &bytes)
                })?;
                let result = result.map_err(task_error);
                self.report(result.is_ok())?;
                return match result {
                    Ok(failures) => check_failures(failures, count),
                    Err(TaskError::Retriable(m)) => {
                        *records = codec::decode_batch(&bytes).map_err(|e| {
                            TaskError::Fatal(format!("cannot keep the batch for a retry: {e}"))
                        })?;
                        Err(TaskError::Retriable(m))
                    }
                    Err(e) => Err(e),
                };
            }
        };
        let batch = lower::batch(std::mem::take(records));
        let result = self.inst.call_as("put", |store, _| {
            guest.sink_task().call_put(store, task, &batch)
        })?;
        let result = result.map_err(task_error);
        self.report(result.is_ok())?;
        let failures = match result {
            Ok(failures) => failures,
            Err(TaskError::Retriable(m)) => {
                // Hand the batch back for the retry: lifting moves the strings back out of the
                // lowered form (the guest never saw these values; it got its own copy).
                *records = lift::batch(batch).map_err(|e| {
                    TaskError::Fatal(format!("cannot keep the batch for a retry: {e}"))
                })?;
                return Err(TaskError::Retriable(m));
            }
            Err(e) => return Err(e),
        };
        check_failures(failures, count)
    }

    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        let task = self.task()?;
        let offsets = lower_offsets(offsets);
        let guest = &self.guest;
        self.inst
            .call_as("flush", |store, _| match guest {
                Guest::Structured(g) => g.sink_task().call_flush(store, task, &offsets),
                Guest::Packed(g) => g.packed_sink_task().call_flush(store, task, &offsets),
            })?
            .map_err(task_error)
    }

    fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        if self.commit.is_none() {
            // Kafka Connect's default preCommit.
            self.flush(offsets)?;
            return Ok(offsets.to_vec());
        }
        let task = self.task()?;
        let offered = lower_offsets(offsets);
        let Some(commit) = &self.commit else {
            return Ok(Vec::new());
        };
        let answer = self
            .inst
            .call_as("pre-commit", |store, _| {
                commit.call_pre_commit(store, task, &offered)
            })?
            .map_err(task_error)?;
        Ok(answer
            .into_iter()
            .map(|o| TopicPartitionOffset {
                topic: o.topic,
                partition: o.partition,
                offset: o.offset,
            })
            .collect())
    }

    fn close(&mut self, partitions: &[(String, i32)]) {
        let (Some(commit), Some(task)) = (&self.commit, self.task) else {
            return;
        };
        if partitions.is_empty() || self.inst.is_poisoned() {
            return;
        }
        if let Err(e) = self.inst.call_as("close", |store, _| {
            commit.call_close(store, task, partitions)
        }) {
            tracing::warn!("sink task failed while closing revoked partitions: {e}");
        }
    }

    fn stop(&mut self) {
        let Some(task) = self.task.take() else { return };
        if self.inst.is_poisoned() {
            return;
        }
        let guest = &self.guest;
        if let Err(e) = self.inst.call_as("stop", |store, _| {
            match guest {
                Guest::Structured(g) => g.sink_task().call_stop(&mut *store, task)?,
                Guest::Packed(g) => g.packed_sink_task().call_stop(&mut *store, task)?,
            }
            task.resource_drop(store)
        }) {
            tracing::warn!("sink task failed while stopping: {e}");
        }
    }
}

fn lower_offsets(offsets: &[TopicPartitionOffset]) -> Vec<wit::TopicPartitionOffset> {
    offsets
        .iter()
        .map(|o| wit::TopicPartitionOffset {
            topic: o.topic.clone(),
            partition: o.partition,
            offset: o.offset,
        })
        .collect()
}

/// Checks the failures a sink reported against the batch size.
fn check_failures(
    failures: Vec<wit::RecordFailure>,
    count: usize,
) -> Result<Vec<RecordFailure>, TaskError> {
    failures
        .into_iter()
        .map(|f| {
            if f.index as usize >= count {
                return Err(TaskError::Fatal(format!(
                    "sink plugin reported a failure for record {} of a batch of {count}",
                    f.index
                )));
            }
            Ok(RecordFailure {
                index: f.index,
                message: f.message,
            })
        })
        .collect()
}
