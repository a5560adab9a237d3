//! Sink connector offsets for `GET/PATCH/DELETE /connectors/{name}/offsets` (KIP-875): the
//! committed offsets of the connector's consumer group (`connect-<name>`, or
//! `consumer.override.group.id`).
//!
//! Design decisions, forced by what rdkafka 0.39 exposes (no ListConsumerGroupOffsets,
//! AlterConsumerGroupOffsets or DeleteConsumerGroupOffsets in its admin client):
//! - **Read**: an unsubscribed consumer in the group fetches the committed offsets
//!   (OffsetFetch) of every partition of the connector's topics (`topics`, or the topics
//!   matching `topics.regex`). Kafka lists every partition the group ever committed; a topic
//!   the connector no longer consumes is not shown here.
//! - **Alter**: a consumer joins the group (the connector is STOPPED, so it is the only member
//!   and is assigned every partition) and commits the new offsets, then leaves. A commit made
//!   outside a generation is accepted by tansu but not read back by the group's next members.
//! - **Remove one partition's offset** (`"offset": null`): commits the partition's low
//!   watermark instead of deleting the offset. The sink consumer resets to `earliest`, so
//!   the task resumes at the same record either way; `GET` then shows that offset.
//! - **Reset** (`DELETE`): deletes the consumer group (DeleteGroups, as Kafka does); a broker
//!   that refuses gets the low watermark of every partition committed instead.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Map, Value as JsonValue};

use super::{ConnectorOffset, SinkOffset};
use crate::config::{get, Config};
use crate::kafka::sink_topics::SinkTopics;
use crate::kafka::KafkaSettings;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a sink connector's group offsets could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum GroupOffsetsError {
    /// A Kafka request failed; `action` says which ("read the topic metadata", …).
    #[error("cannot {action}: {source}")]
    Kafka {
        action: String,
        #[source]
        source: KafkaError,
    },
    #[error("invalid offset for {topic}-{partition}: {source}")]
    InvalidOffset {
        topic: String,
        partition: i32,
        #[source]
        source: KafkaError,
    },
    #[error("topics.regex is not a valid regex: {0}")]
    Regex(#[from] regex::Error),
}

/// `map_err` for a failed Kafka request.
fn failed(action: impl Into<String>) -> impl FnOnce(KafkaError) -> GroupOffsetsError {
    let action = action.into();
    move |source| GroupOffsetsError::Kafka { action, source }
}

/// The sink's consumer group: `consumer.override.group.id`, else `connect-<name>`.
fn group_id(name: &str, config: &Config) -> String {
    get(config, "consumer.override.group.id")
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map_or_else(|| format!("connect-{name}"), str::to_string)
}

fn consumer(
    kafka: &KafkaSettings,
    name: &str,
    config: &Config,
) -> Result<BaseConsumer, GroupOffsetsError> {
    let mut c = kafka.consumer_config(name, 0, config);
    // Not a group member: no static membership, its own client id.
    c.remove("group.instance.id");
    c.set("client.id", format!("connector-offsets-{name}"));
    c.set("group.id", group_id(name, config));
    c.create().map_err(failed(format!(
        "create a consumer for the offsets of {name}"
    )))
}

/// Every partition of the sink's topics (`topics`, or those matching `topics.regex`).
fn partitions(
    consumer: &BaseConsumer,
    config: &Config,
) -> Result<Vec<(String, i32)>, GroupOffsetsError> {
    let topics = SinkTopics::from_config(config)?;
    let metadata = consumer
        .fetch_metadata(None, TIMEOUT)
        .map_err(failed("read the topic metadata"))?;
    Ok(topics.partitions(&metadata))
}

