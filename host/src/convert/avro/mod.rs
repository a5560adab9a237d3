//! `io.confluent.connect.avro.AvroConverter`: Connect data <-> Avro binary in Confluent's
//! wire format (magic byte 0, the schema's 4-byte big-endian registry id, the Avro payload),
//! with schemas kept in a Schema Registry (`schema.registry.url`; Sluice's own embedded one or
//! any Confluent-compatible registry).
//!
//! Design decision: the registry is asked once per schema, never per record — written schemas
//! are cached by topic and Connect schema (`Arc` identity first, then equality) with their id, read
//! schemas by id as a compiled decoding plan. Both caches live as long as the converter (one
//! per connector), bounded by `schemas.cache.config`.

mod client;
mod codec;
pub(crate) mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{get, Config};
use crate::convert::json::parse_bool;
use crate::convert::{ConvertError, Converter};
use crate::data::{Data, Schema, SchemaRef, SchemaType};

use client::{CallError, RegistryClient};
use schema::Reader;

pub use schema::to_avro;

/// Confluent's wire-format magic byte.
const MAGIC: u8 = 0;
const STRATEGY_PACKAGE: &str = "io.confluent.kafka.serializers.subject.";

/// `key.subject.name.strategy` / `value.subject.name.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value`.
    TopicName,
    /// The record's full name.
    RecordName,
    /// `<topic>-<record full name>`.
    TopicRecordName,
}

impl SubjectNameStrategy {
    fn parse(key: &str, v: &str) -> Result<Self, ConvertError> {
        let v = v.trim();
        let simple = v.strip_prefix(STRATEGY_PACKAGE).unwrap_or(v);
        match simple {
            "TopicNameStrategy" => Ok(SubjectNameStrategy::TopicName),
            "RecordNameStrategy" => Ok(SubjectNameStrategy::RecordName),
            "TopicRecordNameStrategy" => Ok(SubjectNameStrategy::TopicRecordName),
            _ => Err(ConvertError::new(format!(
                "Invalid value {v} for configuration {key}: accepted values are \
                 {STRATEGY_PACKAGE}TopicNameStrategy, {STRATEGY_PACKAGE}RecordNameStrategy and \
                 {STRATEGY_PACKAGE}TopicRecordNameStrategy"
            ))),
        }
    }

    fn subject(self, topic: &str, is_key: bool, schema: &Schema) -> String {
        let record = || record_name(schema);
        match self {
            SubjectNameStrategy::TopicName => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::RecordName => record(),
            SubjectNameStrategy::TopicRecordName => format!("{topic}-{}", record()),
        }
    }
}

/// The Avro full name of a schema's Avro form (a record's name, else the Avro type name).
fn record_name(schema: &Schema) -> String {
    match (schema.ty, &schema.name) {
        (SchemaType::Struct, Some(n)) => n.clone(),
        (SchemaType::Struct, None) => format!("{}.ConnectDefault", schema::NAMESPACE),
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32, _) => "int".into(),
        (SchemaType::Int64, _) => "long".into(),
        (SchemaType::Float32, _) => "float".into(),
        (SchemaType::Float64, _) => "double".into(),
        (SchemaType::Boolean, _) => "boolean".into(),
        (SchemaType::String, _) => "string".into(),
        (SchemaType::Bytes, _) => "bytes".into(),
        (SchemaType::Array, _) => "array".into(),
        (SchemaType::Map, _) => "map".into(),
    }
}

/// AvroConverter settings (without the `value.converter.` prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct AvroConverterConfig {
    pub auto_register_schemas: bool,
    pub use_latest_version: bool,
    pub key_subject_name_strategy: SubjectNameStrategy,
    pub value_subject_name_strategy: SubjectNameStrategy,
    /// `schemas.cache.config`: how many schemas each cache keeps.
    pub cache_size: usize,
}

impl AvroConverterConfig {
    pub fn from_props(props: &Config) -> Result<Self, ConvertError> {
        let flag = |key: &str, default: bool| -> Result<bool, ConvertError> {
            get(props, key).map_or(Ok(default), |v| parse_bool(key, v))
        };
        let strategy = |key: &str| -> Result<SubjectNameStrategy, ConvertError> {
            get(props, key).map_or(Ok(SubjectNameStrategy::TopicName), |v| {
                SubjectNameStrategy::parse(key, v)
            })
        };
        let cache_size = match get(props, "schemas.cache.config") {
            None => 1000,
            Some(v) => v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConvertError::new(format!(
                    "Invalid value {v} for configuration schemas.cache.config: expected a positive integer"
                ))
            })?,
        };
        // Accepted for compatibility; Sluice always writes Connect metadata and keeps enum
        // symbols as parameters, as these settings' defaults do.
        flag("connect.meta.data", true)?;
        flag("enhanced.avro.schema.support", false)?;
        flag("latest.compatibility.strict", true)?;
        Ok(AvroConverterConfig {
            auto_register_schemas: flag("auto.register.schemas", true)?,
            use_latest_version: flag("use.latest.version", false)?,
            key_subject_name_strategy: strategy("key.subject.name.strategy")?,
            value_subject_name_strategy: strategy("value.subject.name.strategy")?,
            cache_size,
        })
    }
}

/// A written schema: the topic and Connect schema it was written for (which determine its
/// subject), and the registry id it was framed with.
struct Written {
    topic: String,
    schema: SchemaRef,
    id: i32,
}

/// The Avro converter. One per connector, shared by its tasks.
pub struct AvroConverter {
    config: AvroConverterConfig,
    is_key: bool,
    client: RegistryClient,
    /// Most recently used last.
    written: Mutex<Vec<Written>>,
    read: RwLock<HashMap<i32, Arc<Reader>>>,
}

