//! The worker's metrics: Kafka Connect's metric groups (worker, connector-task, source-task,
//! sink-task, task-error) as plain atomics, read by `GET /metrics` (`rest/metrics.rs`), which
//! publishes them under the names Strimzi's JMX-exporter rules give them (docs/monitoring.md).
//!
//! Design decision: the data path bumps counters **once per batch** (a poll, a `put`, a
//! produced batch), never per record, with relaxed atomic adds on a [`TaskMetrics`] the task
//! was handed when it started: no lock, no map lookup, no label formatting on the hot path.
//! Everything derived — averages, percentages, rates, states — is computed when scraped.
//! Per-record counting happens only on the error path (a failed record is already slow).

pub mod memory;
pub mod plugin;
mod rates;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

pub use rates::Rates;

use crate::spec::PluginKind;

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (e.g. records in flight).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Observations of one quantity (batch sizes, batch times): count, sum and max, so the
/// average and the maximum are derived when scraped. Three relaxed atomic operations each.
#[derive(Debug, Default)]
pub struct Summary {
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Summary {
    pub fn record(&self, v: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }
    /// Records a duration in microseconds.
    pub fn record_time(&self, d: Duration) {
        self.record(d.as_micros().min(u64::MAX as u128) as u64);
    }
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }
    /// The mean of everything recorded; 0 before the first observation.
    pub fn avg(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum() as f64 / n as f64,
        }
    }
}

/// Kafka Connect's `connect-worker-metrics` counters (the gauges come from the worker's
/// connectors when scraped).
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub connector_startup_attempts: Counter,
    pub connector_startup_success: Counter,
    pub connector_startup_failure: Counter,
    pub task_startup_attempts: Counter,
    pub task_startup_success: Counter,
    pub task_startup_failure: Counter,
}

/// Kafka Connect's `connect-worker-rebalance-metrics` of a distributed worker. A standalone
/// worker has none (Kafka's `StandaloneHerder` registers no such group), so they are
/// published only once a group member [`RebalanceMetrics::started`] a rebalance.
#[derive(Debug, Default)]
pub struct RebalanceMetrics(Mutex<Option<Rebalances>>);

/// What a group member knows of its rebalances (updated a few times per rebalance).
#[derive(Debug, Clone, Default)]
pub struct Rebalances {
    /// Kafka's `connect-protocol` (`EAGER`, `COMPATIBLE`, `SESSIONED`).
    pub protocol: String,
    /// Member id of the group's leader in the last completed rebalance.
    pub leader: Option<String>,
    /// The group generation of the last completed rebalance; -1 before the first.
    pub epoch: i32,
    pub completed: u64,
    /// When the rebalance in progress began (`rebalancing`).
    pub since: Option<Instant>,
    pub last_completed: Option<Instant>,
    /// Durations of the completed rebalances, in ms.
    pub time_ms_sum: f64,
    pub time_ms_max: f64,
}

impl RebalanceMetrics {
    /// The worker (re)joins its group: a rebalance is under way from now until
    /// [`RebalanceMetrics::completed`] (a join that is retried keeps the first start).
    pub fn started(&self, protocol: &str) {
        let mut r = self.0.lock();
        let r = r.get_or_insert_with(|| Rebalances {
            epoch: -1,
            ..Rebalances::default()
        });
        r.protocol = protocol.to_string();
        r.since.get_or_insert_with(Instant::now);
    }

    /// The worker runs its new assignment of generation `epoch`, made by `leader`.
    pub fn completed(&self, epoch: i32, leader: &str, protocol: &str) {
        let mut r = self.0.lock();
        let Some(r) = r.as_mut() else { return };
        r.protocol = protocol.to_string();
        let now = Instant::now();
        let took = r
            .since
            .take()
            .map_or(0.0, |s| now.duration_since(s).as_secs_f64() * 1000.0);
        r.completed += 1;
        r.epoch = epoch;
        r.leader = Some(leader.to_string());
        r.last_completed = Some(now);
        r.time_ms_sum += took;
        r.time_ms_max = r.time_ms_max.max(took);
    }

