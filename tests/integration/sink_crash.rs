//! Sinks across a crash: the standalone worker is SIGKILLed while a sink is in the middle of a
//! stream (records produced one at a time, one record per request, the server answering each
//! after a short pause, offsets committed every 200 ms), then restarted on the same offsets.
//! The documented guarantee (docs/connectors/http-sink.md, elasticsearch-sink.md) is at least
//! once: every record arrives, and the only records sent twice are those at or after the
//! consumer offset committed when the worker died, each at most twice. For Elasticsearch a
//! repeat must also carry the same document id, so the index holds every record once.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    default_worker_props, unique, wait_until, Broker, Recorded, Reply, TestDir, TestHttpServer,
    Worker,
};

use crate::elasticsearch_sink::{es_sink, fake_elasticsearch_with};
use crate::STRING_CONVERTER;

const WAIT: Duration = Duration::from_secs(180);
const RECORDS: usize = 300;

#[test]
fn http_sink_after_sigkill_delivers_every_record_and_repeats_only_uncommitted_ones() {
    // 10 ms per answer, records 25 ms apart: the sink keeps up, so its batches are small and
    // offsets are committed between them; 300 records take over 7 s, so the kill lands
    // mid-stream.
    let server = TestHttpServer::start(|_, _| {
        std::thread::sleep(Duration::from_millis(10));
        Reply::status(200, "ok")
    });
    let port = server.port();
    let url = server.url("/in");
    let sent = crash_mid_stream(
        "http-crash",
        &server,
        |name, topic| {
            format!(
                "name={name}\nconnector.class=io.confluent.connect.http.HttpSinkConnector\n\
                 tasks.max=1\ntopics={topic}\nhttp.api.url={url}\n\
                 value.converter={STRING_CONVERTER}\nbatch.max.size=1\n\
                 wasm.network.allow=127.0.0.1:{port}\n"
            )
        },
        |n| format!("r{n}"),
        |req| {
            let n = req
                .body_str()
                .strip_prefix('r')
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected body {:?}", req.body_str()));
            vec![(n, String::new())]
        },
    );
    assert!(sent.iter().all(|(_, id)| id.is_empty()));
}

