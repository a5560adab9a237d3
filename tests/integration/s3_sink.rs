//! The S3 sink (`io.confluent.connect.s3.S3SinkConnector`) end to end: a real worker and
//! broker, the built plugin sending through the host's sandboxed `wasi:http`, and a real
//! S3-compatible server (moto, see `tests/harness/s3.rs`) whose objects are read back with
//! boto3.
//!
//! - Objects are named and cut as Confluent's (`topics/<topic>/partition=<p>/<topic>+<p>+<start
//!   offset, 10 digits>.json`, `flush.size` records each) and hold exactly the records, one
//!   JSON document per line.
//! - The consumer offsets committed are those of uploaded objects only (the host honours the
//!   plugin's preCommit): records in a file still open are not committed; after a SIGKILL the
//!   restarted worker reads them again and writes the same objects under the same names, so
//!   every record is in exactly one object.
//! - Bad credentials fail the task with S3's error code and a hint naming the keys (never the
//!   secret); an unreachable endpoint is retried with the reason in the log; a store the
//!   connector's `wasm.network.allow` does not grant fails the task naming the key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, free_port, unique, wait_until, Broker, S3Server, TestDir, Worker,
    S3_ACCESS_KEY, S3_SECRET_KEY,
};

use crate::rest_api::{call, expect};

const S3_SINK: &str = "io.confluent.connect.s3.S3SinkConnector";
const WAIT: Duration = Duration::from_secs(180);

/// An S3 sink connector file: JSON objects of `flush.size` records, Confluent's
/// DefaultPartitioner, schemaless JsonConverter values.
fn s3_sink(name: &str, topic: &str, bucket: &str, store_url: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class={S3_SINK}\ntasks.max=1\ntopics={topic}\n\
         s3.bucket.name={bucket}\ns3.region=us-east-1\nstore.url={store_url}\n\
         aws.access.key.id={S3_ACCESS_KEY}\naws.secret.access.key={S3_SECRET_KEY}\n\
         storage.class=io.confluent.connect.s3.storage.S3Storage\n\
         format.class=io.confluent.connect.s3.format.json.JsonFormat\n\
         partitioner.class=io.confluent.connect.storage.partitioner.DefaultPartitioner\n\
         flush.size=3\ns3.retry.backoff.ms=20\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\n{extra}"
    )
}

