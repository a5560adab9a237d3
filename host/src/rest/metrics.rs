//! `GET /metrics`: the worker's metrics in the Prometheus/OpenMetrics text format, under the
//! names Strimzi's JMX-exporter rules give Kafka Connect's MBeans (`kafka.connect<type=
//! source-task-metrics, connector=c, task=0><>source-record-poll-total` →
//! `kafka_connect_source_task_source_record_poll_total{connector="c",task="0"}`), so
//! dashboards and alerts built on a Strimzi-exported Kafka Connect work unchanged. The
//! mapping, metric by metric, is in docs/metrics.md.
//!
//! Design decision: the exposition is written by the `prometheus-client` crate from a
//! [`Collector`] that reads the worker's atomics and connector states at scrape time; nothing is
//! registered per series, so a stopped task's series simply stop appearing. As in Strimzi's
//! rules, Kafka's `*-total` attributes are counters and everything else is a gauge; string
//! attributes (status, class, type) are gauges of value 1 carrying the value as a label.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::Routes;
use crate::metrics::{Metrics, TaskMetrics};
use crate::runtime::herder::{ConnectorStatus, Herder, State as RunState};
use crate::spec::PluginKind;

/// OpenMetrics 1.0, what `prometheus-client` writes (Prometheus reads it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/metrics", &["GET"], get(metrics))
}

async fn metrics(State(herder): State<Arc<dyn Herder>>) -> impl IntoResponse {
    // Reading statuses takes the worker's locks only briefly; no plugin call, no I/O.
    let body = render(herder.as_ref());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}

/// The exposition of everything `herder` knows.
pub fn render(herder: &dyn Herder) -> String {
    // What runs on this worker (in distributed mode a status may name other workers, whose
    // own scrapes report their connectors and tasks, as Kafka Connect's per-worker MBeans do).
    let statuses: Vec<ConnectorStatus> = herder
        .connectors()
        .iter()
        .filter_map(|name| herder.connector_status(name))
        .filter_map(|mut s| {
            s.tasks.retain(|t| t.worker_id.is_none());
            (s.worker_id.is_none() || !s.tasks.is_empty()).then_some(s)
        })
        .collect();
    let snapshot = Snapshot {
        metrics: herder.metrics(),
        statuses,
        classes: herder
            .connectors()
            .iter()
            .map(|n| {
                let config = herder.connector_config(n).unwrap_or_default();
                let class = crate::config::get(&config, "connector.class").unwrap_or_default();
                (n.clone(), class.to_string())
            })
            .collect(),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        // Writing into a String cannot fail; should it, say so in the scrape.
        out = format!("# the metrics could not be encoded: {e}\n# EOF\n");
    }
    out
}

/// What one scrape reports.
#[derive(Debug)]
struct Snapshot {
    metrics: Option<Arc<Metrics>>,
    statuses: Vec<ConnectorStatus>,
    /// (connector, connector.class)
    classes: Vec<(String, String)>,
}

type Labels = Vec<(&'static str, String)>;

fn state_label(s: RunState) -> String {
    s.as_str().to_ascii_lowercase()
}

/// Writes one metric family: its descriptor, then one sample per row.
fn gauge_family(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, f64)],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    if let [(labels, v)] = rows {
        if labels.is_empty() {
            // `name 1.0`, not `name{} 1.0`.
            return ConstGauge::new(*v).encode(family);
        }
    }
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

