//! The broker is down when the worker starts, or freezes mid-run: the worker waits it out and
//! every record still arrives. Each test has its own broker, since it stops or pauses it.

use std::time::Duration;

use sluice_tests::{
    assert_all_seqs, default_worker_props, free_port, seqs, unique, Broker, TestDir, Worker,
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
