//! What Confluent's schema'd converters (`AvroConverter`, `JsonSchemaConverter`,
//! `ProtobufConverter`) share: the Schema Registry wire format (magic byte 0, the schema's
//! 4-byte big-endian registry id, then the payload), their common config keys
//! (`schema.registry.url`, `basic.auth.*`, `auto.register.schemas`, `use.latest.version`,
//! subject name strategies, `schemas.cache.config`, …), and the registry caches.
//!
//! Design decision: one generic [`FramedConverter`] over a [`Format`] (Avro, JSON Schema,
//! Protobuf) owns the registry traffic, so every format gets the same guarantee — the registry
//! is asked once per schema, never per record: written schemas are cached by topic and Connect
//! schema (`Arc` identity first, then equality) with their id, read schemas by id as the
//! format's compiled decoding plan. Both caches live as long as the converter (one per
//! connector), bounded by `schemas.cache.config`.
//!
//! With `use.latest.version`, a written schema's cache entry also holds the format's
//! [`Rewrite`] plan when the subject's latest schema is not the record's own (or the error
//! saying why the record cannot be written in it): made once per topic and record schema, so the
//! latest version is looked up, checked (`latest.compatibility.strict`) and resolved once, as
//! Confluent's serializers cache it (their `latest.cache.ttl.sec` defaults to never expiring).

pub(crate) mod client;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{get, Config};
use crate::convert::json::parse_bool;
use crate::convert::{ConvertError, Converter};
use crate::data::{Data, Schema, SchemaRef, Value};

use client::{CallError, RegistryClient};

/// Confluent's wire-format magic byte.
pub(crate) const MAGIC: u8 = 0;
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

    /// The subject of a record's schema; `record` gives the format's full record name.
    pub(crate) fn subject(
        self,
        topic: &str,
        is_key: bool,
        record: impl FnOnce() -> String,
    ) -> String {
        match self {
            SubjectNameStrategy::TopicName => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::RecordName => record(),
            SubjectNameStrategy::TopicRecordName => format!("{topic}-{}", record()),
        }
    }
}

/// The settings every schema'd converter reads (without the `value.converter.` prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryConverterConfig {
    pub auto_register_schemas: bool,
    pub use_latest_version: bool,
    /// `latest.compatibility.strict`: with `use.latest.version`, the latest schema must be
    /// backward compatible with the record's.
    pub latest_compatibility_strict: bool,
    pub key_subject_name_strategy: SubjectNameStrategy,
    pub value_subject_name_strategy: SubjectNameStrategy,
    /// `schemas.cache.config`: how many schemas each cache keeps.
    pub cache_size: usize,
}

/// A boolean converter property with its default.
pub(crate) fn flag(props: &Config, key: &str, default: bool) -> Result<bool, ConvertError> {
    get(props, key).map_or(Ok(default), |v| parse_bool(key, v))
}

impl RegistryConverterConfig {
    pub fn from_props(props: &Config) -> Result<Self, ConvertError> {
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
        // The Avro converter reads it (AvroData's); checked to be a boolean for every format.
        flag(props, "connect.meta.data", true)?;
        Ok(RegistryConverterConfig {
            auto_register_schemas: flag(props, "auto.register.schemas", true)?,
            use_latest_version: flag(props, "use.latest.version", false)?,
            latest_compatibility_strict: flag(props, "latest.compatibility.strict", true)?,
            key_subject_name_strategy: strategy("key.subject.name.strategy")?,
            value_subject_name_strategy: strategy("value.subject.name.strategy")?,
            cache_size,
        })
    }
}

/// Writes a record's value in a registry schema other than its own (`use.latest.version`):
/// the payload after magic byte and id.
pub(crate) type Rewrite =
    Arc<dyn Fn(&mut Vec<u8>, &Value) -> Result<(), ConvertError> + Send + Sync>;