    /// A copy of the current values; `None` on a standalone worker.
    pub fn snapshot(&self) -> Option<Rebalances> {
        self.0.lock().clone()
    }
}

/// Time and calls spent inside one kind of plugin call (`poll`, `put`, SMT `apply`).
#[derive(Debug, Default)]
pub struct PluginCalls {
    pub calls: Counter,
    /// Microseconds spent in the calls.
    pub micros: Counter,
}

impl PluginCalls {
    pub fn record(&self, d: Duration) {
        self.calls.inc();
        self.micros.add(d.as_micros().min(u64::MAX as u128) as u64);
    }
}

/// One task's metrics: Kafka's `connector-task-metrics`, `source-task-metrics` or
/// `sink-task-metrics`, and `task-error-metrics`, plus Sluice's plugin call times. Shared by
/// the task's threads; every field is updated with relaxed atomics.
#[derive(Debug)]
pub struct TaskMetrics {
    /// `metrics.enable`: when false, nothing is counted (the recording methods return at
    /// once), which is what the metrics-off benchmark measures against.
    enabled: bool,
    pub connector: String,
    pub task: u32,
    pub kind: PluginKind,
    pub started: Instant,
    /// Microseconds from `started` to RUNNING, plus one; 0 while the task is starting.
    running_after: AtomicU64,

    // connector-task-metrics
    /// Records per batch (a source poll, a sink `put`).
    pub batch_size: Summary,
    /// Offset commit times (µs), successful commits only.
    pub offset_commit_time: Summary,
    pub offset_commit_success: Counter,
    pub offset_commit_failure: Counter,

    // source-task-metrics
    pub source_record_poll: Counter,
    pub source_record_write: Counter,
    /// Time (µs) of each `poll` that returned records.
    pub poll_batch_time: Summary,
    /// Records handed to the producer and not yet acknowledged.
    pub source_record_active: Gauge,
    /// Every value `source_record_active` took (its average and maximum).
    pub source_record_active_seen: Summary,

    // sink-task-metrics
    pub sink_record_read: Counter,
    pub sink_record_send: Counter,
    /// Time (µs) of each `put`.
    pub put_batch_time: Summary,
    pub partition_count: Gauge,
    pub offset_commit_seq_no: Counter,
    pub offset_commit_completion: Counter,
    pub offset_commit_skip: Counter,
    /// Records read but whose `put` has not returned yet.
    pub sink_record_active: Gauge,
    /// Every value `sink_record_active` took (its average and maximum).
    pub sink_record_active_seen: Summary,
    /// Records behind the partition's high watermark when the task last read from it, per
    /// assigned (topic, partition); updated once per batch.
    pub partition_lag: Mutex<BTreeMap<(String, i32), i64>>,

    // task-error-metrics
    pub record_errors: Counter,
    pub record_failures: Counter,
    pub records_skipped: Counter,
    pub errors_logged: Counter,
    pub dlq_produce_requests: Counter,
    pub dlq_produce_failures: Counter,
    /// Retries of a whole call (`errors.retry.*`); shared with the task's retry policies.
    pub retries: Arc<AtomicU64>,
    /// Milliseconds since the epoch of the last record error; 0: none yet.
    pub last_error_timestamp: AtomicI64,

    // Sluice: time in plugin calls (WASM fuel is not metered: time is what limits a call).
    pub poll_calls: PluginCalls,
    pub put_calls: PluginCalls,
    pub apply_calls: PluginCalls,

    /// Windowed rates, computed when scraped.
    pub rates: Mutex<Rates>,
}

