//! Protobuf with a Schema Registry, against a client no one here wrote: Confluent's Python
//! client (`confluent-kafka`: SchemaRegistryClient, ProtobufSerializer, ProtobufDeserializer,
//! the `protobuf` package; `tools/schema-registry-client/protobuf_client.py`), the worker's
//! embedded registry and the ProtobufConverter.
//!
//! - Python produces `Payment` messages (registered as a base64 FileDescriptorProto, as its
//!   serializer does); a FileStreamSink with the ProtobufConverter writes the same values. Bad
//!   input in the same topic (wrong magic byte, unknown schema id, truncated payload) goes to
//!   the DLQ with the context headers.
//! - A datagen source writes through the ProtobufConverter; Python builds the message class
//!   from the registry's serialized schema, decodes with its ProtobufDeserializer, and gets the
//!   values a second datagen with the same seed writes as plain JSON.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, free_port, http_get, protobuf_client, read_to_string, unique, wait_until, Broker,
    TestDir,
};

use crate::avro::{java_date, registry_props, start};
use crate::dlq::{committed_offset, read_all};
use crate::{file_sink, JSON_CONVERTER, STRING_CONVERTER};

const PROTOBUF_CONVERTER: &str = "io.confluent.connect.protobuf.ProtobufConverter";

/// The line FileStreamSink writes for protobuf_client.py's `payment(i)`: every proto3 field
/// reads as its value or zero value; only the `optional` note reads as null (and is left out).
fn payment_line(i: i64) -> String {
    const JAN_1_2024_MS: i64 = 1_704_067_200_000;
    let mut fields = vec![
        format!("id={i}"),
        format!("small={}", -i),
        format!("ok={}", i % 2 == 0),
        "ratio=0.5".to_string(),
        format!("amount={:?}", i as f64 * 1.25),
        format!("name=név {i}"),
        format!("blob=b{i}"),
        format!("tags=[a, t{i}]"),
        format!("attrs={{k={i}}}"),
        format!("kind={}", if i % 2 == 0 { "CARD" } else { "CASH" }),
        "address=Struct{city=Oslo}".to_string(),
        format!("at={}", java_date(JAN_1_2024_MS + i * 1000)),
    ];
    if i % 3 != 0 {
        fields.push(format!("note=n{i}"));
    }
    format!("Struct{{{}}}", fields.join(","))
}

