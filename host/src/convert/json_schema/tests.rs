//! The Connect <-> JSON Schema mapping and the payload form without a registry (the converter
//! with a registry is tested in `schema_registry::tests`, over HTTP).

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::schema::to_connect;
use super::*;
use crate::data::{Field, Schema, SchemaType, Value};

fn format(props: &[(&str, &str)]) -> JsonSchema {
    let props: Config = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    JsonSchema::from_props(&props).unwrap()
}

fn field(name: &str, schema: Schema) -> Field {
    Field {
        name: name.into(),
        schema: schema.into_ref(),
    }
}

/// Avro's every-type struct, its Decimal values in minimal two's complement (the JSON forms
/// of a Decimal carry the number, not the byte width).
fn every_type() -> (SchemaRef, Value) {
    let (schema, mut value) = crate::convert::avro_every_type();
    if let Value::Struct(fields) = &mut value {
        fields[10] = Value::Bytes(vec![0x85]);
    }
    (schema, value)
}

fn round_trip(f: &JsonSchema, schema: &Schema, value: &Value) -> (SchemaRef, Value) {
    let text = f.schema_text(schema).unwrap();
    let reader = f.compile(&text).unwrap();
    let mut out = Vec::new();
    f.write(&mut out, schema, value).unwrap();
    f.read(&reader, &out).unwrap()
}

#[test]
fn every_connect_type_round_trips() {
    let (schema, value) = every_type();
    for props in [&[][..], &[("decimal.format", "NUMERIC")][..]] {
        let f = format(props);
        let (back_schema, back) = round_trip(&f, &schema, &value);
        assert_eq!(back, value, "{props:?}");
        assert_eq!(*back_schema, *schema, "{props:?}");
    }
    for (schema, value) in [
        (Schema::new(SchemaType::String), Value::from("x")),
        (Schema::new(SchemaType::Int8), Value::Int8(-1)),
        (Schema::new(SchemaType::Int64).optional(), Value::Int64(3)),
        (Schema::new(SchemaType::Bytes), Value::Bytes(vec![0, 255])),
        (
            Schema::array(Schema::new(SchemaType::Int32).optional().into_ref()),
            Value::Array(vec![Value::Null, Value::Int32(1)]),
        ),
        (
            Schema::map(
                Schema::new(SchemaType::String).optional().into_ref(),
                Schema::new(SchemaType::Boolean).into_ref(),
            ),
            Value::Map(vec![(Value::Null, Value::Boolean(true))]),
        ),
    ] {
        let (s, v) = round_trip(&format(&[]), &schema, &value);
        assert_eq!((&*s, &v), (&schema, &value));
    }
}

