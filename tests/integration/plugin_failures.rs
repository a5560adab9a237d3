//! Plugins that are broken or misbehave: unusable files in `plugin.path` are rejected one by one
//! (the good plugins still load), and a guest trap fails only its own task while a healthy
//! connector in the same worker keeps delivering.

use std::time::Duration;

use sluice_tests::{
    default_worker_props, plugins, seqs, unique, Broker, TestDir, TopicReader, Worker,
};

use crate::datagen;

/// Worker properties whose `plugin.path` also holds the test plugins.
fn props_with_test_plugins(dir: &TestDir) -> String {
    let p = plugins();
    format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    )
}

/// A never-ending datagen connector (100 records/s) and a reader of its topic.
fn healthy_datagen() -> (String, String, String) {
    let topic = unique("healthy");
    Broker::shared().create_topic(&topic, 1);
    let name = unique("healthy");
    let config = datagen(&name, &topic, 10_000_000, 100);
    (name, topic, config)
}

/// After the other task failed, the healthy connector is RUNNING and delivers `more` records
/// beyond those already in its topic.
fn assert_keeps_delivering(worker: &Worker, name: &str, reader: &mut TopicReader, more: usize) {
    worker.wait_for_state(name, "RUNNING", Duration::from_secs(60));
    let had = reader.read_for(Duration::from_millis(500));
    let all = reader.read_until(had + more, Duration::from_secs(120));
    let new = seqs(&all[had..]);
    assert!(
        new.windows(2).all(|w| w[1] > w[0]),
        "new records from the healthy connector, in order: {new:?}"
    );
}

#[test]
fn garbage_and_wrong_world_components_are_rejected_while_real_plugins_load() {
    let p = plugins();
    let dir = TestDir::new("bad-plugins");
    let extra = dir.join("extra-plugins");
    std::fs::create_dir_all(&extra).expect("create extra plugin dir");
    std::fs::write(
        extra.join("garbage.wasm"),
        b"this is not a WebAssembly component\n",
    )
    .expect("write garbage");
    std::fs::copy(
        p.test_plugin("test-not-sluice"),
        extra.join("not-sluice.wasm"),
    )
    .expect("copy test-not-sluice");
    let props = format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        p.plugin_path.display(),
        extra.display()
    );
    let (name, topic, config) = healthy_datagen();
    let worker = Worker::start(&dir, &props, &[("datagen.properties", &config)]);

    // Each rejection names the file and says why: not WebAssembly at all, or not a Sluice world.
    for (file, reason) in [
        ("garbage.wasm", "WebAssembly"),
        ("not-sluice.wasm", "world"),
    ] {
        let line = worker.wait_for_log_line(
            &format!("a log line rejecting {file}"),
            Duration::from_secs(60),
            |l| l.contains(file),
        );
        assert!(
            line.contains(reason),
            "the rejection of {file} should give the reason ({reason:?}): {line}"
        );
    }
    let mut reader = Broker::shared().reader(&topic);
    assert_keeps_delivering(&worker, &name, &mut reader, 50);
}

#[test]
fn trap_in_source_poll_fails_only_that_task() {
    let dir = TestDir::new("trap-source");
    let broker = Broker::shared();
    let trap_topic = unique("trap-src");
    broker.create_topic(&trap_topic, 1);
    let trap_name = unique("trap-src");
    let trap = format!(
        "name={trap_name}\nconnector.class=test-trap-source\ntopic={trap_topic}\ntrap.after=10\n"
    );
    let (name, topic, config) = healthy_datagen();
    let worker = Worker::start(
        &dir,
        &props_with_test_plugins(&dir),
        &[("datagen.properties", &config), ("trap.properties", &trap)],
    );

    let task = worker.wait_for_task_state(&trap_name, 0, "FAILED", Duration::from_secs(120));
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.to_lowercase().contains("trap"),
        "the FAILED task's trace should carry the trap: {task}"
    );
    // The records polled before the trap were delivered.
    let before = broker.consume_all(&trap_topic, 10, Duration::from_secs(60));
    assert!(
        before.len() >= 10,
        "records emitted before the trap: {}",
        before.len()
    );

    let mut reader = broker.reader(&topic);
    assert_keeps_delivering(&worker, &name, &mut reader, 50);
}

#[test]
fn trap_in_sink_put_fails_only_that_task() {
    let dir = TestDir::new("trap-sink");
    let broker = Broker::shared();
    let trap_topic = unique("trap-sink");
    broker.create_topic(&trap_topic, 1);
    broker.produce(&trap_topic, &["a", "b", "boom", "c"]);
    let trap_name = unique("trap-sink");
    let trap = format!("name={trap_name}\nconnector.class=test-trap-sink\ntopics={trap_topic}\n");
    let (name, topic, config) = healthy_datagen();
    let worker = Worker::start(
        &dir,
        &props_with_test_plugins(&dir),
        &[("datagen.properties", &config), ("trap.properties", &trap)],
    );

    let task = worker.wait_for_task_state(&trap_name, 0, "FAILED", Duration::from_secs(120));
    let trace = task["trace"].as_str().unwrap_or_default();
    assert!(
        trace.to_lowercase().contains("trap"),
        "the FAILED task's trace should carry the trap: {task}"
    );
    assert!(
        trace.contains("triggers the trap"),
        "the trace should include the guest's panic message (its stderr): {trace}"
    );

    let mut reader = broker.reader(&topic);
    assert_keeps_delivering(&worker, &name, &mut reader, 50);
}
