//! Plugin lifecycle against a real worker, real plugins and a real broker:
//! - automatic restart of failed tasks (`restart.*`): a real trapping plugin fails, is
//!   restarted with backoff and delivers again; `restart.max.attempts` stops the restarts and
//!   leaves the task FAILED; a pause cancels a pending restart; bad keys are refused;
//! - hot reload of `plugin.path`: a `.wasm` dropped in is usable at once (on demand) and listed
//!   by the periodic rescan, a broken one is logged once and disturbs nothing, a removed one
//!   leaves its running task alone, a replaced one is used from the connector's next restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{default_worker_props, plugins, unique, wait_until, Broker, TestDir, Worker};

use crate::rest_api::{call, expect};

const WAIT: Duration = Duration::from_secs(120);

/// Worker properties whose `plugin.path` is the built-ins plus `extra` (test plugins dir or a
/// directory the test fills).
fn props(dir: &TestDir, extra: &Path) -> String {
    format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        plugins().plugin_path.display(),
        extra.display()
    )
}

/// A test-trap-source connector (`.properties`) with a marker directory for its traps.
fn trap_source(name: &str, topic: &str, markers: &Path, extra: &str) -> String {
    std::fs::create_dir_all(markers).expect("create marker dir");
    format!(
        "name={name}\nconnector.class=test-trap-source\ntopic={topic}\n\
         trap.marker.dir={}\n{extra}",
        markers.display()
    )
}

fn markers(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("trap-"))
                .count()
        })
        .unwrap_or(0)
}

fn log_lines(worker: &Worker, pattern: impl Fn(&str) -> bool) -> Vec<String> {
    worker
        .log_text()
        .lines()
        .filter(|l| pattern(l))
        .map(str::to_string)
        .collect()
}

/// The record values of `topic`, waiting until one equals `last`.
fn read_until_value(topic: &str, last: &str) -> Vec<String> {
    let mut reader = Broker::shared().reader(topic);
    let seen = std::cell::Cell::new(0);
    wait_until(
        &format!("record {last:?} in {topic}"),
        WAIT,
        || {
            reader.read_for(Duration::from_millis(200));
            seen.set(reader.messages.len());
            let values: Vec<String> = reader
                .messages
                .iter()
                .map(|m| m.value_str().to_string())
                .collect();
            values.iter().any(|v| v == last).then_some(values)
        },
        || format!("{} records", seen.get()),
    )
}

