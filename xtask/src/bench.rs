//! `cargo xtask bench`: Sluice against the reference Kafka Connect 3.9, same broker, same data
//! (release builds). The measuring program is `sluice-bench` in the tests crate (it reuses the
//! test harness's broker and Kafka client); this command prepares everything it needs.
//! The method is described in docs/benchmarks.md. One flag picks another benchmark instead
//! ([`MODES`] says what each compares against and needs); other flags (`--records N`,
//! `--runs N`, `--set LABEL=DIR`) are passed to `sluice-bench`, and `--sluice-only` leaves
//! the reference out of any mode that would run it.

use anyhow::{bail, Result};

use crate::cmd::{cargo, root, run, target_dir};
use crate::plugins;
use crate::test::{ensure_reference_connect, ensure_tansu, reference_connect_dir};

/// One benchmark of `sluice-bench` and what it needs prepared. Declared here once per mode,
/// so a new mode says whether it runs the reference instead of being left out of a list.
#[derive(Debug)]
struct Mode {
    /// Its flag; `None` is the throughput benchmark (no flag).
    flag: Option<&'static str>,
    what: &'static str,
    /// Runs the reference Kafka Connect (installed first, passed as `--reference`).
    reference: bool,
    /// Uses the machine's PostgreSQL, prepared as for `cargo xtask test`.
    databases: bool,
    /// Measures the example plugins (`cargo xtask examples` first).
    examples: bool,
}

const MODES: &[Mode] = &[
    Mode {
        flag: None,
        what: "file → Kafka and Kafka → file, Sluice against the reference",
        reference: true,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--startup"),
        what: "worker start to all connectors RUNNING, cold and warm cache, 20 plugins",
        reference: true,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--cdc"),
        what: "postgres-cdc against Debezium's PostgresConnector on the reference",
        reference: true,
        databases: true,
        examples: false,
    },
    Mode {
        flag: Some("--jdbc-sink"),
        what: "the JDBC sink's upserts against a plain psql baseline (the reference ships no JDBC sink)",
        reference: false,
        databases: true,
        examples: false,
    },
    Mode {
        flag: Some("--s3"),
        what: "the S3 sink into moto against boto3's raw upload rate to the same server",
        reference: false,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--http"),
        what: "the HTTP sink against a raw HTTP client to the same server",
        reference: false,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--metrics"),
        what: "Sluice's file pipelines with metrics on and off (`metrics.enable`), alternated",
        reference: false,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--polyglot"),
        what: "the example plugins in Rust, JavaScript and Python (transform µs/record, sink and source records/s)",
        reference: false,
        databases: false,
        examples: true,
    },
    Mode {
        flag: Some("--avro"),
        what: "Sluice's file pipelines with the AvroConverter (embedded Schema Registry) against JsonConverter with schemas, alternated",
        reference: false,
        databases: false,
        examples: false,
    },
    Mode {
        flag: Some("--distributed"),
        what: "distributed mode against the reference's: failover after kill -9, memory per worker, scale-out over 1-3 workers",
        reference: true,
        databases: false,
        examples: false,
    },
];

/// The mode `args` ask for: the one mode flag among them, or the throughput benchmark.
fn mode_of(args: &[String]) -> Result<&'static Mode> {
    let chosen: Vec<&Mode> = MODES
        .iter()
        .filter(|m| m.flag.is_some_and(|f| args.iter().any(|a| a == f)))
        .collect();
    match chosen.as_slice() {
        [] => Ok(&MODES[0]),
        [one] => Ok(one),
        more => bail!(
            "one benchmark per run, got {}; the modes are:\n{}",
            more.iter()
                .filter_map(|m| m.flag)
                .collect::<Vec<_>>()
                .join(" "),
            MODES
                .iter()
                .map(|m| format!("  {:<12} {}", m.flag.unwrap_or("(no flag)"), m.what))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

pub fn run_bench(args: &[String]) -> Result<()> {
    let mode = mode_of(args)?;
    let reference = mode.reference && !args.iter().any(|a| a == "--sluice-only");
    ensure_tansu()?;
    if mode.databases {
        crate::databases::prepare()?;
    }
    plugins::build_all()?;
    if mode.examples {
        crate::examples::build_all()?;
    }
    run(cargo().args(["build", "--release", "-p", "sluice", "--bin", "sluice"]))?;
    if reference {
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
    if reference {
        cmd.arg("--reference").arg(reference_connect_dir());
    }
    cmd.args(args.iter().filter(|a| *a != "--sluice-only"));
    run(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_flag_picks_the_mode_and_its_reference() {
        let m = mode_of(&args(&["--records", "1000"])).unwrap();
        assert_eq!((m.flag, m.reference), (None, true));
        let m = mode_of(&args(&["--avro", "--runs", "1"])).unwrap();
        assert_eq!((m.flag, m.reference), (Some("--avro"), false));
        let m = mode_of(&args(&["--cdc"])).unwrap();
        assert!(m.reference && m.databases);
        assert!(mode_of(&args(&["--polyglot"])).unwrap().examples);
        let m = mode_of(&args(&["--distributed", "--runs", "1"])).unwrap();
        assert_eq!((m.flag, m.reference), (Some("--distributed"), true));
        assert!(!m.databases && !m.examples);
    }

    #[test]
    fn two_modes_at_once_are_refused() {
        let e = mode_of(&args(&["--s3", "--avro"])).unwrap_err().to_string();
        assert!(e.contains("--s3 --avro") && e.contains("--metrics"), "{e}");
        let e = mode_of(&args(&["--distributed", "--startup"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--startup --distributed"), "{e}");
    }
}
