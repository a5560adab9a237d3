//! Round trips of the packed batch codec, and the errors it gives for malformed plugin output.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::wasm::lift::tests::sample_schema;

fn record(i: i64, schema: &SchemaRef) -> ConnectRecord {
    ConnectRecord {
        topic: format!("t{}", i % 2),
        kafka_partition: Some(i as i32),
        kafka_offset: Some(i * 1000),
        timestamp: if i % 2 == 0 { Some(-i) } else { None },
        timestamp_type: TimestampType::CreateTime,
        key: Data {
            schema: None,
            value: Value::Bytes(vec![0, 255, i as u8]),
        },
        value: Data {
            schema: Some(schema.clone()),
            value: Value::Struct(vec![
                Value::Int64(i64::MIN + i),
                Value::Array(vec![Value::from("x"), Value::Null]),
                Value::Map(vec![(Value::from("k"), Value::Int32(-7))]),
                Value::Bytes(vec![1, 2]),
            ]),
        },
        headers: vec![Header {
            key: "h".into(),
            value: Data {
                schema: Some(Schema::new(SchemaType::Float32).into_ref()),
                value: Value::Float32(1.5),
            },
        }],
    }
}

#[test]
fn batches_round_trip_with_one_table_entry_per_shared_schema() {
    let schema = sample_schema();
    let records: Vec<ConnectRecord> = (0..5).map(|i| record(i, &schema)).collect();
    let bytes = encode_batch(&records);
    assert_eq!(count(&bytes).unwrap(), 5);
    // The struct schema is shared by every record; each header schema is its own Arc.
    let (_, _, table) = header(&bytes).unwrap();
    assert_eq!(table.len(), 6);
    assert_eq!(decode_batch(&bytes).unwrap(), records);
}

#[test]
fn every_value_variant_round_trips() {
    let values = vec![
        Value::Null,
        Value::Boolean(true),
        Value::Int8(-128),
        Value::Int16(i16::MIN),
        Value::Int32(i32::MAX),
        Value::Int64(i64::MIN),
        Value::Float32(f32::MIN_POSITIVE),
        Value::Float64(-0.0),
        Value::from("ünïcode"),
        Value::Bytes(vec![]),
        Value::Map(vec![(Value::Int32(1), Value::Array(vec![]))]),
    ];
    let r = ConnectRecord::new(
        "t",
        Data::new(None, Value::Null),
        Data::new(None, Value::Array(values)),
    );
    let bytes = encode_batch(std::slice::from_ref(&r));
    assert_eq!(decode_batch(&bytes).unwrap(), vec![r]);
}

#[test]
fn malformed_plugin_output_is_an_error_naming_the_record_and_byte() {
    let schema = sample_schema();
    let records: Vec<ConnectRecord> = (0..3).map(|i| record(i, &schema)).collect();
    let bytes = encode_batch(&records);
    // Cut short inside the last record.
    let e = decode_batch(&bytes[..bytes.len() - 3]).unwrap_err();
    assert!(e.message.starts_with("record 2: "), "{e}");
    // Trailing garbage.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_batch(&longer)
        .unwrap_err()
        .message
        .contains("unread"));
    // A transform output with the wrong number of outcomes.
    let mut w = Writer::with_capacity(8);
    w.len(2);
    w.len(0);
    w.u8(outcome_tag::DROP);
    w.u8(outcome_tag::DROP);
    let out = w.finish();
    assert_eq!(
        decode_transform_output(&out, 2).unwrap(),
        vec![Outcome::Drop, Outcome::Drop]
    );
    let e = decode_transform_output(&out, 3).unwrap_err();
    assert!(e.contains("2 outcomes for 3 input records"), "{e}");
    // An unknown outcome tag.
    let mut w = Writer::with_capacity(8);
    w.len(1);
    w.len(0);
    w.u8(9);
    let e = decode_transform_output(&w.finish(), 1).unwrap_err();
    assert!(e.contains("record 0: unknown outcome tag 9"), "{e}");
    // A schema reference past the table.
    let mut w = Writer::with_capacity(8);
    w.len(1);
    w.len(0);
    w.str("t");
    w.opt_svar(None);
    w.opt_svar(None);
    w.opt_svar(None);
    w.u8(0);
    w.schema_ref(Some(4));
    let e = decode_batch(&w.finish()).unwrap_err();
    assert!(e.message.contains("schema index 4 out of range"), "{e}");
}