#[test]
fn a_failed_task_is_restarted_with_backoff_and_delivers_after_recovery() {
    let dir = TestDir::new("restart-recovers");
    let topic = unique("restart");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("restart");
    let marker_dir = dir.join("markers");
    // Traps twice (after 5 records each time), then emits 20 records and idles.
    let config = trap_source(
        &name,
        &topic,
        &marker_dir,
        "trap.after=5\ntrap.times=2\ncount=20\nrestart.on.failure=true\n\
         restart.backoff.initial.ms=1500\nrestart.backoff.max.ms=3000\nrestart.max.attempts=5\n",
    );
    let worker = Worker::start(
        &dir,
        &props(&dir, &plugins().test_plugins),
        &[("trap.properties", &config)],
    );

    // While it waits for its restart the task is FAILED, its trace carrying the trap and the
    // schedule (1500 ms for the first restart, then doubled: 3000 ms, the max).
    let failed = worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
    let trace = failed["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("trap"), "{failed}");
    assert!(
        trace.contains("automatic restart 1 of 5 in 1500 ms")
            || trace.contains("automatic restart 2 of 5 in 3000 ms"),
        "the trace says which restart comes when: {trace}"
    );

    // Recovered: RUNNING (no trace, as Kafka shows a running task), and the records emitted
    // after the recovery (record-5 … record-19 only exist in the third run) are delivered.
    let values = read_until_value(&topic, "record-19");
    let status = worker.wait_for_task_state(&name, 0, "RUNNING", WAIT);
    assert!(status.get("trace").is_none(), "{status}");
    assert!(values.contains(&"record-10".to_string()), "{values:?}");
    assert_eq!(markers(&marker_dir), 2, "it trapped exactly twice");

    // One log line per scheduled restart, naming connector, task, attempt and delay.
    let scheduled = log_lines(&worker, |l| l.contains("failed: automatic restart"));
    assert_eq!(scheduled.len(), 2, "{scheduled:#?}");
    for (line, (attempt, delay)) in scheduled.iter().zip([(1, 1500), (2, 3000)]) {
        assert!(
            line.contains(&format!("task {name}-0 failed"))
                && line.contains(&format!("automatic restart {attempt} of 5 in {delay} ms")),
            "{line}"
        );
    }
}

#[test]
fn restarts_stop_at_max_attempts_and_leave_the_task_failed() {
    let dir = TestDir::new("restart-gives-up");
    let topic = unique("restart-max");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("restart-max");
    let marker_dir = dir.join("markers");
    // Traps on its first poll, every time.
    let config = trap_source(
        &name,
        &topic,
        &marker_dir,
        "trap.after=0\nrestart.on.failure=true\nrestart.backoff.initial.ms=100\n\
         restart.backoff.max.ms=200\nrestart.max.attempts=2\n",
    );
    let worker = Worker::start(
        &dir,
        &props(&dir, &plugins().test_plugins),
        &[("trap.properties", &config)],
    );

    let gave_up = worker.wait_for_log_line("the restarts giving up", WAIT, |l| {
        l.contains("not restarted again")
    });
    assert!(
        gave_up.contains(&format!("{name}-0")) && gave_up.contains("restart.max.attempts=2"),
        "{gave_up}"
    );
    let task = worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("trap") && trace.contains("2 automatic restarts made"),
        "{trace}"
    );
    // The first run and exactly two restarts ran.
    assert_eq!(markers(&marker_dir), 3);
    assert_eq!(
        log_lines(&worker, |l| l.contains("failed: automatic restart")).len(),
        2
    );

    // A manual restart starts counting afresh.
    expect(
        call(
            &worker,
            "POST",
            &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=true"),
            None,
        ),
        202,
        "restart",
    );
    wait_until(
        "the manual restart and its own two automatic restarts",
        WAIT,
        || (markers(&marker_dir) == 6).then_some(()),
        || format!("{} markers", markers(&marker_dir)),
    );
    worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
}

#[test]
fn pausing_cancels_a_pending_restart_and_bad_restart_keys_are_refused() {
    let dir = TestDir::new("restart-cancel");
    let topic = unique("restart-cancel");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("restart-cancel");
    let marker_dir = dir.join("markers");
    // The first restart would only come after ten minutes.
    let config = trap_source(
        &name,
        &topic,
        &marker_dir,
        "trap.after=0\nrestart.on.failure=true\nrestart.backoff.initial.ms=600000\n\
         restart.backoff.max.ms=600000\n",
    );
    let worker = Worker::start(
        &dir,
        &props(&dir, &plugins().test_plugins),
        &[("trap.properties", &config)],
    );
    let task = worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
    assert!(
        task["trace"]
            .as_str()
            .unwrap_or_default()
            .contains("automatic restart 1 (no limit) in 600000 ms"),
        "{task}"
    );

    expect(
        call(&worker, "PUT", &format!("/connectors/{name}/pause"), None),
        202,
        "pause",
    );
    worker.wait_for_log_line("the pending restart cancelled", WAIT, |l| {
        l.contains("pending automatic restart cancelled")
    });
    worker.wait_for_state(&name, "PAUSED", WAIT);
    assert_eq!(markers(&marker_dir), 1);
    // Resuming runs the task again now (it traps again: a second marker).
    expect(
        call(&worker, "PUT", &format!("/connectors/{name}/resume"), None),
        202,
        "resume",
    );
    wait_until(
        "the resumed task to run",
        WAIT,
        || (markers(&marker_dir) == 2).then_some(()),
        || format!("{} markers", markers(&marker_dir)),
    );

    // Bad values are refused with what is wrong and what would be accepted.
    let reply = expect(
        call(
            &worker,
            "PUT",
            "/connector-plugins/test-trap-source/config/validate",
            Some(&json!({
                "connector.class": "test-trap-source",
                "name": "v",
                "topic": "t",
                "restart.on.failure": "sometimes",
                "restart.max.attempts": "-3",
                "restart.backoff.seconds": "5",
            })),
        ),
        200,
        "validate",
    );
    let body = reply.json();
    assert_eq!(body["error_count"], 3, "{body}");
    let errors = |key: &str| -> Value {
        body["configs"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["value"]["name"] == key))
            .map(|c| c["value"]["errors"].clone())
            .unwrap_or_else(|| panic!("no {key} in {body}"))
    };
    assert_eq!(
        errors("restart.on.failure"),
        json!(["Invalid value sometimes for configuration restart.on.failure: Expected value to be either true or false"])
    );
    assert_eq!(
        errors("restart.max.attempts"),
        json!(["Invalid value -3 for configuration restart.max.attempts: use -1 (no limit) or a whole number of restarts from 0"])
    );
    assert!(
        errors("restart.backoff.seconds")[0]
            .as_str()
            .unwrap_or_default()
            .contains("reserved for the host; use restart.on.failure, restart.backoff.initial.ms, restart.backoff.max.ms or restart.max.attempts"),
        "{body}"
    );
}

