//! `tasks.max` on a sink: the tasks split the topic's partitions between them (a standalone
//! worker's tasks assign them themselves, committing to the group `connect-<name>`), and every
//! record is delivered by exactly one of them.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_tests::{
    default_worker_props, plugins, read_to_string, unique, wait_until, Broker, TestDir, Worker,
};

use crate::rest_api::{call, expect};
use crate::s3_sink::{committed, wait_committed};

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn sink_tasks_max_spreads_partitions_across_tasks() {
    const PER_PARTITION: usize = 20_000;
    let broker = Broker::shared();
    let dir = TestDir::new("sink-tasks");
    let topic = unique("sink-tasks");
    broker.create_topic(&topic, 2);

    let name = unique("sink");
    let out_file = dir.join("out.txt");
    let connector = format!(
        "name={name}\nconnector.class=FileStreamSink\ntasks.max=2\nfile={}\ntopics={topic}\n",
        out_file.display()
    );
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector)],
    );
    // One partition per task.
    for task in 0..2 {
        worker.wait_for_log_line(
            &format!("task {task} assigned exactly one partition"),
            Duration::from_secs(120),
            |l| {
                l.contains("partitions assigned")
                    && l.contains("partitions=1")
                    && l.contains(&format!("connector={name} task={task}"))
            },
        );
    }

    // Both partitions at once: the two tasks append to the same file at the same moments.
    // With positional writes at the end each task last saw, their batches overwrote each
    // other (seen here: 300 of 600 lines); with `tasks.max` > 1 the file sink appends
    // atomically, as Kafka's FileStreamSink does through O_APPEND.
    let mut expected = Vec::new();
    for p in 0..2 {
        let values: Vec<String> = (0..PER_PARTITION).map(|i| format!("p{p}-{i:05}")).collect();
        broker.produce_to(&topic, p, &values);
        expected.extend(values);
    }
    worker.wait_for_lines(&out_file, expected.len(), Duration::from_secs(120));
    expected.sort();
    std::thread::sleep(Duration::from_secs(2));
    let mut got: Vec<String> = read_to_string(&out_file)
        .lines()
        .map(String::from)
        .collect();
    got.sort();
    assert_eq!(
        got, expected,
        "every record exactly once, from both partitions"
    );
    for task in 0..2 {
        let s = worker.wait_for_task_state(&name, task, "RUNNING", Duration::from_secs(5));
        assert_eq!(s["state"], "RUNNING");
    }
}

/// One task reading several partitions: each assigned partition's fetch queue is read in
/// batches on its own (`host/src/kafka/fetch.rs`). Records already in the topic when the
/// task joins and records produced after it went idle (woken by librdkafka's non-empty
/// callback) all arrive, once each, in order within their partition.
#[test]
fn one_sink_task_reads_every_partition_in_order_before_and_after_it_goes_idle() {
    const PARTITIONS: i32 = 3;
    const PER_ROUND: usize = 2_500; // more than one batch per partition
    let broker = Broker::shared();
    let dir = TestDir::new("sink-partitions");
    let topic = unique("sink-partitions");
    broker.create_topic(&topic, PARTITIONS);
    let round = |r: usize| -> Vec<(i32, Vec<String>)> {
        (0..PARTITIONS)
            .map(|p| {
                let values = (0..PER_ROUND)
                    .map(|i| format!("r{r}-p{p}-{i:05}"))
                    .collect();
                (p, values)
            })
            .collect()
    };
    for (p, values) in round(0) {
        broker.produce_to(&topic, p, &values);
    }

    let name = unique("sink");
    let out_file = dir.join("out.txt");
    let connector = format!(
        "name={name}\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n",
        out_file.display()
    );
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector)],
    );
    let lines = |n: usize| worker.wait_for_lines(&out_file, n, Duration::from_secs(120));
    let per_round = PARTITIONS as usize * PER_ROUND;
    lines(per_round);
    // Idle: the task waits on its queues' wake-up, not on a poll that would return data.
    std::thread::sleep(Duration::from_secs(1));
    for (p, values) in round(1) {
        broker.produce_to(&topic, p, &values);
    }
    lines(2 * per_round);
    std::thread::sleep(Duration::from_secs(1));

    let got: Vec<String> = read_to_string(&out_file)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(got.len(), 2 * per_round, "no record lost or repeated");
    for p in 0..PARTITIONS {
        let mine: Vec<&String> = got
            .iter()
            .filter(|l| l.contains(&format!("-p{p}-")))
            .collect();
        let expected: Vec<String> = (0..2)
            .flat_map(|r| (0..PER_ROUND).map(move |i| format!("r{r}-p{p}-{i:05}")))
            .collect();
        assert!(
            mine.iter()
                .map(|s| s.as_str())
                .eq(expected.iter().map(String::as_str)),
            "partition {p} out of order or incomplete"
        );
    }
    let s = worker.wait_for_task_state(&name, 0, "RUNNING", Duration::from_secs(5));
    assert_eq!(s["state"], "RUNNING");
}

