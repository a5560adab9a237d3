//! The sink task's two stages and the batches between them: the consume stage (the task's
//! thread) collects, converts and transforms a batch, the put stage (its own thread) `put`s
//! it, and the consume stage finishes it (rejected records, dead letter queue, offsets).
//!
//! Design decision: a sink task is two pipelined stages so one task can use two cores: the
//! task's thread consumes, converts and transforms batch N+1 while the put thread lowers batch
//! N into the component and runs the plugin's `put`. Results come back in order, and only then
//! does the consume stage report rejected records and advance the offsets, so "offsets
//! advance only after `put` returned" holds per batch, in order. The plugin stays behind the
//! plugin's mutex, so the rebalance callback and commits never run concurrently with a `put`.

use std::collections::VecDeque;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

use super::books::SinkShared;
use super::convert::{original, to_connect};
use super::rebalance::SinkContext;
use super::MAX_BATCH;
use crate::backoff::{Backoff, WarnThrottle};
use crate::data::ConnectRecord;
use crate::kafka::fetch::{Fetched, Wake};
use crate::kafka::watermarks::cached_high_watermark;
use crate::metrics::TaskMetrics;
use crate::runtime::active_topics::TaskTopics;
use crate::runtime::connector::{ConverterClasses, Converters, TaskControl};
use crate::runtime::errors::{ConvertFailure, ErrorReporter, Failure, Stage};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::task::{RecordFailure, TaskError};
use crate::runtime::transforms::{ChainOutcome, TransformChain};

/// How long one poll waits for the first record of a batch.
const FIRST_RECORD_WAIT: Duration = Duration::from_millis(100);

/// The per-task pieces between the consumer and `put`.
pub(super) struct Stages {
    pub(super) converters: Converters,
    pub(super) classes: ConverterClasses,
    pub(super) chain: TransformChain,
    pub(super) errors: ErrorReporter,
    pub(super) metrics: Arc<TaskMetrics>,
    /// `errors.retry.*`, for converters failing transiently (an unreachable registry).
    pub(super) retry: RetryPolicy,
}

/// Batches handed to the put stage and not finished yet: one being `put`, one waiting.
pub(super) const MAX_IN_FLIGHT: usize = 2;

/// A batch between the consume stage and the put stage. The consumed messages stay here, on
/// the consumer's thread, for the dead letter queue and the offsets once `put` returned.
pub(super) struct InFlight<'c> {
    msgs: Vec<Fetched<'c>>,
    /// Index in `msgs` of each record handed to `put`.
    record_idx: Vec<usize>,
}

/// What the put stage reports for one batch.
pub(super) enum PutReport {
    /// `put` returned; these are the records the sink rejected.
    Put(Vec<RecordFailure>),
    /// The task was stopped while `put` was being retried.
    Stopped,
    /// `put` failed for good (the task's failure trace).
    Failed(String),
}

/// The put stage (its own thread): `put`s each batch in order and reports the result, until
/// the consume stage hangs up or a `put` fails for good.
pub(super) fn put_stage(
    shared: &SinkShared,
    jobs: &mpsc::Receiver<Vec<ConnectRecord>>,
    done: &mpsc::SyncSender<PutReport>,
    control: &TaskControl,
    metrics: &TaskMetrics,
) {
    for records in jobs {
        let result = if records.is_empty() {
            PutReport::Put(Vec::new()) // everything was dropped or tolerated: nothing to put
        } else {
            put(shared, records, control, metrics)
        };
        let give_up = !matches!(result, PutReport::Put(_));
        if done.send(result).is_err() || give_up {
            break;
        }
    }
}

/// The consume stage's state (the task's thread): the consumer, the batches handed to the put
/// stage and the channels to it.
pub(super) struct ConsumeStage<'c, 's> {
    pub(super) consumer: &'c BaseConsumer<SinkContext>,
    /// Signalled when one of the consumer's queues becomes non-empty.
    pub(super) wake: &'s Wake,
    pub(super) shared: &'s SinkShared,
    pub(super) control: &'s TaskControl,
    pub(super) stages: &'s mut Stages,
    pub(super) in_flight: VecDeque<InFlight<'c>>,
    /// `None` once the consume stage has hung up on the put stage.
    pub(super) jobs: Option<mpsc::SyncSender<Vec<ConnectRecord>>>,
    pub(super) done: mpsc::Receiver<PutReport>,
    pub(super) poll_throttle: WarnThrottle,
    pub(super) active_topics: TaskTopics,
}

/// Why the consume stage stops before the task was asked to stop.
pub(super) enum Halt {
    /// The task fails with this trace.
    Failed(String),
    /// No failure of its own: stopped while a `put` was being retried, or the put stage gave
    /// up (its result, read when draining, says why).
    Quiet,
}

