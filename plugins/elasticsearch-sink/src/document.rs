//! A record as one bulk operation, as Confluent's `DataConverter` builds it: the index (the
//! topic, made a valid index name), the document id (the key, or `topic+partition+offset`
//! with `key.ignore`), the action (`index`, `update` with an upsert for `write.method=upsert`,
//! `delete` for a null value with `behavior.on.null.values=delete`) and the document.
//!
//! With the key as id, `index` and `delete` carry the record's offset as an external
//! version, so a replayed or reordered older record never overwrites a newer one
//! (Elasticsearch answers it with a version conflict, which the sink ignores).

use sluice_plugin_sdk::java::{self, BigDecimal};
use sluice_plugin_sdk::json::{write_json, write_string, JsonOptions};
use sluice_plugin_sdk::{logical, Record, Schema, SchemaType, Value};

use crate::config::{EsConfig, NullValues, WriteMethod};

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOp {
    /// The action line and, except for `delete`, the document line, each ending in `\n`.
    pub lines: Vec<u8>,
    /// Whether it carries `version_type: external` (then a version conflict is expected on
    /// replays and ignored).
    pub external_version: bool,
}

/// What becomes of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    Op(BulkOp),
    /// Nothing to send (an ignored null value, or a dropped invalid record).
    Skip,
    /// The record cannot be written (DataException in Confluent's connector).
    Fail(String),
}

/// Confluent's `convertTopicToIndexName`: lower case, at most 255 characters, no leading `-`
/// or `_`, and `.`/`..` spelled out.
pub fn index_name(topic: &str) -> String {
    let mut index = topic.to_lowercase();
    if index.len() > 255 {
        let mut end = 255;
        while !index.is_char_boundary(end) {
            end -= 1;
        }
        index.truncate(end);
    }
    if index.starts_with('-') || index.starts_with('_') {
        index.remove(0);
    }
    if index == "." || index == ".." {
        index = index.replace('.', "dot");
    }
    index
}

fn describe(record: &Record) -> String {
    format!(
        "Key '{}' with value '{}' and offset {} of topic '{}' partition {}",
        brief(&record.key),
        brief(&record.value),
        record.offset.unwrap_or(-1),
        record.topic,
        record.partition.unwrap_or(-1)
    )
}

fn brief(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.clone(),
        other => other.as_i64().map_or_else(
            || other.java_class_name(None).to_string(),
            |i| i.to_string(),
        ),
    }
}

/// The document id from the key (`convertKey`): integers and strings only.
fn key_id(record: &Record) -> Result<String, String> {
    let ty = record.key_schema.as_ref().map(|s| s.ty);
    match (&record.key, ty) {
        (Value::Null, _) => Err("Key is used as document id and can not be null.".into()),
        (Value::String(s), None | Some(SchemaType::String)) if s.is_empty() => {
            Err("Key is used as document id and can not be empty.".into())
        }
        (Value::String(s), None | Some(SchemaType::String)) => Ok(s.clone()),
        (
            v @ (Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_)),
            None
            | Some(SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64),
        ) => Ok(v.as_i64().unwrap_or_default().to_string()),
        (v, ty) => Err(format!(
            "{} is not supported as the document id.",
            ty.map_or_else(
                || v.java_class_name(None).to_string(),
                |t| java::type_name(t).to_string()
            )
        )),
    }
}

fn action_line(
    out: &mut Vec<u8>,
    action: &str,
    index: &str,
    id: &str,
    version: Option<i64>,
    retry_on_conflict: Option<u32>,
) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(action.as_bytes());
    out.extend_from_slice(b"\":{\"_index\":");
    write_string(out, index);
    out.extend_from_slice(b",\"_id\":");
    write_string(out, id);
    if let Some(v) = version {
        out.extend_from_slice(format!(",\"version\":{v},\"version_type\":\"external\"").as_bytes());
    }
    if let Some(n) = retry_on_conflict {
        out.extend_from_slice(format!(",\"retry_on_conflict\":{n}").as_bytes());
    }
    out.extend_from_slice(b"}}\n");
}

