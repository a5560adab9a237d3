//! Worker, connector and task lifecycle. Drives the [`task`] traits; knows nothing about WASM.
//!
//! Design decision: one OS thread per task (plugin calls are synchronous CPU work; Kafka
//! clients are rdkafka's synchronous ones); the async runtime only serves REST, signals and
//! supervision.

pub mod active_topics;
pub mod config_store;
pub mod connector;
pub mod errors;
pub mod herder;
pub mod plugin;
pub mod reporter;
pub mod restart;
pub mod retry;
pub mod sink_task;
pub mod source_task;
pub mod stall;
pub mod task;
#[cfg(test)]
pub(crate) mod test_doubles;
pub mod transforms;
pub mod worker;

pub use connector::{Converters, Pipeline};
pub use worker::{Placement, StartError, Worker};
