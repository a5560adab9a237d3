use std::collections::BTreeMap;
use std::sync::Arc;

use super::{SchemaRef, Value};

/// A schema (`None` = schemaless) and a value: Connect's `SchemaAndValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl Data {
    pub const NULL: Data = Data {
        schema: None,
        value: Value::Null,
    };
    pub fn new(schema: Option<SchemaRef>, value: Value) -> Self {
        Data { schema, value }
    }
    pub fn schemaless(value: Value) -> Self {
        Data {
            schema: None,
            value,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub value: Data,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// Connect's `ConnectRecord`: what transforms see and sinks receive.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    /// Set on sink records; `None` on a source record lets the partitioner choose.
    pub kafka_partition: Option<i32>,
    /// Set on sink records only.
    pub kafka_offset: Option<i64>,
    /// Epoch milliseconds.
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key: Data,
    pub value: Data,
    pub headers: Vec<Header>,
}

impl ConnectRecord {
    pub fn new(topic: impl Into<String>, key: Data, value: Data) -> Self {
        ConnectRecord {
            topic: topic.into(),
            kafka_partition: None,
            kafka_offset: None,
            timestamp: None,
            timestamp_type: TimestampType::NoTimestampType,
            key,
            value,
            headers: Vec::new(),
        }
    }
}

/// A source partition or offset: a string-keyed map of primitives (JSON scalars). Sorted
/// keys give one canonical JSON encoding, which the offset store uses as its key.
pub type OffsetMap = BTreeMap<String, serde_json::Value>;

/// A record from a source task with the position it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Shared: consecutive records of one source partition usually carry the same map, and
    /// the decoder and the offset tracker then handle it once instead of once per record.
    pub source_partition: Arc<OffsetMap>,
    pub source_offset: OffsetMap,
    pub record: ConnectRecord,
}

/// A committed source position handed back to a starting source task.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePosition {
    pub partition: OffsetMap,
    pub offset: OffsetMap,
}
