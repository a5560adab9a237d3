//! Connect schema -> Avro schema (JSON text), as Confluent's `AvroData.fromConnectSchema`
//! writes it with `connect.meta.data=true` (its default): the mapping of docs/converters.md,
//! the same rules as the host's AvroConverter (`host/src/convert/avro/schema.rs`), which a
//! plugin cannot call.
//!
//! Design decision: the JSON is built as an ordered tree and printed here instead of through
//! `apache-avro` or `serde_json`: Avro's schema JSON keeps properties on primitive types
//! (`connect.type`, `connect.name`, `logicalType`), which `apache-avro` drops, and the key order
//! follows Avro Java's (`type`, `name`, `namespace`, …, then the properties), so the text in
//! the file header reads like Confluent's.

use std::collections::HashSet;

use sluice_plugin_sdk::json::write_string;
use sluice_plugin_sdk::{logical, Schema, SchemaType, Value};

const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_RECORD: &str = "ConnectDefault";
const MAP_ENTRY: &str = "MapEntry";
/// Decimal's precision parameter (Confluent's `connect.decimal.precision`).
const DECIMAL_PRECISION: &str = "connect.decimal.precision";
/// Confluent's precision for a Decimal without the precision parameter.
const DEFAULT_DECIMAL_PRECISION: u64 = 64;

/// An ordered JSON tree (objects keep insertion order).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number, already printed.
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Num(n) => out.extend_from_slice(n.as_bytes()),
            Json::Str(s) => write_string(out, s),
            Json::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Json::Obj(entries) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The Avro schema (JSON text) of a Connect schema.
pub fn avro_schema_text(schema: &Schema) -> Result<String, String> {
    Ok(to_avro(schema)?.to_text())
}

/// The Avro schema (JSON tree) of a Connect schema.
pub fn to_avro(schema: &Schema) -> Result<Json, String> {
    Names::default().avro_of(schema)
}

/// Named types already written (Avro forbids defining a name twice) and the counters of
/// generated names.
#[derive(Default)]
struct Names {
    defined: HashSet<String>,
    records: u32,
    entries: u32,
}

fn generated(base: &str, n: u32) -> String {
    if n == 1 {
        format!("{NAMESPACE}.{base}")
    } else {
        format!("{NAMESPACE}.{base}{n}")
    }
}

impl Names {
    fn avro_of(&mut self, schema: &Schema) -> Result<Json, String> {
        let base = self.base_type(schema)?;
        if !schema.optional {
            return Ok(base);
        }
        // A non-null default must be the union's first branch (Avro defaults match the first).
        Ok(match &schema.default {
            Some(d) if !d.is_null() => Json::Arr(vec![base, Json::str("null")]),
            _ => Json::Arr(vec![Json::str("null"), base]),
        })
    }

