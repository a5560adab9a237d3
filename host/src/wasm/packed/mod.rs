//! The fast path between the host and components that export the optional packed interfaces
//! (`packed-source`, `packed-sink`, `packed-transforms`, `transform-plans`; see
//! `docs/packed-batches.md`).
//!
//! Design decision: the wire format itself (tags, varints, the reader and writer, plan
//! sources) is the `sluice-packed` crate, shared with the Rust SDK so the two sides cannot
//! drift apart; this module holds only what is host-side. `codec` encodes host records into
//! packed batches and decodes (untrusted) packed output; `plan` checks and applies one
//! struct plan to records in host form; `planner` keeps a transform's plans by schema;
//! `fused` runs consecutive packed transforms of a chain as one segment, composing their
//! plans, so records cross into WASM only when no plan fits and are converted once per
//! segment rather than once per step.

pub(super) mod codec;
mod fused;
pub(super) mod plan;
pub(super) mod planner;

pub(super) use fused::join;
#[cfg(test)]
pub(super) use fused::FusedSteps;
