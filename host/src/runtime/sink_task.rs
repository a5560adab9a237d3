//! The sink task loop: consume, convert, transform, `put(batch)`, then `flush` and commit
//! offsets. Records failing a stage go through `errors.*` (tolerance, log, dead letter queue).
//!
//! Design decision: the plugin instance and the put-but-uncommitted offsets are shared with
//! the consumer's rebalance callback, each behind its own mutex. The callback runs on the
//! consumer's thread inside `consumer.poll`, so on revocation it can `flush` the sink and
//! commit synchronously before the partitions move to another task (waiting for a `put` in
//! progress on the put thread, see [`put_stage`]). Offsets advance only after `put` returned,
//! and are committed only after `flush` succeeded. Two mutexes, not one: the put thread holds
//! the plugin's for a whole `put`, and the consume thread must not wait for that just to
//! record offsets or check for a failure — with one lock the two stages ran in turn.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::backoff::{Backoff, WarnThrottle};
use super::connector::{ConverterClasses, Converters, Pipeline, TaskControl};
use super::errors::{ErrorReporter, Failure, OriginalRecord, Stage};
use super::plugin::TaskId;
use super::retry::RetryPolicy;
use super::task::{RecordFailure, SinkTask, TaskError, TopicPartitionOffset};
use super::transforms::{ChainOutcome, TransformChain};
use crate::config::Config;
use crate::data::{ConnectRecord, Header, TimestampType};
use crate::kafka::fetch::{FetchQueues, Fetched, Wake};
use crate::kafka::KafkaSettings;

/// Most records handed to one `put`.
pub const MAX_BATCH: usize = 2000;
/// How long one poll waits for the first record of a batch.
const FIRST_RECORD_WAIT: Duration = Duration::from_millis(100);

/// Everything a sink task loop needs besides the plugin instance.
pub struct SinkTaskSetup {
    pub id: TaskId,
    /// The connector's config (for `consumer.override.*`).
    pub connector_config: Config,
    pub topics: Vec<String>,
    pub topics_regex: Option<String>,
    pub converters: Converters,
    pub kafka: KafkaSettings,
    pub flush_interval: Duration,
    /// The SMT chain and converter class names (from the worker).
    pub pipeline: Pipeline,
}

/// The plugin, and the offsets it has been given but that are not committed yet.
struct SinkShared {
    /// Held for each call into the plugin (a whole `put` on the put thread).
    task: Mutex<Box<dyn SinkTask>>,
    /// Held only briefly; never while waiting for `task` (see `flush_and_commit`).
    books: Mutex<Books>,
}

/// The consumer's side of the bookkeeping.
struct Books {
    /// Next offset to read per (topic, partition), for records `put` accepted.
    uncommitted: BTreeMap<(String, i32), i64>,
    assigned: HashSet<(String, i32)>,
    /// A failure found inside a callback, picked up by the loop.
    failure: Option<String>,
    throttle: WarnThrottle,
}

impl SinkShared {
    /// `flush` the sink, then commit synchronously. A failed commit keeps the offsets for the
    /// next attempt; a fatal flush error fails the task; nothing uncommitted is dropped
    /// unless its partition was revoked (then the next owner re-reads it: at-least-once).
    ///
    /// Runs on the consumer's thread (the loop, or the rebalance callback inside `poll`), the
    /// only thread that advances offsets, so the offsets read here cannot move until it
    /// returns; all of them belong to `put`s that returned, which `flush` covers.
    fn flush_and_commit(&self, consumer: &BaseConsumer<SinkContext>) {
        let offsets: Vec<TopicPartitionOffset> = {
            let books = self.books.lock();
            if books.uncommitted.is_empty() {
                return;
            }
            books
                .uncommitted
                .iter()
                .map(|((topic, partition), offset)| TopicPartitionOffset {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: *offset,
                })
                .collect()
        };
        // Waits for a `put` in progress on the put thread.
        let flushed = self.task.lock().flush(&offsets);
        match flushed {
            Ok(()) => {}
            Err(TaskError::Retriable(m)) => {
                tracing::warn!("flush failed (will retry at the next commit): {m}");
                return;
            }
            Err(e) => {
                self.books
                    .lock()
                    .failure
                    .get_or_insert(format!("flush failed: {e}"));
                return;
            }
        }
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for o in &offsets {
            if let Err(e) =
                tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))
            {
                tracing::warn!(
                    "cannot commit {}-{} at {}: {e}",
                    o.topic,
                    o.partition,
                    o.offset
                );
            }
        }
        let committed = consumer.commit(&tpl, CommitMode::Sync);
        let mut books = self.books.lock();
        match committed {
            Ok(()) => {
                tracing::debug!(partitions = offsets.len(), "committed consumer offsets");
                books.uncommitted.clear();
            }
            Err(e) => {
                if let Some(n) = books.throttle.allow() {
                    tracing::warn!(
                        suppressed = n,
                        "cannot commit consumer offsets (will retry): {e}"
                    );
                }
            }
        }
    }
}

