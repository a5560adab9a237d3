//! The HTTP sink (`plugins/http-sink`, Confluent's `io.confluent.connect.http.HttpSinkConnector`)
//! through a real worker and broker, sending to the harness's real HTTP server:
//! - bodies exactly as configured: JSON arrays of JsonConverter values, or
//!   `batch.prefix` + values separated by `batch.separator` + `batch.suffix`, at most
//!   `batch.max.size` records each, every record exactly once and in order, with the configured
//!   headers;
//! - retries: 503, a server that closes the connection without answering, and 429 are retried
//!   with the same body until it is accepted, and the next record follows only then;
//! - a 4xx fails just that request's record, which lands in the dead letter queue with
//!   `errors.tolerance=all`, while its neighbours are delivered;
//! - an unreachable server and a server the connector's `wasm.network.allow` does not grant
//!   fail the task with a message saying which and why, and nothing reaches the ungranted one;
//! - credentials from a config provider reach the server in `Authorization` and never appear in
//!   REST answers, task traces or the worker log;
//! - with `reporter.*`, every response and every rejected request is in the reporter topics
//!   (written by the worker), in Confluent's shapes.

use std::time::Duration;

use sluice_tests::{
    default_worker_props, free_port, unique, wait_until, Broker, Recorded, Reply, TestDir,
    TestHttpServer, Worker,
};

use crate::{base64, JSON_CONVERTER, STRING_CONVERTER};

const CLASS: &str = "io.confluent.connect.http.HttpSinkConnector";
const WAIT: Duration = Duration::from_secs(120);

/// An HTTP sink connector on a fresh topic holding `values`; returns (name, topic, config).
fn http_sink(url: &str, values: &[String], extra: &str) -> (String, String, String) {
    let name = unique("http-sink");
    let topic = name.clone();
    let broker = Broker::shared();
    broker.create_topic(&topic, 1);
    broker.produce(&topic, values);
    let config = format!(
        "name={name}\nconnector.class={CLASS}\ntasks.max=1\ntopics={topic}\n\
         http.api.url={url}\nvalue.converter={STRING_CONVERTER}\n{extra}"
    );
    (name, topic, config)
}

fn grant(server: &TestHttpServer) -> String {
    format!("wasm.network.allow=127.0.0.1:{}\n", server.port())
}

fn worker(dir: &TestDir, extra_props: &str, connectors: &[(&str, &str)]) -> Worker {
    let props = format!(
        "{}{extra_props}",
        default_worker_props(Some(Broker::shared()), dir.path())
    );
    Worker::start(dir, &props, connectors)
}

/// Splits each body into its records (`prefix` r1 `sep` r2 … `suffix`), checking the frame and
/// the batch size; returns the records of all bodies in arrival order.
fn unframe(
    requests: &[Recorded],
    prefix: &str,
    sep: &str,
    suffix: &str,
    max: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    for r in requests {
        let body = r.body_str();
        let inner = body
            .strip_prefix(prefix)
            .and_then(|b| b.strip_suffix(suffix))
            .unwrap_or_else(|| panic!("body not framed by {prefix:?} … {suffix:?}: {body:?}"));
        let items: Vec<String> = inner.split(sep).map(str::to_string).collect();
        assert!(
            !items.is_empty() && items.len() <= max,
            "a body holds 1 to {max} records: {body:?}"
        );
        all.extend(items);
    }
    all
}

