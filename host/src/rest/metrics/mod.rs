//! `GET /metrics`: the worker's metrics in the Prometheus/OpenMetrics text format, under the
//! names Strimzi's JMX-exporter rules give Kafka Connect's MBeans (`kafka.connect<type=
//! source-task-metrics, connector=c, task=0><>source-record-poll-total` →
//! `kafka_connect_source_task_source_record_poll_total{connector="c",task="0"}`), so
//! dashboards and alerts built on a Strimzi-exported Kafka Connect work unchanged. The
//! mapping, metric by metric, is in docs/monitoring.md.
//!
//! Design decision: the exposition is written by the `prometheus-client` crate from a
//! [`Collector`] that reads the worker's atomics and connector states at scrape time; nothing is
//! registered per series, so a stopped task's series simply stop appearing. As in Strimzi's
//! rules, Kafka's `*-total` attributes are counters and everything else is a gauge; string
//! attributes (status, class, type) are gauges of value 1 carrying the value as a label.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use self::tasks::encode_tasks;
use super::{ApiError, Routes};
use crate::metrics::Metrics;
use crate::runtime::herder::{ConnectorStatus, Herder, State as RunState};

mod tasks;

/// OpenMetrics 1.0, what `prometheus-client` writes (Prometheus reads it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/metrics", &["GET"], get(metrics))
}

async fn metrics(State(herder): State<Arc<dyn Herder>>) -> Response {
    if herder.metrics().is_some_and(|m| !m.enabled()) {
        return ApiError::not_found(
            "Metrics are disabled on this worker (metrics.enable=false in its worker config)",
        )
        .into_response();
    }
    // Reading statuses takes the worker's locks only briefly; no plugin call, no I/O.
    let body = render(herder.as_ref());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
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
    let catalog = herder.plugin_catalog();
    let snapshot = Snapshot {
        metrics: herder.metrics(),
        statuses,
        classes: herder
            .connectors()
            .iter()
            .map(|n| {
                let config = herder.connector_config(n).unwrap_or_default();
                let class = crate::config::get(&config, "connector.class").unwrap_or_default();
                let version = catalog
                    .as_ref()
                    .and_then(|c| c.find(class))
                    .map(|p| p.spec().version.clone())
                    .unwrap_or_default();
                (n.clone(), class.to_string(), version)
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
    /// (connector, connector.class, the plugin's version; empty when unknown)
    classes: Vec<(String, String, String)>,
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

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.encode_worker(&mut enc)?;
        self.encode_rebalance(&mut enc)?;
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

    /// The connectors whose Connector instance runs on this worker.
    fn local_connectors(&self) -> impl Iterator<Item = &ConnectorStatus> {
        self.statuses.iter().filter(|s| s.worker_id.is_none())
    }

    /// `connect-worker-rebalance-metrics`, distributed workers only (Strimzi publishes them
    /// as `kafka_connect_worker_rebalance_<attribute>`, the two strings as labels).
    fn encode_rebalance(&self, enc: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(r) = self.metrics.as_ref().and_then(|m| m.rebalance.snapshot()) else {
            return Ok(());
        };
        let none = Labels::new;
        counter_family(
            enc,
            "kafka_connect_worker_rebalance_completed_rebalances",
            "Rebalances this worker completed.",
            &[(none(), r.completed)],
        )?;
        gauge_family(
            enc,
            "kafka_connect_worker_rebalance_epoch",
            "The group generation of this worker's last completed rebalance (-1: none yet).",
            &[(none(), f64::from(r.epoch))],
        )?;
        gauge_family(
            enc,
            "kafka_connect_worker_rebalance_rebalancing",
            "1 while this worker rebalances, else 0.",
            &[(none(), if r.since.is_some() { 1.0 } else { 0.0 })],
        )?;
        gauge_family(
            enc,
            "kafka_connect_worker_rebalance_connect_protocol",
            "The group's Connect protocol (the connect_protocol label; value 1).",
            &[(vec![("connect_protocol", r.protocol.clone())], 1.0)],
        )?;
        if let Some(leader) = &r.leader {
            gauge_family(
                enc,
                "kafka_connect_worker_rebalance_leader_name",
                "Member id of the group's leader (the leader_name label; value 1).",
                &[(vec![("leader_name", leader.clone())], 1.0)],
            )?;
        }
        // Kafka reports NaN and +Inf before the first rebalance completed; these appear with
        // it instead.
        if let Some(last) = r.last_completed {
            gauge_family(
                enc,
                "kafka_connect_worker_rebalance_rebalance_avg_time_ms",
                "Average time of this worker's rebalances (ms).",
                &[(none(), r.time_ms_sum / r.completed.max(1) as f64)],
            )?;
            gauge_family(
                enc,
                "kafka_connect_worker_rebalance_rebalance_max_time_ms",
                "Longest rebalance of this worker (ms).",
                &[(none(), r.time_ms_max)],
            )?;
            gauge_family(
                enc,
                "kafka_connect_worker_rebalance_time_since_last_rebalance_ms",
                "Time since this worker's last completed rebalance (ms).",
                &[(none(), last.elapsed().as_secs_f64() * 1000.0)],
            )?;
        }
        Ok(())
    }

    /// `connector-metrics` (status, type, class, version) and each task's `status`.
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
        let local = |n: &String| self.local_connectors().any(|s| &s.name == n);
        let classes: Vec<(Labels, f64)> = self
            .classes
            .iter()
            .filter(|(n, class, _)| !class.is_empty() && local(n))
            .map(|(n, class, _)| {
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
        let versions: Vec<(Labels, f64)> = self
            .classes
            .iter()
            .filter(|(n, _, version)| !version.is_empty() && local(n))
            .map(|(n, _, version)| {
                (
                    vec![
                        ("connector", n.clone()),
                        ("connector_version", version.clone()),
                    ],
                    1.0,
                )
            })
            .collect();
        gauge_family(
            enc,
            "kafka_connect_connector_connector_version",
            "The version of the connector's plugin (value 1).",
            &versions,
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

#[cfg(test)]
mod tests;