impl AvroConverter {
    pub fn from_props(props: &Config, is_key: bool) -> Result<Self, ConvertError> {
        Ok(AvroConverter {
            config: AvroConverterConfig::from_props(props)?,
            is_key,
            client: RegistryClient::from_props(props)?,
            written: Mutex::new(Vec::new()),
            read: RwLock::new(HashMap::new()),
        })
    }

    fn strategy(&self) -> SubjectNameStrategy {
        if self.is_key {
            self.config.key_subject_name_strategy
        } else {
            self.config.value_subject_name_strategy
        }
    }

    fn what(&self) -> &'static str {
        if self.is_key {
            "key"
        } else {
            "value"
        }
    }

    /// The registry id to frame `schema` with (cached after the first record).
    fn schema_id(&self, topic: &str, schema: &SchemaRef) -> Result<i32, ConvertError> {
        // Looked up by topic, not subject, so that a hit builds no subject string: the subject
        // is a function of the topic and the schema.
        {
            let mut written = self.written.lock();
            let hit = written
                .iter()
                .rposition(|w| Arc::ptr_eq(&w.schema, schema) && w.topic == topic)
                .or_else(|| {
                    written
                        .iter()
                        .rposition(|w| w.topic == topic && *w.schema == **schema)
                });
            if let Some(i) = hit {
                let id = written[i].id;
                if i + 1 != written.len() {
                    let w = written.remove(i);
                    written.push(Written {
                        schema: schema.clone(),
                        ..w
                    });
                }
                return Ok(id);
            }
        }
        let subject = self.strategy().subject(topic, self.is_key, schema);
        let avro = to_avro(schema)?.to_string();
        let failed = |e: CallError| {
            e.to_convert_error(format!(
                "Error {} Avro {} schema for subject {subject:?}: {e}",
                if self.config.use_latest_version {
                    "retrieving the latest"
                } else if self.config.auto_register_schemas {
                    "registering"
                } else {
                    "looking up"
                },
                self.what()
            ))
        };
        let id = if self.config.use_latest_version {
            let (id, latest) = self.client.latest(&subject).map_err(failed)?;
            // The payload is written with the record's own schema, so the latest version
            // must be that schema.
            let same = serde_json::from_str::<serde_json::Value>(&latest).ok()
                == serde_json::from_str::<serde_json::Value>(&avro).ok();
            if !same {
                return Err(ConvertError::new(format!(
                    "use.latest.version: the latest schema of subject {subject:?} (id {id}) is not the record's schema; Sluice writes records with their own schema only"
                )));
            }
            id
        } else if self.config.auto_register_schemas {
            self.client.register(&subject, &avro).map_err(failed)?
        } else {
            self.client.lookup(&subject, &avro).map_err(failed)?
        };
        let mut written = self.written.lock();
        if written.len() >= self.config.cache_size {
            written.remove(0);
        }
        written.push(Written {
            topic: topic.to_string(),
            schema: schema.clone(),
            id,
        });
        Ok(id)
    }

    /// The decoding plan of schema `id` (cached after the first record).
    fn reader(&self, id: i32) -> Result<Arc<Reader>, ConvertError> {
        if let Some(r) = self.read.read().get(&id) {
            return Ok(r.clone());
        }
        let (text, ty) = self.client.schema_by_id(id).map_err(|e| {
            e.to_convert_error(format!(
                "Error retrieving Avro {} schema for id {id}: {e}",
                self.what()
            ))
        })?;
        if ty != "AVRO" {
            return Err(ConvertError::new(format!(
                "schema id {id} is a {ty} schema, not Avro"
            )));
        }
        let reader = schema::reader(&text)
            .map_err(|e| ConvertError::new(format!("schema id {id}: {}", e.0)))?;
        let mut read = self.read.write();
        if read.len() >= self.config.cache_size {
            read.clear();
        }
        read.insert(id, reader.clone());
        Ok(reader)
    }

    pub fn serialize(&self, topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        if data.value.is_null() {
            return Ok(None);
        }
        let Some(schema) = &data.schema else {
            return Err(ConvertError::new(format!(
                "AvroConverter needs a schema for the {}: schemaless data cannot be written as Avro",
                self.what()
            )));
        };
        let id = self.schema_id(topic, schema)?;
        let mut out = Vec::with_capacity(64);
        out.push(MAGIC);
        out.extend_from_slice(&id.to_be_bytes());
        codec::write(&mut out, schema, &data.value)?;
        Ok(Some(out))
    }

    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(Data::NULL);
        };
        match bytes.first() {
            None => {
                return Err(ConvertError::new(
                    "the payload is empty: expected Confluent's magic byte 0, a 4-byte schema id and Avro data",
                ))
            }
            Some(&MAGIC) => {}
            Some(b) => {
                return Err(ConvertError::new(format!(
                    "Unknown magic byte {b}: the payload is not in Confluent's wire format (magic byte 0, 4-byte schema id, Avro data)"
                )))
            }
        }
        let id_bytes: [u8; 4] =
            bytes
                .get(1..5)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| {
                    ConvertError::new(format!(
                    "the payload has {} bytes, fewer than the 5 of the magic byte and schema id",
                    bytes.len()
                ))
                })?;
        let id = i32::from_be_bytes(id_bytes);
        let reader = self.reader(id)?;
        let mut input = codec::Input::new(&bytes[5..]);
        let value = codec::read(&mut input, &reader).map_err(|e| {
            ConvertError::new(format!("decoding Avro data of schema id {id}: {}", e.0))
        })?;
        Ok(Data::new(Some(reader.schema.clone()), value))
    }
}

impl Converter for AvroConverter {
    fn from_connect(&self, topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(topic, data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}

#[cfg(test)]
pub(crate) mod tests;
