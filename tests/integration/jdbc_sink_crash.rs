//! The JDBC sink across a crash: a worker running two upsert sinks (PostgreSQL with
//! `pk.mode=record_key` and tombstone deletes, MariaDB with `pk.mode=record_value`) is
//! SIGKILLed while records are still being produced, and restarted on the same offsets file.
//! The records after the last committed Kafka offset are written again (at-least-once); the
//! upserts make that replay idempotent, so each table ends equal to the input: one row per
//! live key, holding that key's last value.
//!
//! tansu 0.6.0 gives nothing to a consumer that joins its group while a dead member still
//! counts (ARCHITECTURE.md). It drops a silent member only when a later group request
//! (join, sync, heartbeat) finds its session expired (`coordinator/group/administrator.rs`,
//! `missed_heartbeat`), so the test gives the sinks a short session
//! (`consumer.override.session.timeout.ms`) and restarts the worker once that much time has
//! passed since the kill: the restarted sinks' joins then evict the dead members and get the
//! partitions. With Kafka the restarted consumer takes over after the session timeout on its
//! own. The crash itself is the real one: nothing is flushed.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_tests::{
    default_worker_props, mariadb, psql, unique, unique_table, wait_until, Broker, TestDir, Worker,
    MARIADB_URL, PG_URL,
};

use crate::jdbc_sink::{key, sink};

const WAIT: Duration = Duration::from_secs(240);
/// The sinks' consumer session (`consumer.override.session.timeout.ms`).
const SESSION: Duration = Duration::from_secs(6);
const KEYS: i64 = 60;
const ROUNDS: i64 = 250;

/// A value `{v, note}`, or with `id` too for `pk.mode=record_value`.
fn value(id: Option<i64>, v: i64) -> String {
    let (id_field, id_value) = match id {
        Some(id) => (
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            format!(r#""id":{id},"#),
        ),
        None => ("", String::new()),
    };
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{id_field}{{"type":"int64","optional":false,"field":"v"}},{{"type":"string","optional":true,"field":"note"}}],"optional":false,"name":"Value"}},"payload":{{{id_value}"v":{v},"note":"round {v}"}}}}"#
    )
}

/// Keys whose last record is a tombstone (PostgreSQL only: deletes need `pk.mode=record_key`).
fn deleted(id: i64) -> bool {
    id % 7 == 0
}

