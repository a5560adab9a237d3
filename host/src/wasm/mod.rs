//! The WebAssembly component engine: loads Sluice plugins (`.wasm` components) from
//! `plugin.path` and adapts them to the runtime's plugin and task traits.
//!
//! This is the only place in the host that knows about WebAssembly. Design decision: one
//! `wasmtime::Engine` for the process, components precompiled into an on-disk cache keyed by
//! the file's hash and the engine's compatibility hash, and **one `Store` per task** (or per
//! transform/predicate instance), so a trap or a breached limit poisons exactly one task.
//!
//! Map: `registry` (scans) → `load` (checks one file) → `cache` (compiled artifacts, specs) →
//! `plugin` (a loaded component as `runtime::plugin::Plugin`) → `source`/`sink`/`transform`
//! (task adapters) over `instance` (one store, trap poisoning); `lower`/`lift` convert data
//! for the structured interfaces, `packed` for the optional packed ones (preferred when a
//! component exports them; it also runs consecutive packed transforms as one chain segment),
//! `wasi` builds the deny-by-default sandbox, `network` the
//! allow-listed network access, `engine` owns the engine and linker, `limits`
//! the per-connector `wasm.*` limits, `guest_log` rate-limits plugin output, `reporter` buffers a sink's reports, `inspect`
//! describes a component file for `sluice plugins inspect`.

mod bindings;
mod cache;
mod engine;
mod guest_log;
mod inspect;
mod instance;
mod lift;
mod limits;
mod load;
mod lower;
mod network;
mod packed;
mod plugin;
mod plugin_metrics;
mod registry;
mod reporter;
mod sink;
mod source;
mod spec;
mod transform;
mod wasi;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use engine::Limits;
pub use inspect::{inspect, Capability, InspectError, Inspection};
pub use limits::{MEMORY_KEY, OUTPUT_KEY, RESERVED_PREFIX, TIMEOUT_KEY};
pub(crate) use network::Proto;
pub use network::{
    HttpLimits, NetworkPolicy, HTTP_MAX_CONCURRENT_KEY, HTTP_REQUEST_MAX_KEY,
    HTTP_RESPONSE_MAX_KEY, HTTP_TIMEOUT_KEY, HTTP_TLS_INSECURE_KEY, NETWORK_KEY, NETWORK_UDP_KEY,
};
pub use registry::{rescan_interval, WasmPlugins, DEFAULT_RESCAN_INTERVAL, RESCAN_INTERVAL_KEY};

/// Errors that stop the whole plugin catalog from loading (a single bad plugin file never
/// does: it is recorded in [`WasmPlugins::rejected`]).
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
}

/// `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`, else `<temp dir>/sluice-cache`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("sluice");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("sluice");
    }
    std::env::temp_dir().join("sluice-cache")
}
