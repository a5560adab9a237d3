//! The source task loop: poll the plugin, convert, produce, commit source offsets after acks.
//!
//! Design decision: the producer is rdkafka's `BaseProducer`, polled on this task's own
//! thread, so delivery callbacks run here too and feed the [`OffsetTracker`] without
//! cross-thread hand-offs. Offsets are committed every `offset.flush.interval.ms` (and on
//! stop) only up to the last record that was acked together with every earlier record of its
//! source partition. A full producer queue means back-pressure: poll and retry, never drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use super::connector::{Converters, Pipeline, TaskControl, TaskFailure};
use super::errors::{ConvertFailure, ErrorReporter, Failure, Stage};
use super::plugin::TaskId;
use super::retry::RetryPolicy;
use super::stall::AckWatch;
use super::task::{SourceTask, TaskError};
use super::transforms::{ChainOutcome, TransformChain};
use crate::backoff::{Backoff, WarnThrottle};
use crate::config::{Config, ErrorSettings};
use crate::data::{ConnectRecord, OffsetMap, SourceBatch, SourcePosition, SourceRecord};
use crate::kafka::{KafkaSettings, TopicCreator, TopicSettings};
use crate::metrics::TaskMetrics;
use crate::offsets::{OffsetTracker, SourceOffsetStore};

/// Upper bound on records asked of the plugin per poll.
pub const MAX_POLL_RECORDS: u32 = 2000;

/// Everything a source task loop needs besides the plugin instance.
pub struct SourceTaskSetup {
    pub id: TaskId,
    /// The connector's config (for `producer.override.*` and `topic.creation.*`).
    pub connector_config: Config,
    pub converters: Converters,
    pub kafka: KafkaSettings,
    pub store: Arc<dyn SourceOffsetStore>,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    /// The SMT chain and converter class names (from the worker).
    pub pipeline: Pipeline,
    /// Counted once per poll and per produced batch.
    pub metrics: Arc<TaskMetrics>,
}

/// Delivery reports land here (on the task thread, inside `producer.poll`).
#[derive(Default)]
struct DeliveryContext {
    reports: Mutex<Vec<(u64, Option<String>)>>,
    throttle: Mutex<WarnThrottle>,
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        // Transport errors while the broker is down repeat constantly; librdkafka reconnects.
        if let Some(n) = self.throttle.lock().allow() {
            tracing::warn!(suppressed = n, "producer: {error}: {reason}");
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let err = result.as_ref().err().map(|(e, _)| e.to_string());
        self.reports.lock().push((seq as u64, err));
    }
}

/// A record converted to bytes, ready for the producer (the shape a DLQ would also need).
struct Produced<'a> {
    topic: &'a str,
    partition: Option<i32>,
    timestamp: Option<i64>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Converts one source record. `Err` names the stage, topic and converter message; the
/// caller applies `errors.*` (tolerance=all: the record is skipped and logged), or fails the
/// task when a transient failure (an unreachable registry) outlasted `retry`.
fn convert<'a>(
    r: &'a ConnectRecord,
    c: &Converters,
    classes: &super::connector::ConverterClasses,
    retry: &RetryPolicy,
) -> Result<Produced<'a>, ConvertFailure> {
    let topic = r.topic.as_str();
    let mut headers = Vec::with_capacity(r.headers.len());
    for h in &r.headers {
        let bytes = retry
            .run_conversion(|| c.header.from_connect_header(topic, &h.key, &h.value))
            .map_err(|e| {
                ConvertFailure::new(
                    Stage::HeaderConverter,
                    &classes.header,
                    &e,
                    format!(
                        "converting header {:?} of a record for topic {topic:?} failed: {e}",
                        h.key
                    ),
                )
            })?;
        headers.push((h.key.clone(), bytes));
    }
    let key = retry
        .run_conversion(|| c.key.from_connect(topic, &r.key))
        .map_err(|e| {
            ConvertFailure::new(
                Stage::KeyConverter,
                &classes.key,
                &e,
                format!("converting the key of a record for topic {topic:?} failed: {e}"),
            )
        })?;
    let value = retry
        .run_conversion(|| c.value.from_connect(topic, &r.value))
        .map_err(|e| {
            ConvertFailure::new(
                Stage::ValueConverter,
                &classes.value,
                &e,
                format!("converting the value of a record for topic {topic:?} failed: {e}"),
            )
        })?;
    Ok(Produced {
        topic,
        partition: r.kafka_partition,
        timestamp: r.timestamp,
        key,
        value,
        headers,
    })
}

