//! Lowering the host data model into the flattened WIT form handed to plugins.
//!
//! Design decision: schemas are interned per batch by `Arc` pointer, so a batch whose records
//! share one `SchemaRef` (the normal case: one converter, one topic) carries that schema once
//! in the batch's `schemas` table; records are consumed, so strings and byte buffers are
//! moved into the WIT form rather than cloned.

use super::bindings::types as wit;
use crate::data::{
    ConnectRecord, Data, Header, OffsetMap, Schema, SchemaInterner, SchemaRef, SchemaType,
    SourcePosition, TimestampType, Value,
};

/// The schema table of one batch under construction.
#[derive(Default)]
pub(crate) struct SchemaTable {
    schemas: Vec<wit::Schema>,
    interner: SchemaInterner,
}

impl SchemaTable {
    pub fn intern(&mut self, schema: &SchemaRef) -> u32 {
        let schemas = &mut self.schemas;
        self.interner
            .intern(schema, |s| schemas.push(lower_schema(s)))
    }

    pub fn into_schemas(self) -> Vec<wit::Schema> {
        self.schemas
    }
}

/// Lowers a batch of records, consuming them.
pub(crate) fn batch(records: Vec<ConnectRecord>) -> wit::Batch {
    let mut table = SchemaTable::default();
    let records = records.into_iter().map(|r| record(r, &mut table)).collect();
    wit::Batch {
        schemas: table.into_schemas(),
        records,
    }
}

pub(crate) fn record(r: ConnectRecord, table: &mut SchemaTable) -> wit::ConnectRecord {
    wit::ConnectRecord {
        topic: r.topic,
        kafka_partition: r.kafka_partition,
        kafka_offset: r.kafka_offset,
        timestamp: r.timestamp,
        timestamp_type: match r.timestamp_type {
            TimestampType::NoTimestampType => wit::TimestampType::NoTimestampType,
            TimestampType::CreateTime => wit::TimestampType::CreateTime,
            TimestampType::LogAppendTime => wit::TimestampType::LogAppendTime,
        },
        key: data(r.key, table),
        value: data(r.value, table),
        headers: r
            .headers
            .into_iter()
            .map(|Header { key, value }| wit::Header {
                key,
                value: data(value, table),
            })
            .collect(),
    }
}

pub(crate) fn data(d: Data, table: &mut SchemaTable) -> wit::Data {
    let schema = d.schema.as_ref().map(|s| table.intern(s));
    let mut nodes = Vec::new();
    value(d.value, &mut nodes);
    wit::Data {
        schema,
        value: nodes,
    }
}

fn index(nodes: &[wit::ValueNode]) -> u32 {
    // A batch beyond 4 G nodes cannot cross the boundary anyway (32-bit guest memory).
    u32::try_from(nodes.len()).unwrap_or(u32::MAX)
}

/// Appends `v` in pre-order (the node itself first, so the root of a tree is its first node)
/// and returns its index.
pub(crate) fn value(v: Value, nodes: &mut Vec<wit::ValueNode>) -> u32 {
    let at = index(nodes);
    let node = match v {
        Value::Null => wit::ValueNode::Null,
        Value::Boolean(b) => wit::ValueNode::Boolean(b),
        Value::Int8(x) => wit::ValueNode::Int8(x),
        Value::Int16(x) => wit::ValueNode::Int16(x),
        Value::Int32(x) => wit::ValueNode::Int32(x),
        Value::Int64(x) => wit::ValueNode::Int64(x),
        Value::Float32(x) => wit::ValueNode::Float32(x),
        Value::Float64(x) => wit::ValueNode::Float64(x),
        Value::String(s) => wit::ValueNode::String(s),
        Value::Bytes(b) => wit::ValueNode::Bytes(b),
        Value::Array(items) => {
            nodes.push(wit::ValueNode::Null);
            let children = items.into_iter().map(|item| value(item, nodes)).collect();
            nodes[at as usize] = wit::ValueNode::Array(children);
            return at;
        }
        Value::Map(entries) => {
            nodes.push(wit::ValueNode::Null);
            let children = entries
                .into_iter()
                .map(|(k, v)| (value(k, nodes), value(v, nodes)))
                .collect();
            nodes[at as usize] = wit::ValueNode::Map(children);
            return at;
        }
        Value::Struct(fields) => {
            nodes.push(wit::ValueNode::Null);
            let children = fields.into_iter().map(|f| value(f, nodes)).collect();
            nodes[at as usize] = wit::ValueNode::Struct(children);
            return at;
        }
    };
    nodes.push(node);
    at
}

