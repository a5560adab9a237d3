use std::time::Duration;

use super::*;
use crate::rest::test_herder::send;
use crate::runtime::herder::TaskStatus;
use crate::spec::Config;
use crate::spec::PluginKind;

/// A running source with one task that has counted a little, and a sink whose task failed.
struct MetricsHerder(Arc<Metrics>);

impl Herder for MetricsHerder {
    fn worker_id(&self) -> String {
        "w:8083".into()
    }
    fn kafka_cluster_id(&self) -> Option<String> {
        None
    }
    fn connectors(&self) -> Vec<String> {
        vec!["src".into(), "snk".into()]
    }
    fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        let (kind, task_state) = match name {
            "src" => (PluginKind::Source, RunState::Running),
            _ => (PluginKind::Sink, RunState::Failed),
        };
        Some(ConnectorStatus {
            name: name.into(),
            state: RunState::Running,
            trace: None,
            tasks: vec![TaskStatus {
                id: 0,
                state: task_state,
                trace: None,
                worker_id: None,
            }],
            kind,
            worker_id: None,
        })
    }
    fn connector_config(&self, name: &str) -> Option<Config> {
        let class = if name == "src" {
            "datagen"
        } else {
            "FileStreamSink"
        };
        Some(vec![("connector.class".into(), class.into())])
    }
    fn metrics(&self) -> Option<Arc<Metrics>> {
        Some(self.0.clone())
    }
    fn plugin_catalog(&self) -> Option<Arc<dyn crate::runtime::plugin::PluginCatalog>> {
        use crate::runtime::test_doubles::{TestCatalog, TestPlugin};
        Some(Arc::new(TestCatalog(vec![
            TestPlugin::new("datagen", PluginKind::Source),
            TestPlugin::new("FileStreamSink", PluginKind::Sink),
        ])))
    }
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn kafka_connect_names_types_and_labels() {
    let metrics = Arc::new(Metrics::default());
    let src = metrics.register_task("src", 0, PluginKind::Source);
    src.source_polled(100, Duration::from_millis(4));
    src.source_polled(50, Duration::from_millis(2));
    src.poll_calls.record(Duration::from_millis(4));
    src.poll_calls.record(Duration::from_millis(2));
    src.source_record_write.add(150);
    metrics.register_task("snk", 0, PluginKind::Sink);
    metrics.worker.task_startup_attempts.add(2);
    metrics.worker.task_startup_success.add(2);
    let text = render(&MetricsHerder(metrics));
    let lines = lines_of(&text);
    for expected in [
        "# TYPE kafka_connect_worker_connector_count gauge",
        "kafka_connect_worker_connector_count 2.0",
        "kafka_connect_worker_task_count 2.0",
        "# TYPE kafka_connect_worker_task_startup_attempts counter",
        "kafka_connect_worker_task_startup_attempts_total 2",
        "kafka_connect_worker_task_startup_success_percentage 1.0",
        "kafka_connect_worker_connector_running_task_count{connector=\"src\"} 1.0",
        "kafka_connect_worker_connector_failed_task_count{connector=\"snk\"} 1.0",
        "kafka_connect_connector_status{connector=\"src\",status=\"running\"} 1.0",
        "kafka_connect_connector_connector_type{connector=\"snk\",connector_type=\"sink\"} 1.0",
        "kafka_connect_connector_connector_class{connector=\"src\",connector_class=\"datagen\"} 1.0",
        "kafka_connect_connector_task_status{connector=\"snk\",task=\"0\",status=\"failed\"} 1.0",
        "# TYPE kafka_connect_source_task_source_record_poll counter",
        "kafka_connect_source_task_source_record_poll_total{connector=\"src\",task=\"0\"} 150",
        "kafka_connect_source_task_source_record_write_total{connector=\"src\",task=\"0\"} 150",
        "kafka_connect_connector_task_batch_size_avg{connector=\"src\",task=\"0\"} 75.0",
        "kafka_connect_connector_task_batch_size_max{connector=\"src\",task=\"0\"} 100.0",
        "kafka_connect_source_task_poll_batch_avg_time_ms{connector=\"src\",task=\"0\"} 3.0",
        "kafka_connect_sink_task_sink_record_read_total{connector=\"snk\",task=\"0\"} 0",
        "sluice_plugin_calls_total{connector=\"src\",task=\"0\",call=\"poll\"} 2",
        "# EOF",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    // Source metrics only for sources, sink metrics only for sinks.
    assert!(!text.contains("kafka_connect_sink_task_sink_record_read_total{connector=\"src\""));
    assert!(!text.contains("kafka_connect_source_task_source_record_poll_total{connector=\"snk\""));
    // Every sample line is `name{labels} value`, every family typed once.
    let mut typed = std::collections::HashSet::new();
    for line in &lines {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let name = t.split(' ').next().unwrap_or_default();
            assert!(typed.insert(name.to_string()), "{name} typed twice");
        }
    }
}