impl TaskMetrics {
    pub fn new(connector: &str, task: u32, kind: PluginKind) -> TaskMetrics {
        TaskMetrics {
            enabled: true,
            connector: connector.to_string(),
            task,
            kind,
            started: Instant::now(),
            running_after: AtomicU64::new(0),
            batch_size: Summary::default(),
            offset_commit_time: Summary::default(),
            offset_commit_success: Counter::default(),
            offset_commit_failure: Counter::default(),
            source_record_poll: Counter::default(),
            source_record_write: Counter::default(),
            poll_batch_time: Summary::default(),
            source_record_active: Gauge::default(),
            source_record_active_seen: Summary::default(),
            sink_record_read: Counter::default(),
            sink_record_send: Counter::default(),
            put_batch_time: Summary::default(),
            partition_count: Gauge::default(),
            offset_commit_seq_no: Counter::default(),
            offset_commit_completion: Counter::default(),
            offset_commit_skip: Counter::default(),
            sink_record_active: Gauge::default(),
            sink_record_active_seen: Summary::default(),
            partition_lag: Mutex::default(),
            record_errors: Counter::default(),
            record_failures: Counter::default(),
            records_skipped: Counter::default(),
            errors_logged: Counter::default(),
            dlq_produce_requests: Counter::default(),
            dlq_produce_failures: Counter::default(),
            retries: Arc::default(),
            last_error_timestamp: AtomicI64::new(0),
            poll_calls: PluginCalls::default(),
            put_calls: PluginCalls::default(),
            apply_calls: PluginCalls::default(),
            rates: Mutex::new(Rates::default()),
        }
    }

    /// A task's metrics that belong to no worker (tests, tools).
    pub fn detached(kind: PluginKind) -> Arc<TaskMetrics> {
        Arc::new(TaskMetrics::new("", 0, kind))
    }

    /// Whether this task counts (`metrics.enable`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// One call of the source plugin's `poll`, empty or not.
    pub fn poll_called(&self, took: Duration) {
        if self.enabled {
            self.poll_calls.record(took);
        }
    }

    /// One run of the SMT chain over a batch.
    pub fn applied(&self, took: Duration) {
        if self.enabled {
            self.apply_calls.record(took);
        }
    }

    /// Records a source task handed to the producer (after SMTs).
    pub fn source_written(&self, records: u64) {
        if self.enabled {
            self.source_record_write.add(records);
        }
    }

    /// Records a sink task read from Kafka (before converters and SMTs).
    pub fn sink_read(&self, records: u64) {
        if self.enabled {
            self.sink_record_read.add(records);
        }
    }

    /// Records a sink task hands to `put` (after converters and SMTs).
    pub fn sink_sent(&self, records: u64) {
        if self.enabled {
            self.sink_record_send.add(records);
        }
    }

    /// Partitions assigned to a sink task.
    pub fn set_partition_count(&self, n: usize) {
        if self.enabled {
            self.partition_count.set(n as i64);
        }
    }

    /// One source poll that returned `records` (> 0) records in `took` (the call itself is
    /// counted in `poll_calls`, empty or not).
    pub fn source_polled(&self, records: usize, took: Duration) {
        if !self.enabled {
            return;
        }
        self.source_record_poll.add(records as u64);
        self.batch_size.record(records as u64);
        self.poll_batch_time.record_time(took);
    }

    /// Records in flight to Kafka (produced, not yet acknowledged).
    pub fn source_active(&self, n: usize) {
        if !self.enabled {
            return;
        }
        self.source_record_active.set(n as i64);
        self.source_record_active_seen.record(n as u64);
    }

    /// Records read whose `put` has not returned yet.
    pub fn sink_active(&self, n: usize) {
        if !self.enabled {
            return;
        }
        self.sink_record_active.set(n as i64);
        self.sink_record_active_seen.record(n as u64);
    }

