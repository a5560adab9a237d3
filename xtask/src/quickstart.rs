//! `cargo xtask quickstart`: builds the plugins and runs `examples/quickstart` on the embedded
//! in-memory broker: datagen users → topic `users` → /tmp/sluice-quickstart/users.txt.
//! Ctrl-C stops the worker.

use anyhow::{Context, Result};

use crate::cmd::{cargo, run};
use crate::plugins;

/// Where the quickstart writes (also set in `examples/quickstart/*.properties`).
pub const OUT_DIR: &str = "/tmp/sluice-quickstart";

pub fn run_quickstart() -> Result<()> {
    plugins::build_all()?;
    // A previous run's offsets would make datagen resume at its end and produce nothing new.
    match std::fs::remove_dir_all(OUT_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot clear {OUT_DIR}")),
    }
    std::fs::create_dir_all(OUT_DIR).with_context(|| format!("cannot create {OUT_DIR}"))?;
    eprintln!(
        "xtask: quickstart output goes to {OUT_DIR}/users.txt (try `tail -f {OUT_DIR}/users.txt`);\n\
         xtask: REST on http://127.0.0.1:8083 (try `curl localhost:8083/connectors/users-file-sink/status`); Ctrl-C stops it"
    );
    run(cargo().args([
        "run",
        "-p",
        "sluice",
        "--bin",
        "sluice",
        "--",
        "standalone",
        "examples/quickstart/worker.properties",
        "examples/quickstart/datagen-users.properties",
        "examples/quickstart/file-sink.properties",
    ]))
}