/// Converts one record (Confluent's `DataConverter.convertRecord`).
pub fn convert(record: &Record, config: &EsConfig) -> Converted {
    let index = index_name(&record.topic);
    let ignore_key = config.ignore_key(&record.topic);
    if record.value.is_null() {
        match config.null_values {
            NullValues::Ignore => return Converted::Skip,
            NullValues::Fail => {
                return Converted::Fail(format!(
                    "{} has a null value (to ignore future records like this change the \
                     configuration property 'behavior.on.null.values' from 'fail' to 'ignore')",
                    describe(record)
                ))
            }
            // Without a key there is no document to delete.
            NullValues::Delete if record.key.is_null() => return Converted::Skip,
            NullValues::Delete => {}
        }
    }
    let id = if ignore_key {
        format!(
            "{}+{}+{}",
            record.topic,
            record.partition.unwrap_or(0),
            record.offset.unwrap_or(-1)
        )
    } else {
        match key_id(record) {
            Ok(id) => id,
            Err(e) => return Converted::Fail(e),
        }
    };
    let version = (!ignore_key).then(|| record.offset.unwrap_or(0));
    let mut lines = Vec::new();
    if record.value.is_null() {
        action_line(&mut lines, "delete", &index, &id, version, None);
        return Converted::Op(BulkOp {
            lines,
            external_version: version.is_some(),
        });
    }
    let mut doc = Vec::new();
    let schema = record.value_schema.as_deref();
    let written = if config.ignore_schema(&record.topic) {
        write_json(&mut doc, schema, &record.value, JsonOptions::default())
    } else {
        write_document(&mut doc, schema, &record.value, config.compact_map_entries)
    };
    if let Err(e) = written {
        if config.drop_invalid {
            sluice_plugin_sdk::log::warn!(
                "elasticsearch-sink: dropping {} (drop.invalid.message=true): {e}",
                describe(record)
            );
            return Converted::Skip;
        }
        return Converted::Fail(format!("{}: {e}", describe(record)));
    }
    match config.write_method {
        WriteMethod::Insert => {
            action_line(&mut lines, "index", &index, &id, version, None);
            lines.extend_from_slice(&doc);
            lines.push(b'\n');
        }
        WriteMethod::Upsert => {
            let retries = config.max_in_flight.min(5);
            action_line(&mut lines, "update", &index, &id, None, Some(retries));
            lines.extend_from_slice(b"{\"doc\":");
            lines.extend_from_slice(&doc);
            lines.extend_from_slice(b",\"upsert\":");
            lines.extend_from_slice(&doc);
            lines.extend_from_slice(b"}\n");
        }
    }
    Converted::Op(BulkOp {
        lines,
        external_version: version.is_some() && config.write_method == WriteMethod::Insert,
    })
}

