//! The sandbox against hostile plugins (`test-hostile-source`, `test-hostile-sink`,
//! `test-hostile-transform`, `test-malformed-transform`): each attack runs next to a healthy
//! datagen connector in the same worker. Limit breaches (busy loops in poll/put/apply, a
//! memory bomb, oversized batches), panics and unreadable packed output fail only the
//! hostile task, with a trace naming the limit and its value (or the
//! panic); contained attacks (reading files, opening a socket outside `wasm.network.allow`,
//! flooding stdout) get nothing and cost the host a bounded log, while an allow-listed
//! connection does arrive. In every case the healthy connector delivers every one of its
//! records. A batch whose strings alias the same guest bytes (`test-alias-source`) is refused
//! at the host's lift budget, before it is copied. Also `sluice plugins inspect`.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use sluice_tests::{
    assert_all_seqs, default_worker_props, free_port, plugins, seqs, sluice_bin, unique,
    wait_until, Broker, TestDir, Worker,
};

use crate::{datagen, STRING_CONVERTER};

/// Records the healthy connector writes (at 300/s, so it runs alongside the attacks).
const HEALTHY: u64 = 3000;

fn props_with_test_plugins(dir: &TestDir) -> String {
    let p = plugins();
    format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    )
}

/// A hostile source connector in `mode` with extra config lines; returns (name, topic, config).
fn hostile(mode: &str, extra: &str) -> (String, String, String) {
    let name = unique(&format!("hostile-{mode}"));
    let topic = name.clone();
    Broker::shared().create_topic(&topic, 1);
    let config = format!(
        "name={name}\nconnector.class=test-hostile-source\ntasks.max=1\ntopic={topic}\n\
         hostile.mode={mode}\nvalue.converter={STRING_CONVERTER}\n{extra}"
    );
    (name, topic, config)
}

/// The healthy datagen connector delivered every record `0..HEALTHY`.
fn assert_healthy_complete(topic: &str) {
    let all = Broker::shared().consume_all(topic, HEALTHY as usize, Duration::from_secs(180));
    assert_all_seqs(&seqs(&all), HEALTHY as i64);
}

fn failed_trace(worker: &Worker, name: &str) -> String {
    let task = worker.wait_for_task_state(name, 0, "FAILED", Duration::from_secs(120));
    task["trace"].as_str().unwrap_or_default().to_string()
}

