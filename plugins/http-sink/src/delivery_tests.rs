//! Delivery against a scripted transport: the exact requests, retries and outcomes.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::*;
use crate::config::{compile, defs};
use sluice_plugin_sdk::{Config, Value};

/// Answers from a script (200 once it runs out) and records every request.
#[derive(Clone, Default)]
struct Scripted {
    answers: Rc<RefCell<VecDeque<Result<u16, TransportError>>>>,
    sent: Rc<RefCell<Vec<HttpRequest>>>,
}

impl Scripted {
    fn with(answers: Vec<Result<u16, TransportError>>) -> Self {
        let s = Scripted::default();
        s.answers.borrow_mut().extend(answers);
        s
    }
    fn bodies(&self) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .map(|r| String::from_utf8(r.body.clone()).unwrap())
            .collect()
    }
}

impl Transport for Scripted {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request.clone());
        let status = self.answers.borrow_mut().pop_front().unwrap_or(Ok(200))?;
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body: format!("answer {status}").into_bytes(),
        })
    }
}

#[derive(Clone, Default)]
struct Naps(Rc<RefCell<Vec<u64>>>);

impl Sleep for Naps {
    fn sleep_ms(&self, ms: u64) {
        self.0.borrow_mut().push(ms);
    }
}

fn delivery(
    pairs: &[(&str, &str)],
    answers: Vec<Result<u16, TransportError>>,
) -> (Delivery<Scripted, Naps>, Scripted, Naps) {
    let mut all = vec![("http.api.url", "http://api:8080/in")];
    all.extend_from_slice(pairs);
    let config = compile(&Config::from_pairs(&all, &defs())).unwrap();
    let (t, n) = (Scripted::with(answers), Naps::default());
    (Delivery::new(t.clone(), n.clone(), config), t, n)
}

fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = Record::new("t").with_value(None, format!("v{i}"));
            r.partition = Some(0);
            r.offset = Some(i as i64);
            r
        })
        .collect()
}

#[test]
fn records_are_batched_in_order_with_prefix_separator_and_suffix() {
    let (mut d, t, _) = delivery(
        &[
            ("batch.max.size", "3"),
            ("batch.prefix", "<"),
            ("batch.suffix", ">"),
            ("batch.separator", ";"),
            ("headers", "X-A:1"),
        ],
        vec![],
    );
    assert_eq!(d.put(&records(7)).unwrap(), vec![]);
    assert_eq!(t.bodies(), ["<v0;v1;v2>", "<v3;v4;v5>", "<v6>"]);
    let sent = t.sent.borrow();
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].url, "http://api:8080/in");
    assert_eq!(
        sent[0].headers,
        vec![
            ("X-A".to_string(), "1".to_string()),
            (
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string()
            )
        ]
    );
}

#[test]
fn a_url_per_key_splits_batches_where_the_url_changes() {
    let (mut d, t, _) = delivery(
        &[
            ("http.api.url", "http://api/${topic}/${key}"),
            ("batch.max.size", "10"),
            ("request.body.format", "json"),
            ("batch.json.as.array", "true"),
        ],
        vec![],
    );
    let rs: Vec<Record> = ["a", "a", "b", "a"]
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Record::new("t")
                .with_key(None, *k)
                .with_value(None, i as i64)
        })
        .collect();
    d.put(&rs).unwrap();
    let sent = t.sent.borrow();
    let got: Vec<(&str, String)> = sent
        .iter()
        .map(|r| (r.url.as_str(), String::from_utf8(r.body.clone()).unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("http://api/t/a", "[0,1]".to_string()),
            ("http://api/t/b", "[2]".to_string()),
            ("http://api/t/a", "[3]".to_string())
        ]
    );
    assert_eq!(sent[0].headers[0].1, "application/json");
}

#[test]
fn retried_statuses_and_lost_answers_resend_the_same_body_after_the_backoff() {
    let (mut d, t, naps) = delivery(
        &[("max.retries", "3"), ("retry.backoff.ms", "25")],
        vec![
            Ok(503),
            Err(TransportError::Failed("connection reset".into())),
            Ok(429),
        ],
    );
    assert_eq!(d.put(&records(1)).unwrap(), vec![]);
    assert_eq!(t.bodies(), ["v0", "v0", "v0", "v0"]);
    assert_eq!(*naps.0.borrow(), [25, 25, 25]);
}

#[test]
fn a_4xx_fails_the_requests_records_and_the_next_request_goes_on() {
    let (mut d, t, naps) = delivery(&[("batch.max.size", "2")], vec![Ok(400)]);
    let failures = d.put(&records(3)).unwrap();
    assert_eq!(failures.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        failures[0].message,
        "POST http://api:8080/in (2 records) got HTTP 400: answer 400"
    );
    assert_eq!(t.bodies(), ["v0,v1", "v2"], "not retried, next batch sent");
    assert!(naps.0.borrow().is_empty());
}

#[test]
fn behavior_on_error_log_and_ignore_go_on_and_retries_spent_fail_the_task() {
    for mode in ["log", "ignore"] {
        let (mut d, _, _) = delivery(
            &[("behavior.on.error", mode), ("max.retries", "1")],
            vec![Ok(404), Ok(500), Ok(500)],
        );
        assert_eq!(d.put(&records(2)).unwrap(), vec![], "{mode}");
    }
    let (mut d, t, _) = delivery(&[("max.retries", "2")], vec![Ok(500), Ok(502), Ok(503)]);
    let err = d.put(&records(1)).unwrap_err();
    assert_eq!(
        err,
        TaskError::fatal(
            "POST http://api:8080/in (1 record) got HTTP 503: answer 503; gave up after 2 retries (max.retries)"
        )
    );
    assert_eq!(t.sent.borrow().len(), 3);
    // No answer at all fails the task whatever behavior.on.error says.
    let (mut d, _, _) = delivery(
        &[("behavior.on.error", "ignore"), ("max.retries", "1")],
        vec![
            Err(TransportError::Failed("connection refused".into())),
            Err(TransportError::Failed("connection refused".into())),
        ],
    );
    let err = d.put(&records(1)).unwrap_err().to_string();
    assert!(
        err.contains("got no answer: connection refused; gave up after 1 retries"),
        "{err}"
    );
}

