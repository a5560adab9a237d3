//! Conversions between the SDK's tree types and the flattened WIT form.
//!
//! Lowering interns schemas per batch: a [`Lowerer`] keeps every schema it has emitted and
//! looks a new one up by `Arc` pointer first, then by equality, so a batch of N records that
//! share one schema carries exactly one entry in `schemas`. Lifting does the reverse: the
//! batch's schema table is lifted once, and every record refers to the shared `Arc`s.
//!
//! Lifting never trusts indices: out-of-range or cyclic references become a [`DataError`]
//! for that record, never a panic.
//!
//! [`lower`] writes the WIT form, [`lift`] reads it; the schema interning both encodings share
//! (this one and the packed one) is [`SchemaInterner`].

mod lift;
mod lower;

use std::sync::Arc;

use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::value::DataError;

pub(crate) use lift::{lift_batch, lift_position};
pub(crate) use lower::{lower_source_batch, Lowerer};

/// Deeper trees than this are rejected rather than risking the guest's stack.
const MAX_DEPTH: usize = 512;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::lift::{lift_batch, lift_offset_map, lift_schema};
    use super::lower::{lower_batch, lower_value};
    use super::*;
    use crate::bindings::plugin_world::sluice::connect::types as wit;
    use crate::record::{OffsetMap, OffsetValue, Record, SourceRecord};
    use crate::value::{Struct, Value};

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
