//! `cargo xtask fuzz [SECONDS]`: runs the packed decoder's fuzz target
//! (`plugin-sdk/packed/fuzz/`) for SECONDS (default 300), without cargo-fuzz.
//!
//! Design decision: cargo-fuzz is a thin wrapper over a nightly build with libFuzzer's
//! coverage flags; doing that build here needs only a nightly toolchain (installed through
//! rustup when missing), so a long fuzz run is one command like the other long runs. The
//! corpus is kept in `target/fuzz-corpus/decode`, so each run continues where the last one
//! stopped. The flags go through RUSTFLAGS with an explicit `--target`, which keeps them off
//! build scripts, as cargo-fuzz does.

use anyhow::{bail, Context, Result};
use std::process::Command;

use crate::cmd::{output, root, run, target_dir};

const TOOLCHAIN: &str = "nightly";
const HOST: &str = "x86_64-unknown-linux-gnu";
/// libFuzzer's SanitizerCoverage instrumentation, as cargo-fuzz sets it (without ASan: the
/// target is safe Rust; debug assertions and overflow checks catch arithmetic slips).
const FLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
     -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
     --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

pub fn run_fuzz(args: &[String]) -> Result<()> {
    let seconds: u64 = match args.first() {
        Some(s) => s
            .parse()
            .with_context(|| format!("`cargo xtask fuzz {s}`: SECONDS must be a whole number"))?,
        None => 300,
    };
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
    run(Command::new("cargo")
        .arg(format!("+{TOOLCHAIN}"))
        .args(["build", "--release", "--target", HOST, "--manifest-path"])
        .arg(root().join("plugin-sdk/packed/fuzz/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("RUSTFLAGS", FLAGS)
        // `cargo xtask` runs under the stable toolchain; its variables would pin the child to it.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))?;
    let corpus = target_dir().join("fuzz-corpus").join("decode");
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let binary = build_dir.join(HOST).join("release").join("decode");
    let status = Command::new(&binary)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=2048")
        .arg(&corpus)
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    if !status.success() {
        bail!(
            "the fuzz target found a failing input ({status}); libFuzzer wrote it as crash-* in {}",
            std::env::current_dir()?.display()
        );
    }
    Ok(())
}
