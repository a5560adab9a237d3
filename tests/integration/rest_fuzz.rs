//! The REST API fuzzed from its own OpenAPI document (`docs/openapi.json`) with schemathesis
//! (PyPI, pinned in `tools/rest-fuzz/requirements.txt`): no answer may be a 5xx, every error
//! answer must be in Kafka Connect's shape (`tools/rest-fuzz/hooks.py`), and the worker must
//! survive the run.
//!
//! Design decision: the path parameters come from dictionaries of what the worker really has
//! (its connectors, plugin class names and aliases, loggers, task ids), mixed with generated
//! values, so the fuzzer reaches the handlers behind the 404s. The seed is fixed (set
//! `SLUICE_FUZZ_SEED` to explore others), so a failure reproduces.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    default_worker_props, unique, venv_python, workspace_root, Broker, TestDir, Worker,
};

use crate::datagen;

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn toml_list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| toml_str(v)).collect();
    format!("[{}]", items.join(", "))
}

#[test]
fn rest_api_fuzzed_from_openapi_answers_no_5xx_and_only_kafka_shaped_errors() {
    let st = venv_python("rest-fuzz-venv", "rest-fuzz").with_file_name("st");
    let broker = Broker::shared();
    let dir = TestDir::new("rest-fuzz");
    let topic = unique("fuzz");
    broker.create_topic(&topic, 2);
    let source = unique("fuzz-src");
    let sink = unique("fuzz-sink");
    let sink_config = format!(
        "name={sink}\nconnector.class=FileStreamSink\ntasks.max=2\nfile={}\ntopics={topic}\n",
        dir.join("out.txt").display()
    );
    let mut worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            (
                "source.properties",
                &datagen(&source, &topic, 1_000_000, 20),
            ),
            ("sink.properties", &sink_config),
        ],
    );
    worker.wait_for_state(&source, "RUNNING", Duration::from_secs(120));
    worker.wait_for_state(&sink, "RUNNING", Duration::from_secs(120));

    let plugins: Vec<String> = worker
        .get("/connector-plugins?connectorsOnly=false")
        .json()
        .as_array()
        .expect("a plugin list")
        .iter()
        .filter_map(|p| p["class"].as_str().map(str::to_string))
        .chain([
            "FileStreamSink".to_string(),
            "org.apache.kafka.connect.transforms.InsertField$Value".to_string(),
        ])
        .collect();
    let loggers: Vec<String> = match worker.get("/admin/loggers").json() {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("GET /admin/loggers: {other}"),
    };
    let loggers: Vec<String> = loggers
        .into_iter()
        .chain([
            "sluice::rest".into(),
            "org.apache.kafka.connect".into(),
            "ünïcode".into(),
            // Not a tracing target: answered 500 before the loggers API kept such names out
            // of the filter.
            "😀x".into(),
        ])
        .collect();
    let connectors = vec![
        source.clone(),
        sink.clone(),
        "no-such-connector".to_string(),
    ];
    let config = dir.write(
        "schemathesis.toml",
        format!(
            "[dictionaries.connectors]\nvalues = {}\n\
             [dictionaries.plugins]\nvalues = {}\n\
             [dictionaries.loggers]\nvalues = {}\n\
             [dictionaries.tasks]\nvalues = [0, 1, 7]\n\
             [parameters]\n\
             \"path.name\" = {{ dictionary = \"connectors\", probability = 0.8 }}\n\
             \"path.plugin\" = {{ dictionary = \"plugins\", probability = 0.8 }}\n\
             \"path.logger\" = {{ dictionary = \"loggers\", probability = 0.7 }}\n\
             \"path.task\" = {{ dictionary = \"tasks\", probability = 0.8 }}\n",
            toml_list(&connectors),
            toml_list(&plugins),
            toml_list(&loggers),
        ),
    );
    let seed = std::env::var("SLUICE_FUZZ_SEED").unwrap_or_else(|_| "2026".to_string());
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .arg("run")
        .arg(workspace_root().join("docs/openapi.json"))
        .args(["--url", &format!("http://{}", worker.rest)])
        .args(["--checks", "not_a_server_error,kafka_connect_error_shape"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "25", "--workers", "2", "--seed", &seed])
        .args(["--generation-database", "none", "--request-timeout", "60"])
        .args(["--continue-on-failure"])
        .arg("--report-dir")
        .arg(dir.join("report"))
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", workspace_root().join("tools/rest-fuzz"))
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run schemathesis: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    let summary = &lines[lines.len().saturating_sub(20)..];
    eprintln!("schemathesis (seed {seed}):\n{}", summary.join("\n"));
    // "Test cases:\n  968 generated, 968 passed": the run must have reached the API.
    let generated: usize = stdout
        .split("Test cases:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!("no test case count in schemathesis' output:\n{stdout}\n{stderr}")
        });
    assert!(
        generated >= 500,
        "schemathesis generated only {generated} test cases (seed {seed}):\n{stdout}"
    );
    assert!(
        out.status.success(),
        "schemathesis found problems (seed {seed}, exit {}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        worker.try_exit().is_none(),
        "the worker exited during the fuzz run; log:\n{}",
        worker.log_tail(60)
    );
    let log = worker.log_text();
    assert!(
        !log.contains("panicked"),
        "a panic during the fuzz run:\n{}",
        worker.log_tail(60)
    );
    // The API still works after the fuzz.
    assert_eq!(worker.get("/").status, 200);
}
