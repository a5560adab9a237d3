//! A consumed Kafka message as a Connect record, through the task's converters; and the
//! message's raw bytes for the dead letter queue.
//!
//! Design decision: conversion borrows the consumed message (kept, not copied, until its batch
//! is done), and a failure names its stage and converter class so `errors.*` can report it as
//! Kafka Connect does.

use rdkafka::message::{Headers, Message, Timestamp};

use crate::data::{ConnectRecord, Header, TimestampType};
use crate::kafka::fetch::Fetched;
use crate::runtime::connector::{ConverterClasses, Converters};
use crate::runtime::errors::{ConvertFailure, OriginalRecord, Stage};
use crate::runtime::retry::RetryPolicy;

/// The consumed message's bytes, kept for the dead letter queue.
pub(super) fn original(msg: &Fetched<'_>) -> OriginalRecord {
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

/// Converts one consumed message; a failure names its stage and converter class. A transient
/// converter failure (an unreachable schema registry) is retried per `retry` first.
pub(super) fn to_connect(
    msg: &Fetched<'_>,
    c: &Converters,
    classes: &ConverterClasses,
    retry: &RetryPolicy,
) -> Result<ConnectRecord, ConvertFailure> {
    let topic = msg.topic();
    let mut headers = Vec::new();
    if let Some(hs) = msg.headers() {
        for h in hs.iter() {
            let value = retry
                .run_conversion(|| c.header.to_connect_header(topic, h.key, h.value))
                .map_err(|e| {
                    ConvertFailure::new(
                        Stage::HeaderConverter,
                        &classes.header,
                        &e,
                        format!("converting header {:?} failed: {e}", h.key),
                    )
                })?;
            headers.push(Header {
                key: h.key.to_string(),
                value,
            });
        }
    }
    let key = retry
        .run_conversion(|| c.key.to_connect(topic, msg.key()))
        .map_err(|e| {
            ConvertFailure::new(
                Stage::KeyConverter,
                &classes.key,
                &e,
                format!("converting the key failed: {e}"),
            )
        })?;
    let value = retry
        .run_conversion(|| c.value.to_connect(topic, msg.payload()))
        .map_err(|e| {
            ConvertFailure::new(
                Stage::ValueConverter,
                &classes.value,
                &e,
                format!("converting the value failed: {e}"),
            )
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