/// Copies `from` into `dir` as `name` the way an operator should: write aside, then rename.
fn drop_plugin(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).expect("write plugin");
    let dest = dir.join(name);
    std::fs::rename(&tmp, &dest).expect("rename plugin into place");
    dest
}

/// test-trap-source with its version's build number replaced (`0.1.0+build.<n>`): a distinct
/// component, as a rebuilt plugin would be.
fn trap_source_build(n: u8) -> Vec<u8> {
    let mut bytes = std::fs::read(plugins().test_plugin("test-trap-source")).expect("read");
    let marker = b"0.1.0+build.1";
    let at: Vec<usize> = bytes
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| w == marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "test-trap-source should hold its version string exactly once"
    );
    bytes[at[0] + marker.len() - 1] = b'0' + n;
    bytes
}

/// GET /connector-plugins?connectorsOnly=false as `class → version`.
fn listed(worker: &Worker) -> Vec<(String, String)> {
    let r = worker.get("/connector-plugins?connectorsOnly=false");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            (
                p["class"].as_str().unwrap_or_default().to_string(),
                p["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn version_of(worker: &Worker, class: &str) -> Option<String> {
    listed(worker)
        .into_iter()
        .find(|(c, _)| c == class)
        .map(|(_, v)| v)
}

#[test]
fn plugin_files_are_hot_loaded_broken_ones_logged_once_and_removed_ones_leave_tasks_alone() {
    let dir = TestDir::new("hot-reload");
    let hot = dir.join("hot-plugins");
    std::fs::create_dir_all(&hot).expect("mkdir");
    let worker = Worker::start(&dir, &props(&dir, &hot), &[]);
    assert_eq!(version_of(&worker, "test-trap-source"), None);

    // Added: creating a connector right after the drop finds it (on-demand rescan).
    let trap_file = drop_plugin(&hot, "trap.wasm", &trap_source_build(1));
    let topic = unique("hot");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("hot");
    let marker_dir = dir.join("markers");
    std::fs::create_dir_all(&marker_dir).expect("mkdir");
    let config = json!({
        "name": name,
        "config": {
            "connector.class": "test-trap-source",
            "topic": topic,
            "trap.times": "0",
            "trap.marker.dir": marker_dir.display().to_string(),
            "count": "10",
        }
    });
    expect(
        call(&worker, "POST", "/connectors", Some(&config)),
        201,
        "create with a just-dropped plugin",
    );
    worker.wait_for_state(&name, "RUNNING", WAIT);
    read_until_value(&topic, "record-9");
    assert_eq!(
        version_of(&worker, "test-trap-source").as_deref(),
        Some("0.1.0+build.1")
    );

    // A broken file is logged once (file and reason) and changes nothing else.
    std::fs::write(
        hot.join("broken.wasm"),
        b"\0asm\x0d\0\x01\0 truncated component",
    )
    .expect("write broken");
    let line = worker.wait_for_log_line("the broken file rejected", WAIT, |l| {
        l.contains("broken.wasm")
    });
    assert!(line.contains("rejected plugin"), "{line}");
    // More scans: on demand (an unknown class) and periodic (a new file gets listed).
    for _ in 0..3 {
        let r = call(
            &worker,
            "GET",
            "/connector-plugins/com.example.NoSuchPlugin/config",
            None,
        );
        assert_eq!(r.status, 404, "{}", r.body);
    }
    drop_plugin(
        &hot,
        "trap-sink.wasm",
        &std::fs::read(plugins().test_plugin("test-trap-sink")).expect("read"),
    );
    wait_until(
        "the periodic rescan to list test-trap-sink",
        WAIT,
        || version_of(&worker, "test-trap-sink"),
        || format!("{:?}", listed(&worker)),
    );
    let broken_lines = log_lines(&worker, |l| l.contains("broken.wasm"));
    assert_eq!(broken_lines.len(), 1, "{broken_lines:#?}");
    let status = worker.status(&name).expect("status");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    // Removed: gone from the list and for new connectors; the running task is untouched.
    std::fs::remove_file(&trap_file).expect("remove plugin");
    wait_until(
        "test-trap-source to leave /connector-plugins",
        WAIT,
        || {
            version_of(&worker, "test-trap-source")
                .is_none()
                .then_some(())
        },
        || format!("{:?}", listed(&worker)),
    );
    let status = worker.status(&name).expect("status");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let mut second = config.clone();
    second["name"] = json!(unique("hot-second"));
    let refused = expect(
        call(&worker, "POST", "/connectors", Some(&second)),
        400,
        "create after removal",
    );
    assert!(
        refused.body.contains("test-trap-source"),
        "{}",
        refused.body
    );
    assert_eq!(
        log_lines(&worker, |l| l.contains("task failed")
            || l.contains("panicked")),
        Vec::<String>::new()
    );
}

#[test]
fn a_replaced_plugin_file_is_used_from_the_next_restart() {
    let dir = TestDir::new("hot-replace");
    let hot = dir.join("hot-plugins");
    std::fs::create_dir_all(&hot).expect("mkdir");
    drop_plugin(&hot, "trap.wasm", &trap_source_build(1));
    let topic = unique("replace");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("replace");
    let config = trap_source(
        &name,
        &topic,
        &dir.join("markers"),
        "trap.times=0\ncount=5\n",
    );
    let worker = Worker::start(&dir, &props(&dir, &hot), &[("replace.properties", &config)]);
    worker.wait_for_state(&name, "RUNNING", WAIT);
    worker.wait_for_log_line("build 1 opened", WAIT, |l| {
        l.contains("test-trap-source 0.1.0+build.1 opened")
    });

    drop_plugin(&hot, "trap.wasm", &trap_source_build(2));
    wait_until(
        "version 2 in /connector-plugins",
        WAIT,
        || (version_of(&worker, "test-trap-source")? == "0.1.0+build.2").then_some(()),
        || format!("{:?}", listed(&worker)),
    );
    // The running task keeps the component it was opened with.
    let status = worker.status(&name).expect("status");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(log_lines(&worker, |l| l.contains("0.1.0+build.2 opened")).is_empty());
    worker.wait_for_log_line("the replacement logged", WAIT, |l| {
        l.contains("plugin file replaced") && l.contains("0.1.0+build.1")
    });

    // Restarted, the connector runs the new build.
    expect(
        call(
            &worker,
            "POST",
            &format!("/connectors/{name}/restart?includeTasks=true"),
            None,
        ),
        202,
        "restart",
    );
    worker.wait_for_log_line("build 2 opened", WAIT, |l| {
        l.contains("test-trap-source 0.1.0+build.2 opened")
    });
    worker.wait_for_state(&name, "RUNNING", WAIT);
}