/// What the poll stage hands to the produce stage.
enum PollStageOutput {
    /// One poll's records after the SMT chain, with the position each was read from.
    Batch {
        positions: Vec<(Arc<OffsetMap>, OffsetMap)>,
        outcomes: Vec<ChainOutcome>,
    },
    /// One poll's records, not yet converted to host records (no SMTs: the produce stage
    /// converts them, which takes that work off the poll thread, the busier of the two).
    Unconverted(SourceBatch),
    /// The plugin or the chain failed; the task fails with this trace.
    Failed(String),
}

/// Batches polled ahead of the produce stage. Two keep both stages busy (one being produced,
/// one ready) while bounding what a stop or failure leaves unproduced to ~2 polls' records.
const POLLED_AHEAD: usize = 2;

/// How long each metadata request of [`get_producer_id_now`] waits.
const METADATA_WAIT: Duration = Duration::from_secs(1);

/// Has the idempotent producer get its producer id now rather than up to a second later.
///
/// Design decision: an idempotent producer sends nothing before it has a producer id, and
/// librdkafka asks for one only from a broker that is up, retrying on a fixed 500 ms timer
/// (`rd_kafka_idemp_pid_timer_restart`). At start the one connected broker is the bootstrap
/// connection, which librdkafka drops as soon as metadata names the real brokers, so every
/// source's first records waited 0.5–1 s (its `eos` debug log: "No brokers available for
/// Idempotent producer", twice). Every metadata response runs that state machine again, so
/// two metadata requests — the first may be answered by the bootstrap connection, the second
/// then comes from a named broker — get the id requested at once. Failures are ignored: an
/// unreachable broker only means librdkafka's own retries, as before.
fn get_producer_id_now(producer: &BaseProducer<DeliveryContext>) {
    for _ in 0..2 {
        if let Err(e) = producer.client().fetch_metadata(None, METADATA_WAIT) {
            tracing::debug!("metadata at start: {e}");
            return;
        }
    }
}

/// How often the produce stage serves delivery reports and offset commits while it waits for
/// the poll stage (an idle source still gets its acks and commits).
const PRODUCE_TICK: Duration = Duration::from_millis(20);

