//! Lifting the flattened WIT form a plugin returned back into the host data model.
//!
//! Design decision: the batch's schema table is lifted first, into one `Arc<Schema>` per
//! entry, and every record referring to entry `i` shares that `Arc`; value nodes are moved
//! out of the WIT lists (no string copies). Everything a plugin returns is untrusted: bad
//! indices, nodes referenced twice (cycles) or absurd nesting are errors, never panics.

use super::bindings::transforms::{Outcome as WitOutcome, TransformOutput};
use super::bindings::types as wit;
use crate::data::{
    ConnectRecord, Data, Field, Header, OffsetMap, Schema, SchemaRef, SchemaType, SourceRecord,
    TimestampType, Value,
};
use crate::runtime::task::Outcome;

/// Deeper trees than this are rejected (they would only exhaust the host's stack).
const MAX_DEPTH: usize = 200;

pub(crate) type LiftResult<T> = Result<T, String>;

pub(crate) fn schemas(schemas: Vec<wit::Schema>) -> LiftResult<Vec<SchemaRef>> {
    schemas
        .iter()
        .enumerate()
        .map(|(i, s)| {
            schema(s)
                .map(SchemaRef::new)
                .map_err(|e| format!("schema table entry {i}: {e}"))
        })
        .collect()
}

pub(crate) fn schema(s: &wit::Schema) -> LiftResult<Schema> {
    if s.nodes.is_empty() {
        return Err("schema has no nodes".into());
    }
    schema_node(s, 0, 0)
}

fn schema_node(s: &wit::Schema, at: u32, depth: usize) -> LiftResult<Schema> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "schema nested deeper than {MAX_DEPTH} levels (or cyclic)"
        ));
    }
    let node = s.nodes.get(at as usize).ok_or_else(|| {
        format!(
            "schema node index {at} out of range ({} nodes)",
            s.nodes.len()
        )
    })?;
    let child = |i: Option<u32>| -> LiftResult<Option<SchemaRef>> {
        i.map(|i| schema_node(s, i, depth + 1).map(SchemaRef::new))
            .transpose()
    };
    let default = match node.default_value {
        None => None,
        Some(root) => {
            let mut nodes: Vec<Option<wit::ValueNode>> =
                s.defaults.iter().cloned().map(Some).collect();
            Some(value(&mut nodes, root, 0)?)
        }
    };
    Ok(Schema {
        ty: schema_type(node.type_),
        optional: node.optional,
        default,
        name: node.name.clone(),
        version: node.version,
        doc: node.doc.clone(),
        parameters: node.parameters.clone(),
        items: child(node.items)?,
        keys: child(node.keys)?,
        values: child(node.values)?,
        fields: node
            .fields
            .iter()
            .map(|f| {
                Ok(Field {
                    name: f.name.clone(),
                    schema: SchemaRef::new(schema_node(s, f.schema, depth + 1)?),
                })
            })
            .collect::<LiftResult<_>>()?,
    })
}

fn schema_type(t: wit::SchemaType) -> SchemaType {
    match t {
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
    }
}

/// Takes node `at` (and its subtree) out of `nodes`; a node taken twice is an error.
fn value(nodes: &mut [Option<wit::ValueNode>], at: u32, depth: usize) -> LiftResult<Value> {
    if depth > MAX_DEPTH {
        return Err(format!("value nested deeper than {MAX_DEPTH} levels"));
    }
    let len = nodes.len();
    let slot = nodes
        .get_mut(at as usize)
        .ok_or_else(|| format!("value node index {at} out of range ({len} nodes)"))?;
    let node = slot
        .take()
        .ok_or_else(|| format!("value node {at} is referenced more than once"))?;
    Ok(match node {
        wit::ValueNode::Null => Value::Null,
        wit::ValueNode::Boolean(b) => Value::Boolean(b),
        wit::ValueNode::Int8(x) => Value::Int8(x),
        wit::ValueNode::Int16(x) => Value::Int16(x),
        wit::ValueNode::Int32(x) => Value::Int32(x),
        wit::ValueNode::Int64(x) => Value::Int64(x),
        wit::ValueNode::Float32(x) => Value::Float32(x),
        wit::ValueNode::Float64(x) => Value::Float64(x),
        wit::ValueNode::String(s) => Value::String(s),
        wit::ValueNode::Bytes(b) => Value::Bytes(b),
        wit::ValueNode::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| value(nodes, i, depth + 1))
                .collect::<LiftResult<_>>()?,
        ),
        wit::ValueNode::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((value(nodes, k, depth + 1)?, value(nodes, v, depth + 1)?)))
                .collect::<LiftResult<_>>()?,
        ),
        wit::ValueNode::Struct(fields) => Value::Struct(
            fields
                .into_iter()
                .map(|i| value(nodes, i, depth + 1))
                .collect::<LiftResult<_>>()?,
        ),
    })
}

