//! `io.confluent.connect.s3.format.parquet.ParquetFormat`: each object is a Parquet file, as
//! Confluent's `ParquetRecordWriterProvider` writes it through parquet-avro's
//! `AvroParquetWriter`: the records' Connect schema goes to Avro with AvroFormat's mapping
//! ([`crate::avro::schema::to_avro`]) and from Avro to Parquet as parquet-avro converts it
//! ([`schema`]); values are shredded into columns ([`columns`]) and written with dictionary
//! encoding, 64 KiB pages and the `parquet.codec` compression. The Avro schema is kept in the
//! footer under `parquet.avro.schema`, as parquet-avro does, so Avro-based readers get it back.
//!
//! Design decisions:
//! - The writer is arrow-rs's `parquet` crate without arrow (its low-level column writers)
//!   and with only pure-Rust codecs, so it builds for wasm32-wasip2; the shredding is ours
//!   because the crate's record API cannot take Connect values.
//! - Memory: a row group is closed once its buffered values reach [`ROW_GROUP_BYTES`] (an
//!   estimate of their size), and its bytes join the object's buffer, which the writer
//!   uploads in parts like any other format's.
//! - Deterministic: the same records give the same bytes (no timestamps, no random ids), so
//!   a replay after a crash rewrites identical objects.

pub mod columns;
pub mod schema;

use std::sync::Arc;

use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{BoolType, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use sluice_plugin_sdk::{Schema, Value};

use crate::avro::schema::to_avro;
use columns::{Column, Values};
use schema::{convert, Node};

/// A row group is closed when its buffered values take about this many bytes.
pub const ROW_GROUP_BYTES: usize = 8 * 1024 * 1024;
/// Confluent's page size (`ParquetRecordWriterProvider.PAGE_SIZE`).
pub const PAGE_BYTES: usize = 64 * 1024;

/// `parquet.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCodec {
    Uncompressed,
    Snappy,
    Gzip,
}

impl ParquetCodec {
    /// Confluent's names (`CompressionCodecName.fromConf`, `none` for uncompressed).
    pub fn parse(name: &str) -> Result<ParquetCodec, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" | "uncompressed" => Ok(ParquetCodec::Uncompressed),
            "snappy" => Ok(ParquetCodec::Snappy),
            "gzip" => Ok(ParquetCodec::Gzip),
            other => Err(format!(
                "'{other}' is not available in Sluice; use none, snappy or gzip (lz4, zstd, \
                 brotli and lzo are not implemented: their Parquet codecs are not pure Rust \
                 or not in the plugin)"
            )),
        }
    }

    /// The object name extension, as Confluent's `getExtension`: the codec's
    /// (`CompressionCodecName.getExtension`) then `.parquet`.
    pub fn extension(self) -> &'static str {
        match self {
            ParquetCodec::Uncompressed => ".parquet",
            ParquetCodec::Snappy => ".snappy.parquet",
            ParquetCodec::Gzip => ".gz.parquet",
        }
    }

    fn compression(self) -> Compression {
        match self {
            ParquetCodec::Uncompressed => Compression::UNCOMPRESSED,
            ParquetCodec::Snappy => Compression::SNAPPY,
            ParquetCodec::Gzip => Compression::GZIP(GzipLevel::default()),
        }
    }
}

/// One open Parquet file: the file writer (its output drained into the caller's buffer after
/// each row group) and the row group being filled.
pub struct ParquetFile {
    writer: Option<SerializedFileWriter<Vec<u8>>>,
    fields: Vec<Node>,
    columns: Vec<Column>,
    rows: usize,
    bytes: usize,
    /// [`ROW_GROUP_BYTES`] (smaller in tests).
    row_group_bytes: usize,
}

