//! Poison records at scale: 1 % of a topic's records cannot be converted (invalid JSON for the
//! JsonConverter) and 1 % are rejected by the sink (the HTTP sink's server answers 400), with
//! `errors.tolerance=all` and a dead letter queue. What the server accepted plus the DLQ is the
//! input exactly — no record lost, none delivered twice, none in both — and each DLQ record
//! carries Kafka's context headers naming the stage that refused it.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_tests::{
    default_worker_props, unique, wait_until, Broker, Recorded, Reply, TestDir, TestHttpServer,
    Worker,
};

use crate::dlq::{committed_offset, header, read_all};
use crate::JSON_CONVERTER;

const N: usize = 3_000;

/// Record `i`: 1 % invalid JSON, 1 % rejected by the server, the rest accepted.
fn record(i: usize) -> String {
    match i % 100 {
        37 => format!("{{broken {i}"),
        73 => format!(r#"{{"i":{i},"tag":"reject"}}"#),
        _ => format!(r#"{{"i":{i},"tag":"ok"}}"#),
    }
}

#[test]
fn one_percent_unconvertible_and_one_percent_rejected_go_to_the_dlq_and_the_rest_arrives_once() {
    let broker = Broker::shared();
    let dir = TestDir::new("poison");
    let server = TestHttpServer::start(|r, _| {
        if r.body_str().contains("reject") {
            Reply::status(400, "tag `reject` is not allowed")
        } else {
            Reply::status(200, "ok")
        }
    });
    let topic = unique("poison-in");
    let dlq = unique("poison-dlq");
    broker.create_topic(&topic, 1);
    let input: Vec<String> = (0..N).map(record).collect();
    broker.produce(&topic, &input);
    let name = unique("poison-sink");
    let config = format!(
        "name={name}\nconnector.class=io.confluent.connect.http.HttpSinkConnector\ntasks.max=1\n\
         topics={topic}\nhttp.api.url={}\nwasm.network.allow=127.0.0.1:{}\n\
         value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n\
         request.body.format=json\nbatch.max.size=1\n\
         errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n",
        server.url("/items"),
        server.port()
    );
    let _worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &config)],
    );
    let group = format!("connect-{name}");
    wait_until(
        &format!("group {group} to commit offset {N}"),
        Duration::from_secs(240),
        || (committed_offset(broker, &group, &topic) == Some(N as i64)).then_some(()),
        || {
            format!(
                "committed {:?}, {} requests",
                committed_offset(broker, &group, &topic),
                server.requests().len()
            )
        },
    );

    // Accepted by the server: each body one record, once.
    let requests = server.requests();
    let accepted: Vec<&str> = requests
        .iter()
        .map(Recorded::body_str)
        .filter(|b| !b.contains("reject"))
        .collect();
    let rejected_requests = requests.len() - accepted.len();
    // A 400 is final: each rejected record was sent once.
    assert_eq!(rejected_requests, N / 100, "requests the server refused");
    let dead = read_all(broker, &dlq, N / 50);
    // By offset: where each input record ended.
    let mut ended: BTreeMap<usize, &str> = BTreeMap::new();
    for body in &accepted {
        let v: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("the server got a body that is not JSON ({e}): {body}"));
        let i = v["i"].as_u64().expect("an `i`") as usize;
        assert_eq!(*body, record(i), "the accepted body of record {i}");
        assert!(
            ended.insert(i, "sink").is_none(),
            "record {i} accepted twice"
        );
    }
    for (_, value, headers) in &dead {
        let h = |k: &str| header(headers, k).unwrap_or_default();
        let i: usize = h("__connect.errors.offset")
            .parse()
            .unwrap_or_else(|e| panic!("DLQ offset header ({e}): {headers:?}"));
        assert_eq!(
            String::from_utf8_lossy(value),
            record(i),
            "the DLQ keeps record {i}'s original bytes"
        );
        assert_eq!(h("__connect.errors.topic"), topic);
        assert_eq!(h("__connect.errors.partition"), "0");
        assert_eq!(h("__connect.errors.connector.name"), name);
        assert_eq!(h("__connect.errors.task.id"), "0");
        let (stage, class) = if i % 100 == 37 {
            ("VALUE_CONVERTER", JSON_CONVERTER)
        } else {
            ("TASK_PUT", "org.apache.kafka.connect.sink.SinkTask")
        };
        assert_eq!(
            h("__connect.errors.stage"),
            stage,
            "record {i}: {headers:?}"
        );
        assert_eq!(h("__connect.errors.class.name"), class, "record {i}");
        assert!(
            !h("__connect.errors.exception.class.name").is_empty()
                && !h("__connect.errors.exception.message").is_empty(),
            "record {i}: exception headers {headers:?}"
        );
        if stage == "TASK_PUT" {
            assert!(
                h("__connect.errors.exception.message").contains("400"),
                "record {i}: the server's refusal is the message: {headers:?}"
            );
        }
        assert!(
            ended.insert(i, "dlq").is_none(),
            "record {i} in the sink and the DLQ, or twice in the DLQ"
        );
    }
    let missing: Vec<usize> = (0..N).filter(|i| !ended.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "records in neither the sink nor the DLQ: {missing:?}"
    );
    let expected_dead: Vec<usize> = (0..N).filter(|i| matches!(i % 100, 37 | 73)).collect();
    let got_dead: Vec<usize> = ended
        .iter()
        .filter(|(_, w)| **w == "dlq")
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(
        got_dead, expected_dead,
        "exactly the poison records are in the DLQ"
    );
    eprintln!(
        "poison records: {N} in, {} accepted by the sink, {} in the DLQ ({rejected_requests} refused requests)",
        accepted.len(),
        dead.len()
    );
}
