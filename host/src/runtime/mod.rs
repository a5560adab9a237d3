//! Worker, connector and task lifecycle. Drives the [`task`] traits; knows nothing about WASM.

pub mod plugin;
pub mod status;
pub mod task;
