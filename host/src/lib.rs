//! Sluice: a Kafka Connect-compatible connector host whose connectors and transforms are
//! sandboxed WebAssembly components.

pub mod config;
pub mod convert;
pub mod data;
pub mod offsets;
pub mod runtime;
