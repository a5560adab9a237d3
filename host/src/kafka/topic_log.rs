//! A compacted internal topic read as a log, like Kafka Connect's `KafkaBasedLog`: every
//! partition is read from the beginning, [`TopicLog::read_to_end`] returns once everything
//! written before the call has been seen, and [`TopicLog::send`] writes records and waits
//! until the broker acknowledged them. Also [`ensure_internal_topic`], which creates an
//! internal topic compacted when it is missing and refuses one that is not compacted.
//!
//! Design decisions: "the end" is each partition's high watermark taken when `read_to_end`
//! starts; the call waits until the consumer's position reached it, so a worker that answers
//! after a `read_to_end` has seen every acknowledged write of every other worker (Kafka
//! Connect's read-your-writes guarantee for its config topic). The end is the larger of the
//! broker's ListOffsets answer and the high watermark of the fetch that delivered the record
//! before it: tansu 0.6 answers ListOffsets(latest) with the *first* offset of a partition's
//! newest batch + 1, so the other records of a multi-record batch (one flush of several
//! source offsets, task configs with their commit) would be left unread; its fetch responses
//! carry the true high watermark. Records are produced with
//! librdkafka's `murmur2_random` partitioner, which places a keyed record on the same
//! partition as Java's default partitioner, so keys written by Sluice and by Kafka Connect
//! workers compact together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use super::KafkaSettings;
use crate::config::InternalTopic;

/// Why an internal topic could not be prepared, read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot create the Kafka {client} client for topic {topic}: {source}")]
    Client {
        client: &'static str,
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("topic {topic}: {message}")]
    Broker { topic: String, message: String },
    /// The broker did not answer (down, unreachable or frozen): worth retrying, unlike
    /// [`LogError::Broker`]'s refusals.
    #[error("topic {topic}: {message}")]
    Unreachable { topic: String, message: String },
    #[error("topic {topic} ({key}) must be compacted: it has cleanup.policy={policy}. Kafka Connect refuses such a topic too: records of deleted connectors and old offsets would be lost when segments expire. Set cleanup.policy=compact on it, or name another topic")]
    NotCompacted {
        topic: String,
        key: &'static str,
        policy: String,
    },
    #[error("topic {topic} ({key}) has {partitions} partitions; the config topic must have exactly 1, so its records stay in order")]
    ConfigTopicPartitions {
        topic: String,
        key: &'static str,
        partitions: usize,
    },
    #[error("topic {topic}: not read to its end within {waited:?} (is the broker reachable?)")]
    Timeout { topic: String, waited: Duration },
}

/// One record read from the log.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// What the broker acknowledged of [`TopicLog::send`]s: the first failure, and where each
/// delivered record landed (partition, offset).
#[derive(Default)]
struct Deliveries {
    failed: parking_lot::Mutex<Option<String>>,
    landed: parking_lot::Mutex<Vec<(i32, i64)>>,
}

struct DeliveryContext(Arc<Deliveries>);

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => self.0.landed.lock().push((m.partition(), m.offset())),
            Err((e, _)) => *self.0.failed.lock() = Some(e.to_string()),
        }
    }
}