#[test]
fn limit_breaches_fail_only_the_hostile_task_and_name_the_limit() {
    let dir = TestDir::new("sandbox-limits");
    let broker = Broker::shared();
    let (loop_src, _, loop_src_cfg) = hostile("loop", "wasm.call.timeout.ms=1000\n");
    let (memory, _, memory_cfg) = hostile(
        "memory",
        "wasm.memory.max.bytes=67108864\nwasm.call.timeout.ms=20000\n",
    );
    let (batch, batch_topic, batch_cfg) = hostile(
        "huge-batch",
        "batch.records=100000\nwasm.memory.max.bytes=268435456\n",
    );
    let (bytes, bytes_topic, bytes_cfg) = hostile(
        "huge-batch",
        "batch.records=4\nbatch.value.bytes=2097152\nwasm.output.max.bytes=1048576\n",
    );
    let (bad, _, bad_cfg) = hostile("loop", "wasm.call.timeout.ms=soon\n");
    let (panic, _, panic_cfg) = hostile("panic", "");

    // A busy loop in a transform's apply, in the chain of an otherwise healthy datagen source.
    let apply_topic = unique("hostile-apply");
    broker.create_topic(&apply_topic, 1);
    let apply = unique("hostile-apply");
    let apply_cfg = format!(
        "{}transforms=stuck\ntransforms.stuck.type=test-hostile-transform\n\
         transforms.stuck.hostile.mode=loop\ntransforms.stuck.wasm.call.timeout.ms=1000\n",
        datagen(&apply, &apply_topic, 10, 100)
    );

    // A transform whose packed output cannot be read (a topic that is not UTF-8).
    let malformed_topic = unique("malformed-apply");
    broker.create_topic(&malformed_topic, 1);
    let malformed = unique("malformed-apply");
    let malformed_cfg = format!(
        "{}transforms=bad\ntransforms.bad.type=test-malformed-transform\n",
        datagen(&malformed, &malformed_topic, 10, 100)
    );

    let sink_topic = unique("hostile-sink-in");
    broker.create_topic(&sink_topic, 1);
    broker.produce(&sink_topic, &["one", "two"]);
    let loop_sink = unique("hostile-sink");
    let loop_sink_cfg = format!(
        "name={loop_sink}\nconnector.class=test-hostile-sink\ntasks.max=1\ntopics={sink_topic}\n\
         wasm.call.timeout.ms=1000\n"
    );

    let healthy_topic = unique("healthy");
    broker.create_topic(&healthy_topic, 1);
    let healthy = datagen(&unique("healthy"), &healthy_topic, HEALTHY, 300);

    let worker = Worker::start(
        &dir,
        &props_with_test_plugins(&dir),
        &[
            ("healthy.properties", &healthy),
            ("loop-source.properties", &loop_src_cfg),
            ("loop-sink.properties", &loop_sink_cfg),
            ("memory.properties", &memory_cfg),
            ("batch.properties", &batch_cfg),
            ("bytes.properties", &bytes_cfg),
            ("bad.properties", &bad_cfg),
            ("panic.properties", &panic_cfg),
            ("apply.properties", &apply_cfg),
            ("malformed.properties", &malformed_cfg),
        ],
    );

    for (name, expected) in [
        (&apply, "plugin exceeded wasm.call.timeout.ms=1000 in apply"),
        (
            &malformed,
            "transform plugin returned malformed output: record 0: string is not UTF-8",
        ),
        (&panic, "test-hostile-source panics on purpose in poll"),
        (
            &loop_src,
            "plugin exceeded wasm.call.timeout.ms=1000 in poll",
        ),
        (
            &loop_sink,
            "plugin exceeded wasm.call.timeout.ms=1000 in put",
        ),
        (
            &memory,
            "plugin exceeded wasm.memory.max.bytes=67108864 in poll",
        ),
        (&batch, "plugin exceeded max_records="),
        (
            &bytes,
            "plugin exceeded wasm.output.max.bytes=1048576 in poll",
        ),
    ] {
        let trace = failed_trace(&worker, name);
        assert!(
            trace.contains(expected),
            "{name}: the FAILED trace should say {expected:?}: {trace}"
        );
    }
    // Nothing of an over-limit batch, nor of a batch stuck in a transform or refused after
    // one, reached Kafka.
    for topic in [&batch_topic, &bytes_topic, &apply_topic, &malformed_topic] {
        let got = broker.reader(topic).read_for(Duration::from_secs(2));
        assert_eq!(got, 0, "records from a rejected batch reached {topic}");
    }
    // An invalid limit is a config error naming the key and the accepted range.
    let line = worker.wait_for_log_line(
        "the rejection of the invalid wasm.call.timeout.ms",
        Duration::from_secs(60),
        |l| l.contains("wasm.call.timeout.ms") && l.contains("soon"),
    );
    assert!(line.contains("from 10 to 3600000"), "{line}");
    assert!(worker.status(&bad).is_none() || line.contains(&bad));

    assert_healthy_complete(&healthy_topic);
}