#[test]
fn http_sink_sends_exact_batches_and_retries_until_accepted() {
    let dir = TestDir::new("http-sink-batches");
    // JSON values as JSON arrays of at most 4.
    let json_server = TestHttpServer::ok();
    let json_values: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"id":{i},"name":"user \"{i}\""}}"#))
        .collect();
    let (json_name, _, json_cfg) = http_sink(
        &json_server.url("/events?src=sluice"),
        &json_values,
        &format!(
            "{}value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n\
             request.body.format=json\nbatch.json.as.array=true\nbatch.max.size=4\n\
             headers=Content-Type:application/json|X-Api-Version:2\n",
            grant(&json_server)
        ),
    );
    // Text lines framed by prefix/separator/suffix, at most 3, with PUT.
    let text_server = TestHttpServer::ok();
    let lines: Vec<String> = (0..7).map(|i| format!("line {i}")).collect();
    let (text_name, _, text_cfg) = http_sink(
        &text_server.url("/lines"),
        &lines,
        &format!(
            "{}request.method=PUT\nbatch.max.size=3\nbatch.prefix=<<\nbatch.separator=|\nbatch.suffix=>>\n",
            grant(&text_server)
        ),
    );
    // 503, a closed connection, 429, then accepted: the first record is sent four times.
    let flaky = TestHttpServer::start(|_, i| match i {
        0 => Reply::status(503, "busy"),
        1 => Reply::Close,
        2 => Reply::status(429, "slow down"),
        _ => Reply::status(200, "ok"),
    });
    let (flaky_name, _, flaky_cfg) = http_sink(
        &flaky.url("/flaky"),
        &["first".to_string(), "second".to_string()],
        &format!("{}max.retries=5\nretry.backoff.ms=200\n", grant(&flaky)),
    );

    let worker = worker(
        &dir,
        "",
        &[
            ("json.properties", &json_cfg),
            ("text.properties", &text_cfg),
            ("flaky.properties", &flaky_cfg),
        ],
    );

    // JSON arrays: every value once, in order, exactly as JsonConverter writes it.
    wait_until(
        "10 JSON records at the server",
        WAIT,
        || {
            let records: usize = json_server
                .requests()
                .iter()
                .filter_map(|r| serde_json::from_str::<Vec<serde_json::Value>>(r.body_str()).ok())
                .map(|a| a.len())
                .sum();
            (records >= 10).then_some(())
        },
        || format!("{:#?}\n{}", json_server.requests(), worker.log_tail(30)),
    );
    let requests = json_server.requests();
    let mut values = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/events?src=sluice");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-api-version"), Some("2"));
        let array: Vec<serde_json::Value> = serde_json::from_str(r.body_str())
            .unwrap_or_else(|e| panic!("a JSON array: {e}: {}", r.body_str()));
        assert!((1..=4).contains(&array.len()), "{}", r.body_str());
        values.extend(array.iter().map(|v| v.to_string()));
    }
    assert_eq!(values, json_values, "every record once, in order");
    assert!(
        requests
            .iter()
            .any(|r| r.body_str().contains(r#"{"id":0,"name":"user \"0\""}"#)),
        "values are written compactly, as JsonConverter does: {requests:#?}"
    );

    // Framed text.
    wait_until(
        "7 lines at the server",
        WAIT,
        || (unframe(&text_server.requests(), "<<", "|", ">>", 3).len() >= 7).then_some(()),
        || format!("{:#?}", text_server.requests()),
    );
    let requests = text_server.requests();
    assert!(requests
        .iter()
        .all(|r| r.method == "PUT" && r.path == "/lines"));
    assert!(requests
        .iter()
        .all(|r| r.header("content-type") == Some("text/plain; charset=utf-8")));
    assert_eq!(unframe(&requests, "<<", "|", ">>", 3), lines);

    // Retries: the same body until accepted; then the next record, once.
    let got = flaky.wait_for_requests(5, WAIT);
    let bodies: Vec<&str> = got.iter().map(Recorded::body_str).collect();
    assert_eq!(bodies, ["first", "first", "first", "first", "second"]);
    let line = worker.wait_for_log_line("the first retry", WAIT, |l| {
        l.contains(&flaky_name) && l.contains("got HTTP 503: busy; retry 1 of 5 in 200 ms")
    });
    assert!(line.contains("POST http://127.0.0.1:"), "{line}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        flaky.requests().len(),
        5,
        "nothing sent twice once accepted"
    );
    for name in [&json_name, &text_name, &flaky_name] {
        worker.wait_for_state(name, "RUNNING", WAIT);
    }
}

#[test]
fn http_sink_sends_a_rejected_record_to_the_dlq_and_fails_clearly_when_it_cannot_connect() {
    let dir = TestDir::new("http-sink-errors");
    let picky = TestHttpServer::start(|r, _| {
        if r.body_str().contains("bad") {
            Reply::status(400, "field `name` is required")
        } else {
            Reply::status(201, "created")
        }
    });
    let dlq = unique("http-sink-dlq");
    let (_, _, picky_cfg) = http_sink(
        &picky.url("/items"),
        &["good 1".into(), "bad 2".into(), "good 3".into()],
        &format!(
            "{}errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
             errors.deadletterqueue.topic.replication.factor=1\n\
             errors.deadletterqueue.context.headers.enable=true\n",
            grant(&picky)
        ),
    );
    // Granted, but nothing listens there.
    let closed_port = free_port();
    let (unreachable, _, unreachable_cfg) = http_sink(
        &format!("http://127.0.0.1:{closed_port}/void"),
        &["lost?".into()],
        &format!(
            "wasm.network.allow=127.0.0.1:{closed_port}\nmax.retries=2\nretry.backoff.ms=100\n"
        ),
    );
    // A real server, but the connector does not grant it.
    let fenced_server = TestHttpServer::ok();
    let (fenced, _, fenced_cfg) = http_sink(&fenced_server.url("/fenced"), &["x".into()], "");

    let worker = worker(
        &dir,
        "",
        &[
            ("picky.properties", &picky_cfg),
            ("unreachable.properties", &unreachable_cfg),
            ("fenced.properties", &fenced_cfg),
        ],
    );

    // The 400 is not retried; its record alone is in the DLQ; the others were delivered.
    let dead = Broker::shared().consume_all(&dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value_str(), "bad 2");
    let got = picky.wait_for_requests(3, WAIT);
    let bodies: Vec<&str> = got.iter().map(Recorded::body_str).collect();
    assert_eq!(bodies, ["good 1", "bad 2", "good 3"]);

    let task = worker.wait_for_task_state(&unreachable, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!(
            "POST http://127.0.0.1:{closed_port}/void (1 record) got no answer"
        )) && trace.contains("gave up after 2 retries (max.retries)"),
        "{trace}"
    );

    let task = worker.wait_for_task_state(&fenced, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("cannot be sent: HTTP request to http://127.0.0.1:")
            && trace.contains("not granted by the connector's wasm.network.allow"),
        "{trace}"
    );
    assert!(
        fenced_server.requests().is_empty(),
        "nothing may reach an ungranted server"
    );
}

