//! Tests of the engine with real components: the built-in plugins (`target/plugin-path/`, built
//! by `cargo xtask plugins`) and the test-only ones (`target/test-plugins/`, built by the
//! `sluice-tests` build script). Both builds run on first use, once per test binary, so these
//! tests need no earlier step; a failed build fails the test loudly, nothing here is skipped.

#![allow(clippy::unwrap_used)]

mod fast_path;
mod loading;
mod tasks;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::*;
use crate::data::{ConnectRecord, Data, Value};
use crate::runtime::plugin::TaskId;
use crate::runtime::task::{SourceTask, TaskError};
use crate::spec::Config;

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

/// A schemaless record for topic `t` with string value `v`.
fn string_record(v: &str) -> ConnectRecord {
    ConnectRecord::new("t", Data::NULL, Data::schemaless(Value::from(v)))
}
