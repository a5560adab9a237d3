//! Tests of the engine with real components: the built-in plugins (`target/plugin-path/`, built
//! by `cargo xtask plugins`) and the test-only ones (`target/test-plugins/`, built by the
//! `sluice-tests` build script). Both builds run on first use, once per test binary, so these
//! tests need no earlier step; a failed build fails the test loudly, nothing here is skipped.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use super::*;
use crate::data::{ConnectRecord, Data, Value};
use crate::runtime::plugin::{Plugin, PluginCatalog, TaskId};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::task::{Outcome, SinkTask, SourceTask, TaskError};
use crate::runtime::transforms::{ChainSegment, JoinStep, TransformChain};
use crate::spec::{Config, PluginKind};

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory, where the builds put the components: `CARGO_TARGET_DIR` (relative
/// to the repository root) or `<root>/target`, as for `cargo xtask` and the integration tests.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Runs `cargo <args>` in the repository once per test binary (`done` remembers it), panicking
/// with the build's output when it fails.
fn build_once(done: &OnceLock<()>, args: &[&str]) {
    done.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(
            output.status.success(),
            "`cargo {}` failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// The directory of built-in plugins, built first.
fn plugin_dir() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    build_once(&BUILT, &["xtask", "plugins"]);
    target_dir().join("plugin-path")
}

/// The built-in plugin directory, checked to hold all three built-in plugins.
fn plugin_path() -> PathBuf {
    let dir = plugin_dir();
    for name in ["file-source", "file-sink", "datagen"] {
        built(&dir, name);
    }
    dir
}

/// `<dir>/<name>.wasm`, which must exist.
fn built(dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(format!("{name}.wasm"));
    assert!(
        file.is_file(),
        "{} is missing after the build",
        file.display()
    );
    file
}

/// The test-only plugin `name`, built first (by the `sluice-tests` build script). The whole
/// workspace's libraries are named so that features unify as in `cargo test --workspace`:
/// `-p sluice-tests` alone resolves tokio with fewer features and rebuilds rdkafka (minutes).
fn test_plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    build_once(&BUILT, &["build", "--workspace", "--lib"]);
    built(&target_dir().join("test-plugins"), name)
}

/// `task.poll(max)`, converted into host records.
fn poll(task: &mut dyn SourceTask, max: u32) -> Result<Vec<crate::data::SourceRecord>, TaskError> {
    task.poll(max)?
        .into_records()
        .map_err(|e| TaskError::Fatal(e.to_string()))
}

fn id(task: u32) -> TaskId {
    TaskId {
        connector: "wasm-test".into(),
        task,
    }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(paths: &[PathBuf]) -> (WasmPlugins, tempfile::TempDir) {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let cache = tempfile::tempdir().expect("temp dir");
    let plugins = WasmPlugins::load(paths, cache.path()).expect("engine starts");
    (plugins, cache)
}

#[test]
fn plugin_path_lists_the_builtin_plugins_with_their_kinds_and_kafka_names() {
    let (plugins, _cache) = load(&[plugin_path()]);
    assert!(
        plugins.rejected().is_empty(),
        "rejected: {:?}",
        plugins.rejected()
    );
    let mut listed: Vec<(String, PluginKind)> = plugins
        .plugins()
        .iter()
        .map(|p| (p.spec().name.clone(), p.spec().kind))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    // Every built-in plugin, under Kafka's class name (a `$Key` variant is an alias of the
    // same component, so each SMT family is one entry).
    const T: &str = "org.apache.kafka.connect.transforms.";
    let mut expected: Vec<(String, PluginKind)> = vec![
        ("datagen".to_string(), PluginKind::Source),
        (
            "org.apache.kafka.connect.file.FileStreamSinkConnector".to_string(),
            PluginKind::Sink,
        ),
        (
            "org.apache.kafka.connect.file.FileStreamSourceConnector".to_string(),
            PluginKind::Source,
        ),
    ];
    for smt in [
        "Cast$Value",
        "DropHeaders",
        "ExtractField$Value",
        "Filter",
        "Flatten$Value",
        "HeaderFrom$Value",
        "HoistField$Value",
        "InsertField$Value",
        "InsertHeader",
        "MaskField$Value",
        "RegexRouter",
        "ReplaceField$Value",
        "SetSchemaMetadata$Value",
        "TimestampConverter$Value",
        "TimestampRouter",
        "ValueToKey",
    ] {
        expected.push((format!("{T}{smt}"), PluginKind::Transform));
    }
    for predicate in ["HasHeaderKey", "RecordIsTombstone", "TopicNameMatches"] {
        expected.push((format!("{T}predicates.{predicate}"), PluginKind::Predicate));
    }
    assert_eq!(listed, expected);
    for (class, kind) in [
        (
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            PluginKind::Source,
        ),
        ("FileStreamSourceConnector", PluginKind::Source),
        ("FileStreamSource", PluginKind::Source),
        (
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            PluginKind::Sink,
        ),
        ("FileStreamSink", PluginKind::Sink),
        ("datagen", PluginKind::Source),
    ] {
        let plugin = plugins
            .find(class)
            .unwrap_or_else(|| panic!("no plugin answers to {class}"));
        assert_eq!(plugin.spec().kind, kind, "{class}");
    }
    assert!(plugins.find("com.example.Nope").is_none());
}

#[test]
fn bad_files_are_rejected_with_a_precise_reason_while_the_others_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("garbage.wasm"), b"this is not wasm at all").expect("write");
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::copy(
        test_plugin("test-not-sluice"),
        dir.path().join("not-sluice.wasm"),
    )
    .expect("copy");
    let nested = dir.path().join("nested/deeper");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(
        built(&plugin_dir(), "file-source"),
        nested.join("file-source.wasm"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("README.txt"), b"ignored: not a .wasm file").expect("write");

    let (plugins, _cache) = load(&[dir.path().to_path_buf()]);
    let reason = |file: &str| -> String {
        let path = dir.path().join(file);
        plugins
            .rejected()
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{file} not rejected; rejected: {:?}", plugins.rejected()))
            .reason
            .clone()
    };
    assert!(
        reason("garbage.wasm").contains("not a WebAssembly file"),
        "{}",
        reason("garbage.wasm")
    );
    assert!(
        reason("core.wasm").contains("core WebAssembly module, not a component"),
        "{}",
        reason("core.wasm")
    );
    let wrong_world = reason("not-sluice.wasm");
    assert!(
        wrong_world.contains(
            "exports the wrong world: expected one of source/sink/transform/predicate (package sluice:connect@0.1.0)"
        ),
        "{wrong_world}"
    );
    assert!(
        wrong_world.contains("wasi:cli/run"),
        "names what it does export: {wrong_world}"
    );
    assert_eq!(plugins.rejected().len(), 3, "{:?}", plugins.rejected());
    assert_eq!(plugins.plugins().len(), 1);
    assert!(plugins.find("FileStreamSource").is_some());
}

#[test]
fn a_duplicate_plugin_name_keeps_the_first_file_and_names_both() {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        std::fs::copy(
            built(&plugin_dir(), "file-source"),
            dir.path().join(sub).join("file-source.wasm"),
        )
        .expect("copy");
    }
    let (plugins, _cache) = load(&[dir.path().to_path_buf()]);
    assert_eq!(plugins.plugins().len(), 1);
    assert_eq!(plugins.rejected().len(), 1, "{:?}", plugins.rejected());
    let rejected = &plugins.rejected()[0];
    assert_eq!(rejected.path, dir.path().join("b/file-source.wasm"));
    assert!(
        rejected.reason.contains(
            "duplicate plugin name `org.apache.kafka.connect.file.FileStreamSourceConnector`"
        ),
        "{}",
        rejected.reason
    );
    assert!(
        rejected
            .reason
            .contains(&dir.path().join("a/file-source.wasm").display().to_string()),
        "{}",
        rejected.reason
    );
}