#[test]
fn http_sink_credentials_come_from_config_providers_and_never_show() {
    let dir = TestDir::new("http-sink-secrets");
    let password = "pw-do-not-log-7731";
    let token = "tok-do-not-log-5519";
    let secrets = dir.write(
        "http-secrets.properties",
        format!("password={password}\ntoken={token}\n"),
    );
    let basic_server = TestHttpServer::ok();
    let password_ref = format!("${{file:{}:password}}", secrets.display());
    let (basic, _, basic_cfg) = http_sink(
        &basic_server.url("/basic"),
        &["b1".into()],
        &format!(
            "{}auth.type=basic\nconnection.user=ann\nconnection.password={password_ref}\n",
            grant(&basic_server)
        ),
    );
    // The server refuses the token: the task fails, and its trace must not quote the token.
    let bearer_server = TestHttpServer::start(|_, _| Reply::status(401, "bad token"));
    let (bearer, _, bearer_cfg) = http_sink(
        &bearer_server.url("/bearer"),
        &["t1".into()],
        &format!(
            "{}auth.type=bearer\nbearer.token=${{file:{}:token}}\n",
            grant(&bearer_server),
            secrets.display()
        ),
    );
    let providers = format!(
        "config.providers=file\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
         config.providers.file.param.allowed.paths={}\n",
        dir.path().display()
    );
    let worker = worker(
        &dir,
        &providers,
        &[
            ("basic.properties", &basic_cfg),
            ("bearer.properties", &bearer_cfg),
        ],
    );

    let got = basic_server.wait_for_requests(1, WAIT);
    // base64("ann:pw-do-not-log-7731")
    let expected = format!("Basic {}", base64(format!("ann:{password}").as_bytes()));
    assert_eq!(got[0].header("authorization"), Some(expected.as_str()));
    let got = bearer_server.wait_for_requests(1, WAIT);
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    let task = worker.wait_for_task_state(&bearer, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("got HTTP 401: bad token"), "{trace}");

    let config = worker.get(&format!("/connectors/{basic}/config")).json();
    assert_eq!(
        config["connection.password"],
        serde_json::json!(password_ref)
    );
    let mut shown = String::new();
    for name in [&basic, &bearer] {
        for path in [
            format!("/connectors/{name}"),
            format!("/connectors/{name}/config"),
            format!("/connectors/{name}/tasks"),
            format!("/connectors/{name}/status"),
        ] {
            shown.push_str(&worker.get(&path).body);
        }
    }
    shown.push_str(&worker.log_text());
    for secret in [password, token] {
        assert!(
            !shown.contains(secret),
            "{secret} leaked into REST or the log"
        );
    }
    assert!(
        !shown.contains(&base64(format!("ann:{password}").as_bytes())),
        "the Authorization value leaked"
    );
}