    fn base_type(&mut self, schema: &Schema) -> Result<Json, String> {
        let mut node: Vec<(String, Json)> = Vec::new();
        let put = |node: &mut Vec<(String, Json)>, k: &str, v: Json| node.push((k.into(), v));
        match schema.ty {
            SchemaType::Int8 | SchemaType::Int16 => {
                put(&mut node, "type", Json::str("int"));
                let t = if schema.ty == SchemaType::Int8 {
                    "int8"
                } else {
                    "int16"
                };
                put(&mut node, "connect.type", Json::str(t));
            }
            SchemaType::Int32 => put(&mut node, "type", Json::str("int")),
            SchemaType::Int64 => put(&mut node, "type", Json::str("long")),
            SchemaType::Float32 => put(&mut node, "type", Json::str("float")),
            SchemaType::Float64 => put(&mut node, "type", Json::str("double")),
            SchemaType::Boolean => put(&mut node, "type", Json::str("boolean")),
            SchemaType::String => put(&mut node, "type", Json::str("string")),
            SchemaType::Bytes => {
                put(&mut node, "type", Json::str("bytes"));
                if schema.is_logical(logical::DECIMAL) {
                    let scale = decimal_scale(schema)?;
                    let precision = match schema.parameter(DECIMAL_PRECISION) {
                        None => DEFAULT_DECIMAL_PRECISION,
                        Some(p) => p.trim().parse().map_err(|_| {
                            format!("Decimal parameter {DECIMAL_PRECISION}={p:?} is not a number")
                        })?,
                    };
                    put(&mut node, "scale", Json::Num(scale.to_string()));
                    put(&mut node, "precision", Json::Num(precision.to_string()));
                }
            }
            SchemaType::Array => {
                let items = schema
                    .items
                    .as_deref()
                    .ok_or("an ARRAY schema has no element schema")?;
                put(&mut node, "type", Json::str("array"));
                let items = self.avro_of(items)?;
                put(&mut node, "items", items);
            }
            SchemaType::Map => {
                let (Some(keys), Some(values)) = (schema.keys.as_deref(), schema.values.as_deref())
                else {
                    return Err("a MAP schema has no key or value schema".into());
                };
                if keys.ty == SchemaType::String && !keys.optional {
                    put(&mut node, "type", Json::str("map"));
                    let values = self.avro_of(values)?;
                    put(&mut node, "values", values);
                } else {
                    self.entries += 1;
                    let name = generated(MAP_ENTRY, self.entries);
                    let (ns, simple) = split_name(&name);
                    let mut fields = Vec::new();
                    for (field, s) in [("key", keys), ("value", values)] {
                        let mut f = vec![
                            ("name".to_string(), Json::str(field)),
                            ("type".to_string(), self.avro_of(s)?),
                        ];
                        if s.default.is_some() || s.optional {
                            f.push(("default".into(), field_default(s)?));
                        }
                        fields.push(Json::Obj(f));
                    }
                    let entry = Json::Obj(vec![
                        ("type".into(), Json::str("record")),
                        ("name".into(), Json::str(simple)),
                        ("namespace".into(), Json::str(ns)),
                        ("fields".into(), Json::Arr(fields)),
                    ]);
                    put(&mut node, "type", Json::str("array"));
                    put(&mut node, "items", entry);
                }
            }
            SchemaType::Struct => {
                let full = match &schema.name {
                    Some(n) => n.clone(),
                    None => {
                        self.records += 1;
                        generated(DEFAULT_RECORD, self.records)
                    }
                };
                if self.defined.contains(&full) {
                    // Avro refers to a named type defined earlier by its name.
                    return Ok(Json::Str(full));
                }
                self.defined.insert(full.clone());
                let (ns, simple) = split_name(&full);
                put(&mut node, "type", Json::str("record"));
                put(&mut node, "name", Json::str(simple));
                if !ns.is_empty() {
                    put(&mut node, "namespace", Json::str(ns));
                }
                if let Some(doc) = &schema.doc {
                    put(&mut node, "doc", Json::str(doc));
                }
                let mut fields = Vec::with_capacity(schema.fields.len());
                for f in &schema.fields {
                    let mut field = vec![
                        ("name".to_string(), Json::str(&f.name)),
                        ("type".to_string(), self.avro_of(&f.schema)?),
                    ];
                    if f.schema.default.is_some() || f.schema.optional {
                        field.push(("default".into(), field_default(&f.schema)?));
                    }
                    fields.push(Json::Obj(field));
                }
                put(&mut node, "fields", Json::Arr(fields));
            }
        }
        // Connect's metadata, as AvroData adds it (connect.meta.data=true).
        if let Some(doc) = &schema.doc {
            put(&mut node, "connect.doc", Json::str(doc));
        }
        if let Some(v) = schema.version {
            put(&mut node, "connect.version", Json::Num(v.to_string()));
        }
        if !schema.parameters.is_empty() {
            let params = schema
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), Json::str(v)))
                .collect();
            put(&mut node, "connect.parameters", Json::Obj(params));
        }
        if let Some(d) = &schema.default {
            if !d.is_null() {
                put(&mut node, "connect.default", default_to_json(schema, d)?);
            }
        }
        if let Some(name) = &schema.name {
            put(&mut node, "connect.name", Json::str(name));
        }
        let logical_type = match schema.name.as_deref() {
            Some(logical::DECIMAL) if schema.ty == SchemaType::Bytes => Some("decimal"),
            Some(logical::DATE) if schema.ty == SchemaType::Int32 => Some("date"),
            Some(logical::TIME) if schema.ty == SchemaType::Int32 => Some("time-millis"),
            Some(logical::TIMESTAMP) if schema.ty == SchemaType::Int64 => Some("timestamp-millis"),
            _ => None,
        };
        if let Some(l) = logical_type {
            put(&mut node, "logicalType", Json::str(l));
        }
        Ok(Json::Obj(node))
    }
}

/// The Avro field default of a Connect field schema: its default, or null when optional.
fn field_default(schema: &Schema) -> Result<Json, String> {
    match &schema.default {
        Some(d) => default_to_json(schema, d),
        None => Ok(Json::Null),
    }
}