/// Flattens one schema tree (once per batch, so cloning its strings is fine).
pub(crate) fn lower_schema(schema: &Schema) -> wit::Schema {
    let mut out = wit::Schema {
        nodes: Vec::new(),
        defaults: Vec::new(),
    };
    schema_node(schema, &mut out);
    out
}

fn schema_node(s: &Schema, out: &mut wit::Schema) -> u32 {
    let at = u32::try_from(out.nodes.len()).unwrap_or(u32::MAX);
    out.nodes.push(wit::SchemaNode {
        type_: schema_type(s.ty),
        optional: s.optional,
        name: s.name.clone(),
        version: s.version,
        doc: s.doc.clone(),
        parameters: s.parameters.clone(),
        default_value: s.default.clone().map(|d| value(d, &mut out.defaults)),
        items: None,
        keys: None,
        values: None,
        fields: Vec::new(),
    });
    let items = s.items.as_deref().map(|c| schema_node(c, out));
    let keys = s.keys.as_deref().map(|c| schema_node(c, out));
    let values = s.values.as_deref().map(|c| schema_node(c, out));
    let fields: Vec<wit::Field> = s
        .fields
        .iter()
        .map(|f| wit::Field {
            name: f.name.clone(),
            schema: schema_node(&f.schema, out),
        })
        .collect();
    let node = &mut out.nodes[at as usize];
    node.items = items;
    node.keys = keys;
    node.values = values;
    node.fields = fields;
    at
}

fn schema_type(t: SchemaType) -> wit::SchemaType {
    match t {
        SchemaType::Int8 => wit::SchemaType::Int8,
        SchemaType::Int16 => wit::SchemaType::Int16,
        SchemaType::Int32 => wit::SchemaType::Int32,
        SchemaType::Int64 => wit::SchemaType::Int64,
        SchemaType::Float32 => wit::SchemaType::Float32,
        SchemaType::Float64 => wit::SchemaType::Float64,
        SchemaType::Boolean => wit::SchemaType::Boolean,
        SchemaType::String => wit::SchemaType::String,
        SchemaType::Bytes => wit::SchemaType::Bytes,
        SchemaType::Array => wit::SchemaType::Array,
        SchemaType::Map => wit::SchemaType::Map,
        SchemaType::Struct => wit::SchemaType::Struct,
    }
}

/// A source partition or offset; Connect allows only primitives there.
pub(crate) fn offset_map(map: &OffsetMap) -> Result<wit::OffsetMap, String> {
    map.iter()
        .map(|(key, v)| {
            let lowered = match v {
                serde_json::Value::Null => wit::OffsetValue::Null,
                serde_json::Value::Bool(b) => wit::OffsetValue::Boolean(*b),
                serde_json::Value::String(s) => wit::OffsetValue::String(s.clone()),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => wit::OffsetValue::Int(i),
                    None => wit::OffsetValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(format!(
                        "source offset key `{key}` holds a nested value ({v}); only null, booleans, numbers and strings are allowed"
                    ))
                }
            };
            Ok((key.clone(), lowered))
        })
        .collect()
}

pub(crate) fn positions(
    positions: Vec<SourcePosition>,
) -> Result<Vec<wit::SourcePosition>, String> {
    positions
        .iter()
        .map(|p| {
            Ok(wit::SourcePosition {
                partition: offset_map(&p.partition)?,
                offset: offset_map(&p.offset)?,
            })
        })
        .collect()
}
