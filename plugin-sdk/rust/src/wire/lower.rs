//! Lowering (SDK -> WIT): records and source records into flattened trees, sharing one schema
//! table per batch.

use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::record::{OffsetMap, OffsetValue, Record, SourceRecord, TimestampType};
use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::value::Value;

use super::SchemaInterner;

/// Lowers records of one batch, sharing one schema table among them.
#[derive(Default)]
pub(crate) struct Lowerer {
    interner: SchemaInterner,
    out: Vec<wit::Schema>,
}

impl Lowerer {
    pub(crate) fn new() -> Lowerer {
        Lowerer::default()
    }

    /// The table index of `schema`, lowering it on first sight.
    pub(crate) fn intern(&mut self, schema: &SchemaRef) -> u32 {
        let out = &mut self.out;
        self.interner.intern(schema, |schema| {
            let mut nodes = Vec::new();
            let mut defaults = Vec::new();
            lower_schema(schema, &mut nodes, &mut defaults);
            out.push(wit::Schema { nodes, defaults });
        })
    }

    pub(crate) fn data(&mut self, schema: Option<&SchemaRef>, value: Value) -> wit::Data {
        // A struct value always needs a struct schema on the wire; a plugin that left the
        // schema out gets the struct's own.
        let schema = match (schema, &value) {
            (Some(s), _) => Some(self.intern(s)),
            (None, Value::Struct(s)) => Some(self.intern(s.schema())),
            (None, _) => None,
        };
        let mut nodes = Vec::with_capacity(1);
        lower_value(value, &mut nodes);
        wit::Data {
            schema,
            value: nodes,
        }
    }

    pub(crate) fn record(&mut self, r: Record) -> wit::ConnectRecord {
        let key = self.data(r.key_schema.as_ref(), r.key);
        let value = self.data(r.value_schema.as_ref(), r.value);
        let headers = r
            .headers
            .into_iter()
            .map(|h| wit::Header {
                value: self.data(h.schema.as_ref(), h.value),
                key: h.key,
            })
            .collect();
        wit::ConnectRecord {
            topic: r.topic,
            kafka_partition: r.partition,
            kafka_offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: lower_timestamp_type(r.timestamp_type),
            key,
            value,
            headers,
        }
    }

    pub(crate) fn source_record(&mut self, r: SourceRecord) -> wit::SourceRecord {
        wit::SourceRecord {
            source_partition: lower_offset_map(r.source_partition),
            source_offset: lower_offset_map(r.source_offset),
            record: self.record(r.record),
        }
    }

    /// The schema table for everything lowered so far.
    pub(crate) fn finish(self) -> Vec<wit::Schema> {
        self.out
    }
}

/// Appends `schema` as a subtree of `nodes`; returns the index of its root node.
fn lower_schema(
    schema: &Schema,
    nodes: &mut Vec<wit::SchemaNode>,
    defaults: &mut Vec<wit::ValueNode>,
) -> u32 {
    let index = nodes.len();
    nodes.push(wit::SchemaNode {
        type_: lower_schema_type(schema.ty),
        optional: schema.optional,
        name: schema.name.clone(),
        version: schema.version,
        doc: schema.doc.clone(),
        parameters: schema.parameters.clone(),
        default_value: None,
        items: None,
        keys: None,
        values: None,
        fields: Vec::new(),
    });
    let default_value = schema
        .default
        .as_ref()
        .map(|d| lower_value(d.clone(), defaults));
    let items = schema
        .items
        .as_ref()
        .map(|s| lower_schema(s, nodes, defaults));
    let keys = schema
        .keys
        .as_ref()
        .map(|s| lower_schema(s, nodes, defaults));
    let values = schema
        .values
        .as_ref()
        .map(|s| lower_schema(s, nodes, defaults));
    let fields = schema
        .fields
        .iter()
        .map(|f| wit::Field {
            name: f.name.clone(),
            schema: lower_schema(&f.schema, nodes, defaults),
        })
        .collect();
    let node = &mut nodes[index];
    node.default_value = default_value;
    node.items = items;
    node.keys = keys;
    node.values = values;
    node.fields = fields;
    index as u32
}

/// Appends `value` as a subtree of `nodes` (root first); returns the root's index.
pub(super) fn lower_value(value: Value, nodes: &mut Vec<wit::ValueNode>) -> u32 {
    let index = nodes.len();
    let node = match value {
        Value::Null => wit::ValueNode::Null,
        Value::Boolean(v) => wit::ValueNode::Boolean(v),
        Value::Int8(v) => wit::ValueNode::Int8(v),
        Value::Int16(v) => wit::ValueNode::Int16(v),
        Value::Int32(v) => wit::ValueNode::Int32(v),
        Value::Int64(v) => wit::ValueNode::Int64(v),
        Value::Float32(v) => wit::ValueNode::Float32(v),
        Value::Float64(v) => wit::ValueNode::Float64(v),
        Value::String(v) => wit::ValueNode::String(v),
        Value::Bytes(v) => wit::ValueNode::Bytes(v),
        Value::Array(items) => {
            nodes.push(wit::ValueNode::Null);
            let children = items.into_iter().map(|v| lower_value(v, nodes)).collect();
            nodes[index] = wit::ValueNode::Array(children);
            return index as u32;
        }
        Value::Map(entries) => {
            nodes.push(wit::ValueNode::Null);
            let children = entries
                .into_iter()
                .map(|(k, v)| (lower_value(k, nodes), lower_value(v, nodes)))
                .collect();
            nodes[index] = wit::ValueNode::Map(children);
            return index as u32;
        }
        Value::Struct(s) => {
            nodes.push(wit::ValueNode::Null);
            let (_, values) = s.into_parts();
            let children = values.into_iter().map(|v| lower_value(v, nodes)).collect();
            nodes[index] = wit::ValueNode::Struct(children);
            return index as u32;
        }
    };
    nodes.push(node);
    index as u32
}

fn lower_schema_type(ty: SchemaType) -> wit::SchemaType {
    match ty {
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

fn lower_timestamp_type(t: TimestampType) -> wit::TimestampType {
    match t {
        TimestampType::NoTimestampType => wit::TimestampType::NoTimestampType,
        TimestampType::CreateTime => wit::TimestampType::CreateTime,
        TimestampType::LogAppendTime => wit::TimestampType::LogAppendTime,
    }
}

pub(crate) fn lower_offset_map(map: OffsetMap) -> wit::OffsetMap {
    map.0
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                OffsetValue::Null => wit::OffsetValue::Null,
                OffsetValue::Boolean(b) => wit::OffsetValue::Boolean(b),
                OffsetValue::Int(i) => wit::OffsetValue::Int(i),
                OffsetValue::Float(f) => wit::OffsetValue::Float(f),
                OffsetValue::String(s) => wit::OffsetValue::String(s),
            };
            (k, v)
        })
        .collect()
}

/// Lowers a whole batch of records (the host-side shape; used by the round-trip tests).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn lower_batch(records: Vec<Record>) -> wit::Batch {
    let mut lowerer = Lowerer::new();
    let records = records.into_iter().map(|r| lowerer.record(r)).collect();
    wit::Batch {
        schemas: lowerer.finish(),
        records,
    }
}

/// Lowers a whole batch of source records.
pub(crate) fn lower_source_batch(records: Vec<SourceRecord>) -> wit::SourceBatch {
    let mut lowerer = Lowerer::new();
    let records = records
        .into_iter()
        .map(|r| lowerer.source_record(r))
        .collect();
    wit::SourceBatch {
        schemas: lowerer.finish(),
        records,
    }
}