#[test]
fn files_sockets_and_stdout_floods_are_contained() {
    let dir = TestDir::new("sandbox-contained");
    let broker = Broker::shared();
    let granted = dir.join("granted");
    std::fs::create_dir_all(&granted).expect("create granted dir");
    std::fs::write(granted.join("inside.txt"), "inside").expect("write inside.txt");
    std::fs::write(dir.join("outside.txt"), "outside secret").expect("write outside.txt");
    let (files, files_topic, files_cfg) = hostile("files", &format!("dir={}\n", granted.display()));

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let port = listener.local_addr().expect("listener address").port();
    let (connect, connect_topic, connect_cfg) =
        hostile("connect", &format!("connect.port={port}\n"));
    // An allow-list that names other things: `*` must not open loopback, and another port on
    // the same address is not this one.
    let other_port = free_port();
    let (fenced, fenced_topic, fenced_cfg) = hostile(
        "connect",
        &format!("connect.port={port}\nwasm.network.allow=*:*, 127.0.0.1:{other_port}\n"),
    );
    // Allowed by name: `localhost` goes through the guest's name lookup, and the connection
    // arrives at a listener of the test's own.
    let open_listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    open_listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let open_port = open_listener.local_addr().expect("listener address").port();
    let (allowed, allowed_topic, allowed_cfg) = hostile(
        "connect",
        &format!(
            "connect.host=localhost\nconnect.port={open_port}\n\
             wasm.network.allow=localhost:{open_port}\n"
        ),
    );
    let (bad_list, _, bad_list_cfg) = hostile(
        "connect",
        &format!("connect.port={port}\nwasm.network.allow=db.internal\n"),
    );

    let (flood, flood_topic, flood_cfg) = hostile("stdout", "stdout.bytes=2097152\n");

    let healthy_topic = unique("healthy");
    broker.create_topic(&healthy_topic, 1);
    let healthy = datagen(&unique("healthy"), &healthy_topic, HEALTHY, 300);

    let worker = Worker::start(
        &dir,
        &props_with_test_plugins(&dir),
        &[
            ("healthy.properties", &healthy),
            ("files.properties", &files_cfg),
            ("connect.properties", &connect_cfg),
            ("fenced.properties", &fenced_cfg),
            ("allowed.properties", &allowed_cfg),
            ("bad-list.properties", &bad_list_cfg),
            ("flood.properties", &flood_cfg),
        ],
    );

    // Files: only the granted directory is visible; the plugin reports each probe.
    let reports = broker.consume_all(&files_topic, 3, Duration::from_secs(120));
    let reports: Vec<&str> = reports.iter().map(|m| m.value_str()).collect();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(reports[0].starts_with("/etc/passwd: denied"), "{reports:?}");
    assert!(
        reports[1].contains("/../outside.txt: denied"),
        "a file next to the granted directory must be unreadable: {reports:?}"
    );
    assert!(
        reports[2].ends_with("inside.txt: ok 6 bytes"),
        "the granted directory must be readable: {reports:?}"
    );

    // Sockets: without an allow-list, and outside the one given, the connect fails inside
    // the plugin (nothing reaches the listener: checked at the end).
    for (topic, label) in [(&connect_topic, "no allow-list"), (&fenced_topic, "*:*")] {
        let report = broker.consume_all(topic, 1, Duration::from_secs(120));
        let report = report.first().map(|m| m.value_str()).unwrap_or_default();
        assert!(
            report.starts_with(&format!("connect 127.0.0.1:{port}: denied"))
                && report.to_lowercase().contains("permission denied"),
            "{label}: the plugin should get a permission error: {report}"
        );
    }
    // The denial is logged once per attempt, naming connector, task, address and the key.
    let line = worker.wait_for_log_line(
        "the denial of the fenced connector's connect",
        Duration::from_secs(30),
        |l| l.contains(&fenced) && l.contains("network access denied"),
    );
    for expected in [
        format!("TCP connect to 127.0.0.1:{port}"),
        "not allowed by wasm.network.allow".to_string(),
    ] {
        assert!(line.contains(&expected), "missing {expected:?}: {line}");
    }
    assert!(
        line.contains("task=0") || line.contains("task=\"0\""),
        "the task is named: {line}"
    );
    // Allowed: the connection arrives, carrying what the plugin wrote.
    let report = broker.consume_all(&allowed_topic, 1, Duration::from_secs(120));
    let report = report.first().map(|m| m.value_str()).unwrap_or_default();
    assert_eq!(report, format!("connect localhost:{open_port}: ok"));
    let (stream, _) = wait_until(
        "the allow-listed connection at the test's listener",
        Duration::from_secs(30),
        || open_listener.accept().ok(),
        || "no connection".into(),
    );
    assert_eq!(read_line(stream), "hello from the sandbox");
    // A malformed allow-list is a config error naming the key, the entry and what is accepted.
    let line = worker.wait_for_log_line(
        "the rejection of the malformed wasm.network.allow",
        Duration::from_secs(60),
        |l| l.contains("invalid entry `db.internal` in wasm.network.allow"),
    );
    assert!(
        line.contains("a port is required") && line.contains("CIDR:port"),
        "{line}"
    );
    assert!(worker.status(&bad_list).is_none() || line.contains(&bad_list));

    // Stdout flood: the task keeps running; its output is cut and rate-limited.
    let polls = broker.consume_all(&flood_topic, 3, Duration::from_secs(120));
    assert!(polls.len() >= 3, "the flooding source keeps polling");
    worker.wait_for_log_line(
        "a rate-limit notice for the flooding plugin",
        Duration::from_secs(60),
        |l| l.contains(&flood) && l.contains("suppressed"),
    );

    assert_healthy_complete(&healthy_topic);
    worker.wait_for_task_state(&flood, 0, "RUNNING", Duration::from_secs(10));
    worker.wait_for_task_state(&files, 0, "RUNNING", Duration::from_secs(10));
    for name in [&connect, &fenced, &allowed] {
        worker.wait_for_task_state(name, 0, "RUNNING", Duration::from_secs(10));
    }

    let log = worker.log_text();
    let chatty = log
        .lines()
        .filter(|l| l.contains(&flood) && l.contains("chatty"))
        .count();
    let written = polls.len() * 2097152 / 2 / 99;
    assert!(
        chatty <= 2000,
        "at most the burst plus {} lines/s may reach the log, got {chatty} of ≥{written} lines",
        50
    );
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest < 8 * 1024,
        "a log line of {longest} bytes: long lines must be cut"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(&flood) && l.contains("more bytes truncated")),
        "the endless line is logged cut, with a marker"
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => {
            panic!("the sandboxed plugin connected to the test's listener from {from}")
        }
        Err(e) => panic!("listener error: {e}"),
    }
}