/// A counter family; `name` without the `_total` the encoder appends.
fn counter_family(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    if let [(labels, v)] = rows {
        if labels.is_empty() {
            return ConstCounter::new(*v).encode(family);
        }
    }
    for (labels, v) in rows {
        ConstCounter::new(*v).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

/// Which tasks a task metric applies to.
#[derive(Clone, Copy, PartialEq)]
enum Applies {
    Any,
    Source,
    Sink,
}

impl Applies {
    fn to(self, kind: PluginKind) -> bool {
        match self {
            Applies::Any => true,
            Applies::Source => kind == PluginKind::Source,
            Applies::Sink => kind == PluginKind::Sink,
        }
    }
}

/// A per-task gauge: Prometheus name, help, which tasks, value.
type TaskGauge = (&'static str, &'static str, Applies, fn(&TaskMetrics) -> f64);
/// A per-task counter (name without `_total`).
type TaskCounter = (&'static str, &'static str, Applies, fn(&TaskMetrics) -> u64);

const MS: f64 = 1000.0; // µs per ms

const TASK_GAUGES: &[TaskGauge] = &[
    // connector-task-metrics
    (
        "kafka_connect_connector_task_batch_size_avg",
        "Average records per batch (source poll, sink put) of the task.",
        Applies::Any,
        |t| t.batch_size.avg(),
    ),
    (
        "kafka_connect_connector_task_batch_size_max",
        "Most records in one batch of the task.",
        Applies::Any,
        |t| t.batch_size.max() as f64,
    ),
    (
        "kafka_connect_connector_task_offset_commit_avg_time_ms",
        "Average time of the task's offset commits (ms).",
        Applies::Any,
        |t| t.offset_commit_time.avg() / MS,
    ),
    (
        "kafka_connect_connector_task_offset_commit_max_time_ms",
        "Longest offset commit of the task (ms).",
        Applies::Any,
        |t| t.offset_commit_time.max() as f64 / MS,
    ),
    (
        "kafka_connect_connector_task_offset_commit_success_percentage",
        "Fraction (0..1) of the task's offset commits that succeeded.",
        Applies::Any,
        |t| t.offset_commit_percentages().0,
    ),
    (
        "kafka_connect_connector_task_offset_commit_failure_percentage",
        "Fraction (0..1) of the task's offset commits that failed.",
        Applies::Any,
        |t| t.offset_commit_percentages().1,
    ),
    // source-task-metrics
    (
        "kafka_connect_source_task_poll_batch_avg_time_ms",
        "Average time of a poll that returned records (ms).",
        Applies::Source,
        |t| t.poll_batch_time.avg() / MS,
    ),
    (
        "kafka_connect_source_task_poll_batch_max_time_ms",
        "Longest poll that returned records (ms).",
        Applies::Source,
        |t| t.poll_batch_time.max() as f64 / MS,
    ),
    (
        "kafka_connect_source_task_source_record_active_count",
        "Records produced but not yet acknowledged by Kafka.",
        Applies::Source,
        |t| t.source_record_active.get() as f64,
    ),
    (
        "kafka_connect_source_task_source_record_active_count_max",
        "Most records produced and not yet acknowledged at once.",
        Applies::Source,
        |t| {
            t.source_record_active_max
                .load(std::sync::atomic::Ordering::Relaxed) as f64
        },
    ),
    // sink-task-metrics
    (
        "kafka_connect_sink_task_put_batch_avg_time_ms",
        "Average time of a put (ms).",
        Applies::Sink,
        |t| t.put_batch_time.avg() / MS,
    ),
    (
        "kafka_connect_sink_task_put_batch_max_time_ms",
        "Longest put (ms).",
        Applies::Sink,
        |t| t.put_batch_time.max() as f64 / MS,
    ),
    (
        "kafka_connect_sink_task_partition_count",
        "Topic partitions assigned to the task.",
        Applies::Sink,
        |t| t.partition_count.get() as f64,
    ),
    (
        "kafka_connect_sink_task_offset_commit_seq_no",
        "Sequence number of the task's latest offset commit.",
        Applies::Sink,
        |t| t.offset_commit_seq_no.get() as f64,
    ),
    (
        "kafka_connect_sink_task_sink_record_active_count",
        "Records read from Kafka whose put has not returned yet.",
        Applies::Sink,
        |t| t.sink_record_active.get() as f64,
    ),
    // task-error-metrics (Kafka's names: these are totals exported as gauges by Strimzi's rules)
    (
        "kafka_connect_task_error_total_record_errors",
        "Records that failed a stage (converter, transform, put).",
        Applies::Any,
        |t| t.record_errors.get() as f64,
    ),
    (
        "kafka_connect_task_error_total_record_failures",
        "Failed attempts at processing records.",
        Applies::Any,
        |t| t.record_failures.get() as f64,
    ),
    (
        "kafka_connect_task_error_total_records_skipped",
        "Records skipped because of errors (errors.tolerance=all).",
        Applies::Any,
        |t| t.records_skipped.get() as f64,
    ),
    (
        "kafka_connect_task_error_total_retries",
        "Retries of failed calls (errors.retry.*).",
        Applies::Any,
        |t| t.retries.load(std::sync::atomic::Ordering::Relaxed) as f64,
    ),
    (
        "kafka_connect_task_error_total_errors_logged",
        "Errors logged (errors.log.enable=true).",
        Applies::Any,
        |t| t.errors_logged.get() as f64,
    ),
    (
        "kafka_connect_task_error_deadletterqueue_produce_requests",
        "Records sent to the dead letter queue.",
        Applies::Sink,
        |t| t.dlq_produce_requests.get() as f64,
    ),
    (
        "kafka_connect_task_error_deadletterqueue_produce_failures",
        "Records the dead letter queue could not take.",
        Applies::Sink,
        |t| t.dlq_produce_failures.get() as f64,
    ),
    (
        "kafka_connect_task_error_last_error_timestamp",
        "When the last record error happened (ms since the epoch; 0: never).",
        Applies::Any,
        |t| {
            t.last_error_timestamp
                .load(std::sync::atomic::Ordering::Relaxed) as f64
        },
    ),
];

const TASK_COUNTERS: &[TaskCounter] = &[
    (
        "kafka_connect_source_task_source_record_poll",
        "Records polled from the source plugin, before transforms.",
        Applies::Source,
        |t| t.source_record_poll.get(),
    ),
    (
        "kafka_connect_source_task_source_record_write",
        "Records written to Kafka, after transforms.",
        Applies::Source,
        |t| t.source_record_write.get(),
    ),
    (
        "kafka_connect_sink_task_sink_record_read",
        "Records read from Kafka, before transforms.",
        Applies::Sink,
        |t| t.sink_record_read.get(),
    ),
    (
        "kafka_connect_sink_task_sink_record_send",
        "Records handed to the sink plugin's put, after transforms.",
        Applies::Sink,
        |t| t.sink_record_send.get(),
    ),
    (
        "kafka_connect_sink_task_offset_commit_completion",
        "Offset commits that completed.",
        Applies::Sink,
        |t| t.offset_commit_completion.get(),
    ),
    (
        "kafka_connect_sink_task_offset_commit_skip",
        "Offset commits skipped (nothing to commit, or the flush failed).",
        Applies::Sink,
        |t| t.offset_commit_skip.get(),
    ),
];

/// Windowed rates: Prometheus name, help, which tasks, the rate series and total it follows.
type TaskRate = (
    &'static str,
    &'static str,
    Applies,
    &'static str,
    fn(&TaskMetrics) -> u64,
);

const TASK_RATES: &[TaskRate] = &[
    (
        "kafka_connect_source_task_source_record_poll_rate",
        "Records polled per second (last minute).",
        Applies::Source,
        "poll",
        |t| t.source_record_poll.get(),
    ),
    (
        "kafka_connect_source_task_source_record_write_rate",
        "Records written per second (last minute).",
        Applies::Source,
        "write",
        |t| t.source_record_write.get(),
    ),
    (
        "kafka_connect_sink_task_sink_record_read_rate",
        "Records read per second (last minute).",
        Applies::Sink,
        "read",
        |t| t.sink_record_read.get(),
    ),
    (
        "kafka_connect_sink_task_sink_record_send_rate",
        "Records put per second (last minute).",
        Applies::Sink,
        "send",
        |t| t.sink_record_send.get(),
    ),
    (
        "kafka_connect_sink_task_offset_commit_completion_rate",
        "Offset commits completed per second (last minute).",
        Applies::Sink,
        "completion",
        |t| t.offset_commit_completion.get(),
    ),
    (
        "kafka_connect_sink_task_offset_commit_skip_rate",
        "Offset commits skipped per second (last minute).",
        Applies::Sink,
        "skip",
        |t| t.offset_commit_skip.get(),
    ),
];

fn task_labels(t: &TaskMetrics) -> Labels {
    vec![
        ("connector", t.connector.clone()),
        ("task", t.task.to_string()),
    ]
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.encode_worker(&mut enc)?;
        self.encode_states(&mut enc)?;
        if let Some(m) = &self.metrics {
            encode_tasks(&mut enc, &m.tasks())?;
        }
        Ok(())
    }
}

impl Snapshot {
    /// `connect-worker-metrics`, without and with the connector tag.
    fn encode_worker(&self, enc: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let none = Labels::new;
        let tasks: usize = self.statuses.iter().map(|s| s.tasks.len()).sum();
        gauge_family(
            enc,
            "kafka_connect_worker_connector_count",
            "Connectors of this worker.",
            &[(none(), self.local_connectors().count() as f64)],
        )?;
        gauge_family(
            enc,
            "kafka_connect_worker_task_count",
            "Tasks of this worker.",
            &[(none(), tasks as f64)],
        )?;
        if let Some(m) = &self.metrics {
            let w = &m.worker;
            let startups = [
                (
                    "connector",
                    &w.connector_startup_attempts,
                    &w.connector_startup_success,
                    &w.connector_startup_failure,
                ),
                (
                    "task",
                    &w.task_startup_attempts,
                    &w.task_startup_success,
                    &w.task_startup_failure,
                ),
            ];
            for (what, attempts, success, failure) in startups {
                counter_family(
                    enc,
                    &format!("kafka_connect_worker_{what}_startup_attempts"),
                    &format!("{what} starts attempted."),
                    &[(none(), attempts.get())],
                )?;
                counter_family(
                    enc,
                    &format!("kafka_connect_worker_{what}_startup_success"),
                    &format!("{what} starts that succeeded."),
                    &[(none(), success.get())],
                )?;
                counter_family(
                    enc,
                    &format!("kafka_connect_worker_{what}_startup_failure"),
                    &format!("{what} starts that failed."),
                    &[(none(), failure.get())],
                )?;
                let ratio = |n: u64| match attempts.get() {
                    0 => 0.0,
                    a => n as f64 / a as f64,
                };
                gauge_family(
                    enc,
                    &format!("kafka_connect_worker_{what}_startup_success_percentage"),
                    &format!("Fraction (0..1) of {what} starts that succeeded."),
                    &[(none(), ratio(success.get()))],
                )?;
                gauge_family(
                    enc,
                    &format!("kafka_connect_worker_{what}_startup_failure_percentage"),
                    &format!("Fraction (0..1) of {what} starts that failed."),
                    &[(none(), ratio(failure.get()))],
                )?;
            }
        }
        let per_state = |state: Option<RunState>| -> Vec<(Labels, f64)> {
            self.statuses
                .iter()
                .map(|s| {
                    let n = s
                        .tasks
                        .iter()
                        .filter(|t| state.is_none_or(|st| t.state == st))
                        .count();
                    (vec![("connector", s.name.clone())], n as f64)
                })
                .collect()
        };
        gauge_family(
            enc,
            "kafka_connect_worker_connector_total_task_count",
            "Tasks of the connector on this worker.",
            &per_state(None),
        )?;
        for (name, state) in [
            ("running", RunState::Running),
            ("paused", RunState::Paused),
            ("failed", RunState::Failed),
            ("unassigned", RunState::Unassigned),
            ("restarting", RunState::Restarting),
        ] {
            gauge_family(
                enc,
                &format!("kafka_connect_worker_connector_{name}_task_count"),
                &format!("Tasks of the connector in state {name}."),
                &per_state(Some(state)),
            )?;
        }
        // Sluice never keeps destroyed tasks around.
        let zero: Vec<(Labels, f64)> = per_state(None).into_iter().map(|(l, _)| (l, 0.0)).collect();
        gauge_family(
            enc,
            "kafka_connect_worker_connector_destroyed_task_count",
            "Tasks of the connector destroyed (always 0).",
            &zero,
        )
    }

    /// `connector-metrics` (status, type, class) and each task's `status`.
    /// The connectors whose Connector instance runs on this worker.
    fn local_connectors(&self) -> impl Iterator<Item = &ConnectorStatus> {
        self.statuses.iter().filter(|s| s.worker_id.is_none())
    }

    fn encode_states(&self, enc: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let status: Vec<(Labels, f64)> = self
            .local_connectors()
            .map(|s| {
                (
                    vec![
                        ("connector", s.name.clone()),
                        ("status", state_label(s.state)),
                    ],
                    1.0,
                )
            })
            .collect();
        gauge_family(
            enc,
            "kafka_connect_connector_status",
            "The connector's state (the status label; value 1).",
            &status,
        )?;
        let types: Vec<(Labels, f64)> = self
            .local_connectors()
            .map(|s| {
                (
                    vec![
                        ("connector", s.name.clone()),
                        ("connector_type", s.kind.rest_name().to_string()),
                    ],
                    1.0,
                )
            })
            .collect();
        gauge_family(
            enc,
            "kafka_connect_connector_connector_type",
            "The connector's type (source or sink; value 1).",
            &types,
        )?;
        let classes: Vec<(Labels, f64)> = self
            .classes
            .iter()
            .filter(|(n, class)| !class.is_empty() && self.local_connectors().any(|s| &s.name == n))
            .map(|(n, class)| {
                (
                    vec![("connector", n.clone()), ("connector_class", class.clone())],
                    1.0,
                )
            })
            .collect();
        gauge_family(
            enc,
            "kafka_connect_connector_connector_class",
            "The connector's connector.class (value 1).",
            &classes,
        )?;
        let tasks: Vec<(Labels, f64)> = self
            .statuses
            .iter()
            .flat_map(|s| {
                s.tasks.iter().map(|t| {
                    let labels = vec![
                        ("connector", s.name.clone()),
                        ("task", t.id.to_string()),
                        ("status", state_label(t.state)),
                    ];
                    (labels, 1.0)
                })
            })
            .collect();
        gauge_family(
            enc,
            "kafka_connect_connector_task_status",
            "The task's state (the status label; value 1).",
            &tasks,
        )
    }
}

/// The per-task groups: connector-task, source-task, sink-task and task-error metrics, and
/// Sluice's plugin call times.
fn encode_tasks(
    enc: &mut DescriptorEncoder<'_>,
    tasks: &[Arc<TaskMetrics>],
) -> Result<(), std::fmt::Error> {
    let now = Instant::now();
    for (name, help, applies, get) in TASK_COUNTERS {
        let rows: Vec<(Labels, u64)> = tasks
            .iter()
            .filter(|t| applies.to(t.kind))
            .map(|t| (task_labels(t), get(t)))
            .collect();
        counter_family(enc, name, help, &rows)?;
    }
    for (name, help, applies, get) in TASK_GAUGES {
        let rows: Vec<(Labels, f64)> = tasks
            .iter()
            .filter(|t| applies.to(t.kind))
            .map(|t| (task_labels(t), get(t)))
            .collect();
        gauge_family(enc, name, help, &rows)?;
    }
    for (name, help, applies, series, get) in TASK_RATES {
        let rows: Vec<(Labels, f64)> = tasks
            .iter()
            .filter(|t| applies.to(t.kind))
            .map(|t| {
                (
                    task_labels(t),
                    t.rates.lock().rate(series, get(t), now, t.started),
                )
            })
            .collect();
        gauge_family(enc, name, help, &rows)?;
    }
    // Sluice's own: time spent inside the plugin's calls, per call.
    let mut calls: Vec<(Labels, u64)> = Vec::new();
    let mut micros: Vec<(Labels, f64)> = Vec::new();
    for t in tasks {
        let kinds = [
            ("poll", &t.poll_calls),
            ("put", &t.put_calls),
            ("apply", &t.apply_calls),
        ];
        for (call, c) in kinds {
            if c.calls.get() == 0
                && !matches!(
                    (call, t.kind),
                    ("poll", PluginKind::Source) | ("put", PluginKind::Sink)
                )
            {
                continue;
            }
            let mut labels = task_labels(t);
            labels.push(("call", call.to_string()));
            calls.push((labels.clone(), c.calls.get()));
            micros.push((labels, c.micros.get() as f64 / 1e6));
        }
    }
    // Sink lag, per partition and its maximum (Kafka's sink-record-lag-max).
    let sinks: Vec<&Arc<TaskMetrics>> = tasks
        .iter()
        .filter(|t| t.kind == PluginKind::Sink)
        .collect();
    let lag_max: Vec<(Labels, f64)> = sinks
        .iter()
        .map(|t| (task_labels(t), t.lag_max() as f64))
        .collect();
    gauge_family(
        enc,
        "kafka_connect_sink_task_sink_record_lag_max",
        "Most records any assigned partition is behind its high watermark.",
        &lag_max,
    )?;
    let mut lags: Vec<(Labels, f64)> = Vec::new();
    for t in &sinks {
        for ((topic, partition), lag) in t.partition_lag.lock().iter() {
            let mut labels = task_labels(t);
            labels.push(("topic", topic.clone()));
            labels.push(("partition", partition.to_string()));
            lags.push((labels, *lag as f64));
        }
    }
    gauge_family(
        enc,
        "sluice_sink_partition_lag",
        "Records the partition is behind its high watermark, as of the task's last read from it.",
        &lags,
    )?;
    // Plugin memory against its limit.
    let memory = crate::metrics::memory::by_task();
    let mem_rows = |pick: fn(&(u64, u64)) -> u64| -> Vec<(Labels, f64)> {
        memory
            .iter()
            .map(|((c, t), v)| {
                (
                    vec![("connector", c.clone()), ("task", t.to_string())],
                    pick(v) as f64,
                )
            })
            .collect()
    };
    gauge_family(
        enc,
        "sluice_plugin_memory_bytes",
        "Linear memory of the task's WebAssembly instances (its plugin and each SMT), in bytes.",
        &mem_rows(|v| v.0),
    )?;
    gauge_family(enc, "sluice_plugin_memory_limit_bytes", "wasm.memory.max.bytes of the task's instances, summed over them (the limit applies to each memory).", &mem_rows(|v| v.1))?;
    counter_family(
        enc,
        "sluice_plugin_calls",
        "Calls into the task's WebAssembly plugins (poll, put, transform apply).",
        &calls,
    )?;
    // A float counter: seconds.
    if !micros.is_empty() {
        let mut family = enc.encode_descriptor(
            "sluice_plugin_call_seconds",
            "Time spent inside the task's plugin calls (seconds).",
            None,
            MetricType::Counter,
        )?;
        for (labels, v) in &micros {
            ConstCounter::new(*v).encode(family.encode_family(labels)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rest::test_herder::send;
    use crate::runtime::herder::TaskStatus;
    use crate::spec::Config;

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
        assert!(
            !text.contains("kafka_connect_source_task_source_record_poll_total{connector=\"snk\"")
        );
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
}
