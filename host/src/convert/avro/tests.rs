//! The Connect <-> Avro mapping and the binary codec without a registry (the converter with
//! a registry is tested in `schema_registry::tests`, over HTTP).

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::codec::{read, write, Input};
use super::schema::{reader, to_avro};
use super::*;
use crate::data::{Field, Schema, SchemaType, Value};

fn field(name: &str, schema: Schema) -> Field {
    Field {
        name: name.into(),
        schema: schema.into_ref(),
    }
}

/// A struct with every Connect type and logical type, optional and defaulted fields, a nested
/// struct, a string-keyed map and an int-keyed map.
pub(crate) fn every_type() -> (SchemaRef, Value) {
    let inner = Schema::structure(vec![field("x", Schema::new(SchemaType::Int32))])
        .with_name("com.example.Inner");
    let schema = Schema::structure(vec![
        field("i8", Schema::new(SchemaType::Int8)),
        field("i16", Schema::new(SchemaType::Int16)),
        field("i32", Schema::new(SchemaType::Int32)),
        field("i64", Schema::new(SchemaType::Int64)),
        field("f32", Schema::new(SchemaType::Float32)),
        field("f64", Schema::new(SchemaType::Float64)),
        field("b", Schema::new(SchemaType::Boolean)),
        field("s", Schema::new(SchemaType::String)),
        field("bytes", Schema::new(SchemaType::Bytes)),
        field("dec", Schema::decimal(2)),
        field(
            "dec_p",
            Schema::decimal(3).with_parameter(schema::DECIMAL_PRECISION, "10"),
        ),
        field("date", Schema::date()),
        field("time", Schema::time()),
        field("ts", Schema::timestamp()),
        field("opt", Schema::new(SchemaType::String).optional()),
        field("opt_set", Schema::new(SchemaType::Int64).optional()),
        field(
            "def",
            Schema::new(SchemaType::Int32).with_default(Value::Int32(7)),
        ),
        field(
            "opt_def",
            Schema::new(SchemaType::String)
                .optional()
                .with_default(Value::from("d")),
        ),
        field(
            "arr",
            Schema::array(Schema::new(SchemaType::String).into_ref()),
        ),
        field(
            "smap",
            Schema::map(
                Schema::new(SchemaType::String).into_ref(),
                Schema::new(SchemaType::Int64).into_ref(),
            ),
        ),
        field(
            "imap",
            Schema::map(
                Schema::new(SchemaType::Int32).into_ref(),
                Schema::new(SchemaType::String).optional().into_ref(),
            ),
        ),
        field("inner", inner),
        field(
            "opt_inner",
            Schema::structure(vec![field("y", Schema::new(SchemaType::Boolean))]).optional(),
        ),
        field(
            "named",
            Schema::new(SchemaType::String)
                .with_name("com.example.Code")
                .with_version(3)
                .with_parameter("k", "v"),
        ),
    ])
    .with_name("com.example.Every")
    .with_version(2)
    .into_ref();
    let value = Value::Struct(vec![
        Value::Int8(-8),
        Value::Int16(-1600),
        Value::Int32(i32::MIN),
        Value::Int64(i64::MAX),
        Value::Float32(1.5),
        Value::Float64(-2.25e300),
        Value::Boolean(true),
        Value::from("héllo"),
        Value::Bytes(vec![0, 1, 255]),
        Value::Bytes(vec![0x04, 0xD2]),
        Value::Bytes(vec![0xFF, 0x85]),
        Value::Int32(19_000),
        Value::Int32(3_600_000),
        Value::Int64(1_700_000_000_123),
        Value::Null,
        Value::Int64(5),
        Value::Int32(9),
        Value::from("set"),
        Value::Array(vec![Value::from("a"), Value::from("b")]),
        Value::Map(vec![(Value::from("k"), Value::Int64(1))]),
        Value::Map(vec![
            (Value::Int32(1), Value::from("one")),
            (Value::Int32(2), Value::Null),
        ]),
        Value::Struct(vec![Value::Int32(42)]),
        Value::Null,
        Value::from("X"),
    ]);
    (schema, value)
}

