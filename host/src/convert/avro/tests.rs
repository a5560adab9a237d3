//! The Connect <-> Avro mapping and the binary codec without a registry (the converter with
//! a registry is tested in `schema_registry::tests`, over HTTP).

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::codec::{read, write, Input};
use super::schema::{reader, to_avro, to_avro_with};
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

/// A small struct with each kind of Connect metadata AvroData writes: a version and name on
/// the struct, int16's `connect.type`, Decimal's name/version/parameters, a default, a named
/// string with parameters, and a non-string-keyed map.
fn small() -> Schema {
    Schema::structure(vec![
        field("a", Schema::new(SchemaType::Int16)),
        field("b", Schema::decimal(2)),
        field(
            "p",
            Schema::decimal(3).with_parameter(schema::DECIMAL_PRECISION, "10"),
        ),
        field(
            "c",
            Schema::new(SchemaType::String)
                .optional()
                .with_default(Value::from("x")),
        ),
        field(
            "named",
            Schema::new(SchemaType::String)
                .with_name("com.example.Code")
                .with_version(3)
                .with_parameter("k", "v"),
        ),
        field(
            "m",
            Schema::map(
                Schema::new(SchemaType::Int32).into_ref(),
                Schema::new(SchemaType::String).into_ref(),
            ),
        ),
    ])
    .with_name("com.example.Small")
    .with_version(2)
}

