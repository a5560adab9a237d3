//! Avro with a Schema Registry, against a client no one here wrote: Confluent's Python client
//! (`confluent-kafka`: SchemaRegistryClient, AvroSerializer, AvroDeserializer, librdkafka's
//! producer and consumer; `tools/schema-registry-client/avro_client.py`), the worker's embedded
//! registry (`schema.registry.listeners`) and the AvroConverter.
//!
//! - Python produces records of every Avro type and logical type; a FileStreamSink with the
//!   AvroConverter writes the same values. Bad input in the same topic (wrong magic byte,
//!   unknown schema id, truncated payload) goes to the DLQ with the context headers.
//! - A datagen source writes through the AvroConverter; Python decodes the same values as the
//!   same records written as JSON by a second datagen with the same seed. The registry's
//!   `_schemas` topic holds Confluent's record format.
//! - Python's registry calls (register, get by id, latest version, lookup, compatibility,
//!   config, delete) succeed, and schema evolution is accepted or refused as the rules say.
//! - The registry's state survives a worker restart (it lives in its topic), and two workers
//!   sharing the topic see each other's registrations.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    avro_client, count_lines, default_worker_props, free_port, http_get, unique, Broker, TestDir,
    Worker,
};

use crate::dlq::committed_offset;
use crate::schema_registry::{
    assert_same_order, decoded, java_date, orders_twice,
    python_records_reach_a_sink_and_bad_ones_the_dlq, registry_file_sink, registry_props, start,
    start_with_props, RegistryWorker, SinkCase,
};

const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";

