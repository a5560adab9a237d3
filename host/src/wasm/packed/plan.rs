//! Struct plans (`transform-plans` in `wit/connect.wit`, `docs/packed-batches.md` "Struct
//! plans"): a transform's description of how it rewrites the struct key or value of every
//! record of one schema, applied by the host to records in host form.
//!
//! Why the host applies them: for InsertField, MaskField, ReplaceField and the like, a
//! transform's own work per record is a few moves; handing the batch to the plugin and back
//! (encode, copy in, decode in the guest, re-encode, copy out, decode) costs many times
//! more. A plan is asked for once per input schema and is data, not code: [`StructPlan::new`]
//! checks it against that schema before it is used, so a plan cannot make the host emit a
//! value its output schema does not describe. Every record a plan does not fit (another
//! schema, a field value of the wrong type, metadata the plan needs but the record lacks)
//! still goes to the plugin's `apply`.

use std::sync::Arc;

use sluice_packed::{plan_source, write_schema, Error, Reader, Writer};

use super::codec::{read_schema, read_value};
use crate::data::{ConnectRecord, Schema, SchemaRef, SchemaType, Value};

/// The side of a record a transform's plans rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSide {
    Key,
    Value,
}

/// Where one output field comes from.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Input field `index`: `replace` (when set) stands in for a non-null value, `if_null`
    /// (when set) for a null one; otherwise the input value is moved (`last_use`) or cloned.
    Field {
        index: usize,
        replace: Option<Value>,
        if_null: Option<Value>,
        last_use: bool,
    },
    Topic,
    Partition,
    Offset,
    Timestamp,
    Constant(Value),
}

/// A plan checked against its input schema, ready to rewrite records.
#[derive(Debug, Clone, PartialEq)]
pub struct StructPlan {
    output: SchemaRef,
    /// Per input field: the type its value must have, and whether it may be null.
    checks: Vec<(SchemaType, bool)>,
    ops: Vec<Op>,
    needs_partition: bool,
    needs_offset: bool,
    needs_timestamp: bool,
}

/// The request of `transform-plans.struct-plan`: one packed schema.
pub fn encode_input(schema: &Schema) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    write_schema(&mut w, schema);
    w.finish()
}

/// Whether `v` has the variant `ty` calls for.
fn has_type(v: &Value, ty: SchemaType) -> bool {
    matches!(
        (v, ty),
        (Value::Boolean(_), SchemaType::Boolean)
            | (Value::Int8(_), SchemaType::Int8)
            | (Value::Int16(_), SchemaType::Int16)
            | (Value::Int32(_), SchemaType::Int32)
            | (Value::Int64(_), SchemaType::Int64)
            | (Value::Float32(_), SchemaType::Float32)
            | (Value::Float64(_), SchemaType::Float64)
            | (Value::String(_), SchemaType::String)
            | (Value::Bytes(_), SchemaType::Bytes)
            | (Value::Array(_), SchemaType::Array)
            | (Value::Map(_), SchemaType::Map)
            | (Value::Struct(_), SchemaType::Struct)
    )
}

/// Whether `v` is a value of `schema`, all the way down (for the plan's own values, which
/// are checked once per plan).
fn fits(v: &Value, schema: &Schema) -> bool {
    let child = |c: &Option<SchemaRef>, v: &Value| c.as_deref().is_some_and(|s| fits(v, s));
    match v {
        Value::Null => schema.optional,
        Value::Array(items) => {
            schema.ty == SchemaType::Array && items.iter().all(|i| child(&schema.items, i))
        }
        Value::Map(entries) => {
            schema.ty == SchemaType::Map
                && entries
                    .iter()
                    .all(|(k, v)| child(&schema.keys, k) && child(&schema.values, v))
        }
        Value::Struct(values) => {
            schema.ty == SchemaType::Struct
                && values.len() == schema.fields.len()
                && values
                    .iter()
                    .zip(&schema.fields)
                    .all(|(v, f)| fits(v, &f.schema))
        }
        other => has_type(other, schema.ty),
    }
}

/// Whether every value of `input` is a value of `output`: the same type and, for containers,
/// the same element schemas (a moved struct must keep matching its fields).
fn same_shape(input: &Schema, output: &Schema) -> bool {
    input.ty == output.ty
        && match input.ty {
            SchemaType::Array => input.items == output.items,
            SchemaType::Map => input.keys == output.keys && input.values == output.values,
            SchemaType::Struct => input.fields == output.fields,
            _ => true,
        }
}

