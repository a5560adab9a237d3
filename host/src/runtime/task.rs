//! The traits the runtime drives. They know nothing about WebAssembly: `wasm/` adapts
//! components to them, and tests may implement them natively.
//!
//! All calls are synchronous and may take CPU time: the runtime calls them from the task's
//! own thread, never from an async executor thread.

use std::any::Any;

use crate::data::{ConnectRecord, SourceBatch, SourcePosition};

/// The failure of a whole call into a plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// Transient: retry the same call with backoff.
    #[error("{0}")]
    Retriable(String),
    /// The task must stop; the message goes into its FAILED status trace.
    #[error("{0}")]
    Fatal(String),
    /// The plugin trapped (a bug or a breached limit). The instance is unusable.
    #[error("plugin trapped: {0}")]
    Trap(String),
}

/// One record of a batch that failed (index into the input batch).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFailure {
    pub index: u32,
    pub message: String,
}

/// A sink's position in one partition: offset of the next record to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

pub trait SourceTask: Send {
    /// Up to `max_records` new records; empty when nothing is available right now. The batch
    /// may leave converting the records into host records to whoever calls
    /// [`SourceBatch::into_records`] (the source task does that on its produce thread).
    fn poll(&mut self, max_records: u32) -> Result<SourceBatch, TaskError>;
    /// Kafka Connect's `SourceTask.commit()`: these source offsets (the newest of each
    /// partition committed since the last call) are now durable in the offset store, so the
    /// task may acknowledge them to its external system. Called between polls, on the poll
    /// thread; never after `stop`. The default ignores it.
    fn commit(&mut self, _committed: Vec<SourcePosition>) -> Result<(), TaskError> {
        Ok(())
    }
    fn stop(&mut self);
}

pub trait SinkTask: Send {
    /// Delivers a batch; returns the records that failed individually. The task takes the
    /// records out of `records`; on `Err(TaskError::Retriable(_))` it puts the same batch back,
    /// so the host retries it without keeping a copy of every batch.
    fn put(&mut self, records: &mut Vec<ConnectRecord>) -> Result<Vec<RecordFailure>, TaskError>;
    /// Makes everything accepted so far durable, before consumer offsets are committed.
    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<(), TaskError>;
    /// Kafka Connect's `SinkTask.preCommit`: called instead of [`flush`](Self::flush) before
    /// consumer offsets are committed, with the same `offsets` (per partition, the next offset
    /// after the records `put` accepted). Returns the offsets that may be committed now: a
    /// partition left out is not committed this time (it is offered again at the next
    /// commit), an offset above the offered one is ignored. The default, as Kafka Connect's,
    /// flushes and returns `offsets`.
    fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        self.flush(offsets)?;
        Ok(offsets.to_vec())
    }
    /// Kafka Connect's `SinkTask.close`: these (topic, partition)s were revoked from the task
    /// (or the task is stopping), after their last commit; the task drops what it buffers for
    /// them. The default does nothing.
    fn close(&mut self, _partitions: &[(String, i32)]) {}
    fn stop(&mut self);
}

/// What a transform made of one input record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Keep(ConnectRecord),
    Drop,
    Fail(String),
}

/// `Any`: a plugin implementation recognises its own transforms when it joins a chain's
/// steps ([`super::plugin::Plugin::join_transforms`]).
pub trait Transform: Any + Send {
    /// One outcome per input record, in input order.
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError>;
}

pub trait Predicate: Send {
    /// One answer per input record.
    fn test(&mut self, records: &[ConnectRecord]) -> Result<Vec<Result<bool, String>>, TaskError>;
}