/// One schema'd format: how Connect schemas and values map to it. The converter around it
/// does the framing and the registry calls.
pub(crate) trait Format: Send + Sync + 'static {
    /// A compiled decoding plan of one registry schema.
    type Reader: Send + Sync;

    /// `Avro`, `JSON Schema`, `Protobuf`: for messages.
    fn name(&self) -> &'static str;
    /// The registry's `schemaType`: `AVRO`, `JSON`, `PROTOBUF`.
    fn schema_type(&self) -> &'static str;
    /// The record name the Record(Name) strategies use.
    fn record_name(&self, schema: &Schema) -> String;
    /// The schema text registered for a Connect schema.
    fn schema_text(&self, schema: &Schema) -> Result<String, ConvertError>;
    /// Whether two registry texts are the same schema (for `use.latest.version`).
    fn same_text(&self, a: &str, b: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(a).ok()
            == serde_json::from_str::<serde_json::Value>(b).ok()
    }
    /// Compiles a registry schema (its text and type) into a decoding plan.
    fn compile(&self, text: &str) -> Result<Self::Reader, ConvertError>;
    /// Appends the payload (after magic byte and id) of `value`.
    fn write(
        &self,
        out: &mut Vec<u8>,
        schema: &Schema,
        value: &crate::data::Value,
    ) -> Result<(), ConvertError>;
    /// `use.latest.version` when the subject's latest schema (`latest`, its registry text) is
    /// not the record's own (`schema`, registered as `text`): a plan writing the record's values
    /// in the latest schema, after checking, when `strict` (`latest.compatibility.strict`), that
    /// the latest schema can read data written with the record's. Formats without one refuse.
    fn rewrite(
        &self,
        _schema: &Schema,
        _text: &str,
        _latest: &str,
        _strict: bool,
    ) -> Result<Rewrite, ConvertError> {
        Err(ConvertError::new(format!(
            "the latest schema is not the record's schema, and Sluice's {} converter writes \
             records with their own schema only",
            self.name()
        )))
    }
    /// Decodes a payload (after magic byte and id): the value and its Connect schema.
    fn read(
        &self,
        reader: &Self::Reader,
        payload: &[u8],
    ) -> Result<(SchemaRef, crate::data::Value), ConvertError>;
}

/// A written schema: the topic and Connect schema it was written for (which determine its
/// subject), and how records of it are written: the registry id they are framed with, and with
/// `use.latest.version` the plan writing them in the latest schema, or why they cannot be.
struct Written {
    topic: String,
    schema: SchemaRef,
    outcome: Result<(i32, Option<Rewrite>), ConvertError>,
}

/// A schema'd converter: one per connector, shared by its tasks. Named through its aliases
/// (`AvroConverter`, …); the formats are the crate's own, hence the lint allowances.
#[allow(private_bounds)]
pub struct FramedConverter<F: Format> {
    format: F,
    config: RegistryConverterConfig,
    is_key: bool,
    client: RegistryClient,
    /// Most recently used last.
    written: Mutex<Vec<Written>>,
    read: RwLock<HashMap<i32, Arc<F::Reader>>>,
}