struct SinkContext {
    shared: Arc<SinkShared>,
    throttle: Mutex<WarnThrottle>,
    /// Where a partition with no committed offset starts (`auto.offset.reset`), when the
    /// consumer's setting names a position; see [`SinkContext::start_positions`].
    reset: Option<Offset>,
    /// The assigned partitions' fetch queues, read in batches (split before each assign).
    fetch: Mutex<FetchQueues>,
}

impl SinkContext {
    /// The position `auto.offset.reset` names: librdkafka's spellings, as it accepts them.
    fn reset_position(value: Option<&str>) -> Option<Offset> {
        match value? {
            "smallest" | "earliest" | "beginning" => Some(Offset::Beginning),
            "largest" | "latest" | "end" => Some(Offset::End),
            _ => None, // `error`: librdkafka reports the missing offset itself
        }
    }

    /// Fills in where each newly assigned partition starts: its committed offset, or the
    /// `auto.offset.reset` position when the group has none.
    ///
    /// Design decision: librdkafka does the same lookup itself, but for a partition with no
    /// committed offset it applies the reset policy on a fixed 100 ms back-off timer (its
    /// `rd_kafka_offset_reset` with an error code), so every fresh sink connector started
    /// ~100 ms late. Assigning explicit positions skips that timer. If the lookup fails, the
    /// partitions are assigned as they are and librdkafka looks the offsets up as before.
    fn start_positions(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let Some(reset) = self.reset else { return };
        let committed = match consumer.committed_offsets(tpl.clone(), Duration::from_secs(10)) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("looking up committed offsets failed, librdkafka will: {e}");
                return;
            }
        };
        for e in committed.elements() {
            let at = match e.offset() {
                Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                Offset::Invalid | Offset::Stored => reset,
                _ => continue,
            };
            if let Err(err) = tpl.set_partition_offset(e.topic(), e.partition(), at) {
                tracing::debug!(
                    "cannot set the start of {}-{}: {err}",
                    e.topic(),
                    e.partition()
                );
            }
        }
    }
}

impl ClientContext for SinkContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if let Some(n) = self.throttle.lock().allow() {
            tracing::warn!(suppressed = n, "consumer: {error}: {reason}");
        }
    }
}

