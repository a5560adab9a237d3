//! The Connect <-> Protobuf mapping, the `.proto` printer and the wire codec without a
//! registry (the converter with a registry is tested in `schema_registry::tests`, over HTTP).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::data::{Field, Schema, SchemaType, Value};

fn format(props: &[(&str, &str)]) -> Protobuf {
    let props: Config = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Protobuf::from_props(&props).unwrap()
}

fn field(name: &str, schema: Schema) -> Field {
    Field {
        name: name.into(),
        schema: schema.into_ref(),
    }
}

/// A struct with every Connect type and logical type the mapping covers.
fn every_type() -> (SchemaRef, Value) {
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
        field("date", Schema::date()),
        field("time", Schema::time()),
        field("ts", Schema::timestamp()),
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
                inner.clone().into_ref(),
            ),
        ),
        field("inner", inner),
        field(
            "opt_inner",
            Schema::structure(vec![field("y", Schema::new(SchemaType::Boolean))])
                .with_name("Opt")
                .optional(),
        ),
        field(
            "kind",
            Schema::new(SchemaType::String)
                .with_name("Kind")
                .with_parameter(schema::ENUM, "Kind")
                .with_parameter(format!("{}.CARD", schema::ENUM), "0")
                .with_parameter(format!("{}.CASH", schema::ENUM), "1"),
        ),
        field("neg_ts", Schema::timestamp()),
    ])
    .with_name("com.example.Every")
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
        Value::Bytes(vec![0xFB, 0x2E]),
        Value::Int32(19_000),
        Value::Int32(45_296_789),
        Value::Int64(1_700_000_000_123),
        Value::Array(vec![Value::from("a"), Value::from("b")]),
        Value::Map(vec![(Value::from("k"), Value::Int64(1))]),
        Value::Map(vec![(
            Value::Int32(-1),
            Value::Struct(vec![Value::Int32(2)]),
        )]),
        Value::Struct(vec![Value::Int32(42)]),
        Value::Null,
        Value::from("CASH"),
        Value::Int64(-1_500),
    ]);
    (schema, value)
}

