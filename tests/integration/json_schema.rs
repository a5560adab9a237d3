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

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, free_port, http_get, json_schema_client, read_to_string, unique, wait_until,
    Broker, TestDir,
};

use crate::avro::{registry_props, start};
use crate::dlq::{committed_offset, read_all};
use crate::{file_sink, JSON_CONVERTER, STRING_CONVERTER};

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
    const N: i64 = 20;
    let broker = Broker::shared();
    let dir = TestDir::new("json-schema-python-to-sink");
    let topic = unique("js-in");
    let dlq = unique("js-dlq");
    broker.create_topic(&topic, 1);
    let port = free_port();
    let name = unique("js-sink");
    let out = dir.join("out.txt");
    let sink = format!(
        "{}key.converter={STRING_CONVERTER}\nvalue.converter={JSON_SCHEMA_CONVERTER}\n\
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

    let produced = json_schema_client(&[
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
        vec![1, 0, 0, 0, 1, b'{', b'}'],
        vec![0, 0, 0, 0x7f, 0x7f, b'{', b'}'],
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
        assert_eq!(h("__connect.errors.class.name"), JSON_SCHEMA_CONVERTER);
        let got = h("__connect.errors.exception.message");
        assert!(got.contains(message), "{got:?} should contain {message:?}");
    }
    assert!(w
        .worker
        .status(&name)
        .is_some_and(|s| s["tasks"][0]["state"] == "RUNNING"));

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
    let broker = Broker::shared();
    let dir = TestDir::new("json-schema-source-to-python");
    let js_topic = unique("js-orders");
    let json_topic = unique("json-orders");
    broker.create_topic(&js_topic, 1);
    broker.create_topic(&json_topic, 1);
    let port = free_port();
    let datagen = |name: &str, topic: &str, converters: &str| {
        format!(
            "name={name}\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=orders\n\
             count={N}\nrate=1000\nseed=7\n{converters}"
        )
    };
    let url = format!("http://127.0.0.1:{port}");
    // NUMERIC decimals: the JSON Schema says "number", which a BASE64 string would not be.
    let js = datagen(
        &unique("js-gen"),
        &js_topic,
        &format!(
            "key.converter={JSON_SCHEMA_CONVERTER}\nkey.converter.schema.registry.url={url}\n\
             value.converter={JSON_SCHEMA_CONVERTER}\nvalue.converter.schema.registry.url={url}\n\
             value.converter.decimal.format=NUMERIC\n"
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
        &[("js.properties", &js), ("json.properties", &json)],
    );

    let decoded: Vec<Value> = json_schema_client(&[
        "consume",
        &w.url,
        &broker.bootstrap(),
        &js_topic,
        &N.to_string(),
    ])
    .lines()
    .map(|l| serde_json::from_str(l).expect("a JSON line"))
    .collect();
    let written = broker.consume_all(&json_topic, N, Duration::from_secs(60));
    assert_eq!(decoded.len(), N);
    for (d, j) in decoded.iter().zip(&written) {
        let j: Value = serde_json::from_str(j.value_str()).expect("JSON value");
        assert_eq!(d["value"], j, "the same record");
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
