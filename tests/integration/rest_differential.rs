//! Differential test: one scripted REST session replayed against Sluice and against the
//! reference Apache Kafka Connect 3.9 (`connect-standalone`), both on the same tansu broker, both
//! running Kafka's FileStreamSource by its Kafka class name (Sluice's is a WASM plugin).
//! Every step compares the status code and the JSON body.
//!
//! Design decisions:
//! - Bodies are compared *exactly* after [`normalise`], which rewrites only the documented
//!   differences (each rule below says why). A few steps compare less than the whole body
//!   ([`Compare`]); each says why at the step. Nothing else may differ.
//! - Both workers get each request back to back; between requests that change state the test
//!   polls both until the transition is visible (never a fixed sleep), so a slow JVM start or a
//!   slow plugin compile cannot make it flaky.
//! - Every difference is collected (with the step, the path in the JSON and both values) and
//!   reported together at the end: one run shows everything that differs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, http_request, unique, wait_until, Broker, ReferenceConnect, TestDir,
    Worker,
};

use crate::{FILE_SINK, FILE_SOURCE};

const WAIT: Duration = Duration::from_secs(120);

/// What a step compares.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    /// Status code and the normalised body, value for value.
    Exact,
    /// Status code only; the caller compares the body itself.
    StatusOnly,
    /// Status code, and every array element's structure (lists whose members legitimately
    /// differ, e.g. the installed plugins).
    ElementShape,
}

/// The replies of both systems to one request.
struct Pair {
    reference: (u16, Value),
    sluice: (u16, Value),
}

struct Session {
    reference: SocketAddr,
    sluice: SocketAddr,
    /// Every difference found, in step order.
    diffs: Vec<String>,
    steps: usize,
}

fn send(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let r = http_request(addr, method, path, body)
        .unwrap_or_else(|e| panic!("{method} {path} to {addr}: {e}"));
    let body = if r.body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&r.body).unwrap_or_else(|_| Value::String(r.body.clone()))
    };
    (r.status, body)
}

