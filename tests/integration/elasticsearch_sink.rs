//! The Elasticsearch sink (`io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`)
//! end to end: a real worker and broker, the built plugin sending through the host's sandboxed
//! `wasi:http` to a local server that speaks Elasticsearch's index and `_bulk` APIs and records
//! every request (Elasticsearch itself cannot be installed here, so this is a fake of the bulk
//! API, not a live cluster).
//!
//! - The index is looked up (`HEAD`) and created (`PUT`) once, before the first bulk request.
//! - The bulk bodies are exactly Confluent's NDJSON: ids `topic+partition+offset` with
//!   `key.ignore=true`, the key with the offset as external version otherwise.
//! - A bulk request answered 429, then 503, is sent again, unchanged.
//! - A document the server rejects as malformed (`mapper_parsing_exception`) goes to the dead
//!   letter queue with `errors.tolerance=all`, and the rest of its request is written.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, unique, wait_until, Broker, Recorded, Reply, TestDir, TestHttpServer,
    Worker,
};

const ES_SINK: &str = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector";
const WAIT: Duration = Duration::from_secs(180);

/// A fake of Elasticsearch's index and bulk APIs: indexes exist once created; each index's
/// first bulk request is answered 429 and its second 503 (whole-request failures the sink must
/// retry); later ones get an item per operation, an error item for documents with
/// `"bad":true`.
fn fake_elasticsearch() -> TestHttpServer {
    fake_elasticsearch_with(true, Duration::ZERO)
}

/// The fake above; `refuse_first_two` off answers every bulk request with its items, and each
/// bulk answer waits `pause` (a slow cluster, for the crash test in `sink_crash.rs`).
pub(crate) fn fake_elasticsearch_with(refuse_first_two: bool, pause: Duration) -> TestHttpServer {
    let indexes: Arc<Mutex<HashSet<String>>> = Arc::default();
    let bulks: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    TestHttpServer::start(move |req: &Recorded, _| {
        let index = req.path.trim_start_matches('/').to_string();
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/_bulk") => {
                std::thread::sleep(pause);
                let mut counts = bulks.lock().expect("bulk counts");
                bulk(req, refuse_first_two.then_some(&mut *counts))
            }
            ("HEAD", _) if indexes.lock().expect("indexes").contains(&index) => {
                Reply::status(200, "")
            }
            ("HEAD", _) => Reply::status(404, ""),
            ("PUT", _) => {
                indexes.lock().expect("indexes").insert(index.clone());
                Reply::status(
                    200,
                    json!({"acknowledged": true, "index": index}).to_string(),
                )
            }
            _ => Reply::status(400, r#"{"error":"unexpected request"}"#),
        }
    })
}

/// Answers a bulk request; with `counts`, each index's first two are refused (429, 503).
fn bulk(req: &Recorded, counts: Option<&mut HashMap<String, usize>>) -> Reply {
    let lines: Vec<Value> = req
        .body_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    let first_index = lines
        .first()
        .and_then(|a| a.as_object()?.values().next()?["_index"].as_str())
        .unwrap_or_default()
        .to_string();
    if let Some(counts) = counts {
        let n = counts.entry(first_index).or_insert(0);
        *n += 1;
        match *n {
            1 => {
                return Reply::status(
                    429,
                    r#"{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429}"#,
                )
            }
            2 => return Reply::status(503, r#"{"error":"unavailable","status":503}"#),
            _ => {}
        }
    }
    let mut items = Vec::new();
    let mut it = lines.iter();
    while let Some(action) = it.next() {
        let Some((verb, meta)) = action.as_object().and_then(|o| o.iter().next()) else {
            return Reply::status(400, r#"{"error":"malformed action line"}"#);
        };
        let doc = if verb == "delete" { None } else { it.next() };
        let mut item = json!({"_index": meta["_index"], "_id": meta["_id"]});
        if doc.is_some_and(|d| d["bad"] == true) {
            item["status"] = json!(400);
            item["error"] = json!({"type": "mapper_parsing_exception", "reason": "failed to parse field [bad] of type [long]"});
        } else {
            item["status"] = json!(201);
            item["result"] = json!("created");
        }
        let mut one = serde_json::Map::new();
        one.insert(verb.clone(), item);
        items.push(Value::Object(one));
    }
    let errors = items.iter().any(|i| i.to_string().contains("\"error\""));
    Reply::status(
        200,
        json!({"took": 1, "errors": errors, "items": items}).to_string(),
    )
}

pub(crate) fn es_sink(name: &str, topic: &str, port: u16, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class={ES_SINK}\ntasks.max=1\ntopics={topic}\n\
         connection.url=http://127.0.0.1:{port}\nwasm.network.allow=127.0.0.1:{port}\n\
         schema.ignore=true\nbehavior.on.malformed.documents=warn\nmax.retries=3\nretry.backoff.ms=20\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\n{extra}"
    )
}

/// The bulk requests the server answered with items, for `index`.
fn written_bulks(server: &TestHttpServer, index: &str) -> Vec<Recorded> {
    let reqs: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/_bulk" && r.body_str().contains(&format!("\"_index\":\"{index}\"")))
        .collect();
    reqs.into_iter().skip(2).collect()
}

