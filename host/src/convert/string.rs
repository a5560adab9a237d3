//! `org.apache.kafka.connect.storage.StringConverter`: values as UTF-8 text.
//!
//! Design decision: only UTF-8 is supported for `converter.encoding` (Kafka accepts any Java
//! charset); any other encoding is rejected at configuration time rather than mangling data.
//! Writing follows Java's `value.toString()` for primitives, so numbers use Java's text
//! (`1.0E10`) and booleans `true`/`false`.

use crate::config::{get, Config};
use crate::convert::{ConvertError, Converter, HeaderConverter};
use crate::data::{Data, Schema, SchemaType, Value};

use super::json::number::{write_f32, write_f64};

/// The string converter; reads give an optional STRING schema, as Kafka's.
#[derive(Debug, Default)]
pub struct StringConverter;

impl StringConverter {
    /// Checks `converter.encoding` (and the older `serializer.encoding`/`deserializer.encoding`).
    pub fn from_props(props: &Config) -> Result<Self, ConvertError> {
        for key in [
            "converter.encoding",
            "serializer.encoding",
            "deserializer.encoding",
        ] {
            if let Some(enc) = get(props, key) {
                let norm = enc.trim().to_ascii_uppercase().replace('_', "-");
                if norm != "UTF-8" && norm != "UTF8" {
                    return Err(ConvertError::new(format!(
                        "StringConverter: {key}={enc} is not supported; only UTF-8 is accepted"
                    )));
                }
            }
        }
        Ok(StringConverter)
    }

    pub fn serialize(&self, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        Ok(java_to_string(&data.value)?.map(String::into_bytes))
    }

    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        // One shared schema for every record: batches intern schemas by pointer, so a fresh
        // Arc per record would put a copy of the schema into the batch for each record.
        static OPTIONAL_STRING: std::sync::LazyLock<crate::data::SchemaRef> =
            std::sync::LazyLock::new(|| Schema::new(SchemaType::String).optional().into_ref());
        let schema = Some(OPTIONAL_STRING.clone());
        let Some(bytes) = bytes else {
            return Ok(Data::new(schema, Value::Null));
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ConvertError::new(format!(
                "StringConverter: the data is not valid UTF-8 ({e}); only UTF-8 is supported"
            ))
        })?;
        Ok(Data::new(schema, Value::String(text.to_owned())))
    }
}

impl Converter for StringConverter {
    fn from_connect(&self, _topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}

impl HeaderConverter for StringConverter {
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

/// Java's `Object.toString()` of the value Connect would hold (`None` for null). Byte arrays
/// are rejected: Java would print an object address (`[B@1b6d3586`), which is never wanted.
pub(crate) fn java_to_string(value: &Value) -> Result<Option<String>, ConvertError> {
    if value.is_null() {
        return Ok(None);
    }
    let mut out = Vec::new();
    append_to_string(&mut out, value)?;
    String::from_utf8(out)
        .map(Some)
        .map_err(|e| ConvertError::new(format!("invalid UTF-8 produced: {e}")))
}

fn append_to_string(out: &mut Vec<u8>, value: &Value) -> Result<(), ConvertError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int16(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int32(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int64(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Float32(v) if v.is_finite() => write_f32(out, *v),
        Value::Float64(v) if v.is_finite() => write_f64(out, *v),
        Value::Float32(v) => out.extend_from_slice(java_non_finite(*v as f64)),
        Value::Float64(v) => out.extend_from_slice(java_non_finite(*v)),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(_) => {
            return Err(ConvertError::new(
                "StringConverter cannot write a bytes value (Java would print an object address); use ByteArrayConverter".to_owned(),
            ))
        }
        // java.util.List.toString / Map.toString.
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                append_to_string(out, item)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                append_to_string(out, k)?;
                out.push(b'=');
                append_to_string(out, v)?;
            }
            out.push(b'}');
        }
        Value::Struct(_) => {
            return Err(ConvertError::new(
                "StringConverter cannot write a struct value without its field names; use JsonConverter".to_owned(),
            ))
        }
    }
    Ok(())
}

pub(crate) fn java_non_finite(v: f64) -> &'static [u8] {
    if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_java_text_and_reads_optional_string() {
        let c = StringConverter;
        assert_eq!(
            c.serialize(&Data::schemaless(Value::from("héllo")))
                .unwrap(),
            Some("héllo".as_bytes().to_vec())
        );
        assert_eq!(
            c.serialize(&Data::schemaless(Value::Float64(1e10)))
                .unwrap(),
            Some(b"1.0E10".to_vec())
        );
        assert_eq!(
            c.serialize(&Data::schemaless(Value::Int32(-5))).unwrap(),
            Some(b"-5".to_vec())
        );
        assert_eq!(c.serialize(&Data::NULL).unwrap(), None);
        let d = c.deserialize(Some(b"abc")).unwrap();
        assert_eq!(d.value, Value::from("abc"));
        assert!(d
            .schema
            .as_ref()
            .is_some_and(|s| s.optional && s.ty == SchemaType::String));
        assert_eq!(c.deserialize(None).unwrap().value, Value::Null);
        assert!(c.deserialize(Some(&[0xff])).is_err());
    }

    #[test]
    fn only_utf8_encoding() {
        let ok: Config = vec![("converter.encoding".into(), "utf-8".into())];
        assert!(StringConverter::from_props(&ok).is_ok());
        let bad: Config = vec![("converter.encoding".into(), "ISO-8859-1".into())];
        let Err(e) = StringConverter::from_props(&bad) else {
            panic!("rejected")
        };
        assert!(
            e.0.contains("converter.encoding=ISO-8859-1") && e.0.contains("UTF-8"),
            "{e}"
        );
    }
}
