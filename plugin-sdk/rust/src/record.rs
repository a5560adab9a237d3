//! Records: [`Record`] (Connect's `ConnectRecord`/`SinkRecord`), [`SourceRecord`] with its
//! source partition and offset, headers, and the small task-level types shared by the
//! plugin traits ([`TaskError`], [`RecordFailure`], [`TopicPartitionOffset`]).
//!
//! Key and value each carry an optional schema next to the value (Connect's
//! `keySchema()/key()`): `None` means schemaless data, as with JsonConverter
//! `schemas.enable=false`.

use std::fmt;

use crate::schema::SchemaRef;
use crate::value::Value;

/// How the record timestamp was set (Kafka's `TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// A record header: a key and a schema/value pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// A Connect record: what transforms see, what sinks receive, and the payload of a
/// [`SourceRecord`].
///
/// ```
/// use sluice_plugin_sdk::{Record, Schema, Value};
///
/// let string = Schema::string().into_ref();
/// let record = Record::new("events")
///     .with_key(Some(string.clone()), "k1")
///     .with_value(Some(string), "hello")
///     .with_timestamp(1_700_000_000_000);
/// assert_eq!(record.value, Value::from("hello"));
/// assert_eq!(record.partition, None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    /// Kafka partition: set on sink records; on source records `None` lets the producer's
    /// partitioner choose.
    pub partition: Option<i32>,
    /// Kafka offset: set on sink records only.
    pub offset: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub headers: Vec<Header>,
}

impl Record {
    /// A record for `topic` with null key and value and no timestamp.
    pub fn new(topic: impl Into<String>) -> Record {
        Record {
            topic: topic.into(),
            partition: None,
            offset: None,
            timestamp: None,
            timestamp_type: TimestampType::NoTimestampType,
            key_schema: None,
            key: Value::Null,
            value_schema: None,
            value: Value::Null,
            headers: Vec::new(),
        }
    }
    pub fn with_key(mut self, schema: Option<SchemaRef>, key: impl Into<Value>) -> Record {
        self.key_schema = schema;
        self.key = key.into();
        self
    }
    pub fn with_value(mut self, schema: Option<SchemaRef>, value: impl Into<Value>) -> Record {
        self.value_schema = schema;
        self.value = value.into();
        self
    }
    pub fn with_partition(mut self, partition: i32) -> Record {
        self.partition = Some(partition);
        self
    }
    /// Sets a create-time timestamp (epoch milliseconds).
    pub fn with_timestamp(mut self, epoch_millis: i64) -> Record {
        self.timestamp = Some(epoch_millis);
        self.timestamp_type = TimestampType::CreateTime;
        self
    }
    pub fn with_header(
        mut self,
        key: impl Into<String>,
        schema: Option<SchemaRef>,
        value: impl Into<Value>,
    ) -> Record {
        self.headers.push(Header {
            key: key.into(),
            schema,
            value: value.into(),
        });
        self
    }
}

/// Which half of a record a `$Key`/`$Value` transform works on.
///
/// Kafka's key/value SMTs come as two classes (`...$Key`, `...$Value`) sharing one
/// implementation; [`Side::of_class`] picks the half from the class the host instantiated and
/// [`Record::update_side`] rewrites that half's schema and value together.
///
/// ```
/// use sluice_plugin_sdk::{Record, Side, Value};
///
/// let side = Side::of_class("org.apache.kafka.connect.transforms.HoistField$Key");
/// assert_eq!(side, Side::Key);
///
/// let mut record = Record::new("t").with_key(None, "k").with_value(None, "v");
/// record
///     .update_side(side, |schema, key| match key {
///         Value::String(s) => Ok::<_, String>((schema, Value::String(s.to_uppercase()))),
///         other => Err(format!("expected a string key, got {other:?}")),
///     })
///     .unwrap();
/// assert_eq!(record.key, Value::from("K"));
/// assert_eq!(record.value, Value::from("v"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    /// `Key` for a class (or alias) ending in `$Key`, else `Value`.
    pub fn of_class(class: &str) -> Side {
        if class.ends_with("$Key") {
            Side::Key
        } else {
            Side::Value
        }
    }
}