fn read_plan(bytes: &[u8]) -> Result<(Schema, Vec<RawSource>), Error> {
    let mut r = Reader::new(bytes)?;
    let output = read_schema(&mut r, 0)?;
    let n = r.len()?;
    let mut sources = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        sources.push(match r.u8()? {
            plan_source::INPUT => RawSource::Input(index(&mut r)?, r.bool()?, None),
            plan_source::REPLACED => {
                let (index, null_as_default) = (index(&mut r)?, r.bool()?);
                RawSource::Input(index, null_as_default, Some(read_value(&mut r, 0)?))
            }
            plan_source::TOPIC => RawSource::Other(Op::Topic),
            plan_source::PARTITION => RawSource::Other(Op::Partition),
            plan_source::OFFSET => RawSource::Other(Op::Offset),
            plan_source::TIMESTAMP => RawSource::Other(Op::Timestamp),
            plan_source::CONSTANT => RawSource::Other(Op::Constant(read_value(&mut r, 0)?)),
            t => return Err(r.error(format!("unknown field source tag {t}"))),
        });
    }
    r.finish()?;
    Ok((output, sources))
}

/// An input field index (a plain number: unlike a count, it says nothing of the bytes left).
fn index(r: &mut Reader<'_>) -> Result<usize, Error> {
    let i = r.uvar()?;
    usize::try_from(i).map_err(|_| r.error(format!("field index {i} out of range")))
}

enum RawSource {
    /// Input field, `null_as_default`, replacement.
    Input(usize, bool, Option<Value>),
    Other(Op),
}

impl StructPlan {
    /// Reads the plan a plugin returned for struct schema `input` and checks it: every input
    /// index exists, and each output field can hold whatever its source gives. The error
    /// says what is wrong; the caller then leaves these records to the plugin's `apply`.
    pub fn new(bytes: &[u8], input: &Schema) -> Result<StructPlan, String> {
        let (output, sources) = read_plan(bytes).map_err(|e| format!("unreadable plan: {e}"))?;
        if input.ty != SchemaType::Struct || output.ty != SchemaType::Struct {
            return Err("a struct plan maps a struct schema to a struct schema".into());
        }
        if output.fields.len() != sources.len() {
            return Err(format!(
                "the output schema has {} fields but the plan gives {} sources",
                output.fields.len(),
                sources.len()
            ));
        }
        let mut ops = Vec::with_capacity(sources.len());
        for (source, field) in sources.into_iter().zip(&output.fields) {
            let out = &field.schema;
            let name = &field.name;
            let op = match source {
                RawSource::Input(index, null_as_default, replace) => {
                    let Some(in_field) = input.fields.get(index) else {
                        return Err(format!(
                            "output field {name:?} reads input field {index}, but the input \
                             schema has {} fields",
                            input.fields.len()
                        ));
                    };
                    let in_schema = &in_field.schema;
                    // A null reads as the input field's default (Connect's `Struct.get`),
                    // which a replacement replaces too.
                    let if_null = match &in_schema.default {
                        Some(d) if null_as_default => Some(replace.clone().unwrap_or(d.clone())),
                        _ => None,
                    };
                    let ok = match &replace {
                        Some(v) => fits(v, out),
                        None => same_shape(in_schema, out),
                    } && if_null.as_ref().is_none_or(|v| fits(v, out))
                        && (out.optional || !in_schema.optional || if_null.is_some());
                    if !ok {
                        return Err(format!(
                            "output field {name:?} cannot hold input field {:?}{}",
                            in_field.name,
                            if replace.is_some() { " replaced" } else { "" }
                        ));
                    }
                    Op::Field {
                        index,
                        replace,
                        if_null,
                        last_use: false,
                    }
                }
                RawSource::Other(op) => {
                    let ok = match &op {
                        Op::Topic => out.ty == SchemaType::String,
                        Op::Partition => out.ty == SchemaType::Int32,
                        Op::Offset | Op::Timestamp => out.ty == SchemaType::Int64,
                        Op::Constant(v) => fits(v, out),
                        Op::Field { .. } => false,
                    };
                    if !ok {
                        return Err(format!(
                            "output field {name:?} ({}) cannot hold its source {op:?}",
                            out.ty.json_name()
                        ));
                    }
                    op
                }
            };
            ops.push(op);
        }
        let checks = input
            .fields
            .iter()
            .map(|f| (f.schema.ty, f.schema.optional))
            .collect();
        Ok(StructPlan::assemble(
            Arc::new(output),
            checks,
            ops,
            [false; 3],
        ))
    }

    /// Sets each field op's `last_use` and what the plan reads of the record; `needs` adds
    /// partition, offset, timestamp needs of plans composed into this one.
    fn assemble(
        output: SchemaRef,
        checks: Vec<(SchemaType, bool)>,
        mut ops: Vec<Op>,
        needs: [bool; 3],
    ) -> StructPlan {
        // Move each input value at its last use, clone it at earlier ones.
        let mut seen = vec![false; checks.len()];
        for op in ops.iter_mut().rev() {
            if let Op::Field {
                index, last_use, ..
            } = op
            {
                *last_use = !std::mem::replace(&mut seen[*index], true);
            }
        }
        let reads = |want: &Op| ops.iter().any(|o| o == want);
        StructPlan {
            needs_partition: needs[0] || reads(&Op::Partition),
            needs_offset: needs[1] || reads(&Op::Offset),
            needs_timestamp: needs[2] || reads(&Op::Timestamp),
            output,
            checks,
            ops,
        }
    }