#[test]
fn a_sandbox_denial_fails_the_task_at_once_without_retries() {
    let (mut d, t, naps) = delivery(
        &[],
        vec![Err(TransportError::Refused(
            "HTTP request to http://api:8080 denied by the host".into(),
        ))],
    );
    let err = d.put(&records(2)).unwrap_err().to_string();
    assert!(
        err.contains("cannot be sent: HTTP request to http://api:8080 denied"),
        "{err}"
    );
    assert_eq!(t.sent.borrow().len(), 1);
    assert!(naps.0.borrow().is_empty());
}

#[test]
fn null_values_follow_behavior_on_null_values() {
    let mut rs = records(3);
    rs[1].value = Value::Null;
    let (mut d, t, _) = delivery(&[("batch.max.size", "5")], vec![]);
    assert_eq!(d.put(&rs).unwrap(), vec![]);
    assert_eq!(t.bodies(), ["v0,v2"]);
    let (mut d, _, _) = delivery(&[("behavior.on.null.values", "fail")], vec![]);
    assert_eq!(d.put(&rs).unwrap()[0].index, 1);
    let (mut d, t, _) = delivery(
        &[
            ("behavior.on.null.values", "delete"),
            ("batch.max.size", "5"),
        ],
        vec![],
    );
    assert_eq!(d.put(&rs).unwrap(), vec![]);
    let sent = t.sent.borrow();
    let methods: Vec<&str> = sent.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "DELETE", "POST"], "order kept");
    assert!(sent[1].body.is_empty());
}

#[test]
fn the_authorization_header_is_sent_but_never_in_a_message() {
    let (mut d, t, _) = delivery(
        &[
            ("auth.type", "bearer"),
            ("bearer.token", "tok-123"),
            ("max.retries", "0"),
        ],
        vec![Ok(401), Ok(500)],
    );
    let failures = d.put(&records(1)).unwrap();
    assert!(!failures[0].message.contains("tok-123"));
    let err = d.put(&records(1)).unwrap_err().to_string();
    assert!(!err.contains("tok-123"), "{err}");
    assert!(t.sent.borrow()[0]
        .headers
        .contains(&("Authorization".to_string(), "Bearer tok-123".to_string())));
}

#[test]
fn messages_show_urls_without_their_query() {
    let (mut d, _, _) = delivery(
        &[
            ("http.api.url", "http://api/in?api_key=k-123"),
            ("max.retries", "0"),
        ],
        vec![Ok(400)],
    );
    let failures = d.put(&records(1)).unwrap();
    assert_eq!(
        failures[0].message,
        "POST http://api/in?… (1 record) got HTTP 400: answer 400"
    );
}

#[test]
fn outcomes_are_reported_per_record_only_when_a_reporter_is_configured() {
    // 200 for records 0-1, 400 for 2-3 (not retried), 503 twice for 4 (gave up).
    let reporter = [
        ("reporter.bootstrap.servers", "kafka:9092"),
        ("batch.max.size", "2"),
        ("max.retries", "1"),
        ("behavior.on.error", "log"),
    ];
    let (mut d, _, _) = delivery(&reporter, vec![Ok(200), Ok(400), Ok(503), Ok(503)]);
    assert_eq!(d.put(&records(5)).unwrap(), vec![]);
    let reports = d.take_reports();
    let results: Vec<(u32, &str)> = reports
        .results
        .iter()
        .map(|r| (r.index, r.value.as_str()))
        .collect();
    assert_eq!(results, [(0, "answer 200"), (1, "answer 200")]);
    assert!(reports.results.iter().all(|r| r.headers.is_empty()));
    let indices: Vec<u32> = reports.errors.iter().map(|r| r.index).collect();
    assert_eq!(indices, [2, 3, 4]);
    assert_eq!(
        reports.errors[0].value,
        "Unable to process HTTP request. HTTP Response code: 400, Reason phrase: , \
         Url: http://api:8080/in, Response content: answer 400, Exception: null, Error message: null"
    );
    assert!(reports.errors[2]
        .value
        .starts_with("Retry time lapsed, unable to process HTTP request. HTTP Response code: 503"));
    let headers: Vec<(&str, &str)> = reports.errors[0]
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        [
            ("error_message", "null"),
            ("exception", "null"),
            ("response_content", "answer 400"),
            ("status_code", "400"),
            ("payload", "v2,v3"),
            ("reason_phrase", ""),
            ("url", "http://api:8080/in"),
        ]
    );
    assert_eq!(d.take_reports(), Reports::default(), "taken once");

    // An empty result topic reports errors only; no reporter.bootstrap.servers reports nothing.
    let (mut d, _, _) = delivery(
        &[
            ("reporter.bootstrap.servers", "kafka:9092"),
            ("reporter.result.topic.name", ""),
        ],
        vec![Ok(200), Ok(404)],
    );
    d.put(&records(2)).unwrap();
    let reports = d.take_reports();
    assert!(reports.results.is_empty());
    assert_eq!(reports.errors.len(), 1);
    let (mut d, _, _) = delivery(&[], vec![Ok(200), Ok(404)]);
    d.put(&records(2)).unwrap();
    assert_eq!(d.take_reports(), Reports::default());
}