/// The committed offsets of the sink's group, sorted by topic and partition.
pub fn read(
    kafka: &KafkaSettings,
    name: &str,
    config: &Config,
) -> Result<Vec<ConnectorOffset>, GroupOffsetsError> {
    let consumer = consumer(kafka, name, config)?;
    let parts = partitions(&consumer, config)?;
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut tpl = TopicPartitionList::new();
    for (t, p) in &parts {
        tpl.add_partition(t, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, TIMEOUT)
        .map_err(failed(format!("read the committed offsets of {name}")))?;
    let mut out = Vec::new();
    for e in committed.elements() {
        if let Offset::Offset(o) = e.offset() {
            out.push(sink_offset(e.topic(), e.partition(), Some(o)));
        }
    }
    Ok(out)
}

fn object(v: JsonValue) -> Map<String, JsonValue> {
    match v {
        JsonValue::Object(m) => m,
        _ => Map::new(),
    }
}

fn sink_offset(topic: &str, partition: i32, offset: Option<i64>) -> ConnectorOffset {
    ConnectorOffset {
        partition: object(json!({"kafka_topic": topic, "kafka_partition": partition})),
        offset: offset.map(|o| object(json!({"kafka_offset": o}))),
    }
}

/// Commits `offsets` for the group; `None` commits the partition's low watermark.
pub fn alter(
    kafka: &KafkaSettings,
    name: &str,
    config: &Config,
    offsets: &[SinkOffset],
) -> Result<(), GroupOffsetsError> {
    let consumer = consumer(kafka, name, config)?;
    let mut tpl = TopicPartitionList::new();
    for SinkOffset {
        topic,
        partition,
        offset,
    } in offsets
    {
        let offset = match offset {
            Some(o) => *o,
            None => {
                consumer
                    .fetch_watermarks(topic, *partition, TIMEOUT)
                    .map_err(failed(format!(
                        "read the earliest offset of {topic}-{partition}"
                    )))?
                    .0
            }
        };
        tpl.add_partition_offset(topic, *partition, Offset::Offset(offset))
            .map_err(|source| GroupOffsetsError::InvalidOffset {
                topic: topic.clone(),
                partition: *partition,
                source,
            })?;
    }
    // Commit as the group's only member (the connector is STOPPED): some brokers (tansu) keep
    // a commit made outside a generation apart from what the group's members read back.
    let topics: Vec<&str> = {
        let mut t: Vec<&str> = offsets.iter().map(|o| o.topic.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    consumer
        .subscribe(&topics)
        .map_err(failed(format!("join the consumer group of {name}")))?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    let wanted = offsets.len();
    loop {
        // Records polled here are never stored or committed (auto commit is off).
        let _ = consumer.poll(Duration::from_millis(100));
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        if assigned >= wanted || std::time::Instant::now() >= deadline {
            break;
        }
    }
    let result = consumer
        .commit(&tpl, CommitMode::Sync)
        .map_err(failed(format!("commit the offsets of {name}")));
    consumer.unsubscribe();
    result
}

/// Removes every committed offset of the group.
pub fn reset(kafka: &KafkaSettings, name: &str, config: &Config) -> Result<(), GroupOffsetsError> {
    let group = group_id(name, config);
    match delete_group(kafka, &group) {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::info!(
                connector = name,
                "cannot delete consumer group {group} ({e}); committing the earliest offsets instead"
            );
            let current = read(kafka, name, config)?;
            let all: Vec<SinkOffset> = current
                .iter()
                .filter_map(|o| {
                    Some(SinkOffset {
                        topic: o.partition.get("kafka_topic")?.as_str()?.to_string(),
                        partition: o.partition.get("kafka_partition")?.as_i64()? as i32,
                        offset: None,
                    })
                })
                .collect();
            if all.is_empty() {
                return Ok(());
            }
            alter(kafka, name, config, &all)
        }
    }
}

fn delete_group(kafka: &KafkaSettings, group: &str) -> Result<(), String> {
    let config = kafka.admin_config(&format!("connector-offsets-admin-{group}"));
    let owned = group.to_string();
    // The admin future only awaits a channel fed by rdkafka's own thread; a current-thread
    // runtime on a thread of our own blocks on it without touching the REST runtime.
    let result = std::thread::spawn(move || {
        let admin: AdminClient<DefaultClientContext> =
            config.create().map_err(|e| e.to_string())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        let opts = AdminOptions::new().request_timeout(Some(TIMEOUT));
        rt.block_on(admin.delete_groups(&[owned.as_str()], &opts))
            .map_err(|e| e.to_string())
    })
    .join()
    .unwrap_or_else(|_| Err("the admin request panicked".into()))?;
    for r in result {
        match r {
            Ok(_) => {}
            // No group: nothing was committed, which is what a reset wants.
            Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((g, code)) => return Err(format!("deleting group {g} failed: {code}")),
        }
    }
    Ok(())
}
