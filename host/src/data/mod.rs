//! The Kafka Connect data model on the host side: schemas, values, records.
//!
//! Converters turn Kafka bytes into these types and back; `wasm/` lowers them into the
//! flattened WIT form for plugins. The shapes follow Connect's Java API (`Schema`, `Struct`,
//! `ConnectRecord`) so that converter and SMT semantics carry over one to one. Logical types
//! (Decimal, Date, Time, Timestamp) are a base type plus a schema name, as in Connect.

mod record;
mod schema;
mod source_batch;
mod value;

pub use record::{
    ConnectRecord, Data, Header, OffsetMap, SourcePosition, SourceRecord, TimestampType,
};
pub(crate) use schema::SchemaInterner;
pub use schema::{logical, Field, Schema, SchemaRef, SchemaType};
pub use source_batch::{MalformedBatch, SourceBatch};
pub use value::Value;
