//! `examples/postgres-cdc`, run from its exact files as `cargo xtask postgres-cdc` runs it:
//! PostgreSQL's `example_orders` → Debezium change events on the embedded broker → JDBC sink
//! into MariaDB's `example_orders_replica`. The snapshot rows arrive, then an insert, an update
//! and a delete made while it runs, and the copy ends equal to the source, row by row.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_tests::{mariadb, plugins, psql, read_to_string, wait_until, workspace_root, Worker};

const WAIT: Duration = Duration::from_secs(240);

fn example(file: &str) -> PathBuf {
    let path = workspace_root().join("examples/postgres-cdc").join(file);
    assert!(path.is_file(), "missing example file {}", path.display());
    path
}

fn property(file: &Path, key: &str) -> String {
    read_to_string(file)
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("{} has no {key}", file.display()))
}

/// The statements of an example SQL file (comment lines dropped), one per call as the
/// database clients run a file.
fn statements(file: &str) -> Vec<String> {
    read_to_string(&example(file))
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Drops the example's slot and publication when the test ends, also on failure: a leaked slot
/// would hold WAL on the server for good.
struct SlotCleanup;

impl Drop for SlotCleanup {
    fn drop(&mut self) {
        let quiet = |sql: &str| {
            let _ = std::process::Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-Atc",
                    sql,
                ])
                .output();
        };
        // The worker is gone by now; its walsender lets go of the slot within moments.
        for _ in 0..50 {
            let active = std::process::Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc",
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_example_slot' AND active"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            if active == "0" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        quiet("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_example_slot'");
        quiet("DROP PUBLICATION IF EXISTS sluice_example_pub");
    }
}

#[test]
fn postgres_cdc_example_copies_the_table_into_mariadb() {
    plugins();
    let worker_file = example("worker.properties");
    let cdc_file = example("postgres-cdc.properties");
    let sink_file = example("jdbc-sink.properties");
    assert!(
        !read_to_string(&worker_file)
            .lines()
            .any(|l| l.trim_start().starts_with("bootstrap.servers")),
        "the example must run on the embedded broker (no bootstrap.servers)"
    );
    // What `cargo xtask postgres-cdc` does before it starts the worker.
    let _cleanup = SlotCleanup;
    for sql in statements("reset-postgres.sql") {
        psql(&sql);
    }
    for sql in statements("reset-mariadb.sql") {
        mariadb(&sql);
    }
    let offsets = PathBuf::from(property(&worker_file, "offset.storage.file.filename"));
    if let Some(dir) = offsets.parent() {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    let listener = property(&worker_file, "listeners");
    let rest: SocketAddr = listener
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("listeners={listener} in the example is not host:port: {e}"));

    let mut worker = Worker::launch(
        workspace_root(),
        &[worker_file, cdc_file, sink_file.clone()],
        rest,
    );
    worker.wait_rest_ready(WAIT);
    let source = || psql("SELECT id, customer, amount, status FROM example_orders ORDER BY id");
    let copy = || {
        std::panic::catch_unwind(|| {
            mariadb("SELECT id, customer, amount, status FROM example_orders_replica ORDER BY id")
        })
        .map(|rows| rows.replace('\t', "|"))
        .unwrap_or_else(|_| "(no table yet)".into())
    };
    let wait_equal = |what: &str| {
        wait_until(
            what,
            WAIT,
            || (copy() == source()).then_some(()),
            || {
                format!(
                    "source:\n{}\ncopy:\n{}\nlog:\n{}",
                    source(),
                    copy(),
                    worker.log_tail(30)
                )
            },
        )
    };
    // The snapshot: the three rows reset-postgres.sql inserted.
    wait_equal("the snapshot rows in MariaDB");
    assert_eq!(
        copy(),
        "1|alice|12.50|new\n2|bob|7.00|new\n3|carol|99.99|paid"
    );
    // Streaming: an insert, an update and a delete while the pipeline runs.
    psql("INSERT INTO example_orders VALUES (4, 'dave', 5.25, 'new')");
    psql("UPDATE example_orders SET status = 'paid', amount = 8.00 WHERE id = 2");
    psql("DELETE FROM example_orders WHERE id = 1");
    wait_equal("the streamed changes in MariaDB");
    assert_eq!(
        copy(),
        "2|bob|8.00|paid\n3|carol|99.99|paid\n4|dave|5.25|new"
    );
    let table = property(&sink_file, "table.name.format");
    assert_eq!(table, "example_orders_replica");
    drop(worker);
}
