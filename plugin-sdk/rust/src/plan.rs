//! Struct plans: an optional fast path for transforms that rewrite the fields of a struct
//! key or value the same way for every record of one schema (InsertField, MaskField,
//! ReplaceField, …).
//!
//! Such a transform can describe, once per input schema, where each output field comes from
//! (see [`Transform::struct_plan`](crate::Transform::struct_plan)). On the packed interface
//! the SDK then rewrites each record's bytes directly: it copies the record head, the other
//! side and the headers through unchanged and builds the struct from slices of the input,
//! without decoding the record into a [`Record`](crate::Record) and encoding it again. For
//! small records that decode/encode is most of what a transform costs.
//!
//! A plan must produce exactly what [`Transform::apply`](crate::Transform::apply) produces
//! for a record whose side is a non-null struct of that schema. Whenever a record does not
//! fit the plan (a null or non-struct side, a field whose value does not match its schema,
//! a partition, offset or timestamp the plan needs but the record lacks) the SDK gives that
//! record to `apply`, so only the common case has to be planned.

use crate::schema::SchemaRef;
use crate::value::Value;

/// Where one field of the rewritten struct comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSource {
    /// Field `index` of the input struct, unchanged. With `null_as_default`, a null reads as
    /// the input field's default when it has one (Connect's `Struct.get`).
    Input { index: usize, null_as_default: bool },
    /// Field `index` of the input struct replaced by `with`, unless the input is null: a
    /// null stays null, or (with `null_as_default` and a default on the input field) becomes
    /// `with` too, since the default would have been replaced.
    Replaced {
        index: usize,
        with: Value,
        null_as_default: bool,
    },
    /// The record's topic, as a string.
    Topic,
    /// The record's Kafka partition, as an int32.
    Partition,
    /// The record's Kafka offset, as an int64.
    Offset,
    /// The record's timestamp, as an int64 (Connect's Timestamp).
    Timestamp,
    /// The same value for every record.
    Constant(Value),
}

/// How to build the output struct from an input struct of one schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StructPlan {
    /// The output struct schema, with one field per entry of `fields`.
    pub schema: SchemaRef,
    /// The source of each output field, in the output schema's field order.
    pub fields: Vec<FieldSource>,
}

impl StructPlan {
    pub fn new(schema: SchemaRef, fields: Vec<FieldSource>) -> StructPlan {
        StructPlan { schema, fields }
    }
}