impl Record {
    /// Replaces the schema and value of one `side` with what `f` makes of them.
    ///
    /// `f` gets both by value (no clone). On `Err` the error is returned and that side is
    /// left null without a schema: the caller is expected to fail the record.
    pub fn update_side<E>(
        &mut self,
        side: Side,
        f: impl FnOnce(Option<SchemaRef>, Value) -> Result<(Option<SchemaRef>, Value), E>,
    ) -> Result<(), E> {
        let (schema, value) = match side {
            Side::Key => (&mut self.key_schema, &mut self.key),
            Side::Value => (&mut self.value_schema, &mut self.value),
        };
        let (new_schema, new_value) = f(schema.take(), std::mem::replace(value, Value::Null))?;
        *schema = new_schema;
        *value = new_value;
        Ok(())
    }
}

/// A primitive in a source partition or offset map (Connect allows only primitives there).
#[derive(Debug, Clone, PartialEq)]
pub enum OffsetValue {
    Null,
    Boolean(bool),
    Int(i64),
    Float(f64),
    String(String),
}

impl OffsetValue {
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            OffsetValue::Int(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OffsetValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for OffsetValue {
    fn from(v: i64) -> Self {
        OffsetValue::Int(v)
    }
}
impl From<i32> for OffsetValue {
    fn from(v: i32) -> Self {
        OffsetValue::Int(v.into())
    }
}
impl From<u32> for OffsetValue {
    fn from(v: u32) -> Self {
        OffsetValue::Int(v.into())
    }
}
impl From<bool> for OffsetValue {
    fn from(v: bool) -> Self {
        OffsetValue::Boolean(v)
    }
}
impl From<f64> for OffsetValue {
    fn from(v: f64) -> Self {
        OffsetValue::Float(v)
    }
}
impl From<String> for OffsetValue {
    fn from(v: String) -> Self {
        OffsetValue::String(v)
    }
}
impl From<&str> for OffsetValue {
    fn from(v: &str) -> Self {
        OffsetValue::String(v.to_owned())
    }
}

/// A source partition or source offset: a string-keyed map of primitives, in insertion order.
///
/// ```
/// use sluice_plugin_sdk::OffsetMap;
///
/// let offset = OffsetMap::new().with("position", 42i64);
/// assert_eq!(offset.get_i64("position"), Some(42));
/// assert_eq!(offset.get_str("position"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetMap(pub Vec<(String, OffsetValue)>);

impl OffsetMap {
    pub fn new() -> OffsetMap {
        OffsetMap(Vec::new())
    }
    /// Adds (or replaces) an entry.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<OffsetValue>) -> OffsetMap {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
        self
    }
    pub fn get(&self, key: &str) -> Option<&OffsetValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(OffsetValue::as_i64)
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(OffsetValue::as_str)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OffsetValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A record produced by a source, with the position it was read from. The host commits
/// `source_offset` for `source_partition` once Kafka has acknowledged the record.
///
/// ```
/// use sluice_plugin_sdk::{OffsetMap, Record, Schema, SourceRecord};
///
/// let record = SourceRecord::new(
///     OffsetMap::new().with("filename", "/data/in.txt"),
///     OffsetMap::new().with("position", 6i64),
///     Record::new("lines").with_value(Some(Schema::string().into_ref()), "hello"),
/// );
/// assert_eq!(record.source_offset.get_i64("position"), Some(6));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub source_partition: OffsetMap,
    pub source_offset: OffsetMap,
    pub record: Record,
}

impl SourceRecord {
    pub fn new(source_partition: OffsetMap, source_offset: OffsetMap, record: Record) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            record,
        }
    }
}

