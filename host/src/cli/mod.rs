//! Command-line tools of the `sluice` binary beyond running a worker: the REST client
//! (`sluice connectors …`, `sluice plugins list|validate`), the offline transform runner
//! (`sluice transform`) and the plugin scaffolder (`sluice plugin new`). They live in the
//! library so their logic is unit-tested; `main.rs` only parses arguments and dispatches.

pub mod client;
pub mod scaffold;
pub mod transform;
