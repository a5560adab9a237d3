//! The sink task loop: consume, convert, transform, `put(batch)`, then `flush` and commit
//! offsets. Records failing a stage go through `errors.*` (tolerance, log, dead letter queue).
//!
//! Design decision: the plugin instance and the put-but-uncommitted offsets live behind one
//! mutex shared with the consumer's rebalance callback. The callback runs on this same thread
//! inside `consumer.poll`, when the loop does not hold the lock, so on revocation it can
//! `flush` the sink and commit synchronously before the partitions move to another task.
//! Offsets advance only after `put` returned, and are committed only after `flush` succeeded.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::backoff::{Backoff, WarnThrottle};
use super::connector::{ConverterClasses, Converters, Pipeline, TaskControl};
use super::errors::{ErrorReporter, ErrorSettings, Failure, OriginalRecord, Stage};
use super::plugin::TaskId;
use super::task::{RecordFailure, SinkTask, TaskError, TopicPartitionOffset};
use super::transforms::{ChainOutcome, TransformChain};
use crate::config::Config;
use crate::data::{ConnectRecord, Header, TimestampType};
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

/// The plugin and the offsets it has been given but that are not committed yet.
struct SinkShared {
    task: Box<dyn SinkTask>,
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
    fn flush_and_commit(&mut self, consumer: &BaseConsumer<SinkContext>) {
        if self.uncommitted.is_empty() {
            return;
        }
        let offsets: Vec<TopicPartitionOffset> = self
            .uncommitted
            .iter()
            .map(|((topic, partition), offset)| TopicPartitionOffset {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            })
            .collect();
        match self.task.flush(&offsets) {
            Ok(()) => {}
            Err(TaskError::Retriable(m)) => {
                tracing::warn!("flush failed (will retry at the next commit): {m}");
                return;
            }
            Err(e) => {
                self.failure.get_or_insert(format!("flush failed: {e}"));
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
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {
                tracing::debug!(partitions = offsets.len(), "committed consumer offsets");
                self.uncommitted.clear();
            }
            Err(e) => {
                if let Some(n) = self.throttle.allow() {
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
    shared: Arc<Mutex<SinkShared>>,
    throttle: Mutex<WarnThrottle>,
}

impl ClientContext for SinkContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if let Some(n) = self.throttle.lock().allow() {
            tracing::warn!(suppressed = n, "consumer: {error}: {reason}");
        }
    }
}

impl ConsumerContext for SinkContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut s = self.shared.lock();
            s.flush_and_commit(consumer);
            for e in tpl.elements() {
                let tp = (e.topic().to_string(), e.partition());
                s.assigned.remove(&tp);
                s.uncommitted.remove(&tp);
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let mut s = self.shared.lock();
                for e in tpl.elements() {
                    s.assigned.insert((e.topic().to_string(), e.partition()));
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
fn original(msg: &BorrowedMessage<'_>) -> OriginalRecord {
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
    msg: &BorrowedMessage<'_>,
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
    let settings = ErrorSettings::from_connector(&connector_config)
        .map_err(|p| p.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "))?;
    let chain = pipeline
        .chain
        .open(&id, settings.retry_policy(control.stop.clone()))?;
    let errors = ErrorReporter::new(settings, id.clone(), &kafka, &connector_config)?;
    let mut stages = Stages {
        converters,
        classes: pipeline.converter_classes.clone(),
        chain,
        errors,
    };
    let shared = Arc::new(Mutex::new(SinkShared {
        task,
        uncommitted: BTreeMap::new(),
        assigned: HashSet::new(),
        failure: None,
        throttle: WarnThrottle::default(),
    }));
    let context = SinkContext {
        shared: shared.clone(),
        throttle: Mutex::new(WarnThrottle::default()),
    };
    let consumer: BaseConsumer<SinkContext> = kafka
        .consumer_config(&id.connector, id.task, &connector_config)
        .create_with_context(context)
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    let subscription: Vec<String> = match &topics_regex {
        Some(re) => vec![subscription_pattern(re)],
        None => topics.clone(),
    };
    let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
    consumer
        .subscribe(&refs)
        .map_err(|e| format!("cannot subscribe to {subscription:?}: {e}"))?;
    mark_running();

    let mut failure: Option<String> = None;
    let mut last_commit = Instant::now();
    let mut poll_throttle = WarnThrottle::default();
    let mut active_topics = super::active_topics::TaskTopics::new(&id.connector);
    while !control.stopping() {
        if let Some(f) = shared.lock().failure.take() {
            failure = Some(f);
            break;
        }
        let batch = collect(&consumer, &mut poll_throttle);
        for msg in &batch {
            active_topics.saw(msg.topic());
        }
        if !batch.is_empty() {
            match process(&shared, &batch, &mut stages, &control) {
                Ok(true) => {}
                Ok(false) => break, // stopped while retrying
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
        drop(batch);
        if last_commit.elapsed() >= flush_interval {
            shared.lock().flush_and_commit(&consumer);
            last_commit = Instant::now();
        }
    }

    // Commit what was put before stopping (also after a failure: those records were accepted).
    shared.lock().flush_and_commit(&consumer);
    // Closing the consumer leaves the group (revocation callback: nothing left to commit).
    drop(consumer);
    let mut s = shared.lock();
    s.task.stop();
    if let Some(f) = s.failure.take() {
        failure.get_or_insert(f);
    }
    failure.map_or(Ok(()), Err)
}

/// Up to [`MAX_BATCH`] messages; waits at most [`FIRST_RECORD_WAIT`] for the first. The
/// messages are kept (not copied) until the batch is done, for the dead letter queue.
fn collect<'c>(
    consumer: &'c BaseConsumer<SinkContext>,
    throttle: &mut WarnThrottle,
) -> Vec<BorrowedMessage<'c>> {
    let mut out = Vec::new();
    let mut wait = FIRST_RECORD_WAIT;
    while out.len() < MAX_BATCH {
        match consumer.poll(wait) {
            None => break,
            Some(Ok(msg)) => {
                out.push(msg);
                wait = Duration::ZERO;
            }
            Some(Err(e)) => {
                // Broker unreachable, transient fetch errors: librdkafka retries by itself.
                if let Some(n) = throttle.allow() {
                    tracing::warn!(suppressed = n, "consumer poll: {e}");
                }
                if out.is_empty() {
                    // Errors return at once; do not spin while the broker is unreachable.
                    std::thread::sleep(FIRST_RECORD_WAIT);
                }
                break;
            }
        }
    }
    out
}

/// Converts, transforms and `put`s one batch; failed records go through `errors.*`. On
/// success every message of the batch (kept, dropped or tolerated) counts as processed.
/// Returns `Ok(false)` when stopped while retrying (the batch is then not committed).
fn process(
    shared: &Mutex<SinkShared>,
    msgs: &[BorrowedMessage<'_>],
    stages: &mut Stages,
    control: &TaskControl,
) -> Result<bool, String> {
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
    let (records, record_idx) = if stages.chain.is_empty() {
        (converted, converted_idx)
    } else {
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
        (kept, kept_idx)
    };
    if !records.is_empty() {
        let failures = match put(shared, records, control)? {
            Some(f) => f,
            None => return Ok(false),
        };
        for f in failures {
            let Some(&i) = record_idx.get(f.index as usize) else {
                return Err(format!(
                    "the sink reported a failure for record #{} of a batch of {}",
                    f.index,
                    record_idx.len()
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
    }
    // Tolerated records must be in the DLQ before their offsets can be committed.
    stages.errors.flush(&control.stop)?;
    let mut s = shared.lock();
    for msg in msgs {
        let tp = (msg.topic().to_string(), msg.partition());
        // A partition revoked while this batch was being collected belongs to another task now.
        if s.assigned.contains(&tp) {
            let next = s.uncommitted.entry(tp).or_insert(msg.offset() + 1);
            *next = (*next).max(msg.offset() + 1);
        }
    }
    Ok(true)
}

/// `put`s one batch, retrying it on `Retriable`. Returns the records the sink rejected, or
/// `None` when stopped while retrying.
fn put(
    shared: &Mutex<SinkShared>,
    batch: Vec<ConnectRecord>,
    control: &TaskControl,
) -> Result<Option<Vec<RecordFailure>>, String> {
    let count = batch.len();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    // `put` consumes the batch, so a copy is kept for a retriable failure (Kafka Connect also
    // redelivers the same batch). The copy is cheap next to encoding it for the plugin.
    let mut pending = Some(batch);
    loop {
        let Some(records) = pending.take() else {
            return Ok(None);
        };
        let keep = records.clone();
        let result = shared.lock().task.put(records);
        match result {
            Ok(failures) => return Ok(Some(failures)),
            Err(TaskError::Retriable(m)) => {
                tracing::warn!(records = count, "put failed, retrying the same batch: {m}");
                // TODO(next): pause the assignment and keep polling so a retry loop longer
                // than max.poll.interval.ms does not cost the group membership.
                if !backoff.sleep(&control.stop) {
                    return Ok(None);
                }
                pending = Some(keep);
            }
            Err(e) => return Err(format!("put failed: {e}")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn topics_regex_matches_the_whole_name_like_java() {
        assert_eq!(subscription_pattern("orders-.*"), "^(orders-.*)$");
        assert_eq!(subscription_pattern("^a|b$"), "^(a|b)$");
    }
}