#[test]
fn http_sink_reports_responses_and_errors_to_the_reporter_topics() {
    let dir = TestDir::new("http-sink-reporter");
    let broker = Broker::shared();
    // 201 with an id for good records, 400 for a bad one.
    let server = TestHttpServer::start(|r, _| {
        let body = r.body_str();
        if body.contains("bad") {
            Reply::status(400, "field `name` is required")
        } else {
            Reply::status(201, format!(r#"{{"id":"{}"}}"#, body.replace("good ", "")))
        }
    });
    let results = unique("http-results");
    let errors = unique("http-errors");
    let dlq = unique("http-reporter-dlq");
    let (name, topic, config) = http_sink(
        &server.url("/items?api_key=k1"),
        &["good 1".into(), "bad 2".into(), "good 3".into()],
        &format!(
            "{}reporter.bootstrap.servers={}\n\
             reporter.result.topic.name={results}\nreporter.result.topic.replication.factor=1\n\
             reporter.error.topic.name={errors}\nreporter.error.topic.replication.factor=1\n\
             reporter.error.topic.value.format=string\n\
             errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
             errors.deadletterqueue.topic.replication.factor=1\n",
            grant(&server),
            broker.bootstrap()
        ),
    );
    let worker = worker(&dir, "", &[("reporter.properties", &config)]);
    // The reporter topics exist once the first put reported (the worker creates them).
    server.wait_for_requests(3, WAIT);

    // Results: one record per delivered input record, the response body as a JSON string, and
    // Confluent's input_record_* headers naming the input record.
    let got = broker.consume_all(&results, 2, WAIT);
    assert_eq!(got.len(), 2, "{got:?}");
    for (m, (offset, id)) in got.iter().zip([(0, "1"), (2, "3")]) {
        let body = format!(r#"{{"id":"{id}"}}"#);
        assert_eq!(m.value_str(), serde_json::Value::String(body).to_string());
        assert_eq!(m.key, None);
        assert_eq!(m.header_str("input_record_topic"), Some(topic.as_str()));
        assert_eq!(m.header_str("input_record_partition"), Some("0"));
        assert_eq!(
            m.header_str("input_record_offset"),
            Some(offset.to_string().as_str())
        );
        let ts: i64 = m
            .header_str("input_record_timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("a timestamp header: {:?}", m.headers));
        assert!(ts > 1_700_000_000_000, "the input record's time: {ts}");
        let names: Vec<&str> = m.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "input_record_offset",
                "input_record_timestamp",
                "input_record_partition",
                "input_record_topic"
            ]
        );
    }

    // Errors: the rejected record, with Confluent's message as plain text (value.format=string)
    // and its error headers; the URL without its query (it may hold an API key).
    let got = broker.consume_all(&errors, 1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    let url = format!("http://127.0.0.1:{}/items?…", server.port());
    assert_eq!(
        got[0].value_str(),
        format!(
            "Unable to process HTTP request. HTTP Response code: 400, Reason phrase: , Url: {url}, \
             Response content: field `name` is required, Exception: null, Error message: null"
        )
    );
    for (k, v) in [
        ("input_record_offset", "1"),
        ("input_record_topic", topic.as_str()),
        ("status_code", "400"),
        ("payload", "bad 2"),
        ("response_content", "field `name` is required"),
        ("url", url.as_str()),
        ("reason_phrase", ""),
        ("error_message", "null"),
        ("exception", "null"),
    ] {
        assert_eq!(got[0].header_str(k), Some(v), "{k}: {:?}", got[0].headers);
    }
    // The rejected record is also in the dead letter queue, as before.
    let dead = broker.consume_all(&dlq, 1, WAIT);
    assert_eq!(dead[0].value_str(), "bad 2");
    worker.wait_for_state(&name, "RUNNING", WAIT);
}
