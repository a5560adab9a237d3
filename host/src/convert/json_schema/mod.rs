//! `io.confluent.connect.json.JsonSchemaConverter`: Connect data <-> JSON in Confluent's wire
//! format (magic byte 0, the schema's 4-byte big-endian registry id, the JSON document), with
//! the record's JSON Schema kept in a Schema Registry (`schemaType` `JSON`).
//!
//! Design decision: the payload is written and read by the JsonConverter's own value writer
//! and reader (Jackson's number and string forms, the same leniency), in the form Confluent's
//! `JsonSchemaData` gives values — maps with non-string keys as `{"key","value"}` objects,
//! nulls replaced by defaults — so the two converters cannot drift apart; only the schema
//! mapping ([`schema`]) is this module's own. Framing and registry caches are the shared
//! [`FramedConverter`]'s.

pub(crate) mod schema;

#[cfg(test)]
mod tests;

use crate::config::{get, Config};
use crate::convert::framed::{flag, Format, FramedConverter};
use crate::convert::json::parser;
use crate::convert::json::read::{value_from_json, ReadOptions};
use crate::convert::json::write::{write_value, WriteOptions};
use crate::convert::ConvertError;
use crate::data::{Schema, SchemaRef, Value};

use schema::Options;

/// The JSON Schema format of [`JsonSchemaConverter`].
pub(crate) struct JsonSchema {
    opts: Options,
}

impl JsonSchema {
    /// Reads `decimal.format`, `object.additional.properties`, `use.optional.for.nonrequired`.
    pub(crate) fn from_props(props: &Config) -> Result<Self, ConvertError> {
        let decimal_numeric = match get(props, "decimal.format") {
            None => false,
            Some(v) => match v.trim().to_ascii_uppercase().as_str() {
                "BASE64" => false,
                "NUMERIC" => true,
                _ => {
                    return Err(ConvertError::new(format!(
                        "Invalid value {v} for configuration decimal.format: accepted values are BASE64 and NUMERIC (case-insensitive)"
                    )))
                }
            },
        };
        Ok(JsonSchema {
            opts: Options {
                write: WriteOptions {
                    decimal_numeric,
                    replace_null_with_default: true,
                    entry_objects: true,
                },
                read: ReadOptions {
                    replace_null_with_default: true,
                    entry_objects: true,
                },
                additional_properties: flag(props, "object.additional.properties", true)?,
                optional_for_nonrequired: flag(props, "use.optional.for.nonrequired", false)?,
            },
        })
    }
}

impl Format for JsonSchema {
    type Reader = SchemaRef;

    fn name(&self) -> &'static str {
        "JSON Schema"
    }
    fn schema_type(&self) -> &'static str {
        "JSON"
    }
    /// A struct's name (its `title`), else the JSON type (`object`, `string`, …).
    fn record_name(&self, schema: &Schema) -> String {
        match (&schema.name, schema::to_json_schema(schema, self.opts)) {
            (Some(n), _) => n.clone(),
            (None, Ok(j)) => j
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("object")
                .to_string(),
            (None, Err(_)) => "object".into(),
        }
    }
    fn schema_text(&self, schema: &Schema) -> Result<String, ConvertError> {
        Ok(schema::to_json_schema(schema, self.opts)?.to_string())
    }
    fn compile(&self, text: &str) -> Result<SchemaRef, ConvertError> {
        Ok(schema::to_connect(text, self.opts)?.into_ref())
    }
    fn write(&self, out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), ConvertError> {
        write_value(out, Some(schema), value, self.opts.write)
    }
    /// `use.latest.version` with `latest.compatibility.strict=false`: the record's JSON as
    /// its own schema writes it, framed with the latest id, as Confluent's converter does (its
    /// serializer validates against the latest schema only with `json.fail.invalid.schema`).
    /// With the check on, refused: JSON Schema compatibility rules are not implemented.
    fn rewrite(
        &self,
        schema: &Schema,
        _text: &str,
        _latest: &str,
        strict: bool,
    ) -> Result<crate::convert::framed::Rewrite, ConvertError> {
        if strict {
            return Err(ConvertError::new(
                "Sluice cannot check JSON Schema compatibility (latest.compatibility.strict=true); \
                 set latest.compatibility.strict=false to write the record's JSON with the latest id",
            ));
        }
        let schema = schema.clone();
        let opts = self.opts.write;
        Ok(std::sync::Arc::new(
            move |out: &mut Vec<u8>, value: &Value| write_value(out, Some(&schema), value, opts),
        ))
    }
    fn read(&self, schema: &SchemaRef, payload: &[u8]) -> Result<(SchemaRef, Value), ConvertError> {
        let doc = parser::parse(payload).map_err(|e| {
            ConvertError::new(format!(
                "the JSON payload is malformed or truncated: {}",
                e.message
            ))
        })?;
        let Some(root) = doc.root else {
            return Err(ConvertError::new(
                "the JSON payload is empty (truncated after the schema id)",
            ));
        };
        let value = value_from_json(Some(schema), Some(&root), self.opts.read)?;
        Ok((schema.clone(), value))
    }
}

/// `io.confluent.connect.json.JsonSchemaConverter`.
#[allow(private_interfaces)]
pub type JsonSchemaConverter = FramedConverter<JsonSchema>;

impl JsonSchemaConverter {
    pub fn from_props(props: &Config, is_key: bool) -> Result<Self, ConvertError> {
        FramedConverter::with_format(JsonSchema::from_props(props)?, props, is_key)
    }
}