impl std::fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFile")
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl ParquetFile {
    /// Starts a file for records of value schema `schema` (a Struct); appends the file's
    /// magic bytes to `out`.
    pub fn start(out: &mut Vec<u8>, schema: &Schema, codec: ParquetCodec) -> Result<Self, String> {
        let avro = to_avro(schema)?;
        let parquet = convert(&avro)?;
        let props = WriterProperties::builder()
            .set_compression(codec.compression())
            .set_dictionary_enabled(true)
            .set_data_page_size_limit(PAGE_BYTES)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("parquet.avro.schema".to_string(), avro.to_text()),
                KeyValue::new("writer.model.name".to_string(), "avro".to_string()),
            ]))
            .build();
        let mut writer = SerializedFileWriter::new(Vec::new(), parquet.message, Arc::new(props))
            .map_err(|e| format!("Parquet: {e}"))?;
        drain(&mut writer, out)?;
        Ok(ParquetFile {
            writer: Some(writer),
            fields: parquet.fields,
            columns: parquet.leaves.into_iter().map(Column::new).collect(),
            rows: 0,
            bytes: 0,
            row_group_bytes: ROW_GROUP_BYTES,
        })
    }

    /// Adds one record (a Struct of `schema`); closes the row group into `out` once it holds
    /// [`ROW_GROUP_BYTES`]. A record that fails leaves the file as it was.
    pub fn append(
        &mut self,
        out: &mut Vec<u8>,
        schema: &Schema,
        value: &Value,
    ) -> Result<(), String> {
        self.bytes += columns::shred_record(&self.fields, &mut self.columns, schema, value)?;
        self.rows += 1;
        if self.bytes >= self.row_group_bytes {
            self.close_row_group(out)?;
        }
        Ok(())
    }

    /// Closes the last row group and writes the footer into `out`; the file is then complete.
    /// Calling it again does nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if self.writer.is_none() {
            return Ok(());
        }
        self.close_row_group(out)?;
        if let Some(mut writer) = self.writer.take() {
            writer.finish().map_err(|e| format!("Parquet: {e}"))?;
            drain(&mut writer, out)?;
        }
        Ok(())
    }

    fn close_row_group(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if self.rows == 0 {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or("Parquet: the file is complete")?;
        write_row_group(writer, &mut self.columns).map_err(|e| format!("Parquet: {e}"))?;
        drain(writer, out)?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// Moves what the writer has produced so far into `out`.
fn drain(writer: &mut SerializedFileWriter<Vec<u8>>, out: &mut Vec<u8>) -> Result<(), String> {
    writer.flush().map_err(|e| format!("Parquet: {e}"))?;
    out.append(writer.inner_mut());
    Ok(())
}

fn write_row_group(
    writer: &mut SerializedFileWriter<Vec<u8>>,
    columns: &mut [Column],
) -> parquet::errors::Result<()> {
    let mut rg = writer.next_row_group()?;
    for col in columns.iter_mut() {
        let Some(mut cw) = rg.next_column()? else {
            return Err(parquet::errors::ParquetError::General(
                "fewer columns than the schema has".into(),
            ));
        };
        let def = (col.leaf.max_def > 0).then_some(col.def.as_slice());
        let rep = (col.leaf.max_rep > 0).then_some(col.rep.as_slice());
        match &col.values {
            Values::Bool(v) => cw.typed::<BoolType>().write_batch(v, def, rep)?,
            Values::I32(v) => cw.typed::<Int32Type>().write_batch(v, def, rep)?,
            Values::I64(v) => cw.typed::<Int64Type>().write_batch(v, def, rep)?,
            Values::F32(v) => cw.typed::<FloatType>().write_batch(v, def, rep)?,
            Values::F64(v) => cw.typed::<DoubleType>().write_batch(v, def, rep)?,
            Values::Bytes(v) => cw.typed::<ByteArrayType>().write_batch(v, def, rep)?,
        };
        cw.close()?;
        col.clear();
    }
    rg.close()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::schema::printer::print_schema;
    use sluice_plugin_sdk::{SchemaRef, Struct};

    fn order_schema() -> SchemaRef {
        let line = Schema::struct_builder()
            .name("shop.Line")
            .field("sku", Schema::string())
            .field("n", Schema::int32().optional())
            .build();
        Schema::struct_builder()
            .name("shop.Order")
            .field("id", Schema::int64())
            .field("qty", Schema::int16())
            .field("ok", Schema::boolean())
            .field("rate", Schema::float64().optional())
            .field("price", Schema::decimal(2))
            .field("day", Schema::date().optional())
            .field("at", Schema::time())
            .field("ts", Schema::timestamp())
            .field("note", Schema::string().optional().with_default("none"))
            .field("tags", Schema::array(Schema::string()))
            .field(
                "attrs",
                Schema::map(Schema::string(), Schema::int32().optional()),
            )
            .field("by_id", Schema::map(Schema::int32(), Schema::string()))
            .field("line", line.clone().optional())
            .field("lines", Schema::array(line))
            .build_ref()
    }

    fn order(schema: &SchemaRef, n: i64) -> Value {
        let line_schema = schema.field("line").unwrap().1.schema.clone();
        let line = |sku: &str, count: Option<i32>| {
            let mut l = Struct::new(line_schema.clone()).unwrap();
            l.put("sku", sku).unwrap();
            if let Some(c) = count {
                l.put("n", c).unwrap();
            }
            Value::Struct(l)
        };
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", n).unwrap();
        s.put("qty", Value::Int16(n as i16 * 2)).unwrap();
        s.put("ok", n % 2 == 0).unwrap();
        if n % 2 == 1 {
            s.put("rate", Value::Float64(n as f64 / 4.0)).unwrap();
            s.put("day", Value::Int32(n as i32)).unwrap();
            s.put("note", format!("note-{n}")).unwrap();
            s.put("line", line("a", Some(n as i32))).unwrap();
        }
        s.put("price", Value::decimal(i128::from(100 * n + 25)))
            .unwrap();
        s.put("at", Value::Int32(1000)).unwrap();
        s.put("ts", Value::Int64(1_772_360_100_000 + n)).unwrap();
        let tags = (0..n).map(|i| Value::from(format!("t{i}"))).collect();
        s.put("tags", Value::Array(tags)).unwrap();
        s.put(
            "attrs",
            Value::Map(vec![
                (Value::from("n"), Value::Int32(n as i32)),
                (Value::from("none"), Value::Null),
            ]),
        )
        .unwrap();
        s.put(
            "by_id",
            Value::Map(vec![(Value::Int32(7), Value::from("seven"))]),
        )
        .unwrap();
        s.put(
            "lines",
            Value::Array(vec![line("x", None), line("y", Some(2))]),
        )
        .unwrap();
        Value::Struct(s)
    }

    fn write(schema: &Schema, values: &[Value], codec: ParquetCodec, row_group: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut f = ParquetFile::start(&mut out, schema, codec).unwrap();
        f.row_group_bytes = row_group;
        for v in values {
            f.append(&mut out, schema, v).unwrap();
        }
        f.finish(&mut out).unwrap();
        f.finish(&mut out).unwrap();
        out
    }

    fn schema_text(file: &[u8]) -> String {
        let r = SerializedFileReader::new(bytes::Bytes::from(file.to_vec())).unwrap();
        let mut out = Vec::new();
        print_schema(&mut out, r.metadata().file_metadata().schema());
        String::from_utf8(out).unwrap()
    }

    fn rows(file: &[u8]) -> (usize, Vec<String>) {
        let r = SerializedFileReader::new(bytes::Bytes::from(file.to_vec())).unwrap();
        let groups = r.metadata().num_row_groups();
        let rows = r
            .get_row_iter(None)
            .unwrap()
            .map(|row| row.unwrap().to_string())
            .collect();
        (groups, rows)
    }

    #[test]
    fn the_schema_is_parquet_avros_form_of_the_avro_mapping() {
        let file = write(
            &order_schema(),
            &[order(&order_schema(), 1)],
            ParquetCodec::Snappy,
            ROW_GROUP_BYTES,
        );
        let text = schema_text(&file);
        let expected = "\
message shop.Order {
  REQUIRED INT64 id;
  REQUIRED INT32 qty;
  REQUIRED BOOLEAN ok;
  OPTIONAL DOUBLE rate;
  REQUIRED BYTE_ARRAY price (DECIMAL(64,2));
  OPTIONAL INT32 day (DATE);
  REQUIRED INT32 at (TIME(MILLIS,true));
  REQUIRED INT64 ts (TIMESTAMP(MILLIS,true));
  OPTIONAL BYTE_ARRAY note (STRING);
  REQUIRED group tags (LIST) {
    REPEATED BYTE_ARRAY array (STRING);
  }
  REQUIRED group attrs (MAP) {
    REPEATED group key_value {
      REQUIRED BYTE_ARRAY key (STRING);
      OPTIONAL INT32 value;
    }
  }
  REQUIRED group by_id (LIST) {
    REPEATED group array {
      REQUIRED INT32 key;
      REQUIRED BYTE_ARRAY value (STRING);
    }
  }
  OPTIONAL group line {
    REQUIRED BYTE_ARRAY sku (STRING);
    OPTIONAL INT32 n;
  }
  REQUIRED group lines (LIST) {
    REPEATED group array {
      REQUIRED BYTE_ARRAY sku (STRING);
      OPTIONAL INT32 n;
    }
  }
}
";
        assert_eq!(text, expected);
        let r = SerializedFileReader::new(bytes::Bytes::from(file)).unwrap();
        let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
        let avro = kv.iter().find(|k| k.key == "parquet.avro.schema").unwrap();
        assert!(
            avro.value
                .as_deref()
                .unwrap()
                .starts_with(r#"{"type":"record","name":"Order","namespace":"shop""#),
            "{avro:?}"
        );
    }

    #[test]
    fn arrays_of_optional_items_use_the_three_level_lists() {
        let schema = Schema::struct_builder()
            .field("xs", Schema::array(Schema::int64().optional()))
            .field("ys", Schema::array(Schema::string()))
            .build_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put(
            "xs",
            Value::Array(vec![Value::Int64(1), Value::Null, Value::Int64(3)]),
        )
        .unwrap();
        s.put("ys", Value::Array(vec![])).unwrap();
        let file = write(
            &schema,
            &[Value::Struct(s)],
            ParquetCodec::Uncompressed,
            ROW_GROUP_BYTES,
        );
        assert_eq!(
            schema_text(&file),
            "\
message io.confluent.connect.avro.ConnectDefault {
  REQUIRED group xs (LIST) {
    REPEATED group list {
      OPTIONAL INT64 element;
    }
  }
  REQUIRED group ys (LIST) {
    REPEATED group list {
      REQUIRED BYTE_ARRAY element (STRING);
    }
  }
}
"
        );
        assert_eq!(rows(&file).1, ["{xs: [1, null, 3], ys: []}"]);
    }

    #[test]
    fn values_round_trip_through_every_codec_and_row_groups() {
        let schema = order_schema();
        let values: Vec<Value> = (0..40).map(|n| order(&schema, n)).collect();
        let reference = rows(&write(
            &schema,
            &values,
            ParquetCodec::Uncompressed,
            ROW_GROUP_BYTES,
        ));
        assert_eq!(reference.0, 1);
        assert_eq!(reference.1.len(), 40);
        // The crate's record reader shows parquet-avro's old two-level lists as nested lists.
        assert_eq!(
            reference.1[1],
            "{id: 1, qty: 2, ok: false, rate: 0.25, price: 1.25, day: 1970-01-02, \
             at: 00:00:01.000, ts: 2026-03-01 10:15:00.001 +00:00, note: \"note-1\", \
             tags: [[\"t0\"]], attrs: {\"n\" -> 1, \"none\" -> null}, \
             by_id: [[{key: 7, value: \"seven\"}]], line: {sku: \"a\", n: 1}, \
             lines: [[{sku: \"x\", n: null}, {sku: \"y\", n: 2}]]}"
        );
        for codec in [ParquetCodec::Snappy, ParquetCodec::Gzip] {
            let file = write(&schema, &values, codec, 2_000);
            let (groups, got) = rows(&file);
            assert!(groups > 1, "{codec:?}: {groups} row groups");
            assert_eq!(got, reference.1, "{codec:?}");
            // The same records give the same bytes.
            assert_eq!(file, write(&schema, &values, codec, 2_000));
        }
    }

    #[test]
    fn a_bad_record_leaves_the_file_as_it_was() {
        let schema = order_schema();
        let mut out = Vec::new();
        let mut f = ParquetFile::start(&mut out, &schema, ParquetCodec::Snappy).unwrap();
        f.append(&mut out, &schema, &order(&schema, 1)).unwrap();
        // Every field but the last one set: the columns before it are written, then rewound.
        let mut bad = Struct::new(schema.clone()).unwrap();
        if let Value::Struct(full) = order(&schema, 2) {
            for (field, v) in schema
                .fields
                .iter()
                .zip(full.values())
                .take(schema.fields.len() - 1)
            {
                bad.put(&field.name, v.clone()).unwrap();
            }
        }
        let e = f
            .append(&mut out, &schema, &Value::Struct(bad))
            .unwrap_err();
        assert!(e.contains("null value for a required Array"), "{e}");
        f.append(&mut out, &schema, &order(&schema, 3)).unwrap();
        f.finish(&mut out).unwrap();
        let (_, got) = rows(&out);
        assert_eq!(got.len(), 2);
        assert!(got[1].starts_with("{id: 3,"), "{}", got[1]);
    }

    #[test]
    fn codecs_are_named_and_extended_as_confluents() {
        assert_eq!(ParquetCodec::parse("none").unwrap().extension(), ".parquet");
        assert_eq!(
            ParquetCodec::parse("UNCOMPRESSED").unwrap(),
            ParquetCodec::Uncompressed
        );
        assert_eq!(
            ParquetCodec::parse("snappy").unwrap().extension(),
            ".snappy.parquet"
        );
        assert_eq!(
            ParquetCodec::parse("gzip").unwrap().extension(),
            ".gz.parquet"
        );
        let e = ParquetCodec::parse("zstd").unwrap_err();
        assert!(e.contains("use none, snappy or gzip"), "{e}");
    }
}