#[tokio::test]
async fn disabled_metrics_answer_404_and_count_nothing() {
    let metrics = Arc::new(Metrics::new(false));
    let task = metrics.register_task("src", 0, PluginKind::Source);
    task.source_polled(5, Duration::from_millis(1));
    task.source_written(5);
    assert_eq!(task.source_record_poll.get(), 0);
    assert_eq!(task.source_record_write.get(), 0);
    let sink = metrics.register_task("snk", 0, PluginKind::Sink);
    sink.sink_read(5);
    sink.sink_sent(5);
    sink.record_error();
    assert_eq!(
        (
            sink.sink_record_read.get(),
            sink.sink_record_send.get(),
            sink.record_errors.get(),
            sink.record_failures.get()
        ),
        (0, 0, 0, 0)
    );
    let (addr, _stop, _h) =
        crate::rest::test_herder::start_with(Arc::new(MetricsHerder(metrics))).await;
    let (status, _head, body) = send(addr, "GET", "/metrics", b"").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("metrics.enable=false"), "{body}");
}

#[tokio::test]
async fn served_as_openmetrics() {
    let (addr, _stop, _h) = crate::rest::test_herder::start().await;
    let (status, head, body) = send(addr, "GET", "/metrics", b"").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    // The fake herder has no counters: states only, from its connectors.
    assert!(
        body.contains("kafka_connect_connector_task_status{connector=\"zeta-sink\",task=\"1\",status=\"failed\"} 1.0"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
}

/// Kafka Connect's metrics documentation: the table Kafka's build generates for its docs from
/// `ConnectMetricsRegistry` (captured from Kafka Connect 3.9.0 by
/// tools/capture-metrics-docs/capture.sh).
const KAFKA_METRICS_DOC: &str =
    include_str!("../../../../tests/fixtures/kafka-connect-metrics/connect_metrics.html");

/// Documented attributes Sluice does not publish, and why.
const NOT_PUBLISHED: &[(&str, &str)] = &[
    // Sources are at-least-once: no producer transactions to size (a config requiring
    // exactly-once is refused).
    ("source-task-metrics", "transaction-size-avg"),
    ("source-task-metrics", "transaction-size-max"),
    ("source-task-metrics", "transaction-size-min"),
];

/// (MBean type, attribute, its tags) of every metric in Kafka's documentation.
fn documented() -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let cells: Vec<&str> = KAFKA_METRICS_DOC
        .split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap_or_default())
        .collect();
    for row in cells.chunks(3) {
        let [attribute, _description, mbean] = row else {
            panic!("a row of three cells: {row:?}")
        };
        let props = mbean
            .strip_prefix("kafka.connect:")
            .unwrap_or_else(|| panic!("an MBean of kafka.connect: {mbean}"));
        let mut group = String::new();
        let mut tags = Vec::new();
        for prop in props.split(',') {
            let (k, v) = prop.split_once('=').expect("key=value");
            if k == "type" {
                group = v.to_string();
            } else {
                tags.push(k.to_string());
            }
        }
        out.push((group, attribute.to_string(), tags));
    }
    out
}