    /// The task reached RUNNING (its plugin started and it begins its loop).
    pub fn mark_running(&self) {
        let after = self.started.elapsed().as_micros().min(u64::MAX as u128 - 1) as u64;
        let _ =
            self.running_after
                .compare_exchange(0, after + 1, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Kafka's `running-ratio`: the fraction of the task's life (as of `now`) spent running.
    /// A paused Sluice task is stopped (its metrics go with it), so the rest of its life was
    /// spent starting, and `pause-ratio` is 0.
    pub fn running_ratio(&self, now: Instant) -> f64 {
        let life = now.saturating_duration_since(self.started).as_micros() as f64;
        match self.running_after.load(Ordering::Relaxed) {
            0 => 0.0,
            _ if life == 0.0 => 1.0,
            after => ((life - (after - 1) as f64) / life).clamp(0.0, 1.0),
        }
    }

    /// One sink `put` of `records` records that took `took`.
    pub fn sink_put(&self, records: usize, took: Duration) {
        if !self.enabled {
            return;
        }
        self.batch_size.record(records as u64);
        self.put_batch_time.record_time(took);
        self.put_calls.record(took);
    }

    /// The lag of the partitions a batch read from (one entry per partition).
    pub fn set_lags<'a>(&self, lags: impl IntoIterator<Item = (&'a str, i32, i64)>) {
        if !self.enabled {
            return;
        }
        let mut map = self.partition_lag.lock();
        for (topic, partition, lag) in lags {
            match map
                .iter_mut()
                .find(|((t, p), _)| t == topic && *p == partition)
            {
                Some((_, v)) => *v = lag,
                None => {
                    map.insert((topic.to_string(), partition), lag);
                }
            }
        }
    }

    /// Forgets the lag of partitions no longer assigned.
    pub fn retain_lags(&self, assigned: impl Fn(&(String, i32)) -> bool) {
        self.partition_lag.lock().retain(|tp, _| assigned(tp));
    }

    /// `sink-record-lag-max`: the largest lag of any assigned partition.
    pub fn lag_max(&self) -> i64 {
        self.partition_lag
            .lock()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }

    /// One record failed a stage (converter, SMT, `put`).
    pub fn record_error(&self) {
        if !self.enabled {
            return;
        }
        self.record_errors.inc();
        self.record_failures.inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.last_error_timestamp.store(now, Ordering::Relaxed);
    }

    /// An offset commit attempt finished: `Some(took)` when it succeeded.
    pub fn offset_commit(&self, result: Option<Duration>) {
        if !self.enabled {
            return;
        }
        match result {
            Some(took) => {
                self.offset_commit_success.inc();
                self.offset_commit_time.record_time(took);
            }
            None => self.offset_commit_failure.inc(),
        }
    }

    /// A sink offset commit begins: Kafka's `commitSeqno`, numbering every attempt.
    pub fn sink_commit_started(&self) {
        if !self.enabled {
            return;
        }
        self.offset_commit_seq_no.inc();
    }

    /// A sink offset commit ended: `Some(took)` when it completed (Kafka's
    /// `offset-commit-completion`), `None` when `pre_commit` or the consumer commit failed.
    pub fn sink_commit_finished(&self, result: Option<Duration>) {
        if result.is_some() && self.enabled {
            self.offset_commit_completion.inc();
        }
        self.offset_commit(result);
    }

    /// Percent of offset commits that succeeded (failed), over the task's life.
    pub fn offset_commit_percentages(&self) -> (f64, f64) {
        let ok = self.offset_commit_success.get() as f64;
        let failed = self.offset_commit_failure.get() as f64;
        if ok + failed == 0.0 {
            return (0.0, 0.0);
        }
        (ok / (ok + failed), failed / (ok + failed))
    }
}

/// All metrics of one worker: its counters and the metrics of each task it runs.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `metrics.enable=false` (the default, `Metrics::default()`, counts).
    off: bool,
    pub worker: WorkerMetrics,
    pub rebalance: RebalanceMetrics,
    tasks: Mutex<BTreeMap<(String, u32), Arc<TaskMetrics>>>,
}

impl Metrics {
    /// A worker's metrics; `enabled: false` (`metrics.enable=false`) counts nothing.
    pub fn new(enabled: bool) -> Metrics {
        Metrics {
            off: !enabled,
            ..Metrics::default()
        }
    }

    /// Whether tasks count and `GET /metrics` answers (`metrics.enable`).
    pub fn enabled(&self) -> bool {
        !self.off
    }