#[test]
fn rebatch_keeps_the_kept_records_byte_for_byte_and_checks_them() {
    let schema = sample_schema();
    let records: Vec<ConnectRecord> = (0..3).map(|i| record(i, &schema)).collect();
    let batch = encode_batch(&records);
    // A transform output: keep 0, drop 1, keep 2 (the records as they came in), fail a
    // fourth: the batch's schema table and record bytes reused as they are.
    let mut t = Reader::new(&batch).unwrap();
    t.len().unwrap();
    let schemas = t.len().unwrap();
    let table_start = t.position();
    for _ in 0..schemas {
        skip_schema(&mut t, 0).unwrap();
    }
    let table = &batch[table_start..t.position()];
    let mut ranges = Vec::new();
    for _ in 0..3 {
        let start = t.position();
        skip_record(&mut t, schemas).unwrap();
        ranges.push(start..t.position());
    }
    let mut out = Writer::with_capacity(batch.len());
    out.len(4);
    out.len(schemas);
    out.buf.extend_from_slice(table);
    out.u8(outcome_tag::KEEP);
    out.buf.extend_from_slice(&batch[ranges[0].clone()]);
    out.u8(outcome_tag::DROP);
    out.u8(outcome_tag::KEEP);
    out.buf.extend_from_slice(&batch[ranges[2].clone()]);
    out.u8(outcome_tag::FAIL);
    out.str("bad");
    let out = out.finish();

    let (next, outcomes) = rebatch(&out, 4).unwrap();
    assert_eq!(
        outcomes,
        vec![
            StepOutcome::Keep,
            StepOutcome::Drop,
            StepOutcome::Keep,
            StepOutcome::Fail("bad".into())
        ]
    );
    assert_eq!(
        decode_batch(&next).unwrap(),
        vec![records[0].clone(), records[2].clone()]
    );
    assert!(rebatch(&out, 3)
        .unwrap_err()
        .contains("4 outcomes for 3 input records"));
    // A kept record referring past the schema table is caught here, not by the next step.
    let mut bad = Writer::with_capacity(16);
    bad.len(1);
    bad.len(0);
    bad.u8(outcome_tag::KEEP);
    bad.str("t");
    bad.opt_svar(None);
    bad.opt_svar(None);
    bad.opt_svar(None);
    bad.u8(0);
    bad.schema_ref(Some(0));
    let e = rebatch(&bad.finish(), 1).unwrap_err();
    assert!(e.contains("record 0: schema index 0 out of range"), "{e}");
}

#[test]
fn source_batches_carry_offsets() {
    let mut w = Writer::with_capacity(8);
    w.len(1);
    w.len(0);
    w.len(1);
    w.str("file");
    w.u8(offset_tag::STRING);
    w.str("/a");
    w.len(2);
    w.str("position");
    w.u8(offset_tag::INT);
    w.svar(42);
    w.str("bad");
    w.u8(offset_tag::FLOAT);
    w.f64(0.5);
    let mut e = Encoder::default();
    e.record(&ConnectRecord::new(
        "t",
        Data::new(None, Value::Null),
        Data::new(None, Value::Null),
    ));
    w.buf.extend_from_slice(&e.body.buf);
    let got = decode_source_batch(&w.finish()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source_partition["file"], serde_json::json!("/a"));
    assert_eq!(got[0].source_offset["position"], serde_json::json!(42));
    assert_eq!(got[0].source_offset["bad"], serde_json::json!(0.5));
    assert_eq!(got[0].record.topic, "t");
}

#[test]
fn consecutive_records_of_one_source_partition_share_its_map() {
    let files = ["/a", "/a", "/ab", "/a", "/a"];
    let mut w = Writer::with_capacity(8);
    w.len(files.len());
    w.len(0);
    for (i, file) in files.iter().enumerate() {
        w.len(1);
        w.str("file");
        w.u8(offset_tag::STRING);
        w.str(file);
        w.len(1);
        w.str("position");
        w.u8(offset_tag::INT);
        w.svar(i as i64);
        let mut e = Encoder::default();
        e.record(&ConnectRecord::new(
            "t",
            Data::new(None, Value::Null),
            Data::new(None, Value::Null),
        ));
        w.buf.extend_from_slice(&e.body.buf);
    }
    let got = decode_source_batch(&w.finish()).unwrap();
    let partitions: Vec<&Arc<OffsetMap>> = got.iter().map(|r| &r.source_partition).collect();
    for (i, file) in files.iter().enumerate() {
        assert_eq!(partitions[i]["file"], serde_json::json!(file), "record {i}");
        assert_eq!(got[i].source_offset["position"], serde_json::json!(i));
    }
    assert!(Arc::ptr_eq(partitions[0], partitions[1]));
    // "/ab" starts with the bytes of "/a"'s map but for its length: not shared.
    assert!(!Arc::ptr_eq(partitions[1], partitions[2]));
    assert!(!Arc::ptr_eq(partitions[2], partitions[3]));
    assert!(Arc::ptr_eq(partitions[3], partitions[4]));
}
