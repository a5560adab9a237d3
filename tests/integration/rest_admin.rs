//! `/admin/loggers`, config providers, `initial_state` and malformed requests against a real
//! worker: log levels change what the running worker logs; `${file:…}` and `${env:…}`
//! placeholders reach the plugin resolved while REST and the log only ever show the
//! placeholder; an unresolvable placeholder fails the connector with a precise message.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, default_worker_props, unique, wait_until, Broker, TestDir, Worker,
};

use crate::rest_api::{call, call_raw, error, expect, wait_connector_state};
use crate::{FILE_SINK, FILE_SOURCE};

fn log_lines_with(worker: &Worker, needle: &str) -> usize {
    worker.log_text().matches(needle).count()
}

#[test]
fn log_levels_change_at_runtime() {
    let dir = TestDir::new("rest-loggers");
    let input = dir.write("in.txt", "x\n");
    let worker = Worker::start(&dir, &default_worker_props(None, dir.path()), &[]);
    let all = worker.get("/admin/loggers").json();
    assert_eq!(all["root"]["last_modified"], Value::Null, "{all}");
    assert!(all["root"]["level"].is_string(), "{all}");
    let src = unique("log-src");
    expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(
                &json!({"name": src, "config": {"connector.class": FILE_SOURCE, "file": input.display().to_string(), "topic": unique("log")}}),
            ),
        ),
        201,
        "create",
    );
    // "target state changed" is an INFO line of the runtime.
    let marker = "target state changed";
    let r = expect(
        call(
            &worker,
            "PUT",
            "/admin/loggers/sluice::runtime",
            Some(&json!({"level": "warn"})),
        ),
        200,
        "set warn",
    );
    assert_eq!(r.json(), json!(["sluice::runtime"]));
    let one = worker.get("/admin/loggers/sluice::runtime").json();
    assert_eq!(one["level"], "WARN");
    assert!(
        one["last_modified"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000),
        "{one}"
    );
    let before = log_lines_with(&worker, marker);
    expect(
        call(&worker, "PUT", &format!("/connectors/{src}/pause"), None),
        202,
        "pause",
    );
    worker.wait_for_state(&src, "PAUSED", Duration::from_secs(60));
    assert_eq!(
        log_lines_with(&worker, marker),
        before,
        "INFO logged at WARN"
    );
    // Setting the parent sets the known descendant too (Kafka's PUT semantics).
    let r = expect(
        call(
            &worker,
            "PUT",
            "/admin/loggers/sluice",
            Some(&json!({"level": "INFO"})),
        ),
        200,
        "set info",
    );
    assert_eq!(r.json(), json!(["sluice", "sluice::runtime"]));
    expect(
        call(&worker, "PUT", &format!("/connectors/{src}/resume"), None),
        202,
        "resume",
    );
    wait_until(
        "the INFO line once the level is INFO again",
        Duration::from_secs(30),
        || (log_lines_with(&worker, marker) > before).then_some(()),
        || worker.log_tail(20),
    );
    let all = worker.get("/admin/loggers").json();
    assert_eq!(all["sluice"]["level"], "INFO");
    assert_eq!(all["sluice::runtime"]["level"], "INFO");

    // cluster scope: 204; errors as Kafka answers them.
    let r = call(
        &worker,
        "PUT",
        "/admin/loggers/sluice::wasm?scope=cluster",
        Some(&json!({"level": "DEBUG"})),
    );
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = call(
        &worker,
        "PUT",
        "/admin/loggers/sluice",
        Some(&json!({"level": "LOUD"})),
    );
    assert_eq!(
        (r.status, r.json()),
        (404, error("invalid log level 'LOUD'.", 404))
    );
    let r = call(&worker, "PUT", "/admin/loggers/sluice", Some(&json!({})));
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            error(
                "Desired 'level' parameter was not specified in request.",
                400
            )
        )
    );
    let r = call(&worker, "GET", "/admin/loggers/nope", None);
    assert_eq!(
        (r.status, r.json()),
        (404, error("Logger nope not found.", 404))
    );

    // Any name is a logger, as in log4j (the reference Kafka Connect 3.9 answered 200 for each
    // of these): one that cannot be a tracing target is listed but names no code, and cannot
    // smuggle a directive into the filter (`a,sluice=trace` leaves `sluice` at INFO).
    for (path, name) in [
        ("%C3%BCn%C3%AFcode", "ünïcode"),
        ("%F0%9F%98%80", "\u{1F600}"),
        ("a%2Csluice%3Dtrace", "a,sluice=trace"),
        ("x%5Bspan%5D", "x[span]"),
    ] {
        let r = call(
            &worker,
            "PUT",
            &format!("/admin/loggers/{path}"),
            Some(&json!({"level": "ALL"})),
        );
        assert_eq!((r.status, r.json()), (200, json!([name])), "PUT {name:?}");
        let one = worker.get(&format!("/admin/loggers/{path}")).json();
        assert_eq!(one["level"], "ALL", "GET {name:?}");
    }
    assert_eq!(
        worker.get("/admin/loggers").json()["sluice"]["level"],
        "INFO"
    );
}

