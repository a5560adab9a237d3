//! Python tools from PyPI for the tests: a venv under the target directory per tool set
//! (`<target>/<name>/`), with the requirements file of `tools/<tool>/requirements.txt` installed
//! the first time a test needs them and again only when that file changes (a marker records
//! what was installed). Nothing outside the repository's target directory is used, and a fresh
//! clone needs only `python3` with `venv` on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{target_dir, workspace_root};

/// The Python of the venv `<target>/<venv>`, with `tools/<tool>/requirements.txt` installed
/// (panics with pip's output when the install fails). Call once per process per venv (keep the
/// result in a `OnceLock`).
pub fn venv_python(venv: &str, tool: &str) -> PathBuf {
    // One pip at a time: two venvs installing at once would compete for the two cores anyway.
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let requirements = workspace_root()
        .join("tools")
        .join(tool)
        .join("requirements.txt");
    let wanted = std::fs::read(&requirements)
        .unwrap_or_else(|e| panic!("reading {}: {e}", requirements.display()));
    let venv = target_dir().join(venv);
    let bin = venv.join("bin");
    let python = bin.join("python");
    let marker = venv.join("installed-requirements.txt");
    if python.is_file() && std::fs::read(&marker).ok().as_deref() == Some(&wanted[..]) {
        return python;
    }
    if !bin.join("pip").is_file() {
        run_ok(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            &format!("creating the venv {} (python3 -m venv)", venv.display()),
        );
    }
    run_ok(
        Command::new(bin.join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        &format!("installing {}", requirements.display()),
    );
    std::fs::write(&marker, &wanted)
        .unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    python
}

/// Runs `cmd` to completion; panics with its output unless it succeeded.
pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tools/schema-registry-client/<script>` run with the venv that has Confluent's Python client
/// (confluent-kafka with its Schema Registry, Avro, JSON Schema and Protobuf extras); returns
/// its stdout.
pub fn registry_client(script: &str, args: &[&str]) -> String {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let python = PYTHON.get_or_init(|| venv_python("avro-toolchain", "schema-registry-client"));
    let path: &Path = &workspace_root()
        .join("tools")
        .join("schema-registry-client")
        .join(script);
    run_ok(
        Command::new(python).arg(path).args(args),
        &format!("{script} {}", args.join(" ")),
    )
}

/// `tools/schema-registry-client/avro_client.py` (see [`registry_client`]).
pub fn avro_client(args: &[&str]) -> String {
    registry_client("avro_client.py", args)
}

/// `tools/schema-registry-client/json_schema_client.py` (see [`registry_client`]).
pub fn json_schema_client(args: &[&str]) -> String {
    registry_client("json_schema_client.py", args)
}

/// `tools/schema-registry-client/protobuf_client.py` (see [`registry_client`]).
pub fn protobuf_client(args: &[&str]) -> String {
    registry_client("protobuf_client.py", args)
}
