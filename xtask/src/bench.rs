//! `cargo xtask bench`: Sluice against the reference Kafka Connect 3.9, same broker, same data
//! (release builds). The measuring program is `sluice-bench` in the tests crate (it reuses the
//! test harness's broker and Kafka client); this command prepares everything it needs.
//! The method is described in docs/benchmarks.md. `cargo xtask bench --startup` runs the
//! start-up benchmark instead (worker start to all connectors RUNNING, cold and warm cache,
//! 20 plugins; `--runs N` timed starts per row); `cargo xtask bench --cdc` the PostgreSQL change
//! data capture benchmark (postgres-cdc against Debezium's PostgresConnector on the local
//! PostgreSQL, which it prepares with `cargo xtask test`'s database setup), `--jdbc-sink` the JDBC sink's upserts
//! into PostgreSQL against a plain psql baseline, `--s3` the S3 sink into moto against boto3's raw
//! upload rate to the same server; `--metrics` Sluice's file pipelines with metrics on and off
//! (`metrics.enable`), alternated; `--polyglot` the example plugins in Rust, JavaScript and
//! Python (transform cost per record, sink and source records/s; it builds the examples first,
//! and `--set LABEL=DIR` adds another set of example components to the same run); other flags
//! are passed to `sluice-bench`.

use anyhow::Result;

use crate::cmd::{cargo, root, run, target_dir};
use crate::plugins;
use crate::test::{ensure_reference_connect, ensure_tansu, reference_connect_dir};

pub fn run_bench(args: &[String]) -> Result<()> {
    ensure_tansu()?;
    if args.iter().any(|a| a == "--cdc" || a == "--jdbc-sink") {
        crate::databases::prepare()?;
    }
    plugins::build_all()?;
    let polyglot = args.iter().any(|a| a == "--polyglot");
    if polyglot {
        crate::examples::build_all()?;
    }
    run(cargo().args(["build", "--release", "-p", "sluice", "--bin", "sluice"]))?;

    // `--s3` compares the S3 sink with the raw upload rate of the same server, not with
    // Kafka Connect.
    // `--metrics` compares Sluice with metrics on and off; `--polyglot` the plugin languages.
    // `--http` compares the HTTP sink with a raw client, and `--jdbc-sink` with psql's COPY:
    // the reference ships neither sink.
    let skip_reference = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "--sluice-only" | "--s3" | "--metrics" | "--polyglot" | "--http" | "--jdbc-sink"
        )
    });
    if !skip_reference {
        ensure_reference_connect()?;
    }

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
    .arg(target_dir().join("release/sluice"))
    .arg("--out")
    .arg(root().join("docs/benchmarks.md"));
    if !skip_reference {
        cmd.arg("--reference").arg(reference_connect_dir());
    }
    cmd.args(args.iter().filter(|a| *a != "--sluice-only"));
    run(&mut cmd)
}
