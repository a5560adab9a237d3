//! The Postgres CDC examples, each run from its exact files as `cargo xtask postgres-cdc
//! [--to …]` runs it: PostgreSQL's `example_orders` → Debezium change events on the embedded
//! broker (the source side of `examples/postgres-cdc`, shared by all three) → a sink:
//! - `examples/postgres-cdc`: JDBC sink into MariaDB's `example_orders_replica`, which ends
//!   equal to the source, row by row;
//! - `examples/postgres-cdc-s3`: S3 sink into moto on the example's address, whose objects hold
//!   every row version in order;
//! - `examples/postgres-cdc-http`: HTTP sink posting JSON arrays to the example's
//!   `receiver.py`, which gets every row version in order.
//!
//! Each sees the snapshot rows, then an insert, an update and a delete made while it runs. The
//! three share the table, the slot and the worker's REST port, so they run one at a time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    mariadb, plugins, psql, read_to_string, try_psql, wait_until, workspace_root, S3Server,
    TestDir, Worker,
};

const WAIT: Duration = Duration::from_secs(240);

fn example(file: &str) -> PathBuf {
    example_in("postgres-cdc", file)
}

fn example_in(dir: &str, file: &str) -> PathBuf {
    let path = workspace_root().join("examples").join(dir).join(file);
    assert!(path.is_file(), "missing example file {}", path.display());
    path
}

/// The examples share PostgreSQL's example table and slot and the worker's REST port.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
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
        let quiet = |sql: &str| try_psql(&["-c", sql]).unwrap_or_default();
        // The worker is gone by now; its walsender lets go of the slot within moments.
        for _ in 0..50 {
            let active = quiet(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_example_slot' AND active",
            );
            if active == "0" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = quiet("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_example_slot'");
        let _ = quiet("DROP PUBLICATION IF EXISTS sluice_example_pub");
    }
}

/// What `cargo xtask postgres-cdc` does for every sink before it starts the worker (reset the
/// source, clear the offsets), then the worker with the shared source and `sink_file`.
fn start_example(sink_file: &Path) -> Worker {
    let worker_file = example("worker.properties");
    assert!(
        !read_to_string(&worker_file)
            .lines()
            .any(|l| l.trim_start().starts_with("bootstrap.servers")),
        "the example must run on the embedded broker (no bootstrap.servers)"
    );
    for sql in statements("reset-postgres.sql") {
        psql(&sql);
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
        &[
            worker_file,
            example("postgres-cdc.properties"),
            sink_file.to_path_buf(),
        ],
        rest,
    );
    worker.wait_rest_ready(WAIT);
    worker
}

/// The changes every example makes while it runs: an insert, an update and a delete.
fn change_the_source() {
    psql("INSERT INTO example_orders VALUES (4, 'dave', 5.25, 'new')");
    psql("UPDATE example_orders SET status = 'paid', amount = 8.00 WHERE id = 2");
    psql("DELETE FROM example_orders WHERE id = 1");
}

/// The row versions the S3 and HTTP examples receive: the snapshot, then the insert and the
/// update (a delete has no `after`, and those sinks skip it), as `id|customer|amount|status`.
const SNAPSHOT: [&str; 3] = ["1|alice|12.50|new", "2|bob|7.00|new", "3|carol|99.99|paid"];
const CHANGES: [&str; 2] = ["4|dave|5.25|new", "2|bob|8.00|paid"];

