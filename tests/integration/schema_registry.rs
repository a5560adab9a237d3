//! What the schema'd-converter tests (`avro`, `json_schema`, `protobuf`) share: a worker
//! serving the embedded Schema Registry, the check that Confluent's Python client's records
//! reach a FileStreamSink and framed bad input the DLQ, the seeded datagen pair the
//! source-side tests compare, and Java's date format as FileStreamSink writes it. Each
//! format's module keeps only what differs: its converter, its client script and the lines
//! its records become.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, default_worker_props, free_port, http_get, read_to_string, unique, wait_until,
    Broker, TestDir, Worker,
};

use crate::dlq::{committed_offset, read_all};
use crate::{file_sink, JSON_CONVERTER, STRING_CONVERTER};

/// A worker with the embedded registry on a free port, its state in a topic of its own.
pub(crate) struct RegistryWorker {
    pub(crate) worker: Worker,
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
}

/// Worker properties serving the registry on `port`, its records in `topic`.
pub(crate) fn registry_props(broker: &Broker, dir: &TestDir, port: u16, topic: &str) -> String {
    format!(
        "{}schema.registry.listeners=http://127.0.0.1:{port}\nschema.registry.topic={topic}\n",
        default_worker_props(Some(broker), dir.path())
    )
}

/// Starts a worker with `props` (from [`registry_props`] with `port`) and `connectors`; returns
/// once its registry answers.
pub(crate) fn start_with_props(
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

/// A worker serving the registry on `port` (its records in a fresh topic) with `connectors`.
pub(crate) fn start(
    broker: &Broker,
    dir: &TestDir,
    port: u16,
    connectors: &[(&str, &str)],
) -> RegistryWorker {
    let props = registry_props(broker, dir, port, &unique("schemas"));
    start_with_props(dir, &props, port, connectors)
}

/// A FileStreamSink of `topic` reading values with `converter` through the registry on
/// `registry_port`, failed records to the DLQ `dlq`, then the `extra` lines.
pub(crate) fn registry_file_sink(
    name: &str,
    out: &Path,
    topic: &str,
    converter: &str,
    registry_port: u16,
    dlq: &str,
    extra: &str,
) -> String {
    format!(
        "{}key.converter={STRING_CONVERTER}\nvalue.converter={converter}\n\
         value.converter.schema.registry.url=http://127.0.0.1:{registry_port}\n\
         errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n{extra}",
        file_sink(name, out, topic)
    )
}

/// What [`python_records_reach_a_sink_and_bad_ones_the_dlq`] runs for one format.
pub(crate) struct SinkCase {
    /// Names the test's directory, topics and connector.
    pub(crate) prefix: &'static str,
    /// The converter class, as the DLQ's `__connect.errors.class.name` header names it.
    pub(crate) converter: &'static str,
    /// Runs the format's `tools/schema-registry-client` script.
    pub(crate) client: fn(&[&str]) -> String,
    /// A payload after the 5-byte framing of the bad records with a wrong magic byte and an
    /// unknown schema id.
    pub(crate) payload: &'static [u8],
    /// The line FileStreamSink writes for the client's record `i`.
    pub(crate) line: fn(i64) -> String,
}

/// The worker and topic of a finished [`python_records_reach_a_sink_and_bad_ones_the_dlq`].
pub(crate) struct SinkRun {
    pub(crate) registry: RegistryWorker,
    pub(crate) topic: String,
}

/// The client produces 20 records through its serializer into a topic a FileStreamSink reads
/// with `case.converter`; then three bad records follow (a wrong magic byte, a schema id the
/// registry never gave, a good record cut short). The sink file holds exactly the good
/// records' lines, the DLQ the bad records' bytes with the context headers naming the value
/// converter and the fault, the group commits past all of them, and the task keeps running.
pub(crate) fn python_records_reach_a_sink_and_bad_ones_the_dlq(case: &SinkCase) -> SinkRun {
    const N: i64 = 20;
    let broker = Broker::shared();
    let dir = TestDir::new(&format!("{}-python-to-sink", case.prefix));
    let topic = unique(&format!("{}-in", case.prefix));
    let dlq = unique(&format!("{}-dlq", case.prefix));
    broker.create_topic(&topic, 1);
    let port = free_port();
    let name = unique(&format!("{}-sink", case.prefix));
    let out = dir.join("out.txt");
    let sink = registry_file_sink(
        &name,
        &out,
        &topic,
        case.converter,
        port,
        &dlq,
        "errors.deadletterqueue.context.headers.enable=true\n",
    );
    let w = start(broker, &dir, port, &[("sink.properties", &sink)]);

    let produced = (case.client)(&[
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
        [&[1, 0, 0, 0, 1], case.payload].concat(),
        [&[0, 0, 0, 0x7f, 0x7f], case.payload].concat(),
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
    let want: Vec<String> = (0..N).map(case.line).collect();
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
        assert_eq!(h("__connect.errors.class.name"), case.converter);
        let got = h("__connect.errors.exception.message");
        assert!(got.contains(message), "{got:?} should contain {message:?}");
    }
    assert!(w
        .worker
        .status(&name)
        .is_some_and(|s| s["tasks"][0]["state"] == "RUNNING"));
    SinkRun { registry: w, topic }
}

/// Records datagen's seeded `orders` quickstart wrote twice: through a schema'd converter
/// and as plain JSON.
pub(crate) struct Orders {
    pub(crate) registry: RegistryWorker,
    /// The topic written through the converters under test.
    pub(crate) topic: String,
    /// The same records as plain JSON values (`decimal.format=NUMERIC`), in order.
    pub(crate) json: Vec<Value>,
    /// The registry's own topic.
    pub(crate) schemas: String,
}

/// Two datagen connectors with the same seed write `n` orders in one registry worker: one
/// with the converter lines `converters(registry_url)` to a fresh topic, one with
/// JsonConverter (no schemas, NUMERIC decimals) to another, which is read back.
pub(crate) fn orders_twice(prefix: &str, n: usize, converters: impl Fn(&str) -> String) -> Orders {
    let broker = Broker::shared();
    let dir = TestDir::new(&format!("{prefix}-source-to-python"));
    let topic = unique(&format!("{prefix}-orders"));
    let json_topic = unique("json-orders");
    broker.create_topic(&topic, 1);
    broker.create_topic(&json_topic, 1);
    let port = free_port();
    let datagen = |name: &str, topic: &str, converters: &str| {
        format!(
            "name={name}\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=orders\n\
             count={n}\nrate=1000\nseed=7\n{converters}"
        )
    };
    let schemad = datagen(
        &unique(&format!("{prefix}-gen")),
        &topic,
        &converters(&format!("http://127.0.0.1:{port}")),
    );
    let json = datagen(
        &unique("json-gen"),
        &json_topic,
        &format!(
            "key.converter={STRING_CONVERTER}\nvalue.converter={JSON_CONVERTER}\n\
             value.converter.schemas.enable=false\nvalue.converter.decimal.format=NUMERIC\n"
        ),
    );
    let schemas = unique("schemas");
    let registry = start_with_props(
        &dir,
        &registry_props(broker, &dir, port, &schemas),
        port,
        &[("schemad.properties", &schemad), ("json.properties", &json)],
    );
    let json = broker
        .consume_all(&json_topic, n, Duration::from_secs(60))
        .iter()
        .map(|m| serde_json::from_str(m.value_str()).expect("JSON value"))
        .collect();
    Orders {
        registry,
        topic,
        json,
        schemas,
    }
}

/// The client's `consume` of `n` records of `topic`: one JSON document per record.
pub(crate) fn decoded(
    client: fn(&[&str]) -> String,
    registry: &RegistryWorker,
    topic: &str,
    n: usize,
) -> Vec<Value> {
    let broker = Broker::shared();
    let decoded: Vec<Value> = client(&[
        "consume",
        &registry.url,
        &broker.bootstrap(),
        topic,
        &n.to_string(),
    ])
    .lines()
    .map(|l| serde_json::from_str(l).expect("a JSON line"))
    .collect();
    assert_eq!(decoded.len(), n);
    decoded
}

/// An order as the Avro and Protobuf clients decode it (`d`) against the same order as plain
/// JSON (`j`): the key is the order id, the plain fields are equal, the price (a Decimal) and
/// `ordered_at` (a Timestamp) in the client's tagged forms.
pub(crate) fn assert_same_order(d: &Value, j: &Value) {
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

#[test]
fn java_date_matches_javas_format() {
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(java_date(1_704_067_203_000), "Mon Jan 01 00:00:03 UTC 2024");
    assert_eq!(java_date(1_709_164_800_000), "Thu Feb 29 00:00:00 UTC 2024");
}