/// The line FileStreamSink writes for avro_client.py's `payment(i)`.
fn payment_line(i: i64) -> String {
    const JAN_1_2024_DAYS: i64 = 19_723;
    let mut fields = vec![
        format!("id={i}"),
        format!("small={}", -i),
        format!("ok={}", i % 2 == 0),
        "ratio=0.5".to_string(),
        format!("amount={:?}", i as f64 * 1.25),
        format!("name=név {i}"),
        format!("blob=b{i}"),
        format!("price={i}.{:02}", i % 100),
        format!("day={}", java_date((JAN_1_2024_DAYS + i) * 86_400_000)),
        format!(
            "at_time={}",
            java_date((12 * 3600 + 30 * 60 + i % 60) * 1000)
        ),
        format!("at={}", java_date(JAN_1_2024_DAYS * 86_400_000 + i * 1000)),
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
fn python_avro_records_reach_a_sluice_sink_and_bad_ones_the_dlq() {
    python_records_reach_a_sink_and_bad_ones_the_dlq(&SinkCase {
        prefix: "avro",
        converter: AVRO_CONVERTER,
        client: avro_client,
        payload: &[2],
        line: payment_line,
    });
}

#[test]
fn sluice_avro_source_records_decode_with_python() {
    const N: usize = 50;
    let orders = orders_twice("avro", N, |url| {
        format!(
            "key.converter={AVRO_CONVERTER}\nkey.converter.schema.registry.url={url}\n\
             value.converter={AVRO_CONVERTER}\nvalue.converter.schema.registry.url={url}\n"
        )
    });
    let avro_topic = &orders.topic;
    for (d, j) in decoded(avro_client, &orders.registry, avro_topic, N)
        .iter()
        .zip(&orders.json)
    {
        assert_same_order(d, j);
    }

    // The registry's topic holds Confluent's record format.
    let records = Broker::shared().consume_all(&orders.schemas, 2, Duration::from_secs(30));
    let keys: Vec<Value> = records
        .iter()
        .map(|m| serde_json::from_slice(m.key.as_deref().unwrap_or_default()).expect("JSON key"))
        .collect();
    assert!(
        keys.contains(&json!({"keytype": "SCHEMA", "subject": format!("{avro_topic}-value"), "version": 1, "magic": 1})),
        "{keys:?}"
    );
    let value_record = records
        .iter()
        .find(|m| m.key_str().is_some_and(|k| k.contains("-value")))
        .expect("the value schema's record");
    let v: Value = serde_json::from_str(value_record.value_str()).expect("JSON value");
    assert_eq!(v["subject"], format!("{avro_topic}-value"));
    assert_eq!(v["deleted"], false);
    let schema: Value =
        serde_json::from_str(v["schema"].as_str().expect("schema text")).expect("Avro JSON");
    assert_eq!(schema["name"], "Order");
    assert_eq!(schema["namespace"], "io.sluice.datagen");
}

#[test]
fn python_registry_client_calls_succeed_and_evolution_follows_the_rules() {
    let broker = Broker::shared();
    let dir = TestDir::new("avro-registry-calls");
    let w = start(broker, &dir, free_port(), &[]);
    let subject = unique("users-value");
    let out: Value = serde_json::from_str(avro_client(&["registry", &w.url, &subject]).trim())
        .expect("one JSON document");
    let id1 = out["register_v1"].as_i64().expect("an id");
    assert_eq!(out["get_schema_v1"]["name"], "User", "{out}");
    assert_eq!(
        out["compatible_v2"], true,
        "adding an optional field: {out}"
    );
    assert_eq!(
        out["compatible_v3"], false,
        "adding a required field under BACKWARD: {out}"
    );
    let id2 = out["register_v2"].as_i64().expect("an id");
    assert_ne!(id1, id2);
    assert_eq!(
        out["register_v3"],
        json!({"http": 409, "code": 409}),
        "{out}"
    );
    assert_eq!(out["latest"]["id"], id2);
    assert_eq!(out["latest"]["version"], 2);
    assert_eq!(out["latest"]["subject"], subject);
    assert_eq!(out["latest"]["schema"]["fields"][1]["name"], "email");
    assert_eq!(out["lookup_v1"], json!({"id": id1, "version": 1}));
    assert_eq!(out["versions"], json!([1, 2]));
    assert!(out["subjects"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(subject))));
    assert_eq!(out["get_compatibility"], "NONE", "{out}");
    assert!(
        out["register_v3_none"].as_i64().is_some_and(|id| id > id2),
        "{out}"
    );
    assert_eq!(out["missing_id"], json!({"http": 404, "code": 40403}));
    assert_eq!(out["delete_subject"], json!([1, 2, 3]));
    assert_eq!(out["delete_subject_permanent"], json!([1, 2, 3]));
}

#[test]
fn registry_state_survives_a_worker_restart() {
    let broker = Broker::shared();
    let dir = TestDir::new("avro-registry-restart");
    let topic = unique("schemas");
    let port = free_port();
    let props = registry_props(broker, &dir, port, &topic);
    let subject = unique("restart-value");
    let mut w = start_with_props(&dir, &props, port, &[]);
    let out: Value = serde_json::from_str(avro_client(&["registry", &w.url, &subject]).trim())
        .expect("one JSON document");
    let id1 = out["register_v1"].as_i64().expect("an id");
    w.worker.sigterm();
    w.worker.wait_exit(Duration::from_secs(60));

    let w = start_with_props(&dir, &props, port, &[]);
    // The subject was deleted permanently by the script; its ids are still taken, and the
    // schemas registered by it are gone.
    let r = http_get(w.addr, &format!("/subjects/{subject}/versions")).expect("GET");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error_code"], 40401);
    // A new schema gets an id after every id given before the restart.
    let r = sluice_tests::http_request(
        w.addr,
        "POST",
        "/subjects/after-restart/versions",
        Some(&json!({"schema": "\"string\""}).to_string()),
    )
    .expect("POST");
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("an id");
    assert!(id > id1 + 1, "id {id} after {id1}..{}", id1 + 2);
    let r = http_get(w.addr, &format!("/schemas/ids/{id}")).expect("GET");
    assert_eq!(r.json()["schema"], "\"string\"");
}

/// Two workers sharing one registry topic. A worker does not wait to read its own writes back
/// (they follow what it had read, so it counts them as read: `TopicLog::send_applied`), but it
/// must still read every other worker's: a registration right after the worker's own, with
/// the other's in between, gets a new id, and both workers answer every id the same.
#[test]
fn two_workers_sharing_a_registry_topic_see_each_others_registrations() {
    let broker = Broker::shared();
    let topic = unique("schemas");
    let (dir_a, dir_b) = (
        TestDir::new("avro-registry-share-a"),
        TestDir::new("avro-registry-share-b"),
    );
    let (port_a, port_b) = (free_port(), free_port());
    let a = start_with_props(
        &dir_a,
        &registry_props(broker, &dir_a, port_a, &topic),
        port_a,
        &[],
    );
    let b = start_with_props(
        &dir_b,
        &registry_props(broker, &dir_b, port_b, &topic),
        port_b,
        &[],
    );
    let schema = |name: &str| {
        json!({"type": "record", "name": name, "fields": [{"name": "f", "type": "string"}]})
            .to_string()
    };
    let register = |w: &RegistryWorker, subject: &str, name: &str| -> i64 {
        let r = sluice_tests::http_request(
            w.addr,
            "POST",
            &format!("/subjects/{subject}/versions"),
            Some(&json!({ "schema": schema(name) }).to_string()),
        )
        .expect("POST");
        assert_eq!(r.status, 200, "registering {name}: {}", r.body);
        r.json()["id"].as_i64().expect("an id")
    };
    let steps = [
        (&a, "share-1", "A1"),
        (&a, "share-2", "A2"), // right after its own write
        (&b, "share-3", "B1"), // after the other worker's two
        (&a, "share-4", "A3"), // B's record between its own last one and this
        (&a, "share-5", "A4"),
        (&b, "share-6", "B2"),
    ];
    let ids: Vec<(i64, &str)> = steps
        .iter()
        .map(|(w, subject, name)| (register(w, subject, name), *name))
        .collect();
    let mut distinct: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "ids given twice: {ids:?}");
    for w in [&a, &b] {
        for (id, name) in &ids {
            let r = http_get(w.addr, &format!("/schemas/ids/{id}")).expect("GET");
            assert_eq!(r.status, 200, "{}: id {id}: {}", w.url, r.body);
            let got: Value = serde_json::from_str(r.json()["schema"].as_str().expect("schema"))
                .expect("schema JSON");
            assert_eq!(got["name"], *name, "{}: id {id}", w.url);
        }
        let r = http_get(w.addr, "/subjects").expect("GET");
        let mut subjects: Vec<String> =
            serde_json::from_str(&r.body).expect("a JSON list of subjects");
        subjects.sort();
        let expected: Vec<&str> = steps.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(subjects, expected, "{}", w.url);
    }
}

