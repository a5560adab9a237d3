//! Sluice: a Kafka Connect-compatible connector host whose connectors and transforms are
//! sandboxed WebAssembly components.
//!
//! The modules form layers, each using only the ones below it (checked by `layers.rs`, drawn
//! in docs/architecture.md): `spec` (types every layer shares), `atomic_file` and `backoff`
//! (small utilities) ← `data` (the Connect data model), `metrics` (counters) ← `config` (parse and compile configs)
//! ← `convert`, `kafka` ← `offsets`, `schema_registry` (the embedded Schema Registry) ← `runtime` (worker, connectors, task loops) ← `wasm`
//! (components behind the runtime's traits), `rest` (the HTTP API), `distributed` (Kafka
//! Connect's group protocol and internal topic formats) ← `cli` (commands).

mod atomic_file;
mod backoff;
pub mod cli;
pub mod config;
pub mod convert;
pub mod data;
pub mod distributed;
#[doc(hidden)]
pub mod fuzzing;
pub mod kafka;
#[cfg(test)]
mod layers;
pub mod listen;
pub mod metrics;
pub mod offsets;
pub mod rest;
pub mod runtime;
pub mod schema_registry;
pub mod spec;
pub mod url;
pub mod wasm;
