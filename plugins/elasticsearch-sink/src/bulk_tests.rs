//! The Elasticsearch sink's task against a scripted HTTP transport: the exact requests, retries
//! and the handling of per-item errors.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;

use sluice_plugin_sdk::{Config, Record, TaskError, Value};

use crate::bulk::{batches, Client, Sleep};
use crate::config::{compile, defs, EsConfig};
use crate::document::{convert, BulkOp, Converted};
use crate::task::Task;
use sluice_plugin_sdk::transport::{HttpRequest, HttpResponse, Transport, TransportError};

#[derive(Clone, Default)]
struct Scripted {
    answers: Rc<RefCell<Vec<Result<HttpResponse, TransportError>>>>,
    seen: Rc<RefCell<Vec<HttpRequest>>>,
}

impl Transport for Scripted {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.borrow_mut().push(request.clone());
        let mut answers = self.answers.borrow_mut();
        assert!(
            !answers.is_empty(),
            "unexpected request {} {}",
            request.method,
            request.url
        );
        answers.remove(0)
    }
}

#[derive(Clone, Default)]
struct Slept(Rc<RefCell<Vec<u64>>>);

impl Sleep for Slept {
    fn sleep_ms(&self, ms: u64) {
        self.0.borrow_mut().push(ms);
    }
}

fn answer(status: u16, body: &str) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse {
        status,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    })
}

fn config(pairs: &[(&str, &str)]) -> EsConfig {
    let mut all = vec![("connection.url", "http://127.0.0.1:9200")];
    all.extend_from_slice(pairs);
    compile(&Config::from_pairs(&all, &defs())).unwrap()
}

fn start(
    c: EsConfig,
    answers: Vec<Result<HttpResponse, TransportError>>,
) -> (Task<Scripted, Slept>, Scripted, Slept) {
    let t = Scripted::default();
    *t.answers.borrow_mut() = answers;
    let slept = Slept::default();
    (
        Task::new(Client::new(t.clone(), slept.clone(), c.clone()), c),
        t,
        slept,
    )
}

fn rec(offset: i64, key: &str, value: Value) -> Record {
    let mut r = Record::new("logs")
        .with_partition(0)
        .with_key(None, key)
        .with_value(None, value);
    r.offset = Some(offset);
    r
}

fn doc(n: i64) -> Value {
    Value::Map(vec![(Value::from("n"), Value::Int64(n))])
}

fn item(action: &str, id: &str, status: u16, error: Option<(&str, &str)>) -> String {
    match error {
        None => format!(
            r#"{{"{action}":{{"_index":"logs","_id":"{id}","status":{status},"result":"created"}}}}"#
        ),
        Some((ty, reason)) => format!(
            r#"{{"{action}":{{"_index":"logs","_id":"{id}","status":{status},"error":{{"type":"{ty}","reason":"{reason}"}}}}}}"#
        ),
    }
}

fn bulk_answer(items: &[String]) -> Result<HttpResponse, TransportError> {
    let errors = items.iter().any(|i| i.contains("\"error\""));
    answer(
        200,
        &format!(
            r#"{{"took":3,"errors":{errors},"items":[{}]}}"#,
            items.join(",")
        ),
    )
}

