//! Test preparation for the JDBC connectors and `sql-wire`: the local PostgreSQL and MariaDB
//! must be reachable, and PostgreSQL must ask members of the role `sluice_password_auth` for a
//! password (the machine's `pg_hba.conf` trusts every local connection, so without this no
//! test could exercise MD5/SCRAM logins or a wrong password). Idempotent: the role and the
//! `pg_hba.conf` line are added only when missing.

use anyhow::{bail, Context, Result};
use std::process::Command;

use crate::cmd::output;

/// The pg_hba.conf line: password auth (`md5` uses SCRAM when the password is stored as
/// SCRAM) for the members of `sluice_password_auth`, on TCP from 127.0.0.1.
const HBA_LINE: &str = "host all +sluice_password_auth 127.0.0.1/32 md5";

fn psql(sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ])
        .output()
        .context("running psql (PostgreSQL client tools must be installed)")?;
    if !out.status.success() {
        bail!(
            "psql `{sql}` failed (PostgreSQL 15 must run on 127.0.0.1:5432 with database `test`): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn prepare() -> Result<()> {
    if psql("SELECT 1 FROM pg_roles WHERE rolname = 'sluice_password_auth'")?.is_empty() {
        psql("CREATE ROLE sluice_password_auth NOLOGIN")?;
    }
    let hba = psql("SHOW hba_file")?;
    let text = std::fs::read_to_string(&hba).with_context(|| format!("reading {hba}"))?;
    if !text.lines().any(|l| l.trim() == HBA_LINE) {
        eprintln!("xtask: adding `{HBA_LINE}` at the top of {hba} and reloading PostgreSQL");
        let new = format!(
            "# added by sluice `cargo xtask test` (password logins for tests)\n{HBA_LINE}\n{text}"
        );
        std::fs::write(&hba, new).with_context(|| format!("writing {hba}"))?;
        psql("SELECT pg_reload_conf()")?;
    }
    let maria = output(Command::new("mysql").args([
        "-h",
        "127.0.0.1",
        "-u",
        "root",
        "test",
        "-e",
        "SELECT 1",
    ]));
    if maria.is_none() {
        bail!(
            "MariaDB must run on 127.0.0.1:3306 with user root (no password) and database `test`"
        );
    }
    Ok(())
}
