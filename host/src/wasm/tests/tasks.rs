//! Sources and sinks through the adapters: polls, puts, traps, retries, the file sandbox.

use super::*;
use crate::runtime::plugin::PluginCatalog;
use crate::runtime::task::SinkTask;

#[test]
fn datagen_polls_deterministic_records_through_the_adapter() {
    let (plugins, _cache) = load(&[plugin_path()]);
    let datagen = plugins.find("datagen").expect("datagen");
    let poll = |task: u32| {
        let mut t = datagen
            .open_source(&id(task), &datagen_config(), vec![])
            .expect("open");
        let first = poll(t.as_mut(), 10).expect("poll");
        let second = poll(t.as_mut(), 10).expect("poll");
        t.stop();
        (first, second)
    };
    let (a1, a2) = poll(0);
    let (b1, b2) = poll(1);
    assert_eq!(a1.len(), 10);
    assert_eq!((&a1, &a2), (&b1, &b2), "same config, same records");
    assert_ne!(a1, a2, "a second poll continues, it does not repeat");
    for r in a1.iter().chain(&a2) {
        assert_eq!(r.record.topic, "gen");
        assert!(
            !r.source_partition.is_empty() && !r.source_offset.is_empty(),
            "{r:?}"
        );
    }
}

#[test]
fn a_trapping_source_fails_with_a_trap_and_stays_poisoned() {
    let (plugins, _cache) = load(&[test_plugin("test-trap-source")]);
    assert!(plugins.rejected().is_empty(), "{:?}", plugins.rejected());
    let plugin = plugins.plugins().pop().expect("one plugin");
    let mut task = plugin
        .open_source(
            &id(0),
            &config(&[("topic", "t"), ("trap.after", "15")]),
            vec![],
        )
        .expect("open");
    let mut trap = None;
    for _ in 0..10 {
        match task.poll(10) {
            Ok(_) => continue,
            Err(e) => {
                trap = Some(e);
                break;
            }
        }
    }
    let trap = trap.expect("the trap source traps within 10 polls");
    // (first poll: 10 records, second: 5, third: trap)
    let TaskError::Trap(message) = &trap else {
        panic!("expected a trap, got {trap:?}")
    };
    assert!(
        message.contains("wasm trap") || message.contains("unreachable"),
        "{message}"
    );
    assert!(message.contains("wasm backtrace"), "{message}");
    assert_eq!(
        task.poll(10).unwrap_err(),
        trap,
        "poisoned: the same error, no call into the guest"
    );
    task.stop(); // must not panic
    assert_eq!(
        task.poll(1).unwrap_err(),
        TaskError::Fatal("source task polled after stop".into())
    );
}

/// A task of `test-trap-sink` with `settings`, and what must outlive it.
fn trap_sink(settings: &[(&str, &str)]) -> (Box<dyn SinkTask>, WasmPlugins, tempfile::TempDir) {
    let (plugins, cache) = load(&[test_plugin("test-trap-sink")]);
    let plugin = plugins.find("test-trap-sink").expect("test-trap-sink");
    let mut pairs = vec![("topics", "t")];
    pairs.extend_from_slice(settings);
    let task = plugin.open_sink(&id(0), &config(&pairs)).expect("open");
    (task, plugins, cache)
}

#[test]
fn a_trapping_sink_fails_with_a_trap_and_stop_does_not_panic() {
    let (mut task, _plugins, _cache) = trap_sink(&[("trap.on", "boom")]);
    assert_eq!(
        task.put(&mut vec![string_record("fine"), string_record("also fine")])
            .expect("put"),
        vec![]
    );
    let trap = task
        .put(&mut vec![string_record("fine"), string_record("boom")])
        .unwrap_err();
    let TaskError::Trap(message) = &trap else {
        panic!("expected a trap, got {trap:?}")
    };
    assert!(
        message.contains("triggers the trap"),
        "the guest's panic message is in the error: {message}"
    );
    assert_eq!(task.flush(&[]).unwrap_err(), trap);
    task.stop();
}

#[test]
fn a_retriable_put_hands_the_same_batch_back_for_the_retry() {
    let (mut task, _plugins, _cache) = trap_sink(&[("retry.on", "again")]);
    let batch = vec![string_record("first"), string_record("again")];
    let mut records = batch.clone();
    let err = task.put(&mut records).unwrap_err();
    assert!(
        matches!(&err, TaskError::Retriable(m) if m.contains("asks for a retry")),
        "{err:?}"
    );
    assert_eq!(
        records, batch,
        "the batch comes back unchanged for the retry"
    );
    assert_eq!(task.put(&mut records).expect("the retry succeeds"), vec![]);
    assert!(records.is_empty(), "a successful put takes the records");
    task.stop();
}

#[test]
fn opening_the_wrong_kind_is_a_clear_fatal_error() {
    let (plugins, _cache) = load(&[plugin_path()]);
    let sink = plugins.find("FileStreamSink").expect("file sink");
    let err = sink
        .open_source(&id(0), &config(&[]), vec![])
        .err()
        .expect("not a source");
    let TaskError::Fatal(message) = err else {
        panic!("expected Fatal, got {err:?}")
    };
    assert!(
        message.contains("is a sink plugin, not a source plugin"),
        "{message}"
    );
    assert!(sink.open_transform(&id(0), "x", &config(&[])).is_err());
    assert!(sink.open_predicate(&id(0), "x", &config(&[])).is_err());
}

#[test]
fn file_source_reads_the_granted_directory_and_nothing_else() {
    let (plugins, _cache) = load(&[built(&plugin_dir(), "file-source")]);
    let source = plugins.find("FileStreamSource").expect("file source");
    let root = tempfile::tempdir().expect("temp dir");
    let granted = root.path().join("granted");
    let secret_dir = root.path().join("secret");
    std::fs::create_dir_all(&granted).expect("mkdir");
    std::fs::create_dir_all(&secret_dir).expect("mkdir");
    std::fs::write(granted.join("in.txt"), "line one\nline two\n").expect("write");
    std::fs::write(secret_dir.join("secret.txt"), "top secret\n").expect("write");

    let lines = |file: &Path| -> Result<Vec<String>, TaskError> {
        let cfg = config(&[("file", file.to_str().expect("utf-8")), ("topic", "lines")]);
        let mut task = source.open_source(&id(0), &cfg, vec![])?;
        let mut out = Vec::new();
        for _ in 0..3 {
            for r in poll(task.as_mut(), 100)? {
                out.push(r.record.value.value.as_str().unwrap_or_default().to_owned());
            }
        }
        task.stop();
        Ok(out)
    };
    assert_eq!(
        lines(&granted.join("in.txt")).expect("reads the granted file"),
        vec!["line one", "line two"]
    );

    // A symlink inside the granted directory pointing outside of it must not leak the file.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(secret_dir.join("secret.txt"), granted.join("escape.txt"))
            .expect("symlink");
        // Refusing (an error) is fine too; what must never happen is reading the secret.
        let escaped = lines(&granted.join("escape.txt"));
        if let Ok(read) = escaped {
            assert!(
                read.iter().all(|l| !l.contains("secret")),
                "sandbox escaped: {read:?}"
            );
        }
    }
}