impl ConsumeStage<'_, '_> {
    /// Collects, converts and transforms one batch and hands it to the put stage, then finishes
    /// the batches whose `put` has returned.
    pub(super) fn step(&mut self) -> Result<(), Halt> {
        let batch = collect(self.consumer, self.wake, &mut self.poll_throttle);
        for msg in &batch {
            self.active_topics.saw(msg.topic());
        }
        if !batch.is_empty() {
            self.stages.metrics.sink_read(batch.len() as u64);
            if self.stages.metrics.enabled() {
                record_lag(self.consumer, &batch, &self.stages.metrics);
            }
            let (records, record_idx) =
                prepare(&batch, self.stages, self.control).map_err(Halt::Failed)?;
            self.stages.metrics.sink_sent(records.len() as u64);
            // At most MAX_IN_FLIGHT batches between here and the put stage: wait for the
            // oldest when full, so a slow sink slows consumption instead of piling up.
            self.finish_down_to(MAX_IN_FLIGHT - 1, true)?;
            let jobs = self.jobs.as_ref().ok_or(Halt::Quiet)?;
            jobs.send(records).map_err(|_| Halt::Quiet)?;
            self.in_flight.push_back(InFlight {
                msgs: batch,
                record_idx,
            });
        }
        // Batches whose put has returned, without waiting for the others.
        let finished = self.finish_down_to(0, false);
        let active: usize = self.in_flight.iter().map(|f| f.msgs.len()).sum();
        self.stages.metrics.sink_active(active);
        finished
    }

    /// Finishes in-flight batches, oldest first, until at most `keep` remain: waiting for
    /// their `put` if `wait`, else only those whose `put` already returned. `Halt::Quiet`: the
    /// task was stopped while a `put` was being retried (that batch and later ones do not
    /// count).
    pub(super) fn finish_down_to(&mut self, keep: usize, wait: bool) -> Result<(), Halt> {
        while self.in_flight.len() > keep {
            let result = if wait {
                self.done
                    .recv()
                    .map_err(|_| Halt::Failed("the put thread exited unexpectedly".to_string()))?
            } else {
                match self.done.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => {
                        return Err(Halt::Failed(
                            "the put thread exited unexpectedly".to_string(),
                        ))
                    }
                }
            };
            let flight = self
                .in_flight
                .pop_front()
                .ok_or_else(|| Halt::Failed("a put result arrived for no batch".to_string()))?;
            let failures = match result {
                PutReport::Put(failures) => failures,
                PutReport::Stopped => return Err(Halt::Quiet),
                PutReport::Failed(trace) => return Err(Halt::Failed(trace)),
            };
            finish(self.shared, &flight, failures, self.stages, self.control)
                .map_err(Halt::Failed)?;
        }
        Ok(())
    }
}

/// Up to [`MAX_BATCH`] messages; waits at most [`FIRST_RECORD_WAIT`] when none is ready. The
/// messages are kept (not copied) until the batch is done, for the dead letter queue.
///
/// Polling the consumer queue serves rebalances (which split the assigned partitions' fetch
/// queues, see [`crate::kafka::fetch`]) and errors; the records come from the split queues,
/// in batches. A partition whose queue could not be split is read through `poll`.
pub(super) fn collect<'c>(
    consumer: &'c BaseConsumer<SinkContext>,
    wake: &Wake,
    throttle: &mut WarnThrottle,
) -> Vec<Fetched<'c>> {
    let mut out = Vec::with_capacity(MAX_BATCH);
    let mut warn = |e: &dyn std::fmt::Display| {
        // Broker unreachable, transient fetch errors: librdkafka retries by itself.
        if let Some(n) = throttle.allow() {
            tracing::warn!(suppressed = n, "consumer poll: {e}");
        }
    };
    for waited in [false, true] {
        let mut failed = false;
        while out.len() < MAX_BATCH {
            match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(msg)) => out.push(Fetched::polled(msg)),
                Some(Err(e)) => {
                    warn(&e);
                    failed = true;
                    break;
                }
            }
        }
        consumer
            .context()
            .fetch
            .lock()
            .read(consumer, &mut out, MAX_BATCH, &mut |e| warn(&e));
        if !out.is_empty() || waited {
            break;
        }
        if failed {
            // Errors return at once; do not spin while the broker is unreachable.
            std::thread::sleep(FIRST_RECORD_WAIT);
        } else {
            wake.wait(FIRST_RECORD_WAIT);
        }
    }
    out
}

