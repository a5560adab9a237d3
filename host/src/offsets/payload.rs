//! Kafka Connect's offsets payload (KIP-875), as `GET/PATCH /connectors/{name}/offsets` carry
//! it: one `{"partition":{…},"offset":{…}|null}` per source partition, and for sinks the Kafka
//! forms `{"kafka_topic","kafka_partition"}` and `{"kafka_offset"}`.
//!
//! Design decision: partitions and offsets stay JSON maps here (a source's are whatever its
//! plugin chose); only a sink's are parsed, with Kafka's own error messages, because they name
//! Kafka partitions the worker commits for the connector's consumer group.

use serde_json::{Map, Value as JsonValue};

/// One entry of Kafka's offsets payload. For sinks the partition is
/// `{"kafka_topic","kafka_partition"}` and the offset `{"kafka_offset"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorOffset {
    pub partition: Map<String, JsonValue>,
    /// `None`: no offset.
    pub offset: Option<Map<String, JsonValue>>,
}

/// One entry of a `PATCH …/offsets` body, as the request gave it: each side `None` when JSON
/// null or missing (a `None` offset removes that partition's offset).
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetPatch {
    pub partition: Option<Map<String, JsonValue>>,
    pub offset: Option<Map<String, JsonValue>>,
}

/// A sink connector's offset for one Kafka partition: the next offset to consume, or `None`
/// for "no offset" (reset that partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: Option<i64>,
}

/// A sink offsets payload Kafka would refuse; the message is Kafka's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidOffsets(pub String);

/// Kafka's `SinkUtils.parseSinkConnectorOffsets`: `{"kafka_topic","kafka_partition"}` and
/// `{"kafka_offset"}|null`, numbers given as numbers or strings, with Kafka's messages.
pub fn parse_sink_offsets(offsets: &[OffsetPatch]) -> Result<Vec<SinkOffset>, InvalidOffsets> {
    let bad = InvalidOffsets;
    // Java's `String.valueOf` of a JSON value: strings without quotes.
    let text = |v: &JsonValue| match v {
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::with_capacity(offsets.len());
    for OffsetPatch { partition, offset } in offsets {
        let partition: &Map<String, JsonValue> = partition.as_ref().ok_or_else(|| {
            bad("The partition for a sink connector offset cannot be null or missing".into())
        })?;
        let (Some(topic), Some(part)) = (
            partition.get("kafka_topic"),
            partition.get("kafka_partition"),
        ) else {
            return Err(bad("The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'".into()));
        };
        if topic.is_null() {
            return Err(bad(
                "Kafka topic names must be valid strings and may not be null".into(),
            ));
        }
        if part.is_null() {
            return Err(bad(
                "Kafka partitions must be valid numbers and may not be null".into(),
            ));
        }
        let part: i32 = text(part).parse().map_err(|_| {
            bad(format!(
                "Failed to parse the following Kafka partition value in the provided offsets: '{}'. Partition values for sink connectors need to be integers.",
                text(part)
            ))
        })?;
        let offset = match offset {
            None => None,
            Some(o) => {
                let v = o.get("kafka_offset").ok_or_else(|| {
                    bad("The offset for a sink connector should either be null or contain the key 'kafka_offset'".into())
                })?;
                Some(text(v).parse::<i64>().map_err(|_| {
                    bad(format!(
                        "Failed to parse the following Kafka offset value in the provided offsets: '{}'. Offset values for sink connectors need to be integers.",
                        text(v)
                    ))
                })?)
            }
        };
        out.push(SinkOffset {
            topic: text(topic),
            partition: part,
            offset,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn obj(v: JsonValue) -> Map<String, JsonValue> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn sink_offsets_are_parsed_like_kafka() {
        let p = |v: JsonValue, o: Option<JsonValue>| OffsetPatch {
            partition: Some(obj(v)),
            offset: o.map(obj),
        };
        let ok = parse_sink_offsets(&[
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": "2"}),
                Some(serde_json::json!({"kafka_offset": 10})),
            ),
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": 3}),
                None,
            ),
        ])
        .unwrap();
        let sink = |partition, offset| SinkOffset {
            topic: "t".to_string(),
            partition,
            offset,
        };
        assert_eq!(ok, vec![sink(2, Some(10)), sink(3, None)]);
        let e = parse_sink_offsets(&[p(
            serde_json::json!({"kafka_topic": null, "kafka_partition": 1}),
            None,
        )]);
        assert_eq!(
            e,
            Err(InvalidOffsets(
                "Kafka topic names must be valid strings and may not be null".into()
            ))
        );
    }
}
