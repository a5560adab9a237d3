//! The HTTP sink across a crash: the standalone worker is SIGKILLed while the sink is in the
//! middle of a stream (records produced one at a time, one record per request, the server
//! answering each after a short pause, offsets committed every 200 ms), then restarted on the
//! same offsets. The documented guarantee (docs/connectors/http-sink.md)
//! is at least once: every record arrives, and the only records sent twice are those at or
//! after the consumer offset committed when the worker died, each at most twice.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_tests::{default_worker_props, unique, Broker, Reply, TestDir, TestHttpServer, Worker};

use crate::STRING_CONVERTER;

const CLASS: &str = "io.confluent.connect.http.HttpSinkConnector";
const WAIT: Duration = Duration::from_secs(180);
const RECORDS: usize = 300;

#[test]
fn http_sink_after_sigkill_delivers_every_record_and_repeats_only_uncommitted_ones() {
    let broker = Broker::shared();
    // 10 ms per answer, records 25 ms apart: the sink keeps up, so its batches are small and
    // offsets are committed between them; 300 records take over 7 s, so the kill lands
    // mid-stream.
    let server = TestHttpServer::start(|_, _| {
        std::thread::sleep(Duration::from_millis(10));
        Reply::status(200, "ok")
    });
    let name = unique("http-crash");
    let topic = name.clone();
    broker.create_topic(&topic, 1);
    let config = format!(
        "name={name}\nconnector.class={CLASS}\ntasks.max=1\ntopics={topic}\n\
         http.api.url={url}\nvalue.converter={STRING_CONVERTER}\nbatch.max.size=1\n\
         wasm.network.allow=127.0.0.1:{port}\n\
         consumer.override.session.timeout.ms=6000\n\
         consumer.override.heartbeat.interval.ms=1000\n",
        url = server.url("/in"),
        port = server.port()
    );
    let dir = TestDir::new("http-sink-crash");
    // Frequent commits, so the offset committed at the kill is inside the stream.
    let props = format!(
        "{}offset.flush.interval.ms=200\n",
        default_worker_props(Some(broker), dir.path())
    );
    // The first record before the worker starts; the rest one at a time once it arrived
    // (records produced while the worker starts would make one large first put, inside which
    // nothing can be committed).
    broker.produce(&topic, &["r0".to_string()]);
    let mut worker = Worker::start(&dir, &props, &[("http.properties", &config)]);
    server.wait_for_requests(1, WAIT);
    let producer = {
        let topic = topic.clone();
        std::thread::spawn(move || {
            for n in 1..RECORDS {
                broker.produce(&topic, &[format!("r{n}")]);
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };
    server.wait_for_requests(RECORDS / 2, WAIT);
    worker.sigkill();
    // A request already on the wire when the worker died is recorded too.
    std::thread::sleep(Duration::from_millis(500));
    let before_kill = server.requests().len();
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
        "nothing committed after {before_kill} requests (offset.flush.interval.ms=200)"
    );
    assert!(
        committed as usize <= before_kill,
        "committed {committed} but only {before_kill} records were sent"
    );

    let worker = Worker::start(&dir, &props, &[("http.properties", &config)]);
    producer.join().expect("the producer thread");
    // Everything arrives: wait for each distinct record.
    sluice_tests::wait_until(
        &format!("all {RECORDS} records at the server"),
        WAIT,
        || {
            let seen: std::collections::BTreeSet<String> = server
                .requests()
                .iter()
                .map(|r| r.body_str().to_string())
                .collect();
            (seen.len() >= RECORDS).then_some(())
        },
        || {
            format!(
                "{} requests; log tail:\n{}",
                server.requests().len(),
                worker.log_tail(30)
            )
        },
    );
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for r in server.requests() {
        let n: usize = r
            .body_str()
            .strip_prefix('r')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected body {:?}", r.body_str()));
        *counts.entry(n).or_default() += 1;
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
        "http sink crash: {before_kill} requests before the kill, committed offset {committed}, \
         {} records sent twice",
        duplicated.len()
    );
}
