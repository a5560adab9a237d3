//! The machine's PostgreSQL 15 (127.0.0.1:5432, database `test`) and MariaDB 10.11
//! (127.0.0.1:3306, root, database `test`), driven through their own command-line clients
//! (`psql`, `mysql`), as an operator would. A server that does not answer fails the test
//! with the client's message; `cargo xtask test` prepares both servers.

use std::process::Command;

/// `jdbc:postgresql://127.0.0.1:5432/test`.
pub const PG_URL: &str = "jdbc:postgresql://127.0.0.1:5432/test";
/// `jdbc:mariadb://127.0.0.1:3306/test`.
pub const MARIADB_URL: &str = "jdbc:mariadb://127.0.0.1:3306/test";

fn run(program: &str, args: &[&str], sql: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("running {program} (the database client must be installed): {e}")
        });
    assert!(
        out.status.success(),
        "{program} failed on `{sql}` (is the server running? `cargo xtask test` prepares it): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Runs SQL on PostgreSQL as `postgres`; returns the rows unaligned (`|`-separated).
pub fn psql(sql: &str) -> String {
    try_psql(&["-c", sql]).unwrap_or_else(|e| panic!("{e}"))
}

/// `psql` as `postgres` on database `test` with `ON_ERROR_STOP`, unaligned, tuples only, and
/// `args` (`-c SQL`, `-f FILE`, …); the error carries the client's message. For callers that
/// report failures instead of panicking (the benchmarks).
pub fn try_psql(args: &[&str]) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test"])
        .args(["-v", "ON_ERROR_STOP=1", "-At"])
        .args(args)
        .output()
        .map_err(|e| format!("running psql (PostgreSQL's client must be installed): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {args:?} failed (is PostgreSQL running? `cargo xtask test` prepares it): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Runs SQL on MariaDB as `root`; returns the rows tab-separated, without headers.
pub fn mariadb(sql: &str) -> String {
    run(
        "mysql",
        &[
            "-h",
            "127.0.0.1",
            "-u",
            "root",
            "test",
            "-N",
            "-B",
            "-e",
            sql,
        ],
        sql,
    )
}

/// A table name unique to this test process and call (lower case, SQL-safe).
pub fn unique_table(prefix: &str) -> String {
    crate::unique(prefix).replace('-', "_").to_lowercase()
}
