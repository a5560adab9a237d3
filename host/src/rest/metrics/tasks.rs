//! The per-task series: Kafka Connect's connector-task, source-task, sink-task and
//! task-error metrics as tables of (name, help, which tasks, value), and Sluice's own (plugin
//! call times, sink lag per partition, plugin memory).

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;

use super::{counter_family, gauge_family, Labels};
use crate::metrics::TaskMetrics;
use crate::spec::PluginKind;

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
        |t| t.source_record_active_seen.max() as f64,
    ),
    (
        "kafka_connect_source_task_source_record_active_count_avg",
        "Average of the records produced and not yet acknowledged, sampled once per batch.",
        Applies::Source,
        |t| t.source_record_active_seen.avg(),
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
    (
        "kafka_connect_sink_task_sink_record_active_count_max",
        "Most records read at once whose put had not returned.",
        Applies::Sink,
        |t| t.sink_record_active_seen.max() as f64,
    ),
    (
        "kafka_connect_sink_task_sink_record_active_count_avg",
        "Average of the records read whose put had not returned, sampled once per loop step.",
        Applies::Sink,
        |t| t.sink_record_active_seen.avg(),
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

/// The metrics plugins define (`metrics` WIT import, KIP-877): one family per name, with a
/// row per task defining it. A name one plugin uses as a counter and another as a gauge is
/// published as what it is first seen as (by connector, then task); the other rows are left
/// out rather than breaking the exposition.
fn encode_plugin_defined(enc: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
    use crate::metrics::plugin::Value;
    let mut tasks = crate::metrics::plugin::all();
    tasks.sort_by(|a, b| (&a.connector, a.task).cmp(&(&b.connector, b.task)));
    let mut families: std::collections::BTreeMap<String, Vec<(Labels, Value)>> = Default::default();
    for t in &tasks {
        for (name, value) in t.values() {
            let labels = vec![
                ("connector", t.connector.clone()),
                ("task", t.task.to_string()),
            ];
            families.entry(name).or_default().push((labels, value));
        }
    }
    for (name, rows) in families {
        let full = format!("kafka_connect_plugins_{name}");
        let help = "Defined by the task's plugin or transforms (the metrics WIT import).";
        match rows[0].1 {
            Value::Counter(_) => {
                let rows: Vec<(Labels, u64)> = rows
                    .into_iter()
                    .filter_map(|(l, v)| match v {
                        Value::Counter(n) => Some((l, n)),
                        Value::Gauge(_) => None,
                    })
                    .collect();
                counter_family(enc, &full, help, &rows)?;
            }
            Value::Gauge(_) => {
                let rows: Vec<(Labels, f64)> = rows
                    .into_iter()
                    .filter_map(|(l, v)| match v {
                        Value::Gauge(g) => Some((l, g)),
                        Value::Counter(_) => None,
                    })
                    .collect();
                gauge_family(enc, &full, help, &rows)?;
            }
        }
    }
    Ok(())
}

fn task_labels(t: &TaskMetrics) -> Labels {
    vec![
        ("connector", t.connector.clone()),
        ("task", t.task.to_string()),
    ]
}

/// The per-task groups: connector-task, source-task, sink-task and task-error metrics, and
/// Sluice's plugin call times.
pub(super) fn encode_tasks(
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
    // connector-task-metrics' running-ratio and pause-ratio (a paused task is stopped here).
    let running: Vec<(Labels, f64)> = tasks
        .iter()
        .map(|t| (task_labels(t), t.running_ratio(now)))
        .collect();
    gauge_family(
        enc,
        "kafka_connect_connector_task_running_ratio",
        "Fraction (0..1) of the task's life it has spent running.",
        &running,
    )?;
    let paused: Vec<(Labels, f64)> = tasks.iter().map(|t| (task_labels(t), 0.0)).collect();
    gauge_family(
        enc,
        "kafka_connect_connector_task_pause_ratio",
        "Fraction (0..1) of the task's life spent paused (always 0: pausing stops a task).",
        &paused,
    )?;
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
    encode_plugin_defined(enc)?;
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
