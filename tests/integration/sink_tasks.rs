//! `tasks.max` on a sink: the tasks join one consumer group (`connect-<name>`), which spreads the
//! topic's partitions across them, and every record is delivered by exactly one of them.

use std::time::Duration;

use sluice_tests::{default_worker_props, read_to_string, unique, Broker, TestDir, Worker};

#[test]
fn sink_tasks_max_spreads_partitions_across_tasks() {
    const PER_PARTITION: usize = 300;
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
    // The group settles with one partition per task (the first task to join briefly owns both).
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

    let mut expected = Vec::new();
    for p in 0..2 {
        let values: Vec<String> = (0..PER_PARTITION).map(|i| format!("p{p}-{i:04}")).collect();
        broker.produce_to(&topic, p, &values);
        expected.extend(values);
    }
    expected.sort();
    worker.wait_for_lines(&out_file, 2 * PER_PARTITION, Duration::from_secs(120));
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
