//! Converters: Kafka bytes <-> Connect data, byte-compatible with Kafka Connect's
//! `JsonConverter`, `StringConverter`, `ByteArrayConverter` and `SimpleHeaderConverter`, and
//! Confluent's `AvroConverter`, `JsonSchemaConverter` and `ProtobufConverter` (Schema Registry
//! wire format).
//!
//! Converters live in the host (as in Kafka Connect), so plugins only ever see structured
//! data. Kafka's class names are the config values.

use std::sync::Arc;

use crate::config::ConverterConfig;
use crate::data::Data;

/// A converter failed on one record (Connect's `DataException`), or — when
/// [`transient`](ConvertError::is_transient) — on something outside the record, such as a
/// schema registry that cannot be reached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String, bool);

impl ConvertError {
    /// The record cannot be converted: a record error, handled by `errors.tolerance`.
    pub fn new(message: impl Into<String>) -> Self {
        ConvertError(message.into(), false)
    }

    /// Converting failed for a reason that may pass (the registry is down): the task retries
    /// the same record per `errors.retry.*` and then fails; the record never goes to the DLQ,
    /// so an outage loses nothing.
    pub fn transient(message: impl Into<String>) -> Self {
        ConvertError(message.into(), true)
    }

    pub fn is_transient(&self) -> bool {
        self.1
    }
}

/// A configured key or value converter.
// The method names mirror Kafka's `fromConnectData`/`toConnectData`.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send + Sync {
    /// Connect data -> bytes; `None` is a Kafka null (tombstone).
    fn from_connect(&self, topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError>;
    /// Bytes (`None` for a Kafka null) -> Connect data.
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError>;
}

/// A configured header converter.
#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send + Sync {
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        data: &Data,
    ) -> Result<Option<Vec<u8>>, ConvertError>;
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Data, ConvertError>;
}

pub(crate) mod avro;
mod bytearray;
mod framed;
mod header;
mod json;
mod json_schema;
mod protobuf;
mod string;

#[cfg(test)]
pub(crate) use avro::tests::every_type as avro_every_type;
pub use avro::{to_avro, AvroConverter, AvroConverterConfig, SubjectNameStrategy};
pub use bytearray::ByteArrayConverter;
pub use framed::{FramedConverter, RegistryConverterConfig};
pub use header::SimpleHeaderConverter;
pub use json::{DecimalFormat, JsonConverter, JsonConverterConfig};
pub use json_schema::JsonSchemaConverter;
pub(crate) use protobuf::proto_file;
pub use protobuf::ProtobufConverter;
pub use string::StringConverter;

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const BYTE_ARRAY: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
const SIMPLE_HEADER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";
const AVRO: &str = "io.confluent.connect.avro.AvroConverter";
const JSON_SCHEMA: &str = "io.confluent.connect.json.JsonSchemaConverter";
const PROTOBUF: &str = "io.confluent.connect.protobuf.ProtobufConverter";

/// Which converter a class name denotes: Kafka's FQCN, the simple class name, or the simple
/// name without its `Converter` suffix (Kafka's plugin aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    String,
    ByteArray,
    SimpleHeader,
    Avro,
    JsonSchema,
    Protobuf,
}

fn kind(class: &str) -> Option<Kind> {
    let class = class.trim();
    let simple = class.rsplit('.').next().unwrap_or(class);
    // Only our own package prefix or no package at all: a different package's
    // `JsonConverter` (e.g. a schema-registry one) is not ours.
    let packaged_ok = |fqcn: &str| class == fqcn || !class.contains('.');
    match simple {
        "JsonConverter" | "Json" if packaged_ok(JSON) => Some(Kind::Json),
        "StringConverter" | "String" if packaged_ok(STRING) => Some(Kind::String),
        "ByteArrayConverter" | "ByteArray" if packaged_ok(BYTE_ARRAY) => Some(Kind::ByteArray),
        "SimpleHeaderConverter" | "SimpleHeader" if packaged_ok(SIMPLE_HEADER) => {
            Some(Kind::SimpleHeader)
        }
        "AvroConverter" | "Avro" if packaged_ok(AVRO) => Some(Kind::Avro),
        "JsonSchemaConverter" | "JsonSchema" if packaged_ok(JSON_SCHEMA) => Some(Kind::JsonSchema),
        "ProtobufConverter" | "Protobuf" if packaged_ok(PROTOBUF) => Some(Kind::Protobuf),
        _ => None,
    }
}

