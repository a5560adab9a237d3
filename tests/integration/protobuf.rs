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

use sluice_tests::{http_get, protobuf_client};

use crate::schema_registry::{
    assert_same_order, decoded, java_date, orders_twice,
    python_records_reach_a_sink_and_bad_ones_the_dlq, SinkCase,
};
use crate::STRING_CONVERTER;

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
    let run = python_records_reach_a_sink_and_bad_ones_the_dlq(&SinkCase {
        prefix: "protobuf",
        converter: PROTOBUF_CONVERTER,
        client: protobuf_client,
        payload: &[0, 8, 1],
        line: payment_line,
    });
    let (w, topic) = (&run.registry, &run.topic);
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
    let orders = orders_twice("protobuf", N, |url| {
        format!(
            "key.converter={STRING_CONVERTER}\nvalue.converter={PROTOBUF_CONVERTER}\n\
             value.converter.schema.registry.url={url}\n"
        )
    });
    for (d, j) in decoded(protobuf_client, &orders.registry, &orders.topic, N)
        .iter()
        .zip(&orders.json)
    {
        assert_same_order(d, j);
    }
}
