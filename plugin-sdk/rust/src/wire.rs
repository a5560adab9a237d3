//! Conversions between the SDK's tree types and the flattened WIT form.
//!
//! Lowering interns schemas per batch: a [`Lowerer`] keeps every schema it has emitted and
//! looks a new one up by `Arc` pointer first, then by equality, so a batch of N records that
//! share one schema carries exactly one entry in `schemas`. Lifting does the reverse: the
//! batch's schema table is lifted once, and every record refers to the shared `Arc`s.
//!
//! Lifting never trusts indices: out-of-range or cyclic references become a [`DataError`]
//! for that record, never a panic.

use std::sync::Arc;

use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::record::{
    Header, OffsetMap, OffsetValue, Record, SourcePosition, SourceRecord, TimestampType,
};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::value::{DataError, Struct, Value};

/// Deeper trees than this are rejected rather than risking the guest's stack.
const MAX_DEPTH: usize = 512;

// ---------------------------------------------------------------------------------------
// Lowering (SDK -> WIT)
// ---------------------------------------------------------------------------------------

/// The schema table of one batch under construction: maps each schema `Arc` to its table
/// index, so equal schemas (the same `Arc`, or equal ones built separately) share one entry.
/// Used by both encodings (this module's WIT form and the packed one).
#[derive(Default)]
pub(crate) struct SchemaInterner {
    /// Every schema `Arc` seen so far with its table index.
    seen: Vec<(SchemaRef, u32)>,
    /// The last hit, checked first: batches are usually runs of one schema.
    last: Option<usize>,
    entries: u32,
}

impl SchemaInterner {
    /// The table index of `schema`; on first sight `add` appends it to the table.
    pub(crate) fn intern(&mut self, schema: &SchemaRef, add: impl FnOnce(&Schema)) -> u32 {
        if let Some(last) = self.last {
            if Arc::ptr_eq(&self.seen[last].0, schema) {
                return self.seen[last].1;
            }
        }
        if let Some(i) = self.seen.iter().position(|(s, _)| Arc::ptr_eq(s, schema)) {
            self.last = Some(i);
            return self.seen[i].1;
        }
        // An equal schema built separately (e.g. once per record) still shares one entry;
        // remember this Arc too so its next lookup is a pointer hit.
        let index = match self.seen.iter().find(|(s, _)| **s == **schema) {
            Some((_, index)) => *index,
            None => {
                add(schema);
                self.entries += 1;
                self.entries - 1
            }
        };
        self.seen.push((schema.clone(), index));
        self.last = Some(self.seen.len() - 1);
        index
    }

