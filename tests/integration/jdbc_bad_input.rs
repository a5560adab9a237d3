//! JDBC connectors given bad input, in one worker next to a healthy JDBC source: an
//! unreachable database, no network grant, wrong passwords (PostgreSQL SCRAM and MariaDB),
//! a missing table and a column type the plugin cannot map each end in a clear FAILED trace;
//! the healthy connector keeps delivering, and no password appears in the log, the status
//! or the config REST answers.

use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    free_port, mariadb, psql, unique, unique_table, Broker, TestDir, Worker, MARIADB_URL, PG_URL,
};

use crate::jdbc_source::{json_worker_props, value};

const JDBC_SOURCE: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
const WAIT: Duration = Duration::from_secs(120);

fn source(name: &str, url: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class={JDBC_SOURCE}\nconnection.url={url}\nmode=incrementing\n\
         incrementing.column.name=id\ntopic.prefix={name}-\npoll.interval.ms=200\n{extra}"
    )
}

/// The FAILED trace of the connector or of its first task.
pub fn failure(worker: &Worker, name: &str) -> String {
    sluice_tests::wait_until(
        &format!("{name} to fail"),
        WAIT,
        || {
            let s: Value = worker.status(name)?;
            if s["connector"]["state"] == "FAILED" {
                return s["connector"]["trace"].as_str().map(str::to_string);
            }
            let t = s["tasks"].as_array()?.first()?;
            (t["state"] == "FAILED").then(|| t["trace"].as_str().unwrap_or_default().to_string())
        },
        || {
            format!(
                "{:?}; log tail:\n{}",
                worker.status(name),
                worker.log_tail(20)
            )
        },
    )
}

#[test]
fn jdbc_source_bad_inputs_fail_clearly_and_the_worker_keeps_running() {
    let broker = Broker::shared();
    let dir = TestDir::new("jdbc-bad-input");

    // A healthy connector, to show the worker and its other connectors keep running.
    let good_table = unique_table("bad_good");
    psql(&format!(
        "CREATE TABLE {good_table} (id serial PRIMARY KEY, name text)"
    ));
    psql(&format!("INSERT INTO {good_table} (name) VALUES ('first')"));
    let good = unique("jdbc-good");
    broker.create_topic(&format!("{good}-{good_table}"), 1);

    let dead_port = free_port();
    let unreachable = unique("jdbc-unreachable");
    let no_grant = unique("jdbc-no-grant");

    // Password users: MariaDB checks passwords; PostgreSQL asks members of
    // sluice_password_auth (prepared by `cargo xtask test`) with SCRAM.
    let maria_user = unique_table("bad_user");
    let pg_user = unique_table("bad_pg_user");
    let right = unique("right-pw");
    let wrong = unique("wrong-pw");
    mariadb(&format!(
        "CREATE USER '{maria_user}'@'%' IDENTIFIED BY '{right}'"
    ));
    mariadb(&format!("GRANT SELECT ON test.* TO '{maria_user}'@'%'"));
    psql(&format!(
        "SET password_encryption = 'scram-sha-256'; CREATE ROLE {pg_user} LOGIN PASSWORD '{right}' IN ROLE sluice_password_auth"
    ));
    let maria_wrong = unique("jdbc-maria-wrong-pw");
    let pg_wrong = unique("jdbc-pg-wrong-pw");
    let missing = unique("jdbc-missing-table");
    let bad_type = unique("jdbc-bad-type");
    let bad_type_table = unique_table("bad_type");
    psql(&format!(
        "CREATE TABLE {bad_type_table} (id serial PRIMARY KEY, iv interval)"
    ));

    let pg_allow = "wasm.network.allow=127.0.0.1:5432\n";
    let files = [
        (format!("{good}.properties"), source(&good, PG_URL, &format!("table.whitelist={good_table}\n{pg_allow}"))),
        (
            format!("{unreachable}.properties"),
            source(
                &unreachable,
                &format!("jdbc:postgresql://127.0.0.1:{dead_port}/test"),
                &format!("wasm.network.allow=127.0.0.1:{dead_port}\n"),
            ),
        ),
        (format!("{no_grant}.properties"), source(&no_grant, PG_URL, "")),
        (
            format!("{maria_wrong}.properties"),
            source(
                &maria_wrong,
                MARIADB_URL,
                &format!("connection.user={maria_user}\nconnection.password={wrong}\nwasm.network.allow=127.0.0.1:3306\n"),
            ),
        ),
        (
            format!("{pg_wrong}.properties"),
            source(&pg_wrong, PG_URL, &format!("connection.user={pg_user}\nconnection.password={wrong}\n{pg_allow}")),
        ),
        (
            format!("{missing}.properties"),
            source(&missing, PG_URL, &format!("table.whitelist=no_such_table_{}\n{pg_allow}", unique_table("x"))),
        ),
        (format!("{bad_type}.properties"), source(&bad_type, PG_URL, &format!("table.whitelist={bad_type_table}\n{pg_allow}"))),
    ];
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(&dir, &json_worker_props(broker, &dir), &refs);

    let trace = failure(&worker, &unreachable);
    assert!(
        trace.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{dead_port}"
        )),
        "{trace}"
    );
    let trace = failure(&worker, &no_grant);
    assert!(trace.contains("wasm.network.allow"), "{trace}");
    let trace = failure(&worker, &maria_wrong);
    assert!(
        trace.contains("28000") && trace.contains("Access denied"),
        "{trace}"
    );
    let trace = failure(&worker, &pg_wrong);
    assert!(trace.contains("28P01"), "{trace}");
    let trace = failure(&worker, &missing);
    assert!(
        trace.contains("does not exist in database `test`"),
        "{trace}"
    );
    let trace = failure(&worker, &bad_type);
    assert!(trace.contains("column `iv` has type interval"), "{trace}");

    // The healthy connector still runs and delivers a row inserted after all the failures.
    worker.wait_for_state(&good, "RUNNING", WAIT);
    psql(&format!(
        "INSERT INTO {good_table} (name) VALUES ('after failures')"
    ));
    let m = broker.consume_all(&format!("{good}-{good_table}"), 2, WAIT);
    assert_eq!(value(&m[1])["payload"]["name"], "after failures");

    // Passwords never show: not in the log, the status, nor the config REST answers.
    for name in [&maria_wrong, &pg_wrong] {
        let config = worker.get(&format!("/connectors/{name}/config")).json();
        assert_eq!(config["connection.password"], "[hidden]", "{config}");
        let status = worker.get(&format!("/connectors/{name}/status")).body;
        assert!(
            !status.contains(&wrong) && !status.contains(&right),
            "{status}"
        );
    }
    let log = worker.log_text();
    assert!(
        !log.contains(&wrong) && !log.contains(&right),
        "a password appears in the worker log"
    );

    psql(&format!(
        "DROP TABLE {good_table}; DROP TABLE {bad_type_table}; DROP ROLE {pg_user}"
    ));
    mariadb(&format!("DROP USER '{maria_user}'@'%'"));
}