#[test]
fn the_second_load_uses_the_cache_and_a_corrupt_artifact_is_rebuilt() {
    let file = built(&plugin_dir(), "file-source");
    let data = tempfile::tempdir().expect("temp dir");
    let input = data.path().join("in.txt");
    std::fs::write(&input, "cached\n").expect("write");
    let task_config = config(&[("file", input.to_str().expect("utf-8")), ("topic", "t")]);
    let reads_a_line = |plugins: &WasmPlugins| {
        let source = plugins.find("FileStreamSource").expect("file source");
        let mut task = source
            .open_source(&id(0), &task_config, vec![])
            .expect("open");
        let records = poll(task.as_mut(), 10).expect("poll");
        task.stop();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].record.value.value, Value::from("cached"));
    };

    let (first, cache) = load(std::slice::from_ref(&file));
    assert!(first.rejected().is_empty(), "{:?}", first.rejected());
    let entries = |ext: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(cache.path())
            .expect("cache dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .collect();
        v.sort();
        v
    };
    let cwasm = entries(".cwasm");
    assert_eq!(cwasm.len(), 1, "one artifact: {cwasm:?}");
    assert_eq!(
        entries(".spec.json").len(),
        1,
        "the spec is cached next to it"
    );
    let artifact = std::fs::read(&cwasm[0]).expect("read artifact");
    let modified = std::fs::metadata(&cwasm[0])
        .and_then(|m| m.modified())
        .expect("mtime");

    // Warm: served from the cache (the artifact is not rewritten), same spec, works.
    let warm = WasmPlugins::load(std::slice::from_ref(&file), cache.path()).expect("warm load");
    assert!(warm.rejected().is_empty(), "{:?}", warm.rejected());
    assert_eq!(
        std::fs::metadata(&cwasm[0])
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified
    );
    assert_eq!(
        warm.find("FileStreamSource").expect("file source").spec(),
        first.find("FileStreamSource").expect("file source").spec()
    );
    reads_a_line(&warm);

    // Corrupt: detected, deleted, rebuilt.
    std::fs::write(&cwasm[0], b"\x7fELF garbage garbage garbage").expect("corrupt");
    let rebuilt = WasmPlugins::load(std::slice::from_ref(&file), cache.path())
        .expect("load after corruption");
    assert!(rebuilt.rejected().is_empty(), "{:?}", rebuilt.rejected());
    let rewritten = std::fs::read(&cwasm[0]).expect("read artifact");
    assert!(
        rewritten.starts_with(b"\x7fELF") && rewritten.len() == artifact.len(),
        "artifact rebuilt"
    );
    reads_a_line(&rebuilt);

    // A damaged cached spec is re-read from the component.
    std::fs::write(&entries(".spec.json")[0], b"{not json").expect("corrupt spec");
    let respec = WasmPlugins::load(std::slice::from_ref(&file), cache.path())
        .expect("load after spec corruption");
    assert_eq!(
        respec.find("FileStreamSource").expect("file source").spec(),
        first.find("FileStreamSource").expect("file source").spec()
    );
}

