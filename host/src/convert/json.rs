//! `org.apache.kafka.connect.json.JsonConverter`, byte-identical to Kafka Connect 3.9's output
//! (fixtures captured from the reference: `tests/fixtures/json-converter/`).
//!
//! Design decision: writing goes straight into a `Vec<u8>` (no JSON tree), reading uses a
//! zero-copy parser that keeps number text (Jackson reads numbers exactly). The only state
//! kept between records is one cached schema in each direction — the last schema written
//! (by `Arc` identity) and the last envelope schema read (by its exact bytes) — because
//! records of a batch share one schema and rebuilding it per record dominates the cost.
//!
//! Known differences from Kafka, all outside valid round-trips:
//! - Java 17 prints a few doubles with more digits than needed (e.g. 2e23 as
//!   `1.9999999999999998E23`); we print the shortest form, as Java 19+ does.
//! - Reads keep JSON object order (Kafka's HashMap reorders keys on a read-then-write).
//! - A NUMERIC decimal with fewer fractional digits than the schema's scale is rescaled
//!   (`1.5` at scale 2 writes back as `1.50`); more fractional digits is an error.
//! - A lone `\uD800`-style surrogate escape reads as U+FFFD.

pub(crate) mod number;
pub(crate) mod parser;
pub(crate) mod read;
pub(crate) mod write;

#[cfg(test)]
mod fixtures_test;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::{get, Config};
use crate::convert::{ConvertError, Converter, HeaderConverter};
use crate::data::{Data, SchemaRef};

use read::ReadOptions;
use write::WriteOptions;

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// `decimal.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    Base64,
    Numeric,
}

/// JsonConverter settings (the converter's properties without the `key.converter.` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonConverterConfig {
    pub schemas_enable: bool,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

impl JsonConverterConfig {
    /// Parses `schemas.enable`, `decimal.format`, `replace.null.with.default` and checks
    /// `schemas.cache.size`; other keys are ignored, as Kafka does.
    pub fn from_props(props: &Config) -> Result<Self, ConvertError> {
        let mut c = JsonConverterConfig::default();
        if let Some(v) = get(props, "schemas.enable") {
            c.schemas_enable = parse_bool("schemas.enable", v)?;
        }
        if let Some(v) = get(props, "replace.null.with.default") {
            c.replace_null_with_default = parse_bool("replace.null.with.default", v)?;
        }
        if let Some(v) = get(props, "decimal.format") {
            c.decimal_format = match v.trim().to_ascii_uppercase().as_str() {
                "BASE64" => DecimalFormat::Base64,
                "NUMERIC" => DecimalFormat::Numeric,
                _ => {
                    return Err(ConvertError::new(format!(
                        "Invalid value {v} for configuration decimal.format: accepted values are BASE64 and NUMERIC (case-insensitive)"
                    )))
                }
            };
        }
        if let Some(v) = get(props, "schemas.cache.size") {
            if v.trim().parse::<i32>().is_err() {
                return Err(ConvertError::new(format!(
                    "Invalid value {v} for configuration schemas.cache.size: Not a number of type INT"
                )));
            }
        }
        Ok(c)
    }
}

/// Kafka's ConfigDef BOOLEAN parsing: `true`/`false`, case-insensitive, trimmed.
pub(crate) fn parse_bool(key: &str, v: &str) -> Result<bool, ConvertError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConvertError::new(format!(
            "Invalid value {v} for configuration {key}: Expected value to be either true or false"
        ))),
    }
}

/// The exact bytes of an envelope's `schema` value and what they parsed to.
type ReadCacheEntry = (Box<[u8]>, Option<SchemaRef>);

/// The JSON converter. Cheap to share: `Arc<JsonConverter>` across tasks.
pub struct JsonConverter {
    config: JsonConverterConfig,
    /// Last schema written and its JSON (held by `Arc`, so pointer identity is safe).
    write_cache: Mutex<Option<(SchemaRef, Vec<u8>)>>,
    /// Last envelope schema read: its exact bytes and the parsed schema.
    read_cache: Mutex<Option<ReadCacheEntry>>,
}

impl JsonConverter {
    pub fn new(config: JsonConverterConfig) -> Self {
        JsonConverter {
            config,
            write_cache: Mutex::new(None),
            read_cache: Mutex::new(None),
        }
    }

    pub fn from_props(props: &Config) -> Result<Self, ConvertError> {
        Ok(JsonConverter::new(JsonConverterConfig::from_props(props)?))
    }

