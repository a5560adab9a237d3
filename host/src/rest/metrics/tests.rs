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
