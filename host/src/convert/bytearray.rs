//! `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes pass through unchanged.
//!
//! Design decision: as in Kafka, the schema must be BYTES (or absent) and the value bytes;
//! anything else is an error rather than an implicit encoding.

use crate::convert::{ConvertError, Converter, HeaderConverter};
use crate::data::{Data, Schema, SchemaType, Value};

#[derive(Debug, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    pub fn serialize(&self, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        if let Some(schema) = &data.schema {
            if schema.ty != SchemaType::Bytes {
                return Err(ConvertError::new(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    super::json_type_name(schema.ty)
                )));
            }
        }
        match &data.value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConvertError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                super::value_kind(other)
            ))),
        }
    }

    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Data {
        // Shared, so the per-batch schema table interns it once (see StringConverter).
        static OPTIONAL_BYTES: std::sync::LazyLock<crate::data::SchemaRef> =
            std::sync::LazyLock::new(|| Schema::new(SchemaType::Bytes).optional().into_ref());
        let schema = Some(OPTIONAL_BYTES.clone());
        Data::new(
            schema,
            bytes
                .map(|b| Value::Bytes(b.to_vec()))
                .unwrap_or(Value::Null),
        )
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(&self, _topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        Ok(self.deserialize(bytes))
    }
}

impl HeaderConverter for ByteArrayConverter {
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
        Ok(self.deserialize(bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_through() {
        let c = ByteArrayConverter;
        let d = c.deserialize(Some(&[0, 255]));
        assert_eq!(d.value, Value::Bytes(vec![0, 255]));
        assert_eq!(c.serialize(&d).unwrap(), Some(vec![0, 255]));
        assert_eq!(c.serialize(&Data::NULL).unwrap(), None);
        assert_eq!(c.deserialize(None).value, Value::Null);
        let wrong = Data::new(
            Some(Schema::new(SchemaType::String).into_ref()),
            Value::from("x"),
        );
        assert!(c.serialize(&wrong).unwrap_err().0.contains("string"));
        assert!(c.serialize(&Data::schemaless(Value::Int32(1))).is_err());
    }
}
