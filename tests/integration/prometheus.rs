//! A real Prometheus server (Debian's `prometheus`, installed by `cargo xtask test`) scrapes a
//! worker running datagen → tansu → FileStreamSink; PromQL queries for the main series return
//! what flowed: the sink's `sink_record_read_total` equals the records the source wrote.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    default_worker_props, free_port, http_get, unique, wait_until, Broker, TestDir, Worker,
};

use crate::{datagen, file_sink};

/// A `prometheus` process scraping one target every second; killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    fn start(dir: &TestDir, target: SocketAddr) -> Prometheus {
        let port = free_port();
        let config = dir.write(
            "prometheus.yml",
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: sluice\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        );
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("create the log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run prometheus ({e}): `cargo xtask test` installs Debian's prometheus"
                )
            });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Owned before waiting, so a server that never gets ready is still killed (Drop).
        let prometheus = Prometheus { child, addr };
        wait_until(
            "prometheus to be ready",
            Duration::from_secs(60),
            || http_get(addr, "/-/ready").ok().filter(|r| r.status == 200),
            || "not ready".to_string(),
        );
        prometheus
    }

    /// The value of the single series an instant PromQL query returns, if it returns one.
    fn query(&self, promql: &str) -> Option<f64> {
        let r = http_get(
            self.addr,
            &format!("/api/v1/query?query={}", encode(promql)),
        )
        .ok()?;
        let v: Value = serde_json::from_str(&r.body).ok()?;
        assert_eq!(v["status"], "success", "{promql}: {v}");
        let result = v["data"]["result"].as_array()?;
        assert!(
            result.len() <= 1,
            "{promql} returned {} series: {v}",
            result.len()
        );
        result.first()?["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_worker_and_queries_return_the_record_counts() {
    const N: usize = 800;
    let broker = Broker::shared();
    let dir = TestDir::new("prometheus");
    let topic = unique("prom");
    broker.create_topic(&topic, 1);
    let (src, snk) = (unique("prom-src"), unique("prom-snk"));
    let out = dir.join("out.txt");
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            ("source.properties", &datagen(&src, &topic, N as u64, 0)),
            ("sink.properties", &file_sink(&snk, &out, &topic)),
        ],
    );
    worker.wait_for_lines(&out, N, Duration::from_secs(300));

    let prometheus = Prometheus::start(&dir, worker.rest);
    let expect = |promql: String, expected: f64| {
        wait_until(
            &format!("{promql} = {expected} in Prometheus"),
            Duration::from_secs(60),
            || (prometheus.query(&promql) == Some(expected)).then_some(()),
            || {
                format!(
                    "{:?}; up = {:?}",
                    prometheus.query(&promql),
                    prometheus.query("up")
                )
            },
        );
    };
    expect("up{job=\"sluice\"}".into(), 1.0);
    let n = N as f64;
    expect(
        format!(
            "kafka_connect_source_task_source_record_write_total{{connector=\"{src}\",task=\"0\"}}"
        ),
        n,
    );
    expect(
        format!("kafka_connect_sink_task_sink_record_read_total{{connector=\"{snk}\",task=\"0\"}}"),
        n,
    );
    expect(
        format!("kafka_connect_sink_task_sink_record_send_total{{connector=\"{snk}\"}}"),
        n,
    );
    expect(
        format!("kafka_connect_connector_task_status{{connector=\"{snk}\",task=\"0\",status=\"running\"}}"),
        1.0,
    );
    expect("kafka_connect_worker_connector_count".into(), 2.0);
    expect(
        format!("kafka_connect_task_error_total_record_errors{{connector=\"{snk}\"}}"),
        0.0,
    );
}