#[test]
fn config_providers_resolve_for_tasks_only() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-providers");
    let topic = unique("prov");
    broker.create_topic(&topic, 1);
    broker.produce(&topic, &["p0", "p1"]);
    let output = dir.join("resolved-out.txt");
    let secret = "hunter2-do-not-log";
    let props = dir.write(
        "secrets.properties",
        format!("out={}\napi.secret={secret}\n", output.display()),
    );
    let worker_props = format!(
        "{}config.providers=file,env\n\
         config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
         config.providers.file.param.allowed.paths={}\n\
         config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n\
         config.providers.env.param.allowlist.pattern=SLUICE_.*\n",
        default_worker_props(Some(broker), dir.path()),
        dir.path().display()
    );
    let worker = Worker::start(&dir, &worker_props, &[]);
    let sink = unique("prov-sink");
    let file_ref = format!("${{file:{}:out}}", props.display());
    let secret_ref = format!("${{file:{}:api.secret}}", props.display());
    let config = json!({
        "connector.class": FILE_SINK,
        "topics": topic,
        "file": file_ref,
        "custom.secret": secret_ref,
    });
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": sink, "config": config})),
        ),
        201,
        "create with placeholders",
    );
    assert_eq!(r.json()["config"]["file"], json!(file_ref));
    wait_until(
        "2 lines in the resolved file",
        Duration::from_secs(120),
        || (count_lines(&output) >= 2).then_some(()),
        || {
            format!(
                "{} lines; log:\n{}",
                count_lines(&output),
                worker.log_tail(30)
            )
        },
    );
    // REST shows placeholders only: config, info, tasks, expand=info.
    assert_eq!(
        worker.get(&format!("/connectors/{sink}/config")).json()["file"],
        json!(file_ref)
    );
    let tasks = worker.get(&format!("/connectors/{sink}/tasks")).json();
    assert_eq!(tasks[0]["config"]["file"], json!(file_ref), "{tasks}");
    for path in [
        format!("/connectors/{sink}"),
        format!("/connectors/{sink}/config"),
        format!("/connectors/{sink}/tasks"),
        format!("/connectors/{sink}/status"),
        "/connectors?expand=info&expand=status".to_string(),
    ] {
        let body = worker.get(&path).body;
        assert!(!body.contains(secret), "{path}: {body}");
        assert!(!body.contains("resolved-out.txt"), "{path}: {body}");
    }
    assert!(!worker.log_text().contains(secret), "secret in the log");

    // Unresolvable placeholders are accepted when stored, and fail the connector at start with
    // a message naming key, provider and path — never a value.
    let missing_key = format!(
        "provider \"file\": no key \"nope\" in {:?}",
        props.display().to_string()
    );
    for (what, file, why) in [
        (
            "an unknown provider",
            "${vault:db:out}".to_string(),
            "unknown config provider \"vault\" (the worker's config.providers lists [\"env\", \"file\"])".to_string(),
        ),
        (
            "a denied env var",
            "${env:HOME}".to_string(),
            "environment variable \"HOME\" is not allowed by config.providers.env.param.allowlist.pattern".to_string(),
        ),
        (
            "a missing key",
            format!("${{file:{}:nope}}", props.display()),
            missing_key,
        ),
    ] {
        let name = unique("prov-bad");
        expect(
            call(
                &worker,
                "POST",
                "/connectors",
                Some(&json!({"name": name, "config": {"connector.class": FILE_SINK, "topics": topic, "file": file}})),
            ),
            201,
            &format!("create with {what}"),
        );
        let status = wait_connector_state(&worker, &name, "FAILED");
        assert_eq!(
            status["connector"]["trace"],
            json!(format!("cannot resolve the config provider placeholder in \"file\": {why}")),
            "{what}"
        );
    }
    assert!(!worker.log_text().contains(secret), "secret in the log");
}