    /// The schema the plan's records have after it.
    pub fn output(&self) -> &SchemaRef {
        &self.output
    }

    /// The one plan that rewrites a record as `self` and then `next` do, where `next` is the
    /// plan for `self`'s output schema.
    ///
    /// Why: a chain of planned steps then rewrites each record once, with one pass over its
    /// fields, instead of once per step. The composition is exact: what `self` puts in a
    /// field is an input value, or a constant known here (a replacement, a default, a
    /// constant), so what `next` makes of it is again an input value or a constant. It fits
    /// exactly the records both plans fit (`self`'s checks, both plans' metadata), since
    /// `self`'s output always passes `next`'s checks (`new` checked it against its output
    /// schema).
    pub fn then(&self, next: &StructPlan) -> StructPlan {
        let mut ops = Vec::with_capacity(next.ops.len());
        for op in &next.ops {
            ops.push(match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                    ..
                } => {
                    // What `next` makes of a value `v` of field `index` of its input.
                    let outer = |v: Value| match v {
                        Value::Null => if_null.clone().unwrap_or(Value::Null),
                        v => replace.clone().unwrap_or(v),
                    };
                    match &self.ops[*index] {
                        Op::Field {
                            index: inner,
                            replace: inner_replace,
                            if_null: inner_if_null,
                            ..
                        } => Op::Field {
                            index: *inner,
                            replace: match inner_replace {
                                Some(c) => Some(outer(c.clone())),
                                None => replace.clone(),
                            },
                            if_null: Some(outer(inner_if_null.clone().unwrap_or(Value::Null)))
                                .filter(|v| !v.is_null()),
                            last_use: false,
                        },
                        Op::Constant(c) => Op::Constant(outer(c.clone())),
                        // Topic, partition, offset and timestamp are never null where the
                        // plan fits (it needs them).
                        meta => match replace {
                            Some(r) => Op::Constant(r.clone()),
                            None => meta.clone(),
                        },
                    }
                }
                other => other.clone(),
            });
        }
        StructPlan::assemble(
            next.output.clone(),
            self.checks.clone(),
            ops,
            [
                self.needs_partition || next.needs_partition,
                self.needs_offset || next.needs_offset,
                self.needs_timestamp || next.needs_timestamp,
            ],
        )
    }

    /// Whether the plan fits `record` (whose `side` has the plan's input schema): the side
    /// is a struct whose values have their fields' types, and the record carries what the
    /// plan reads.
    pub fn fits(&self, record: &ConnectRecord, side: PlanSide) -> bool {
        let data = match side {
            PlanSide::Key => &record.key,
            PlanSide::Value => &record.value,
        };
        let Value::Struct(values) = &data.value else {
            return false;
        };
        values.len() == self.checks.len()
            && values
                .iter()
                .zip(&self.checks)
                .all(|(v, &(ty, optional))| has_type(v, ty) || (optional && v.is_null()))
            && (!self.needs_partition || record.kafka_partition.is_some())
            && (!self.needs_offset || record.kafka_offset.is_some())
            && (!self.needs_timestamp || record.timestamp.is_some())
    }

    /// Rewrites `record`'s `side` by the plan. Call only when [`fits`](Self::fits) holds.
    pub fn rewrite(&self, record: &mut ConnectRecord, side: PlanSide) {
        self.rewrite_with(record, side, &mut Vec::new());
    }

    /// [`rewrite`](Self::rewrite) building the new fields in `scratch`, which then holds the
    /// record's old field vector (emptied): a caller rewriting a batch passes the same
    /// scratch for every record, so records trade vectors instead of allocating new ones.
    pub fn rewrite_with(
        &self,
        record: &mut ConnectRecord,
        side: PlanSide,
        scratch: &mut Vec<Value>,
    ) {
        let data = match side {
            PlanSide::Key => &mut record.key,
            PlanSide::Value => &mut record.value,
        };
        let Value::Struct(input) = &mut data.value else {
            return;
        };
        scratch.clear();
        scratch.reserve(self.ops.len());
        for op in &self.ops {
            scratch.push(match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                    last_use,
                } => {
                    let v = &mut input[*index];
                    match (v.is_null(), replace, if_null) {
                        (true, _, Some(d)) => d.clone(),
                        (true, _, None) => Value::Null,
                        (false, Some(r), _) => r.clone(),
                        (false, None, _) if *last_use => std::mem::replace(v, Value::Null),
                        (false, None, _) => v.clone(),
                    }
                }
                Op::Topic => Value::String(record.topic.clone()),
                Op::Partition => record.kafka_partition.map_or(Value::Null, Value::Int32),
                Op::Offset => record.kafka_offset.map_or(Value::Null, Value::Int64),
                Op::Timestamp => record.timestamp.map_or(Value::Null, Value::Int64),
                Op::Constant(v) => v.clone(),
            });
        }
        std::mem::swap(input, scratch);
        // Drops what the plan did not keep (masked, excluded values).
        scratch.clear();
        data.schema = Some(self.output.clone());
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