#[test]
fn plugins_inspect_shows_spec_config_and_capabilities() {
    let p = plugins();
    let out = Command::new(sluice_bin())
        .args(["plugins", "inspect"])
        .arg(p.test_plugin("test-hostile-source"))
        .output()
        .expect("run sluice plugins inspect");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "kind:         source",
        "name:         test-hostile-source",
        "version:      0.1.0",
        "hostile.mode",
        "ReadDir",
        "filesystem",
        "wasi:filesystem/preopens@0.2",
        "sockets",
        "wasi:sockets/tcp@0.2",
        "wasi:sockets/ip-name-lookup@0.2",
        "wasm.network.allow",
        "sluice-host",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    let dir = TestDir::new("inspect-garbage");
    let garbage = dir.write("garbage.wasm", "not wasm");
    let out = Command::new(sluice_bin())
        .args(["plugins", "inspect"])
        .arg(&garbage)
        .output()
        .expect("run sluice plugins inspect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("garbage.wasm is not a WebAssembly component"),
        "{err}"
    );
}

/// The first line the peer sends (the hostile plugin writes one and then goes away).
fn read_line(stream: TcpStream) -> String {
    stream
        .set_nonblocking(false)
        .expect("blocking accepted stream");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("read from the plugin's connection");
    line.trim_end().to_string()
}

/// A source on the structured interface whose batch's strings all point at the same guest
/// bytes (`test-alias-source`): the plugin holds 1 MiB, the lifted batch would be `records`
/// MiB. The host stops copying at its lift budget (twice `wasm.output.max.bytes`, at least
/// 16 MiB) and fails the task with a message naming the limit, before allocating the batch;
/// the healthy connector next to it delivers everything.
#[test]
fn aliased_strings_cannot_amplify_a_batch_past_the_lift_budget() {
    let dir = TestDir::new("sandbox-alias");
    let broker = Broker::shared();
    let alias = |extra: &str| {
        let name = unique("alias");
        broker.create_topic(&name, 1);
        let config = format!(
            "name={name}\nconnector.class=test-alias-source\ntasks.max=1\ntopic={name}\n\
             value.converter={STRING_CONVERTER}\nalias.bytes=1048576\n{extra}"
        );
        (name, config)
    };
    // 100 MiB lifted from a plugin limited to 16 MiB of memory and 1 MiB of output: before
    // the bound, the host copied all of it and only then refused it by its estimated size.
    let (small, small_cfg) =
        alias("alias.records=100\nwasm.memory.max.bytes=16777216\nwasm.output.max.bytes=1048576\n");
    // 200 MiB under the default limits (64 MiB of output: a 128 MiB budget).
    let (default, default_cfg) = alias("alias.records=200\n");

    let healthy_topic = unique("healthy");
    broker.create_topic(&healthy_topic, 1);
    let healthy = datagen(&unique("healthy"), &healthy_topic, HEALTHY, 300);

    let worker = Worker::start(
        &dir,
        &props_with_test_plugins(&dir),
        &[
            ("healthy.properties", &healthy),
            ("small.properties", &small_cfg),
            ("default.properties", &default_cfg),
        ],
    );
    for (name, expected) in [
        (
            &small,
            "plugin exceeded wasm.output.max.bytes=1048576 in poll: the data it passed to the \
             host would take more than 16777216 bytes once copied out of the plugin",
        ),
        (
            &default,
            "plugin exceeded wasm.output.max.bytes=67108864 in poll: the data it passed to the \
             host would take more than 134217728 bytes once copied out of the plugin",
        ),
    ] {
        let trace = failed_trace(&worker, name);
        assert!(
            trace.contains(expected),
            "{name}: the FAILED trace should say {expected:?}: {trace}"
        );
        let got = broker.reader(name).read_for(Duration::from_secs(2));
        assert_eq!(got, 0, "records from a refused batch reached {name}");
    }
    assert_healthy_complete(&healthy_topic);
}