#[test]
fn initial_state_and_malformed_requests() {
    let dir = TestDir::new("rest-initial-state");
    let input = dir.write("in.txt", "x\n");
    let worker = Worker::start(&dir, &default_worker_props(None, dir.path()), &[]);
    let config = json!({"connector.class": FILE_SOURCE, "file": input.display().to_string(), "topic": unique("init")});
    let paused = unique("init-paused");
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": paused, "config": config, "initial_state": "paused"})),
        ),
        201,
        "create paused",
    );
    assert_eq!(r.json()["tasks"], json!([{"connector": paused, "task": 0}]));
    let status = worker.wait_for_state(&paused, "PAUSED", Duration::from_secs(60));
    assert_eq!(status["tasks"][0]["state"], "PAUSED");
    let stopped = unique("init-stopped");
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": stopped, "config": config, "initial_state": "STOPPED"})),
        ),
        201,
        "create stopped",
    );
    assert_eq!(r.json()["tasks"], json!([]));
    let status = wait_connector_state(&worker, &stopped, "STOPPED");
    assert_eq!(status["tasks"], json!([]));
    let listed = worker.get("/connectors?expand=status&expand=info").json();
    assert_eq!(listed[&paused]["status"]["connector"]["state"], "PAUSED");
    assert_eq!(listed[&stopped]["info"]["type"], "source");
    assert_eq!(listed[&stopped]["info"]["config"]["topic"], config["topic"]);

    // Malformed requests: precise 4xx, never a 500.
    let cases: Vec<(&str, String, &str, u16, String)> = vec![
        ("POST", "/connectors".into(), "{\"name\": ", 400, "Request body is not valid JSON: EOF while parsing a value at line 1 column 9".into()),
        ("POST", "/connectors".into(), "{\"name\":\"n\",\"config\":{\"tasks.max\":[1]}}", 400, "Config value of \"tasks.max\" is an array; expected a string, number or boolean".into()),
        ("POST", "/connectors".into(), "{\"name\":\"n\",\"config\":{},\"initial_state\":\"GONE\"}", 400, "Invalid initial_state \"GONE\"; expected RUNNING, PAUSED or STOPPED".into()),
        ("PUT", format!("/connectors/{paused}/config"), "{\"name\":\"other\"}", 400, format!("Connector name configuration (other) doesn't match connector name in the URL ({paused})")),
        ("PATCH", format!("/connectors/{paused}/offsets"), "[]", 400, "The request body must be a JSON object of string keys and values, not an array".into()),
        ("PUT", "/admin/loggers/root".into(), "\"DEBUG\"", 400, "The request body must be a JSON object of string keys and values, not a string".into()),
    ];
    for (method, path, body, status, message) in cases {
        let r = call_raw(&worker, method, &path, body);
        assert_eq!(
            (r.status, r.json()),
            (status, error(&message, status)),
            "{method} {path} {body}"
        );
    }
    // A name with a control character is an invalid config (Kafka's validator message).
    let r = call(
        &worker,
        "POST",
        "/connectors",
        Some(&json!({"name": "bad\nname", "config": config})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with(
            "Connector configuration is invalid and contains the following 1 error(s):\n"
        ) && message.contains("String may not contain control sequences"),
        "{message}"
    );
    assert!(worker
        .get("/connectors")
        .json()
        .as_array()
        .is_some_and(|a| a.len() == 2));
    // The OpenAPI document is served.
    let doc = worker.get("/openapi.json").json();
    assert!(
        doc["paths"]["/connectors/{name}/offsets"]["patch"].is_object(),
        "{doc}"
    );
}