/// A value converted by its schema first (Confluent's `preProcessSchema`/`preProcessValue`):
/// Decimals as numbers, maps as arrays of `{"key", "value"}` unless they have string keys and
/// `compact.map.entries` is on; the rest as JsonConverter writes it.
fn write_document(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    compact: bool,
) -> Result<(), String> {
    let Some(schema) = schema else {
        return write_json(out, None, value, JsonOptions::default());
    };
    if value.is_null() {
        return match schema.default.as_ref().filter(|d| !d.is_null()) {
            Some(d) => write_document(out, Some(schema), d, compact),
            None if schema.optional => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            None => Err("null value for a required field with no default".into()),
        };
    }
    match (schema.name.as_deref(), schema.ty, value) {
        (Some(logical::DECIMAL), _, Value::Bytes(b)) => {
            let scale = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let d = BigDecimal::from_bytes(b, scale).ok_or("Decimal over 128 bits")?;
            out.extend_from_slice(java::double_to_string(d.to_f64()).as_bytes());
            Ok(())
        }
        (_, SchemaType::Array, Value::Array(items)) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_document(out, schema.items.as_deref(), item, compact)?;
            }
            out.push(b']');
            Ok(())
        }
        (_, SchemaType::Map, Value::Map(entries)) => {
            let (keys, values) = (schema.keys.as_deref(), schema.values.as_deref());
            if compact && keys.is_some_and(|k| k.ty == SchemaType::String) {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, k.as_str().ok_or("map key is not a string")?);
                    out.push(b':');
                    write_document(out, values, v, compact)?;
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"key\":");
                    write_document(out, keys, k, compact)?;
                    out.extend_from_slice(b",\"value\":");
                    write_document(out, values, v, compact)?;
                    out.push(b'}');
                }
                out.push(b']');
            }
            Ok(())
        }
        (_, SchemaType::Struct, Value::Struct(s)) => {
            out.push(b'{');
            for (i, (field, v)) in schema.fields.iter().zip(s.values()).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, &field.name);
                out.push(b':');
                write_document(out, Some(&field.schema), v, compact)?;
            }
            out.push(b'}');
            Ok(())
        }
        _ => write_json(out, Some(schema), value, JsonOptions::default()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{compile, defs, Malformed};
    use sluice_plugin_sdk::{Config, Struct};

    fn config(pairs: &[(&str, &str)]) -> EsConfig {
        let mut all = vec![("connection.url", "http://es:9200")];
        all.extend_from_slice(pairs);
        compile(&Config::from_pairs(&all, &defs())).unwrap()
    }

    fn record(key: Value, value: Value) -> Record {
        let mut r = Record::new("Orders")
            .with_partition(2)
            .with_key(None, key)
            .with_value(None, value);
        r.offset = Some(41);
        r
    }

    fn text(c: Converted) -> String {
        match c {
            Converted::Op(op) => String::from_utf8(op.lines).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn index_with_the_key_as_id_and_the_offset_as_external_version() {
        let c = config(&[]);
        assert_eq!(
            text(convert(&record(Value::from("k1"), Value::Map(vec![(Value::from("a"), Value::Int64(1))])), &c)),
            "{\"index\":{\"_index\":\"orders\",\"_id\":\"k1\",\"version\":41,\"version_type\":\"external\"}}\n{\"a\":1}\n"
        );
        assert_eq!(
            text(convert(&record(Value::Int32(7), Value::from("x")), &c)),
            "{\"index\":{\"_index\":\"orders\",\"_id\":\"7\",\"version\":41,\"version_type\":\"external\"}}\n\"x\"\n"
        );
    }

    #[test]
    fn key_ignore_uses_topic_partition_offset_without_versions() {
        let c = config(&[("key.ignore", "true")]);
        assert_eq!(
            text(convert(&record(Value::Null, Value::Int64(3)), &c)),
            "{\"index\":{\"_index\":\"orders\",\"_id\":\"Orders+2+41\"}}\n3\n"
        );
    }

    #[test]
    fn upsert_is_an_update_with_doc_and_upsert() {
        let c = config(&[("write.method", "upsert")]);
        assert_eq!(
            text(convert(&record(Value::from("k"), Value::Map(vec![(Value::from("a"), Value::Boolean(true))])), &c)),
            "{\"update\":{\"_index\":\"orders\",\"_id\":\"k\",\"retry_on_conflict\":5}}\n{\"doc\":{\"a\":true},\"upsert\":{\"a\":true}}\n"
        );
    }

    #[test]
    fn null_values_are_ignored_deleted_or_failed() {
        let r = record(Value::from("k"), Value::Null);
        assert_eq!(
            convert(&r, &config(&[("behavior.on.null.values", "ignore")])),
            Converted::Skip
        );
        assert_eq!(
            text(convert(&r, &config(&[("behavior.on.null.values", "delete")]))),
            "{\"delete\":{\"_index\":\"orders\",\"_id\":\"k\",\"version\":41,\"version_type\":\"external\"}}\n"
        );
        assert_eq!(
            convert(
                &record(Value::Null, Value::Null),
                &config(&[("behavior.on.null.values", "delete")])
            ),
            Converted::Skip
        );
        match convert(&r, &config(&[])) {
            Converted::Fail(m) => assert!(
                m.contains("behavior.on.null.values") && m.contains("offset 41"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_that_cannot_be_ids_fail_the_record() {
        let c = config(&[]);
        for (key, want) in [
            (Value::Null, "can not be null"),
            (Value::from(""), "can not be empty"),
            (Value::Float64(1.5), "not supported as the document id"),
        ] {
            match convert(&record(key, Value::Int64(1)), &c) {
                Converted::Fail(m) => assert!(m.contains(want), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn schemas_shape_the_document_unless_ignored() {
        let schema = Schema::struct_builder()
            .field("price", Schema::decimal(2))
            .field("tags", Schema::map(Schema::string(), Schema::int32()))
            .field("ids", Schema::map(Schema::int32(), Schema::string()))
            .build()
            .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("price", Value::decimal(1234)).unwrap();
        s.put(
            "tags",
            Value::Map(vec![(Value::from("a"), Value::Int32(1))]),
        )
        .unwrap();
        s.put("ids", Value::Map(vec![(Value::Int32(1), Value::from("x"))]))
            .unwrap();
        let mut r =
            record(Value::from("k"), Value::Null).with_value(Some(schema), Value::Struct(s));
        r.offset = Some(1);
        let doc = |c: &EsConfig| text(convert(&r, c)).lines().nth(1).unwrap().to_string();
        assert_eq!(
            doc(&config(&[])),
            r#"{"price":12.34,"tags":{"a":1},"ids":[{"key":1,"value":"x"}]}"#
        );
        assert_eq!(
            doc(&config(&[("compact.map.entries", "false")])),
            r#"{"price":12.34,"tags":[{"key":"a","value":1}],"ids":[{"key":1,"value":"x"}]}"#
        );
        assert_eq!(
            doc(&config(&[("schema.ignore", "true")])),
            r#"{"price":"BNI=","tags":{"a":1},"ids":[[1,"x"]]}"#
        );
    }

    #[test]
    fn index_names_follow_confluents_rules() {
        assert_eq!(index_name("Orders"), "orders");
        assert_eq!(index_name("_private"), "private");
        assert_eq!(index_name(".."), "dotdot");
        let _ = Malformed::Fail;
    }
}