/// The JSON Schema and payload as Confluent's `JsonSchemaData` writes them.
#[test]
fn schema_and_payload_in_confluents_form() {
    let schema = Schema::structure(vec![
        field("id", Schema::new(SchemaType::Int32)),
        field("note", Schema::new(SchemaType::String).optional()),
        field("price", Schema::decimal(2)),
        field("day", Schema::date()),
        field(
            "m",
            Schema::map(
                Schema::new(SchemaType::Int16).into_ref(),
                Schema::new(SchemaType::Float64).into_ref(),
            ),
        ),
        field(
            "attrs",
            Schema::map(
                Schema::new(SchemaType::String).into_ref(),
                Schema::new(SchemaType::Bytes).into_ref(),
            ),
        ),
    ])
    .with_name("com.example.Payment");
    let f = format(&[("object.additional.properties", "false")]);
    let text: serde_json::Value = serde_json::from_str(&f.schema_text(&schema).unwrap()).unwrap();
    assert_eq!(
        text,
        json!({
            "type": "object",
            "title": "com.example.Payment",
            "additionalProperties": false,
            "properties": {
                "id": {"type": "integer", "connect.type": "int32", "connect.index": 0},
                "note": {"oneOf": [{"type": "null"}, {"type": "string"}], "connect.index": 1},
                "price": {"type": "number", "connect.type": "bytes", "connect.index": 2,
                          "title": "org.apache.kafka.connect.data.Decimal", "connect.version": 1,
                          "connect.parameters": {"scale": "2"}},
                "day": {"type": "integer", "connect.type": "int32", "connect.index": 3,
                        "title": "org.apache.kafka.connect.data.Date", "connect.version": 1},
                "m": {"type": "array", "connect.type": "map", "connect.index": 4,
                      "items": {"type": "object", "properties": {
                          "key": {"type": "integer", "connect.type": "int16", "connect.index": 0},
                          "value": {"type": "number", "connect.type": "float64", "connect.index": 1}}}},
                "attrs": {"type": "object", "connect.type": "map", "connect.index": 5,
                          "additionalProperties": {"type": "string", "connect.type": "bytes"}},
            }
        })
    );
    let value = Value::Struct(vec![
        Value::Int32(7),
        Value::Null,
        Value::Bytes(vec![0x04, 0xD2]),
        Value::Int32(19_000),
        Value::Map(vec![(Value::Int16(1), Value::Float64(0.5))]),
        Value::Map(vec![(Value::from("k"), Value::Bytes(vec![1, 2]))]),
    ]);
    let mut out = Vec::new();
    f.write(&mut out, &schema, &value).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"id":7,"note":null,"price":"BNI=","day":19000,"m":[{"key":1,"value":0.5}],"attrs":{"k":"AQI="}}"#
    );
    let numeric = format(&[("decimal.format", "numeric")]);
    let mut out = Vec::new();
    numeric.write(&mut out, &schema, &value).unwrap();
    assert!(String::from_utf8(out).unwrap().contains(r#""price":12.34"#));
}

/// JSON Schemas other producers write: plain types, nullable type lists, enums, local
/// references, `required`.
#[test]
fn foreign_json_schemas_read_as_confluent_reads_them() {
    let text = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "User",
        "type": "object",
        "definitions": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}},
        "properties": {
            "id": {"type": "integer"},
            "score": {"type": "number"},
            "name": {"type": ["string", "null"]},
            "kind": {"enum": ["A", "B"]},
            "home": {"$ref": "#/definitions/Address"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ok": {"type": "boolean", "default": true},
        },
        "required": ["id", "kind"]
    })
    .to_string();
    let s = to_connect(&text, format(&[]).opts).unwrap();
    assert_eq!(s.name.as_deref(), Some("User"));
    let ty = |name: &str| s.field(name).unwrap().1.schema.clone();
    assert_eq!(ty("id").ty, SchemaType::Int64);
    assert_eq!(ty("score").ty, SchemaType::Float64);
    assert!(ty("name").optional && ty("name").ty == SchemaType::String);
    assert_eq!(
        ty("kind").parameters,
        vec![
            ("io.confluent.connect.json.Enum".to_string(), String::new()),
            ("io.confluent.connect.json.Enum.A".into(), "A".into()),
            ("io.confluent.connect.json.Enum.B".into(), "B".into()),
        ]
    );
    assert_eq!(ty("home").fields[0].name, "city");
    assert_eq!(ty("tags").items.as_ref().unwrap().ty, SchemaType::String);
    assert_eq!(ty("ok").default, Some(Value::Boolean(true)));
    assert!(!ty("id").optional && !ty("score").optional);
    // use.optional.for.nonrequired: what `required` leaves out is optional.
    let s = to_connect(
        &text,
        format(&[("use.optional.for.nonrequired", "true")]).opts,
    )
    .unwrap();
    let optional: Vec<&str> = s
        .fields
        .iter()
        .filter(|f| f.schema.optional)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(optional, ["score", "name", "home", "tags", "ok"]);
    // A payload missing an optional property reads as null; the default fills `ok`.
    let f = format(&[("use.optional.for.nonrequired", "true")]);
    let reader = f.compile(&text).unwrap();
    let (_, v) = f.read(&reader, br#"{"id": 5, "kind": "B"}"#).unwrap();
    assert_eq!(
        v,
        Value::Struct(vec![
            Value::Int64(5),
            Value::Null,
            Value::Null,
            Value::from("B"),
            Value::Null,
            Value::Null,
            Value::Boolean(true),
        ])
    );
}

#[test]
fn unsupported_schemas_and_bad_payloads_are_precise_errors() {
    let f = format(&[]);
    let e = f
        .compile(r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#)
        .unwrap_err();
    assert!(e.0.contains("oneOf") && e.0.contains("OneOf"), "{e}");
    let e = f
        .compile(r##"{"type":"object","properties":{"a":{"$ref":"other.json#/x"}}}"##)
        .unwrap_err();
    assert!(
        e.0.contains("property \"a\"") && e.0.contains("reference"),
        "{e}"
    );
    let e = f
        .compile(r##"{"$ref":"#/definitions/A","definitions":{"A":{"$ref":"#/definitions/A"}}}"##)
        .unwrap_err();
    assert!(e.0.contains("recursive"), "{e}");
    assert!(f.compile("not json").is_err());
    let reader = f
        .compile(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#)
        .unwrap();
    let e = f.read(&reader, br#"{"a":"x"#).unwrap_err();
    assert!(e.0.contains("truncated"), "{e}");
    let e = f.read(&reader, b"").unwrap_err();
    assert!(e.0.contains("truncated"), "{e}");
    let e = f.read(&reader, br#"{"a":null}"#).unwrap_err();
    assert!(e.0.contains("null"), "{e}");
    let bad = JsonSchema::from_props(&vec![("decimal.format".into(), "HEX".into())]);
    assert!(bad.is_err());
}