    /// Starts the table with entries already written elsewhere (an input batch's table that
    /// an output copies): `schemas[i]` is entry `i`; `None` marks an entry that is there but
    /// could not be read, which nothing will refer to.
    pub(crate) fn seeded(schemas: &[Option<SchemaRef>]) -> SchemaInterner {
        SchemaInterner {
            seen: schemas
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((s.clone()?, i as u32)))
                .collect(),
            last: None,
            entries: schemas.len() as u32,
        }
    }

    /// How many entries the table has.
    pub(crate) fn entries(&self) -> u32 {
        self.entries
    }
}

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
fn lower_value(value: Value, nodes: &mut Vec<wit::ValueNode>) -> u32 {
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

// ---------------------------------------------------------------------------------------
// Lifting (WIT -> SDK)
// ---------------------------------------------------------------------------------------

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

/// The schema a struct value of `fields` fields is read with, in either encoding: it must be
/// a struct schema with exactly that many fields.
pub(crate) fn struct_schema(
    schema: Option<&SchemaRef>,
    fields: usize,
) -> Result<SchemaRef, DataError> {
    let schema = match schema {
        Some(s) if s.ty == SchemaType::Struct => s.clone(),
        Some(s) => return Err(DataError(format!("struct value with a {:?} schema", s.ty))),
        None => return Err(DataError("struct value without a schema".to_string())),
    };
    if fields != schema.fields.len() {
        return Err(DataError(format!(
            "struct value has {fields} fields but its schema has {}",
            schema.fields.len()
        )));
    }
    Ok(schema)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn address() -> SchemaRef {
        Schema::struct_builder()
            .name("com.example.Address")
            .field("street", Schema::string())
            .field("zip", Schema::int32().optional().with_default(0i32))
            .build_ref()
    }

    fn user_schema() -> SchemaRef {
        Schema::struct_builder()
            .name("com.example.User")
            .version(2)
            .doc("a user")
            .field("id", Schema::int64())
            .field("price", Schema::decimal(2))
            .field("tags", Schema::array(Schema::string()))
            .field(
                "scores",
                Schema::map(Schema::string(), Schema::float64().optional()),
            )
            .field("addresses", Schema::array(address()))
            .field("at", Schema::timestamp().optional())
            .build_ref()
    }

    fn user(schema: &SchemaRef, id: i64) -> Value {
        let mut addr = Struct::new(address()).unwrap();
        addr.put("street", "Main St").unwrap();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", id)
            .unwrap()
            .put("price", Value::decimal(-12345))
            .unwrap()
            .put("tags", Value::Array(vec!["a".into(), "b".into()]))
            .unwrap()
            .put(
                "scores",
                Value::Map(vec![("x".into(), 1.5f64.into()), ("y".into(), Value::Null)]),
            )
            .unwrap()
            .put("addresses", Value::Array(vec![Value::Struct(addr)]))
            .unwrap();
        Value::Struct(s)
    }

    #[test]
    fn nested_struct_array_map_round_trip() {
        let schema = user_schema();
        let record = Record::new("users")
            .with_key(Some(Schema::string().into_ref()), "k")
            .with_value(Some(schema.clone()), user(&schema, 7))
            .with_timestamp(1_700_000_000_000)
            .with_header(
                "trace",
                None,
                Value::Map(vec![(Value::Int32(1), Value::Bytes(vec![0, 255]))]),
            );
        let batch = lower_batch(vec![record.clone()]);
        // Key string schema and value schema (with its nested address schema inline).
        assert_eq!(batch.schemas.len(), 2);
        let back: Vec<Record> = lift_batch(batch).into_iter().map(Result::unwrap).collect();
        assert_eq!(back, vec![record]);
        // The struct default (zip = 0) survived the trip through `defaults`.
        let back_addr = back[0].value.as_struct().unwrap().get("addresses").unwrap();
        let Value::Array(items) = back_addr else {
            panic!("not an array: {back_addr:?}")
        };
        assert_eq!(
            items[0].as_struct().unwrap().get("zip"),
            Some(&Value::Int32(0))
        );
        let zip_schema = &address().fields[1].schema;
        assert_eq!(zip_schema.default, Some(Value::Int32(0)));
    }

    #[test]
    fn value_tree_is_flattened_root_first() {
        let mut nodes = Vec::new();
        lower_value(
            Value::Array(vec![Value::Int8(1), Value::Array(vec![Value::Null])]),
            &mut nodes,
        );
        assert!(matches!(&nodes[0], wit::ValueNode::Array(c) if c == &vec![1, 2]));
        assert!(matches!(&nodes[2], wit::ValueNode::Array(c) if c == &vec![3]));
        assert_eq!(nodes.len(), 4);
    }

    #[test]
    fn one_schema_entry_per_distinct_schema_in_a_batch() {
        let shared = user_schema();
        let mut records: Vec<Record> = (0..100)
            .map(|i| Record::new("u").with_value(Some(shared.clone()), user(&shared, i)))
            .collect();
        // Equal but separately built schema: still interned to the same entry.
        let rebuilt = user_schema();
        records.push(Record::new("u").with_value(Some(rebuilt.clone()), user(&rebuilt, 100)));
        // A different schema gets its own entry; schemaless data gets none.
        records.push(Record::new("u").with_value(Some(Schema::string().into_ref()), "s"));
        records.push(Record::new("u").with_value(None, "schemaless"));
        let batch = lower_batch(records.clone());
        assert_eq!(batch.schemas.len(), 2);
        assert!(batch.records[..101]
            .iter()
            .all(|r| r.value.schema == Some(0)));
        assert_eq!(batch.records[101].value.schema, Some(1));
        assert_eq!(batch.records[102].value.schema, None);
        assert_eq!(batch.records[0].key.schema, None);

        let back: Vec<Record> = lift_batch(batch).into_iter().map(Result::unwrap).collect();
        assert_eq!(back, records);
        // Lifted records share one Arc per table entry.
        assert!(Arc::ptr_eq(
            back[0].value_schema.as_ref().unwrap(),
            back[100].value_schema.as_ref().unwrap()
        ));
    }

    #[test]
    fn struct_without_schema_uses_its_own() {
        let schema = user_schema();
        let batch = lower_batch(vec![Record::new("u").with_value(None, user(&schema, 1))]);
        assert_eq!(batch.records[0].value.schema, Some(0));
        let back = lift_batch(batch).pop().unwrap().unwrap();
        assert_eq!(back.value_schema.as_deref(), Some(&*schema));
    }

    #[test]
    fn source_records_carry_offsets() {
        let record = SourceRecord::new(
            OffsetMap::new().with("filename", "/in.txt"),
            OffsetMap::new()
                .with("position", 12i64)
                .with("ok", true)
                .with("f", 0.5)
                .with("n", OffsetValue::Null),
            Record::new("t").with_value(None, "x"),
        );
        let batch = lower_source_batch(vec![record.clone()]);
        let r = batch.records.into_iter().next().unwrap();
        assert_eq!(lift_offset_map(r.source_partition), record.source_partition);
        assert_eq!(lift_offset_map(r.source_offset), record.source_offset);
    }

    #[test]
    fn malformed_trees_fail_per_record_without_panicking() {
        let good = Record::new("t").with_value(None, "fine");
        let mut batch = lower_batch(vec![good.clone(), good.clone(), good.clone(), good.clone()]);
        batch.records[0].value.value = vec![wit::ValueNode::Array(vec![5])];
        batch.records[1].value.value = vec![wit::ValueNode::Array(vec![0])];
        batch.records[2].value.schema = Some(9);
        let lifted = lift_batch(batch);
        let e0 = lifted[0].as_ref().unwrap_err().to_string();
        assert!(e0.contains("out of range"), "{e0}");
        let e1 = lifted[1].as_ref().unwrap_err().to_string();
        assert!(e1.contains("referenced twice"), "{e1}");
        let e2 = lifted[2].as_ref().unwrap_err().to_string();
        assert!(e2.contains("schema 9"), "{e2}");
        assert_eq!(lifted[3].as_ref().unwrap(), &good);

        let cyclic = wit::Schema {
            nodes: vec![wit::SchemaNode {
                type_: wit::SchemaType::Array,
                optional: false,
                name: None,
                version: None,
                doc: None,
                parameters: Vec::new(),
                default_value: None,
                items: Some(0),
                keys: None,
                values: None,
                fields: Vec::new(),
            }],
            defaults: Vec::new(),
        };
        assert!(lift_schema(cyclic)
            .unwrap_err()
            .to_string()
            .contains("refers to itself"));
    }
}
