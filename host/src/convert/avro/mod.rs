//! `io.confluent.connect.avro.AvroConverter`: Connect data <-> Avro binary in Confluent's
//! wire format (magic byte 0, the schema's 4-byte big-endian registry id, the Avro payload),
//! with schemas kept in a Schema Registry (`schema.registry.url`; Sluice's own embedded one or
//! any Confluent-compatible registry).
//!
//! Design decision: this module is the Avro [`Format`] only (the Connect <-> Avro mapping and
//! the binary codec); framing, config and the registry caches are the shared
//! [`FramedConverter`]'s, so the registry is asked once per schema, never per record.

mod codec;
/// Avro schema compatibility: the registry's `/compatibility` checks and the converter's
/// `latest.compatibility.strict` check share it, so it lives below both.
pub mod compat;
mod latest;
pub(crate) mod schema;

use std::sync::Arc;

use crate::config::Config;
use crate::convert::framed::{flag, Format, FramedConverter, Rewrite};
use crate::convert::ConvertError;
use crate::data::{Schema, SchemaRef, SchemaType, Value};

use schema::{AvroOptions, Reader};

pub use crate::convert::framed::{
    RegistryConverterConfig as AvroConverterConfig, SubjectNameStrategy,
};
pub use schema::to_avro;

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

/// The Avro format of [`AvroConverter`], with its `AvroData` settings.
pub(crate) struct Avro {
    options: AvroOptions,
}

impl Format for Avro {
    type Reader = Arc<Reader>;

    fn name(&self) -> &'static str {
        "Avro"
    }
    fn schema_type(&self) -> &'static str {
        "AVRO"
    }
    fn record_name(&self, schema: &Schema) -> String {
        // With enhanced support an enum's Avro schema is the named enum.
        match schema.parameter(schema::ENUM_PARAM) {
            Some(full) if self.options.enhanced && schema.ty == SchemaType::String => full.into(),
            _ => record_name(schema),
        }
    }
    fn schema_text(&self, schema: &Schema) -> Result<String, ConvertError> {
        Ok(schema::to_avro_with(schema, self.options)?.to_string())
    }
    fn compile(&self, text: &str) -> Result<Arc<Reader>, ConvertError> {
        schema::reader_with(text, self.options.meta)
    }
    fn write(&self, out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), ConvertError> {
        codec::write_with(out, schema, value, self.options.enhanced)
    }
    fn rewrite(
        &self,
        schema: &Schema,
        text: &str,
        latest: &str,
        strict: bool,
    ) -> Result<Rewrite, ConvertError> {
        if strict {
            // As Confluent's lookupLatestVersion: the latest schema must be able to read data
            // written with the record's (`isBackwardCompatible`).
            let parse = |t: &str, what: &str| {
                compat::parse(t, &[])
                    .map_err(|e| ConvertError::new(format!("the {what} is not valid Avro: {e}")))
            };
            let problems = compat::Level::Backward.check(
                &parse(latest, "latest schema")?,
                &[parse(text, "record's schema")?],
            );
            if !problems.is_empty() {
                return Err(ConvertError::new(format!(
                    "the latest schema is not backward compatible with the record's schema ({}); \
                     set latest.compatibility.strict=false to skip this check",
                    problems.join("; ")
                )));
            }
        }
        let target = schema::reader_with(latest, self.options.meta)?;
        let plan = latest::plan(schema, &target)?;
        Ok(Arc::new(move |out: &mut Vec<u8>, value: &Value| {
            latest::write(out, &plan, value)
        }))
    }
    fn read(
        &self,
        reader: &Arc<Reader>,
        payload: &[u8],
    ) -> Result<(SchemaRef, Value), ConvertError> {
        let mut input = codec::Input::new(payload);
        Ok((reader.schema.clone(), codec::read(&mut input, reader)?))
    }
}

/// `io.confluent.connect.avro.AvroConverter`.
#[allow(private_interfaces)]
pub type AvroConverter = FramedConverter<Avro>;

impl AvroConverter {
    pub fn from_props(props: &Config, is_key: bool) -> Result<Self, ConvertError> {
        let options = AvroOptions {
            meta: flag(props, "connect.meta.data", true)?,
            enhanced: flag(props, "enhanced.avro.schema.support", false)?,
        };
        FramedConverter::with_format(Avro { options }, props, is_key)
    }
}

#[cfg(test)]
pub(crate) mod tests;
