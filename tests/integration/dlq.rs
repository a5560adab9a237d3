//! errors.* and the dead letter queue, end to end: FileStreamSink with JsonConverter
//! (`schemas.enable=false`) over a topic mixing valid JSON and malformed records.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use sluice_tests::{
    count_lines, default_worker_props, read_to_string, unique, wait_until, Broker, TestDir, Worker,
};

use crate::{file_sink, JSON_CONVERTER};

/// Every 7th record is not JSON.
fn input(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 7 == 3 {
                format!("{{broken {i}")
            } else {
                format!("{{\"n\":{i}}}")
            }
        })
        .collect()
}

/// A consumed record's value and its headers as UTF-8 text.
type ValueAndHeaders = (Vec<u8>, Vec<(String, String)>);

/// (value, headers) of every record in `topic`, read with a plain consumer.
fn read_with_headers(broker: &Broker, topic: &str, expected: usize) -> Vec<ValueAndHeaders> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while out.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((m.payload().unwrap_or_default().to_vec(), headers));
        }
    }
    out
}

fn connector(name: &str, out: &std::path::Path, topic: &str, extra: &str) -> String {
    format!(
        "{}value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n{extra}",
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
    let values = input(N);
    broker.produce(&topic, &values);
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
    let bad: Vec<usize> = (0..N).filter(|i| i % 7 == 3).collect();
    let good = N - bad.len();
    wait_until(
        &format!("{good} lines in {}", out.display()),
        Duration::from_secs(120),
        || (count_lines(&out) >= good).then_some(()),
        || format!("{} lines", count_lines(&out)),
    );
    std::thread::sleep(Duration::from_secs(1));
    let lines: Vec<String> = read_to_string(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), good, "{lines:?}");
    let expected_ns: Vec<String> = (0..N)
        .filter(|i| i % 7 != 3)
        .map(|i| i.to_string())
        .collect();
    for (line, n) in lines.iter().zip(&expected_ns) {
        assert!(line.contains(n.as_str()), "line {line:?} should hold n={n}");
    }
    let dlq_records = read_with_headers(broker, &dlq, bad.len());
    assert_eq!(dlq_records.len(), bad.len());
    for ((value, headers), i) in dlq_records.iter().zip(&bad) {
        assert_eq!(value, format!("{{broken {i}").as_bytes(), "original bytes");
        let h = |k: &str| {
            headers
                .iter()
                .find(|(hk, _)| hk == k)
                .map(|(_, v)| v.as_str())
        };
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
        assert!(h("__connect.errors.exception.message").is_some_and(|m| !m.is_empty()));
    }
    // Exactly: nothing more arrives in the DLQ.
    assert_eq!(
        read_with_headers(broker, &dlq, bad.len() + 1).len(),
        bad.len()
    );
}

#[test]
fn tolerance_none_fails_the_task_at_the_first_bad_record() {
    let broker = Broker::shared();
    let dir = TestDir::new("dlq-none");
    let topic = unique("dlq-none-in");
    broker.create_topic(&topic, 1);
    broker.produce(&topic, &input(20));
    let out = dir.join("out.txt");
    let name = unique("dlq-none-sink");
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[(
            "sink.properties",
            &connector(&name, &out, &topic, "errors.tolerance=none\n"),
        )],
    );
    let status = worker.wait_for_task_state(&name, 0, "FAILED", Duration::from_secs(120));
    let trace = status.to_string();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert!(trace.contains(&format!("{topic}-0@3")), "{trace}");
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    // Nothing of the failing batch was written.
    assert_eq!(count_lines(&out), 0);
}
