//! `cargo xtask test`: everything CI runs, on a fresh machine. Installs what the tests need
//! (skipping what is present), builds the plugins, runs every test suite.
//!
//! The tansu install is the slow step (~8 min on 2 cores), so it is skipped whenever the right
//! version is already on PATH.

use anyhow::{bail, Result};
use std::process::Command;

use crate::cmd::{cargo, output, root, run};
use crate::plugins;

/// The broker version the integration tests are written against.
pub const TANSU_VERSION: &str = "0.6.0";

pub fn run_all() -> Result<()> {
    ensure_wasm_target()?;
    ensure_tansu()?;
    ensure_reference_connect()?;
    plugins::build_all()?;
    // The JS/Python/Rust example plugins (installs their toolchains under target/ when missing).
    crate::examples::build_all()?;
    // `--no-fail-fast` and both suites always run: one failure must not hide the other results.
    let mut failed = Vec::new();
    if let Err(e) = run(cargo().args(["test", "--workspace", "--no-fail-fast"])) {
        failed.push(e.to_string());
    }
    // The plugins workspace unit-tests its pure logic on the host target.
    if root().join("plugins/Cargo.toml").is_file() {
        let plugin_tests = run(cargo().args([
            "test",
            "--manifest-path",
            "plugins/Cargo.toml",
            "--workspace",
            "--no-fail-fast",
        ]));
        if let Err(e) = plugin_tests {
            failed.push(e.to_string());
        }
    }
    // Guest SDK and example unit tests (JavaScript under Node, the Rust example natively).
    if let Err(e) = crate::examples::test_all() {
        failed.push(e.to_string());
    }
    // House rules (STYLE.md): formatted, and clippy-clean with warnings as errors. Run after
    // the tests so a lint never hides a test result.
    let fmt_host = run(cargo().args(["fmt", "--all", "--check"]));
    // From inside plugins/: `--manifest-path` does not scope `cargo fmt` to that workspace.
    let fmt_plugins = run(cargo()
        .args(["fmt", "--all", "--check"])
        .current_dir(root().join("plugins")));
    let clippy = run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]));
    for result in [fmt_host, fmt_plugins, clippy] {
        if let Err(e) = result {
            failed.push(e.to_string());
        }
    }
    if !failed.is_empty() {
        bail!("tests failed:\n  {}", failed.join("\n  "));
    }
    Ok(())
}

/// `rustup target add wasm32-wasip2` unless it is installed.
pub fn ensure_wasm_target() -> Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-wasip2") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

/// Installs the reference Kafka Connect 3.9 (the REST differential test runs against it) with
/// shared/tools/reference-connect/setup.sh, unless `$REF_HOME/classpath.txt` (default
/// /tmp/reference-connect) already exists. `SLUICE_REFERENCE_CONNECT` overrides where the
/// scripts are, as for `cargo xtask bench`.
pub fn ensure_reference_connect() -> Result<()> {
    let home = std::env::var_os("REF_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/tmp/reference-connect".into());
    if home.join("classpath.txt").is_file() {
        return Ok(());
    }
    // Beside the checkout (the project's layout), else this workplace's /work/shared: a clean
    // clone made elsewhere (as CI does) has no ../shared.
    let scripts = std::env::var_os("SLUICE_REFERENCE_CONNECT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let beside = root().join("../shared/tools/reference-connect");
            let workplace = std::path::PathBuf::from("/work/shared/tools/reference-connect");
            if !beside.join("setup.sh").is_file() && workplace.join("setup.sh").is_file() {
                workplace
            } else {
                beside
            }
        });
    if !scripts.join("setup.sh").is_file() {
        bail!(
            "the reference Kafka Connect is not installed in {} and its setup script is not in {} (set REF_HOME or SLUICE_REFERENCE_CONNECT)",
            home.display(),
            scripts.display()
        );
    }
    eprintln!(
        "xtask: installing the reference Kafka Connect into {}",
        home.display()
    );
    run(Command::new("bash").arg(scripts.join("setup.sh")))
}

/// Installs tansu from crates.io unless `tansu --version` already reports [`TANSU_VERSION`].
pub fn ensure_tansu() -> Result<()> {
    let version = output(Command::new("tansu").arg("--version")).unwrap_or_default();
    if version.split_whitespace().any(|w| w == TANSU_VERSION) {
        return Ok(());
    }
    eprintln!("xtask: tansu {TANSU_VERSION} not on PATH (found: {:?}); installing it (takes several minutes)", version.trim());
    run(cargo().args([
        "install",
        "tansu",
        "--version",
        TANSU_VERSION,
        "--locked",
        "--features",
        "dynostore",
    ]))?;
    let version = output(Command::new("tansu").arg("--version")).unwrap_or_default();
    if !version.contains(TANSU_VERSION) {
        bail!(
            "installed tansu, but `tansu --version` says {:?}: is ~/.cargo/bin on PATH?",
            version.trim()
        );
    }
    Ok(())
}
