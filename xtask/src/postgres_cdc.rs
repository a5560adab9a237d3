//! `cargo xtask postgres-cdc`: builds the plugins and runs `examples/postgres-cdc` on the
//! embedded in-memory broker: PostgreSQL's `public.example_orders` → Debezium change events in
//! `example.public.example_orders` → JDBC sink into MariaDB's `test.example_orders_replica`.
//! Each run starts from scratch (the example's reset SQL drops the slot, publication and
//! tables, and its offsets are cleared). Ctrl-C stops the worker.

use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};

use crate::cmd::{cargo, root, run};
use crate::plugins;

/// Where the example keeps its offsets (also set in `examples/postgres-cdc/worker.properties`).
pub const OUT_DIR: &str = "/tmp/sluice-postgres-cdc";

/// Runs `program args… < file`, failing with the client's message.
fn run_sql_file(program: &str, args: &[&str], file: &str) -> Result<()> {
    let path = root().join("examples/postgres-cdc").join(file);
    let input =
        std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::from(input))
        .output()
        .with_context(|| format!("running {program} (the database client must be installed)"))?;
    if !out.status.success() {
        bail!(
            "{program} < {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub fn run_example() -> Result<()> {
    crate::databases::prepare()?;
    plugins::build_all()?;
    run_sql_file(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ],
        "reset-postgres.sql",
    )?;
    run_sql_file(
        "mysql",
        &["-h", "127.0.0.1", "-u", "root", "test"],
        "reset-mariadb.sql",
    )?;
    match std::fs::remove_dir_all(OUT_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot clear {OUT_DIR}")),
    }
    std::fs::create_dir_all(OUT_DIR).with_context(|| format!("cannot create {OUT_DIR}"))?;
    eprintln!(
        "xtask: streaming PostgreSQL test.public.example_orders into MariaDB test.example_orders_replica;\n\
         xtask: change the source:  psql -h 127.0.0.1 -U postgres -d test -c \"INSERT INTO example_orders VALUES (4, 'dave', 5.25, 'new')\"\n\
         xtask: watch the copy:     mysql -h 127.0.0.1 -u root test -e 'SELECT * FROM example_orders_replica'\n\
         xtask: REST on http://127.0.0.1:8084 (curl localhost:8084/connectors/orders-cdc/status); Ctrl-C stops it"
    );
    run(cargo().args([
        "run",
        "-p",
        "sluice",
        "--bin",
        "sluice",
        "--",
        "standalone",
        "examples/postgres-cdc/worker.properties",
        "examples/postgres-cdc/postgres-cdc.properties",
        "examples/postgres-cdc/jdbc-sink.properties",
    ]))
}
