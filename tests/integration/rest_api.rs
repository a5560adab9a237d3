//! Kafka Connect's REST write API against a real worker, real plugins and a real broker:
//! create (by Kafka's FileStreamSource class name), config get/put/patch, tasks, pause/resume,
//! the restart variants, validation, stop, delete, the 404/409/400 cases, and connectors
//! created through REST coming back (with their target state) after the worker restarts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, default_worker_props, unique, wait_until, Broker, TestDir, Worker,
};

use crate::{FILE_SINK, FILE_SOURCE, JSON_CONVERTER};

/// A response: status, lower-cased head, body text.
pub(crate) struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {:?}",
                self.status, self.body
            )
        })
    }
}

/// One request with an optional JSON body (the harness's client only GETs).
pub(crate) fn call(worker: &Worker, method: &str, path: &str, body: Option<&Value>) -> Reply {
    call_raw(
        worker,
        method,
        path,
        &body.map(Value::to_string).unwrap_or_default(),
    )
}

/// One request with a raw body (for malformed JSON).
pub(crate) fn call_raw(worker: &Worker, method: &str, path: &str, body: &str) -> Reply {
    let mut s = TcpStream::connect_timeout(&worker.rest, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        worker.rest,
        body.len()
    )
    .expect("write request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    // Small bodies only: axum answers with Content-Length, never chunked, for these.
    Reply {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

pub(crate) fn expect(reply: Reply, status: u16, what: &str) -> Reply {
    assert_eq!(reply.status, status, "{what}: body {}", reply.body);
    reply
}

pub(crate) fn error(message: &str, code: u16) -> Value {
    json!({"error_code": code, "message": message})
}

#[test]
fn rest_lifecycle_of_connectors_survives_a_worker_restart() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-api");
    let topic = unique("rest");
    broker.create_topic(&topic, 1);
    let input = dir.write("in.txt", "one\ntwo\nthree\n");
    let output = dir.join("out.txt");
    let props = default_worker_props(Some(broker), dir.path());
    let mut worker = Worker::start(&dir, &props, &[]);
    let src = unique("rest-src");
    let sink = unique("rest-sink");

    // --- create by Kafka's class name: 201, Location, ConnectorInfo ---
    let config = json!({
        "connector.class": FILE_SOURCE,
        "tasks.max": 1,
        "file": input.display().to_string(),
        "topic": topic,
    });
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": src, "config": config})),
        ),
        201,
        "create",
    );
    assert!(
        r.head.contains(&format!("location: /connectors/{src}\r\n")),
        "{}",
        r.head
    );
    let mut stored = config.clone();
    stored["tasks.max"] = json!("1");
    stored["name"] = json!(src);
    assert_eq!(
        r.json(),
        json!({"name": src, "config": stored, "tasks": [{"connector": src, "task": 0}], "type": "source"})
    );
    let status = worker.wait_for_state(&src, "RUNNING", Duration::from_secs(120));
    let worker_id = status["connector"]["worker_id"].clone();
    let mut reader = broker.reader(&topic);
    let got: Vec<String> = reader
        .read_until(3, Duration::from_secs(120))
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(got, ["one", "two", "three"]);

    // --- 409, 400 and 404 ---
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": src, "config": config})),
        ),
        409,
        "duplicate",
    );
    assert_eq!(
        r.json(),
        error(&format!("Connector {src} already exists"), 409)
    );
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(
                &json!({"name": "bad", "config": {"connector.class": FILE_SOURCE, "tasks.max": "x", "topic": "t"}}),
            ),
        ),
        400,
        "invalid",
    );
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with(
            "Connector configuration is invalid and contains the following 4 error(s):\n"
        ) && message.contains(
            "`file` is required: Kafka's FileStreamSource reads standard input when it is unset"
        ) && message
            .contains("Invalid value x for configuration tasks.max: Not a number of type INT")
            && message
                .contains("Invalid value null for configuration tasks.max: Value must be non-null")
            && message
                .contains("Missing required configuration \"file\" which has no default value."),
        "{message}"
    );
    assert_eq!(
        expect(
            call(&worker, "GET", "/connectors/bad", None),
            404,
            "not created"
        )
        .json(),
        error("Connector bad not found", 404)
    );
    let r = call(
        &worker,
        "POST",
        "/connectors",
        Some(&json!({"name": "n", "config": {"name": "m"}})),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            error(
                "Connector name configuration (m) doesn't match connector name in the URL (n)",
                400
            )
        )
    );
    let r = expect(
        call(&worker, "PUT", "/connectors/ghost/pause", None),
        404,
        "pause ghost",
    );
    // Kafka's wording for pause/resume (rest_differential.rs compares it with the reference).
    assert_eq!(r.json(), error("Unknown connector ghost", 404));

    // --- config, tasks, task status ---
    assert_eq!(
        worker.get(&format!("/connectors/{src}/config")).json(),
        stored
    );
    let tasks = expect(
        call(&worker, "GET", &format!("/connectors/{src}/tasks"), None),
        200,
        "tasks",
    )
    .json();
    assert_eq!(tasks[0]["id"], json!({"connector": src, "task": 0}));
    assert_eq!(
        tasks[0]["config"]["file"],
        json!(input.display().to_string())
    );
    assert_eq!(
        worker
            .get(&format!("/connectors/{src}/tasks/0/status"))
            .json(),
        json!({"id": 0, "state": "RUNNING", "worker_id": worker_id})
    );
    let r = worker.get(&format!("/connectors/{src}/tasks/5/status"));
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            error(&format!("No status found for task {src}-5"), 404)
        )
    );

    // --- pause: nothing flows; resume: it flows again ---
    let r = expect(
        call(&worker, "PUT", &format!("/connectors/{src}/pause"), None),
        202,
        "pause",
    );
    assert_eq!(r.body, "");
    let paused = worker.wait_for_state(&src, "PAUSED", Duration::from_secs(60));
    assert_eq!(paused["tasks"][0]["id"], 0);
    append(&input, "four\n");
    assert_eq!(
        reader.read_for(Duration::from_secs(3)),
        3,
        "records arrived while paused"
    );
    expect(
        call(&worker, "PUT", &format!("/connectors/{src}/resume"), None),
        202,
        "resume",
    );
    worker.wait_for_state(&src, "RUNNING", Duration::from_secs(60));
    let got: Vec<&str> = reader
        .read_until(4, Duration::from_secs(120))
        .iter()
        .map(|m| m.value_str())
        .collect();
    assert_eq!(got, ["one", "two", "three", "four"]);

    // --- restart variants ---
    let r = expect(
        call(&worker, "POST", &format!("/connectors/{src}/restart"), None),
        204,
        "restart",
    );
    assert_eq!(r.body, "");
    let r = expect(
        call(
            &worker,
            "POST",
            &format!("/connectors/{src}/restart?includeTasks=true"),
            None,
        ),
        202,
        "restart with tasks",
    );
    assert_eq!(
        r.json(),
        json!({"name": src, "connector": {"state": "RESTARTING", "worker_id": worker_id},
               "tasks": [{"id": 0, "state": "RESTARTING", "worker_id": worker_id}], "type": "source"})
    );
    worker.wait_for_state(&src, "RUNNING", Duration::from_secs(60));
    let r = expect(
        call(
            &worker,
            "POST",
            &format!("/connectors/{src}/restart?includeTasks=true&onlyFailed=true"),
            None,
        ),
        202,
        "restart only failed",
    );
    assert_eq!(
        r.json()["connector"]["state"],
        "RUNNING",
        "nothing failed, nothing restarts"
    );
    assert_eq!(r.json()["tasks"][0]["state"], "RUNNING");
    // Appended before the task restart: the restarted task reads it from its committed offset.
    // (Not while running: FileStreamSource does not yet see lines appended after it reached
    // the end of the file — a file-source/WASI issue outside this test's scope.)
    append(&input, "five\n");
    expect(
        call(
            &worker,
            "POST",
            &format!("/connectors/{src}/tasks/0/restart"),
            None,
        ),
        204,
        "task restart",
    );
    let r = call(
        &worker,
        "POST",
        &format!("/connectors/{src}/tasks/3/restart"),
        None,
    );
    assert_eq!(
        (r.status, r.json()),
        (404, error(&format!("Task {src}-3 not found"), 404))
    );
    worker.wait_for_state(&src, "RUNNING", Duration::from_secs(60));
    reader.read_until(5, Duration::from_secs(120));
    reader.read_for(Duration::from_secs(1));
    let got: Vec<&str> = reader.messages.iter().map(|m| m.value_str()).collect();
    assert_eq!(
        got,
        ["one", "two", "three", "four", "five"],
        "restarts resume from the committed offset"
    );

    // --- plugins and validation ---
    let plugins = worker.get("/connector-plugins").json();
    assert!(
        plugins.as_array().is_some_and(|a| a
            .iter()
            .any(|p| p["class"] == FILE_SOURCE && p["type"] == "source")),
        "{plugins}"
    );
    assert!(!plugins.to_string().contains("converter"), "{plugins}");
    let all = worker.get("/connector-plugins?connectorsOnly=false").json();
    assert!(
        all.as_array().is_some_and(|a| a
            .iter()
            .any(|p| p["class"] == JSON_CONVERTER && p["type"] == "converter")),
        "{all}"
    );
    let defs = worker
        .get("/connector-plugins/FileStreamSink/config")
        .json();
    assert!(
        defs.as_array()
            .is_some_and(|a| a.iter().any(|d| d["name"] == "file")),
        "{defs}"
    );
    let r = expect(
        call(
            &worker,
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(
                &json!({"name": "v", "connector.class": FILE_SINK, "tasks.max": "x", "file": "/tmp/x"}),
            ),
        ),
        200,
        "validate",
    );
    let infos = r.json();
    assert_eq!(infos["name"], FILE_SINK);
    assert_eq!(infos["error_count"], 4, "{infos}");
    let errors = |key: &str| -> Value {
        infos["configs"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["value"]["name"] == key))
            .map(|c| c["value"]["errors"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        errors("tasks.max"),
        json!([
            "Invalid value x for configuration tasks.max: Not a number of type INT",
            "Invalid value null for configuration tasks.max: Value must be non-null"
        ])
    );
    assert_eq!(
        errors("topics"),
        json!([
            // Kafka's bare message (no "Invalid value" prefix), as the reference answers.
            "Must configure one of topics or topics.regex"
        ])
    );
    assert_eq!(errors("file"), json!([]));
    let class_def = infos["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "value.converter"))
        .map(|c| c["definition"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            &class_def["type"],
            &class_def["required"],
            &class_def["default_value"]
        ),
        (&json!("CLASS"), &json!(false), &Value::Null)
    );
    let r = call(
        &worker,
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(&json!({"connector.class": FILE_SOURCE})),
    );
    assert_eq!((r.status, r.json()), (400, error(&format!("Included connector type {FILE_SOURCE} does not match request type FileStreamSink"), 400)));

    // --- PUT creates (201) then updates (200); PATCH null removes a key ---
    let sink_config = json!({"connector.class": "FileStreamSink", "topics": topic, "file": output.display().to_string()});
    let r = expect(
        call(
            &worker,
            "PUT",
            &format!("/connectors/{sink}/config"),
            Some(&sink_config),
        ),
        201,
        "put creates",
    );
    assert!(
        r.head
            .contains(&format!("location: /connectors/{sink}\r\n")),
        "{}",
        r.head
    );
    assert_eq!(r.json()["type"], "sink");
    wait_until(
        "5 lines in the sink file",
        Duration::from_secs(120),
        || (count_lines(&output) >= 5).then_some(()),
        || format!("{} lines", count_lines(&output)),
    );
    let mut updated = sink_config.clone();
    updated["tasks.max"] = json!("1");
    let r = expect(
        call(
            &worker,
            "PUT",
            &format!("/connectors/{sink}/config"),
            Some(&updated),
        ),
        200,
        "put updates",
    );
    assert_eq!(r.json()["config"]["tasks.max"], "1");
    let r = expect(
        call(
            &worker,
            "PATCH",
            &format!("/connectors/{sink}/config"),
            Some(&json!({"tasks.max": null})),
        ),
        200,
        "patch",
    );
    assert!(r.json()["config"].get("tasks.max").is_none(), "{}", r.body);
    worker.wait_for_state(&sink, "RUNNING", Duration::from_secs(60));

    // --- stop: STOPPED with no tasks ---
    expect(
        call(&worker, "PUT", &format!("/connectors/{src}/stop"), None),
        204,
        "stop",
    );
    assert_eq!(
        worker.get(&format!("/connectors/{src}/status")).json(),
        json!({"name": src, "connector": {"state": "STOPPED", "worker_id": worker_id}, "tasks": [], "type": "source"})
    );
    assert_eq!(
        worker.get(&format!("/connectors/{src}/tasks")).json(),
        json!([])
    );
    assert_eq!(
        worker.get(&format!("/connectors/{src}")).json()["tasks"],
        json!([])
    );

    // --- restart the worker: both REST-created connectors come back, src still STOPPED ---
    let stored_file = std::fs::read_to_string(dir.join("connectors.json"))
        .expect("connectors.json next to the offsets file");
    assert!(
        stored_file.contains(&src) && stored_file.contains(&sink),
        "{stored_file}"
    );
    worker.sigterm();
    assert!(worker.wait_exit(Duration::from_secs(60)).success());
    drop(worker);
    let worker = Worker::start(&dir, &props, &[]);
    let mut names = worker.get("/connectors").json();
    names
        .as_array_mut()
        .expect("array")
        .sort_by_key(|v| v.to_string());
    let mut expected = vec![json!(src), json!(sink)];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(names, Value::Array(expected));
    worker.wait_for_state(&sink, "RUNNING", Duration::from_secs(120));
    assert_eq!(
        worker.status(&src).expect("src status")["connector"]["state"],
        "STOPPED"
    );
    assert_eq!(
        worker.get(&format!("/connectors/{src}/config")).json(),
        stored
    );
    append(&input, "six\n");
    expect(
        call(&worker, "PUT", &format!("/connectors/{src}/resume"), None),
        202,
        "resume after restart",
    );
    worker.wait_for_state(&src, "RUNNING", Duration::from_secs(120));
    wait_until(
        "6 lines in the sink file",
        Duration::from_secs(120),
        || (count_lines(&output) >= 6).then_some(()),
        || format!("{} lines", count_lines(&output)),
    );
    let out = std::fs::read_to_string(&output).expect("sink output");
    assert_eq!(out.lines().last(), Some("six"), "{out}");

    // --- delete ---
    let r = expect(
        call(&worker, "DELETE", &format!("/connectors/{sink}"), None),
        204,
        "delete",
    );
    assert_eq!(r.body, "");
    let r = call(&worker, "DELETE", &format!("/connectors/{sink}"), None);
    assert_eq!(
        (r.status, r.json()),
        (404, error(&format!("Connector {sink} not found"), 404))
    );
    assert_eq!(worker.get("/connectors").json(), json!([src]));
    let stored_file = std::fs::read_to_string(dir.join("connectors.json")).expect("store");
    assert!(!stored_file.contains(&sink), "{stored_file}");
}

pub(crate) fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open input");
    f.write_all(text.as_bytes()).expect("append");
}

/// Waits until connector `name` itself is in `state` (STOPPED and start-failed connectors have
/// no tasks, which `Worker::wait_for_state` requires); returns the status document.
pub(crate) fn wait_connector_state(worker: &Worker, name: &str, state: &str) -> Value {
    wait_until(
        &format!("connector {name} to be {state}"),
        Duration::from_secs(60),
        || {
            worker
                .status(name)
                .filter(|s| s["connector"]["state"] == state)
        },
        || format!("{:?}", worker.status(name)),
    )
}