/// Builds a key or value converter from its class name and properties (`schemas.enable`, ...).
pub fn converter(
    config: &ConverterConfig,
    is_key: bool,
) -> Result<Arc<dyn Converter>, ConvertError> {
    let with_class = |e: ConvertError| ConvertError::new(format!("{}: {}", config.class, e.0));
    match kind(&config.class) {
        Some(Kind::Json) => Ok(Arc::new(
            JsonConverter::from_props(&config.props).map_err(with_class)?,
        )),
        Some(Kind::String) => Ok(Arc::new(
            StringConverter::from_props(&config.props).map_err(with_class)?,
        )),
        Some(Kind::ByteArray) => Ok(Arc::new(ByteArrayConverter)),
        // `is_key` picks the subject (`<topic>-key` or `<topic>-value`).
        Some(Kind::Avro) => Ok(Arc::new(
            AvroConverter::from_props(&config.props, is_key).map_err(with_class)?,
        )),
        Some(Kind::JsonSchema) => Ok(Arc::new(
            JsonSchemaConverter::from_props(&config.props, is_key).map_err(with_class)?,
        )),
        Some(Kind::Protobuf) => Ok(Arc::new(
            ProtobufConverter::from_props(&config.props, is_key).map_err(with_class)?,
        )),
        Some(Kind::SimpleHeader) | None => Err(ConvertError::new(format!(
            "converter class '{}' is not available; accepted: {} (or their simple names)",
            config.class,
            converter_classes().join(", ")
        ))),
    }
}

/// Builds a header converter (default class org.apache.kafka.connect.storage.SimpleHeaderConverter).
pub fn header_converter(
    config: &ConverterConfig,
) -> Result<Arc<dyn HeaderConverter>, ConvertError> {
    let with_class = |e: ConvertError| ConvertError::new(format!("{}: {}", config.class, e.0));
    match kind(&config.class) {
        Some(Kind::SimpleHeader) => Ok(Arc::new(SimpleHeaderConverter)),
        Some(Kind::Json) => Ok(Arc::new(
            JsonConverter::from_props(&config.props).map_err(with_class)?,
        )),
        Some(Kind::String) => Ok(Arc::new(
            StringConverter::from_props(&config.props).map_err(with_class)?,
        )),
        Some(Kind::ByteArray) => Ok(Arc::new(ByteArrayConverter)),
        Some(Kind::Avro | Kind::JsonSchema | Kind::Protobuf) | None => {
            Err(ConvertError::new(format!(
            "header converter class '{}' is not available; accepted: {} (or their simple names)",
            config.class,
            header_converter_classes().join(", ")
        )))
        }
    }
}

/// Class names accepted for key/value converters (for error messages and REST plugin listing).
pub fn converter_classes() -> &'static [&'static str] {
    &[JSON, STRING, BYTE_ARRAY, AVRO, JSON_SCHEMA, PROTOBUF]
}

/// Class names accepted for header converters: `SimpleHeaderConverter` plus the key/value
/// converters.
pub fn header_converter_classes() -> &'static [&'static str] {
    &[SIMPLE_HEADER, JSON, STRING, BYTE_ARRAY]
}

/// The JsonConverter type name of a schema type (`float`, not `float32`), for messages.
pub(crate) fn json_type_name(ty: crate::data::SchemaType) -> &'static str {
    ty.json_name()
}

/// A short name of a value's kind, for messages.
pub(crate) fn value_kind(v: &crate::data::Value) -> &'static str {
    use crate::data::Value;
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Int16(_) => "int16",
        Value::Int32(_) => "int32",
        Value::Int64(_) => "int64",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Struct(_) => "struct",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::{Data, Value};

    fn cc(class: &str, props: &[(&str, &str)]) -> ConverterConfig {
        ConverterConfig {
            class: class.into(),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn builds_by_fqcn_and_simple_name() {
        for class in [JSON, "JsonConverter", "Json"] {
            let c = converter(&cc(class, &[("schemas.enable", "false")]), false).expect(class);
            let out = c
                .from_connect("t", &Data::schemaless(Value::Int64(1)))
                .unwrap();
            assert_eq!(out, Some(b"1".to_vec()), "{class}");
        }
        assert!(converter(&cc(STRING, &[]), true).is_ok());
        assert!(converter(&cc("ByteArrayConverter", &[]), false).is_ok());
        assert!(header_converter(&cc(SIMPLE_HEADER, &[])).is_ok());
        assert!(header_converter(&cc("JsonConverter", &[])).is_ok());
    }

    #[test]
    fn unknown_class_lists_accepted_ones() {
        let e = converter(
            &cc("io.confluent.connect.thrift.ThriftConverter", &[]),
            false,
        )
        .map(|_| ())
        .expect_err("unknown");
        assert!(
            e.0.contains("ThriftConverter")
                && e.0.contains(JSON)
                && e.0.contains(AVRO)
                && e.0.contains(PROTOBUF),
            "{e}"
        );
        assert!(converter(
            &cc(
                "ProtobufConverter",
                &[("schema.registry.url", "http://h:1")]
            ),
            false
        )
        .is_ok());
        // AvroConverter needs its registry.
        let e = converter(&cc(AVRO, &[]), false)
            .map(|_| ())
            .expect_err("no url");
        assert!(e.0.contains("schema.registry.url"), "{e}");
        assert!(converter(
            &cc("AvroConverter", &[("schema.registry.url", "http://h:1")]),
            true
        )
        .is_ok());
        assert!(converter(&cc("com.other.JsonConverter", &[]), false).is_err());
        assert!(converter(&cc(SIMPLE_HEADER, &[]), false).is_err());
        let e = converter(&cc(JSON, &[("decimal.format", "x")]), false)
            .map(|_| ())
            .expect_err("bad prop");
        assert!(
            e.0.starts_with(JSON) && e.0.contains("decimal.format"),
            "{e}"
        );
    }
}
