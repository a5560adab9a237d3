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
//! - The registry's state survives a worker restart (it lives in its topic).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    avro_client, count_lines, default_worker_props, free_port, http_get, read_to_string, unique,
    wait_until, Broker, TestDir, Worker,
};

use crate::dlq::{committed_offset, read_all};
use crate::{file_sink, JSON_CONVERTER, STRING_CONVERTER};

const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";

/// A worker with the embedded registry on a free port, its state in a topic of its own.
pub(crate) struct RegistryWorker {
    pub(crate) worker: Worker,
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
}

pub(crate) fn registry_props(broker: &Broker, dir: &TestDir, port: u16, topic: &str) -> String {
    format!(
        "{}schema.registry.listeners=http://127.0.0.1:{port}\nschema.registry.topic={topic}\n",
        default_worker_props(Some(broker), dir.path())
    )
}

pub(crate) fn start(
    dir: &TestDir,
    props: &str,
    port: u16,
    connectors: &[(&str, &str)],
) -> RegistryWorker {
    let worker = Worker::start(dir, props, connectors);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    wait_until(
        "the schema registry API to answer",
        Duration::from_secs(60),
        || http_get(addr, "/subjects").ok().filter(|r| r.status == 200),
        || worker.log_tail(20),
    );
    RegistryWorker {
        worker,
        addr,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A FileStreamSink of `topic` reading Avro values through the registry on `registry_port`,
/// failed records to the DLQ `dlq`, then the `extra` lines.
fn avro_file_sink(
    name: &str,
    out: &Path,
    topic: &str,
    registry_port: u16,
    dlq: &str,
    extra: &str,
) -> String {
    format!(
        "{}key.converter={STRING_CONVERTER}\nvalue.converter={AVRO_CONVERTER}\n\
         value.converter.schema.registry.url=http://127.0.0.1:{registry_port}\n\
         errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n{extra}",
        file_sink(name, out, topic)
    )
}

/// Java's `Date.toString()` in UTC (`Mon Jan 01 00:00:03 UTC 2024`), as FileStreamSink writes
/// Connect's Date, Time and Timestamp values. Written again here rather than taken from the
/// plugin SDK's `java` module: the expected lines must not come from the code under test.
pub(crate) fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {d:02} {:02}:{:02}:{:02} UTC {y}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

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
fn java_date_matches_javas_format() {
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(java_date(1_704_067_203_000), "Mon Jan 01 00:00:03 UTC 2024");
    assert_eq!(java_date(1_709_164_800_000), "Thu Feb 29 00:00:00 UTC 2024");
}

#[test]
fn python_avro_records_reach_a_sluice_sink_and_bad_ones_the_dlq() {
    const N: i64 = 20;
    let broker = Broker::shared();
    let dir = TestDir::new("avro-python-to-sink");
    let topic = unique("avro-in");
    let dlq = unique("avro-dlq");
    broker.create_topic(&topic, 1);
    let port = free_port();
    let name = unique("avro-sink");
    let out = dir.join("out.txt");
    let sink = avro_file_sink(
        &name,
        &out,
        &topic,
        port,
        &dlq,
        "errors.deadletterqueue.context.headers.enable=true\n",
    );
    let w = start(
        &dir,
        &registry_props(broker, &dir, port, &unique("schemas")),
        port,
        &[("sink.properties", &sink)],
    );

    let produced = avro_client(&[
        "produce",
        &w.url,
        &broker.bootstrap(),
        &topic,
        &N.to_string(),
    ]);
    let produced: Value = serde_json::from_str(produced.trim()).expect("JSON");
    assert_eq!(produced, json!({"produced": N}));
    // Bad input after the good records: a wrong magic byte, an id the registry never gave, and
    // a good record cut short.
    let first = broker.consume_all(&topic, 1, Duration::from_secs(30));
    let good = first[0].value.clone().expect("a value");
    let bad: Vec<Vec<u8>> = vec![
        vec![1, 0, 0, 0, 1, 2],
        vec![0, 0, 0, 0x7f, 0x7f, 0],
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
        assert_eq!(h("__connect.errors.class.name"), AVRO_CONVERTER);
        let got = h("__connect.errors.exception.message");
        assert!(got.contains(message), "{got:?} should contain {message:?}");
    }
    assert!(w
        .worker
        .status(&name)
        .is_some_and(|s| s["tasks"][0]["state"] == "RUNNING"));
}

#[test]
fn sluice_avro_source_records_decode_with_python() {
    const N: usize = 50;
    let broker = Broker::shared();
    let dir = TestDir::new("avro-source-to-python");
    let avro_topic = unique("avro-orders");
    let json_topic = unique("json-orders");
    let schemas = unique("schemas");
    broker.create_topic(&avro_topic, 1);
    broker.create_topic(&json_topic, 1);
    let port = free_port();
    let datagen = |name: &str, topic: &str, converters: &str| {
        format!(
            "name={name}\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=orders\n\
             count={N}\nrate=1000\nseed=7\n{converters}"
        )
    };
    let avro = datagen(
        &unique("avro-gen"),
        &avro_topic,
        &format!(
            "key.converter={AVRO_CONVERTER}\nkey.converter.schema.registry.url=http://127.0.0.1:{port}\n\
             value.converter={AVRO_CONVERTER}\nvalue.converter.schema.registry.url=http://127.0.0.1:{port}\n"
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
        &registry_props(broker, &dir, port, &schemas),
        port,
        &[("avro.properties", &avro), ("json.properties", &json)],
    );

    let decoded: Vec<Value> = avro_client(&[
        "consume",
        &w.url,
        &broker.bootstrap(),
        &avro_topic,
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
        assert_eq!(d["key"], json!(j["order_id"]), "the key is the order id");
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

    // The registry's topic holds Confluent's record format.
    let records = broker.consume_all(&schemas, 2, Duration::from_secs(30));
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
    let port = free_port();
    let w = start(
        &dir,
        &registry_props(broker, &dir, port, &unique("schemas")),
        port,
        &[],
    );
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
    let mut w = start(&dir, &props, port, &[]);
    let out: Value = serde_json::from_str(avro_client(&["registry", &w.url, &subject]).trim())
        .expect("one JSON document");
    let id1 = out["register_v1"].as_i64().expect("an id");
    w.worker.sigterm();
    w.worker.wait_exit(Duration::from_secs(60));

    let w = start(&dir, &props, port, &[]);
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
    let sink = avro_file_sink(
        &name,
        &out,
        &topic,
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
