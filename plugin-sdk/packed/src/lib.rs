//! Primitives of the packed batch encoding (`docs/packed-batches.md`), shared by the host and
//! the Rust plugin SDK so both sides read and write exactly the same bytes.
//!
//! Why a byte encoding at all: the component model lowers a `list<record>` field by field and
//! calls the guest's allocator once per string or list, which made crossing the boundary the
//! largest cost of a transform or sink call. A packed batch crosses as one `list<u8>`: one
//! allocation and one copy, whatever the batch holds.
//!
//! This crate only knows the wire primitives and tags; each side maps its own record and
//! value types onto them: `encoder` writes ([`Writer`], [`write_value`], [`write_schema`]),
//! `decoder` reads and checks ([`Reader`], [`skip_value`], [`skip_schema`], [`skip_record`]),
//! [`scan`] finds the ends of values without checking them, `record` is the head every record
//! starts with ([`RecordHead`]) and [`plan_source`] the tags of struct plans.
//!
//! # Untrusted input
//!
//! On the host, everything decoded is a plugin's output. The decoder never panics: malformed
//! bytes give an [`Error`] naming the byte offset, counts larger than the bytes left are
//! refused before anything is reserved, and trees deeper than [`MAX_DEPTH`] are refused
//! without recursion. Its unit tests (`decoder_tests.rs`) cover each kind of damage; a
//! `cargo fuzz` target in `fuzz/` (its own workspace, so the main one never builds it) feeds
//! it arbitrary bytes and checks that [`scan`] accepts exactly what the checked skip accepts.
//! To run it: `cargo xtask fuzz [SECONDS]` from the repository root (it builds the target
//! with a nightly toolchain), or `cargo +nightly fuzz run decode` here with cargo-fuzz.

#![forbid(unsafe_code)]

/// First byte of every packed payload. Bumped on any incompatible change.
pub const VERSION: u8 = 1;

/// Deeper value or schema trees than this are refused rather than risking the stack.
pub const MAX_DEPTH: usize = 512;

/// Value tags: the variant order of the WIT `value-node`.
pub mod tag {
    pub const NULL: u8 = 0;
    pub const BOOLEAN: u8 = 1;
    pub const INT8: u8 = 2;
    pub const INT16: u8 = 3;
    pub const INT32: u8 = 4;
    pub const INT64: u8 = 5;
    pub const FLOAT32: u8 = 6;
    pub const FLOAT64: u8 = 7;
    pub const STRING: u8 = 8;
    pub const BYTES: u8 = 9;
    pub const ARRAY: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

/// Schema type codes: the case order of the WIT `schema-type` enum.
pub mod schema_type {
    pub const INT8: u8 = 0;
    pub const INT16: u8 = 1;
    pub const INT32: u8 = 2;
    pub const INT64: u8 = 3;
    pub const FLOAT32: u8 = 4;
    pub const FLOAT64: u8 = 5;
    pub const BOOLEAN: u8 = 6;
    pub const STRING: u8 = 7;
    pub const BYTES: u8 = 8;
    pub const ARRAY: u8 = 9;
    pub const MAP: u8 = 10;
    pub const STRUCT: u8 = 11;
}

/// Offset value tags: the case order of the WIT `offset-value` variant.
pub mod offset_tag {
    pub const NULL: u8 = 0;
    pub const BOOLEAN: u8 = 1;
    pub const INT: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const STRING: u8 = 4;
}

/// Transform outcome tags: the case order of the WIT `outcome` variant.
pub mod outcome_tag {
    pub const KEEP: u8 = 0;
    pub const DROP: u8 = 1;
    pub const FAIL: u8 = 2;
}

mod decoder;
mod encoder;
pub mod plan_source;
mod record;
pub mod scan;

pub use decoder::{skip_record, skip_schema, skip_value, Error, Reader};
pub use encoder::{write_schema, write_value, PackSchema, PackValue, ValueView, Writer};
pub use record::RecordHead;

#[cfg(test)]
mod decoder_tests;
