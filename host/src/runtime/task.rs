//! The traits the runtime drives. They know nothing about WebAssembly: `wasm/` adapts
//! components to them, and tests may implement them natively.
//!
//! All calls are synchronous and may take CPU time: the runtime calls them from the task's
//! own thread, never from an async executor thread.

use crate::data::plan::PlanSide;
use crate::data::{ConnectRecord, SourceRecord};

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
    /// Up to `max_records` new records; empty when nothing is available right now.
    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError>;
    /// [`SourceTask::poll`], leaving the conversion of the records into the host's types to
    /// whoever calls [`Polled::into_records`]: the source task's poll thread hands that work
    /// to its produce thread, so the two share it. By default the records come converted.
    fn poll_deferred(&mut self, max_records: u32) -> Result<Polled, TaskError> {
        self.poll(max_records).map(Polled::ready)
    }
    fn stop(&mut self);
}

/// Records polled from a source, possibly not converted to the host's types yet.
pub struct Polled {
    len: usize,
    convert: Box<dyn FnOnce() -> Result<Vec<SourceRecord>, TaskError> + Send>,
}

impl Polled {
    pub fn ready(records: Vec<SourceRecord>) -> Polled {
        Polled {
            len: records.len(),
            convert: Box::new(move || Ok(records)),
        }
    }

    /// `len` records that `convert` produces (or fails to: the task then fails).
    pub fn deferred(
        len: usize,
        convert: impl FnOnce() -> Result<Vec<SourceRecord>, TaskError> + Send + 'static,
    ) -> Polled {
        Polled {
            len,
            convert: Box::new(convert),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn into_records(self) -> Result<Vec<SourceRecord>, TaskError> {
        (self.convert)()
    }
}

pub trait SinkTask: Send {
    /// Delivers a batch; returns the records that failed individually. The task takes the
    /// records out of `records`; on `Err(TaskError::Retriable(_))` it puts the same batch back,
    /// so the host retries it without keeping a copy of every batch.
    fn put(&mut self, records: &mut Vec<ConnectRecord>) -> Result<Vec<RecordFailure>, TaskError>;
    /// Makes everything accepted so far durable, before consumer offsets are committed.
    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<(), TaskError>;
    fn stop(&mut self);
}

/// What a transform made of one input record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Keep(ConnectRecord),
    Drop,
    Fail(String),
}

pub trait Transform: Send {
    /// One outcome per input record, in input order.
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError>;

    /// Whether [`Transform::apply_packed`] works (the plugin exports `packed-transforms`).
    fn has_packed(&self) -> bool {
        false
    }

    /// `apply` over a batch in the packed encoding (`docs/packed-batches.md`), returning the
    /// packed transform output, so a chain can hand one step's output to the next without
    /// decoding it on the host.
    fn apply_packed(&mut self, _batch: &[u8]) -> Result<Vec<u8>, TaskError> {
        Err(TaskError::Fatal(
            "this transform has no packed form".to_string(),
        ))
    }

    /// The side whose struct plans this transform gives (the plugin exports
    /// `transform-plans`), or `None`: then the chain never asks for a plan. Asked once, when
    /// the chain opens.
    fn plan_side(&mut self) -> Result<Option<PlanSide>, TaskError> {
        Ok(None)
    }

    /// The transform's struct plan for records whose planned side is a struct of the packed
    /// schema `input` (`data::plan::encode_input`), packed as `docs/packed-batches.md`
    /// ("Struct plans") describes; `None` leaves those records to `apply`.
    fn struct_plan(&mut self, _input: &[u8]) -> Result<Option<Vec<u8>>, TaskError> {
        Ok(None)
    }
}

pub trait Predicate: Send {
    /// One answer per input record.
    fn test(&mut self, records: &[ConnectRecord]) -> Result<Vec<Result<bool, String>>, TaskError>;
}
