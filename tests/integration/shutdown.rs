//! Graceful shutdown: SIGTERM stops the worker with exit code 0 after writing the offsets file,
//! and a restart resumes where it stopped instead of re-reading the source from the start.

use std::io::Write;
use std::time::Duration;

use sluice_tests::{default_worker_props, read_to_string, unique, Broker, TestDir, Worker};

use crate::file_source;

#[test]
fn sigterm_exits_zero_writes_offsets_and_restart_resumes() {
    let broker = Broker::shared();
    let dir = TestDir::new("shutdown");
    let topic = unique("shutdown");
    broker.create_topic(&topic, 1);
    let name = unique("src");
    let first: Vec<String> = (0..1_000)
        .map(|i| format!("first batch line {i}"))
        .collect();
    let in_file = dir.write(
        "input.txt",
        first.iter().map(|l| format!("{l}\n")).collect::<String>(),
    );
    let connector = file_source(&name, &in_file, &topic);
    let props = default_worker_props(Some(broker), dir.path());
    let offsets = dir.join("offsets.json");

    let mut worker = Worker::start(&dir, &props, &[("source.properties", &connector)]);
    let mut reader = broker.reader(&topic);
    reader.read_until(first.len(), Duration::from_secs(120));
    worker.sigterm();
    let status = worker.wait_exit(Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM; log:\n{}",
        worker.log_tail(40)
    );
    drop(worker);

    // Sluice's offsets file is JSON (Kafka's is Java serialization); the file source's partition
    // names the file it reads.
    let text = read_to_string(&offsets);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "offsets file {} is not JSON ({e}): {text}",
            offsets.display()
        )
    });
    assert!(
        text.contains(&*in_file.to_string_lossy()),
        "offsets file should record a position for {}: {json}",
        in_file.display()
    );

    let second: Vec<String> = (0..500).map(|i| format!("second batch line {i}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&in_file)
        .expect("open input for append");
    for l in &second {
        writeln!(f, "{l}").expect("append line");
    }
    drop(f);

    let restarted = Worker::start(&dir, &props, &[("source.properties", &connector)]);
    restarted.wait_for_state(&name, "RUNNING", Duration::from_secs(60));
    let expected: Vec<&String> = first.iter().chain(&second).collect();
    let all = reader.read_until(expected.len(), Duration::from_secs(120));
    // A restart that re-read the file would put "first batch line 0" right after the first 1 000.
    let got: Vec<&str> = all.iter().map(|m| m.value_str()).collect();
    assert_eq!(got.len(), expected.len(), "records after restart");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(
            g,
            e,
            "record {i}: the restarted source must resume after line {}",
            first.len()
        );
    }
    // And nothing more trickles in (a slow re-read from the start would show up now).
    let total = reader.read_for(Duration::from_secs(3));
    assert_eq!(
        total,
        expected.len(),
        "no records beyond the file's lines after the restart"
    );
}
