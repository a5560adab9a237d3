//! `cargo xtask fuzz [SECONDS] [TARGET…]`: runs the fuzz targets of every parser of untrusted
//! input, each for SECONDS (default 300), without cargo-fuzz:
//! - `host/fuzz/`: `properties` and `connector_json` (worker and connector files),
//!   `json_converter`, `header_converter`, `allow_list` (`wasm.network.allow`); the
//!   properties each checks are in `host/src/fuzzing.rs`;
//! - `plugin-sdk/packed/fuzz/`: `decode` (the packed batch decoder).
//!
//! Design decision: cargo-fuzz is a thin wrapper over a nightly build with libFuzzer's
//! coverage flags; doing that build here needs only a nightly toolchain (installed through
//! rustup when missing), so a long fuzz run is one command like the other long runs. The flags
//! go through RUSTFLAGS with an explicit `--target`, which keeps them off build scripts, as
//! cargo-fuzz does.
//!
//! Corpus: each run works in `target/fuzz-corpus/<target>/`, seeded from the kept corpus in
//! `<workspace>/corpus/<target>/` (where there is one), and at the end merges back into the
//! kept corpus only the inputs that reach new coverage, so the repository keeps a small corpus
//! worth committing. The host's unit tests replay the kept corpus on every `cargo xtask test`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{output, root, run, target_dir};

const TOOLCHAIN: &str = "nightly";
const HOST: &str = "x86_64-unknown-linux-gnu";
/// libFuzzer's SanitizerCoverage instrumentation, as cargo-fuzz sets it (without ASan: the
/// targets are safe Rust; debug assertions and overflow checks catch arithmetic slips).
const FLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
     -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
     --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// Each fuzz workspace with its targets.
const WORKSPACES: &[(&str, &[&str])] = &[
    (
        "host/fuzz",
        &[
            "properties",
            "connector_json",
            "json_converter",
            "header_converter",
            "allow_list",
        ],
    ),
    ("plugin-sdk/packed/fuzz", &["decode"]),
];

pub fn run_fuzz(args: &[String]) -> Result<()> {
    let (seconds, names) = match args.first().map(|s| s.parse::<u64>()) {
        Some(Ok(s)) => (s, &args[1..]),
        _ => (300, args),
    };
    let known: Vec<&str> = WORKSPACES
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        bail!(
            "`cargo xtask fuzz`: unknown target `{unknown}`; the targets are {} (usage: cargo xtask fuzz [SECONDS] [TARGET…])",
            known.join(", ")
        );
    }
    let wanted = |t: &str| names.is_empty() || names.iter().any(|n| n == t);

    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !toolchains.lines().any(|l| l.starts_with(TOOLCHAIN)) {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            TOOLCHAIN,
            "--profile",
            "minimal",
        ]))?;
    }
    let build_dir = target_dir().join("fuzz");
    let mut failed = Vec::new();
    for (workspace, targets) in WORKSPACES {
        let targets: Vec<&str> = targets.iter().copied().filter(|t| wanted(t)).collect();
        if targets.is_empty() {
            continue;
        }
        build(workspace, &build_dir)?;
        for target in targets {
            let binary = build_dir.join(HOST).join("release").join(target);
            let kept = root().join(workspace).join("corpus").join(target);
            if let Err(e) = fuzz_one(&binary, target, &kept, seconds) {
                eprintln!("xtask fuzz: {e:#}");
                failed.push(target);
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz targets found failing inputs: {} (libFuzzer wrote each as crash-* in {})",
            failed.join(", "),
            std::env::current_dir()?.display()
        );
    }
    Ok(())
}

fn build(workspace: &str, build_dir: &Path) -> Result<()> {
    run(Command::new("cargo")
        .arg(format!("+{TOOLCHAIN}"))
        .args(["build", "--release", "--target", HOST, "--manifest-path"])
        .arg(root().join(workspace).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", build_dir)
        .env("RUSTFLAGS", FLAGS)
        // `cargo xtask` runs under the stable toolchain; its variables would pin the child to it.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))
}

/// Runs one target for `seconds` on its working corpus, then merges what reached new coverage
/// into the kept corpus `kept` (when the workspace keeps one).
fn fuzz_one(binary: &Path, target: &str, kept: &Path, seconds: u64) -> Result<()> {
    let work: PathBuf = target_dir().join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let mut fuzz = Command::new(binary);
    fuzz.arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=2048")
        .arg(&work);
    if kept.is_dir() {
        fuzz.arg(kept);
    }
    eprintln!("xtask fuzz: {target} for {seconds} s");
    let status = fuzz
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    if !status.success() {
        bail!("{target}: a failing input ({status})");
    }
    if kept.is_dir() {
        let merged = Command::new(binary)
            .arg("-merge=1")
            .arg(kept)
            .arg(&work)
            .status()
            .with_context(|| format!("merging into {}", kept.display()))?;
        if !merged.success() {
            bail!(
                "{target}: merging into {} failed ({merged})",
                kept.display()
            );
        }
    }
    Ok(())
}