impl ConsumerContext for SinkContext {
    /// rust-rdkafka's own rebalance, with explicit start positions for assigned partitions.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            self.start_positions(consumer, tpl);
            // Before the assign, so no message of these partitions reaches the consumer queue.
            let mut fetch = self.fetch.lock();
            for e in tpl.elements() {
                if !fetch.split(consumer, e.topic(), e.partition()) {
                    tracing::debug!(
                        "{}-{} is read through poll: its fetch queue could not be split",
                        e.topic(),
                        e.partition()
                    );
                }
            }
        }
        let tpl = &*tpl;
        let rebalance = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Rebalance::Assign(tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Rebalance::Revoke(tpl),
            // As rust-rdkafka does: report it and drop the assignment.
            _ => Rebalance::Error(KafkaError::Rebalance(err.into())),
        };
        self.pre_rebalance(consumer, &rebalance);
        let done = match (&rebalance, cooperative) {
            (Rebalance::Assign(_), true) => consumer.incremental_assign(tpl),
            (Rebalance::Assign(_), false) => consumer.assign(tpl),
            (_, true) => consumer.incremental_unassign(tpl),
            (_, false) => consumer.unassign(),
        };
        if let Err(e) = done {
            tracing::warn!("changing the partition assignment failed: {e}");
        }
        match (&rebalance, cooperative) {
            (Rebalance::Assign(_), _) => {}
            (Rebalance::Revoke(tpl), true) => {
                let mut fetch = self.fetch.lock();
                for e in tpl.elements() {
                    fetch.release(e.topic(), e.partition());
                }
            }
            // An eager revocation or an error drops the whole assignment.
            _ => self.fetch.lock().release_all(),
        }
        self.post_rebalance(consumer, &rebalance);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.shared.flush_and_commit(consumer);
            let mut books = self.shared.books.lock();
            for e in tpl.elements() {
                let tp = (e.topic().to_string(), e.partition());
                books.assigned.remove(&tp);
                books.uncommitted.remove(&tp);
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let mut books = self.shared.books.lock();
                for e in tpl.elements() {
                    books
                        .assigned
                        .insert((e.topic().to_string(), e.partition()));
                }
                tracing::info!(partitions = tpl.count(), "partitions assigned");
            }
            Rebalance::Error(e) => tracing::warn!("rebalance error: {e}"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// The librdkafka subscription pattern for Kafka's `topics.regex`: Java matches the whole
/// topic name, librdkafka treats a subscription starting with `^` as a regex search.
pub fn subscription_pattern(regex: &str) -> String {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    format!("^({inner})$")
}

/// The consumed message's bytes, kept for the dead letter queue.
fn original(msg: &Fetched<'_>) -> OriginalRecord {
    OriginalRecord {
        topic: msg.topic().to_string(),
        partition: msg.partition(),
        offset: msg.offset(),
        timestamp: msg.timestamp().to_millis(),
        key: msg.key().map(<[u8]>::to_vec),
        value: msg.payload().map(<[u8]>::to_vec),
        headers: msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Converts one consumed message; a failure names its stage and converter class.
fn to_connect(
    msg: &Fetched<'_>,
    c: &Converters,
    classes: &ConverterClasses,
) -> Result<ConnectRecord, Failure> {
    let topic = msg.topic();
    let mut headers = Vec::new();
    if let Some(hs) = msg.headers() {
        for h in hs.iter() {
            let value = c
                .header
                .to_connect_header(topic, h.key, h.value)
                .map_err(|e| Failure {
                    stage: Stage::HeaderConverter,
                    class: classes.header.clone(),
                    message: format!("converting header {:?} failed: {e}", h.key),
                })?;
            headers.push(Header {
                key: h.key.to_string(),
                value,
            });
        }
    }
    let key = c.key.to_connect(topic, msg.key()).map_err(|e| Failure {
        stage: Stage::KeyConverter,
        class: classes.key.clone(),
        message: format!("converting the key failed: {e}"),
    })?;
    let value = c
        .value
        .to_connect(topic, msg.payload())
        .map_err(|e| Failure {
            stage: Stage::ValueConverter,
            class: classes.value.clone(),
            message: format!("converting the value failed: {e}"),
        })?;
    let (timestamp, timestamp_type) = match msg.timestamp() {
        Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
        Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    Ok(ConnectRecord {
        topic: topic.to_string(),
        kafka_partition: Some(msg.partition()),
        kafka_offset: Some(msg.offset()),
        timestamp,
        timestamp_type,
        key,
        value,
        headers,
    })
}

/// The per-task pieces between the consumer and `put`.
struct Stages {
    converters: Converters,
    classes: ConverterClasses,
    chain: TransformChain,
    errors: ErrorReporter,
}

/// Runs the loop until stopped (`Ok`) or the task fails (`Err(trace)`).
pub fn run(
    setup: SinkTaskSetup,
    task: Box<dyn SinkTask>,
    control: TaskControl,
    mark_running: &dyn Fn(),
) -> Result<(), String> {
    let SinkTaskSetup {
        id,
        connector_config,
        topics,
        topics_regex,
        converters,
        kafka,
        flush_interval,
        pipeline,
    } = setup;
    let settings = pipeline.errors.clone();
    let chain = TransformChain::open(
        &pipeline.chain,
        &id,
        RetryPolicy::new(&settings, control.stop.clone()),
    )?;
    let errors = ErrorReporter::new(settings, id.clone(), &kafka, &connector_config)?;
    let mut stages = Stages {
        converters,
        classes: pipeline.converter_classes.clone(),
        chain,
        errors,
    };
    let shared = Arc::new(SinkShared {
        task: Mutex::new(task),
        books: Mutex::new(Books {
            uncommitted: BTreeMap::new(),
            assigned: HashSet::new(),
            failure: None,
            throttle: WarnThrottle::default(),
        }),
    });
    let consumer_config = kafka.consumer_config(&id.connector, id.task, &connector_config);
    let wake = Arc::new(Wake::default());
    let context = SinkContext {
        shared: shared.clone(),
        throttle: Mutex::new(WarnThrottle::default()),
        reset: SinkContext::reset_position(consumer_config.get("auto.offset.reset")),
        fetch: Mutex::new(FetchQueues::new(wake.clone())),
    };
    let mut consumer: BaseConsumer<SinkContext> = consumer_config
        .create_with_context(context)
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    // Rebalances and errors arrive on the consumer queue; wake the loop for them too.
    consumer.set_nonempty_callback(wake.callback());
    // The split fetch queues are released before the consumer's handle is destroyed (which
    // happens before its context is dropped), also when unwinding.
    let owner = ReleaseQueuesFirst(consumer);
    let consumer = &owner.0;
    let subscription: Vec<String> = match &topics_regex {
        Some(re) => vec![subscription_pattern(re)],
        None => topics.clone(),
    };
    let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
    consumer
        .subscribe(&refs)
        .map_err(|e| format!("cannot subscribe to {subscription:?}: {e}"))?;
    mark_running();

    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<ConnectRecord>>(MAX_IN_FLIGHT);
    let (done_tx, done_rx) = mpsc::sync_channel::<PutDone>(MAX_IN_FLIGHT);
    let span = tracing::Span::current();
    let failure = std::thread::scope(|scope| {
        let putter = std::thread::Builder::new()
            .name(format!("put-{}-{}", id.connector, id.task))
            .spawn_scoped(scope, {
                let shared = &shared;
                let control = &control;
                move || span.in_scope(|| put_stage(shared, &job_rx, &done_tx, control))
            });
        let putter = match putter {
            Ok(p) => p,
            Err(e) => return Some(format!("cannot start the put thread: {e}")),
        };
        let mut stage = ConsumeStage {
            consumer,
            wake: &wake,
            shared: &shared,
            control: &control,
            stages: &mut stages,
            in_flight: VecDeque::new(),
            jobs: Some(job_tx),
            done: done_rx,
            poll_throttle: WarnThrottle::default(),
            active_topics: super::active_topics::TaskTopics::new(&id.connector),
        };
        let mut failure: Option<String> = None;
        let mut last_commit = Instant::now();
        while !control.stopping() {
            if let Some(f) = shared.books.lock().failure.take() {
                failure = Some(f);
                break;
            }
            if let Err(stop) = stage.step() {
                failure = stop;
                break;
            }
            if last_commit.elapsed() >= flush_interval {
                shared.flush_and_commit(consumer);
                last_commit = Instant::now();
            }
        }
        // No more batches: the put stage finishes the ones it has (as the single-threaded loop
        // finished its current batch), then exits. Their results still advance the offsets —
        // all of them precede whatever failed — unless the put stage itself gave up.
        stage.jobs = None; // hang up: the put stage exits once its queue is empty
        if let Err(Some(f)) = stage.finish_down_to(0, true) {
            failure.get_or_insert(f);
        }
        if putter.join().is_err() {
            failure.get_or_insert_with(|| "the put thread panicked".to_string());
        }
        failure
    });
    let mut failure = failure;

    // Commit what was put before stopping (also after a failure: those records were accepted).
    shared.flush_and_commit(consumer);
    // Closing the consumer leaves the group (revocation callback: nothing left to commit).
    drop(owner);
    shared.task.lock().stop();
    if let Some(f) = shared.books.lock().failure.take() {
        failure.get_or_insert(f);
    }
    failure.map_or(Ok(()), Err)
}

/// Batches handed to the put stage and not finished yet: one being `put`, one waiting.
const MAX_IN_FLIGHT: usize = 2;

/// A batch between the consume stage and the put stage. The consumed messages stay here, on
/// the consumer's thread, for the dead letter queue and the offsets once `put` returned.
struct InFlight<'c> {
    msgs: Vec<Fetched<'c>>,
    /// Index in `msgs` of each record handed to `put`.
    record_idx: Vec<usize>,
}

/// What the put stage reports per batch: the records the sink rejected, `None` when stopped
/// while retrying, `Err` when `put` failed for good.
type PutDone = Result<Option<Vec<RecordFailure>>, String>;

/// The put stage (its own thread): `put`s each batch in order and reports the result, until
/// the consume stage hangs up or a `put` fails for good.
///
/// Design decision: a sink task is two pipelined stages so one task can use two cores: the
/// task's thread consumes, converts and transforms batch N+1 while this thread lowers batch N
/// into the component and runs the plugin's `put`. Results come back in order, and only then
/// does the consume stage report rejected records and advance the offsets, so "offsets
/// advance only after `put` returned" holds per batch, in order. The plugin stays behind the
/// plugin's mutex, so the rebalance callback and commits never run concurrently with a `put`.
fn put_stage(
    shared: &SinkShared,
    jobs: &mpsc::Receiver<Vec<ConnectRecord>>,
    done: &mpsc::SyncSender<PutDone>,
    control: &TaskControl,
) {
    for records in jobs {
        let result = if records.is_empty() {
            Ok(Some(Vec::new())) // everything was dropped or tolerated: nothing to put
        } else {
            put(shared, records, control)
        };
        let give_up = !matches!(result, Ok(Some(_)));
        if done.send(result).is_err() || give_up {
            break;
        }
    }
}

/// The consume stage's state (the task's thread): the consumer, the batches handed to the put
/// stage and the channels to it.
struct ConsumeStage<'c, 's> {
    consumer: &'c BaseConsumer<SinkContext>,
    /// Signalled when one of the consumer's queues becomes non-empty.
    wake: &'s Wake,
    shared: &'s SinkShared,
    control: &'s TaskControl,
    stages: &'s mut Stages,
    in_flight: VecDeque<InFlight<'c>>,
    /// `None` once the consume stage has hung up on the put stage.
    jobs: Option<mpsc::SyncSender<Vec<ConnectRecord>>>,
    done: mpsc::Receiver<PutDone>,
    poll_throttle: WarnThrottle,
    active_topics: super::active_topics::TaskTopics,
}

impl ConsumeStage<'_, '_> {
    /// Collects, converts and transforms one batch and hands it to the put stage, then finishes
    /// the batches whose `put` has returned. `Err(Some(trace))` fails the task; `Err(None)`
    /// stops the loop without a failure of its own (stopped while retrying, or the put stage
    /// gave up: its result, read when draining, says why).
    fn step(&mut self) -> Result<(), Option<String>> {
        let batch = collect(self.consumer, self.wake, &mut self.poll_throttle);
        for msg in &batch {
            self.active_topics.saw(msg.topic());
        }
        if !batch.is_empty() {
            let (records, record_idx) = prepare(&batch, self.stages, self.control).map_err(Some)?;
            // At most MAX_IN_FLIGHT batches between here and the put stage: wait for the
            // oldest when full, so a slow sink slows consumption instead of piling up.
            self.finish_down_to(MAX_IN_FLIGHT - 1, true)?;
            let jobs = self.jobs.as_ref().ok_or(None)?;
            jobs.send(records).map_err(|_| None)?;
            self.in_flight.push_back(InFlight {
                msgs: batch,
                record_idx,
            });
        }
        // Batches whose put has returned, without waiting for the others.
        self.finish_down_to(0, false)
    }

    /// Finishes in-flight batches, oldest first, until at most `keep` remain: waiting for
    /// their `put` if `wait`, else only those whose `put` already returned. `Err(None)`: the
    /// task was stopped while a `put` was being retried (that batch and later ones do not
    /// count).
    fn finish_down_to(&mut self, keep: usize, wait: bool) -> Result<(), Option<String>> {
        while self.in_flight.len() > keep {
            let result = if wait {
                self.done
                    .recv()
                    .map_err(|_| Some("the put thread exited unexpectedly".to_string()))?
            } else {
                match self.done.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => {
                        return Err(Some("the put thread exited unexpectedly".to_string()))
                    }
                }
            };
            let flight = self
                .in_flight
                .pop_front()
                .ok_or_else(|| Some("a put result arrived for no batch".to_string()))?;
            let failures = result.map_err(Some)?.ok_or(None)?;
            finish(self.shared, &flight, failures, self.stages, self.control).map_err(Some)?;
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
fn collect<'c>(
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

/// Owns the consumer; releases its split fetch queues before it is dropped (see
/// [`FetchQueues`]: the consumer's handle is destroyed before its context).
struct ReleaseQueuesFirst(BaseConsumer<SinkContext>);

impl Drop for ReleaseQueuesFirst {
    fn drop(&mut self) {
        self.0.context().fetch.lock().release_all();
    }
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
        match to_connect(msg, &stages.converters, &stages.classes) {
            Ok(r) => {
                converted.push(r);
                converted_idx.push(i);
            }
            Err(f) => stages
                .errors
                .report(&f, Some(&original(msg)), &control.stop)?,
        }
    }
    if stages.chain.is_empty() {
        return Ok((converted, converted_idx));
    }
    let outcomes = stages.chain.apply(converted).map_err(|e| e.to_string())?;
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
                    .report(&f, Some(&original(&msgs[i])), &control.stop)?;
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
            .report(&failure, Some(&original(&msgs[i])), &control.stop)?;
    }
    // Tolerated records must be in the DLQ before their offsets can be committed.
    stages.errors.flush(&control.stop)?;
    // A batch is runs of messages from one partition: look the partition up once per run,
    // not once per message (an owned key and two hash/tree lookups each).
    let mut s = shared.books.lock();
    let mut run: Option<(&str, i32, i64)> = None;
    for msg in msgs {
        let (topic, partition, next) = (msg.topic(), msg.partition(), msg.offset() + 1);
        match &mut run {
            Some((t, p, n)) if *t == topic && *p == partition => *n = (*n).max(next),
            _ => {
                if let Some(done) = run.replace((topic, partition, next)) {
                    advance(&mut s, done);
                }
            }
        }
    }
    if let Some(done) = run {
        advance(&mut s, done);
    }
    Ok(())
}

/// Moves a partition's next offset to commit forward to `next` (never back).
fn advance(s: &mut Books, (topic, partition, next): (&str, i32, i64)) {
    let tp = (topic.to_string(), partition);
    // A partition revoked while this batch was in flight belongs to another task now.
    if s.assigned.contains(&tp) {
        let at = s.uncommitted.entry(tp).or_insert(next);
        *at = (*at).max(next);
    }
}

/// `put`s one batch, retrying it on `Retriable`. Returns the records the sink rejected, or
/// `None` when stopped while retrying.
fn put(
    shared: &SinkShared,
    batch: Vec<ConnectRecord>,
    control: &TaskControl,
) -> Result<Option<Vec<RecordFailure>>, String> {
    let count = batch.len();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    // On a retriable failure the task hands the same batch back in `records` (Kafka Connect
    // also redelivers the same batch), so no copy of every batch is kept just in case.
    let mut records = batch;
    loop {
        let result = shared.task.lock().put(&mut records);
        match result {
            Ok(failures) => return Ok(Some(failures)),
            Err(TaskError::Retriable(m)) => {
                tracing::warn!(records = count, "put failed, retrying the same batch: {m}");
                if records.len() != count {
                    return Err(format!(
                        "put failed ({m}) and the sink task kept {} of the {count} records it must hand back for the retry",
                        records.len()
                    ));
                }
                // TODO(next): pause the assignment and keep polling so a retry loop longer
                // than max.poll.interval.ms does not cost the group membership.
                if !backoff.sleep(&control.stop) {
                    return Ok(None);
                }
            }
            Err(e) => return Err(format!("put failed: {e}")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A batch that finished after its partition was revoked must not record an offset for
    /// it (the new owner commits from where it starts reading), and a late, lower run never
    /// moves an offset back.
    #[test]
    fn offsets_only_advance_and_only_for_assigned_partitions() {
        let mut s = Books {
            uncommitted: BTreeMap::new(),
            assigned: HashSet::from([("a".to_string(), 0), ("a".to_string(), 1)]),
            failure: None,
            throttle: WarnThrottle::default(),
        };
        advance(&mut s, ("a", 0, 10));
        advance(&mut s, ("a", 0, 7));
        advance(&mut s, ("a", 1, 3));
        advance(&mut s, ("b", 0, 99)); // revoked while its batch was in flight
        let got: Vec<_> = s.uncommitted.into_iter().collect();
        assert_eq!(
            got,
            vec![(("a".to_string(), 0), 10), (("a".to_string(), 1), 3)]
        );
    }

    #[test]
    fn auto_offset_reset_names_a_start_position_in_each_librdkafka_spelling() {
        for v in ["smallest", "earliest", "beginning"] {
            assert_eq!(
                SinkContext::reset_position(Some(v)),
                Some(Offset::Beginning),
                "{v}"
            );
        }
        for v in ["largest", "latest", "end"] {
            assert_eq!(
                SinkContext::reset_position(Some(v)),
                Some(Offset::End),
                "{v}"
            );
        }
        // `error` (and anything librdkafka would reject) leaves the start to librdkafka.
        assert_eq!(SinkContext::reset_position(Some("error")), None);
        assert_eq!(SinkContext::reset_position(None), None);
    }

    #[test]
    fn topics_regex_matches_the_whole_name_like_java() {
        assert_eq!(subscription_pattern("orders-.*"), "^(orders-.*)$");
        assert_eq!(subscription_pattern("^a|b$"), "^(a|b)$");
    }
}
