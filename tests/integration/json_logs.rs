//! `--log-format json` (or `SLUICE_LOG_FORMAT=json`): the worker logs one JSON object per line,
//! with the level, the message, the target and the spans (`connector`, `task`) an event
//! happened in, so log shippers need no parsing rules.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{default_worker_props, unique, Broker, TestDir, Worker};

use crate::datagen;

#[test]
fn json_log_format_writes_one_object_per_line_with_task_spans() {
    let broker = Broker::shared();
    let dir = TestDir::new("json-logs");
    let topic = unique("json-logs");
    broker.create_topic(&topic, 1);
    let name = unique("json-src");
    let port = sluice_tests::free_port();
    let worker_file = dir.write(
        "worker.properties",
        format!(
            "{}listeners=http://127.0.0.1:{port}\n",
            default_worker_props(Some(broker), dir.path())
        ),
    );
    let connector = dir.write("datagen.properties", datagen(&name, &topic, 50, 0));
    let mut worker = Worker::launch(
        dir.path(),
        &[PathBuf::from("--log-format=json"), worker_file, connector],
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    );
    worker.wait_rest_ready(Duration::from_secs(240));
    worker.wait_for_state(&name, "RUNNING", Duration::from_secs(120));
    worker.sigterm();
    worker.wait_exit(Duration::from_secs(60));

    let text = worker.log_text();
    let events: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l:?}"))
        })
        .collect();
    assert!(events.len() >= 3, "{text}");
    for e in &events {
        assert!(e["timestamp"].is_string(), "{e}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&e["level"].as_str().unwrap_or("")),
            "{e}"
        );
        assert!(e["target"].is_string(), "{e}");
    }
    let started = events
        .iter()
        .find(|e| e["fields"]["message"] == "connector started")
        .unwrap_or_else(|| panic!("no 'connector started' event:\n{text}"));
    assert_eq!(started["fields"]["connector"], name.as_str(), "{started}");
    assert_eq!(started["level"], "INFO");
    // An event inside the task's thread carries the task span with its connector and id.
    let in_task = events
        .iter()
        .find(|e| {
            e["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == "task" && s["connector"] == name.as_str())
            })
        })
        .unwrap_or_else(|| panic!("no event inside task {name}'s span:\n{text}"));
    let span = in_task["spans"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "task"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(span["task"], 0, "{in_task}");
}

#[test]
fn an_unknown_log_format_is_a_usage_error() {
    let dir = TestDir::new("json-logs-bad");
    let out = std::process::Command::new(sluice_tests::sluice_bin())
        .args(["standalone", "--log-format=xml", "worker.properties"])
        .current_dir(dir.path())
        .output()
        .expect("run sluice");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value 'xml'") && stderr.contains("json"),
        "{stderr}"
    );
    let out = std::process::Command::new(sluice_tests::sluice_bin())
        .args(["standalone", "worker.properties"])
        .env("SLUICE_LOG_FORMAT", "yaml")
        .current_dir(dir.path())
        .output()
        .expect("run sluice");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sluice: SLUICE_LOG_FORMAT=\"yaml\" is not a log format; expected text or json\n"
    );
}