#[test]
fn creates_the_index_then_sends_exact_ndjson() {
    let (mut task, t, _) = start(
        config(&[
            ("connection.username", "elastic"),
            ("connection.password", "pw"),
        ]),
        vec![
            answer(404, ""),
            answer(200, r#"{"acknowledged":true}"#),
            bulk_answer(&[item("index", "a", 201, None), item("index", "b", 201, None)]),
        ],
    );
    let failures = task
        .put(&[rec(7, "a", doc(1)), rec(8, "b", doc(2))])
        .unwrap();
    assert!(failures.is_empty());
    let seen = t.seen.borrow();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].url.as_str()),
        ("HEAD", "http://127.0.0.1:9200/logs")
    );
    assert_eq!(
        (seen[1].method.as_str(), seen[1].url.as_str()),
        ("PUT", "http://127.0.0.1:9200/logs")
    );
    let bulk = &seen[2];
    assert_eq!(
        (bulk.method.as_str(), bulk.url.as_str()),
        ("POST", "http://127.0.0.1:9200/_bulk")
    );
    assert_eq!(
        String::from_utf8(bulk.body.clone()).unwrap(),
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"a\",\"version\":7,\"version_type\":\"external\"}}\n\
         {\"n\":1}\n\
         {\"index\":{\"_index\":\"logs\",\"_id\":\"b\",\"version\":8,\"version_type\":\"external\"}}\n\
         {\"n\":2}\n"
    );
    assert!(bulk
        .headers
        .contains(&("content-type".into(), "application/x-ndjson".into())));
    assert!(bulk
        .headers
        .contains(&("authorization".into(), "Basic ZWxhc3RpYzpwdw==".into())));
    drop(seen);
    // The index is known now: the next put is one bulk request.
    *t.answers.borrow_mut() = vec![bulk_answer(&[item("index", "c", 201, None)])];
    task.put(&[rec(9, "c", doc(3))]).unwrap();
    assert_eq!(t.seen.borrow().len(), 4);
}