#[test]
fn elasticsearch_sink_after_sigkill_indexes_every_record_under_one_id() {
    let server = fake_elasticsearch_with(false, Duration::from_millis(10));
    let port = server.port();
    let sent = crash_mid_stream(
        "es-crash",
        &server,
        |name, topic| es_sink(name, topic, port, "key.ignore=true\nbatch.size=1\n"),
        |n| format!(r#"{{"n":{n}}}"#),
        // Each bulk request's (document, id) pairs; the index lookups carry none.
        |req| {
            if req.path != "/_bulk" {
                return Vec::new();
            }
            let lines: Vec<Value> = req
                .body_str()
                .lines()
                .map(|l| serde_json::from_str(l).expect("a bulk body line is JSON"))
                .collect();
            lines
                .chunks(2)
                .map(|pair| {
                    let id = pair[0]["index"]["_id"]
                        .as_str()
                        .unwrap_or_else(|| panic!("an index action with an _id: {}", pair[0]))
                        .to_string();
                    let n = pair
                        .get(1)
                        .and_then(|d| d["n"].as_u64())
                        .unwrap_or_else(|| panic!("a document with n after {}", pair[0]));
                    (n as usize, id)
                })
                .collect()
        },
    );
    // A record sent twice went under the id it had the first time (topic+partition+offset),
    // so the replay overwrote it; and no two records share an id.
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    for (n, id) in &sent {
        let first = ids.entry(*n).or_insert_with(|| id.clone());
        assert_eq!(first, id, "record {n} was indexed under two ids");
    }
    let distinct: std::collections::BTreeSet<&String> = ids.values().collect();
    assert_eq!(distinct.len(), RECORDS, "one document id per record");
}

/// Runs a sink over a stream of `RECORDS` records, SIGKILLs its worker half-way, restarts it,
/// and checks the at-least-once contract against what the server received: every record, the
/// ones before the committed offset once, the others at most twice. `connector` gives the
/// connector's properties for (name, topic), `value` the record value of number `n`, and
/// `received` the (record number, document id) pairs a request carried. Returns every pair
/// received, in order.
fn crash_mid_stream(
    label: &str,
    server: &TestHttpServer,
    connector: impl Fn(&str, &str) -> String,
    value: impl Fn(usize) -> String + Send + 'static,
    received: impl Fn(&Recorded) -> Vec<(usize, String)>,
) -> Vec<(usize, String)> {
    let broker = Broker::shared();
    let name = unique(label);
    let topic = name.clone();
    broker.create_topic(&topic, 1);
    let config = format!(
        "{}consumer.override.session.timeout.ms=6000\n\
         consumer.override.heartbeat.interval.ms=1000\n",
        connector(&name, &topic)
    );
    let all = || -> Vec<(usize, String)> { server.requests().iter().flat_map(&received).collect() };
    let dir = TestDir::new(label);
    // Frequent commits, so the offset committed at the kill is inside the stream.
    let props = format!(
        "{}offset.flush.interval.ms=200\n",
        default_worker_props(Some(broker), dir.path())
    );
    // The first record before the worker starts; the rest one at a time once it arrived
    // (records produced while the worker starts would make one large first put, inside which
    // nothing can be committed).
    broker.produce(&topic, &[value(0)]);
    let mut worker = Worker::start(&dir, &props, &[("sink.properties", &config)]);
    let arrived = |n: usize, worker: &Worker| {
        wait_until(
            &format!("{n} records at the server"),
            WAIT,
            || (all().len() >= n).then_some(()),
            || {
                format!(
                    "{} received; log tail:\n{}",
                    all().len(),
                    worker.log_tail(30)
                )
            },
        )
    };
    arrived(1, &worker);
    let producer = {
        let topic = topic.clone();
        std::thread::spawn(move || {
            for n in 1..RECORDS {
                broker.produce(&topic, &[value(n)]);
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };
    arrived(RECORDS / 2, &worker);
    worker.sigkill();
    // A request already on the wire when the worker died is recorded too.
    std::thread::sleep(Duration::from_millis(500));
    let before_kill = all().len();
    // What the dead worker had committed (its consumer group, read from the broker).
    let committed = broker
        .committed_offsets(&format!("connect-{name}"), &topic, 1)
        .first()
        .copied()
        .flatten()
        .unwrap_or(0);
    assert!(
        before_kill < RECORDS,
        "the kill must land mid-stream: {before_kill} of {RECORDS} already sent"
    );
    assert!(
        committed > 0,
        "nothing committed after {before_kill} records (offset.flush.interval.ms=200)"
    );
    assert!(
        committed as usize <= before_kill,
        "committed {committed} but only {before_kill} records were sent"
    );

    let worker = Worker::start(&dir, &props, &[("sink.properties", &config)]);
    producer.join().expect("the producer thread");
    // Everything arrives: wait for each distinct record.
    wait_until(
        &format!("all {RECORDS} distinct records at the server"),
        WAIT,
        || {
            let seen: std::collections::BTreeSet<usize> = all().iter().map(|(n, _)| *n).collect();
            (seen.len() >= RECORDS).then_some(())
        },
        || {
            format!(
                "{} received; log tail:\n{}",
                all().len(),
                worker.log_tail(30)
            )
        },
    );
    let sent = all();
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for (n, _) in &sent {
        *counts.entry(*n).or_default() += 1;
    }
    assert_eq!(counts.len(), RECORDS, "every record arrived");
    assert!(counts.keys().all(|&n| n < RECORDS));
    let duplicated: Vec<usize> = counts
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(&n, _)| n)
        .collect();
    for (&n, &c) in &counts {
        assert!(
            c <= 2,
            "record {n} sent {c} times: once before the crash and once after at most"
        );
        if (n as i64) < committed {
            assert_eq!(
                c, 1,
                "record {n} is before the committed offset {committed}"
            );
        }
    }
    // The repeats are among the records sent before the kill (offsets 0..before_kill, in
    // order) but not committed by then.
    assert!(
        duplicated
            .iter()
            .all(|&n| (committed as usize..before_kill).contains(&n)),
        "duplicates {duplicated:?} outside [{committed}, {before_kill})"
    );
    eprintln!(
        "{label}: {before_kill} records sent before the kill, committed offset {committed}, \
         {} records sent twice",
        duplicated.len()
    );
    sent
}