fn round_trip(schema: &Schema, value: &Value) -> (SchemaRef, Value) {
    let avro = to_avro(schema).unwrap().to_string();
    let r = reader(&avro).unwrap();
    let mut out = Vec::new();
    write(&mut out, schema, value).unwrap();
    let mut input = Input::new(&out);
    let back = read(&mut input, &r).unwrap();
    assert_eq!(input.remaining(), 0, "every byte read");
    (r.schema.clone(), back)
}

#[test]
fn every_connect_type_round_trips() {
    let (schema, value) = every_type();
    let (back_schema, back) = round_trip(&schema, &value);
    assert_eq!(back, value);
    assert_eq!(*back_schema, *schema);
}

#[test]
fn top_level_primitives_and_optionals_round_trip() {
    for (schema, value) in [
        (Schema::new(SchemaType::String), Value::from("x")),
        (Schema::new(SchemaType::Int8), Value::Int8(-1)),
        (Schema::new(SchemaType::Int64).optional(), Value::Int64(3)),
        (Schema::new(SchemaType::Int64).optional(), Value::Null),
        (Schema::decimal(0), Value::Bytes(vec![1])),
        (
            Schema::array(Schema::new(SchemaType::Int32).optional().into_ref()),
            Value::Array(vec![Value::Null, Value::Int32(1)]),
        ),
    ] {
        let (back_schema, back) = round_trip(&schema, &value);
        assert_eq!(back, value, "{schema:?}");
        assert_eq!(*back_schema, schema);
    }
}

/// The Avro schemas Confluent's AvroData writes for Connect's types (property names and the
/// shapes users' consumers see).
#[test]
fn avro_schemas_are_confluents() {
    let (schema, _) = every_type();
    let avro = to_avro(&schema).unwrap();
    assert_eq!(avro["type"], "record");
    assert_eq!(avro["name"], "Every");
    assert_eq!(avro["namespace"], "com.example");
    assert_eq!(avro["connect.name"], "com.example.Every");
    assert_eq!(avro["connect.version"], 2);
    let f = |name: &str| {
        avro["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        f("i8")["type"],
        json!({"type": "int", "connect.type": "int8"})
    );
    assert_eq!(
        f("dec")["type"],
        json!({"type": "bytes", "scale": 2, "precision": 64, "connect.version": 1,
               "connect.parameters": {"scale": "2"},
               "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"})
    );
    assert_eq!(f("dec_p")["type"]["precision"], 10);
    assert_eq!(f("date")["type"]["logicalType"], "date");
    assert_eq!(f("time")["type"]["logicalType"], "time-millis");
    assert_eq!(f("ts")["type"]["logicalType"], "timestamp-millis");
    assert_eq!(f("opt")["type"], json!(["null", {"type": "string"}]));
    assert_eq!(f("opt")["default"], json!(null));
    assert_eq!(f("def")["default"], json!(7));
    assert_eq!(f("opt_def")["type"][1], json!("null"));
    assert_eq!(f("opt_def")["default"], json!("d"));
    assert_eq!(f("smap")["type"]["type"], "map");
    let imap = f("imap")["type"].clone();
    assert_eq!(imap["type"], "array");
    assert_eq!(imap["items"]["name"], "MapEntry");
    assert_eq!(imap["items"]["namespace"], "io.confluent.connect.avro");
    assert_eq!(f("opt_inner")["type"][1]["name"], "ConnectDefault");
    assert!(!avro.to_string().contains(" "), "compact");
}

/// Avro schemas written by other producers (no Connect properties) read as Connect schemas.
#[test]
fn foreign_avro_schemas_map_to_connect() {
    let avro = r#"{"type":"record","name":"User","namespace":"n","fields":[
        {"name":"id","type":"long"},
        {"name":"tags","type":{"type":"map","values":"string"}},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
        {"name":"hash","type":{"type":"fixed","name":"H","size":2}},
        {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
        {"name":"again","type":["null","Kind"],"default":null},
        {"name":"n","type":"int","default":3}]}"#;
    let r = reader(avro).unwrap();
    let s = &r.schema;
    assert_eq!(s.name.as_deref(), Some("n.User"));
    let kind = &s.field("kind").unwrap().1.schema;
    assert_eq!(kind.ty, SchemaType::String);
    assert_eq!(
        kind.parameter("io.confluent.connect.avro.Enum"),
        Some("n.Kind")
    );
    let price = &s.field("price").unwrap().1.schema;
    assert!(price.is_logical(crate::data::logical::DECIMAL));
    assert_eq!(price.parameter("scale"), Some("2"));
    assert_eq!(price.parameter(schema::DECIMAL_PRECISION), Some("10"));
    assert_eq!(
        s.field("n").unwrap().1.schema.default,
        Some(Value::Int32(3))
    );
    assert!(s.field("again").unwrap().1.schema.optional);
    // id 1, tags {a: b}, kind B, hash [1, 2], price 1.00, again Kind A, n 4
    let bytes = [2, 2, 2, b'a', 2, b'b', 0, 2, 1, 2, 2, 100, 2, 0, 8];
    let v = read(&mut Input::new(&bytes), &r).unwrap();
    assert_eq!(
        v,
        Value::Struct(vec![
            Value::Int64(1),
            Value::Map(vec![(Value::from("a"), Value::from("b"))]),
            Value::from("B"),
            Value::Bytes(vec![1, 2]),
            Value::Bytes(vec![100]),
            Value::from("A"),
            Value::Int32(4),
        ])
    );
}