/// What Strimzi's JMX-exporter rules for Kafka Connect make of an MBean attribute: the series
/// name, its type and its label names (sorted).
fn strimzi_series(
    group: &str,
    attribute: &str,
    tags: &[String],
) -> (String, &'static str, Vec<String>) {
    let attr = attribute.replace('-', "_");
    let mut labels: Vec<String> = tags.to_vec();
    let counter = attribute.ends_with("-total");
    let (name, kind) = match group {
        "connect-worker-metrics" if tags.is_empty() && counter => {
            (format!("kafka_connect_worker_{attr}"), "counter")
        }
        "connect-worker-metrics" => (format!("kafka_connect_worker_{attr}"), "gauge"),
        "connect-worker-rebalance-metrics" => {
            if matches!(attribute, "leader-name" | "connect-protocol") {
                labels.push(attr.clone());
            }
            let kind = if counter { "counter" } else { "gauge" };
            (format!("kafka_connect_worker_rebalance_{attr}"), kind)
        }
        // Every connector-metrics attribute is a string, published as a label.
        "connector-metrics" => {
            labels.push(attr.clone());
            (format!("kafka_connect_connector_{attr}"), "gauge")
        }
        "connector-task-metrics" if attribute == "status" => {
            labels.push("status".into());
            ("kafka_connect_connector_task_status".into(), "gauge")
        }
        _ => {
            let g = group
                .strip_suffix("-metrics")
                .unwrap_or(group)
                .replace('-', "_");
            let kind = if counter { "counter" } else { "gauge" };
            (format!("kafka_connect_{g}_{attr}"), kind)
        }
    };
    labels.sort();
    (name, kind, labels)
}

/// A distributed worker's scrape with every group filled in.
fn full_scrape() -> String {
    let metrics = Arc::new(Metrics::default());
    let src = metrics.register_task("src", 0, PluginKind::Source);
    src.source_polled(10, Duration::from_millis(1));
    src.source_active(3);
    src.mark_running();
    let snk = metrics.register_task("snk", 0, PluginKind::Sink);
    snk.sink_active(5);
    snk.sink_commit_started();
    snk.sink_commit_finished(Some(Duration::from_millis(2)));
    metrics.rebalance.started("EAGER");
    metrics.rebalance.completed(3, "leader-1", "EAGER");
    render(&MetricsHerder(metrics))
}

#[test]
fn every_kafka_connect_metric_is_published_under_strimzis_name_with_its_labels() {
    let text = full_scrape();
    // Family name -> type, and each sample's family and label names.
    let mut families: std::collections::BTreeMap<String, String> = Default::default();
    let mut samples: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').expect("# TYPE name type");
            families.insert(name.to_string(), kind.to_string());
        } else if !line.starts_with('#') {
            let (series, _) = line.rsplit_once(' ').expect("name value");
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            let mut keys: Vec<String> = labels
                .trim_end_matches('}')
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .map(|kv| kv.split_once('=').expect("label=value").0.to_string())
                .collect();
            keys.sort();
            samples.push((name.to_string(), keys));
        }
    }
    let docs = documented();
    assert!(docs.len() >= 70, "{} documented metrics", docs.len());
    let mut expected_families = Vec::new();
    for (group, attribute, tags) in &docs {
        // The series the JMX exporter publishes; an OpenMetrics counter family is named
        // without its samples' `_total`.
        let (sample, kind, labels) = strimzi_series(group, attribute, tags);
        let name = match kind {
            "counter" => sample.strip_suffix("_total").unwrap_or(&sample).to_string(),
            _ => sample.clone(),
        };
        expected_families.push(name.clone());
        if NOT_PUBLISHED.contains(&(group.as_str(), attribute.as_str())) {
            assert!(
                !families.contains_key(&name),
                "{name} is listed as not published"
            );
            continue;
        }
        assert_eq!(
            families.get(&name).map(String::as_str),
            Some(kind),
            "{group} {attribute}: no {kind} {name} in:\n{text}"
        );
        let seen: Vec<&Vec<String>> = samples
            .iter()
            .filter(|(n, _)| *n == sample)
            .map(|(_, l)| l)
            .collect();
        assert!(!seen.is_empty(), "no sample of {sample}");
        for keys in seen {
            assert_eq!(keys, &labels, "labels of {sample}");
        }
    }
    // And nothing under Kafka Connect's prefix that Kafka does not document (but for the
    // plugins' own, Kafka 4.1's `type=plugins` group, which 3.9 does not have).
    for name in families
        .keys()
        .filter(|n| n.starts_with("kafka_connect_") && !n.starts_with("kafka_connect_plugins_"))
    {
        assert!(
            expected_families.contains(name),
            "{name} is not in Kafka Connect's metrics documentation"
        );
    }
}

