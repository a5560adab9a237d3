//! The JDBC source over TLS to the machine's PostgreSQL, which serves the test certificate
//! `cargo xtask test` gives it (self-signed, for 127.0.0.1 and localhost): with
//! `sslmode=verify-full` and that certificate as the trusted root (`connection.sslrootcert`,
//! a file the worker grants the plugin) rows arrive over an encrypted connection; with a root
//! that did not sign it the task fails with a trace that says so. The rows' `timestamp`
//! values (no zone) are read in a named `db.timezone` whose offset changes with daylight
//! saving time.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sluice_tests::{psql, unique, unique_table, Broker, TestDir, Worker, PG_URL};

use crate::jdbc_bad_input::failure;
use crate::jdbc_source::{json_worker_props, value};

const JDBC_SOURCE: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";

fn source(name: &str, table: &str, root: &std::path::Path) -> String {
    format!(
        "name={name}\nconnector.class={JDBC_SOURCE}\nconnection.url={PG_URL}?sslmode=verify-full\n\
         connection.sslrootcert={}\ndb.timezone=Europe/Berlin\nmode=bulk\ntable.whitelist={table}\n\
         topic.prefix={name}-\npoll.interval.ms=60000\nwasm.network.allow=127.0.0.1:5432\n",
        root.display()
    )
}

#[test]
fn jdbc_source_reads_over_verified_tls_in_a_named_zone_and_refuses_an_unknown_root() {
    let broker = Broker::shared();
    let dir = TestDir::new("jdbc-tls");
    // The server's certificate, read through the server (cargo xtask test put it there).
    let trusted = dir.path().join("server.crt");
    std::fs::write(
        &trusted,
        psql("SELECT pg_read_file('sluice-test-server.crt')"),
    )
    .expect("writing the trusted root into the test directory");
    let unrelated = dir.path().join("unrelated-ca.crt");
    // An RSA root (the server's is ECDSA), so both kinds of trusted root are read.
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=unrelated test CA", "-keyout"])
        .arg(dir.path().join("unrelated-ca.key"))
        .arg("-out")
        .arg(&unrelated)
        .output()
        .expect("openssl (cargo xtask test uses it too)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let t = unique_table("tls_zone");
    psql(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, at timestamp(3) NOT NULL); \
         INSERT INTO {t} VALUES (1, '2024-01-15 12:00:00'), (2, '2024-07-15 12:00:00')"
    ));
    let good = unique("jdbc-tls");
    let bad = unique("jdbc-tls-unknown-root");
    broker.create_topic(&format!("{good}-{t}"), 1);
    broker.create_topic(&format!("{bad}-{t}"), 1);
    let worker = Worker::start(
        &dir,
        &json_worker_props(broker, &dir),
        &[
            ("good.properties", &source(&good, &t, &trusted)),
            ("bad.properties", &source(&bad, &t, &unrelated)),
        ],
    );

    let messages = broker.consume_all(&format!("{good}-{t}"), 2, Duration::from_secs(120));
    let mut rows: Vec<_> = messages
        .iter()
        .map(|m| value(m)["payload"].clone())
        .collect();
    rows.sort_by_key(|p| p["id"].as_i64());
    // Berlin noon is 11:00 UTC in January (+01:00) and 10:00 UTC in July (+02:00).
    assert_eq!(
        rows,
        [
            json!({"id": 1, "at": 1_705_316_400_000i64}),
            json!({"id": 2, "at": 1_721_037_600_000i64})
        ]
    );
    // The task keeps its connection between polls: it is encrypted.
    let encrypted = psql(&format!(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE ssl AND application_name = 'sluice' AND query LIKE '%{t}%'"
    ));
    assert_ne!(
        encrypted, "0",
        "no TLS connection of the source in pg_stat_ssl"
    );

    let trace = failure(&worker, &bad);
    assert!(
        trace.contains("the server's certificate is not trusted with sslmode=verify-full")
            && trace.contains("not signed by a trusted root certificate")
            && trace.contains("unrelated-ca.crt"),
        "{trace}"
    );
    drop(worker);
    psql(&format!("DROP TABLE {t}"));
}
