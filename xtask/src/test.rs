//! `cargo xtask test`: everything CI runs, on a fresh machine. Installs what the tests need
//! (skipping what is present), builds the plugins, runs every test suite.
//!
//! The tansu install is the slow step (~8 min on 2 cores), so it is skipped whenever the right
//! version is already on PATH.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{cargo, output, root, run};
use crate::plugins;

/// The wasm32-wasip2 workspaces beside the host's: the shipped plugins and the test-only ones.
const GUEST_WORKSPACES: [&str; 2] = ["plugins", "tests/plugins"];

/// The broker version the integration tests are written against.
pub const TANSU_VERSION: &str = "0.6.0";

pub fn run_all() -> Result<()> {
    ensure_wasm_target()?;
    ensure_tansu()?;
    ensure_reference_connect()?;
    ensure_chromium()?;
    crate::databases::prepare()?;
    plugins::build_all()?;
    // The JS/Python/Rust example plugins (installs their toolchains under target/ when missing).
    crate::examples::build_all()?;
    // `--no-fail-fast` and both suites always run: one failure must not hide the other results.
    let mut failed = Vec::new();
    if let Err(e) = run(cargo().args(["test", "--workspace", "--no-fail-fast"])) {
        failed.push(e.to_string());
    }
    // The guest workspaces (shipped and test-only plugins) unit-test their pure logic on the
    // host target.
    for workspace in GUEST_WORKSPACES {
        let manifest = format!("{workspace}/Cargo.toml");
        let unit_tests = run(cargo().args([
            "test",
            "--manifest-path",
            &manifest,
            "--workspace",
            "--no-fail-fast",
        ]));
        if let Err(e) = unit_tests {
            failed.push(e.to_string());
        }
    }
    // Guest SDK and example unit tests (JavaScript under Node, the Rust example natively).
    if let Err(e) = crate::examples::test_all() {
        failed.push(e.to_string());
    }
    // House rules (STYLE.md): formatted, and clippy-clean with warnings as errors. Run after
    // the tests so a lint never hides a test result.
    let mut lints = vec![run(cargo().args(["fmt", "--all", "--check"]))];
    // From inside each guest workspace: `--manifest-path` does not scope `cargo fmt` to it.
    for workspace in GUEST_WORKSPACES {
        lints.push(run(cargo()
            .args(["fmt", "--all", "--check"])
            .current_dir(root().join(workspace))));
    }
    lints.push(run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])));
    for result in lints {
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

/// Installs the reference Kafka Connect 3.9 (the REST differential tests and the benchmark
/// compare with it) with the project's `tools/reference-connect/setup.sh`, into `$REF_HOME`
/// (default /tmp/reference-connect). The script skips what is already installed.
pub fn ensure_reference_connect() -> Result<()> {
    run(Command::new("bash").arg(reference_connect_dir().join("setup.sh")))
}

/// Debian's Chromium and its WebDriver server, for the dashboard test (`tests/integration/
/// dashboard.rs` drives `/ui` in headless Chromium), and Debian's Prometheus server, which
/// scrapes a worker in `tests/integration/prometheus.rs`. Installed with apt unless all are on
/// PATH already.
pub fn ensure_chromium() -> Result<()> {
    let present = |bin: &str| {
        Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if present("chromium") && present("chromedriver") && present("prometheus") {
        return Ok(());
    }
    eprintln!("xtask: installing chromium, chromium-driver and prometheus (apt) for the dashboard and metrics tests");
    let install = || {
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
                "prometheus",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().is_err() {
        // A machine whose package lists are missing or stale.
        run(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(())
}

/// The scripts that install (`setup.sh`) and run (`run.sh`) the reference Kafka Connect.
pub fn reference_connect_dir() -> PathBuf {
    root().join("tools").join("reference-connect")
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