impl Session {
    /// Sends the request to both, compares, and returns both (normalised) replies.
    fn step(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        compare: Compare,
    ) -> Pair {
        let text = body.map(Value::to_string);
        self.steps += 1;
        let (rs, mut rb) = send(self.reference, method, path, text.as_deref());
        let (ss, mut sb) = send(self.sluice, method, path, text.as_deref());
        normalise(&mut rb);
        normalise(&mut sb);
        let label = format!("step {} ({what}: {method} {path})", self.steps);
        if rs != ss {
            self.diffs.push(format!(
                "{label}: status {rs} (reference) vs {ss} (sluice); bodies:\n    reference: {rb}\n    sluice:    {sb}"
            ));
        } else {
            let mut found = Vec::new();
            match compare {
                Compare::Exact => diff(&rb, &sb, "$", &mut found),
                Compare::StatusOnly => {}
                Compare::ElementShape => {
                    let set = |v: &Value| {
                        let mut s: Vec<String> = v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| shape(e).to_string())
                            .collect();
                        s.sort();
                        s.dedup();
                        Value::from(s)
                    };
                    if rb.is_array() != sb.is_array() {
                        found.push(format!("$: {rb} vs {sb}"));
                    }
                    diff(&set(&rb), &set(&sb), "$[*]", &mut found);
                }
            }
            for f in found {
                self.diffs.push(format!("{label}: {f}"));
            }
        }
        Pair {
            reference: (rs, rb),
            sluice: (ss, sb),
        }
    }

    /// A validate request, compared through [`validation_view`] (by key, without each
    /// plugin's own wording).
    fn validate(&mut self, what: &str, plugin: &str, config: &Value) {
        let pair = self.step(
            what,
            "PUT",
            &format!("/connector-plugins/{plugin}/config/validate"),
            Some(config),
            Compare::StatusOnly,
        );
        let mut found = Vec::new();
        // Keys only one side defines are reported too: diff() lists them as "only in".
        diff(
            &validation_view(&pair.reference.1),
            &validation_view(&pair.sluice.1),
            "$",
            &mut found,
        );
        let step = self.steps;
        self.diffs.extend(
            found
                .into_iter()
                .map(|f| format!("step {step} ({what}, by key): {f}")),
        );
    }

    /// Polls `GET path` on both until `ready` holds for each (Sluice and the reference move
    /// through transitions at their own pace). A system that never gets there, or answers an
    /// error status (nothing to wait for), is a difference, recorded without stopping the
    /// session.
    fn wait(&mut self, what: &str, path: &str, ready: impl Fn(&Value) -> bool) {
        for (system, addr) in [("reference", self.reference), ("sluice", self.sluice)] {
            let deadline = Instant::now() + WAIT;
            loop {
                let (status, body) = send(addr, "GET", path, None);
                if status == 200 && ready(&body) {
                    break;
                }
                if status >= 400 || Instant::now() >= deadline {
                    self.diffs.push(format!(
                        "after step {}: {system} never reached \"{what}\" (GET {path}: {status} {body})",
                        self.steps
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Waits until the connector is in `state` and has `tasks` tasks, all in `state`.
    fn wait_state(&mut self, name: &str, state: &str, tasks: usize) {
        self.wait(
            &format!("{name} {state} with {tasks} task(s)"),
            &format!("/connectors/{name}/status"),
            |s| {
                let list = s["tasks"].as_array().map(Vec::as_slice).unwrap_or_default();
                s["connector"]["state"] == state
                    && list.len() == tasks
                    && list.iter().all(|t| t["state"] == state)
            },
        );
    }
}

/// Rewrites what legitimately differs between the two workers:
/// - `worker_id`: each worker's own advertised `host:port` (two workers, two ports).
/// - `trace`: Java stack traces vs Sluice's message and guest backtrace (README: the trace's
///   text is implementation-specific; its presence is still compared).
/// - `version` (GET / and plugin lists) and `commit` (GET /): Sluice reports the Kafka API
///   version it implements and its own build, Kafka its release and git commit.
/// - `task.class` (in the task configs of GET /connectors/{name}/tasks) is removed: Kafka's
///   worker adds the connector's Java task class to each task config; a Sluice connector is one
///   WASM component with no separate task class, so there is nothing to name (README
///   "Differences").
fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("task.class");
            for (key, value) in map.iter_mut() {
                match (key.as_str(), &*value) {
                    ("worker_id", Value::String(_)) => *value = json!("<worker-id>"),
                    ("trace", Value::String(_)) => *value = json!("<trace>"),
                    ("version" | "commit", Value::String(_)) => *value = json!("<version>"),
                    _ => normalise(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// The structure of a value: objects keep their keys, arrays their length, scalars become
/// their type name.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("boolean"),
        Value::Null => json!("null"),
    }
}

/// Every place where `a` (reference) and `b` (sluice) differ, as `path: a vs b`.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => diff(va, vb, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: only in the reference: {va}")),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: only in sluice: {vb}"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{path}[{i}]"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} (reference) vs {b} (sluice)")),
    }
}

/// The validate response, reduced to what both must agree on for the same config: the
/// top-level keys, `name`, `error_count`, `groups`, and per config key (by name, so the order
/// of the list does not matter) its value, errors and visibility, plus the definition's
/// structure, type, requiredness and default. Not compared: a definition's documentation
/// text, display name, width, importance and order in its group, which are each plugin's own
/// wording. One documented difference is normalised: Sluice's FileStreamSource requires
/// `file` (README "Differences": a sandboxed plugin has no standard input to read instead), so
/// `file`'s `required` is not compared.
fn validation_view(v: &Value) -> Value {
    let configs: serde_json::Map<String, Value> = v["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let d = &c["definition"];
            let key = c["value"]["name"].as_str().unwrap_or_default().to_string();
            let mut definition = json!({"shape": shape(d), "type": d["type"],
                                        "required": d["required"], "default_value": d["default_value"]});
            if key == "file" {
                definition["required"] = json!("<documented difference>");
            }
            (key, json!({"definition": definition, "value": c["value"]}))
        })
        .collect();
    json!({
        "keys": shape(v).as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        "name": v["name"],
        "error_count": v["error_count"],
        "groups": v["groups"],
        "configs": configs,
    })
}

/// A plugin's definition list (`GET /connector-plugins/{plugin}/config`) reduced like the
/// definitions in [`validation_view`]: per key (order-free) its structure, type, group,
/// requiredness and default; `file`'s requiredness is the same documented difference.
fn definitions_view(v: &Value) -> Value {
    let defs: serde_json::Map<String, Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let key = d["name"].as_str().unwrap_or_default().to_string();
            let mut view = json!({"shape": shape(d), "type": d["type"], "group": d["group"],
                                  "required": d["required"], "default_value": d["default_value"]});
            if key == "file" {
                view["required"] = json!("<documented difference>");
            }
            (key, view)
        })
        .collect();
    Value::Object(defs)
}

#[test]
fn rest_api_matches_the_reference_kafka_connect() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-differential");
    let topic = unique("differential");
    broker.create_topic(&topic, 1);
    // 14 bytes: FileStreamSource's committed position once all three lines are read.
    let input = dir.write("in.txt", "one\ntwo\nthree\n");
    let file = input.display().to_string();

    let reference = ReferenceConnect::start(&dir, broker, "");
    let sluice = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &[]);
    // Kafka Connect looks the cluster id up before it opens its REST listener; Sluice opens
    // the listener first and looks the id up in the background (`discover_cluster_id`), so
    // on a loaded machine the first `GET /` can come before the answer. Compare once both
    // know it.
    wait_until(
        "Sluice to know the Kafka cluster id",
        WAIT,
        || {
            let r = sluice.get("/");
            (r.status == 200 && !r.json()["kafka_cluster_id"].is_null()).then_some(())
        },
        || format!("GET / answers {}", sluice.get("/").body),
    );
    let mut s = Session {
        reference: reference.rest,
        sluice: sluice.rest,
        diffs: Vec::new(),
        steps: 0,
    };
    let name = unique("diff-src");
    let c = |rest: &str| format!("/connectors/{name}{rest}");
    let config =
        json!({"connector.class": FILE_SOURCE, "tasks.max": "1", "file": file, "topic": topic});

    // --- the worker and an empty cluster ---
    s.step("server info", "GET", "/", None, Compare::Exact);
    // KIP-1017's readiness endpoint: both have completed startup.
    s.step("health", "GET", "/health", None, Compare::Exact);
    s.step("no connectors", "GET", "/connectors", None, Compare::Exact);
    s.step("unknown connector", "GET", &c(""), None, Compare::Exact);
    s.step(
        "status of an unknown connector",
        "GET",
        &c("/status"),
        None,
        Compare::Exact,
    );
    s.step(
        "pause an unknown connector",
        "PUT",
        &c("/pause"),
        None,
        Compare::Exact,
    );
    s.step(
        "resume an unknown connector",
        "PUT",
        &c("/resume"),
        None,
        Compare::Exact,
    );
    s.step(
        "delete an unknown connector",
        "DELETE",
        &c(""),
        None,
        Compare::Exact,
    );
    s.step(
        "config of an unknown connector",
        "GET",
        &c("/config"),
        None,
        Compare::Exact,
    );
    s.step(
        "patch an unknown connector",
        "PATCH",
        &c("/config"),
        Some(&json!({"a": null})),
        Compare::Exact,
    );
    s.step(
        "tasks of an unknown connector",
        "GET",
        &c("/tasks"),
        None,
        Compare::Exact,
    );
    s.step(
        "offsets of an unknown connector",
        "GET",
        &c("/offsets"),
        None,
        Compare::Exact,
    );
    s.step(
        "topics of an unknown connector",
        "GET",
        &c("/topics"),
        None,
        Compare::Exact,
    );
    // Not replayed: requests where the reference 3.9 standalone worker is broken, and Sluice
    // deliberately answers as the API documents (each is asserted in rest_api.rs instead):
    // - POST /connectors/{unknown}/restart: 500 NullPointerException (Sluice: 404).
    // - PUT /connectors/{unknown}/stop: 500 "No connector `x` configured" (Sluice: 404).
    // - POST /connectors/{unknown}/tasks/0/restart: 500 "not a recognizable type" (Sluice: 404).
    // - POST …/tasks/{unknown id}/restart: 404, but the reference then lists a phantom FAILED
    //   task with that id in the connector's status for good (Sluice: 404, status unchanged).
    // - a malformed JSON body: 500 with Jackson's message (Sluice: 400, "never a 500").
    // Both list the FileStreamSource connector; the rest of the list is each one's plugins.
    s.step(
        "connector plugins",
        "GET",
        "/connector-plugins",
        None,
        Compare::ElementShape,
    );

    // Each connector's definitions: its own keys, then the framework's for its kind.
    for plugin in [FILE_SOURCE, FILE_SINK] {
        let what = format!("definitions of {plugin}");
        let pair = s.step(
            &what,
            "GET",
            &format!("/connector-plugins/{plugin}/config"),
            None,
            // Compared below through definitions_view() (documentation is each one's wording).
            Compare::StatusOnly,
        );
        let mut found = Vec::new();
        diff(
            &definitions_view(&pair.reference.1),
            &definitions_view(&pair.sluice.1),
            "$",
            &mut found,
        );
        let step = s.steps;
        s.diffs.extend(
            found
                .into_iter()
                .map(|f| format!("step {step} ({what}, by key): {f}")),
        );
    }

    // --- validation ---
    let bad = json!({"connector.class": FILE_SOURCE, "tasks.max": "abc", "file": file});
    s.validate("validate a bad config", FILE_SOURCE, &bad);
    // Kafka's source-connector keys with values both reject with Kafka's messages (values
    // that do not parse show as null). Not replayed: `exactly.once.support=required` and
    // `transaction.boundary=interval|connector`, which the reference's standalone worker
    // accepts and ignores and Sluice refuses (README "Differences"; config/connector.rs tests).
    s.validate(
        "validate bad exactly-once and tasks.max.enforce values",
        FILE_SOURCE,
        &json!({"connector.class": FILE_SOURCE, "file": file, "topic": topic,
                "tasks.max.enforce": "maybe", "exactly.once.support": "bogus",
                "transaction.boundary": "bogus", "transaction.boundary.interval.ms": "abc"}),
    );
    s.validate(
        "validate Kafka's exactly-once defaults spelled out",
        FILE_SOURCE,
        &json!({"connector.class": FILE_SOURCE, "file": file, "topic": topic,
                "tasks.max.enforce": "false", "exactly.once.support": "REQUESTED",
                "transaction.boundary": "poll", "transaction.boundary.interval.ms": "-5",
                "offsets.storage.topic": "ignored-in-standalone"}),
    );
    // A sink: no topic selection (Kafka's bare messages on both keys), then both selections.
    s.validate(
        "validate a sink without topics",
        FILE_SINK,
        &json!({"connector.class": FILE_SINK, "tasks.max": "x", "file": file}),
    );
    s.validate(
        "validate a sink with topics and topics.regex",
        FILE_SINK,
        &json!({"connector.class": FILE_SINK, "file": file, "topics": "a", "topics.regex": "a.*"}),
    );
    s.step(
        "validate with another connector.class",
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(&bad),
        Compare::Exact,
    );
    s.step(
        "create an invalid connector",
        "POST",
        "/connectors",
        Some(&json!({"name": name, "config": {"connector.class": FILE_SOURCE, "tasks.max": "1", "file": file}})),
        Compare::Exact,
    );
    s.step(
        "create with a mismatched config name",
        "POST",
        "/connectors",
        Some(&json!({"name": name, "config": {"name": "other", "connector.class": FILE_SOURCE}})),
        Compare::Exact,
    );

    // --- create by Kafka's class name ---
    s.step(
        "create",
        "POST",
        "/connectors",
        Some(&json!({"name": name, "config": config})),
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "create again",
        "POST",
        "/connectors",
        Some(&json!({"name": name, "config": config})),
        Compare::Exact,
    );
    s.step("list", "GET", "/connectors", None, Compare::Exact);
    s.step(
        "list expanded",
        "GET",
        "/connectors?expand=status&expand=info",
        None,
        Compare::Exact,
    );
    s.step("info", "GET", &c(""), None, Compare::Exact);
    s.step("config", "GET", &c("/config"), None, Compare::Exact);
    s.step("status", "GET", &c("/status"), None, Compare::Exact);
    s.step("tasks", "GET", &c("/tasks"), None, Compare::Exact);
    s.step(
        "task status",
        "GET",
        &c("/tasks/0/status"),
        None,
        Compare::Exact,
    );
    s.step(
        "unknown task status",
        "GET",
        &c("/tasks/7/status"),
        None,
        Compare::Exact,
    );

    // --- offsets and topics of a running connector ---
    s.wait(
        "the committed position to reach the end of the input",
        &c("/offsets"),
        |o| o["offsets"][0]["offset"]["position"] == 14,
    );
    s.step("offsets", "GET", &c("/offsets"), None, Compare::Exact);
    s.step("topics", "GET", &c("/topics"), None, Compare::Exact);
    s.step(
        "alter offsets of a running connector",
        "PATCH",
        &c("/offsets"),
        Some(&json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": 0}}]})),
        Compare::Exact,
    );
    s.step(
        "reset offsets of a running connector",
        "DELETE",
        &c("/offsets"),
        None,
        Compare::Exact,
    );

    // --- pause / resume ---
    s.step("pause", "PUT", &c("/pause"), None, Compare::Exact);
    s.wait_state(&name, "PAUSED", 1);
    s.step("status paused", "GET", &c("/status"), None, Compare::Exact);
    s.step("resume", "PUT", &c("/resume"), None, Compare::Exact);
    s.wait_state(&name, "RUNNING", 1);

    // --- the restart variants ---
    s.step(
        "restart the connector",
        "POST",
        &c("/restart"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "restart explicitly without tasks",
        "POST",
        &c("/restart?includeTasks=false&onlyFailed=false"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "restart with tasks",
        "POST",
        &c("/restart?includeTasks=true"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "restart only failed",
        "POST",
        &c("/restart?onlyFailed=true"),
        None,
        Compare::Exact,
    );
    s.step(
        "restart failed tasks",
        "POST",
        &c("/restart?includeTasks=true&onlyFailed=true"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "restart a task",
        "POST",
        &c("/tasks/0/restart"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);

    // --- config changes ---
    let mut updated = config.clone();
    updated["batch.size"] = json!("100");
    s.step(
        "update the config",
        "PUT",
        &c("/config"),
        Some(&updated),
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "update with a mismatched name",
        "PUT",
        &c("/config"),
        Some(&json!({"name": "other", "connector.class": FILE_SOURCE})),
        Compare::Exact,
    );
    s.step(
        "patch the config",
        "PATCH",
        &c("/config"),
        Some(&json!({"batch.size": null})),
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step(
        "config after patch",
        "GET",
        &c("/config"),
        None,
        Compare::Exact,
    );

    // --- stop, offsets of a stopped connector, resume ---
    s.step("stop", "PUT", &c("/stop"), None, Compare::Exact);
    s.wait(&format!("{name} STOPPED"), &c("/status"), |st| {
        st["connector"]["state"] == "STOPPED" && st["tasks"] == json!([])
    });
    s.step("status stopped", "GET", &c("/status"), None, Compare::Exact);
    s.step("info stopped", "GET", &c(""), None, Compare::Exact);
    s.step("tasks stopped", "GET", &c("/tasks"), None, Compare::Exact);
    s.step(
        "offsets stopped",
        "GET",
        &c("/offsets"),
        None,
        Compare::Exact,
    );
    s.step(
        "alter offsets without offsets",
        "PATCH",
        &c("/offsets"),
        Some(&json!({"offsets": []})),
        Compare::Exact,
    );
    s.step(
        "alter offsets",
        "PATCH",
        &c("/offsets"),
        Some(&json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": 4}}]})),
        Compare::Exact,
    );
    s.step(
        "offsets altered",
        "GET",
        &c("/offsets"),
        None,
        Compare::Exact,
    );
    s.step(
        "reset offsets",
        "DELETE",
        &c("/offsets"),
        None,
        Compare::Exact,
    );
    s.step("offsets reset", "GET", &c("/offsets"), None, Compare::Exact);
    s.step(
        "resume a stopped connector",
        "PUT",
        &c("/resume"),
        None,
        Compare::Exact,
    );
    s.wait_state(&name, "RUNNING", 1);
    s.step("status resumed", "GET", &c("/status"), None, Compare::Exact);

    // --- delete ---
    s.step("delete", "DELETE", &c(""), None, Compare::Exact);
    s.step("info after delete", "GET", &c(""), None, Compare::Exact);
    s.step(
        "list after delete",
        "GET",
        "/connectors",
        None,
        Compare::Exact,
    );

    assert!(
        s.diffs.is_empty(),
        "Sluice's REST answers differ from the reference Kafka Connect 3.9 in {} place(s) over {} steps:\n{}",
        s.diffs.len(),
        s.steps,
        s.diffs.join("\n")
    );
}
