//! At-least-once across a crash: SIGKILL a worker mid-stream, restart it on the same offsets
//! file, and every record must still arrive (duplicates are allowed, and reported).

use std::time::Duration;

use sluice_tests::{assert_all_seqs, default_worker_props, seqs, unique, Broker, TestDir, Worker};

use crate::datagen;

#[test]
fn sigkill_mid_stream_then_restart_delivers_every_record() {
    const COUNT: i64 = 50_000;
    let broker = Broker::shared();
    let dir = TestDir::new("crash");
    let topic = unique("crash");
    broker.create_topic(&topic, 1);
    let name = unique("datagen");
    // 2 000 records/s: the whole run takes ~25 s, so a kill after a few thousand lands mid-stream.
    let connector = datagen(&name, &topic, COUNT as u64, 2_000);
    let props = default_worker_props(Some(broker), dir.path());

    let mut worker = Worker::start(&dir, &props, &[("datagen.properties", &connector)]);
    let mut reader = broker.reader(&topic);
    reader.read_until(3_000, Duration::from_secs(180));
    let status = worker.sigkill();
    let before_kill = reader.messages.len();
    assert!(
        (before_kill as i64) < COUNT,
        "precondition: the kill must land mid-stream, but all {before_kill} records were already delivered (exit {status})"
    );
    drop(worker);

    let restarted = Worker::start(&dir, &props, &[("datagen.properties", &connector)]);
    restarted.wait_for_state(&name, "RUNNING", Duration::from_secs(60));
    let all = reader.read_while(Duration::from_secs(300), |msgs| {
        let mut seen = vec![false; COUNT as usize];
        for s in seqs(msgs) {
            if let Some(slot) = usize::try_from(s).ok().and_then(|i| seen.get_mut(i)) {
                *slot = true;
            }
        }
        seen.iter().any(|s| !s)
    });
    let all_seqs = seqs(all);
    for m in all.iter().take(100) {
        let key = m.key_str().unwrap_or_default();
        assert!(
            key.starts_with("user_"),
            "datagen key {key:?} should be user_<n>"
        );
    }
    let duplicates = assert_all_seqs(&all_seqs, COUNT);
    eprintln!(
        "crash recovery: killed after {before_kill} records read; {} records in total, {duplicates} duplicates (at-least-once)",
        all_seqs.len()
    );
}
