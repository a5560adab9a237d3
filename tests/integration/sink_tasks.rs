//! `tasks.max` on a sink: the tasks join one consumer group (`connect-<name>`), which spreads the
//! topic's partitions across them, and every record is delivered by exactly one of them.

use std::time::Duration;

use sluice_tests::{
    count_lines, default_worker_props, read_to_string, unique, wait_until, Broker, TestDir, Worker,
};

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
    wait_until(
        &format!("{} lines in {}", 2 * PER_PARTITION, out_file.display()),
        Duration::from_secs(120),
        || (count_lines(&out_file) >= 2 * PER_PARTITION).then_some(()),
        || {
            format!(
                "{} lines; log:\n{}",
                count_lines(&out_file),
                worker.log_tail(30)
            )
        },
    );
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