#[test]
fn whole_request_failures_are_retried_with_backoff_then_fail_the_task() {
    let (mut task, t, slept) = start(
        config(&[("max.retries", "2")]),
        vec![
            answer(200, ""),
            Err(TransportError::Failed("connection refused".into())),
            answer(503, "unavailable"),
            bulk_answer(&[item("index", "a", 201, None)]),
        ],
    );
    assert!(task.put(&[rec(1, "a", doc(1))]).unwrap().is_empty());
    assert_eq!(t.seen.borrow().len(), 4);
    assert_eq!(*slept.0.borrow(), vec![100, 200]);

    let (mut task, _, _) = start(
        config(&[("max.retries", "1")]),
        vec![
            answer(200, ""),
            answer(500, "boom"),
            answer(502, "bad gateway"),
        ],
    );
    match task.put(&[rec(1, "a", doc(1))]) {
        Err(TaskError::Fatal(m)) => assert!(
            m.contains("after 1 retries") && m.contains("HTTP 502"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let (mut task, t, _) = start(
        config(&[]),
        vec![answer(200, ""), answer(401, "unauthorized")],
    );
    assert!(matches!(
        task.put(&[rec(1, "a", doc(1))]),
        Err(TaskError::Fatal(_))
    ));
    assert_eq!(t.seen.borrow().len(), 2, "a 401 is not retried");
}

#[test]
fn per_item_errors_are_handled_as_confluent_does() {
    let items = vec![
        item("index", "ok", 201, None),
        item(
            "index",
            "bad",
            400,
            Some(("mapper_parsing_exception", "failed to parse field [n]")),
        ),
        item(
            "index",
            "old",
            409,
            Some((
                "version_conflict_engine_exception",
                "version conflict, current version [9] is higher",
            )),
        ),
    ];
    let records = [
        rec(1, "ok", doc(1)),
        rec(2, "bad", doc(2)),
        rec(3, "old", doc(3)),
    ];
    // ignore/warn: the malformed document is reported (dead letter queue) and skipped; an
    // external version conflict is a replay and not an error.
    for behavior in ["ignore", "warn"] {
        let (mut task, _, _) = start(
            config(&[("behavior.on.malformed.documents", behavior)]),
            vec![answer(200, ""), bulk_answer(&items)],
        );
        let failures = task.put(&records).unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].index, 1);
        assert_eq!(
            failures[0].message,
            "Indexing failed: mapper_parsing_exception: failed to parse field [n]"
        );
    }
    // fail: the task fails, naming the document and the error.
    let (mut task, _, _) = start(config(&[]), vec![answer(200, ""), bulk_answer(&items)]);
    match task.put(&records) {
        Err(TaskError::Fatal(m)) => {
            assert!(
                m.contains("'bad'")
                    && m.contains("mapper_parsing_exception")
                    && m.contains("behavior.on.malformed.documents"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Any other error fails the task.
    let (mut task, _, _) = start(
        config(&[("behavior.on.malformed.documents", "ignore")]),
        vec![
            answer(200, ""),
            bulk_answer(&[item(
                "index",
                "x",
                403,
                Some(("cluster_block_exception", "index read-only")),
            )]),
        ],
    );
    assert!(
        matches!(task.put(&[rec(1, "x", doc(1))]), Err(TaskError::Fatal(m)) if m.contains("cluster_block_exception"))
    );
    // A version conflict without external versioning (upsert) is reported, not ignored.
    let (mut task, _, _) = start(
        config(&[("write.method", "upsert")]),
        vec![
            answer(200, ""),
            bulk_answer(&[item(
                "update",
                "u",
                409,
                Some(("version_conflict_engine_exception", "conflict")),
            )]),
        ],
    );
    let failures = task.put(&[rec(1, "u", doc(1))]).unwrap();
    assert_eq!(failures.len(), 1);
}

#[test]
fn items_rejected_with_429_are_resent_alone() {
    let (mut task, t, slept) = start(
        config(&[]),
        vec![
            answer(200, ""),
            bulk_answer(&[
                item("index", "a", 201, None),
                item(
                    "index",
                    "b",
                    429,
                    Some(("es_rejected_execution_exception", "queue full")),
                ),
            ]),
            bulk_answer(&[item("index", "b", 201, None)]),
        ],
    );
    assert!(task
        .put(&[rec(1, "a", doc(1)), rec(2, "b", doc(2))])
        .unwrap()
        .is_empty());
    let seen = t.seen.borrow();
    assert_eq!(
        String::from_utf8(seen[2].body.clone()).unwrap(),
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"b\",\"version\":2,\"version_type\":\"external\"}}\n{\"n\":2}\n"
    );
    assert_eq!(*slept.0.borrow(), vec![100]);
}

#[test]
fn records_that_cannot_be_converted_fail_alone_and_nulls_delete() {
    let (mut task, t, _) = start(
        config(&[("behavior.on.null.values", "delete")]),
        vec![
            answer(200, ""),
            bulk_answer(&[item("delete", "k", 200, None)]),
        ],
    );
    let mut no_key = rec(1, "", doc(1));
    no_key.key = Value::Null;
    let failures = task.put(&[no_key, rec(2, "k", Value::Null)]).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].index, 0);
    assert_eq!(
        String::from_utf8(t.seen.borrow()[1].body.clone()).unwrap(),
        "{\"delete\":{\"_index\":\"logs\",\"_id\":\"k\",\"version\":2,\"version_type\":\"external\"}}\n"
    );
}

#[test]
fn requests_are_cut_by_batch_size_and_bytes() {
    let ops: Vec<BulkOp> = (0..5)
        .map(|i| match convert(&rec(i, "k", doc(i)), &config(&[])) {
            Converted::Op(op) => op,
            other => panic!("{other:?}"),
        })
        .collect();
    let refs: Vec<&BulkOp> = ops.iter().collect();
    assert_eq!(
        batches(&refs, &config(&[("batch.size", "2")])),
        vec![0..2, 2..4, 4..5]
    );
    let one = ops[0].lines.len();
    assert_eq!(
        batches(
            &refs,
            &config(&[("bulk.size.bytes", &(one * 3).to_string())])
        ),
        vec![0..3, 3..5]
    );
    assert_eq!(
        batches(&refs, &config(&[("bulk.size.bytes", "1")])).len(),
        5
    );
}

#[test]
fn a_second_url_is_used_when_the_first_cannot_be_reached() {
    let (mut task, t, _) = start(
        config(&[("connection.url", "http://a:9200,http://b:9200")]),
        vec![
            Err(TransportError::Failed("connection refused".into())),
            answer(200, ""),
            bulk_answer(&[item("index", "k", 201, None)]),
        ],
    );
    task.put(&[rec(1, "k", doc(1))]).unwrap();
    let urls: Vec<String> = t.seen.borrow().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        vec![
            "http://a:9200/logs",
            "http://b:9200/logs",
            "http://b:9200/_bulk"
        ]
    );
}
