//! At-least-once across a crash: SIGKILL a worker mid-stream, restart it on the same offsets
//! file (and, for sinks, the same consumer group), and every record must still arrive
//! (duplicates are allowed, bounded and reported).

use std::time::Duration;

use sluice_tests::{
    assert_all_seqs, default_worker_props, seqs, unique, wait_until, Broker, TestDir, Worker,
};

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

/// The sequence numbers in a file sink's output (one datagen JSON value per line), and how
/// many lines were torn: a SIGKILL can interrupt the sink's write between two pages, and the
/// restarted sink then appends to the torn line. A torn line's own record is re-delivered (its
/// offset was not committed), so only the complete record at its end counts.
fn file_seqs(path: &std::path::Path) -> (Vec<i64>, usize) {
    let text = sluice_tests::read_to_string(path);
    let mut torn = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        let parsed = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .or_else(|| {
                torn += 1;
                line.rmatch_indices("{\"")
                    .find_map(|(i, _)| serde_json::from_str(&line[i..]).ok())
            });
        let seq = parsed
            .as_ref()
            .and_then(|v| v.get("seq"))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_else(|| panic!("a line without a datagen record: {line:?}"));
        out.push(seq);
    }
    (out, torn)
}

/// Standalone sink recovery: datagen → Kafka → file (one sink task over two partitions; two
/// tasks would share the file, whose appends are not atomic across tasks) in one worker, SIGKILLed mid-stream and restarted. The restarted sink tasks assign their
/// partitions themselves and resume from the committed offsets at once (a group member would
/// wait for the dead member's session, and on tansu 0.6.0 forever). The file ends with every
/// sequence number, and its duplicates are exactly the at-least-once bound: the lines written
/// after the last commit before the kill, plus what the source produced twice.
#[test]
fn sigkill_standalone_sink_resumes_from_committed_offsets() {
    const COUNT: i64 = 60_000;
    let broker = Broker::shared();
    let dir = TestDir::new("sink-crash");
    let topic = unique("sink-crash");
    broker.create_topic(&topic, 2);
    let source = unique("datagen");
    let sink = unique("file-sink");
    let out = dir.join("out.txt");
    let sink_config = format!(
        "name={sink}\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n",
        out.display()
    );
    let connectors = [
        (
            "datagen.properties",
            datagen(&source, &topic, COUNT as u64, 3_000),
        ),
        ("sink.properties", sink_config),
    ];
    let connectors: Vec<(&str, &str)> = connectors.iter().map(|(f, c)| (*f, c.as_str())).collect();
    let props = default_worker_props(Some(broker), dir.path());

    let mut worker = Worker::start(&dir, &props, &connectors);
    worker.wait_for_lines(&out, 6_000, Duration::from_secs(180));
    let status = worker.sigkill();
    drop(worker);
    let lines_at_kill = sluice_tests::count_lines(&out);
    assert!(
        (lines_at_kill as i64) < COUNT,
        "precondition: the kill must land mid-stream, but {lines_at_kill} lines were written (exit {status})"
    );
    let committed: i64 = broker
        .committed_offsets(&format!("connect-{sink}"), &topic, 2)
        .into_iter()
        .map(|o| o.unwrap_or(0))
        .sum();
    assert!(
        committed as usize <= lines_at_kill,
        "the sink committed {committed} records but only {lines_at_kill} lines reached the file"
    );

    let restarted = Worker::start(&dir, &props, &connectors);
    let started = std::time::Instant::now();
    wait_until(
        "the restarted sink's first line",
        Duration::from_secs(60),
        || (sluice_tests::count_lines(&out) > lines_at_kill).then_some(()),
        || format!("{:?}", restarted.status(&sink)),
    );
    let resumed_after = started.elapsed();
    wait_until(
        &format!("all {COUNT} sequence numbers in {}", out.display()),
        Duration::from_secs(300),
        || {
            let (seqs, _) = file_seqs(&out);
            let mut seen = vec![false; COUNT as usize];
            for s in seqs {
                if let Some(slot) = usize::try_from(s).ok().and_then(|i| seen.get_mut(i)) {
                    *slot = true;
                }
            }
            seen.iter().all(|s| *s).then_some(())
        },
        || {
            format!(
                "{} lines; sink status {:?}",
                sluice_tests::count_lines(&out),
                restarted.status(&sink)
            )
        },
    );
    // Everything the source produced (duplicates included) is in the topic by now: the sink
    // wrote the last sequence number after reading it there.
    let mut reader = broker.reader(&topic);
    reader.read_until(COUNT as usize, Duration::from_secs(120));
    reader.read_for(Duration::from_secs(2));
    let in_topic = reader.messages.len();
    assert_all_seqs(&seqs(&reader.messages), COUNT);
    // The restarted tasks read each partition from its committed offset to its end.
    let expected_lines = lines_at_kill + in_topic - committed as usize;
    wait_until(
        &format!("{expected_lines} lines in the file"),
        Duration::from_secs(120),
        || (sluice_tests::count_lines(&out) >= expected_lines).then_some(()),
        || format!("{} lines", sluice_tests::count_lines(&out)),
    );
    let (all, torn) = file_seqs(&out);
    assert!(torn <= 1, "{torn} torn lines: only the kill can tear one");
    assert_eq!(
        all.len(),
        expected_lines,
        "lines: {lines_at_kill} before the kill + {in_topic} records in the topic - {committed} committed before the kill"
    );
    let duplicates = assert_all_seqs(&all, COUNT);
    eprintln!(
        "standalone sink crash: killed at {lines_at_kill} lines ({committed} committed); resumed {resumed_after:?} after REST was up; \
         {in_topic} records in the topic ({} produced twice), {duplicates} duplicates in the file ({} re-delivered by the sink)",
        in_topic as i64 - COUNT,
        lines_at_kill - committed as usize,
    );
}