/// The expected schemas come from reading Confluent's AvroData.fromConnectSchema
/// (confluentinc/schema-registry v7.9.0, 9634697712781ffd344ba1cbb27ced6a810b8b13; the same at
/// master 794611bd86d1ce0422581269e2b13a2ab010c7fb): with `connect.meta.data=false` the whole
/// `connect.*` block (doc, version, parameters, default, name, and `connect.type`) is skipped;
/// record names, logical types and Decimal's `scale`/`precision` (from
/// `connect.decimal.precision`, else 64) stay. (Avro Java prints a property-less primitive as
/// `"int"`; Sluice writes `{"type":"int"}`, the same Avro schema.)
#[test]
fn connect_meta_data_false_omits_the_connect_properties() {
    let entries = json!({"type": "array", "items": {"type": "record", "name": "MapEntry",
        "namespace": "io.confluent.connect.avro", "fields": [
            {"name": "key", "type": {"type": "int"}},
            {"name": "value", "type": {"type": "string"}}]}});
    let with = json!({"type": "record", "name": "Small", "namespace": "com.example", "fields": [
        {"name": "a", "type": {"type": "int", "connect.type": "int16"}},
        {"name": "b", "type": {"type": "bytes", "scale": 2, "precision": 64,
            "connect.version": 1, "connect.parameters": {"scale": "2"},
            "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"}},
        {"name": "p", "type": {"type": "bytes", "scale": 3, "precision": 10,
            "connect.version": 1,
            "connect.parameters": {"scale": "3", "connect.decimal.precision": "10"},
            "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"}},
        {"name": "c", "type": [{"type": "string", "connect.default": "x"}, "null"],
            "default": "x"},
        {"name": "named", "type": {"type": "string", "connect.version": 3,
            "connect.parameters": {"k": "v"}, "connect.name": "com.example.Code"}},
        {"name": "m", "type": entries},
    ], "connect.version": 2, "connect.name": "com.example.Small"});
    let without = json!({"type": "record", "name": "Small", "namespace": "com.example",
        "fields": [
        {"name": "a", "type": {"type": "int"}},
        {"name": "b", "type": {"type": "bytes", "scale": 2, "precision": 64,
            "logicalType": "decimal"}},
        {"name": "p", "type": {"type": "bytes", "scale": 3, "precision": 10,
            "logicalType": "decimal"}},
        {"name": "c", "type": [{"type": "string"}, "null"], "default": "x"},
        {"name": "named", "type": {"type": "string"}},
        {"name": "m", "type": entries},
    ]});
    let no_meta = AvroOptions {
        meta: false,
        enhanced: false,
    };
    assert_eq!(to_avro(&small()).unwrap(), with);
    assert_eq!(to_avro_with(&small(), no_meta).unwrap(), without);
    // Unnamed structs keep their generated names; nothing connect.* anywhere.
    let (every, _) = every_type();
    let text = to_avro_with(&every, no_meta).unwrap().to_string();
    assert!(!text.contains("\"connect."), "{text}");
    assert!(text.contains(r#""name":"ConnectDefault""#), "{text}");
    assert_eq!(
        to_avro_with(&Schema::new(SchemaType::Int8), no_meta).unwrap(),
        json!({"type": "int"})
    );
}

/// Reading with `connect.meta.data=false` (AvroData.toConnectSchema): `connect.doc` and
/// `connect.parameters` are not read back; `connect.name`, `connect.version`, `connect.type`
/// and `connect.default` are; Decimal's precision comes back from the Avro `precision`.
#[test]
fn connect_meta_data_false_when_reading() {
    let mut documented = small();
    documented.doc = Some("the doc".into());
    let with_meta = to_avro(&documented).unwrap().to_string();
    let r = schema::reader_with(&with_meta, false).unwrap();
    let s = &r.schema;
    assert_eq!(s.name.as_deref(), Some("com.example.Small"));
    assert_eq!(s.version, Some(2));
    assert_eq!(s.doc, None, "connect.doc is not read back");
    let named = &s.field("named").unwrap().1.schema;
    assert_eq!(named.name.as_deref(), Some("com.example.Code"));
    assert!(
        named.parameters.is_empty(),
        "connect.parameters not read back"
    );
    assert_eq!(s.field("a").unwrap().1.schema.ty, SchemaType::Int16);
    let p = &s.field("p").unwrap().1.schema;
    assert_eq!(p.parameter(schema::DECIMAL_PRECISION), Some("10"));
    assert_eq!(p.parameter("scale"), Some("3"));
    // The same schema read with metadata: all of it back.
    let full = schema::reader_with(&with_meta, true).unwrap();
    assert_eq!(full.schema.doc.as_deref(), Some("the doc"));
    assert_eq!(*full.schema, documented);

    // Written and read without metadata: INT8/INT16 come back as INT32, named strings as
    // plain strings; struct names, logical types and defaults survive.
    let no_meta = AvroOptions {
        meta: false,
        enhanced: false,
    };
    let text = to_avro_with(&small(), no_meta).unwrap().to_string();
    let back = schema::reader_with(&text, false).unwrap();
    let s = &back.schema;
    assert_eq!(s.name.as_deref(), Some("com.example.Small"));
    assert_eq!(s.version, None);
    assert_eq!(s.field("a").unwrap().1.schema.ty, SchemaType::Int32);
    let named = &s.field("named").unwrap().1.schema;
    assert_eq!((named.name.as_deref(), named.version), (None, None));
    assert!(s
        .field("b")
        .unwrap()
        .1
        .schema
        .is_logical(crate::data::logical::DECIMAL));
    assert_eq!(
        s.field("p")
            .unwrap()
            .1
            .schema
            .parameter(schema::DECIMAL_PRECISION),
        Some("10")
    );
    assert_eq!(
        s.field("c").unwrap().1.schema.default,
        Some(Value::from("x"))
    );
    let value = Value::Struct(vec![
        Value::Int16(-3),
        Value::Bytes(vec![1]),
        Value::Bytes(vec![2]),
        Value::Null,
        Value::from("code"),
        Value::Map(vec![(Value::Int32(1), Value::from("one"))]),
    ]);
    let mut out = Vec::new();
    write(&mut out, &small(), &value).unwrap();
    let v = read(&mut Input::new(&out), &back).unwrap();
    let Value::Struct(fields) = v else {
        panic!("{v:?}")
    };
    assert_eq!(fields[0], Value::Int32(-3));
    assert_eq!(
        fields[3],
        Value::from("x"),
        "the null written as the default"
    );
}

/// `enhanced.avro.schema.support=true`: an Avro enum read into Connect (a STRING with the
/// `io.confluent.connect.avro.Enum` parameters) is written as the same enum again (its full
/// name, so its namespace, and its symbols), values as symbol indexes; off, as a string.
#[test]
fn enhanced_schema_support_writes_enums_back() {
    let avro = r#"{"type":"record","name":"User","namespace":"n","fields":[
        {"name":"kind","type":{"type":"enum","name":"Kind","namespace":"n.kinds","symbols":["A","B"]}},
        {"name":"again","type":["null","n.kinds.Kind"],"default":null}]}"#;
    let r = reader(avro).unwrap();
    let schema = r.schema.clone();
    let enhanced = AvroOptions {
        meta: false,
        enhanced: true,
    };
    let out = to_avro_with(&schema, enhanced).unwrap();
    assert_eq!(
        out["fields"][0]["type"],
        json!({"type": "enum", "name": "Kind", "namespace": "n.kinds", "symbols": ["A", "B"]})
    );
    assert_eq!(out["fields"][1]["type"], json!(["null", "n.kinds.Kind"]));
    assert_eq!(out["name"], "User");
    assert_eq!(out["namespace"], "n");
    // With metadata the enum also carries its Connect name and parameters.
    let meta = to_avro_with(
        &schema,
        AvroOptions {
            meta: true,
            enhanced: true,
        },
    )
    .unwrap();
    assert_eq!(meta["fields"][0]["type"]["type"], "enum");
    assert_eq!(meta["fields"][0]["type"]["connect.name"], "n.kinds.Kind");
    // Off: a string.
    assert_eq!(
        to_avro(&schema).unwrap()["fields"][0]["type"]["type"],
        "string"
    );

    let value = Value::Struct(vec![Value::from("B"), Value::from("A")]);
    let mut bytes = Vec::new();
    codec::write_with(&mut bytes, &schema, &value, true).unwrap();
    assert_eq!(bytes, [2, 2, 0]);
    let back = reader(&out.to_string()).unwrap();
    assert_eq!(read(&mut Input::new(&bytes), &back).unwrap(), value);
    let e = codec::write_with(
        &mut Vec::new(),
        &schema,
        &Value::Struct(vec![Value::from("C"), Value::Null]),
        true,
    )
    .unwrap_err();
    assert!(e.0.contains("\"C\"") && e.0.contains("n.kinds.Kind"), "{e}");
}