fn datagen_config() -> Config {
    config(&[
        ("topic", "gen"),
        ("seed", "42"),
        ("quickstart", "users"),
        ("count", "-1"),
        ("rate", "0"),
        ("batch.size", "1000"),
    ])
}

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

/// A schemaless record for topic `t` with string value `v`.
fn string_record(v: &str) -> ConnectRecord {
    ConnectRecord::new("t", Data::NULL, Data::schemaless(Value::from(v)))
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

/// The Rust SDK exports the packed interfaces; a component run over them must give exactly
/// what the structured interfaces give (the JS and Python SDKs only have the latter).
#[test]
fn packed_and_structured_interfaces_give_the_same_results() {
    let (plugins, _cache) = load(&[plugin_path()]);
    const INSERT: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
    const MASK: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
    for class in ["datagen", "FileStreamSink", INSERT, MASK] {
        assert!(
            plugins.has_packed(class),
            "{class} exports its packed interface"
        );
    }

    // Source: the same records through both polls.
    let poll = |plugin: Arc<dyn Plugin>| {
        let mut t = plugin
            .open_source(&id(0), &datagen_config(), vec![])
            .expect("open");
        let records = poll(t.as_mut(), 200).expect("poll");
        t.stop();
        records
    };
    let packed = poll(plugins.find("datagen").expect("datagen"));
    let structured = poll(plugins.find_structured("datagen").expect("datagen"));
    assert_eq!(packed.len(), 200);
    assert_eq!(packed, structured);

    // Transforms: struct values with schemas, a timestamp inserted and fields masked.
    let records: Vec<ConnectRecord> = packed.into_iter().map(|r| r.record).collect();
    let chain = |find: &dyn Fn(&str) -> Option<Arc<dyn Plugin>>| {
        let mut insert = find(INSERT)
            .expect("insert")
            .open_transform(
                &id(0),
                INSERT,
                &config(&[("timestamp.field", "ts"), ("topic.field", "from")]),
            )
            .expect("create");
        let mut mask = find(MASK)
            .expect("mask")
            .open_transform(&id(0), MASK, &config(&[("fields", "name,email")]))
            .expect("create");
        let mut out = Vec::new();
        for o in insert.apply(records.clone()).expect("apply") {
            match o {
                Outcome::Keep(r) => out.push(r),
                other => panic!("unexpected {other:?}"),
            }
        }
        mask.apply(out).expect("apply")
    };
    let packed = chain(&|c: &str| plugins.find(c));
    let structured = chain(&|c: &str| plugins.find_structured(c));
    assert_eq!(packed.len(), records.len());
    assert_eq!(packed, structured);
    assert!(
        matches!(&packed[0], Outcome::Keep(r) if r.value.schema.as_ref().is_some_and(|s| s.fields.iter().any(|f| f.name == "ts"))),
        "the field was inserted: {:?}",
        packed[0]
    );

    // Sink: the same file content through both puts.
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = |plugin: Arc<dyn Plugin>, file: &Path| {
        let cfg = config(&[("file", file.to_str().expect("utf-8")), ("topics", "t")]);
        let mut t = plugin.open_sink(&id(0), &cfg).expect("open");
        let mut batch: Vec<ConnectRecord> = (0..100)
            .map(|i| string_record(&format!("line {i}")))
            .collect();
        assert_eq!(t.put(&mut batch).expect("put"), vec![]);
        t.flush(&[]).expect("flush");
        t.stop();
        std::fs::read_to_string(file).expect("read")
    };
    let packed = sink(
        plugins.find("FileStreamSink").expect("sink"),
        &dir.path().join("packed.txt"),
    );
    let structured = sink(
        plugins.find_structured("FileStreamSink").expect("sink"),
        &dir.path().join("structured.txt"),
    );
    assert_eq!(packed.lines().count(), 100);
    assert_eq!(packed, structured);
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

#[test]
fn rescans_pick_up_added_replaced_removed_and_broken_files_without_disturbing_loaded_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plugins, _cache) = load(&[dir.path().to_path_buf()]);
    assert!(plugins.find("test-trap-source").is_none());

    // Added.
    let file = dir.path().join("trap.wasm");
    let original = std::fs::read(test_plugin("test-trap-source")).expect("read");
    std::fs::write(&file, &original).expect("write");
    plugins.rescan();
    let v1 = plugins.find("test-trap-source").expect("added");
    assert_eq!(v1.spec().version, "0.1.0+build.1");

    // Replaced (a distinct component: the version's build number patched), written in place.
    let mut patched = original.clone();
    let at = patched
        .windows(13)
        .position(|w| w == b"0.1.0+build.1")
        .expect("version marker");
    patched[at + 12] = b'2';
    std::fs::write(&file, &patched).expect("rewrite");
    plugins.rescan();
    let v2 = plugins.find("test-trap-source").expect("replaced");
    assert_eq!(v2.spec().version, "0.1.0+build.2");
    // What was handed out before still works: it holds its own compiled component.
    let mut task = v1
        .open_source(
            &id(0),
            &config(&[("topic", "t"), ("trap.after", "3")]),
            vec![],
        )
        .expect("open the old version");
    assert_eq!(task.poll(10).expect("poll").len(), 3);

    // A broken replacement keeps the last good version in service; a broken new file is
    // rejected; neither is loaded again while unchanged.
    std::fs::write(&file, b"\0asm\x0d\0\x01\0 truncated").expect("break");
    std::fs::write(dir.path().join("junk.wasm"), b"junk").expect("junk");
    plugins.rescan();
    plugins.rescan();
    assert_eq!(
        plugins
            .find("test-trap-source")
            .expect("kept")
            .spec()
            .version,
        "0.1.0+build.2"
    );
    let rejected = plugins.rejected();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(
        rejected[0].path.ends_with("junk.wasm") && rejected[1].path.ends_with("trap.wasm"),
        "{rejected:?}"
    );
    assert!(
        rejected[1]
            .reason
            .contains("keeping the previously loaded version 0.1.0+build.2"),
        "{rejected:?}"
    );

    // Removed: no longer offered; the open task is unaffected.
    std::fs::remove_file(&file).expect("remove");
    plugins.rescan();
    assert!(plugins.find("test-trap-source").is_none());
    assert!(plugins.plugins().is_empty());
    // It still runs its own instance: after `trap.after` records it traps, as it should.
    let trapped = task.poll(10);
    assert!(
        matches!(&trapped, Err(TaskError::Trap(m)) if m.contains("trap after 3 records")),
        "{trapped:?}"
    );
}