/// An internal topic, read from its beginning and written with acknowledgement.
pub struct TopicLog {
    topic: String,
    consumer: BaseConsumer,
    producer: ThreadedProducer<DeliveryContext>,
    deliveries: Arc<Deliveries>,
    partitions: Vec<i32>,
    /// Per partition, the offset below which the caller holds every record: read through
    /// [`TopicLog::read_to_end`], or written with [`TopicLog::send_applied`] right after them.
    /// Ahead of the consumer's position only by the caller's own writes, which a read then
    /// neither waits for nor hands out again.
    applied: parking_lot::Mutex<std::collections::HashMap<i32, i64>>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl TopicLog {
    /// Opens the log of `topic` (which must exist), positioned at the beginning.
    pub fn open(kafka: &KafkaSettings, topic: &str, client_id: &str) -> Result<Self, LogError> {
        let client = |client: &'static str| {
            move |source| LogError::Client {
                client,
                topic: topic.to_string(),
                source,
            }
        };
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &kafka.bootstrap_servers)
            .set("client.id", format!("{client_id}-reader"))
            // Assigned partitions, no group: group.id is required by librdkafka only for
            // subscribe/commit, neither of which is used.
            .set("group.id", format!("{client_id}-unused"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("allow.auto.create.topics", "false");
        for (k, v) in &kafka.consumer {
            cc.set(k, v);
        }
        let consumer: BaseConsumer = cc.create().map_err(client("consumer"))?;
        let metadata = consumer
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| LogError::Broker {
                topic: topic.to_string(),
                message: format!("metadata request failed: {e}"),
            })?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().iter().map(|p| p.id()).collect())
            .unwrap_or_default();
        if partitions.is_empty() {
            return Err(LogError::Broker {
                topic: topic.to_string(),
                message: "the topic does not exist (or has no partitions)".into(),
            });
        }
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)
                .map_err(client("consumer"))?;
        }
        consumer.assign(&tpl).map_err(client("consumer"))?;

        let deliveries = Arc::new(Deliveries::default());
        let mut pc = ClientConfig::new();
        pc.set("bootstrap.servers", &kafka.bootstrap_servers)
            .set("client.id", format!("{client_id}-writer"))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            // Java's default partitioner for keyed records (murmur2), so Sluice and Kafka
            // Connect put the same key on the same partition.
            .set("partitioner", "murmur2_random");
        for (k, v) in &kafka.producer {
            pc.set(k, v);
        }
        let producer = pc
            .create_with_context(DeliveryContext(deliveries.clone()))
            .map_err(client("producer"))?;
        Ok(TopicLog {
            topic: topic.to_string(),
            consumer,
            producer,
            deliveries,
            partitions,
            applied: Default::default(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Reads until every record written before this call has been passed to `each`, in
    /// partition order (records of one partition in offset order).
    pub fn read_to_end(
        &self,
        timeout: Duration,
        stop: &AtomicBool,
        mut each: impl FnMut(LogRecord),
    ) -> Result<(), LogError> {
        let started = Instant::now();
        let mut ends = Vec::with_capacity(self.partitions.len());
        for p in &self.partitions {
            // Asked over the producer's connection, not the consumer's: the consumer keeps a
            // fetch outstanding (long poll) on its connection, and a broker answers requests
            // on one connection in order, so a ListOffsets sent behind that fetch waited for
            // it — up to `fetch.wait.max.ms`, ~0.5 s on tansu, for every read to the end,
            // idle or not.
            let (_, high) = self
                .producer
                .client()
                .fetch_watermarks(&self.topic, *p, REQUEST_TIMEOUT)
                .map_err(|e| LogError::Broker {
                    topic: self.topic.clone(),
                    message: format!("cannot read the end offset of partition {p}: {e}"),
                })?;
            ends.push((*p, high));
        }
        let mut positions: std::collections::HashMap<i32, i64> =
            self.partitions.iter().map(|p| (*p, 0)).collect();
        if let Ok(current) = self.consumer.position() {
            for e in current.elements() {
                if let Offset::Offset(o) = e.offset() {
                    positions.insert(e.partition(), o);
                }
            }
        }
        // The caller's own acknowledged writes count as read (see `send_applied`).
        let applied = self.applied.lock().clone();
        for (p, at) in &applied {
            let pos = positions.entry(*p).or_insert(0);
            *pos = (*pos).max(*at);
        }
        // Once past the listed end, the consumer has fetched the partition's newest batch, and
        // the high watermark of that fetch response (librdkafka caches it) is the true end as
        // of the call (see the module docs: tansu's ListOffsets under-reports).
        let done = |positions: &std::collections::HashMap<i32, i64>| {
            ends.iter().all(|(p, listed)| {
                let at = positions.get(p).copied().unwrap_or(0);
                at >= *listed && at >= self.fetched_high_watermark(*p)
            })
        };
        while !done(&positions) {
            if stop.load(Ordering::Relaxed) || started.elapsed() > timeout {
                return Err(LogError::Timeout {
                    topic: self.topic.clone(),
                    waited: started.elapsed(),
                });
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(e)) => {
                    tracing::warn!(topic = %self.topic, "reading internal topic: {e}");
                }
                Some(Ok(m)) => {
                    let at = positions.entry(m.partition()).or_insert(0);
                    *at = (*at).max(m.offset() + 1);
                    if applied.get(&m.partition()).is_some_and(|a| m.offset() < *a) {
                        // One of the caller's own writes, which it applied when it wrote it.
                        continue;
                    }
                    each(LogRecord {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                    });
                }
            }
        }
        let mut kept = self.applied.lock();
        for (p, at) in positions {
            if kept.contains_key(&p) {
                kept.insert(p, at);
            }
        }
        Ok(())
    }

    /// The high watermark of the last fetch response for `partition` (0 before any).
    fn fetched_high_watermark(&self, partition: i32) -> i64 {
        super::watermarks::cached_high_watermark(&self.consumer, &self.topic, partition)
            .unwrap_or(0)
    }

    /// Like [`TopicLog::send`], for a caller that applies `records` to its own state itself,
    /// right after a [`TopicLog::read_to_end`] (the schema registry does). When they landed
    /// directly after everything the caller has read, the next `read_to_end` counts them as
    /// read: it does not wait for the consumer to fetch them back, nor hand them out again.
    /// That wait was one fetch round trip per write (about 0.5 s on tansu, which holds a
    /// fetch for its full wait even when records arrive), paid by every registration that
    /// follows another. Records of other writers in between are still waited for and handed
    /// out: the shortcut applies only when the own records follow the read ones without a gap.
    pub fn send_applied(&self, records: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), LogError> {
        let mut read = self.applied.lock().clone();
        if let Ok(current) = self.consumer.position() {
            for e in current.elements() {
                if let Offset::Offset(o) = e.offset() {
                    let at = read.entry(e.partition()).or_insert(0);
                    *at = (*at).max(o);
                }
            }
        }
        let landed = self.send_landed(records)?;
        let mut by_partition: std::collections::BTreeMap<i32, Vec<i64>> = Default::default();
        for (p, o) in landed {
            by_partition.entry(p).or_default().push(o);
        }
        let mut applied = self.applied.lock();
        for (p, mut offsets) in by_partition {
            offsets.sort_unstable();
            let from = read.get(&p).copied().unwrap_or(0);
            let contiguous = offsets
                .iter()
                .enumerate()
                .all(|(i, o)| *o == from + i as i64);
            if contiguous {
                applied.insert(p, from + offsets.len() as i64);
            }
        }
        Ok(())
    }

    /// Writes records (a `None` value is a tombstone) and waits until the broker acknowledged
    /// all of them.
    pub fn send(&self, records: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), LogError> {
        self.send_landed(records).map(drop)
    }

    /// [`TopicLog::send`], returning where the records landed (partition, offset).
    fn send_landed(
        &self,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<Vec<(i32, i64)>, LogError> {
        self.deliveries.landed.lock().clear();
        for (key, value) in records {
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.topic).key(key.as_slice());
            if let Some(v) = value {
                record = record.payload(v.as_slice());
            }
            let deadline = Instant::now() + REQUEST_TIMEOUT * 3;
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((e, r))
                        if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull)
                            && Instant::now() < deadline =>
                    {
                        record = r;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err((e, _)) => {
                        return Err(LogError::Broker {
                            topic: self.topic.clone(),
                            message: format!("cannot produce: {e}"),
                        })
                    }
                }
            }
        }
        self.producer
            .flush(REQUEST_TIMEOUT * 3)
            .map_err(|e| LogError::Broker {
                topic: self.topic.clone(),
                message: format!("records not acknowledged: {e}"),
            })?;
        if let Some(e) = self.deliveries.failed.lock().take() {
            return Err(LogError::Broker {
                topic: self.topic.clone(),
                message: format!("a record was not delivered: {e}"),
            });
        }
        Ok(std::mem::take(&mut *self.deliveries.landed.lock()))
    }
}

