//! Lifting (WIT -> SDK): a batch's schema table once, then each record on its own; indices
//! are never trusted.

use std::sync::Arc;

use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::record::{Header, OffsetMap, OffsetValue, Record, SourcePosition, TimestampType};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::value::{DataError, Struct, Value};

use super::{struct_schema, MAX_DEPTH};

/// Lifts a batch: the schema table once, then each record on its own, so one malformed
/// record fails alone.
pub(crate) fn lift_batch(batch: wit::Batch) -> Vec<Result<Record, DataError>> {
    let schemas: Vec<Result<SchemaRef, DataError>> = batch
        .schemas
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            lift_schema(s).map_err(|e| DataError(format!("schema {i} of the batch: {e}")))
        })
        .collect();
    batch
        .records
        .into_iter()
        .map(|r| lift_record(r, &schemas))
        .collect()
}

pub(crate) fn lift_record(
    r: wit::ConnectRecord,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Record, DataError> {
    let (key_schema, key) =
        lift_data(r.key, schemas).map_err(|e| DataError(format!("record key: {e}")))?;
    let (value_schema, value) =
        lift_data(r.value, schemas).map_err(|e| DataError(format!("record value: {e}")))?;
    let headers = r
        .headers
        .into_iter()
        .map(|h| {
            let (schema, value) = lift_data(h.value, schemas)
                .map_err(|e| DataError(format!("header `{}`: {e}", h.key)))?;
            Ok(Header {
                key: h.key,
                schema,
                value,
            })
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    Ok(Record {
        topic: r.topic,
        partition: r.kafka_partition,
        offset: r.kafka_offset,
        timestamp: r.timestamp,
        timestamp_type: match r.timestamp_type {
            wit::TimestampType::NoTimestampType => TimestampType::NoTimestampType,
            wit::TimestampType::CreateTime => TimestampType::CreateTime,
            wit::TimestampType::LogAppendTime => TimestampType::LogAppendTime,
        },
        key_schema,
        key,
        value_schema,
        value,
        headers,
    })
}

fn lift_data(
    data: wit::Data,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<(Option<SchemaRef>, Value), DataError> {
    let schema = match data.schema {
        None => None,
        Some(i) => match schemas.get(i as usize) {
            Some(Ok(s)) => Some(s.clone()),
            Some(Err(e)) => return Err(e.clone()),
            None => {
                return Err(DataError(format!(
                    "refers to schema {i} but the batch has {} schemas",
                    schemas.len()
                )))
            }
        },
    };
    let mut nodes: Vec<Option<wit::ValueNode>> = data.value.into_iter().map(Some).collect();
    if nodes.is_empty() {
        // An empty tree is read as null rather than refused: it carries no value either way.
        return Ok((schema, Value::Null));
    }
    let value = lift_value(&mut nodes, 0, schema.as_ref(), 0)?;
    Ok((schema, value))
}

/// Lifts the subtree at `index`. Nodes are taken out of `nodes` as they are used, which
/// moves strings and bytes without copying and turns a shared or cyclic reference into an
/// error instead of endless recursion.
fn lift_value(
    nodes: &mut [Option<wit::ValueNode>],
    index: u32,
    schema: Option<&SchemaRef>,
    depth: usize,
) -> Result<Value, DataError> {
    if depth > MAX_DEPTH {
        return Err(DataError(format!(
            "value tree deeper than {MAX_DEPTH} levels"
        )));
    }
    let len = nodes.len();
    let node = nodes
        .get_mut(index as usize)
        .ok_or_else(|| {
            DataError(format!(
                "value node {index} is out of range (tree has {len} nodes)"
            ))
        })?
        .take()
        .ok_or_else(|| DataError(format!("value node {index} is referenced twice")))?;
    Ok(match node {
        wit::ValueNode::Null => Value::Null,
        wit::ValueNode::Boolean(v) => Value::Boolean(v),
        wit::ValueNode::Int8(v) => Value::Int8(v),
        wit::ValueNode::Int16(v) => Value::Int16(v),
        wit::ValueNode::Int32(v) => Value::Int32(v),
        wit::ValueNode::Int64(v) => Value::Int64(v),
        wit::ValueNode::Float32(v) => Value::Float32(v),
        wit::ValueNode::Float64(v) => Value::Float64(v),
        wit::ValueNode::String(v) => Value::String(v),
        wit::ValueNode::Bytes(v) => Value::Bytes(v),
        wit::ValueNode::Array(children) => {
            let items = schema.and_then(|s| s.items.as_ref());
            Value::Array(
                children
                    .into_iter()
                    .map(|c| lift_value(nodes, c, items, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        wit::ValueNode::Map(children) => {
            let keys = schema.and_then(|s| s.keys.as_ref());
            let values = schema.and_then(|s| s.values.as_ref());
            Value::Map(
                children
                    .into_iter()
                    .map(|(k, v)| {
                        Ok((
                            lift_value(nodes, k, keys, depth + 1)?,
                            lift_value(nodes, v, values, depth + 1)?,
                        ))
                    })
                    .collect::<Result<_, DataError>>()?,
            )
        }
        wit::ValueNode::Struct(children) => {
            let schema = struct_schema(schema, children.len())?;
            let values = children
                .into_iter()
                .zip(schema.fields.iter())
                .map(|(c, f)| lift_value(nodes, c, Some(&f.schema), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Value::Struct(Struct::from_values(schema, values)?)
        }
    })
}

/// Lifts one flattened schema into a tree of shared `Arc`s.
pub(crate) fn lift_schema(schema: wit::Schema) -> Result<SchemaRef, DataError> {
    if schema.nodes.is_empty() {
        return Err(DataError("schema has no nodes".to_string()));
    }
    let mut lifter = SchemaLifter {
        nodes: &schema.nodes,
        defaults: schema.defaults.iter().cloned().map(Some).collect(),
        done: vec![None; schema.nodes.len()],
        in_progress: vec![false; schema.nodes.len()],
    };
    lifter.lift(0, 0)
}

struct SchemaLifter<'a> {
    nodes: &'a [wit::SchemaNode],
    defaults: Vec<Option<wit::ValueNode>>,
    /// Lifted nodes: a node referenced twice becomes one shared `Arc`.
    done: Vec<Option<SchemaRef>>,
    in_progress: Vec<bool>,
}

impl SchemaLifter<'_> {
    fn lift(&mut self, index: u32, depth: usize) -> Result<SchemaRef, DataError> {
        let i = index as usize;
        let node = self.nodes.get(i).ok_or_else(|| {
            DataError(format!(
                "schema node {index} is out of range ({} nodes)",
                self.nodes.len()
            ))
        })?;
        if let Some(done) = &self.done[i] {
            return Ok(done.clone());
        }
        if self.in_progress[i] || depth > MAX_DEPTH {
            return Err(DataError(format!("schema node {index} refers to itself")));
        }
        self.in_progress[i] = true;
        let mut schema = Schema::new(match node.type_ {
            wit::SchemaType::Int8 => SchemaType::Int8,
            wit::SchemaType::Int16 => SchemaType::Int16,
            wit::SchemaType::Int32 => SchemaType::Int32,
            wit::SchemaType::Int64 => SchemaType::Int64,
            wit::SchemaType::Float32 => SchemaType::Float32,
            wit::SchemaType::Float64 => SchemaType::Float64,
            wit::SchemaType::Boolean => SchemaType::Boolean,
            wit::SchemaType::String => SchemaType::String,
            wit::SchemaType::Bytes => SchemaType::Bytes,
            wit::SchemaType::Array => SchemaType::Array,
            wit::SchemaType::Map => SchemaType::Map,
            wit::SchemaType::Struct => SchemaType::Struct,
        });
        schema.optional = node.optional;
        schema.name = node.name.clone();
        schema.version = node.version;
        schema.doc = node.doc.clone();
        schema.parameters = node.parameters.clone();
        schema.items = node.items.map(|c| self.lift(c, depth + 1)).transpose()?;
        schema.keys = node.keys.map(|c| self.lift(c, depth + 1)).transpose()?;
        schema.values = node.values.map(|c| self.lift(c, depth + 1)).transpose()?;
        schema.fields = node
            .fields
            .iter()
            .map(|f| {
                Ok(Field {
                    name: f.name.clone(),
                    schema: self.lift(f.schema, depth + 1)?,
                })
            })
            .collect::<Result<_, DataError>>()?;
        if let Some(d) = node.default_value {
            // The default is typed by this very schema (struct defaults need the fields).
            let shape = Arc::new(schema.clone());
            schema.default = Some(lift_value(&mut self.defaults, d, Some(&shape), 0)?);
        }
        let schema = Arc::new(schema);
        self.in_progress[i] = false;
        self.done[i] = Some(schema.clone());
        Ok(schema)
    }
}

pub(crate) fn lift_offset_map(map: wit::OffsetMap) -> OffsetMap {
    OffsetMap(
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    wit::OffsetValue::Null => OffsetValue::Null,
                    wit::OffsetValue::Boolean(b) => OffsetValue::Boolean(b),
                    wit::OffsetValue::Int(i) => OffsetValue::Int(i),
                    wit::OffsetValue::Float(f) => OffsetValue::Float(f),
                    wit::OffsetValue::String(s) => OffsetValue::String(s),
                };
                (k, v)
            })
            .collect(),
    )
}

pub(crate) fn lift_position(p: wit::SourcePosition) -> SourcePosition {
    SourcePosition {
        partition: lift_offset_map(p.partition),
        offset: lift_offset_map(p.offset),
    }
}
