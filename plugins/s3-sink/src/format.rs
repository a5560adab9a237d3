//! `format.class`: how records become the bytes of an object.
//!
//! - `io.confluent.connect.s3.format.json.JsonFormat` (`.json`): one JSON document per line,
//!   as Confluent's `JsonRecordWriterProvider` writes it: a Struct through Kafka's
//!   JsonConverter with schemas disabled (`json.decimal.format` for Decimals), any other value
//!   as Jackson writes the Java object (top-level Decimals as numbers, Date/Time/Timestamp as
//!   epoch milliseconds).
//! - `io.confluent.connect.s3.format.bytearray.ByteArrayFormat` (`format.bytearray.extension`,
//!   `.bin`): the value's bytes as they are, each followed by `format.bytearray.separator`
//!   (a newline by default); values must be bytes (ByteArrayConverter).
//! - `io.confluent.connect.s3.format.avro.AvroFormat` (`.avro`): an Avro Object Container
//!   File per object ([`crate::avro`]); `write` gives the record's Avro datum, the writer
//!   frames it into blocks. Records need a value schema.
//! - `io.confluent.connect.s3.format.parquet.ParquetFormat` (`.parquet`, `.snappy.parquet`,
//!   `.gz.parquet` after `parquet.codec`): a Parquet file per object ([`crate::parquet_file`]).
//!   `write` only checks the record (a Struct value schema, a value that fits it, by encoding
//!   its Avro datum); the writer shreds the value into the file's columns. Records need a
//!   Struct value schema.

use sluice_plugin_sdk::json::{write_json, JsonOptions};
use sluice_plugin_sdk::{java, logical, Record, SchemaType, Value};

use crate::avro::{datum, Codec};
use crate::parquet_file::ParquetCodec;

pub const JSON_FORMAT: &str = "io.confluent.connect.s3.format.json.JsonFormat";
pub const BYTE_ARRAY_FORMAT: &str = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat";
pub const AVRO_FORMAT: &str = "io.confluent.connect.s3.format.avro.AvroFormat";
pub const PARQUET_FORMAT: &str = "io.confluent.connect.s3.format.parquet.ParquetFormat";

#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Json(JsonOptions),
    ByteArray {
        extension: String,
        separator: Vec<u8>,
    },
    /// `avro.codec`.
    Avro(Codec),
    /// `parquet.codec`.
    Parquet(ParquetCodec),
}

impl Format {
    pub fn extension(&self) -> &str {
        match self {
            Format::Json(_) => ".json",
            Format::ByteArray { extension, .. } => extension,
            Format::Avro(_) => ".avro",
            Format::Parquet(codec) => codec.extension(),
        }
    }

    /// Appends `record`'s value (non-null: null values are handled before) to `out`: a line,
    /// raw bytes, or (Avro) the value's datum, which the writer puts into a block. Parquet:
    /// the checked value's Avro datum, which the writer does not use (it shreds the value).
    pub fn write(&self, out: &mut Vec<u8>, record: &Record) -> Result<(), String> {
        let start = out.len();
        let written = match self {
            Format::Json(opts) => write_json_line(out, record, *opts),
            Format::ByteArray { separator, .. } => match &record.value {
                Value::Bytes(b) => {
                    out.extend_from_slice(b);
                    out.extend_from_slice(separator);
                    Ok(())
                }
                other => Err(format!(
                    "ByteArrayFormat needs bytes values (ByteArrayConverter), got {}",
                    other.java_class_name(record.value_schema.as_deref())
                )),
            },
            Format::Avro(_) => match record.value_schema.as_deref() {
                Some(schema) => datum::write(out, schema, &record.value)
                    .map_err(|e| format!("AvroFormat: the value does not fit its schema: {e}")),
                None => Err(no_schema("AvroFormat", record)),
            },
            Format::Parquet(_) => match record.value_schema.as_deref() {
                Some(schema) if schema.ty == SchemaType::Struct => {
                    datum::write(out, schema, &record.value).map_err(|e| {
                        format!("ParquetFormat: the value does not fit its schema: {e}")
                    })
                }
                Some(schema) => Err(format!(
                    "ParquetFormat needs Struct values (a Parquet file holds records); the \
                     record from topic '{}', partition {} and offset {} has a {:?} value schema",
                    record.topic,
                    record.partition.unwrap_or(-1),
                    record.offset.unwrap_or(-1),
                    schema.ty
                )),
                None => Err(no_schema("ParquetFormat", record)),
            },
        };
        if written.is_err() {
            out.truncate(start);
        }
        written
    }
}