/// The record value for partition `p`, offset `n`.
fn value(p: i32, n: i64) -> String {
    format!(r#"{{"p":{p},"n":{n},"name":"order-{p}-{n}"}}"#)
}

/// The object holding offsets `start..start+3` of partition `p`, as Confluent names it.
fn object_key(topic: &str, p: i32, start: i64) -> String {
    format!("topics/{topic}/partition={p}/{topic}+{p}+{start:010}.json")
}

/// The committed consumer offset per partition of sink `name` (`GET
/// /connectors/{name}/offsets`).
pub(crate) fn committed(worker: &Worker, name: &str) -> BTreeMap<i64, i64> {
    let body = expect(
        call(worker, "GET", &format!("/connectors/{name}/offsets"), None),
        200,
        "get offsets",
    )
    .json();
    body["offsets"]
        .as_array()
        .map(|offsets| {
            offsets
                .iter()
                .filter_map(|o| {
                    Some((
                        o["partition"]["kafka_partition"].as_i64()?,
                        o["offset"]["kafka_offset"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn wait_committed(worker: &Worker, name: &str, expected: &BTreeMap<i64, i64>) {
    wait_until(
        &format!("committed offsets of {name} = {expected:?}"),
        WAIT,
        || (committed(worker, name) == *expected).then_some(()),
        || {
            format!(
                "{:?}; status {:?}; log tail:\n{}",
                committed(worker, name),
                worker.status(name),
                worker.log_tail(20)
            )
        },
    );
}

fn wait_objects(
    s3: &S3Server,
    bucket: &str,
    n: usize,
    worker: &Worker,
) -> BTreeMap<String, String> {
    wait_until(
        &format!("{n} objects in s3://{bucket}"),
        WAIT,
        || {
            let objects = s3.objects(bucket);
            (objects.len() >= n).then_some(objects)
        },
        || {
            format!(
                "{:?}; log tail:\n{}",
                s3.objects(bucket).keys().collect::<Vec<_>>(),
                worker.log_tail(30)
            )
        },
    )
}

#[test]
fn s3_sink_writes_confluent_objects_commits_only_uploaded_offsets_and_survives_sigkill() {
    let broker = Broker::shared();
    let s3 = S3Server::start();
    let bucket = unique("sluice-bkt");
    s3.create_bucket(&bucket);
    let topic = unique("s3-orders");
    broker.create_topic(&topic, 2);
    // One record per produce call, so each is its own record batch: the restarted consumer
    // starts inside what would otherwise be one batch, and tansu 0.6 answers a fetch that
    // starts inside a batch with nothing (librdkafka then skips to the next batch).
    let produce = |p: i32, offsets: std::ops::Range<i64>| {
        for n in offsets {
            broker.produce_to(&topic, p, &[value(p, n)]);
        }
    };
    produce(0, 0..10);
    produce(1, 0..7);

    let dir = TestDir::new("s3-sink");
    let name = unique("s3-sink");
    let connector = s3_sink(
        &name,
        &topic,
        &bucket,
        &s3.url(),
        // The killed worker's consumer leaves the group only when its session times out;
        // Kafka's minimum keeps the restart short.
        &format!(
            "wasm.network.allow=127.0.0.1:{}\nconsumer.override.session.timeout.ms=6000\n\
             consumer.override.heartbeat.interval.ms=1000\n",
            s3.port()
        ),
    );
    let props = default_worker_props(Some(broker), dir.path());
    let mut worker = Worker::start(&dir, &props, &[("s3.properties", &connector)]);

    // Three complete objects of partition 0 (offsets 0..9) and two of partition 1 (0..6); the
    // last record of each partition waits in an open file.
    let objects = wait_objects(&s3, &bucket, 5, &worker);
    let first: Vec<String> = vec![
        object_key(&topic, 0, 0),
        object_key(&topic, 0, 3),
        object_key(&topic, 0, 6),
        object_key(&topic, 1, 0),
        object_key(&topic, 1, 3),
    ];
    let mut want_first = first.clone();
    want_first.sort();
    assert_eq!(objects.keys().cloned().collect::<Vec<_>>(), want_first);
    // Only offsets of uploaded objects are committed: 9 and 6, not 10 and 7.
    wait_committed(&worker, &name, &BTreeMap::from([(0, 9), (1, 6)]));
    assert!(
        s3.open_uploads(&bucket).is_empty(),
        "small objects are single PUTs"
    );

    // A crash: records 9 of partition 0 and 6 of partition 1 were put but never uploaded.
    worker.sigkill();
    produce(0, 10..15);
    produce(1, 7..9);
    let worker = Worker::start(&dir, &props, &[("s3.properties", &connector)]);
    let objects = wait_objects(&s3, &bucket, 8, &worker);
    wait_committed(&worker, &name, &BTreeMap::from([(0, 15), (1, 9)]));

    // Every record exactly once, in offset order, in the object named after its first offset.
    let mut expected = BTreeMap::new();
    for (p, starts) in [(0, vec![0, 3, 6, 9, 12]), (1, vec![0, 3, 6])] {
        for start in starts {
            let lines: Vec<Value> = (start..start + 3)
                .map(|n| json!({"p": p, "n": n, "name": format!("order-{p}-{n}")}))
                .collect();
            expected.insert(object_key(&topic, p, start), lines);
        }
    }
    let got: BTreeMap<String, Vec<Value>> = objects
        .iter()
        .map(|(k, content)| {
            assert!(content.ends_with('\n'), "{k}: {content:?}");
            let lines = content
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{k}: {l:?}: {e}")))
                .collect();
            (k.clone(), lines)
        })
        .collect();
    assert_eq!(got, expected);
    // The replayed objects overwrote nothing they should not: the first five are unchanged.
    for k in &first {
        assert_eq!(got[k], expected[k], "{k}");
    }
    assert!(
        !worker.log_text().contains(S3_SECRET_KEY),
        "the secret key must never be logged"
    );
}

#[test]
fn s3_sink_reports_bad_credentials_unreachable_stores_and_ungranted_hosts() {
    let broker = Broker::shared();
    let checking = S3Server::start_checking_credentials();
    let open = S3Server::start();
    let bucket = unique("sluice-bkt");
    open.create_bucket(&bucket);
    let topic = unique("s3-bad");
    broker.create_topic(&topic, 1);
    broker.produce_to(&topic, 0, &[value(0, 0), value(0, 1), value(0, 2)]);

    let bad_creds = unique("s3-bad-creds");
    let unreachable = unique("s3-unreachable");
    let ungranted = unique("s3-ungranted");
    let dead_port = free_port();
    let bad_creds_cfg = s3_sink(
        &bad_creds,
        &topic,
        &bucket,
        &checking.url(),
        &format!("wasm.network.allow=127.0.0.1:{}\n", checking.port()),
    );
    let unreachable_cfg = s3_sink(
        &unreachable,
        &topic,
        &bucket,
        &format!("http://127.0.0.1:{dead_port}"),
        &format!("wasm.network.allow=127.0.0.1:{dead_port}\ns3.part.retries=1\n"),
    );
    let ungranted_cfg = s3_sink(&ungranted, &topic, &bucket, &open.url(), "");
    let dir = TestDir::new("s3-sink-bad");
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            ("bad-creds.properties", &bad_creds_cfg),
            ("unreachable.properties", &unreachable_cfg),
            ("ungranted.properties", &ungranted_cfg),
        ],
    );

    // Bad credentials: S3's own error code, and which keys to check.
    let task = worker.wait_for_task_state(&bad_creds, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("S3 PutObject of s3://")
            && trace.contains("HTTP 403 InvalidAccessKeyId")
            && trace.contains("check aws.access.key.id, aws.secret.access.key"),
        "{trace}"
    );
    assert!(!trace.contains(S3_SECRET_KEY), "{trace}");

    // Not granted by wasm.network.allow: refused by the host, naming the key.
    let task = worker.wait_for_task_state(&ungranted, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("denied by the host") && trace.contains("wasm.network.allow"),
        "{trace}"
    );
    assert!(
        !open.log_text().contains("/topics/"),
        "nothing may reach the ungranted store: {}",
        open.log_text()
    );

    // Unreachable: retried (the task keeps running), the reason in the log, nothing committed.
    let line = worker.wait_for_log_line("the unreachable store's retry", WAIT, |l| {
        l.contains("put failed, retrying the same batch")
            && l.contains(&format!("127.0.0.1:{dead_port}"))
    });
    assert!(
        line.contains("S3 PutObject of s3://") && line.contains("(after 1 retries)"),
        "{line}"
    );
    let status = worker
        .status(&unreachable)
        .expect("status of the unreachable sink");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(committed(&worker, &unreachable).is_empty());
    assert!(
        !worker.log_text().contains(S3_SECRET_KEY),
        "the secret key must never be logged"
    );
}

/// `values[n]` for each `n` of `ns`, in that order.
fn pick(values: &[Value], ns: &[usize]) -> Vec<Value> {
    ns.iter().map(|&n| values[n].clone()).collect()
}

/// The objects of `bucket` as parsed JSON lines, checking each ends with a newline.
fn json_lines(objects: &BTreeMap<String, String>) -> BTreeMap<String, Vec<Value>> {
    objects
        .iter()
        .map(|(k, content)| {
            assert!(
                content.ends_with('\n'),
                "{k}: {:?}",
                &content[..content.len().min(200)]
            );
            let lines = content
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{k}: {e}")))
                .collect();
            (k.clone(), lines)
        })
        .collect()
}

#[test]
fn s3_sink_uploads_large_objects_in_parts_and_names_field_and_time_partitions_like_confluent() {
    let broker = Broker::shared();
    let s3 = S3Server::start();
    let grant = format!("wasm.network.allow=127.0.0.1:{}\n", s3.port());
    let mut connectors = Vec::new();
    // A connector on a fresh topic holding `values` and a fresh bucket; (topic, bucket).
    let mut add = |what: &str, values: &[Value], extra: &str| -> (String, String) {
        let (topic, bucket) = (
            unique(&format!("s3-{what}")),
            unique(&format!("sluice-{what}")),
        );
        s3.create_bucket(&bucket);
        broker.create_topic(&topic, 1);
        let texts: Vec<String> = values.iter().map(Value::to_string).collect();
        broker.produce_to(&topic, 0, &texts);
        let config = s3_sink(
            &unique(what),
            &topic,
            &bucket,
            &s3.url(),
            &format!("{grant}{extra}"),
        );
        connectors.push((format!("{what}.properties"), config));
        (topic, bucket)
    };

    // Multipart: 280 records of ~40 KB make one ~11 MiB object, sent as parts of 5 MiB, 5 MiB
    // and the rest.
    let pad = "x".repeat(40_000);
    let big: Vec<Value> = (0..280).map(|n| json!({"n": n, "pad": pad})).collect();
    let (big_topic, big_bucket) = add("big", &big, "flush.size=280\ns3.part.size=5242880\n");

    // FieldPartitioner on two fields; flush.size counts the records of the Kafka partition,
    // and a rotation completes every open file (Confluent's TopicPartitionWriter).
    let fields = [
        ("eu", 1),
        ("us", 2),
        ("eu", 1),
        ("eu", 2),
        ("us", 2),
        ("us", 2),
        ("eu", 1),
        ("us", 2),
    ];
    let field_values: Vec<Value> = fields
        .iter()
        .enumerate()
        .map(|(n, (region, tier))| json!({"region": region, "tier": tier, "n": n}))
        .collect();
    let (field_topic, field_bucket) = add(
        "field",
        &field_values,
        "flush.size=4\n\
         partitioner.class=io.confluent.connect.storage.partitioner.FieldPartitioner\n\
         partition.field.name=region,tier\n",
    );

    // TimeBasedPartitioner: hourly buckets in Asia/Kolkata (UTC+05:30), so an hour starts at
    // half past in UTC, and a record's day is its local day. The time comes from the value.
    let times: [i64; 6] = [
        1_772_360_100_000, // 2026-03-01T10:15:00Z = 15:45 IST
        1_772_360_999_000, // 10:29:59Z = 15:59:59 IST
        1_772_361_000_000, // 10:30:00Z = 16:00 IST
        1_772_390_700_000, // 18:45Z = 2026-03-02 00:15 IST
        1_772_389_200_000, // 18:20Z = 23:50 IST
        1_772_360_400_000, // 10:20Z = 15:50 IST, again
    ];
    let time_values: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(n, ts)| json!({"ts": ts, "n": n}))
        .collect();
    let (time_topic, time_bucket) = add(
        "time",
        &time_values,
        "flush.size=3\n\
         partitioner.class=io.confluent.connect.storage.partitioner.TimeBasedPartitioner\n\
         path.format='year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\n\
         partition.duration.ms=3600000\nlocale=en-US\ntimezone=Asia/Kolkata\n\
         timestamp.extractor=RecordField\ntimestamp.field=ts\n",
    );

    let dir = TestDir::new("s3-sink-layouts");
    let files: Vec<(&str, &str)> = connectors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &files,
    );

    // One object of three parts, holding every record in order.
    let objects = wait_objects(&s3, &big_bucket, 1, &worker);
    let key = object_key(&big_topic, 0, 0);
    assert_eq!(objects.keys().collect::<Vec<_>>(), [&key]);
    assert_eq!(json_lines(&objects)[&key], big);
    let etag = s3.etag(&big_bucket, &key);
    assert!(
        etag.ends_with("-3"),
        "a 3-part multipart upload: ETag {etag}"
    );
    assert!(s3.open_uploads(&big_bucket).is_empty());

    // Field partitions: each file named after its own first offset.
    let objects = wait_objects(&s3, &field_bucket, 5, &worker);
    let name = |dirs: &str, start: i64| {
        format!("topics/{field_topic}/{dirs}/{field_topic}+0+{start:010}.json")
    };
    let expected = BTreeMap::from([
        (name("region=eu/tier=1", 0), pick(&field_values, &[0, 2])),
        (name("region=us/tier=2", 1), pick(&field_values, &[1])),
        (name("region=eu/tier=2", 3), pick(&field_values, &[3])),
        (name("region=us/tier=2", 4), pick(&field_values, &[4, 5, 7])),
        (name("region=eu/tier=1", 6), pick(&field_values, &[6])),
    ]);
    assert_eq!(json_lines(&objects), expected);

    // Time partitions.
    let objects = wait_objects(&s3, &time_bucket, 5, &worker);
    let name = |day: &str, hour: &str, start: i64| {
        format!(
            "topics/{time_topic}/year=2026/month=03/day={day}/hour={hour}/{time_topic}+0+{start:010}.json"
        )
    };
    let expected = BTreeMap::from([
        (name("01", "15", 0), pick(&time_values, &[0, 1])),
        (name("01", "16", 2), pick(&time_values, &[2])),
        (name("02", "00", 3), pick(&time_values, &[3])),
        (name("01", "23", 4), pick(&time_values, &[4])),
        (name("01", "15", 5), pick(&time_values, &[5])),
    ]);
    assert_eq!(json_lines(&objects), expected);
}

/// A JsonConverter envelope (`schemas.enable=true`) of a `shop.Order` struct (Decimal, Date,
/// Timestamp, an array, a map and an optional nested struct); `version` 2 adds an optional
/// `note` field.
fn order_envelope(n: i64, version: i32) -> String {
    let mut fields = vec![
        json!({"field": "id", "type": "int64", "optional": false}),
        json!({"field": "name", "type": "string", "optional": false}),
        json!({"field": "qty", "type": "int16", "optional": false}),
        json!({"field": "price", "type": "bytes", "optional": false,
               "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
               "parameters": {"scale": "2"}}),
        json!({"field": "day", "type": "int32", "optional": true,
               "name": "org.apache.kafka.connect.data.Date", "version": 1}),
        json!({"field": "ts", "type": "int64", "optional": false,
               "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}),
        json!({"field": "tags", "type": "array", "optional": false,
               "items": {"type": "string", "optional": false}}),
        json!({"field": "attrs", "type": "map", "optional": false,
               "keys": {"type": "string", "optional": false},
               "values": {"type": "int32", "optional": false}}),
        json!({"field": "customer", "type": "struct", "optional": true, "name": "shop.Customer",
        "fields": [
            {"field": "name", "type": "string", "optional": false},
            {"field": "vip", "type": "boolean", "optional": true},
        ]}),
    ];
    // price = n + 0.25: the unscaled value 100n + 25, big-endian two's complement, base64.
    let unscaled = (100 * n + 25) as u16;
    let price = base64_of(&unscaled.to_be_bytes());
    let mut payload = json!({
        "id": n, "name": format!("order-{n}"), "qty": n * 2, "price": price,
        "day": if n % 2 == 0 { json!(n) } else { Value::Null },
        "ts": 1_772_360_100_000i64 + n * 1000,
        "tags": [format!("t{n}"), "x"], "attrs": {"n": n}, "customer": customer(n),
    });
    if version == 2 {
        fields.push(json!({"field": "note", "type": "string", "optional": true}));
        payload["note"] = json!(format!("note-{n}"));
    }
    json!({
        "schema": {"type": "struct", "name": "shop.Order", "version": version,
                   "optional": false, "fields": fields},
        "payload": payload,
    })
    .to_string()
}

/// An S3 sink connector file for records with schemas (JsonConverter envelopes), written with
/// `format` (its keys): `flush.size=3`, failed records tolerated (`extra` may add a DLQ).
fn schema_sink(
    name: &str,
    topic: &str,
    bucket: &str,
    s3: &S3Server,
    format: &str,
    extra: &str,
) -> String {
    format!(
        "name={name}\nconnector.class={S3_SINK}\ntasks.max=1\ntopics={topic}\n\
         s3.bucket.name={bucket}\ns3.region=us-east-1\nstore.url={url}\n\
         aws.access.key.id={S3_ACCESS_KEY}\naws.secret.access.key={S3_SECRET_KEY}\n\
         {format}flush.size=3\ns3.retry.backoff.ms=20\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=true\n\
         errors.tolerance=all\n{extra}wasm.network.allow=127.0.0.1:{port}\n",
        url = s3.url(),
        port = s3.port()
    )
}

/// Dead letter queue keys for topic `dlq`, with the error headers.
fn dlq_keys(dlq: &str) -> String {
    format!(
        "errors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n"
    )
}

fn base64_of(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The optional `customer` struct of order `n` (the same in the payload and read back):
/// absent for every third order, `vip` absent for odd ones.
fn customer(n: i64) -> Value {
    match n % 3 {
        0 => Value::Null,
        _ => {
            json!({"name": format!("c{n}"), "vip": if n % 2 == 0 { json!(n % 4 == 0) } else { Value::Null }})
        }
    }
}

/// The record fastavro (and pyarrow) reads back for `order_envelope(n, version)`.
fn order_read_back(n: i64, version: i32) -> Value {
    let mut v = json!({
        "id": n, "name": format!("order-{n}"), "qty": n * 2,
        "price": format!("{}.25", n),
        "day": if n % 2 == 0 { json!(format!("1970-01-{:02}", n + 1)) } else { Value::Null },
        "ts": format!("2026-03-01T10:{:02}:{:02}+00:00", 15 + n / 60, n % 60),
        "tags": [format!("t{n}"), "x"], "attrs": {"n": n}, "customer": customer(n),
    });
    if version == 2 {
        v["note"] = json!(format!("note-{n}"));
    }
    v
}

#[test]
fn s3_sink_writes_avro_container_files_rotates_on_schema_changes_and_refuses_schemaless_records() {
    let broker = Broker::shared();
    let s3 = S3Server::start();
    let topic = unique("s3-avro");
    broker.create_topic(&topic, 1);
    let dlq = unique("s3-avro-dlq");
    // Offsets 0-4: schema version 1; 5: version 2 (a new schema completes the open file);
    // 6: no schema (refused, to the DLQ); 7-8: version 2.
    let mut values: Vec<String> = (0..5).map(|n| order_envelope(n, 1)).collect();
    values.push(order_envelope(5, 2));
    values.push(r#"{"schema":null,"payload":{"id":6}}"#.to_string());
    values.extend((7..9).map(|n| order_envelope(n, 2)));
    broker.produce_to(&topic, 0, &values);

    let mut connectors = Vec::new();
    let mut buckets = Vec::new();
    for codec in ["deflate", "snappy", "null"] {
        let bucket = unique(&format!("sluice-avro-{codec}"));
        s3.create_bucket(&bucket);
        let name = unique(&format!("s3-avro-{codec}"));
        let dlq_keys = if codec == "deflate" {
            dlq_keys(&dlq)
        } else {
            String::new()
        };
        let format = format!(
            "format.class=io.confluent.connect.s3.format.avro.AvroFormat\navro.codec={codec}\n"
        );
        let config = schema_sink(&name, &topic, &bucket, &s3, &format, &dlq_keys);
        connectors.push((format!("{codec}.properties"), config));
        buckets.push((codec, bucket, name));
    }
    let dir = TestDir::new("s3-sink-avro");
    let files: Vec<(&str, &str)> = connectors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &files,
    );

    let key = |start: i64| format!("topics/{topic}/partition=0/{topic}+0+{start:010}.avro");
    let expected_records = BTreeMap::from([
        (
            key(0),
            (0..3).map(|n| order_read_back(n, 1)).collect::<Vec<_>>(),
        ),
        (key(3), (3..5).map(|n| order_read_back(n, 1)).collect()),
        (
            key(5),
            [5, 7, 8].iter().map(|&n| order_read_back(n, 2)).collect(),
        ),
    ]);
    for (codec, bucket, name) in &buckets {
        wait_read_objects(bucket, 3, &worker, || s3.avro_objects(bucket));
        let objects = s3.avro_objects(bucket);
        let got: BTreeMap<String, Vec<Value>> = objects
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    o["records"].as_array().cloned().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(got, expected_records, "{codec}");
        for (k, o) in &objects {
            assert_eq!(o["codec"], *codec, "{k}");
            let schema = &o["schema"];
            assert_eq!(schema["type"], "record", "{k}: {schema}");
            assert_eq!(schema["name"], "Order", "{k}: {schema}");
            assert_eq!(schema["namespace"], "shop", "{k}: {schema}");
            assert_eq!(schema["connect.name"], "shop.Order", "{k}: {schema}");
            let fields: BTreeMap<String, Value> = schema["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("{k}: {schema}"))
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap_or_default().to_string(),
                        f["type"].clone(),
                    )
                })
                .collect();
            assert_eq!(fields["id"], json!({"type": "long"}), "{k}");
            assert_eq!(
                fields["qty"],
                json!({"type": "int", "connect.type": "int16"}),
                "{k}"
            );
            assert_eq!(
                fields["price"],
                json!({"type": "bytes", "scale": 2, "precision": 64, "connect.version": 1,
                       "connect.parameters": {"scale": "2"},
                       "connect.name": "org.apache.kafka.connect.data.Decimal",
                       "logicalType": "decimal"}),
                "{k}"
            );
            assert_eq!(fields["day"][0], "null", "{k}");
            assert_eq!(fields["day"][1]["logicalType"], "date", "{k}");
            assert_eq!(fields["ts"]["logicalType"], "timestamp-millis", "{k}");
            assert_eq!(fields["attrs"]["type"], "map", "{k}");
            let version2 = k == &key(5);
            assert_eq!(fields.contains_key("note"), version2, "{k}");
            assert_eq!(
                schema["connect.version"],
                if version2 { 2 } else { 1 },
                "{k}"
            );
        }
        // Every record but the refused one is in a completed object: all committed.
        wait_committed(&worker, name, &BTreeMap::from([(0, 9)]));
    }

    // The schemaless record went to the DLQ with the reason.
    let dead = broker.consume_all(&dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value_str(), values[6]);
    let reason = dead[0]
        .header_str("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(
        reason.contains("AvroFormat needs records with a value schema")
            && reason.contains("offset 6"),
        "{reason}; headers {:?}",
        dead[0].headers
    );
}

/// Waits until `read` (a reader of `bucket`'s objects) sees at least `n` objects.
fn wait_read_objects(
    bucket: &str,
    n: usize,
    worker: &Worker,
    read: impl Fn() -> BTreeMap<String, Value>,
) {
    wait_until(
        &format!("{n} objects in s3://{bucket}"),
        WAIT,
        || (read().len() >= n).then_some(()),
        || {
            format!(
                "{:?}; log tail:\n{}",
                read().keys().collect::<Vec<_>>(),
                worker.log_tail(30)
            )
        },
    );
}

#[test]
fn s3_sink_writes_parquet_files_named_as_confluents_rotates_on_schema_changes_and_refuses_records_without_struct_schemas(
) {
    let broker = Broker::shared();
    let s3 = S3Server::start();
    let topic = unique("s3-parquet");
    broker.create_topic(&topic, 1);
    let dlq = unique("s3-parquet-dlq");
    // Offsets 0-4: schema version 1; 5: version 2 (a new schema completes the open file);
    // 6: no schema, 9: an int64 schema (both refused, to the DLQ); 7-8: version 2.
    let mut values: Vec<String> = (0..5).map(|n| order_envelope(n, 1)).collect();
    values.push(order_envelope(5, 2));
    values.push(r#"{"schema":null,"payload":{"id":6}}"#.to_string());
    values.extend((7..9).map(|n| order_envelope(n, 2)));
    values.push(r#"{"schema":{"type":"int64","optional":false},"payload":9}"#.to_string());
    broker.produce_to(&topic, 0, &values);

    // (parquet.codec, object name extension, the codec pyarrow reports)
    let codecs = [
        ("snappy", ".snappy.parquet", "SNAPPY"),
        ("none", ".parquet", "UNCOMPRESSED"),
        ("gzip", ".gz.parquet", "GZIP"),
    ];
    let mut connectors = Vec::new();
    let mut sinks = Vec::new();
    for (i, (codec, extension, reported)) in codecs.iter().enumerate() {
        let bucket = unique(&format!("sluice-parquet-{codec}"));
        s3.create_bucket(&bucket);
        let name = unique(&format!("s3-parquet-{codec}"));
        let format = format!(
            "format.class=io.confluent.connect.s3.format.parquet.ParquetFormat\n\
             parquet.codec={codec}\n"
        );
        let extra = if i == 0 {
            dlq_keys(&dlq)
        } else {
            String::new()
        };
        connectors.push((
            format!("{codec}.properties"),
            schema_sink(&name, &topic, &bucket, &s3, &format, &extra),
        ));
        sinks.push((*extension, *reported, bucket, name));
    }
    let dir = TestDir::new("s3-sink-parquet");
    let files: Vec<(&str, &str)> = connectors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &files,
    );

    for (extension, reported, bucket, name) in &sinks {
        let key =
            |start: i64| format!("topics/{topic}/partition=0/{topic}+0+{start:010}{extension}");
        let expected_rows = BTreeMap::from([
            (
                key(0),
                (0..3).map(|n| order_read_back(n, 1)).collect::<Vec<_>>(),
            ),
            (key(3), (3..5).map(|n| order_read_back(n, 1)).collect()),
            (
                key(5),
                [5, 7, 8].iter().map(|&n| order_read_back(n, 2)).collect(),
            ),
        ]);
        wait_read_objects(bucket, 3, &worker, || s3.parquet_objects(bucket));
        let objects = s3.parquet_objects(bucket);
        let rows: BTreeMap<String, Vec<Value>> = objects
            .iter()
            .map(|(k, o)| (k.clone(), o["rows"].as_array().cloned().unwrap_or_default()))
            .collect();
        assert_eq!(rows, expected_rows, "{extension}");
        for (k, o) in &objects {
            assert_eq!(o["codec"], *reported, "{k}");
            assert_eq!(o["row_groups"], 1, "{k}");
            let columns = &o["columns"];
            for (column, arrow_type) in [
                ("id", "int64"),
                ("name", "string"),
                ("qty", "int32"),
                ("price", "decimal256(64, 2)"),
                ("day", "date32[day]"),
                ("ts", "timestamp[ms, tz=UTC]"),
                ("customer", "struct<name: string not null, vip: bool>"),
            ] {
                assert_eq!(columns[column], arrow_type, "{k}: {column} in {columns}");
            }
            let version2 = k == &key(5);
            assert_eq!(columns.get("note").is_some(), version2, "{k}: {columns}");
            // parquet-avro's footer entry: the Avro schema of AvroFormat's mapping.
            let avro = &o["avro_schema"];
            assert_eq!(avro["name"], "Order", "{k}: {avro}");
            assert_eq!(
                avro["connect.version"],
                if version2 { 2 } else { 1 },
                "{k}: {avro}"
            );
        }
        // Every record but the refused ones is in a completed object: all committed.
        wait_committed(&worker, name, &BTreeMap::from([(0, 10)]));
    }

    let dead = broker.consume_all(&dlq, 2, WAIT);
    assert_eq!(dead.len(), 2);
    let reason = |i: usize| {
        dead[i]
            .header_str("__connect.errors.exception.message")
            .unwrap_or_default()
    };
    assert_eq!(dead[0].value_str(), values[6]);
    assert!(
        reason(0).contains("ParquetFormat needs records with a value schema")
            && reason(0).contains("offset 6"),
        "{}",
        reason(0)
    );
    assert_eq!(dead[1].value_str(), values[9]);
    assert!(
        reason(1).contains("ParquetFormat needs Struct values") && reason(1).contains("offset 9"),
        "{}",
        reason(1)
    );
}
