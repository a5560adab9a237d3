//! `cargo xtask bench`: Sluice against the reference Kafka Connect 3.9, same broker, same data
//! (release builds). The measuring program is `sluice-bench` in the tests crate (it reuses the
//! test harness's broker and Kafka client); this command prepares everything it needs.
//! The method is described in docs/benchmarks.md. `cargo xtask bench --startup` runs the
//! start-up benchmark instead (worker start to all connectors RUNNING, cold and warm cache,
//! 20 plugins; `--runs N` timed starts per row); other flags are passed to `sluice-bench`.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{cargo, root, run};
use crate::plugins;
use crate::test::ensure_tansu;

pub fn run_bench(args: &[String]) -> Result<()> {
    ensure_tansu()?;
    plugins::build_all()?;
    run(cargo().args(["build", "--release", "-p", "sluice", "--bin", "sluice"]))?;

    // shared/ sits beside the checkout (locally and in CI); SLUICE_REFERENCE_CONNECT overrides.
    let reference = std::env::var_os("SLUICE_REFERENCE_CONNECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/tools/reference-connect"));
    let skip_reference = args.iter().any(|a| a == "--sluice-only");
    if !skip_reference {
        if !reference.join("setup.sh").is_file() {
            bail!(
                "reference Kafka Connect scripts not found in {} (set SLUICE_REFERENCE_CONNECT, or pass --sluice-only)",
                reference.display()
            );
        }
        run(Command::new("bash").arg(reference.join("setup.sh")))?;
    }

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "sluice-tests",
        "--bin",
        "sluice-bench",
        "--",
    ])
    .arg("--sluice")
    .arg(target.join("release/sluice"))
    .arg("--out")
    .arg(root().join("docs/benchmarks.md"));
    if !skip_reference {
        cmd.arg("--reference").arg(&reference);
    }
    cmd.args(args.iter().filter(|a| *a != "--sluice-only"));
    run(&mut cmd)
}
