//! errors.* and the dead letter queue, end to end (issue #4's poison-pill test): a
//! FileStreamSink with JsonConverter (`schemas.enable=true`) over a topic mixing valid
//! envelopes with malformed records of four kinds (invalid JSON, a struct payload that is not
//! an object, a missing required field, plain JSON without an envelope).
//!
//! - tolerance `all` + DLQ: every valid record reaches the file, in order; every bad one is in
//!   the DLQ with its original bytes and Kafka's context headers; good + DLQ = input exactly, and
//!   the group's committed offset reaches the end of the topic.
//! - tolerance `none`: the task FAILS at the first bad record, and the committed offset of the
//!   consumer group `connect-<name>` (asked of the broker) is exactly that record's offset.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use sluice_tests::{
    count_lines, default_worker_props, read_to_string, unique, wait_until, Broker, TestDir, Worker,
};

use crate::{file_sink, JSON_CONVERTER};

const SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"n"}],"optional":false}"#;

/// A valid record: an envelope the sink writes as `Struct{n=<i>}`.
fn good(i: usize) -> String {
    format!(r#"{{"schema":{SCHEMA},"payload":{{"n":{i}}}}}"#)
}

/// Record `i` of the poison-pill topic: `None` for a valid one, else the bad bytes and a part
/// of the DataException message Kafka's JsonConverter gives for them.
fn bad(i: usize) -> Option<(String, &'static str)> {
    match i % 10 {
        3 => Some((
            format!("{{broken {i}"),
            "Converting byte[] to Kafka Connect data failed due to serialization error",
        )),
        6 => Some((
            format!(r#"{{"schema":{SCHEMA},"payload":"n={i}"}}"#),
            "Structs should be encoded as JSON objects, but found",
        )),
        8 => Some((
            format!(r#"{{"schema":{SCHEMA},"payload":{{"m":{i}}}}}"#),
            "Invalid null value for required INT32 field",
        )),
        9 => Some((
            format!(r#"{{"n":{i}}}"#),
            "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields",
        )),
        _ => None,
    }
}

fn input(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| bad(i).map_or_else(|| good(i), |(bytes, _)| bytes))
        .collect()
}

/// A consumed record's offset, value and headers as UTF-8 text.
pub(crate) type Consumed = (i64, Vec<u8>, Vec<(String, String)>);

/// Every record of partition 0 of `topic`: reads from the start until the consumer reports
/// the end of the partition after at least `at_least` records (panics after 60 s), so a record
/// beyond the expected ones is seen, not missed.
pub(crate) fn read_all(broker: &Broker, topic: &str, at_least: usize) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out reading {topic}: {} records so far, expected at least {at_least}",
            out.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h.key.to_string(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((
                    m.offset(),
                    m.payload().unwrap_or_default().to_vec(),
                    headers,
                ));
            }
            Some(Err(KafkaError::PartitionEOF(_))) if out.len() >= at_least => return out,
            _ => {}
        }
    }
}

/// The value of DLQ header `key`; panics when the header is repeated.
pub(crate) fn header<'h>(headers: &'h [(String, String)], key: &str) -> Option<&'h str> {
    let found: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(found.len() <= 1, "header {key} repeated: {headers:?}");
    found.first().copied()
}

/// The offset consumer group `group` has committed for partition 0 of `topic`, asked of the
/// broker (OffsetFetch; the asking consumer does not join the group). `None`: nothing committed.
pub(crate) fn committed_offset(broker: &Broker, group: &str, topic: &str) -> Option<i64> {
    broker.committed_offsets(group, topic, 1)[0]
}

fn connector(name: &str, out: &std::path::Path, topic: &str, extra: &str) -> String {
    format!(
        "{}value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=true\n{extra}",
        file_sink(name, out, topic)
    )
}

