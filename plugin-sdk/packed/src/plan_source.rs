//! Struct plan field source tags (`docs/packed-batches.md`, "Struct plans"): the variants of
//! the Rust SDK's `FieldSource`. A plan is a schema (written by
//! [`write_schema`](crate::write_schema)) followed by one field source per output field, each
//! one of these tags and its payload; the host reads it back and checks it against the input
//! schema before using it.

/// `uvar index, bool null_as_default`: an input field unchanged.
pub const INPUT: u8 = 0;
/// `uvar index, bool null_as_default, value`: an input field replaced unless null.
pub const REPLACED: u8 = 1;
pub const TOPIC: u8 = 2;
pub const PARTITION: u8 = 3;
pub const OFFSET: u8 = 4;
pub const TIMESTAMP: u8 = 5;
/// `value`: the same value for every record.
pub const CONSTANT: u8 = 6;