/// `use.latest.version`: a record's value written in another (the latest) schema — fields by
/// name, the latest's defaults for fields the record lacks, Avro's promotions — decodes with
/// that schema; what cannot be written is an error naming the field.
#[test]
fn values_are_written_in_the_latest_schema() {
    let v1 = Schema::structure(vec![
        field("id", Schema::new(SchemaType::Int32)),
        field("name", Schema::new(SchemaType::String)),
        field("kind", Schema::new(SchemaType::String)),
        field("dropped", Schema::new(SchemaType::Boolean)),
        field("opt", Schema::new(SchemaType::Int64).optional()),
    ])
    .with_name("a.R");
    let latest = r#"{"type":"record","name":"R","namespace":"a","fields":[
        {"name":"name","type":"string"},
        {"name":"id","type":"long"},
        {"name":"email","type":["null","string"],"default":null},
        {"name":"n","type":"int","default":5},
        {"name":"kind","type":{"type":"enum","name":"K","symbols":["X","Y"]}},
        {"name":"opt","type":["null","double"],"default":null}]}"#;
    let target = reader(latest).unwrap();
    let plan = latest::plan(&v1, &target).unwrap();
    let value = Value::Struct(vec![
        Value::Int32(7),
        Value::from("ann"),
        Value::from("Y"),
        Value::Boolean(true),
        Value::Int64(3),
    ]);
    let mut out = Vec::new();
    latest::write(&mut out, &plan, &value).unwrap();
    let back = read(&mut Input::new(&out), &target).unwrap();
    assert_eq!(
        back,
        Value::Struct(vec![
            Value::from("ann"),
            Value::Int64(7),
            Value::Null,
            Value::Int32(5),
            Value::from("Y"),
            Value::Float64(3.0),
        ])
    );
    // Per record: a string that is not a symbol, a null for a required field.
    let e = latest::write(
        &mut Vec::new(),
        &plan,
        &Value::Struct(vec![
            Value::Int32(7),
            Value::from("ann"),
            Value::from("Z"),
            Value::Boolean(true),
            Value::Null,
        ]),
    )
    .unwrap_err();
    assert!(e.0.contains("\"kind\"") && e.0.contains("\"Z\""), "{e}");
    // Per schema: a field the latest requires and the record lacks; incompatible types.
    let required = r#"{"type":"record","name":"R","namespace":"a","fields":[
        {"name":"id","type":"long"},{"name":"must","type":"string"}]}"#;
    let e = latest::plan(&v1, &reader(required).unwrap())
        .map(|_| ())
        .unwrap_err();
    assert!(e.0.contains("must") && e.0.contains("no default"), "{e}");
    let retyped = r#"{"type":"record","name":"R","namespace":"a","fields":[
        {"name":"name","type":"long"}]}"#;
    let e = latest::plan(&v1, &reader(retyped).unwrap())
        .map(|_| ())
        .unwrap_err();
    assert!(e.0.contains("field name") && e.0.contains("string"), "{e}");
    // A long that does not fit the latest schema's int.
    let narrow = Schema::structure(vec![field("id", Schema::new(SchemaType::Int64))]);
    let int_latest =
        reader(r#"{"type":"record","name":"R","fields":[{"name":"id","type":"int"}]}"#).unwrap();
    let plan = latest::plan(&narrow, &int_latest).unwrap();
    let mut out = Vec::new();
    latest::write(&mut out, &plan, &Value::Struct(vec![Value::Int64(5)])).unwrap();
    assert_eq!(out, [10]);
    let e =
        latest::write(&mut out, &plan, &Value::Struct(vec![Value::Int64(1 << 40)])).unwrap_err();
    assert!(e.0.contains("\"id\"") && e.0.contains("int32"), "{e}");
}
