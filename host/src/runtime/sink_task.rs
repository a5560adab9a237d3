//! The sink task loop: consume, convert, `put(batch)`, then `flush` and commit offsets.
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
use super::connector::{Converters, TaskControl};
use super::plugin::TaskId;
use super::task::{SinkTask, TaskError, TopicPartitionOffset};
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

/// Converts one consumed message.
// TODO(next): errors.tolerance=all + DLQ: report the raw message instead of failing.
fn to_connect(msg: &BorrowedMessage<'_>, c: &Converters) -> Result<ConnectRecord, String> {
    let topic = msg.topic();
    let at = || format!("{topic}-{}@{}", msg.partition(), msg.offset());
    let mut headers = Vec::new();
    if let Some(hs) = msg.headers() {
        for h in hs.iter() {
            let value = c
                .header
                .to_connect_header(topic, h.key, h.value)
                .map_err(|e| {
                    format!(
                        "converting header {:?} of record {} failed: {e}",
                        h.key,
                        at()
                    )
                })?;
            headers.push(Header {
                key: h.key.to_string(),
                value,
            });
        }
    }
    let key = c
        .key
        .to_connect(topic, msg.key())
        .map_err(|e| format!("converting the key of record {} failed: {e}", at()))?;
    let value = c
        .value
        .to_connect(topic, msg.payload())
        .map_err(|e| format!("converting the value of record {} failed: {e}", at()))?;
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
    } = setup;
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
    while !control.stopping() {
        if let Some(f) = shared.lock().failure.take() {
            failure = Some(f);
            break;
        }
        let batch = match collect(&consumer, &converters, &mut poll_throttle) {
            Ok(b) => b,
            Err(f) => {
                failure = Some(f);
                break;
            }
        };
        if !batch.is_empty() {
            match deliver(&shared, batch, &control) {
                Ok(true) => {}
                Ok(false) => break, // stopped while retrying
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
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

/// Up to [`MAX_BATCH`] converted records; waits at most [`FIRST_RECORD_WAIT`] for the first.
fn collect(
    consumer: &BaseConsumer<SinkContext>,
    c: &Converters,
    throttle: &mut WarnThrottle,
) -> Result<Vec<ConnectRecord>, String> {
    let mut out = Vec::new();
    let mut wait = FIRST_RECORD_WAIT;
    while out.len() < MAX_BATCH {
        match consumer.poll(wait) {
            None => break,
            Some(Ok(msg)) => {
                out.push(to_connect(&msg, c)?);
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
    Ok(out)
}

/// `put`s one batch, retrying it on `Retriable`; on success records the next offsets.
/// Returns `Ok(false)` when stopped while retrying (the batch is then not committed).
fn deliver(
    shared: &Mutex<SinkShared>,
    batch: Vec<ConnectRecord>,
    control: &TaskControl,
) -> Result<bool, String> {
    // Kept aside because `put` consumes the batch; needed for offsets and error messages.
    let positions: Vec<(String, i32, i64)> = batch
        .iter()
        .map(|r| {
            (
                r.topic.clone(),
                r.kafka_partition.unwrap_or(-1),
                r.kafka_offset.unwrap_or(-1),
            )
        })
        .collect();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    // `put` consumes the batch, so a copy is kept for a retriable failure (Kafka Connect also
    // redelivers the same batch). The copy is cheap next to encoding it for the plugin.
    let mut pending = Some(batch);
    loop {
        let Some(records) = pending.take() else {
            return Ok(false);
        };
        let keep = records.clone();
        let result = shared.lock().task.put(records);
        match result {
            Ok(failures) if failures.is_empty() => break,
            Ok(failures) => {
                // TODO(next): errors.tolerance=all sends these to the DLQ and continues.
                let first = &failures[0];
                let at = positions
                    .get(first.index as usize)
                    .map(|(t, p, o)| format!("{t}-{p}@{o}"))
                    .unwrap_or_else(|| format!("#{}", first.index));
                return Err(format!(
                    "the sink rejected {} record(s) and no dead letter queue is configured; first: record {at}: {}",
                    failures.len(),
                    first.message
                ));
            }
            Err(TaskError::Retriable(m)) => {
                tracing::warn!(
                    records = positions.len(),
                    "put failed, retrying the same batch: {m}"
                );
                // TODO(next): pause the assignment and keep polling so a retry loop longer
                // than max.poll.interval.ms does not cost the group membership.
                if !backoff.sleep(&control.stop) {
                    return Ok(false);
                }
                pending = Some(keep);
            }
            Err(e) => return Err(format!("put failed: {e}")),
        }
    }
    let mut s = shared.lock();
    for (topic, partition, offset) in positions {
        let tp = (topic, partition);
        // A partition revoked while this batch was being collected belongs to another task now.
        if s.assigned.contains(&tp) {
            let next = s.uncommitted.entry(tp).or_insert(offset + 1);
            *next = (*next).max(offset + 1);
        }
    }
    Ok(true)
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
