//! Converters: Kafka bytes <-> Connect data, byte-compatible with Kafka Connect's
//! `JsonConverter`, `StringConverter`, `ByteArrayConverter` and `SimpleHeaderConverter`.
//!
//! Converters live in the host (as in Kafka Connect), so plugins only ever see structured
//! data. Kafka's class names are the config values.

use crate::data::Data;

/// A converter failed on one record (Connect's `DataException`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

/// A configured key or value converter.
pub trait Converter: Send + Sync {
    /// Connect data -> bytes; `None` is a Kafka null (tombstone).
    fn from_connect(&self, topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError>;
    /// Bytes (`None` for a Kafka null) -> Connect data.
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError>;
}

/// A configured header converter.
pub trait HeaderConverter: Send + Sync {
    fn from_connect_header(&self, topic: &str, key: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError>;
    fn to_connect_header(&self, topic: &str, key: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError>;
}