/// A committed source position, handed to [`Source::open`](crate::Source::open).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourcePosition {
    pub partition: OffsetMap,
    pub offset: OffsetMap,
}

/// A failure of a whole task call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// A transient problem: the host retries the same call with backoff.
    Retriable(String),
    /// The task cannot go on: it is marked FAILED with this message.
    Fatal(String),
}

impl TaskError {
    pub fn fatal(message: impl Into<String>) -> TaskError {
        TaskError::Fatal(message.into())
    }
    pub fn retriable(message: impl Into<String>) -> TaskError {
        TaskError::Retriable(message.into())
    }
    /// A task opened with a config its `validate` would refuse: every problem on one line,
    /// `config `key`: message; …`, so the task's trace names each key.
    pub fn invalid_config(problems: &[crate::config::ConfigProblem]) -> TaskError {
        TaskError::Fatal(crate::config::ConfigProblem::join(problems))
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Retriable(m) => write!(f, "retriable: {m}"),
            TaskError::Fatal(m) => write!(f, "fatal: {m}"),
        }
    }
}

impl std::error::Error for TaskError {}

impl From<crate::config::ConfigError> for TaskError {
    fn from(e: crate::config::ConfigError) -> Self {
        TaskError::Fatal(e.to_string())
    }
}

/// A single record a sink could not write; `index` is its position in the batch given to
/// [`Sink::put`](crate::Sink::put).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub index: u32,
    pub message: String,
}

/// A sink's consumed position for one partition: the offset of the next record to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A top-level key or value of a [`RecordRef`]: a string or bytes value borrowed from the
/// host's batch, or any other value decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Owned(Value),
}

impl ValueRef<'_> {
    /// The value as an owned [`Value`] (copies a borrowed string or bytes).
    pub fn to_value(&self) -> Value {
        match self {
            ValueRef::Str(s) => Value::String((*s).to_owned()),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Owned(v) => v.clone(),
        }
    }

    /// The value as an owned [`Value`], moving a decoded one.
    pub fn into_value(self) -> Value {
        match self {
            ValueRef::Owned(v) => v,
            other => other.to_value(),
        }
    }
}

/// A sink record borrowed from the batch the host sent (see [`BorrowedSink`]): the topic
/// and top-level string or bytes keys and values point into the batch instead of being
/// copied into a [`Record`] of their own.
///
/// [`BorrowedSink`]: crate::BorrowedSink
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRef<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key_schema: Option<SchemaRef>,
    pub key: ValueRef<'a>,
    pub value_schema: Option<SchemaRef>,
    pub value: ValueRef<'a>,
    pub headers: Vec<Header>,
}

impl<'a> From<&'a Record> for RecordRef<'a> {
    /// Borrows what a batch would lend (the topic, a top-level string or bytes key and
    /// value): how a test hands [`BorrowedSink::put_borrowed`](crate::BorrowedSink) the
    /// records it gives `put`.
    fn from(r: &'a Record) -> RecordRef<'a> {
        let borrow = |v: &'a Value| match v {
            Value::String(s) => ValueRef::Str(s),
            Value::Bytes(b) => ValueRef::Bytes(b),
            other => ValueRef::Owned(other.clone()),
        };
        RecordRef {
            topic: &r.topic,
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: r.timestamp_type,
            key_schema: r.key_schema.clone(),
            key: borrow(&r.key),
            value_schema: r.value_schema.clone(),
            value: borrow(&r.value),
            headers: r.headers.clone(),
        }
    }
}

impl RecordRef<'_> {
    /// The same record, owned.
    pub fn into_record(self) -> Record {
        Record {
            topic: self.topic.to_owned(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key_schema: self.key_schema,
            key: self.key.into_value(),
            value_schema: self.value_schema,
            value: self.value.into_value(),
            headers: self.headers,
        }
    }
}
