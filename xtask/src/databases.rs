//! Preparation of the local databases for the tests, the benchmarks and the examples (one
//! setup for all of them): the local PostgreSQL and MariaDB must be reachable, and PostgreSQL
//! - asks members of the role `sluice_password_auth` for a password (the machine's
//!   `pg_hba.conf` trusts every local connection, so without this no test could exercise
//!   MD5/SCRAM logins or a wrong password);
//! - runs with `wal_level=logical` (change data capture);
//! - serves TLS with a certificate made for the tests ([`TLS_CERT`], self-signed, for
//!   `127.0.0.1` and `localhost`), so `sslmode=verify-full` can be tested against it.
//!
//! Idempotent: each change is made only when missing.

use anyhow::{bail, Context, Result};
use std::process::Command;

use crate::cmd::{output, run};

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

/// The test server certificate and key, in PostgreSQL's data directory. The tests read the
/// certificate through the server (`pg_read_file`) to use it as the trusted root.
pub const TLS_CERT: &str = "sluice-test-server.crt";
const TLS_KEY: &str = "sluice-test-server.key";

pub fn prepare() -> Result<()> {
    ensure_password_auth()?;
    ensure_logical_wal()?;
    ensure_tls()?;
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

fn ensure_password_auth() -> Result<()> {
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
    Ok(())
}

/// Change data capture (plugins/postgres-cdc) needs `wal_level=logical`. When the local
/// cluster runs with another level, sets it with `ALTER SYSTEM` and restarts the cluster
/// (`wal_level` only changes at server start); does nothing when it is already logical.
fn ensure_logical_wal() -> Result<()> {
    let level = psql("SHOW wal_level")?;
    if level == "logical" {
        return Ok(());
    }
    eprintln!("xtask: PostgreSQL runs with wal_level={level}; setting it to logical and restarting the local cluster");
    psql("ALTER SYSTEM SET wal_level = logical")?;
    let versions = std::fs::read_dir("/etc/postgresql")
        .context("cannot list /etc/postgresql to find the local cluster's version")?;
    let mut restarted = false;
    for version in versions {
        let version = version?.file_name().to_string_lossy().into_owned();
        run(Command::new("pg_ctlcluster").args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            "restart",
        ]))?;
        restarted = true;
    }
    if !restarted {
        bail!("no cluster under /etc/postgresql to restart");
    }
    match psql("SHOW wal_level")?.as_str() {
        "logical" => Ok(()),
        other => bail!("after the restart PostgreSQL reports wal_level {other:?}, not logical"),
    }
}

/// TLS on, with [`TLS_CERT`]: an ECDSA P-256 certificate for `127.0.0.1` and `localhost`,
/// self-signed and not a CA (`basicConstraints CA:FALSE`, as WebPKI verifiers require of a
/// server certificate), made with `openssl` in the data directory when missing. TLS settings
/// take effect on a reload.
fn ensure_tls() -> Result<()> {
    let data_dir = std::path::PathBuf::from(psql("SHOW data_directory")?);
    let (cert, key) = (data_dir.join(TLS_CERT), data_dir.join(TLS_KEY));
    if psql("SHOW ssl")? == "on" && psql("SHOW ssl_cert_file")? == cert.display().to_string() {
        return Ok(());
    }
    if !cert.exists() || !key.exists() {
        eprintln!(
            "xtask: creating a test TLS certificate for PostgreSQL in {}",
            cert.display()
        );
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "36500",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert))?;
        // PostgreSQL refuses a key file others can read, and runs as `postgres`.
        run(Command::new("chmod").arg("600").arg(&key))?;
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(&cert)
            .arg(&key))?;
    }
    eprintln!(
        "xtask: PostgreSQL serves TLS with {}; reloading",
        cert.display()
    );
    psql(&format!(
        "ALTER SYSTEM SET ssl_cert_file = '{}'",
        cert.display()
    ))?;
    psql(&format!(
        "ALTER SYSTEM SET ssl_key_file = '{}'",
        key.display()
    ))?;
    psql("ALTER SYSTEM SET ssl = on")?;
    psql("SELECT pg_reload_conf()")?;
    // The reload is asynchronous: wait until the server reports the new certificate.
    for _ in 0..50 {
        if psql("SHOW ssl_cert_file")? == cert.display().to_string() && psql("SHOW ssl")? == "on" {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    bail!("PostgreSQL did not take the TLS settings on reload; see its log")
}