/// A registry outage is not the records' fault: the sink retries per `errors.retry.*`, then
/// fails the task with a clear trace — even with `errors.tolerance=all` no record is skipped
/// or sent to the DLQ, and no offset is committed, so a restart reads them all again.
#[test]
fn an_unreachable_registry_fails_the_sink_task_and_loses_nothing() {
    let broker = Broker::shared();
    let dir = TestDir::new("avro-registry-down");
    let topic = unique("avro-down");
    let dlq = unique("avro-down-dlq");
    broker.create_topic(&topic, 1);
    // Framed as schema id 1: decoding needs the registry.
    broker.produce(&topic, &[vec![0u8, 0, 0, 0, 1, 2], vec![0, 0, 0, 0, 1, 4]]);
    let dead = free_port();
    let name = unique("avro-down-sink");
    let out = dir.join("out.txt");
    let sink = registry_file_sink(
        &name,
        &out,
        &topic,
        AVRO_CONVERTER,
        dead,
        &dlq,
        "errors.retry.timeout=2000\nerrors.retry.delay.max.ms=500\n",
    );
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &sink)],
    );
    let task = worker.wait_for_task_state(&name, 0, "FAILED", Duration::from_secs(120));
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("no schema registry could be reached")
            && trace.contains(&format!("127.0.0.1:{dead}"))
            && trace.contains("VALUE_CONVERTER"),
        "{trace}"
    );
    assert!(
        worker.log_text().contains("retriable failure, retrying"),
        "the conversion was retried first"
    );
    assert_eq!(
        committed_offset(broker, &format!("connect-{name}"), &topic),
        None,
        "nothing committed"
    );
    assert_eq!(count_lines(&out), 0, "nothing reached the sink");
}