/// Kafka Connect's `SinkTask.preCommit` and `close`, through a real worker: `test-commit-sink`
/// says only whole groups of 10 records per partition are durable. What the host commits is
/// exactly its answer (20 of 25 records; nothing of a partition with 7), what it leaves out is
/// offered again at the next commit, and stopping the connector commits once more and closes
/// every partition.
#[test]
fn only_what_a_sinks_pre_commit_answers_is_committed_and_stop_closes_its_partitions() {
    let broker = Broker::shared();
    let dir = TestDir::new("sink-pre-commit");
    let topic = unique("pre-commit");
    broker.create_topic(&topic, 2);
    let values = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
    broker.produce_to(&topic, 0, &values(25));
    broker.produce_to(&topic, 1, &values(7));

    let p = plugins();
    let props = format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(broker), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    );
    let name = unique("commit-sink");
    let connector = format!(
        "name={name}\nconnector.class=test-commit-sink\ntasks.max=1\ntopics={topic}\ncommit.every=10\n"
    );
    let worker = Worker::start(&dir, &props, &[("sink.properties", &connector)]);

    // Offered 25 and 7, answered 20 and nothing: 20 is committed, partition 1 is not.
    worker.wait_for_log_line("the sink's pre-commit answer", WAIT, |l| {
        l.contains(&format!(
            "pre-commit offered [{topic}-0@25 {topic}-1@7] answered [{topic}-0@20]"
        ))
    });
    wait_committed(&worker, &name, &BTreeMap::from([(0, 20)]));
    // What was not committed (partition 1, and partition 0 past 20) is offered again at the
    // next commit; 20 is not committed a second time.
    let offer = format!("pre-commit offered [{topic}-0@25 {topic}-1@7] answered [{topic}-0@20]");
    wait_until(
        "the same offer at the next commit",
        WAIT,
        || (worker.log_text().matches(&offer).count() >= 2).then_some(()),
        || worker.log_tail(20),
    );

    // Five more records complete partition 0's third group: 30 is committed.
    broker.produce_to(&topic, 0, &values(5));
    wait_committed(&worker, &name, &BTreeMap::from([(0, 30)]));

    // Stopping commits once more and closes both partitions.
    expect(
        call(&worker, "PUT", &format!("/connectors/{name}/stop"), None),
        204,
        "stop",
    );
    let line = worker.wait_for_log_line("the close at stop", WAIT, |l| {
        l.contains("test-commit-sink: close [")
    });
    assert!(
        line.contains(&format!("{topic}-0")) && line.contains(&format!("{topic}-1")),
        "{line}"
    );
    assert_eq!(
        worker
            .log_text()
            .matches("test-commit-sink: close [")
            .count(),
        1,
        "each partition is closed once"
    );
    assert_eq!(committed(&worker, &name), BTreeMap::from([(0, 30)]));
}