#[test]
fn bad_payloads_are_errors_not_panics() {
    let (schema, value) = every_type();
    let r = reader(&to_avro(&schema).unwrap().to_string()).unwrap();
    let mut out = Vec::new();
    write(&mut out, &schema, &value).unwrap();
    for cut in 0..out.len() {
        let e = read(&mut Input::new(&out[..cut]), &r);
        assert!(e.is_err(), "truncated at {cut} of {}", out.len());
    }
    // A huge block count does not allocate its size.
    let arr = reader(r#"{"type":"array","items":"null"}"#).unwrap();
    assert!(read(&mut Input::new(&[0xfe, 0xff, 0xff, 0xff, 0x0f]), &arr).is_err());
    assert!(reader(
        r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#
    )
    .map(|_| ())
    .unwrap_err()
    .0
    .contains("recursive"));
    assert!(reader(r#"["int","string"]"#).is_err());
    assert!(reader("{").is_err());
}

#[test]
fn write_errors_name_the_field() {
    let schema = Schema::structure(vec![field("a", Schema::new(SchemaType::Int32))]);
    let mut out = Vec::new();
    let e = write(&mut out, &schema, &Value::Struct(vec![Value::from("x")])).unwrap_err();
    assert!(e.0.contains("\"a\"") && e.0.contains("string"), "{e}");
    let e = write(&mut out, &schema, &Value::Struct(vec![Value::Null])).unwrap_err();
    assert!(e.0.contains("null"), "{e}");
}

#[test]
fn config_keys_are_checked() {
    let props = |kv: &[(&str, &str)]| -> Config {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let c = AvroConverterConfig::from_props(&props(&[
        (
            "value.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ),
        ("auto.register.schemas", "false"),
    ]))
    .unwrap();
    assert_eq!(
        c.value_subject_name_strategy,
        SubjectNameStrategy::RecordName
    );
    assert!(!c.auto_register_schemas);
    let e = AvroConverterConfig::from_props(&props(&[("key.subject.name.strategy", "Nope")]))
        .unwrap_err();
    assert!(e.0.contains("key.subject.name.strategy") && e.0.contains("TopicNameStrategy"));
    assert!(AvroConverterConfig::from_props(&props(&[("use.latest.version", "maybe")])).is_err());
    let (schema, _) = every_type();
    assert_eq!(
        SubjectNameStrategy::TopicRecordName.subject("t", false, || record_name(&schema)),
        "t-com.example.Every"
    );
    assert_eq!(
        SubjectNameStrategy::TopicName.subject("t", true, || record_name(&schema)),
        "t-key"
    );
}