#[test]
fn tolerance_all_sends_bad_records_to_the_dlq_with_context_headers() {
    const N: usize = 200;
    let broker = Broker::shared();
    let dir = TestDir::new("dlq-all");
    let topic = unique("dlq-in");
    let dlq = unique("dlq-out");
    broker.create_topic(&topic, 1);
    broker.produce(&topic, &input(N));
    let out = dir.join("out.txt");
    let name = unique("dlq-sink");
    let extra = format!(
        "errors.tolerance=all\nerrors.log.enable=true\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\nerrors.deadletterqueue.context.headers.enable=true\n"
    );
    let _worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector(&name, &out, &topic, &extra))],
    );
    let bad_offsets: Vec<usize> = (0..N).filter(|&i| bad(i).is_some()).collect();
    let good_offsets: Vec<usize> = (0..N).filter(|&i| bad(i).is_none()).collect();
    assert!(bad_offsets.len() == 80 && good_offsets.len() == 120);

    // Everything processed: the group's committed offset reaches the end of the topic.
    let group = format!("connect-{name}");
    wait_until(
        &format!("group {group} to commit offset {N}"),
        Duration::from_secs(120),
        || (committed_offset(broker, &group, &topic) == Some(N as i64)).then_some(()),
        || {
            format!(
                "committed {:?}, {} lines in the file",
                committed_offset(broker, &group, &topic),
                count_lines(&out)
            )
        },
    );

    // Every valid record reached the sink, in order, and nothing else did.
    let lines: Vec<String> = read_to_string(&out).lines().map(str::to_string).collect();
    let want: Vec<String> = good_offsets
        .iter()
        .map(|i| format!("Struct{{n={i}}}"))
        .collect();
    assert_eq!(lines, want, "the sink file");

    // Every bad record is in the DLQ, in order, with its original bytes and context headers.
    let dlq_records = read_all(broker, &dlq, bad_offsets.len());
    assert_eq!(
        dlq_records.len(),
        bad_offsets.len(),
        "DLQ records (exactly one per bad record)"
    );
    assert_eq!(lines.len() + dlq_records.len(), N, "sink + DLQ = input");
    for ((_, value, headers), &i) in dlq_records.iter().zip(&bad_offsets) {
        let (bytes, message) = bad(i).expect("bad record");
        assert_eq!(
            String::from_utf8_lossy(value),
            bytes,
            "original bytes of offset {i}"
        );
        let h = |k: &str| header(headers, k);
        assert_eq!(h("__connect.errors.topic"), Some(topic.as_str()));
        assert_eq!(h("__connect.errors.partition"), Some("0"));
        assert_eq!(h("__connect.errors.offset"), Some(i.to_string().as_str()));
        assert_eq!(h("__connect.errors.connector.name"), Some(name.as_str()));
        assert_eq!(h("__connect.errors.task.id"), Some("0"));
        assert_eq!(h("__connect.errors.stage"), Some("VALUE_CONVERTER"));
        assert_eq!(h("__connect.errors.class.name"), Some(JSON_CONVERTER));
        assert_eq!(
            h("__connect.errors.exception.class.name"),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        let got = h("__connect.errors.exception.message").unwrap_or_default();
        assert!(
            got.contains(message),
            "offset {i}: message {got:?} should contain {message:?}"
        );
        assert!(
            h("__connect.errors.exception.stacktrace").is_some_and(|s| s.contains("DataException")),
            "offset {i}: stacktrace header {headers:?}"
        );
    }
}

#[test]
fn tolerance_none_fails_the_task_at_the_first_bad_record() {
    const BEFORE: usize = 5;
    let broker = Broker::shared();
    let dir = TestDir::new("dlq-none");
    let topic = unique("dlq-none-in");
    broker.create_topic(&topic, 1);
    let out = dir.join("out.txt");
    let name = unique("dlq-none-sink");
    let group = format!("connect-{name}");
    // Valid records first, delivered and committed before the poison pill arrives, so the
    // committed offset is known to have moved and must stop exactly at the bad record.
    broker.produce(&topic, &(0..BEFORE).map(good).collect::<Vec<_>>());
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[(
            "sink.properties",
            &connector(&name, &out, &topic, "errors.tolerance=none\n"),
        )],
    );
    wait_until(
        &format!("group {group} to commit offset {BEFORE}"),
        Duration::from_secs(120),
        || (committed_offset(broker, &group, &topic) == Some(BEFORE as i64)).then_some(()),
        || format!("committed {:?}", committed_offset(broker, &group, &topic)),
    );
    // The poison pill at offset BEFORE, then valid records that must not be committed.
    let mut rest = vec!["{broken".to_string()];
    rest.extend((BEFORE + 1..BEFORE + 6).map(good));
    broker.produce(&topic, &rest);

    let status = worker.wait_for_task_state(&name, 0, "FAILED", Duration::from_secs(120));
    let trace = status.to_string();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert!(trace.contains(&format!("{topic}-0@{BEFORE}")), "{trace}");
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    // Committed: exactly up to the bad record (it is the next one to read on restart).
    assert_eq!(
        committed_offset(broker, &group, &topic),
        Some(BEFORE as i64),
        "committed offset of {group} after the failure"
    );
    let lines: Vec<String> = read_to_string(&out).lines().map(str::to_string).collect();
    let want: Vec<String> = (0..BEFORE).map(|i| format!("Struct{{n={i}}}")).collect();
    assert_eq!(
        lines, want,
        "only the records before the bad one reached the sink"
    );
}