/// Runs the task until stopped (`Ok`) or it fails.
///
/// Design decision: a source task is two pipelined stages on two threads, so one task can use
/// two cores. The *poll stage* (its own thread) owns the plugin instance and the SMT chain:
/// `poll`, lifting the records out of the component, transforms. The *produce stage* (the
/// task's thread) owns everything Kafka: converters, the producer and its delivery reports,
/// the offset tracker and commits. They are joined by a bounded channel of
/// [`POLLED_AHEAD`] batches, so back-pressure from the producer (queue full) stops polling.
/// Offsets are still submitted to the tracker by the produce stage in poll order, so the
/// commit rule (acked, and every earlier record of its source partition acked) is unchanged;
/// a batch polled but not produced when the task stops is simply never committed
/// (at-least-once: the restarted task reads it again).
pub fn run(
    setup: SourceTaskSetup,
    task: Box<dyn SourceTask>,
    control: TaskControl,
    mark_running: &dyn Fn(),
) -> Result<(), TaskFailure> {
    let SourceTaskSetup {
        id,
        connector_config,
        converters,
        kafka,
        store,
        flush_interval,
        shutdown_timeout,
        pipeline,
        metrics,
    } = setup;
    let settings = pipeline.errors.clone();
    // The poll stage stops on the task's stop flag or when the produce stage gives up; this
    // flag covers both, so its backoff sleeps and SMT retries end early either way.
    let poll_stop = Arc::new(AtomicBool::new(false));
    let chain = TransformChain::open(
        &pipeline.chain,
        &id,
        RetryPolicy::new(&settings, poll_stop.clone()).counting(metrics.retries.clone()),
    )
    .map_err(TaskFailure::Setup)?;
    // Source tasks have no dead letter queue (as in Kafka Connect): tolerated failures are
    // skipped and logged; their offsets still count as processed.
    let errors = ErrorReporter::new(
        ErrorSettings {
            dlq_topic: None,
            ..settings
        },
        id.clone(),
        &kafka,
        &connector_config,
    )
    .map_err(|e| TaskFailure::Setup(e.to_string()))?
    .with_metrics(metrics.clone());
    let producer: BaseProducer<DeliveryContext> = kafka
        .producer_config(&id.connector, id.task, &connector_config)
        .create_with_context(DeliveryContext::default())
        .map_err(|e| TaskFailure::Setup(format!("cannot create the producer: {e}")))?;
    let topic_settings = TopicSettings::from_connector(&connector_config)
        .map_err(|e| TaskFailure::Setup(e.to_string()))?;
    let topics = TopicCreator::new(
        &kafka,
        &format!("connector-adminclient-{}-{}", id.connector, id.task),
        topic_settings,
    )
    .map_err(|e| TaskFailure::Setup(e.to_string()))?;
    mark_running();
    metrics.mark_running();
    get_producer_id_now(&producer);

    let (tx, rx) = mpsc::sync_channel::<PollStageOutput>(POLLED_AHEAD);
    let notices = CommitNotices::default();
    let span = tracing::Span::current();
    let mut stage = ProduceStage {
        producer,
        tracker: OffsetTracker::new(),
        topics,
        active_topics: super::active_topics::TaskTopics::new(&id.connector),
        committer: Committer {
            store,
            connector: id.connector.clone(),
            throttle: WarnThrottle::default(),
            failed_file_flushes: 0,
            unflushed: Vec::new(),
            notices: notices.clone(),
            metrics: metrics.clone(),
        },
        errors,
        converters,
        retry: RetryPolicy::new(&pipeline.errors, control.stop.clone())
            .counting(metrics.retries.clone()),
        pipeline: &pipeline,
        queue_full: WarnThrottle::default(),
        acks: AckWatch::default(),
        control: &control,
        metrics: &metrics,
    };
    let (failure, poll_result) = std::thread::scope(|scope| {
        let poller = std::thread::Builder::new()
            .name(format!("poll-{}-{}", id.connector, id.task))
            .spawn_scoped(scope, {
                let poll_stop = poll_stop.clone();
                let metrics = &metrics;
                move || {
                    span.in_scope(|| poll_stage(task, chain, &poll_stop, &tx, &notices, metrics))
                }
            });
        let poller = match poller {
            Ok(p) => p,
            Err(e) => return (Some(format!("cannot start the poll thread: {e}")), Ok(())),
        };
        let failure = stage.run(&rx, &poll_stop, flush_interval);
        // Whatever ended the produce stage ends the poll stage too; dropping the receiver
        // unblocks a poll stage waiting for room in the channel.
        poll_stop.store(true, Ordering::Relaxed);
        drop(rx);
        (failure, poller.join())
    });
    let mut failure = failure;
    if poll_result.is_err() {
        failure.get_or_insert_with(|| "the poll thread panicked".to_string());
    }

    // Stopped: the poll stage has stopped the plugin; deliver what is queued (bounded), then
    // commit what was acked.
    let ProduceStage {
        producer,
        mut tracker,
        mut committer,
        ..
    } = stage;
    if let Err(e) = producer.flush(shutdown_timeout) {
        tracing::warn!(
            pending = tracker.pending(),
            "not every record was acknowledged within task.shutdown.graceful.timeout.ms ({} ms): {e}; their offsets are not committed",
            shutdown_timeout.as_millis()
        );
    }
    if let Err(f) = drain(&producer, &mut tracker) {
        failure.get_or_insert(f);
    }
    // Stopping anyway: a failed last flush was logged, the offsets stay staged in the store.
    if let Err(trace) = committer.commit(&mut tracker) {
        failure.get_or_insert(trace);
    }
    match failure {
        Some(f) => Err(TaskFailure::Run(f)),
        None => Ok(()),
    }
}