pub(crate) fn data(d: wit::Data, table: &[SchemaRef]) -> LiftResult<Data> {
    let schema = match d.schema {
        None => None,
        Some(i) => Some(table.get(i as usize).cloned().ok_or_else(|| {
            format!(
                "schema index {i} out of range (batch has {} schemas)",
                table.len()
            )
        })?),
    };
    if d.value.is_empty() {
        return Err("data has an empty value node list (a null value is `[null]`)".into());
    }
    let mut nodes: Vec<Option<wit::ValueNode>> = d.value.into_iter().map(Some).collect();
    Ok(Data {
        schema,
        value: value(&mut nodes, 0, 0)?,
    })
}

pub(crate) fn record(r: wit::ConnectRecord, table: &[SchemaRef]) -> LiftResult<ConnectRecord> {
    Ok(ConnectRecord {
        topic: r.topic,
        kafka_partition: r.kafka_partition,
        kafka_offset: r.kafka_offset,
        timestamp: r.timestamp,
        timestamp_type: match r.timestamp_type {
            wit::TimestampType::NoTimestampType => TimestampType::NoTimestampType,
            wit::TimestampType::CreateTime => TimestampType::CreateTime,
            wit::TimestampType::LogAppendTime => TimestampType::LogAppendTime,
        },
        key: data(r.key, table).map_err(|e| format!("key: {e}"))?,
        value: data(r.value, table).map_err(|e| format!("value: {e}"))?,
        headers: r
            .headers
            .into_iter()
            .map(|h| {
                let value = data(h.value, table).map_err(|e| format!("header `{}`: {e}", h.key))?;
                Ok(Header { key: h.key, value })
            })
            .collect::<LiftResult<_>>()?,
    })
}

pub(crate) fn offset_map(map: wit::OffsetMap) -> LiftResult<OffsetMap> {
    map.into_iter()
        .map(|(key, v)| {
            let v = match v {
                wit::OffsetValue::Null => serde_json::Value::Null,
                wit::OffsetValue::Boolean(b) => serde_json::Value::Bool(b),
                wit::OffsetValue::Int(i) => serde_json::Value::from(i),
                wit::OffsetValue::Float(f) => serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| format!("offset key `{key}`: {f} is not a finite number"))?,
                wit::OffsetValue::String(s) => serde_json::Value::String(s),
            };
            Ok((key, v))
        })
        .collect()
}

pub(crate) fn source_batch(batch: wit::SourceBatch) -> LiftResult<Vec<SourceRecord>> {
    let table = schemas(batch.schemas)?;
    batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(SourceRecord {
                source_partition: offset_map(r.source_partition)
                    .map(std::sync::Arc::new)
                    .map_err(|e| format!("record {i}: source partition: {e}"))?,
                source_offset: offset_map(r.source_offset)
                    .map_err(|e| format!("record {i}: source offset: {e}"))?,
                record: record(r.record, &table).map_err(|e| format!("record {i}: {e}"))?,
            })
        })
        .collect()
}

/// The symmetric of `lower::batch`: a sink hands a batch back this way for a retry.
pub(crate) fn batch(batch: wit::Batch) -> LiftResult<Vec<ConnectRecord>> {
    let table = schemas(batch.schemas)?;
    batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| record(r, &table).map_err(|e| format!("record {i}: {e}")))
        .collect()
}