    pub fn config(&self) -> JsonConverterConfig {
        self.config
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            decimal_numeric: self.config.decimal_format == DecimalFormat::Numeric,
            replace_null_with_default: self.config.replace_null_with_default,
            entry_objects: false,
        }
    }

    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            replace_null_with_default: self.config.replace_null_with_default,
            entry_objects: false,
        }
    }

    /// Serializes one value; `None` for a tombstone (no schema and a null value).
    pub fn serialize(&self, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        if data.schema.is_none() && data.value.is_null() {
            return Ok(None);
        }
        let opts = self.write_options();
        let mut out = Vec::with_capacity(128);
        let schema = data.schema.as_deref();
        if self.config.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match &data.schema {
                None => out.extend_from_slice(b"null"),
                Some(schema_ref) => self.write_schema_cached(&mut out, schema_ref, opts)?,
            }
            out.extend_from_slice(b",\"payload\":");
            write::write_value(&mut out, schema, &data.value, opts)?;
            out.push(b'}');
        } else {
            write::write_value(&mut out, schema, &data.value, opts)?;
        }
        Ok(Some(out))
    }

    fn write_schema_cached(
        &self,
        out: &mut Vec<u8>,
        schema: &SchemaRef,
        opts: WriteOptions,
    ) -> Result<(), ConvertError> {
        {
            let cache = self.write_cache.lock();
            if let Some((cached, json)) = cache.as_ref() {
                if Arc::ptr_eq(cached, schema) {
                    out.extend_from_slice(json);
                    return Ok(());
                }
            }
        }
        let start = out.len();
        write::write_schema(out, schema, opts)?;
        *self.write_cache.lock() = Some((schema.clone(), out[start..].to_vec()));
        Ok(())
    }

    /// Deserializes one value; a Kafka null reads as `Data::NULL`.
    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(Data::NULL);
        };
        let doc = parser::parse(bytes).map_err(|e| {
            ConvertError::new(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {}",
                e.message
            ))
        })?;
        let opts = self.read_options();
        if !self.config.schemas_enable {
            let value = read::value_from_json(None, doc.root.as_ref(), opts)?;
            return Ok(Data::schemaless(value));
        }
        let root = match &doc.root {
            Some(root @ parser::Node::Object(entries))
                if entries.len() == 2
                    && root.get("schema").is_some()
                    && root.get("payload").is_some() =>
            {
                root
            }
            _ => return Err(ConvertError::new(ENVELOPE_ERROR.to_owned())),
        };
        let schema_node = root.get("schema").unwrap_or(&parser::Node::Null);
        // The exact bytes of the schema, for the cache (only when the key occurred once).
        let mut spans = doc.top_spans.iter().filter(|(k, _)| k == "schema");
        let span = match (spans.next(), spans.next()) {
            (Some((_, range)), None) => bytes.get(range.clone()),
            _ => None,
        };
        let schema = self.read_schema_cached(schema_node, span, opts)?;
        let value = read::value_from_json(schema.as_deref(), root.get("payload"), opts)?;
        Ok(Data::new(schema, value))
    }

    fn read_schema_cached(
        &self,
        node: &parser::Node<'_>,
        raw: Option<&[u8]>,
        opts: ReadOptions,
    ) -> Result<Option<SchemaRef>, ConvertError> {
        if let Some(raw) = raw {
            let cache = self.read_cache.lock();
            if let Some((cached_raw, schema)) = cache.as_ref() {
                if **cached_raw == *raw {
                    return Ok(schema.clone());
                }
            }
        }
        let schema = read::schema_from_json(node, opts)?.map(Arc::new);
        if let Some(raw) = raw {
            *self.read_cache.lock() = Some((raw.into(), schema.clone()));
        }
        Ok(schema)
    }
}