/// Error codes of a CreateTopics answer that mean "not now" rather than "no".
fn transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::BrokerNotAvailable
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::BrokerTransportFailure
    )
}

/// Creates `topic` compacted when missing (with its configured partitions, replication factor
/// and extra configs); an existing one must be compacted, and a config topic must have one
/// partition. Returns whether it was created. A broker that does not answer is
/// [`LogError::Unreachable`] (retry); every other error is final.
pub fn ensure_internal_topic(
    kafka: &KafkaSettings,
    topic: &InternalTopic,
) -> Result<bool, LogError> {
    let err = |message: String| LogError::Broker {
        topic: topic.name.clone(),
        message,
    };
    let admin: AdminClient<DefaultClientContext> = kafka
        .admin_config("sluice-internal-topics")
        .create()
        .map_err(|source| LogError::Client {
            client: "admin",
            topic: topic.name.clone(),
            source,
        })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| err(format!("cannot build the admin runtime: {e}")))?;
    let unreachable = |message: String| LogError::Unreachable {
        topic: topic.name.clone(),
        message,
    };
    let metadata = admin
        .inner()
        .fetch_metadata(Some(&topic.name), REQUEST_TIMEOUT)
        .map_err(|e| unreachable(format!("metadata request failed: {e}")))?;
    let existing = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic.name && t.error().is_none())
        .map(|t| t.partitions().len())
        .filter(|n| *n > 0);
    let opts = AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT));
    let created = match existing {
        Some(partitions) => {
            if topic.key == "config.storage.topic" && partitions != 1 {
                return Err(LogError::ConfigTopicPartitions {
                    topic: topic.name.clone(),
                    key: topic.key,
                    partitions,
                });
            }
            false
        }
        None => {
            let partitions = topic.partitions.unwrap_or(-1);
            let rf = topic.replication_factor.map_or(-1, i32::from);
            let mut new_topic = NewTopic::new(&topic.name, partitions, TopicReplication::Fixed(rf))
                .set("cleanup.policy", "compact");
            for (k, v) in &topic.configs {
                new_topic = new_topic.set(k, v);
            }
            let results = runtime
                .block_on(admin.create_topics([&new_topic], &opts))
                .map_err(|e| unreachable(format!("CreateTopics request failed: {e}")))?;
            let mut created = true;
            for r in results {
                match r {
                    Ok(_) => {}
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => created = false,
                    Err((_, code)) if transient(code) => {
                        return Err(unreachable(format!("CreateTopics answered {code}")))
                    }
                    Err((_, code)) => {
                        return Err(err(format!(
                            "cannot create it ({} partitions, replication factor {rf}, \
                             cleanup.policy=compact; from {}): {code}",
                            partitions, topic.key
                        )))
                    }
                }
            }
            if created {
                tracing::info!(topic = %topic.name, key = topic.key, partitions, replication_factor = rf, "created internal topic (compacted)");
            }
            created
        }
    };
    // The cleanup policy of the topic as the broker reports it.
    let described =
        runtime.block_on(admin.describe_configs([&ResourceSpecifier::Topic(&topic.name)], &opts));
    match described {
        Ok(results) => {
            for r in results.into_iter().flatten() {
                if let Some(entry) = r.get("cleanup.policy") {
                    let policy = entry.value.clone().unwrap_or_default();
                    if policy.trim() != "compact" {
                        return Err(LogError::NotCompacted {
                            topic: topic.name.clone(),
                            key: topic.key,
                            policy,
                        });
                    }
                }
            }
        }
        Err(e) => tracing::warn!(
            topic = %topic.name,
            "cannot check the internal topic's cleanup.policy (DescribeConfigs failed: {e}); \
             make sure it is compacted"
        ),
    }
    Ok(created)
}