/// The poll stage: polls the plugin and runs the SMT chain until stopped or failed, then
/// stops the plugin. A failure is sent to the produce stage as [`PollStageOutput::Failed`].
fn poll_stage(
    mut task: Box<dyn SourceTask>,
    mut chain: super::transforms::TransformChain,
    stop: &AtomicBool,
    tx: &mpsc::SyncSender<PollStageOutput>,
    notices: &CommitNotices,
    metrics: &TaskMetrics,
) {
    let mut idle = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
    let mut retry = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    while !stop.load(Ordering::Relaxed) {
        // Kafka Connect's SourceTask.commit(): tell the task what is durably committed.
        let committed = notices.take();
        if !committed.is_empty() {
            match task.commit(committed) {
                Ok(()) => {}
                Err(TaskError::Retriable(m)) => {
                    tracing::warn!("commit failed (the next commit repeats the position): {m}")
                }
                Err(e) => {
                    let _ = tx.send(PollStageOutput::Failed(format!("commit failed: {e}")));
                    break;
                }
            }
        }
        let poll_started = Instant::now();
        let poll_result = task.poll(MAX_POLL_RECORDS);
        let took = poll_started.elapsed();
        metrics.poll_called(took);
        let polled = match poll_result {
            Ok(b) => {
                retry.reset();
                if !b.is_empty() {
                    metrics.source_polled(b.len(), took);
                }
                b
            }
            Err(TaskError::Retriable(m)) => {
                tracing::warn!("poll failed, retrying: {m}");
                retry.sleep(stop);
                continue;
            }
            Err(e) => {
                let _ = tx.send(PollStageOutput::Failed(format!("poll failed: {e}")));
                break;
            }
        };
        if polled.is_empty() {
            idle.sleep(stop);
            continue;
        }
        idle.reset();
        if chain.is_empty() {
            if tx.send(PollStageOutput::Unconverted(polled)).is_err() {
                break; // the produce stage is gone (failed or stopping)
            }
            continue;
        }
        let batch = match polled.into_records() {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.send(PollStageOutput::Failed(format!("poll failed: {e}")));
                break;
            }
        };
        // SMTs run before the converters; a dropped or tolerated record is not produced but
        // its source offset still counts (committed once every earlier record was acked).
        let (positions, records) = split(batch);
        let apply_started = Instant::now();
        let applied = chain.apply(records);
        metrics.applied(apply_started.elapsed());
        let outcomes = match applied {
            Ok(o) => o,
            Err(e) => {
                let _ = tx.send(PollStageOutput::Failed(e.to_string()));
                break;
            }
        };
        if tx
            .send(PollStageOutput::Batch {
                positions,
                outcomes,
            })
            .is_err()
        {
            break; // the produce stage is gone (failed or stopping)
        }
    }
    task.stop();
}

/// Source records as their positions and their Connect records, in the same order.
fn split(records: Vec<SourceRecord>) -> (Vec<(Arc<OffsetMap>, OffsetMap)>, Vec<ConnectRecord>) {
    records
        .into_iter()
        .map(|r| ((r.source_partition, r.source_offset), r.record))
        .unzip()
}

/// The produce stage's state: everything between a polled batch and committed offsets.
struct ProduceStage<'a> {
    producer: BaseProducer<DeliveryContext>,
    tracker: OffsetTracker,
    topics: TopicCreator,
    active_topics: super::active_topics::TaskTopics,
    committer: Committer,
    errors: ErrorReporter,
    converters: Converters,
    /// `errors.retry.*`, for converters failing transiently (an unreachable registry).
    retry: RetryPolicy,
    pipeline: &'a Pipeline,
    queue_full: WarnThrottle,
    /// Reports a broker that stopped acknowledging (see `runtime::stall`).
    acks: AckWatch,
    control: &'a TaskControl,
    metrics: &'a TaskMetrics,
}