/// A row as `id|customer|amount|status`, the amount with two decimals (a number or a string).
fn row(v: &Value) -> String {
    let amount = match &v["amount"] {
        Value::String(s) => s.clone(),
        n => format!("{:.2}", n.as_f64().unwrap_or(f64::NAN)),
    };
    format!(
        "{}|{}|{amount}|{}",
        v["id"],
        v["customer"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?")
    )
}

/// Waits until `rows()` is `want`.
fn wait_rows(what: &str, want: &[&str], rows: impl Fn() -> Vec<String>, worker: &Worker) {
    wait_until(
        what,
        WAIT,
        || (rows() == want).then_some(()),
        || format!("got {:?}\nlog:\n{}", rows(), worker.log_tail(30)),
    );
}

#[test]
fn postgres_cdc_example_copies_the_table_into_mariadb() {
    let _one = one_at_a_time();
    plugins();
    let sink_file = example("jdbc-sink.properties");
    // What `cargo xtask postgres-cdc` does before it starts the worker.
    let _cleanup = SlotCleanup;
    for sql in statements("reset-mariadb.sql") {
        mariadb(&sql);
    }
    let worker = start_example(&sink_file);
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
    change_the_source();
    wait_equal("the streamed changes in MariaDB");
    assert_eq!(
        copy(),
        "2|bob|8.00|paid\n3|carol|99.99|paid\n4|dave|5.25|new"
    );
    let table = property(&sink_file, "table.name.format");
    assert_eq!(table, "example_orders_replica");
    drop(worker);
}

/// The port of an `http://127.0.0.1:<port>[/…]` URL in an example file.
fn port_of(file: &Path, key: &str) -> u16 {
    let url = property(file, key);
    url.trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "{key}={url} in {} is not http://127.0.0.1:<port>",
                file.display()
            )
        })
}

#[test]
fn postgres_cdc_s3_example_writes_every_row_version_into_the_bucket() {
    let _one = one_at_a_time();
    plugins();
    let sink_file = example_in("postgres-cdc-s3", "s3-sink.properties");
    // What `cargo xtask postgres-cdc --to s3` starts: moto on the example's address, its bucket.
    let s3 = S3Server::start_on(port_of(&sink_file, "store.url"));
    let bucket = property(&sink_file, "s3.bucket.name");
    s3.create_bucket(&bucket);
    let topic = property(&sink_file, "topics");
    let _cleanup = SlotCleanup;
    let worker = start_example(&sink_file);
    // Every object, in key order (= offset order), as rows; each named as Confluent names it.
    let rows = || -> Vec<String> {
        let objects = s3.objects(&bucket);
        for key in objects.keys() {
            let prefix = format!("topics/{topic}/partition=0/{topic}+0+");
            let start = key
                .strip_prefix(&prefix)
                .and_then(|k| k.strip_suffix(".json"));
            assert!(
                start.is_some_and(|s| s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())),
                "object {key} is not named {prefix}<10-digit offset>.json"
            );
        }
        objects
            .values()
            .flat_map(|content| content.lines().map(str::to_string).collect::<Vec<_>>())
            .map(|line| row(&serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))))
            .collect()
    };
    wait_rows("the snapshot rows in the bucket", &SNAPSHOT, rows, &worker);
    change_the_source();
    let all: Vec<&str> = SNAPSHOT.iter().chain(&CHANGES).copied().collect();
    wait_rows(
        "the streamed row versions in the bucket",
        &all,
        rows,
        &worker,
    );
    drop(worker);
}

/// The example's receiver, stopped when the test ends.
struct Receiver(std::process::Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn postgres_cdc_http_example_posts_every_row_version_to_the_receiver() {
    let _one = one_at_a_time();
    plugins();
    let sink_file = example_in("postgres-cdc-http", "http-sink.properties");
    // What `cargo xtask postgres-cdc --to http` starts: the example's receiver on its address.
    let port = port_of(&sink_file, "http.api.url");
    let dir = TestDir::new("example-postgres-cdc-http");
    let out = dir.join("received.jsonl");
    let mut receiver = Receiver(
        std::process::Command::new("python3")
            .arg(example_in("postgres-cdc-http", "receiver.py"))
            .args(["--port", &port.to_string(), "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start receiver.py with python3: {e}")),
    );
    wait_until(
        "receiver.py listening",
        WAIT,
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
        || format!("receiver.py: {:?}", receiver.0.try_wait()),
    );
    let _cleanup = SlotCleanup;
    let worker = start_example(&sink_file);
    // Each request a JSON array of rows, in order.
    let rows = || -> Vec<String> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .flat_map(|body| {
                let array: Vec<Value> = serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("a body is not a JSON array ({e}): {body}"));
                array.iter().map(row).collect::<Vec<_>>()
            })
            .collect()
    };
    wait_rows(
        "the snapshot rows at the receiver",
        &SNAPSHOT,
        rows,
        &worker,
    );
    change_the_source();
    let all: Vec<&str> = SNAPSHOT.iter().chain(&CHANGES).copied().collect();
    wait_rows(
        "the streamed row versions at the receiver",
        &all,
        rows,
        &worker,
    );
    drop(worker);
}
