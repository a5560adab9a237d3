//! JSON Schema with a Schema Registry, against a client no one here wrote: Confluent's Python
//! client (`confluent-kafka`: SchemaRegistryClient, JSONSerializer, JSONDeserializer;
//! `tools/schema-registry-client/json_schema_client.py`), the worker's embedded registry and
//! the JsonSchemaConverter.
//!
//! - Python produces records with a JSON Schema as users write it; a FileStreamSink with the
//!   JsonSchemaConverter writes the same values. Bad input in the same topic (wrong magic
//!   byte, unknown schema id, truncated payload) goes to the DLQ with the context headers.
//!   Python's registry calls (register, get by id, lookup, compatibility, config) succeed.
//! - A datagen source writes through the JsonSchemaConverter; Python decodes (and validates
//!   against the registered schema) the same values a second datagen with the same seed
//!   writes as plain JSON.

use serde_json::{json, Value};
use sluice_tests::{http_get, json_schema_client, unique};

use crate::schema_registry::{
    decoded, orders_twice, python_records_reach_a_sink_and_bad_ones_the_dlq, SinkCase,
};

const JSON_SCHEMA_CONVERTER: &str = "io.confluent.connect.json.JsonSchemaConverter";

/// The line FileStreamSink writes for json_schema_client.py's `payment(i)`.
fn payment_line(i: i64) -> String {
    let mut fields = vec![
        format!("id={i}"),
        format!("small={}", -i),
        format!("ok={}", i % 2 == 0),
        "ratio=0.5".to_string(),
        format!("amount={:?}", i as f64 * 1.25),
        format!("name=név {i}"),
    ];
    if i % 3 != 0 {
        fields.push(format!("note=n{i}"));
    }
    fields.extend([
        format!("tags=[a, t{i}]"),
        format!("attrs={{k={i}}}"),
        format!("kind={}", if i % 2 == 0 { "CARD" } else { "CASH" }),
        "address=Struct{city=Oslo}".to_string(),
    ]);
    format!("Struct{{{}}}", fields.join(","))
}

#[test]
fn python_json_schema_records_reach_a_sluice_sink_and_bad_ones_the_dlq() {
    let run = python_records_reach_a_sink_and_bad_ones_the_dlq(&SinkCase {
        prefix: "json-schema",
        converter: JSON_SCHEMA_CONVERTER,
        client: json_schema_client,
        payload: b"{}",
        line: payment_line,
    });
    let w = &run.registry;

    // The registry calls of Python's client, on the same registry.
    let subject = unique("users-value");
    let out: Value =
        serde_json::from_str(json_schema_client(&["registry", &w.url, &subject]).trim())
            .expect("one JSON document");
    let id1 = out["register_v1"].as_i64().expect("an id");
    assert_eq!(out["get_schema_v1"]["type"], "JSON", "{out}");
    assert_eq!(out["get_schema_v1"]["schema"]["title"], "User", "{out}");
    assert_eq!(
        out["lookup_v1"],
        json!({"id": id1, "version": 1, "type": "JSON"})
    );
    // The embedded registry checks no JSON Schema compatibility rules: under the default
    // BACKWARD level it refuses a changed schema rather than accept it unchecked.
    assert_eq!(out["compatible_v2"], false, "{out}");
    assert_eq!(
        out["register_v2_backward"],
        json!({"http": 409, "code": 409}),
        "{out}"
    );
    let id2 = out["register_v2_none"].as_i64().expect("an id");
    assert_eq!(
        out["latest"],
        json!({"id": id2, "version": 2, "type": "JSON"}),
        "{out}"
    );
}

#[test]
fn sluice_json_schema_source_records_decode_with_python() {
    const N: usize = 50;
    // NUMERIC decimals: the JSON Schema says "number", which a BASE64 string would not be.
    let orders = orders_twice("json-schema", N, |url| {
        format!(
            "key.converter={JSON_SCHEMA_CONVERTER}\nkey.converter.schema.registry.url={url}\n\
             value.converter={JSON_SCHEMA_CONVERTER}\nvalue.converter.schema.registry.url={url}\n\
             value.converter.decimal.format=NUMERIC\n"
        )
    });
    let (w, js_topic) = (&orders.registry, &orders.topic);
    for (d, j) in decoded(json_schema_client, w, js_topic, N)
        .iter()
        .zip(&orders.json)
    {
        assert_eq!(&d["value"], j, "the same record");
        assert_eq!(d["key"], j["order_id"], "the key is the order id");
    }
    let r = http_get(w.addr, &format!("/subjects/{js_topic}-value/versions/1")).expect("GET");
    let v = r.json();
    assert_eq!(v["schemaType"], "JSON", "{v}");
    let schema: Value = serde_json::from_str(v["schema"].as_str().expect("text")).expect("JSON");
    assert_eq!(schema["title"], "io.sluice.datagen.Order", "{schema}");
    assert_eq!(
        schema["properties"]["price"]["connect.type"], "bytes",
        "{schema}"
    );
}