    /// Fresh metrics for a task starting now (Kafka Connect likewise recreates a task's metric
    /// groups when the task starts), replacing the previous run's.
    pub fn register_task(&self, connector: &str, task: u32, kind: PluginKind) -> Arc<TaskMetrics> {
        let mut m = TaskMetrics::new(connector, task, kind);
        m.enabled = !self.off;
        let m = Arc::new(m);
        self.tasks
            .lock()
            .insert((connector.to_string(), task), m.clone());
        m
    }

    /// Forgets the tasks of a connector that stopped (their series disappear, as Kafka
    /// Connect removes a stopped task's metric groups).
    pub fn remove_connector(&self, connector: &str) {
        self.tasks.lock().retain(|(c, _), _| c != connector);
    }

    /// Forgets one task that stopped while its connector's other tasks run on.
    pub fn remove_task(&self, connector: &str, task: u32) {
        self.tasks.lock().remove(&(connector.to_string(), task));
    }

    /// Every registered task's metrics, by connector then task id.
    pub fn tasks(&self) -> Vec<Arc<TaskMetrics>> {
        self.tasks.lock().values().cloned().collect()
    }

    /// Runs one start of a task: counts the attempt, a success once `body` reports RUNNING
    /// through the callback it is given, a failure when it ends with an error before that.
    pub fn task_startup<T, E>(
        &self,
        mark_running: &dyn Fn(),
        body: impl FnOnce(&dyn Fn()) -> Result<T, E>,
    ) -> Result<T, E> {
        let w = &self.worker;
        w.task_startup_attempts.inc();
        let started = std::cell::Cell::new(false);
        let mark = || {
            if !started.replace(true) {
                w.task_startup_success.inc();
            }
            mark_running();
        };
        let result = body(&mark);
        if result.is_err() && !started.get() {
            w.task_startup_failure.inc();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_average_and_keep_the_max() {
        let s = Summary::default();
        assert_eq!(s.avg(), 0.0);
        for v in [10, 30, 20] {
            s.record(v);
        }
        assert_eq!((s.count(), s.sum(), s.max(), s.avg()), (3, 60, 30, 20.0));
    }

    #[test]
    fn task_startups_count_attempts_successes_and_failures() {
        let m = Metrics::default();
        let ok: Result<(), ()> = m.task_startup(&|| {}, |mark| {
            mark();
            mark();
            Ok(())
        });
        assert!(ok.is_ok());
        // Fails after it was running: a failure of the task, not of its start.
        let _ = m.task_startup(&|| {}, |mark| {
            mark();
            Err::<(), _>("later")
        });
        let _ = m.task_startup(&|| {}, |_| Err::<(), _>("open failed"));
        let w = &m.worker;
        assert_eq!(
            (
                w.task_startup_attempts.get(),
                w.task_startup_success.get(),
                w.task_startup_failure.get()
            ),
            (3, 2, 1)
        );
    }

    #[test]
    fn tasks_are_replaced_on_restart_and_removed_with_their_connector() {
        let m = Metrics::default();
        let first = m.register_task("a", 0, PluginKind::Source);
        first.source_polled(5, Duration::from_millis(1));
        let again = m.register_task("a", 0, PluginKind::Source);
        m.register_task("b", 0, PluginKind::Sink);
        assert_eq!(m.tasks().len(), 2);
        assert_eq!(again.source_record_poll.get(), 0);
        let sink = m
            .tasks()
            .into_iter()
            .find(|t| t.connector == "b")
            .expect("b");
        sink.set_lags([("t", 0, 5), ("t", 1, 9)]);
        sink.set_lags([("t", 1, 2)]);
        assert_eq!(sink.lag_max(), 5);
        sink.retain_lags(|(_, p)| *p == 1);
        assert_eq!(sink.lag_max(), 2);
        m.remove_connector("a");
        let left: Vec<String> = m.tasks().iter().map(|t| t.connector.clone()).collect();
        assert_eq!(left, vec!["b".to_string()]);
    }
}