/// A transform's outcomes; there must be exactly one per input record.
pub(crate) fn transform_output(out: TransformOutput, inputs: usize) -> LiftResult<Vec<Outcome>> {
    if out.outcomes.len() != inputs {
        return Err(format!(
            "transform returned {} outcomes for {inputs} input records",
            out.outcomes.len()
        ));
    }
    let table = schemas(out.schemas)?;
    out.outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            Ok(match o {
                WitOutcome::Keep(r) => {
                    Outcome::Keep(record(r, &table).map_err(|e| format!("record {i}: {e}"))?)
                }
                WitOutcome::Drop => Outcome::Drop,
                WitOutcome::Fail(message) => Outcome::Fail(message),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::super::lower;
    use super::*;

    /// A struct schema with an array, a map with a default, a decimal, a name and a version.
    pub(crate) fn sample_schema() -> SchemaRef {
        Schema::structure(vec![
            Field {
                name: "id".into(),
                schema: Schema::new(SchemaType::Int64).into_ref(),
            },
            Field {
                name: "tags".into(),
                schema: Schema::array(Schema::new(SchemaType::String).into_ref())
                    .optional()
                    .into_ref(),
            },
            Field {
                name: "attrs".into(),
                schema: Schema::map(
                    Schema::new(SchemaType::String).into_ref(),
                    Schema::new(SchemaType::Int32).into_ref(),
                )
                .with_default(Value::Map(vec![(Value::from("a"), Value::Int32(1))]))
                .into_ref(),
            },
            Field {
                name: "price".into(),
                schema: Schema::decimal(2).optional().into_ref(),
            },
        ])
        .with_name("com.example.Row")
        .with_version(3)
        .into_ref()
    }

    fn sample_record(schema: &SchemaRef, i: i64) -> ConnectRecord {
        let mut r = ConnectRecord::new(
            "topic",
            Data::schemaless(Value::from(format!("k{i}"))),
            Data::new(
                Some(schema.clone()),
                Value::Struct(vec![
                    Value::Int64(i),
                    Value::Array(vec![Value::from("x"), Value::from("y")]),
                    Value::Map(vec![(Value::from("n"), Value::Int32(i as i32))]),
                    Value::Null,
                ]),
            ),
        );
        r.kafka_partition = Some(2);
        r.kafka_offset = Some(100 + i);
        r.timestamp = Some(1_700_000_000_000);
        r.timestamp_type = TimestampType::CreateTime;
        r.headers.push(Header {
            key: "h".into(),
            value: Data::schemaless(Value::Bytes(vec![1, 2, 3])),
        });
        r
    }

    #[test]
    fn a_batch_round_trips_and_a_shared_schema_is_lowered_once() {
        let schema = sample_schema();
        let records: Vec<_> = (0..3).map(|i| sample_record(&schema, i)).collect();
        let lowered = lower::batch(records.clone());
        assert_eq!(
            lowered.schemas.len(),
            1,
            "one shared schema, one table entry"
        );
        assert!(lowered
            .records
            .iter()
            .all(|r| r.value.schema == Some(0) && r.key.schema.is_none()));
        let lifted = batch(lowered).unwrap();
        assert_eq!(lifted, records);
        // Lifted records share one Arc per table entry.
        let ptrs: Vec<_> = lifted
            .iter()
            .map(|r| Arc::as_ptr(r.value.schema.as_ref().unwrap()))
            .collect();
        assert!(ptrs.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn value_nodes_are_pre_order_with_the_root_first() {
        let mut nodes = Vec::new();
        lower::value(
            Value::Array(vec![Value::Int8(1), Value::Array(vec![Value::Null])]),
            &mut nodes,
        );
        assert!(matches!(&nodes[0], wit::ValueNode::Array(c) if c == &vec![1, 2]));
        assert!(matches!(&nodes[2], wit::ValueNode::Array(c) if c == &vec![3]));
    }

    #[test]
    fn malformed_plugin_data_is_an_error_not_a_panic() {
        let cyclic = wit::Data {
            schema: None,
            value: vec![wit::ValueNode::Array(vec![0])],
        };
        assert!(data(cyclic, &[]).unwrap_err().contains("more than once"));
        let out_of_range = wit::Data {
            schema: None,
            value: vec![wit::ValueNode::Array(vec![7])],
        };
        assert!(data(out_of_range, &[])
            .unwrap_err()
            .contains("out of range"));
        let bad_schema = wit::Data {
            schema: Some(3),
            value: vec![wit::ValueNode::Null],
        };
        assert!(data(bad_schema, &[])
            .unwrap_err()
            .contains("schema index 3"));
        let empty = wit::Data {
            schema: None,
            value: vec![],
        };
        assert!(data(empty, &[]).is_err());
        let cyclic_schema = wit::Schema {
            nodes: vec![wit::SchemaNode {
                type_: wit::SchemaType::Array,
                optional: false,
                name: None,
                version: None,
                doc: None,
                parameters: vec![],
                default_value: None,
                items: Some(0),
                keys: None,
                values: None,
                fields: vec![],
            }],
            defaults: vec![],
        };
        assert!(schema(&cyclic_schema).unwrap_err().contains("deeper"));
    }

    #[test]
    fn offset_maps_round_trip_scalars_and_reject_nested_values() {
        let mut map = OffsetMap::new();
        map.insert("file".into(), serde_json::json!("/tmp/x"));
        map.insert("position".into(), serde_json::json!(42));
        map.insert("ratio".into(), serde_json::json!(0.5));
        map.insert("done".into(), serde_json::json!(true));
        map.insert("none".into(), serde_json::Value::Null);
        assert_eq!(offset_map(lower::offset_map(&map).unwrap()).unwrap(), map);
        map.insert("nested".into(), serde_json::json!({"a": 1}));
        let err = lower::offset_map(&map).unwrap_err();
        assert!(
            err.contains("`nested`") && err.contains("nested value"),
            "{err}"
        );
        let nan = vec![("f".to_string(), wit::OffsetValue::Float(f64::NAN))];
        assert!(offset_map(nan).unwrap_err().contains("`f`"));
    }
}
