//! The integration-test harness: everything a test needs to run Sluice the way a user does.
//!
//! - [`Broker`]: a real Kafka-protocol broker (tansu from PATH, in-memory storage) on a free
//!   loopback port, plus the client helpers a test needs (create a topic, produce, consume).
//!   [`Broker::shared`] is one broker per test binary; tests that stop or pause the broker start
//!   their own with [`Broker::start`].
//! - [`plugins`] / [`sluice_bin`]: build the built-in plugins (`cargo xtask plugins`) and the
//!   `sluice` binary once per test binary; the test-only plugins (`tests/plugins/`) are built by
//!   this crate's build script.
//! - [`ReferenceConnect`]: the reference Apache Kafka Connect, installed by
//!   `tools/reference-connect/setup.sh`, for tests that compare Sluice with it.
//! - [`Cluster`]: a broker and N `sluice distributed` workers of one group, for the
//!   distributed-mode tests, and what they and the distributed benchmark share: the group's
//!   worker keys ([`distributed_keys`]), where each connector and task runs ([`placement`],
//!   [`settled_placement`]) and writes retried through rebalances ([`write_retrying`]).
//! - [`Worker`]: a `sluice standalone` process with its config files in a test directory, its
//!   output in a log file (whose tail is printed when the test fails), REST helpers and signals.
//! - [`TestHttpServer`]: a real HTTP/1.1 server on loopback that records every request and
//!   answers as the test scripts it (statuses, redirects, closed connections), for plugins that
//!   make HTTP requests.
//! - [`Metrics`]: a worker's `GET /metrics`, parsed by a Prometheus text-format parser.
//! - [`S3Server`]: a real S3-compatible server (moto, from PyPI into a venv under the target
//!   directory) with boto3 to create buckets and read objects back, for the S3 sink.
//! - [`avro_client`], [`json_schema_client`], [`protobuf_client`] ([`registry_client`]):
//!   Confluent's Python client (confluent-kafka, from PyPI into a venv under the target
//!   directory) with its Schema Registry client and Avro / JSON Schema / Protobuf serializers.
//! - [`TestDir`] and [`unique`]: a fresh namespace per test (files, topic and connector names),
//!   so tests share one broker and still run in parallel.
//!
//! The design decision to know: tests drive the `sluice` *binary* through files, signals and REST
//! (this crate does not link the host library), so every test exercises exactly what a user gets.
//! Nothing here is ever skipped: a missing tool or a failed build fails the test loudly.

mod artifacts;
mod broker;
mod databases;
mod distributed;
mod http;
mod http_server;
mod metrics;
mod python;
mod reference;
mod s3;
mod worker;

pub use artifacts::{plugins, sluice_bin, target_dir, workspace_root, Plugins};
pub use broker::{Broker, Message, TopicReader};
pub use databases::{mariadb, psql, try_psql, unique_table, MARIADB_URL, PG_URL};
pub use distributed::{
    distributed_keys, distributed_props, log_tails, placement, settled_placement,
    start_distributed_worker, start_distributed_worker_with, try_settled_placement, write_retrying,
    Cluster,
};
pub use http::{http_exchange, http_get, http_request, http_request_with, HttpResponse, TlsClient};
pub use http_server::{Recorded, Reply, TestHttpServer};
pub use metrics::Metrics;
pub use python::{
    avro_client, json_schema_client, protobuf_client, registry_client, run_ok, venv_python,
};
pub use reference::ReferenceConnect;
pub use s3::{s3_python, S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};
pub use worker::{default_worker_props, Worker};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A name unique to this test process and call: `<prefix>-<pid>-<n>`. Topic, connector and
/// consumer-group names made with it never collide between tests sharing a broker.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A per-test temporary directory. Kept (and its path printed) when the test fails, so the
/// worker logs, configs and offsets can be read afterwards.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let base = target_dir().join("sluice-tests");
        std::fs::create_dir_all(&base).expect("create target/sluice-tests");
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&base)
            .expect("create test dir");
        TestDir { dir: Some(dir) }
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("test dir present").path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// Writes `contents` to `name` in this directory and returns the full path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("test files kept in {}", dir.keep().display());
            }
        }
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout` with
/// `what` and the last value `describe` gives (so a timeout says what *was* seen).
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    mut describe: impl FnMut() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; last seen: {}",
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Number of complete (newline-terminated) lines in a file; 0 when it does not exist yet.
pub fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Reads a file as UTF-8, panicking with the path on failure.
pub fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Parses the `seq` field of each JSON value (datagen's records with JsonConverter and
/// `schemas.enable=false`); returns the sequence numbers in arrival order.
pub fn seqs(messages: &[Message]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| {
            let value = m.value_str();
            let json: serde_json::Value = serde_json::from_str(value)
                .unwrap_or_else(|e| panic!("record value is not JSON ({e}): {value:?}"));
            json.get("seq")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or_else(|| panic!("record value has no int64 `seq` field: {value}"))
        })
        .collect()
}

/// Checks that `seen` holds every number in `0..count`; returns the number of duplicates.
/// Panics listing (the first few) missing numbers.
pub fn assert_all_seqs(seen: &[i64], count: i64) -> usize {
    let mut hits = vec![0u32; count as usize];
    let mut out_of_range = Vec::new();
    for &s in seen {
        match usize::try_from(s).ok().filter(|&i| i < hits.len()) {
            Some(i) => hits[i] += 1,
            None => out_of_range.push(s),
        }
    }
    let missing: Vec<usize> = hits
        .iter()
        .enumerate()
        .filter(|(_, &h)| h == 0)
        .map(|(i, _)| i)
        .collect();
    let duplicates: usize = hits.iter().map(|&h| h.saturating_sub(1) as usize).sum();
    assert!(
        missing.is_empty() && out_of_range.is_empty(),
        "{} of {count} sequence numbers missing (first: {:?}), {} out of range ({:?}), {duplicates} duplicates, {} records read",
        missing.len(),
        &missing[..missing.len().min(20)],
        out_of_range.len(),
        &out_of_range[..out_of_range.len().min(20)],
        seen.len(),
    );
    duplicates
}
