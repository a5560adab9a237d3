//! Bad connector configs. A connector the worker cannot create is reported with Kafka Connect's
//! own message while the worker's other connectors keep running; a file that does not parse stops
//! the worker at start with the file and line, before anything runs.

use std::time::Duration;

use sluice_tests::{default_worker_props, seqs, unique, Broker, TestDir, Worker};

use crate::{datagen, FILE_SOURCE};

/// Starts a worker with a healthy datagen connector first and `bad` second; returns the worker,
/// the healthy connector's name and topic.
fn worker_with_healthy_neighbour(dir: &TestDir, bad: (&str, &str)) -> (Worker, String, String) {
    let broker = Broker::shared();
    let topic = unique("healthy");
    broker.create_topic(&topic, 1);
    let healthy = unique("healthy");
    let worker = Worker::start(
        dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            ("healthy.properties", &datagen(&healthy, &topic, 200, 100)),
            bad,
        ],
    );
    (worker, healthy, topic)
}

/// The healthy connector runs and delivers every one of its records.
fn assert_neighbour_delivers(worker: &Worker, name: &str, topic: &str) {
    worker.wait_for_state(name, "RUNNING", Duration::from_secs(120));
    let messages = Broker::shared().consume_all(topic, 200, Duration::from_secs(120));
    let mut got = seqs(&messages);
    got.sort_unstable();
    got.dedup();
    assert_eq!(
        got,
        (0..200).collect::<Vec<i64>>(),
        "the healthy connector's records"
    );
}

#[test]
fn unknown_connector_class_is_reported_with_the_available_plugins() {
    let dir = TestDir::new("unknown-class");
    let bad_name = unique("bad");
    let bad = format!("name={bad_name}\nconnector.class=com.example.NoSuchConnector\ntopic=x\n");
    let (worker, healthy, topic) = worker_with_healthy_neighbour(&dir, ("bad.properties", &bad));

    let line = worker.wait_for_log_line("the unknown-class error", Duration::from_secs(60), |l| {
        l.contains("Failed to find any class that implements Connector and which name matches com.example.NoSuchConnector, available connectors are: ")
    });
    assert!(
        line.contains("datagen"),
        "the available plugins should be listed, datagen among them: {line}"
    );
    assert!(
        line.contains("FileStreamSource") || line.contains(FILE_SOURCE),
        "the available plugins should list the file source: {line}"
    );
    assert_neighbour_delivers(&worker, &healthy, &topic);
}

#[test]
fn missing_required_key_is_named() {
    let dir = TestDir::new("missing-key");
    let bad_name = unique("bad");
    let input = dir.write("input.txt", "a\nb\n");
    // FileStreamSource without `topic`, which Kafka's FileStreamSourceConnector requires.
    let bad = format!(
        "name={bad_name}\nconnector.class={FILE_SOURCE}\nfile={}\n",
        input.display()
    );
    let (worker, healthy, topic) = worker_with_healthy_neighbour(&dir, ("bad.properties", &bad));

    worker.wait_for_log_line("the missing-key error", Duration::from_secs(60), |l| {
        l.contains("Missing required configuration \"topic\" which has no default value.")
    });
    let log = worker.log_text();
    assert!(
        log.contains(&bad_name) || log.contains(&*dir.join("bad.properties").to_string_lossy()),
        "the error should name the connector {bad_name} or its file; log:\n{log}"
    );
    assert_neighbour_delivers(&worker, &healthy, &topic);
}

/// Starts a worker on a good datagen connector and the malformed file `name`, which must stop it
/// with a non-zero exit and `message` in its output.
fn assert_rejected_at_start(
    name: &str,
    contents: &str,
    message: impl Fn(&std::path::Path) -> String,
) {
    let broker = Broker::shared();
    let dir = TestDir::new("malformed");
    let good = datagen(&unique("good"), &unique("unused"), 10, 10);
    let mut worker = Worker::spawn(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("good.properties", &good), (name, contents)],
    );
    let status = worker.wait_exit(Duration::from_secs(120));
    let log = worker.log_text();
    assert!(
        !status.success(),
        "the worker must refuse a malformed {name}, but exited with {status}; log:\n{log}"
    );
    let expected = message(&dir.join(name));
    assert!(
        log.contains(&expected),
        "expected {expected:?} in the worker's output:\n{log}"
    );
}

#[test]
fn malformed_properties_file_stops_the_worker_naming_file_and_line() {
    assert_rejected_at_start(
        "bad.properties",
        "name=bad\nconnector.class=datagen\ntopic=\\u00zz\n",
        |p| format!("{}:3: Malformed \\uxxxx encoding", p.display()),
    );
}

#[test]
fn malformed_json_file_stops_the_worker_naming_file_line_and_column() {
    let json = "{\n  \"name\": \"bad\",\n  \"config\": {\n    \"tasks.max\": ,\n    \"connector.class\": \"datagen\"\n  }\n}\n";
    assert_rejected_at_start("bad.json", json, |p| {
        format!("{}:4:18: expected value", p.display())
    });
}