#[test]
fn elasticsearch_sink_sends_exact_bulk_requests_retries_and_reports_rejected_documents() {
    let broker = Broker::shared();
    let server = fake_elasticsearch();
    let port = server.port();

    // key.ignore=true: ids are topic+partition+offset; record 3 is rejected by the server.
    let by_offset = unique("es-by-offset");
    broker.create_topic(&by_offset, 1);
    let values: Vec<String> = (0..6)
        .map(|n| {
            if n == 3 {
                format!(r#"{{"n":{n},"bad":true}}"#)
            } else {
                format!(r#"{{"n":{n}}}"#)
            }
        })
        .collect();
    broker.produce_to(&by_offset, 0, &values);
    let dlq = unique("es-dlq");
    broker.create_topic(&dlq, 1);
    // key.ignore=false: ids are the keys, versioned by offset.
    let by_key = unique("es-by-key");
    broker.create_topic(&by_key, 1);
    broker.produce_keyed(
        &by_key,
        &[
            (Some("alpha"), Some(r#"{"v":"a1"}"#)),
            (Some("beta"), Some(r#"{"v":"b1"}"#)),
            (Some("alpha"), Some(r#"{"v":"a2"}"#)),
        ],
    );

    let offset_sink = unique("es-offset-sink");
    let key_sink = unique("es-key-sink");
    let dir = TestDir::new("es-sink");
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            (
                "by-offset.properties",
                &es_sink(
                    &offset_sink,
                    &by_offset,
                    port,
                    &format!(
                        "key.ignore=true\nerrors.tolerance=all\n\
                         errors.deadletterqueue.topic.name={dlq}\n\
                         errors.deadletterqueue.topic.replication.factor=1\n"
                    ),
                ),
            ),
            (
                "by-key.properties",
                &es_sink(&key_sink, &by_key, port, "key.ignore=false\n"),
            ),
        ],
    );

    // The rejected document reaches the dead letter queue, with its original bytes.
    let dead = broker.consume_all(&dlq, 1, WAIT);
    assert_eq!(
        dead.iter()
            .map(|m| m.value_str().to_string())
            .collect::<Vec<_>>(),
        vec![r#"{"n":3,"bad":true}"#.to_string()]
    );

    let index = by_offset.to_lowercase();
    let expected: String = (0..6)
        .map(|n| {
            format!(
                "{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{by_offset}+0+{n}\"}}}}\n{}\n",
                values[n]
            )
        })
        .collect();
    let bulks = wait_until(
        "the by-offset records written",
        WAIT,
        || {
            let b = written_bulks(&server, &index);
            let body: String = b.iter().map(|r| r.body_str().to_string()).collect();
            (body.len() >= expected.len()).then_some(b)
        },
        || {
            format!(
                "{:?}; log tail:\n{}",
                server.requests(),
                worker.log_tail(30)
            )
        },
    );
    let body: String = bulks.iter().map(|r| r.body_str().to_string()).collect();
    assert_eq!(body, expected);
    for r in &bulks {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    }

    // The 429 and the 503 were retried with the same request.
    let all: Vec<Recorded> = server.requests();
    let of_index: Vec<&Recorded> = all
        .iter()
        .filter(|r| r.path == "/_bulk" && r.body_str().contains(&format!("\"_index\":\"{index}\"")))
        .collect();
    assert!(of_index.len() >= 3, "{of_index:?}");
    assert_eq!(of_index[0].body, of_index[1].body);
    assert_eq!(of_index[1].body, of_index[2].body);
    // The index was looked up and created once, before any bulk request for it.
    let index_path = format!("/{index}");
    let calls: Vec<(String, String)> = all
        .iter()
        .filter(|r| {
            r.path == index_path || r.body_str().contains(&format!("\"_index\":\"{index}\""))
        })
        .map(|r| (r.method.clone(), r.path.clone()))
        .take(3)
        .collect();
    assert_eq!(
        calls,
        vec![
            ("HEAD".to_string(), index_path.clone()),
            ("PUT".to_string(), index_path.clone()),
            ("POST".to_string(), "/_bulk".to_string()),
        ]
    );

    // Keys as ids, each with its offset as an external version.
    let key_index = by_key.to_lowercase();
    let expected_keyed = format!(
        "{{\"index\":{{\"_index\":\"{key_index}\",\"_id\":\"alpha\",\"version\":0,\"version_type\":\"external\"}}}}\n{{\"v\":\"a1\"}}\n\
         {{\"index\":{{\"_index\":\"{key_index}\",\"_id\":\"beta\",\"version\":1,\"version_type\":\"external\"}}}}\n{{\"v\":\"b1\"}}\n\
         {{\"index\":{{\"_index\":\"{key_index}\",\"_id\":\"alpha\",\"version\":2,\"version_type\":\"external\"}}}}\n{{\"v\":\"a2\"}}\n"
    );
    let keyed = wait_until(
        "the keyed records written",
        WAIT,
        || {
            let body: String = written_bulks(&server, &key_index)
                .iter()
                .map(|r| r.body_str().to_string())
                .collect();
            (body.len() >= expected_keyed.len()).then_some(body)
        },
        || {
            format!(
                "{:?}; log tail:\n{}",
                server.requests(),
                worker.log_tail(30)
            )
        },
    );
    assert_eq!(keyed, expected_keyed);

    // Both tasks keep running; the rejection was logged as a warning naming the error.
    for name in [&offset_sink, &key_sink] {
        let status = worker.status(name).expect("status");
        assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    }
    worker.wait_for_log_line("the malformed document's warning", WAIT, |l| {
        l.contains("mapper_parsing_exception")
    });
}