impl Converter for JsonConverter {
    fn from_connect(&self, _topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}

impl HeaderConverter for JsonConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        data: &Data,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Value};

    fn conv(props: &[(&str, &str)]) -> JsonConverter {
        let props: Config = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        JsonConverter::from_props(&props).expect("valid config")
    }

    #[test]
    fn config_errors_name_the_key_and_accepted_values() {
        let props: Config = vec![("decimal.format".into(), "HEX".into())];
        let Err(e) = JsonConverter::from_props(&props) else {
            panic!("rejected")
        };
        assert!(
            e.0.contains("decimal.format") && e.0.contains("NUMERIC"),
            "{e}"
        );
        let props: Config = vec![("schemas.enable".into(), "yes".into())];
        assert!(JsonConverter::from_props(&props).is_err());
        assert_eq!(
            conv(&[("decimal.format", "numeric")])
                .config()
                .decimal_format,
            DecimalFormat::Numeric
        );
    }

    #[test]
    fn tombstone_and_null_reads() {
        let c = conv(&[]);
        assert_eq!(c.serialize(&Data::NULL).unwrap(), None);
        assert_eq!(c.deserialize(None).unwrap(), Data::NULL);
        let e = c
            .deserialize(Some(b"{\"a\":1}"))
            .map(|_| ())
            .expect_err("not an envelope");
        assert_eq!(e.0, ENVELOPE_ERROR);
    }

    #[test]
    fn schema_caches_do_not_mix_schemas() {
        let c = conv(&[]);
        let a = Schema::new(SchemaType::Int32).into_ref();
        let b = Schema::new(SchemaType::Int64).into_ref();
        let x = c
            .serialize(&Data::new(Some(a.clone()), Value::Int32(1)))
            .unwrap()
            .unwrap();
        let y = c
            .serialize(&Data::new(Some(b.clone()), Value::Int64(1)))
            .unwrap()
            .unwrap();
        let z = c
            .serialize(&Data::new(Some(a), Value::Int32(1)))
            .unwrap()
            .unwrap();
        assert_eq!(x, z);
        assert_ne!(x, y);
        let rx = c.deserialize(Some(&x)).unwrap();
        let ry = c.deserialize(Some(&y)).unwrap();
        let rx2 = c.deserialize(Some(&x)).unwrap();
        assert_eq!(rx.schema.as_ref().map(|s| s.ty), Some(SchemaType::Int32));
        assert_eq!(ry.schema.as_ref().map(|s| s.ty), Some(SchemaType::Int64));
        assert!(
            Arc::ptr_eq(rx.schema.as_ref().unwrap(), rx2.schema.as_ref().unwrap()) || rx == rx2
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod null_handling_tests {
    use super::*;
    use crate::data::{Field, Schema, SchemaType, Value};

    fn conv(schemas: bool, replace: bool) -> JsonConverter {
        JsonConverter::new(JsonConverterConfig {
            schemas_enable: schemas,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: replace,
        })
    }

    fn field(name: &str, schema: Schema) -> Field {
        Field {
            name: name.into(),
            schema: schema.into_ref(),
        }
    }

    #[test]
    fn defaults_and_required_nulls_follow_replace_null_with_default() {
        let schema = Schema::structure(vec![
            field(
                "req_def",
                Schema::new(SchemaType::Int32).with_default(Value::Int32(10)),
            ),
            field(
                "opt_def",
                Schema::new(SchemaType::String)
                    .optional()
                    .with_default(Value::from("d")),
            ),
        ])
        .into_ref();
        let data = Data::new(Some(schema), Value::Struct(vec![Value::Null, Value::Null]));
        assert_eq!(
            conv(false, true).serialize(&data).unwrap(),
            Some(br#"{"req_def":10,"opt_def":"d"}"#.to_vec())
        );
        let e = conv(false, false).serialize(&data).unwrap_err();
        assert_eq!(
            e.0,
            "Conversion error: null value for field that is required and has no default value"
        );

        let opt_only = Schema::structure(vec![field(
            "opt_def",
            Schema::new(SchemaType::String)
                .optional()
                .with_default(Value::from("d")),
        )])
        .into_ref();
        let data = Data::new(Some(opt_only), Value::Struct(vec![Value::Null]));
        assert_eq!(
            conv(false, false).serialize(&data).unwrap(),
            Some(br#"{"opt_def":null}"#.to_vec())
        );
        // Reading a null with replace=false keeps the null.
        let bytes = conv(true, false).serialize(&data).unwrap().unwrap();
        let back = conv(true, false).deserialize(Some(&bytes)).unwrap();
        assert_eq!(back.value, Value::Struct(vec![Value::Null]));
        let back = conv(true, true).deserialize(Some(&bytes)).unwrap();
        assert_eq!(back.value, Value::Struct(vec![Value::from("d")]));
    }

    #[test]
    fn type_mismatch_names_the_type() {
        let data = Data::new(
            Some(Schema::new(SchemaType::Int32).into_ref()),
            Value::from("x"),
        );
        assert_eq!(
            conv(true, true).serialize(&data).unwrap_err().0,
            "Invalid type for INT32: class java.lang.String"
        );
    }

    /// A batch of typed records through write and read, with a throughput print for a rough
    /// check (`--nocapture`); correctness is asserted, timing is not.
    #[test]
    fn batch_round_trip() {
        let schema = Schema::structure(vec![
            field("id", Schema::new(SchemaType::Int64)),
            field("name", Schema::new(SchemaType::String).optional()),
            field("score", Schema::new(SchemaType::Float64)),
            field("price", Schema::decimal(2)),
            field("ts", Schema::timestamp()),
            field(
                "tags",
                Schema::array(Schema::new(SchemaType::String).into_ref()),
            ),
        ])
        .into_ref();
        let c = conv(true, true);
        let n = 20_000;
        let start = std::time::Instant::now();
        let mut total = 0;
        for i in 0..n {
            let data = Data::new(
                Some(schema.clone()),
                Value::Struct(vec![
                    Value::Int64(i),
                    Value::from(format!("name-{i}")),
                    Value::Float64(i as f64 * 0.25),
                    Value::Bytes(vec![0x04, 0xD2]),
                    Value::Int64(1_700_000_000_000 + i),
                    Value::Array(vec![Value::from("a"), Value::from("b")]),
                ]),
            );
            let bytes = c.serialize(&data).unwrap().unwrap();
            total += bytes.len();
            let back = c.deserialize(Some(&bytes)).unwrap();
            assert_eq!(back.value, data.value);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{n} records written+read in {secs:.3}s ({:.0}/s, {total} bytes)",
            n as f64 / secs
        );
    }
}
