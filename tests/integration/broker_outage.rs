//! The broker is down when the worker starts, or freezes mid-run (for a few seconds, or for
//! 30 s in the middle of a datagen → Kafka → file pipeline): the worker waits it out and every
//! record still arrives. Each test has its own broker, since it stops or pauses it.

use std::time::Duration;

use sluice_tests::{
    assert_all_seqs, count_lines, default_worker_props, free_port, read_to_string, seqs, unique,
    wait_until, Broker, TestDir, Worker,
};

use crate::datagen;

#[test]
fn broker_unreachable_at_start_then_all_records_arrive() {
    const COUNT: i64 = 500;
    let dir = TestDir::new("broker-late");
    let port = free_port();
    let topic = unique("late");
    let name = unique("datagen");
    let props = format!(
        "{}bootstrap.servers=127.0.0.1:{port}\n",
        default_worker_props(None, dir.path())
    );
    let mut worker = Worker::spawn(
        &dir,
        &props,
        &[(
            "datagen.properties",
            &datagen(&name, &topic, COUNT as u64, 100),
        )],
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        worker.try_exit().is_none(),
        "the worker must wait for an unreachable broker, not exit; log:\n{}",
        worker.log_tail(40)
    );

    let broker = Broker::start_on(port);
    broker.create_topic(&topic, 1);
    worker.wait_rest_ready(Duration::from_secs(240));
    worker.wait_for_state(&name, "RUNNING", Duration::from_secs(120));
    let mut reader = broker.reader(&topic);
    let all = reader.read_while(Duration::from_secs(180), |m| {
        let mut s = seqs(m);
        s.sort_unstable();
        s.dedup();
        (s.len() as i64) < COUNT
    });
    let duplicates = assert_all_seqs(&seqs(all), COUNT);
    eprintln!(
        "late broker: {} records, {duplicates} duplicates",
        all.len()
    );
}

#[test]
fn broker_paused_mid_run_then_all_records_arrive() {
    const COUNT: i64 = 3_000;
    let broker = Broker::start();
    let dir = TestDir::new("broker-pause");
    let topic = unique("pause");
    broker.create_topic(&topic, 1);
    let name = unique("datagen");
    let props = format!(
        "{}bootstrap.servers={}\n",
        default_worker_props(None, dir.path()),
        broker.bootstrap()
    );
    let worker = Worker::start(
        &dir,
        &props,
        &[(
            "datagen.properties",
            &datagen(&name, &topic, COUNT as u64, 300),
        )],
    );

    let mut reader = broker.reader(&topic);
    reader.read_until(500, Duration::from_secs(180));
    broker.pause();
    std::thread::sleep(Duration::from_secs(6));
    broker.resume();

    let all = reader.read_while(Duration::from_secs(240), |m| {
        let mut s = seqs(m);
        s.sort_unstable();
        s.dedup();
        (s.len() as i64) < COUNT
    });
    let duplicates = assert_all_seqs(&seqs(all), COUNT);
    eprintln!(
        "paused broker: {} records, {duplicates} duplicates",
        all.len()
    );
    let status = worker.wait_for_state(&name, "RUNNING", Duration::from_secs(60));
    assert_eq!(
        status["connector"]["state"], "RUNNING",
        "after the outage: {status}"
    );
}

/// The outage: the broker stops answering for 30 s (SIGSTOP: connections stay open
/// and time out, like a hung or partitioned broker) in the middle of a datagen → Kafka → file
/// pipeline in one worker, then comes back. The source task reports the outage in the log
/// (records wait for acknowledgements: `runtime::stall`), both tasks stay
/// RUNNING (as Kafka Connect's do: an outage is not a task failure) and resume on their own;
/// every sequence number reaches the file, and no record is duplicated (no crash, no
/// rebalance: nothing is re-delivered).
#[test]
fn broker_stopped_30s_mid_pipeline_then_every_record_reaches_the_file_once() {
    const COUNT: i64 = 20_000;
    let broker = Broker::start();
    let dir = TestDir::new("broker-outage");
    let topic = unique("outage");
    broker.create_topic(&topic, 1);
    let source = unique("datagen");
    let sink = unique("file-sink");
    let out = dir.join("out.txt");
    let props = format!(
        "{}bootstrap.servers={}\n",
        default_worker_props(None, dir.path()),
        broker.bootstrap()
    );
    let sink_config = format!(
        "name={sink}\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n",
        out.display()
    );
    let worker = Worker::start(
        &dir,
        &props,
        &[
            (
                "datagen.properties",
                &datagen(&source, &topic, COUNT as u64, 1_000),
            ),
            ("sink.properties", &sink_config),
        ],
    );
    worker.wait_for_lines(&out, 3_000, Duration::from_secs(180));
    let log_before = worker.log_text().len();
    broker.pause();
    let paused_at = std::time::Instant::now();
    let lines_at_pause = count_lines(&out);
    std::thread::sleep(Duration::from_secs(30));
    let lines_in_pause = count_lines(&out);
    // Both connectors still RUNNING while the broker is away.
    for name in [&source, &sink] {
        let status = worker.status(name).expect("a status");
        assert_eq!(
            status["connector"]["state"], "RUNNING",
            "{name} during the outage: {status}"
        );
        assert_eq!(
            status["tasks"][0]["state"], "RUNNING",
            "{name} during the outage: {status}"
        );
    }
    broker.resume();
    let outage = paused_at.elapsed();
    let during: String = worker.log_text()[log_before..].to_string();
    let warnings: Vec<&str> = during.lines().filter(|l| l.contains("WARN")).collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("no acknowledgement from the broker")
                && l.contains(&format!("connector={source}"))),
        "the source task must report the outage in the log; lines since the pause:\n{during}"
    );

    let resumed = std::time::Instant::now();
    wait_until(
        "lines after the outage",
        Duration::from_secs(120),
        || (count_lines(&out) > lines_in_pause).then_some(()),
        || format!("{} lines", count_lines(&out)),
    );
    let resumed_after = resumed.elapsed();
    wait_until(
        &format!("{COUNT} lines"),
        Duration::from_secs(300),
        || (count_lines(&out) >= COUNT as usize).then_some(()),
        || format!("{} lines", count_lines(&out)),
    );
    let seqs: Vec<i64> = read_to_string(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["seq"].as_i64())
                .unwrap_or_else(|| panic!("a line without a datagen record: {l:?}"))
        })
        .collect();
    let duplicates = assert_all_seqs(&seqs, COUNT);
    eprintln!(
        "broker outage: {lines_at_pause} lines at the pause, {lines_in_pause} after {outage:?} without the broker, first new line {resumed_after:?} after it came back; \
         {} warnings logged during the outage, e.g. {:?}; {duplicates} duplicates",
        warnings.len(),
        warnings.first()
    );
    assert_eq!(
        duplicates, 0,
        "no crash, no rebalance: nothing may be delivered twice"
    );
}