/// The table as `id|v|note` lines, once the test's input is fully written.
fn expected(with_deletes: bool) -> String {
    (1..=KEYS)
        .filter(|&id| !(with_deletes && deleted(id)))
        .map(|id| format!("{id}|{ROUNDS}|round {ROUNDS}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The largest `v` in `table` (0 while the table does not exist yet).
fn max_v(sql: fn(&str) -> String, table: &str) -> i64 {
    std::panic::catch_unwind(|| sql(&format!("SELECT coalesce(max(v), 0) FROM {table}")))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Produces `ROUNDS` rounds of one record per key to both topics (round `r` sets `v = r`),
/// one round per batch with a short pause, so the stream lasts long enough to be cut; then the
/// tombstones. After the first round it waits until both sinks wrote it (so a slow start of
/// the sinks cannot let the whole stream pass before the kill). `round` tells how far it got,
/// `done` when it finished.
fn produce_stream(
    broker: &'static Broker,
    tables: (String, String),
    round: Arc<AtomicI64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (pg_topic, maria_topic) = tables;
    std::thread::spawn(move || {
        for r in 1..=ROUNDS {
            if r == 2 {
                wait_until(
                    "both sinks to write the first round",
                    WAIT,
                    || {
                        (max_v(psql, &pg_topic) >= 1 && max_v(mariadb, &maria_topic) >= 1)
                            .then_some(())
                    },
                    || "nothing written yet".into(),
                );
            }
            let keys: Vec<String> = (1..=KEYS).map(|id| key(id as i32)).collect();
            let pg_values: Vec<String> = (1..=KEYS).map(|_| value(None, r)).collect();
            let maria_values: Vec<String> = (1..=KEYS).map(|id| value(Some(id), r)).collect();
            let pg: Vec<(Option<&str>, Option<&str>)> = keys
                .iter()
                .zip(&pg_values)
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
                .collect();
            let maria: Vec<(Option<&str>, Option<&str>)> = keys
                .iter()
                .zip(&maria_values)
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
                .collect();
            broker.produce_keyed(&pg_topic, &pg);
            broker.produce_keyed(&maria_topic, &maria);
            round.store(r, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(40));
        }
        let tombstones: Vec<String> = (1..=KEYS)
            .filter(|&id| deleted(id))
            .map(|id| key(id as i32))
            .collect();
        let records: Vec<(Option<&str>, Option<&str>)> = tombstones
            .iter()
            .map(|k| (Some(k.as_str()), None))
            .collect();
        broker.produce_keyed(&pg_topic, &records);
        done.store(true, Ordering::SeqCst);
    })
}

#[test]
fn jdbc_sink_sigkill_mid_stream_then_restart_leaves_the_tables_equal_to_the_input() {
    let broker = Broker::shared();
    let dir = TestDir::new("jdbc-sink-crash");
    let pg_table = unique_table("sink_crash_pg");
    let maria_table = unique_table("sink_crash_maria");
    broker.create_topic(&pg_table, 1);
    broker.create_topic(&maria_table, 1);
    // Evict a dead consumer quickly (see the module comment).
    let fast_eviction = format!(
        "consumer.override.session.timeout.ms={}\nconsumer.override.heartbeat.interval.ms=1000\n",
        SESSION.as_millis()
    );
    let pg_name = unique("jdbc-sink-crash-pg");
    let maria_name = unique("jdbc-sink-crash-maria");
    let connectors = [
        (
            format!("{pg_name}.properties"),
            sink(
                &pg_name,
                PG_URL,
                "127.0.0.1:5432",
                &pg_table,
                "${topic}",
                &format!("delete.enabled=true\nauto.create=true\n{fast_eviction}"),
            ),
        ),
        (
            format!("{maria_name}.properties"),
            sink(
                &maria_name,
                MARIADB_URL,
                "127.0.0.1:3306",
                &maria_table,
                "${topic}",
                &format!("auto.create=true\n{fast_eviction}"),
            )
            .replace("pk.mode=record_key", "pk.mode=record_value\npk.fields=id"),
        ),
    ];
    let refs: Vec<(&str, &str)> = connectors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let props = default_worker_props(Some(broker), dir.path());
    let mut worker = Worker::start(&dir, &props, &refs);

    let round = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    for name in [&pg_name, &maria_name] {
        worker.wait_for_state(name, "RUNNING", WAIT);
    }
    // The topics are named after the tables (table.name.format=${topic}).
    let producer = produce_stream(
        broker,
        (pg_table.clone(), maria_table.clone()),
        round.clone(),
        done.clone(),
    );
    // Both tables are being written (a row has seen round 20 or later): kill the worker.
    wait_until(
        "both sinks to have written round 20",
        WAIT,
        || (max_v(psql, &pg_table) >= 20 && max_v(mariadb, &maria_table) >= 20).then_some(()),
        || {
            format!(
                "pg max(v) {}, mariadb max(v) {}; log:\n{}",
                max_v(psql, &pg_table),
                max_v(mariadb, &maria_table),
                worker.log_tail(20)
            )
        },
    );
    worker.sigkill();
    let produced_at_kill = round.load(Ordering::SeqCst);
    let at_kill = (max_v(psql, &pg_table), max_v(mariadb, &maria_table));
    assert!(
        !done.load(Ordering::SeqCst),
        "precondition: the kill must land mid-stream, but all {ROUNDS} rounds were produced"
    );
    drop(worker);

    // Not a timing assertion: the broker's session timer must run out (see the module comment).
    std::thread::sleep(SESSION + Duration::from_secs(2));
    let restarted = Worker::start(&dir, &props, &refs);
    producer.join().expect("producer thread");

    let table = |sql: fn(&str) -> String, t: &str| {
        std::panic::catch_unwind(|| sql(&format!("SELECT id, v, note FROM {t} ORDER BY id")))
            .map(|s| s.replace('\t', "|"))
            .unwrap_or_default()
    };
    for (label, sql, t, with_deletes) in [
        ("PostgreSQL", psql as fn(&str) -> String, &pg_table, true),
        (
            "MariaDB",
            mariadb as fn(&str) -> String,
            &maria_table,
            false,
        ),
    ] {
        let want = expected(with_deletes);
        wait_until(
            &format!("{label}: table {t} equal to the input"),
            WAIT,
            || (table(sql, t) == want).then_some(()),
            || format!("{}\nlog:\n{}", table(sql, t), restarted.log_tail(20)),
        );
    }
    drop(restarted);
    eprintln!(
        "jdbc sink crash: killed with {produced_at_kill} of {ROUNDS} rounds produced, \
         max(v) at the kill: PostgreSQL {}, MariaDB {}; both tables equal to the input after the restart",
        at_kill.0, at_kill.1
    );
    psql(&format!("DROP TABLE {pg_table}"));
    mariadb(&format!("DROP TABLE {maria_table}"));
}