#[test]
fn python_protobuf_records_reach_a_sluice_sink_and_bad_ones_the_dlq() {
    const N: i64 = 20;
    let broker = Broker::shared();
    let dir = TestDir::new("protobuf-python-to-sink");
    let topic = unique("pb-in");
    let dlq = unique("pb-dlq");
    broker.create_topic(&topic, 1);
    let port = free_port();
    let name = unique("pb-sink");
    let out = dir.join("out.txt");
    let sink = format!(
        "{}key.converter={STRING_CONVERTER}\nvalue.converter={PROTOBUF_CONVERTER}\n\
         value.converter.schema.registry.url=http://127.0.0.1:{port}\n\
         errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n",
        file_sink(&name, &out, &topic)
    );
    let w = start(
        &dir,
        &registry_props(broker, &dir, port, &unique("schemas")),
        port,
        &[("sink.properties", &sink)],
    );

    let produced = protobuf_client(&[
        "produce",
        &w.url,
        &broker.bootstrap(),
        &topic,
        &N.to_string(),
    ]);
    let produced: Value = serde_json::from_str(produced.trim()).expect("JSON");
    assert_eq!(produced, json!({"produced": N}));
    let first = broker.consume_all(&topic, 1, Duration::from_secs(30));
    let good = first[0].value.clone().expect("a value");
    let bad: Vec<Vec<u8>> = vec![
        vec![1, 0, 0, 0, 1, 0, 8, 1],
        vec![0, 0, 0, 0x7f, 0x7f, 0, 8, 1],
        good[..good.len() - 3].to_vec(),
    ];
    broker.produce(&topic, &bad);

    let group = format!("connect-{name}");
    let total = N + bad.len() as i64;
    wait_until(
        &format!("group {group} to commit offset {total}"),
        Duration::from_secs(120),
        || (committed_offset(broker, &group, &topic) == Some(total)).then_some(()),
        || {
            format!(
                "committed {:?}, {} lines; log: {}",
                committed_offset(broker, &group, &topic),
                count_lines(&out),
                w.worker.log_tail(20)
            )
        },
    );
    let lines: Vec<String> = read_to_string(&out).lines().map(str::to_string).collect();
    let want: Vec<String> = (0..N).map(payment_line).collect();
    assert_eq!(lines, want, "the sink file");

    let dlq_records = read_all(broker, &dlq, bad.len());
    assert_eq!(
        dlq_records.len(),
        bad.len(),
        "one DLQ record per bad record"
    );
    let expected = ["Unknown magic byte 1", "id 32639", "truncated"];
    for ((offset, value, headers), (bytes, message)) in
        dlq_records.iter().zip(bad.iter().zip(expected))
    {
        assert_eq!(value, bytes, "original bytes at DLQ offset {offset}");
        let h = |k: &str| {
            headers
                .iter()
                .find(|(hk, _)| hk == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        assert_eq!(h("__connect.errors.stage"), "VALUE_CONVERTER");
        assert_eq!(h("__connect.errors.class.name"), PROTOBUF_CONVERTER);
        let got = h("__connect.errors.exception.message");
        assert!(got.contains(message), "{got:?} should contain {message:?}");
    }
    assert!(w
        .worker
        .status(&name)
        .is_some_and(|s| s["tasks"][0]["state"] == "RUNNING"));
    // The registry keeps the schema Python sent as a FileDescriptorProto as .proto text.
    let r = http_get(w.addr, &format!("/subjects/{topic}-value/versions/1")).expect("GET");
    let v = r.json();
    assert_eq!(v["schemaType"], "PROTOBUF", "{v}");
    let text = v["schema"].as_str().unwrap_or_default();
    assert!(
        text.contains("package com.example;") && text.contains("message Payment {"),
        "{text}"
    );
}

#[test]
fn sluice_protobuf_source_records_decode_with_python() {
    const N: usize = 50;
    let broker = Broker::shared();
    let dir = TestDir::new("protobuf-source-to-python");
    let pb_topic = unique("pb-orders");
    let json_topic = unique("json-orders");
    broker.create_topic(&pb_topic, 1);
    broker.create_topic(&json_topic, 1);
    let port = free_port();
    let datagen = |name: &str, topic: &str, converters: &str| {
        format!(
            "name={name}\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=orders\n\
             count={N}\nrate=1000\nseed=7\n{converters}"
        )
    };
    let pb = datagen(
        &unique("pb-gen"),
        &pb_topic,
        &format!(
            "key.converter={STRING_CONVERTER}\nvalue.converter={PROTOBUF_CONVERTER}\n\
             value.converter.schema.registry.url=http://127.0.0.1:{port}\n"
        ),
    );
    let json = datagen(
        &unique("json-gen"),
        &json_topic,
        &format!(
            "key.converter={STRING_CONVERTER}\nvalue.converter={JSON_CONVERTER}\n\
             value.converter.schemas.enable=false\nvalue.converter.decimal.format=NUMERIC\n"
        ),
    );
    let w = start(
        &dir,
        &registry_props(broker, &dir, port, &unique("schemas")),
        port,
        &[("pb.properties", &pb), ("json.properties", &json)],
    );

    let decoded: Vec<Value> = protobuf_client(&[
        "consume",
        &w.url,
        &broker.bootstrap(),
        &pb_topic,
        &N.to_string(),
    ])
    .lines()
    .map(|l| serde_json::from_str(l).expect("a JSON line"))
    .collect();
    let written = broker.consume_all(&json_topic, N, Duration::from_secs(60));
    assert_eq!(decoded.len(), N);
    for (d, j) in decoded.iter().zip(&written) {
        let j: Value = serde_json::from_str(j.value_str()).expect("JSON value");
        let v = &d["value"];
        assert_eq!(d["key"], j["order_id"], "the key is the order id");
        for f in ["seq", "order_id", "user_id", "item", "quantity"] {
            assert_eq!(v[f], j[f], "field {f} of {d}");
        }
        let price: f64 = v["price"]["decimal"]
            .as_str()
            .expect("decimal")
            .parse()
            .expect("number");
        assert_eq!(Some(price), j["price"].as_f64(), "price of {d}");
        assert_eq!(
            v["ordered_at"]["timestamp_ms"], j["ordered_at"],
            "ordered_at of {d}"
        );
    }
}