fn round_trip(f: &Protobuf, schema: &Schema, value: &Value) -> (SchemaRef, Value) {
    let text = f.schema_text(schema).unwrap();
    let reader = f.compile(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut out = Vec::new();
    f.write(&mut out, schema, value).unwrap();
    assert_eq!(out[0], 0, "the first message's index list");
    f.read(&reader, &out).unwrap()
}

#[test]
fn every_connect_type_round_trips() {
    let (schema, value) = every_type();
    let (back_schema, back) = round_trip(&format(&[]), &schema, &value);
    assert_eq!(back, value);
    // Read as Confluent reads: names without package, every field optional with its tag.
    assert_eq!(back_schema.name.as_deref(), Some("Every"));
    assert!(!back_schema.optional);
    for (i, (ours, theirs)) in back_schema.fields.iter().zip(&schema.fields).enumerate() {
        assert_eq!(ours.name, theirs.name);
        assert_eq!(ours.schema.ty, theirs.schema.ty, "{}", ours.name);
        assert_eq!(
            ours.schema
                .name
                .as_deref()
                .filter(|n| n.contains("connect.data")),
            theirs
                .schema
                .name
                .as_deref()
                .filter(|n| n.contains("connect.data")),
            "{}",
            ours.name
        );
        assert!(ours.schema.optional, "{}", ours.name);
        assert_eq!(
            ours.schema.parameter(schema::TAG),
            Some((i + 1).to_string().as_str())
        );
    }
    let dec = &back_schema.fields[9].schema;
    assert_eq!(dec.parameter("scale"), Some("2"));
}

#[test]
fn nulls_and_defaults_follow_proto3() {
    let schema = Schema::structure(vec![
        field("n", Schema::new(SchemaType::Int64).optional()),
        field("s", Schema::new(SchemaType::String).optional()),
        field("zero", Schema::new(SchemaType::Int32)),
    ])
    .with_name("N")
    .into_ref();
    let value = Value::Struct(vec![Value::Null, Value::Null, Value::Int32(0)]);
    // Plain proto3 fields: nulls and zeros are absent and read back as zero values.
    let (_, back) = round_trip(&format(&[]), &schema, &value);
    assert_eq!(
        back,
        Value::Struct(vec![Value::Int64(0), Value::from(""), Value::Int32(0)])
    );
    // optional.for.nullables: proto3 `optional` fields keep nulls apart from zeros.
    let f = format(&[("optional.for.nullables", "true")]);
    assert!(f
        .schema_text(&schema)
        .unwrap()
        .contains("optional int64 n = 1;"));
    let (_, back) = round_trip(&f, &schema, &value);
    assert_eq!(back, value);
    let zeros = Value::Struct(vec![Value::Int64(0), Value::from(""), Value::Int32(0)]);
    assert_eq!(round_trip(&f, &schema, &zeros).1, zeros);
}

#[test]
fn proto_text_is_confluents_shape_and_prints_back() {
    let (schema, _) = every_type();
    let text = format(&[]).schema_text(&schema).unwrap();
    for line in [
        "syntax = \"proto3\";",
        "package com.example;",
        "import \"confluent/type/decimal.proto\";",
        "import \"google/protobuf/timestamp.proto\";",
        "message Every {",
        "int32 i8 = 1 [(confluent.field_meta) = { params: [{ key: \"connect.type\" value: \"int8\" }] }];",
        ".confluent.type.Decimal dec = 10 [(confluent.field_meta) = { params: [{ key: \"scale\" value: \"2\" }] }];",
        "repeated string arr = 14;",
        "repeated .com.example.Every.SmapEntry smap = 15;",
        "message SmapEntry {",
        ".com.example.Every.ImapEntry.Inner inner = 17;",
        "enum Kind {",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    // The registry's canonical text compiles to the same messages.
    let file = proto_file::compile(&text, &[]).unwrap();
    let printed = proto_file::print(&file);
    let again = proto_file::print(&proto_file::compile(&printed, &[]).unwrap());
    assert_eq!(printed, again, "printing is stable");
    assert!(printed.contains("key: \"scale\""), "{printed}");
    // A base64 FileDescriptorProto (what Confluent's clients send) compiles too.
    let b64 = proto_file::serialized(&file);
    let from_b64 = proto_file::compile(&b64, &[]).unwrap();
    assert_eq!(proto_file::print(&from_b64), printed);
}

#[test]
fn foreign_protos_and_message_indexes() {
    let text = r#"
        syntax = "proto3";
        package shop;
        message First { string a = 1; }
        message Order {
          uint32 qty = 3;
          sint64 delta = 1;
          repeated int32 packed = 2;
          map<string, Line> lines = 4;
          message Line { fixed64 n = 1; }
          optional string note = 5;
        }
    "#;
    let f = format(&[]);
    let reader = f.compile(text).unwrap();
    // Order is the file's second message: index list [1] (count 1, then 1, zigzag).
    let mut payload = vec![2, 2];
    payload.extend_from_slice(&[0x18, 7]); // qty = 7
    payload.extend_from_slice(&[0x08, 3]); // delta = -2 (zigzag 3)
    payload.extend_from_slice(&[0x12, 3, 1, 0x96, 0x01]); // packed [1, 150]
    payload.extend_from_slice(&[0x10, 5]); // and one more unpacked: 5
                                           // lines {"x": {n: 9}}
    payload.extend_from_slice(&[
        0x22, 14, 0x0a, 1, b'x', 0x12, 9, 0x09, 9, 0, 0, 0, 0, 0, 0, 0,
    ]);
    payload.extend_from_slice(&[0x78, 1]); // unknown field 15: skipped
    let (schema, v) = f.read(&reader, &payload).unwrap();
    assert_eq!(schema.name.as_deref(), Some("Order"));
    assert_eq!(
        v,
        Value::Struct(vec![
            Value::Int64(7),
            Value::Int64(-2),
            Value::Array(vec![Value::Int32(1), Value::Int32(150), Value::Int32(5)]),
            Value::Map(vec![(
                Value::from("x"),
                Value::Struct(vec![Value::Int64(9)])
            )]),
            Value::Null,
        ])
    );
    // The first message by the `0` shortcut and by [0].
    let (s, v) = f.read(&reader, &[0, 0x0a, 1, b'z']).unwrap();
    assert_eq!(
        (s.name.as_deref(), v),
        (Some("First"), Value::Struct(vec![Value::from("z")]))
    );
    let (_, v) = f.read(&reader, &[2, 0, 0x0a, 1, b'z']).unwrap();
    assert_eq!(v, Value::Struct(vec![Value::from("z")]));
    // Bad input: precise errors.
    let e = f.read(&reader, &[2, 8]).unwrap_err();
    assert!(e.0.contains("name no message"), "{e}");
    let e = f.read(&reader, &[0, 0x0a, 5, b'z']).unwrap_err();
    assert!(e.0.contains("truncated"), "{e}");
    let e = f.read(&reader, &[0, 0x08, 1]).unwrap_err();
    assert!(e.0.contains("wire type"), "{e}");
    assert!(f.read(&reader, &[]).unwrap_err().0.contains("truncated"));
    let e = f
        .compile("syntax = \"proto3\"; message A { oneof x { int32 a = 1; string b = 2; } }")
        .map(|_| ())
        .unwrap_err();
    assert!(e.0.contains("oneof"), "{e}");
    let e = f
        .compile("syntax = \"proto3\"; message A { A next = 1; }")
        .map(|_| ())
        .unwrap_err();
    assert!(e.0.contains("recursive"), "{e}");
    assert!(f.compile("not a proto").is_err());
}

#[test]
fn non_struct_and_bad_names_are_refused() {
    let f = format(&[]);
    let e = f.schema_text(&Schema::new(SchemaType::String)).unwrap_err();
    assert!(e.0.contains("STRUCT"), "{e}");
    let e = f
        .schema_text(&Schema::structure(vec![field(
            "a-b",
            Schema::new(SchemaType::Int32),
        )]))
        .unwrap_err();
    assert!(e.0.contains("a-b"), "{e}");
    assert!(Protobuf::from_props(&vec![("wrapper.for.nullables".into(), "true".into())]).is_err());
}
