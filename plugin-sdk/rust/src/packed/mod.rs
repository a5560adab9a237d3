//! The guest side of the packed batch encoding (`docs/packed-batches.md`): what the
//! `packed-*` exports read and write instead of the structured WIT records.
//!
//! - [`encode`]: records, source records and transform outcomes to bytes (SDK -> host);
//! - [`decode`]: bytes to records (host -> SDK), owned or borrowing from the batch;
//! - [`plan`]: struct plans checked against their input schema and cached per schema;
//! - [`apply`]: a transform over a packed batch, rewriting the bytes of the records a plan
//!   fits and decoding only the others.
//!
//! Like [`wire`](crate::wire), encoding interns schemas per batch (pointer first, then
//! equality) and decoding shares one `Arc` per schema table entry among the records. A
//! record whose bytes are well formed but whose data does not fit its schema (a struct with
//! the wrong number of fields, say) fails alone; a payload that cannot be read at all is a
//! host bug and fails the whole call. The byte-level format itself (readers, writers,
//! tags) is the `sluice-packed` crate, shared with the host.

mod apply;
mod decode;
mod encode;
mod plan;

pub(crate) use apply::apply_transform;
pub(crate) use decode::{decode_batch, decode_batch_borrowed, decode_outcomes};
pub(crate) use encode::{encode_batch, Encoder};
pub(crate) use plan::struct_plan;
pub use plan::{NoPlans, PlanCache, PlanSource, WithPlans};