fn no_schema(format: &str, record: &Record) -> String {
    format!(
        "{format} needs records with a value schema (e.g. JsonConverter with \
         schemas.enable=true, or AvroConverter); the record from topic '{}', partition {} and \
         offset {} has none",
        record.topic,
        record.partition.unwrap_or(-1),
        record.offset.unwrap_or(-1)
    )
}

fn write_json_line(out: &mut Vec<u8>, record: &Record, opts: JsonOptions) -> Result<(), String> {
    let schema = record.value_schema.as_deref();
    let name = schema.and_then(|s| s.name.as_deref());
    match (name, &record.value) {
        (_, Value::Struct(_)) => write_json(out, schema, &record.value, opts)?,
        // Jackson writes the Java objects Connect holds for logical types.
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            let scale = schema
                .and_then(|s| s.parameter(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let d = java::BigDecimal::from_bytes(b, scale)
                .ok_or("Decimal too large to write (over 128 bits)")?;
            out.extend_from_slice(d.to_string().as_bytes());
        }
        (Some(logical::DATE), Value::Int32(days)) => {
            out.extend_from_slice((i64::from(*days) * 86_400_000).to_string().as_bytes())
        }
        (Some(logical::TIME), Value::Int32(ms)) => out.extend_from_slice(ms.to_string().as_bytes()),
        _ => write_json(out, schema, &record.value, opts)?,
    }
    out.push(b'\n');
    Ok(())
}

/// Java-style escapes in `format.bytearray.separator` (`\n`, `\r`, `\t`, `\\`).
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some(other) => {
                out.push(b'\\');
                let mut buf = [0; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::{Schema, Struct};

    fn lines(format: &Format, records: &[Record]) -> String {
        let mut out = Vec::new();
        for r in records {
            format.write(&mut out, r).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_lines_like_confluents_json_format() {
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("price", Schema::decimal(2))
            .build()
            .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", 1i64).unwrap();
        s.put("price", Value::decimal(1234)).unwrap();
        let records = vec![
            Record::new("t").with_value(Some(schema.clone()), Value::Struct(s.clone())),
            Record::new("t")
                .with_value(None, Value::Map(vec![(Value::from("a"), Value::Int64(1))])),
            Record::new("t").with_value(Some(Schema::string().into_ref()), "plain"),
            Record::new("t").with_value(Some(Schema::decimal(2).into_ref()), Value::decimal(-5)),
            Record::new("t").with_value(Some(Schema::date().into_ref()), Value::Int32(2)),
        ];
        assert_eq!(
            lines(&Format::Json(JsonOptions::default()), &records),
            "{\"id\":1,\"price\":\"BNI=\"}\n{\"a\":1}\n\"plain\"\n-0.05\n172800000\n"
        );
        let numeric = Format::Json(JsonOptions {
            decimal_numeric: true,
        });
        assert_eq!(
            lines(&numeric, &records[..1]),
            "{\"id\":1,\"price\":12.34}\n"
        );
    }

    #[test]
    fn byte_array_writes_raw_bytes_and_the_separator() {
        let f = Format::ByteArray {
            extension: ".bin".into(),
            separator: unescape("\\n"),
        };
        let records = vec![
            Record::new("t").with_value(None, Value::Bytes(b"ab".to_vec())),
            Record::new("t").with_value(None, Value::Bytes(vec![0, 255])),
        ];
        let mut out = Vec::new();
        for r in &records {
            f.write(&mut out, r).unwrap();
        }
        assert_eq!(out, b"ab\n\x00\xff\n");
        let e = f
            .write(&mut out, &Record::new("t").with_value(None, "text"))
            .unwrap_err();
        assert!(e.contains("java.lang.String"), "{e}");
        assert_eq!(out.len(), 6, "a failed record leaves nothing behind");
        assert_eq!(unescape("a\\r\\n\\t\\\\b"), b"a\r\n\t\\b");
    }
}