pub(crate) fn decimal_scale(schema: &Schema) -> Result<i32, String> {
    let raw = schema
        .parameter(logical::DECIMAL_SCALE)
        .ok_or("Decimal schema has no scale parameter")?;
    raw.trim()
        .parse()
        .map_err(|_| format!("Decimal scale parameter {raw:?} is not an integer"))
}

/// `a.b.C` -> (`a.b`, `C`).
fn split_name(full: &str) -> (&str, &str) {
    full.rsplit_once('.').unwrap_or(("", full))
}

fn float(f: f64) -> Json {
    if f.is_finite() {
        Json::Num(format!("{f:?}"))
    } else {
        Json::Null
    }
}

/// A Connect value as an Avro JSON default (bytes as ISO-8859-1 code points, as Avro's JSON
/// encoding of defaults requires).
fn default_to_json(schema: &Schema, v: &Value) -> Result<Json, String> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(i) => Json::Num(i.to_string()),
        Value::Int16(i) => Json::Num(i.to_string()),
        Value::Int32(i) => Json::Num(i.to_string()),
        Value::Int64(i) => Json::Num(i.to_string()),
        Value::Float32(f) => float(f64::from(*f)),
        Value::Float64(f) => float(*f),
        Value::String(s) => Json::str(s),
        Value::Bytes(b) => Json::Str(b.iter().map(|&c| char::from(c)).collect()),
        Value::Array(items) => {
            let item_schema = schema
                .items
                .as_deref()
                .ok_or("array default without an element schema")?;
            Json::Arr(
                items
                    .iter()
                    .map(|i| default_to_json(item_schema, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Map(entries) => {
            let (Some(keys), Some(values)) = (schema.keys.as_deref(), schema.values.as_deref())
            else {
                return Err("map default without key/value schemas".into());
            };
            if keys.ty == SchemaType::String && !keys.optional {
                let mut m = Vec::new();
                for (k, v) in entries {
                    let k = k.as_str().ok_or("map default key not a string")?;
                    m.push((k.to_string(), default_to_json(values, v)?));
                }
                Json::Obj(m)
            } else {
                Json::Arr(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Json::Obj(vec![
                                ("key".into(), default_to_json(keys, k)?),
                                ("value".into(), default_to_json(values, v)?),
                            ]))
                        })
                        .collect::<Result<_, String>>()?,
                )
            }
        }
        Value::Struct(s) => {
            let mut m = Vec::new();
            for (f, v) in schema.fields.iter().zip(s.values()) {
                m.push((f.name.clone(), default_to_json(&f.schema, v)?));
            }
            Json::Obj(m)
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn struct_schema_maps_as_confluents_avro_data() {
        let schema = Schema::struct_builder()
            .name("shop.Order")
            .field("id", Schema::int64())
            .field("qty", Schema::int16())
            .field("price", Schema::decimal(2))
            .field("day", Schema::date().optional())
            .field("note", Schema::string().optional().with_default("none"))
            .field("tags", Schema::array(Schema::string()))
            .build();
        assert_eq!(
            avro_schema_text(&schema).unwrap(),
            concat!(
                r#"{"type":"record","name":"Order","namespace":"shop","fields":["#,
                r#"{"name":"id","type":{"type":"long"}},"#,
                r#"{"name":"qty","type":{"type":"int","connect.type":"int16"}},"#,
                r#"{"name":"price","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
                r#"{"name":"day","type":["null",{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}],"default":null},"#,
                r#"{"name":"note","type":[{"type":"string","connect.default":"none"},"null"],"default":"none"},"#,
                r#"{"name":"tags","type":{"type":"array","items":{"type":"string"}}}"#,
                r#"],"connect.name":"shop.Order"}"#
            )
        );
    }

    #[test]
    fn unnamed_structs_and_non_string_maps_get_generated_names() {
        let inner = Schema::struct_builder().field("a", Schema::int32()).build();
        let schema = Schema::struct_builder()
            .field("x", inner.clone())
            .field("m", Schema::map(Schema::int32(), Schema::string()))
            .build();
        let text = avro_schema_text(&schema).unwrap();
        assert!(
            text.starts_with(
                r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro""#
            ),
            "{text}"
        );
        assert!(text.contains(r#""name":"ConnectDefault2""#), "{text}");
        assert!(
            text.contains(r#"{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":{"type":"int"}},{"name":"value","type":{"type":"string"}}]}}"#),
            "{text}"
        );
        assert_eq!(
            avro_schema_text(&Schema::string()).unwrap(),
            r#"{"type":"string"}"#
        );
    }
}