/// Each partition's lag after this batch: its cached high watermark minus the next offset to
/// read (once per partition run of the batch, no broker request).
fn record_lag(consumer: &BaseConsumer<SinkContext>, batch: &[Fetched<'_>], metrics: &TaskMetrics) {
    let mut runs: Vec<(&str, i32, i64)> = Vec::new();
    for msg in batch {
        let (t, p, o) = (msg.topic(), msg.partition(), msg.offset());
        match runs.last_mut() {
            Some((rt, rp, ro)) if *rt == t && *rp == p => *ro = (*ro).max(o),
            _ => runs.push((t, p, o)),
        }
    }
    metrics.set_lags(runs.into_iter().filter_map(|(t, p, o)| {
        cached_high_watermark(consumer, t, p).map(|high| (t, p, (high - o - 1).max(0)))
    }));
}

/// Converts and transforms one batch; records failing either go through `errors.*`.
/// Returns the records for `put` and, for each, its index in `msgs`.
fn prepare(
    msgs: &[Fetched<'_>],
    stages: &mut Stages,
    control: &TaskControl,
) -> Result<(Vec<ConnectRecord>, Vec<usize>), String> {
    let mut converted = Vec::with_capacity(msgs.len());
    let mut converted_idx = Vec::with_capacity(msgs.len());
    for (i, msg) in msgs.iter().enumerate() {
        match to_connect(msg, &stages.converters, &stages.classes, &stages.retry) {
            Ok(r) => {
                converted.push(r);
                converted_idx.push(i);
            }
            Err(ConvertFailure::Record(f)) => stages
                .errors
                .report(&f, Some(&original(msg)), &control.stop)
                .map_err(|e| e.to_string())?,
            // Nothing of this batch is committed: the task's restart reads it again.
            Err(ConvertFailure::Task(trace)) => return Err(trace),
        }
    }
    if stages.chain.is_empty() {
        return Ok((converted, converted_idx));
    }
    let apply_started = Instant::now();
    let applied = stages.chain.apply(converted);
    stages.metrics.applied(apply_started.elapsed());
    let outcomes = applied.map_err(|e| e.to_string())?;
    let mut kept = Vec::with_capacity(outcomes.len());
    let mut kept_idx = Vec::with_capacity(outcomes.len());
    for (o, i) in outcomes.into_iter().zip(converted_idx) {
        match o {
            ChainOutcome::Keep(r) => {
                kept.push(r);
                kept_idx.push(i);
            }
            ChainOutcome::Drop => {}
            ChainOutcome::Fail { class, message } => {
                let f = Failure {
                    stage: Stage::Transformation,
                    class,
                    message,
                };
                stages
                    .errors
                    .report(&f, Some(&original(&msgs[i])), &control.stop)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok((kept, kept_idx))
}

/// After `put` returned for a batch: records the sink rejected go through `errors.*`, the
/// dead letter queue is flushed, then every message of the batch (kept, dropped or tolerated)
/// counts as processed.
fn finish(
    shared: &SinkShared,
    flight: &InFlight<'_>,
    failures: Vec<RecordFailure>,
    stages: &mut Stages,
    control: &TaskControl,
) -> Result<(), String> {
    let msgs = &flight.msgs;
    for f in failures {
        let Some(&i) = flight.record_idx.get(f.index as usize) else {
            return Err(format!(
                "the sink reported a failure for record #{} of a batch of {}",
                f.index,
                flight.record_idx.len()
            ));
        };
        let failure = Failure {
            stage: Stage::TaskPut,
            class: "org.apache.kafka.connect.sink.SinkTask".into(),
            message: f.message,
        };
        stages
            .errors
            .report(&failure, Some(&original(&msgs[i])), &control.stop)
            .map_err(|e| e.to_string())?;
    }
    // Tolerated records must be in the DLQ before their offsets can be committed.
    stages
        .errors
        .flush(&control.stop)
        .map_err(|e| e.to_string())?;
    shared.books.lock().advance_batch(msgs);
    Ok(())
}

/// `put`s one batch, retrying it on `Retriable`.
fn put(
    shared: &SinkShared,
    batch: Vec<ConnectRecord>,
    control: &TaskControl,
    metrics: &TaskMetrics,
) -> PutReport {
    let count = batch.len();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    // On a retriable failure the task hands the same batch back in `records` (Kafka Connect
    // also redelivers the same batch), so no copy of every batch is kept just in case.
    let mut records = batch;
    loop {
        let result = {
            let mut task = shared.task.lock();
            let started = Instant::now();
            let result = task.put(&mut records);
            metrics.sink_put(count, started.elapsed());
            result
        };
        match result {
            Ok(failures) => return PutReport::Put(failures),
            Err(TaskError::Retriable(m)) => {
                tracing::warn!(records = count, "put failed, retrying the same batch: {m}");
                if records.len() != count {
                    return PutReport::Failed(format!(
                        "put failed ({m}) and the sink task kept {} of the {count} records it must hand back for the retry",
                        records.len()
                    ));
                }
                // TODO(next): pause the assignment and keep polling so a retry loop longer
                // than max.poll.interval.ms does not cost the group membership.
                if !backoff.sleep(&control.stop) {
                    return PutReport::Stopped;
                }
            }
            Err(e) => return PutReport::Failed(format!("put failed: {e}")),
        }
    }
}
