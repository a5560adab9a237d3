//! Loading `plugin.path`: built-in plugins, rejected files, duplicates, the cache, rescans.

use std::sync::Arc;

use super::*;
use crate::runtime::plugin::PluginCatalog;
use crate::spec::PluginKind;

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
    // The connectors to external systems (plugins/jdbc-*, s3-sink, elasticsearch-sink,
    // http-sink, postgres-cdc, whose Debezium class name is an alias).
    expected.extend([
        (
            "io.confluent.connect.http.HttpSinkConnector".to_string(),
            PluginKind::Sink,
        ),
        (
            "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector".to_string(),
            PluginKind::Sink,
        ),
        (
            "io.confluent.connect.jdbc.JdbcSinkConnector".to_string(),
            PluginKind::Sink,
        ),
        (
            "io.confluent.connect.jdbc.JdbcSourceConnector".to_string(),
            PluginKind::Source,
        ),
        (
            "io.confluent.connect.s3.S3SinkConnector".to_string(),
            PluginKind::Sink,
        ),
        ("postgres-cdc".to_string(), PluginKind::Source),
    ]);
    expected.sort_by(|a, b| a.0.cmp(&b.0));
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

    // Corrupt: the scan does not deserialize the artifact, so it offers the plugin from its
    // cached spec and leaves the artifact alone; the first use detects the damage, deletes
    // the artifact and rebuilds it from the plugin file.
    let garbage = b"\x7fELF garbage garbage garbage";
    std::fs::write(&cwasm[0], garbage).expect("corrupt");
    let rebuilt = WasmPlugins::load(std::slice::from_ref(&file), cache.path())
        .expect("load after corruption");
    assert!(rebuilt.rejected().is_empty(), "{:?}", rebuilt.rejected());
    assert!(
        std::fs::read(&cwasm[0]).expect("read artifact") == garbage,
        "the scan does not deserialize (nor rebuild) the artifact"
    );
    reads_a_line(&rebuilt);
    let rewritten = std::fs::read(&cwasm[0]).expect("read artifact");
    assert!(
        rewritten.starts_with(b"\x7fELF") && rewritten.len() == artifact.len(),
        "artifact rebuilt"
    );
    assert_eq!(
        entries(".spec.json").len(),
        1,
        "the spec is cached again with the rebuilt artifact"
    );

    // A damaged cached spec is re-read from the component.
    std::fs::write(&entries(".spec.json")[0], b"{not json").expect("corrupt spec");
    let respec = WasmPlugins::load(std::slice::from_ref(&file), cache.path())
        .expect("load after spec corruption");
    assert_eq!(
        respec.find("FileStreamSource").expect("file source").spec(),
        first.find("FileStreamSource").expect("file source").spec()
    );
}

#[test]
fn components_are_deserialized_on_first_use_only_and_then_shared() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["datagen", "file-source", "file-sink"] {
        std::fs::copy(
            built(&plugin_dir(), name),
            dir.path().join(format!("{name}.wasm")),
        )
        .expect("copy");
    }
    let paths = [dir.path().to_path_buf()];

    // Cold: every file is compiled and checked, but no component stays in memory.
    let (cold, cache) = load(&paths);
    assert!(cold.rejected().is_empty(), "{:?}", cold.rejected());
    assert_eq!(cold.plugins().len(), 3);
    assert_eq!(cold.resident(), Vec::<String>::new(), "cold scan");
    drop(cold);

    // Warm: specs and capabilities (what `GET /connector-plugins` lists) come from the cache.
    let warm = WasmPlugins::load(&paths, cache.path()).expect("warm load");
    assert!(warm.rejected().is_empty(), "{:?}", warm.rejected());
    for p in warm.plugins() {
        assert!(!p.spec().name.is_empty());
        let _ = p.capabilities();
    }
    let sink = warm.find("FileStreamSink").expect("file sink");
    assert!(
        sink.capabilities().iter().any(|c| c.name == "filesystem"),
        "capabilities from the cached imports: {:?}",
        sink.capabilities()
    );
    assert_eq!(warm.resident(), Vec::<String>::new(), "warm scan");

    // Validating a config needs the guest: that plugin, and only it, is deserialized.
    let datagen = warm.find("datagen").expect("datagen");
    let problems = datagen.validate(&datagen_config()).expect("validate");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(warm.resident(), ["datagen"]);
    let linked = warm
        .find_wasm("datagen")
        .expect("datagen")
        .linked()
        .expect("linked");

    // A task of it shares the same component.
    let mut task = datagen
        .open_source(&id(0), &datagen_config(), vec![])
        .expect("open");
    assert_eq!(poll(task.as_mut(), 5).expect("poll").len(), 5);
    task.stop();
    let again = warm
        .find_wasm("datagen")
        .expect("datagen")
        .linked()
        .expect("linked");
    assert!(Arc::ptr_eq(&linked, &again), "deserialized once, shared");
    assert_eq!(warm.resident(), ["datagen"]);
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