#[allow(private_bounds)]
impl<F: Format> FramedConverter<F> {
    pub(crate) fn with_format(
        format: F,
        props: &Config,
        is_key: bool,
    ) -> Result<Self, ConvertError> {
        Ok(FramedConverter {
            format,
            config: RegistryConverterConfig::from_props(props)?,
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

    /// The registry id to frame `schema` with, and the plan writing its values when that is
    /// not the record's own schema (cached after the first record).
    fn schema_id(
        &self,
        topic: &str,
        schema: &SchemaRef,
    ) -> Result<(i32, Option<Rewrite>), ConvertError> {
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
                let outcome = written[i].outcome.clone();
                if i + 1 != written.len() {
                    let w = written.remove(i);
                    written.push(Written {
                        schema: schema.clone(),
                        ..w
                    });
                }
                return outcome;
            }
        }
        let subject = self
            .strategy()
            .subject(topic, self.is_key, || self.format.record_name(schema));
        let text = self.format.schema_text(schema)?;
        let ty = self.format.schema_type();
        let failed = |e: CallError| {
            e.to_convert_error(format!(
                "Error {} {} {} schema for subject {subject:?}: {e}",
                if self.config.use_latest_version {
                    "retrieving the latest"
                } else if self.config.auto_register_schemas {
                    "registering"
                } else {
                    "looking up"
                },
                self.format.name(),
                self.what()
            ))
        };
        let outcome = if self.config.use_latest_version {
            let (id, latest) = self.client.latest(&subject).map_err(failed)?;
            if self.format.same_text(&latest, &text) {
                Ok((id, None))
            } else {
                // Cached, failure too: the record's schema and the latest are what they are
                // until the task restarts, so each record is not another registry call.
                self.format
                    .rewrite(
                        schema,
                        &text,
                        &latest,
                        self.config.latest_compatibility_strict,
                    )
                    .map(|rewrite| (id, Some(rewrite)))
                    .map_err(|e| {
                        ConvertError::new(format!(
                            "use.latest.version: cannot write the {} in the latest schema of \
                             subject {subject:?} (id {id}): {}",
                            self.what(),
                            e.0
                        ))
                    })
            }
        } else if self.config.auto_register_schemas {
            Ok((
                self.client.register(&subject, &text, ty).map_err(failed)?,
                None,
            ))
        } else {
            Ok((
                self.client.lookup(&subject, &text, ty).map_err(failed)?,
                None,
            ))
        };
        let mut written = self.written.lock();
        if written.len() >= self.config.cache_size {
            written.remove(0);
        }
        written.push(Written {
            topic: topic.to_string(),
            schema: schema.clone(),
            outcome: outcome.clone(),
        });
        outcome
    }

    /// The decoding plan of schema `id` (cached after the first record).
    fn reader(&self, id: i32) -> Result<Arc<F::Reader>, ConvertError> {
        if let Some(r) = self.read.read().get(&id) {
            return Ok(r.clone());
        }
        let (text, ty) = self.client.schema_by_id(id).map_err(|e| {
            e.to_convert_error(format!(
                "Error retrieving {} {} schema for id {id}: {e}",
                self.format.name(),
                self.what()
            ))
        })?;
        if ty != self.format.schema_type() {
            return Err(ConvertError::new(format!(
                "schema id {id} is a {ty} schema, not {}",
                self.format.schema_type()
            )));
        }
        let reader = Arc::new(
            self.format
                .compile(&text)
                .map_err(|e| ConvertError::new(format!("schema id {id}: {}", e.0)))?,
        );
        let mut read = self.read.write();
        // Full: drop one entry, not all of them. Clearing would make every id in use a miss
        // again at once, a burst of registry lookups on the hot path.
        if read.len() >= self.config.cache_size {
            if let Some(old) = read.keys().next().copied() {
                read.remove(&old);
            }
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
                "{}Converter needs a schema for the {}: schemaless data cannot be written as {}",
                self.format.name().replace(' ', ""),
                self.what(),
                self.format.name()
            )));
        };
        let (id, rewrite) = self.schema_id(topic, schema)?;
        let mut out = Vec::with_capacity(64);
        out.push(MAGIC);
        out.extend_from_slice(&id.to_be_bytes());
        match rewrite {
            None => self.format.write(&mut out, schema, &data.value)?,
            Some(rewrite) => rewrite(&mut out, &data.value).map_err(|e| {
                ConvertError::new(format!(
                    "use.latest.version: writing the {} in the latest schema (id {id}): {}",
                    self.what(),
                    e.0
                ))
            })?,
        }
        Ok(Some(out))
    }

    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(Data::NULL);
        };
        let name = self.format.name();
        match bytes.first() {
            None => {
                return Err(ConvertError::new(format!(
                    "the payload is empty: expected Confluent's magic byte 0, a 4-byte schema id and {name} data"
                )))
            }
            Some(&MAGIC) => {}
            Some(b) => {
                return Err(ConvertError::new(format!(
                    "Unknown magic byte {b}: the payload is not in Confluent's wire format (magic byte 0, 4-byte schema id, {name} data)"
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
        let (schema, value) = self.format.read(&reader, &bytes[5..]).map_err(|e| {
            ConvertError::new(format!("decoding {name} data of schema id {id}: {}", e.0))
        })?;
        Ok(Data::new(Some(schema), value))
    }
}

#[allow(private_bounds)]
impl<F: Format> Converter for FramedConverter<F> {
    fn from_connect(&self, topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(topic, data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}