impl ProduceStage<'_> {
    /// Produces polled batches until the poll stage is done (`None`) or something fails
    /// (`Some(trace)`). Serves delivery reports and due commits at least every
    /// [`PRODUCE_TICK`].
    fn run(
        &mut self,
        rx: &mpsc::Receiver<PollStageOutput>,
        poll_stop: &AtomicBool,
        flush_interval: Duration,
    ) -> Option<String> {
        let mut last_commit = Instant::now();
        loop {
            if self.control.stopping() {
                // The poll stage finishes its current poll, stops the plugin and hangs up;
                // batches already polled are still produced below.
                poll_stop.store(true, Ordering::Relaxed);
            }
            match rx.recv_timeout(PRODUCE_TICK) {
                Ok(PollStageOutput::Batch {
                    positions,
                    outcomes,
                }) => {
                    if let Err(f) = self.produce(positions, outcomes) {
                        return f;
                    }
                }
                Ok(PollStageOutput::Unconverted(polled)) => {
                    let records = match polled.into_records() {
                        Ok(r) => r,
                        Err(e) => return Some(format!("poll failed: {e}")),
                    };
                    let (positions, records) = split(records);
                    let outcomes = records.into_iter().map(ChainOutcome::Keep).collect();
                    if let Err(f) = self.produce(positions, outcomes) {
                        return f;
                    }
                }
                Ok(PollStageOutput::Failed(f)) => return Some(f),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
            self.producer.poll(Duration::ZERO);
            match drain(&self.producer, &mut self.tracker) {
                Ok(acked) => {
                    self.acks.observe(acked, self.tracker.pending());
                }
                Err(f) => return Some(f),
            }
            self.metrics.source_active(self.tracker.pending());
            if last_commit.elapsed() >= flush_interval {
                if let Err(trace) = self.committer.commit(&mut self.tracker) {
                    return Some(trace);
                }
                last_commit = Instant::now();
            }
        }
    }

    /// Converts and sends one batch. `Err(Some(trace))` fails the task; `Err(None)` means it
    /// was stopped while the producer could not take more records.
    fn produce(
        &mut self,
        positions: Vec<(Arc<OffsetMap>, OffsetMap)>,
        outcomes: Vec<ChainOutcome>,
    ) -> Result<(), Option<String>> {
        let mut written = 0u64;
        let result = self.produce_counting(positions, outcomes, &mut written);
        // `source-record-write-total`: records handed to the producer, once per batch.
        self.metrics.source_written(written);
        result
    }

    fn produce_counting(
        &mut self,
        positions: Vec<(Arc<OffsetMap>, OffsetMap)>,
        outcomes: Vec<ChainOutcome>,
        written: &mut u64,
    ) -> Result<(), Option<String>> {
        let stop = &self.control.stop;
        for ((source_partition, source_offset), outcome) in positions.into_iter().zip(outcomes) {
            let record = match outcome {
                ChainOutcome::Keep(r) => r,
                ChainOutcome::Drop => {
                    let seq = self.tracker.submit(&source_partition, source_offset);
                    self.tracker.ack(seq);
                    continue;
                }
                ChainOutcome::Fail { class, message } => {
                    let f = Failure {
                        stage: Stage::Transformation,
                        class,
                        message,
                    };
                    self.errors
                        .report(&f, None, stop)
                        .map_err(|e| Some(e.to_string()))?;
                    let seq = self.tracker.submit(&source_partition, source_offset);
                    self.tracker.ack(seq);
                    continue;
                }
            };
            let produced = match convert(
                &record,
                &self.converters,
                &self.pipeline.converter_classes,
                &self.retry,
            ) {
                Ok(p) => p,
                // The record's offset is never acked, so it is not committed: a restart
                // polls it again.
                Err(ConvertFailure::Task(trace)) => return Err(Some(trace)),
                Err(ConvertFailure::Record(f)) => {
                    self.errors
                        .report(&f, None, stop)
                        .map_err(|e| Some(e.to_string()))?;
                    let seq = self.tracker.submit(&source_partition, source_offset);
                    self.tracker.ack(seq);
                    continue;
                }
            };
            match self.topics.ensure(produced.topic, stop) {
                Ok(true) => self.active_topics.saw(produced.topic),
                Ok(false) => return Err(None), // stopped while the broker was unreachable
                Err(e) => return Err(Some(e.to_string())),
            }
            let seq = self.tracker.submit(&source_partition, source_offset);
            let mut rec: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(produced.topic, seq as usize);
            if !produced.headers.is_empty() {
                let mut headers = OwnedHeaders::new_with_capacity(produced.headers.len());
                for (k, v) in &produced.headers {
                    headers = headers.insert(KafkaHeader {
                        key: k,
                        value: v.as_deref(),
                    });
                }
                rec = rec.headers(headers);
            }
            if let Some(k) = &produced.key {
                rec = rec.key(k.as_slice());
            }
            if let Some(v) = &produced.value {
                rec = rec.payload(v.as_slice());
            }
            if let Some(p) = produced.partition {
                rec = rec.partition(p);
            }
            if let Some(t) = produced.timestamp {
                rec = rec.timestamp(t);
            }
            loop {
                match self.producer.send(rec) {
                    Ok(()) => {
                        *written += 1;
                        break;
                    }
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                        back,
                    )) => {
                        // Back-pressure: serve delivery reports until there is room again.
                        if let Some(n) = self.queue_full.allow() {
                            tracing::debug!(
                                suppressed = n,
                                "producer queue full, waiting for acks"
                            );
                        }
                        self.producer.poll(Duration::from_millis(100));
                        match drain(&self.producer, &mut self.tracker) {
                            Ok(acked) => {
                                self.acks.observe(acked, self.tracker.pending());
                            }
                            Err(f) => {
                                self.tracker.withdraw(seq);
                                return Err(Some(f));
                            }
                        }
                        if self.control.stopping() {
                            self.tracker.withdraw(seq);
                            return Err(None);
                        }
                        rec = back;
                    }
                    Err((e, _)) => {
                        self.tracker.withdraw(seq);
                        return Err(Some(format!(
                            "cannot send a record to topic {:?}: {e}",
                            produced.topic
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Applies delivery reports to the tracker; the first failed delivery is the task's failure.
/// Returns how many records were acknowledged.
fn drain(
    producer: &BaseProducer<DeliveryContext>,
    tracker: &mut OffsetTracker,
) -> Result<usize, String> {
    let reports = std::mem::take(&mut *producer.context().reports.lock());
    let mut first_error = None;
    let mut acked = 0;
    for (seq, err) in reports {
        match err {
            None => {
                tracker.ack(seq);
                acked += 1;
            }
            Some(e) => {
                tracker.fail(seq);
                first_error.get_or_insert(format!("a record could not be delivered to Kafka: {e}"));
            }
        }
    }
    first_error.map_or(Ok(acked), Err)
}

/// Source positions committed to the offset store but not yet handed to the task's
/// `commit` (the produce stage adds them, the poll stage takes them). Newest per partition.
#[derive(Clone, Default)]
struct CommitNotices(Arc<Mutex<Vec<SourcePosition>>>);

impl CommitNotices {
    fn add(&self, offsets: Vec<(OffsetMap, OffsetMap)>) {
        let mut pending = self.0.lock();
        for (partition, offset) in offsets {
            newest(&mut pending, partition, offset);
        }
    }

    fn take(&self) -> Vec<SourcePosition> {
        std::mem::take(&mut *self.0.lock())
    }
}

/// Keeps `offset` as the newest position of `partition` in `positions`.
fn newest(positions: &mut Vec<SourcePosition>, partition: OffsetMap, offset: OffsetMap) {
    match positions.iter_mut().find(|p| p.partition == partition) {
        Some(p) => p.offset = offset,
        None => positions.push(SourcePosition { partition, offset }),
    }
}

/// Consecutive failed writes of the offsets *file* after which the task fails (see
/// [`Committer::commit`]).
const MAX_FAILED_FILE_FLUSHES: u32 = 3;

struct Committer {
    store: Arc<dyn SourceOffsetStore>,
    connector: String,
    throttle: WarnThrottle,
    /// Consecutive flushes that failed writing the local offsets file.
    failed_file_flushes: u32,
    /// Staged but not yet durably flushed: told to the task once a flush succeeds.
    unflushed: Vec<SourcePosition>,
    notices: CommitNotices,
    metrics: Arc<TaskMetrics>,
}

impl Committer {
    /// Stages what the broker acknowledged and flushes the store. A failed flush keeps the
    /// offsets staged for the next commit; `Err(trace)` (the task fails) once the local
    /// offsets file could not be written [`MAX_FAILED_FILE_FLUSHES`] times in a row: a task
    /// that goes on producing records whose positions cannot be recorded makes every one of
    /// them a duplicate after the next restart, so it stops instead (with the file as it was
    /// last written) until the disk is fixed and the task restarted. An offsets topic that
    /// cannot be written (the broker is down) is waited out: the producer stalls with it.
    fn commit(&mut self, tracker: &mut OffsetTracker) -> Result<(), String> {
        let offsets = tracker.take_committable();
        if offsets.is_empty() && self.unflushed.is_empty() {
            return Ok(());
        }
        for (partition, offset) in &offsets {
            newest(&mut self.unflushed, partition.clone(), offset.clone());
        }
        if !offsets.is_empty() {
            self.store.stage(&self.connector, offsets);
        }
        // A failed flush keeps the offsets staged; the next commit writes them again.
        let started = Instant::now();
        let flushed = self.store.flush();
        self.metrics
            .offset_commit(flushed.is_ok().then(|| started.elapsed()));
        match flushed {
            Ok(()) => {
                self.failed_file_flushes = 0;
                self.notices.add(
                    std::mem::take(&mut self.unflushed)
                        .into_iter()
                        .map(|p| (p.partition, p.offset))
                        .collect(),
                );
                Ok(())
            }
            Err(e @ crate::offsets::OffsetError::Io { .. }) => {
                self.failed_file_flushes += 1;
                if self.failed_file_flushes >= MAX_FAILED_FILE_FLUSHES {
                    return Err(format!(
                        "cannot write source offsets: {e} ({} attempts in a row failed). The \
                         task stops so that it does not produce records whose positions cannot \
                         be recorded; the offsets file keeps the positions last written. Fix \
                         the file's directory (permissions, free space), then restart the task \
                         (POST /connectors/{}/tasks/<id>/restart): it resumes from the \
                         positions the broker acknowledged.",
                        self.failed_file_flushes, self.connector
                    ));
                }
                tracing::warn!(
                    attempt = self.failed_file_flushes,
                    "cannot write source offsets (the task fails after {MAX_FAILED_FILE_FLUSHES} \
                     failed attempts in a row): {e}"
                );
                Ok(())
            }
            Err(e) => {
                if let Some(n) = self.throttle.allow() {
                    tracing::warn!(suppressed = n, "cannot write source offsets: {e}");
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::test_doubles::MemoryOffsetStore;
    use serde_json::json;

    fn map(key: &str, v: serde_json::Value) -> OffsetMap {
        [(key.to_string(), v)].into_iter().collect()
    }

    /// `SourceTask::commit` learns a position only once it is durable, and only the newest
    /// of each partition.
    #[test]
    fn committed_offsets_reach_the_task_after_the_flush() {
        let store = Arc::new(MemoryOffsetStore::default());
        let notices = CommitNotices::default();
        let mut committer = Committer {
            store: store.clone(),
            connector: "c".into(),
            throttle: WarnThrottle::default(),
            failed_file_flushes: 0,
            unflushed: Vec::new(),
            notices: notices.clone(),
            metrics: TaskMetrics::detached(crate::spec::PluginKind::Source),
        };
        let mut tracker = OffsetTracker::new();
        let a = map("server", json!("a"));
        let b = map("server", json!("b"));
        let s1 = tracker.submit(&a, map("lsn", json!(1)));
        let s2 = tracker.submit(&a, map("lsn", json!(2)));
        let s3 = tracker.submit(&b, map("lsn", json!(7)));
        tracker.ack(s1);
        tracker.ack(s3);
        committer.commit(&mut tracker).expect("commit");
        // Partition a still has s2 in flight (the tracker commits whole runs): only b.
        assert_eq!(
            notices.take(),
            vec![SourcePosition {
                partition: b,
                offset: map("lsn", json!(7)),
            }]
        );
        assert_eq!(
            store.positions("c").len(),
            1,
            "told only what the store holds"
        );
        // Nothing new committed: nothing new told.
        committer.commit(&mut tracker).expect("commit");
        assert!(notices.take().is_empty());
        tracker.ack(s2);
        committer.commit(&mut tracker).expect("commit");
        assert_eq!(
            notices.take(),
            vec![SourcePosition {
                partition: a,
                offset: map("lsn", json!(2))
            }]
        );
    }
}
