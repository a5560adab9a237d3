//! Sluice: a Kafka Connect-compatible connector host whose connectors and transforms are
//! sandboxed WebAssembly components.

mod atomic_file;
pub mod cli;
pub mod config;
pub mod convert;
pub mod data;
pub mod kafka;
pub mod offsets;
pub mod rest;
pub mod runtime;
pub mod spec;
pub mod wasm;
