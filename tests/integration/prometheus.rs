//! A real Prometheus server (Debian's `prometheus`, installed by `cargo xtask test`) scrapes a
//! worker running datagen → tansu → FileStreamSink; PromQL queries for the main series return
//! what flowed: the sink's `sink_record_read_total` equals the records the source wrote. The
//! server also loads the example alerting rules (examples/prometheus/sluice-alerts.yml, checked
//! by `promtool check rules` first): every rule evaluates without error, and ConnectTaskFailed
//! goes active for a source whose plugin traps, and only for it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    free_port, http_get, unique, wait_until, workspace_root, Broker, TestDir, Worker,
};

use crate::{datagen, file_sink, props_with_test_plugins, trapping_source};

/// A `prometheus` process scraping one target every second; killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    fn start(dir: &TestDir, target: SocketAddr, rules: &Path) -> Prometheus {
        let port = free_port();
        let config = dir.write(
            "prometheus.yml",
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: sluice\n    static_configs:\n      - targets: [\"{target}\"]\n",
                rules.display()
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

    /// A JSON API answer's `data`.
    fn api(&self, path: &str) -> Value {
        let r = http_get(self.addr, path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let v: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", r.body));
        assert_eq!(v["status"], "success", "GET {path}: {v}");
        v["data"].clone()
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
    // A source whose plugin traps after 10 records: its task fails.
    let trap = unique("prom-trap");
    let trap_config = trapping_source(broker, &trap);
    let props = props_with_test_plugins(broker, dir.path());
    let worker = Worker::start(
        &dir,
        &props,
        &[
            ("source.properties", &datagen(&src, &topic, N as u64, 0)),
            ("sink.properties", &file_sink(&snk, &out, &topic)),
            ("trap.properties", &trap_config),
        ],
    );
    worker.wait_for_lines(&out, N, Duration::from_secs(300));
    worker.wait_for_task_state(&trap, 0, "FAILED", Duration::from_secs(120));

    // The example alerting rules are valid for Prometheus's own checker.
    let rules = workspace_root().join("examples/prometheus/sluice-alerts.yml");
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): it comes with Debian's prometheus"));
    assert!(
        check.status.success(),
        "promtool check rules {}:\n{}{}",
        rules.display(),
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let prometheus = Prometheus::start(&dir, worker.rest, &rules);
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
    expect("kafka_connect_worker_connector_count".into(), 3.0);
    expect(
        format!("kafka_connect_task_error_total_record_errors{{connector=\"{snk}\"}}"),
        0.0,
    );

    // Every example rule was evaluated against the scraped series without an error.
    wait_until(
        "every alerting rule evaluated",
        Duration::from_secs(60),
        || {
            let groups = prometheus.api("/api/v1/rules");
            let rules: Vec<Value> = groups["groups"]
                .as_array()?
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            let evaluated = rules.len() >= 7
                && rules.iter().all(|r| {
                    r["health"] == "ok"
                        && r["lastEvaluation"]
                            .as_str()
                            .is_some_and(|t| !t.starts_with("0001"))
                });
            evaluated.then_some(())
        },
        || format!("{}", prometheus.api("/api/v1/rules")),
    );
    // The failed task's alert is active (pending for its `for: 1m`, then firing), for the
    // trapped task only.
    let alerts = wait_until(
        "ConnectTaskFailed active",
        Duration::from_secs(60),
        || {
            let data = prometheus.api("/api/v1/alerts");
            let failed: Vec<Value> = data["alerts"]
                .as_array()?
                .iter()
                .filter(|a| a["labels"]["alertname"] == "ConnectTaskFailed")
                .cloned()
                .collect();
            (!failed.is_empty()).then_some(failed)
        },
        || format!("{}", prometheus.api("/api/v1/alerts")),
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0]["labels"]["connector"],
        trap.as_str(),
        "{alerts:?}"
    );
    assert_eq!(alerts[0]["labels"]["task"], "0", "{alerts:?}");
    assert!(
        matches!(alerts[0]["state"].as_str(), Some("pending" | "firing")),
        "{alerts:?}"
    );
}