/// `find` with every plugin's struct plans ignored.
struct Unplanned<'a>(&'a WasmPlugins);

impl PluginCatalog for Unplanned<'_> {
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.0.find_unplanned(class)
    }
    fn plugins(&self) -> Vec<Arc<dyn Plugin>> {
        self.0.plugins()
    }
}

/// Struct plans the host applies (`transform-plans`) must give exactly what the plugins'
/// own `apply` gives, record for record, including for the records a plan does not fit.
#[test]
fn host_applied_struct_plans_give_what_the_plugins_give() {
    use crate::config::ChainSpec;
    use crate::data::{Field, Schema, SchemaType};
    let (plugins, _cache) = load(&[plugin_path()]);
    const INSERT: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
    const MASK: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
    const REPLACE: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
    for class in [INSERT, MASK, REPLACE] {
        assert!(plugins.has_plans(class), "{class} exports transform-plans");
    }
    let raw = config(&[
        ("transforms", "insert,mask,rename"),
        ("transforms.insert.type", INSERT),
        ("transforms.insert.timestamp.field", "ts"),
        ("transforms.insert.offset.field", "off"),
        ("transforms.insert.topic.field", "from"),
        ("transforms.insert.static.field", "origin"),
        ("transforms.insert.static.value", "test"),
        ("transforms.mask.type", MASK),
        ("transforms.mask.fields", "ssn,amount"),
        ("transforms.rename.type", REPLACE),
        ("transforms.rename.renames", "id:customer_id"),
        ("transforms.rename.exclude", "note"),
    ]);
    let field = |name: &str, schema: Schema| Field {
        name: name.into(),
        schema: schema.into_ref(),
    };
    let schema = Schema::structure(vec![
        field("id", Schema::new(SchemaType::Int64)),
        field("ssn", Schema::new(SchemaType::String).optional()),
        field("amount", Schema::new(SchemaType::Float64)),
        field(
            "note",
            Schema::new(SchemaType::String)
                .optional()
                .with_default(Value::from("n/a")),
        ),
        field(
            "tier",
            Schema::new(SchemaType::Int32)
                .optional()
                .with_default(Value::Int32(1)),
        ),
    ])
    .into_ref();
    let mut records = Vec::new();
    for i in 0..40i64 {
        let ssn = if i % 3 == 0 {
            Value::Null
        } else {
            Value::from(format!("123-{i}"))
        };
        let tier = if i % 4 == 0 {
            Value::Null
        } else {
            Value::Int32(i as i32)
        };
        let value = Value::Struct(vec![
            Value::Int64(i),
            ssn,
            Value::Float64(i as f64 / 4.0),
            Value::from(format!("note {i}")),
            tier,
        ]);
        let mut r = ConnectRecord::new(
            "payments",
            Data::NULL,
            Data::new(Some(schema.clone()), value),
        );
        r.kafka_partition = Some(0);
        r.kafka_offset = Some(i);
        // Every fifth record has no timestamp: the plan cannot insert one, `apply` decides.
        r.timestamp = (i % 5 != 0).then_some(1_700_000_000_000 + i);
        records.push(r);
    }
    // Records no plan fits: schemaless, a tombstone, a value that does not match its schema.
    records.push(ConnectRecord::new(
        "payments",
        Data::NULL,
        Data::schemaless(Value::Map(vec![(Value::from("id"), Value::Int64(1))])),
    ));
    records.push(ConnectRecord::new("payments", Data::NULL, Data::NULL));
    records.push(ConnectRecord::new(
        "payments",
        Data::NULL,
        Data::new(Some(schema.clone()), Value::Struct(vec![Value::from("x")])),
    ));
    let run = |catalog: &dyn PluginCatalog| {
        let spec = ChainSpec::resolve(&raw, catalog).expect("valid chain");
        let mut chain = TransformChain::open(&spec, &id(0), RetryPolicy::none()).expect("open");
        // Two batches: the second one finds its plans cached.
        let mut out = chain.apply(records.clone()).expect("apply");
        out.extend(chain.apply(records.clone()).expect("apply"));
        out
    };
    let planned = run(&plugins);
    let unplanned = run(&Unplanned(&plugins));
    assert_eq!(planned.len(), unplanned.len());
    for (i, (p, u)) in planned.iter().zip(&unplanned).enumerate() {
        assert_eq!(p, u, "record {i}");
    }

    // The same steps as the segment the chain joins them into: the plans do the work.
    let mut segment = joined(&plugins, &raw, &["insert", "mask", "rename"]);
    let mut out = segment.apply(records.clone()).expect("apply");
    out.extend(segment.apply(records.clone()).expect("apply"));
    assert_eq!(out, planned);
    // InsertField plans the 32 records with a timestamp of each batch; the 8 without fall
    // through to `apply`, whose output the later steps plan too (all 40 well-formed struct
    // records). The three records no plan fits go through `apply` in every step.
    assert_eq!(
        segment.planned(),
        vec![64, 80, 80],
        "records rewritten by plans, per step"
    );
    // Without plans, every record crosses through the plugins' packed `apply`, encoded once
    // for the whole segment.
    let mut segment = joined(&Unplanned(&plugins), &raw, &["insert", "mask", "rename"]);
    let mut out = segment.apply(records.clone()).expect("apply");
    out.extend(segment.apply(records.clone()).expect("apply"));
    assert_eq!(out, unplanned);
    assert_eq!(segment.planned(), vec![0, 0, 0]);
    let packed = segment.packed();
    assert_eq!(packed[0], 2 * records.len() as u64, "{packed:?}");
    assert!(packed.iter().all(|&n| n > 0), "{packed:?}");
}

/// The transforms `aliases` of chain config `raw`, opened from `catalog` and joined into one
/// packed segment (as `ChainSpec::open` has `WasmPlugin::join_transforms` do).
fn joined(catalog: &dyn PluginCatalog, raw: &Config, aliases: &[&str]) -> packed::FusedSteps {
    let mut steps = Vec::new();
    for alias in aliases {
        let prefix = format!("transforms.{alias}.");
        let class = raw
            .iter()
            .find(|(k, _)| *k == format!("{prefix}type"))
            .map(|(_, v)| v.clone())
            .expect("type");
        let config: Config = raw
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
            .filter(|(k, _)| k != "type")
            .collect();
        let transform = catalog
            .find(&class)
            .expect("plugin")
            .open_transform(&id(0), &class, &config)
            .expect("open");
        steps.push(JoinStep {
            alias: alias.to_string(),
            class,
            transform,
        });
    }
    let segment = packed::join(&mut steps, &RetryPolicy::none())
        .expect("join")
        .expect("packed transforms are joined");
    assert!(steps.is_empty(), "every step joined");
    segment
}