#[test]
fn plugin_defined_metrics_are_published_with_task_labels() {
    let plugin = crate::metrics::plugin::for_task("pm-src", 3);
    plugin.counter_add("rows_masked", 7).expect("counter");
    plugin.gauge_set("pm_queue", 2.5).expect("gauge");
    let text = render(&MetricsHerder(Arc::new(Metrics::default())));
    let lines = lines_of(&text);
    for expected in [
        "# TYPE kafka_connect_plugins_rows_masked counter",
        "kafka_connect_plugins_rows_masked_total{connector=\"pm-src\",task=\"3\"} 7",
        "# TYPE kafka_connect_plugins_pm_queue gauge",
        "kafka_connect_plugins_pm_queue{connector=\"pm-src\",task=\"3\"} 2.5",
    ] {
        assert!(
            lines.contains(&expected),
            "missing {expected:?} in:\n{text}"
        );
    }
    drop(plugin);
    let text = render(&MetricsHerder(Arc::new(Metrics::default())));
    assert!(!text.contains("pm-src"), "{text}");
}

#[test]
fn sink_offset_commits_are_numbered_and_completed() {
    let metrics = Arc::new(Metrics::default());
    let snk = metrics.register_task("snk", 0, PluginKind::Sink);
    snk.sink_commit_started();
    snk.sink_commit_finished(Some(Duration::from_millis(4)));
    snk.sink_commit_started();
    snk.sink_commit_finished(None);
    snk.sink_commit_started();
    snk.sink_commit_finished(Some(Duration::from_millis(2)));
    let text = render(&MetricsHerder(metrics));
    let lines = lines_of(&text);
    let labels = "{connector=\"snk\",task=\"0\"}";
    for expected in [
        format!("kafka_connect_sink_task_offset_commit_seq_no{labels} 3.0"),
        format!("kafka_connect_sink_task_offset_commit_completion_total{labels} 2"),
        format!("kafka_connect_sink_task_offset_commit_skip_total{labels} 0"),
        format!("kafka_connect_connector_task_offset_commit_max_time_ms{labels} 4.0"),
        format!("kafka_connect_connector_task_offset_commit_avg_time_ms{labels} 3.0"),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "missing {expected:?} in:\n{text}"
        );
    }
    let failed = format!("kafka_connect_connector_task_offset_commit_failure_percentage{labels} ");
    let v: f64 = lines
        .iter()
        .find_map(|l| l.strip_prefix(failed.as_str()))
        .expect("failure percentage")
        .parse()
        .expect("a number");
    assert!((v - 1.0 / 3.0).abs() < 1e-9, "{v}");
}

#[test]
fn rebalance_metrics_only_on_distributed_workers() {
    let metrics = Arc::new(Metrics::default());
    let standalone = render(&MetricsHerder(metrics.clone()));
    assert!(
        !standalone.contains("kafka_connect_worker_rebalance"),
        "{standalone}"
    );
    metrics.rebalance.started("SESSIONED");
    let joining = render(&MetricsHerder(metrics.clone()));
    for expected in [
        "kafka_connect_worker_rebalance_rebalancing 1.0",
        "kafka_connect_worker_rebalance_completed_rebalances_total 0",
        "kafka_connect_worker_rebalance_epoch -1.0",
    ] {
        assert!(
            lines_of(&joining).contains(&expected),
            "missing {expected:?} in:\n{joining}"
        );
    }
    assert!(!joining.contains("time_since_last_rebalance"), "{joining}");
    metrics.rebalance.completed(7, "worker-2", "EAGER");
    let done = render(&MetricsHerder(metrics));
    for expected in [
        "kafka_connect_worker_rebalance_rebalancing 0.0",
        "kafka_connect_worker_rebalance_completed_rebalances_total 1",
        "kafka_connect_worker_rebalance_epoch 7.0",
        "kafka_connect_worker_rebalance_leader_name{leader_name=\"worker-2\"} 1.0",
        "kafka_connect_worker_rebalance_connect_protocol{connect_protocol=\"EAGER\"} 1.0",
    ] {
        assert!(
            lines_of(&done).contains(&expected),
            "missing {expected:?} in:\n{done}"
        );
    }
    assert!(
        done.contains("kafka_connect_worker_rebalance_time_since_last_rebalance_ms "),
        "{done}"
    );
}
