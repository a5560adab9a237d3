//! The host side of the packed batch encoding (`docs/packed-batches.md`): the same batches
//! as `lower`/`lift`, carried as one `list<u8>` for components that export a `packed-*`
//! interface.
//!
//! Design decision: encoding borrows the records (a sink keeps its batch for a retry without
//! a copy; a transform's input is dropped afterwards), and the schema table is interned by
//! `Arc` pointer as in `lower`. Everything decoded is untrusted plugin output: a malformed
//! payload is an error naming the byte offset, never a panic.

use std::sync::Arc;

use sluice_packed::{
    offset_tag, outcome_tag, scan, schema_type as st, skip_record, skip_schema, tag, write_schema,
    write_value, Error, PackSchema, PackValue, Reader, RecordHead, ValueView, Writer,
};

use crate::data::{
    ConnectRecord, Data, Field, Header, OffsetMap, Schema, SchemaInterner, SchemaRef, SchemaType,
    SourceRecord, TimestampType, Value,
};
use crate::runtime::task::Outcome;

/// Deeper trees than this are refused (they would only exhaust the host's stack).
const MAX_DEPTH: usize = 200;

/// Writes a batch: the records go to `body` as they come, schemas to their own table on
/// first sight; `finish` puts the table first.
#[derive(Default)]
struct Encoder {
    body: Writer,
    schemas: Writer,
    count: usize,
    interner: SchemaInterner,
}

impl Encoder {
    fn with_capacity(records: usize) -> Encoder {
        Encoder {
            body: Writer {
                // A guess that avoids most regrowth for typical records.
                buf: Vec::with_capacity(records * 96 + 16),
            },
            ..Encoder::default()
        }
    }

    fn intern(&mut self, schema: &SchemaRef) -> u32 {
        let table = &mut self.schemas;
        self.interner.intern(schema, |s| write_schema(table, s))
    }

    fn data(&mut self, d: &Data) {
        let schema = d.schema.as_ref().map(|s| self.intern(s));
        self.body.schema_ref(schema);
        write_value(&mut self.body, &d.value);
    }

    fn record(&mut self, r: &ConnectRecord) {
        self.count += 1;
        RecordHead {
            topic: &r.topic,
            partition: r.kafka_partition,
            offset: r.kafka_offset,
            timestamp: r.timestamp,
            timestamp_type: match r.timestamp_type {
                TimestampType::NoTimestampType => 0,
                TimestampType::CreateTime => 1,
                TimestampType::LogAppendTime => 2,
            },
        }
        .write(&mut self.body);
        self.data(&r.key);
        self.data(&r.value);
        self.body.len(r.headers.len());
        for h in &r.headers {
            self.body.str(&h.key);
            self.data(&h.value);
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Writer::with_capacity(self.schemas.buf.len() + self.body.buf.len() + 12);
        out.len(self.count);
        out.len(self.interner.entries());
        out.buf.extend_from_slice(&self.schemas.buf);
        out.buf.extend_from_slice(&self.body.buf);
        out.finish()
    }
}

/// Encodes a batch for a packed `put` or `apply`.
pub(crate) fn encode_batch(records: &[ConnectRecord]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(records.len());
    for r in records {
        e.record(r);
    }
    e.finish()
}

impl PackValue for Value {
    fn view(&self) -> ValueView<'_, Value> {
        match self {
            Value::Null => ValueView::Null,
            Value::Boolean(b) => ValueView::Boolean(*b),
            Value::Int8(x) => ValueView::Int8(*x),
            Value::Int16(x) => ValueView::Int16(*x),
            Value::Int32(x) => ValueView::Int32(*x),
            Value::Int64(x) => ValueView::Int64(*x),
            Value::Float32(x) => ValueView::Float32(*x),
            Value::Float64(x) => ValueView::Float64(*x),
            Value::String(s) => ValueView::String(s),
            Value::Bytes(b) => ValueView::Bytes(b),
            Value::Array(items) => ValueView::Array(items),
            Value::Map(entries) => ValueView::Map(entries),
            Value::Struct(fields) => ValueView::Struct(fields),
        }
    }
}

impl PackSchema for Schema {
    type Value = Value;
    fn type_code(&self) -> u8 {
        match self.ty {
            SchemaType::Int8 => st::INT8,
            SchemaType::Int16 => st::INT16,
            SchemaType::Int32 => st::INT32,
            SchemaType::Int64 => st::INT64,
            SchemaType::Float32 => st::FLOAT32,
            SchemaType::Float64 => st::FLOAT64,
            SchemaType::Boolean => st::BOOLEAN,
            SchemaType::String => st::STRING,
            SchemaType::Bytes => st::BYTES,
            SchemaType::Array => st::ARRAY,
            SchemaType::Map => st::MAP,
            SchemaType::Struct => st::STRUCT,
        }
    }
    fn optional(&self) -> bool {
        self.optional
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn version(&self) -> Option<i32> {
        self.version
    }
    fn doc(&self) -> Option<&str> {
        self.doc.as_deref()
    }
    fn parameters(&self) -> &[(String, String)] {
        &self.parameters
    }
    fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }
    fn children(&self) -> [Option<&Schema>; 3] {
        [
            self.items.as_deref(),
            self.keys.as_deref(),
            self.values.as_deref(),
        ]
    }
    fn field_count(&self) -> usize {
        self.fields.len()
    }
    fn field(&self, i: usize) -> (&str, &Schema) {
        (&self.fields[i].name, &self.fields[i].schema)
    }
}

// ---------------------------------------------------------------------------------------
// Decoding (plugin output)
// ---------------------------------------------------------------------------------------

/// The leading item count and the schema table of a payload.
fn header<'a>(bytes: &'a [u8]) -> Result<(Reader<'a>, usize, Vec<SchemaRef>), Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let mut schemas = Vec::with_capacity(n);
    for i in 0..n {
        let s = read_schema(&mut r, 0).map_err(|e| Error {
            message: format!("schema table entry {i}: {}", e.message),
            ..e
        })?;
        schemas.push(SchemaRef::new(s));
    }
    Ok((r, count, schemas))
}

/// The number of items a payload says it holds (read without decoding them).
pub(crate) fn count(bytes: &[u8]) -> Result<usize, Error> {
    let mut r = Reader::new(bytes)?;
    r.len()
}

pub(super) fn read_schema(r: &mut Reader<'_>, depth: usize) -> Result<Schema, Error> {
    if depth > MAX_DEPTH {
        return Err(r.error(format!("schema nested deeper than {MAX_DEPTH} levels")));
    }
    let ty = match r.u8()? {
        st::INT8 => SchemaType::Int8,
        st::INT16 => SchemaType::Int16,
        st::INT32 => SchemaType::Int32,
        st::INT64 => SchemaType::Int64,
        st::FLOAT32 => SchemaType::Float32,
        st::FLOAT64 => SchemaType::Float64,
        st::BOOLEAN => SchemaType::Boolean,
        st::STRING => SchemaType::String,
        st::BYTES => SchemaType::Bytes,
        st::ARRAY => SchemaType::Array,
        st::MAP => SchemaType::Map,
        st::STRUCT => SchemaType::Struct,
        t => return Err(r.error(format!("unknown schema type code {t}"))),
    };
    let optional = r.bool()?;
    let name = r.opt_string()?;
    let version = match r.opt_svar()? {
        None => None,
        Some(v) => Some(
            i32::try_from(v).map_err(|_| r.error(format!("schema version {v} out of range")))?,
        ),
    };
    let doc = r.opt_string()?;
    let n = r.len()?;
    let mut parameters = Vec::with_capacity(n);
    for _ in 0..n {
        parameters.push((r.string()?, r.string()?));
    }
    let default = if r.bool()? {
        Some(read_value(r, depth + 1)?)
    } else {
        None
    };
    let child = |r: &mut Reader<'_>| -> Result<Option<SchemaRef>, Error> {
        Ok(if r.bool()? {
            Some(SchemaRef::new(read_schema(r, depth + 1)?))
        } else {
            None
        })
    };
    let items = child(r)?;
    let keys = child(r)?;
    let values = child(r)?;
    let n = r.len()?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.string()?;
        let schema = SchemaRef::new(read_schema(r, depth + 1)?);
        fields.push(Field { name, schema });
    }
    Ok(Schema {
        ty,
        optional,
        default,
        name,
        version,
        doc,
        parameters,
        items,
        keys,
        values,
        fields,
    })
}

pub(super) fn read_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(r.error(format!("value nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(match r.u8()? {
        tag::NULL => Value::Null,
        tag::BOOLEAN => Value::Boolean(r.bool()?),
        tag::INT8 => Value::Int8(r.u8()? as i8),
        tag::INT16 => Value::Int16(r.svar_as("int16")?),
        tag::INT32 => Value::Int32(r.svar_as("int32")?),
        tag::INT64 => Value::Int64(r.svar()?),
        tag::FLOAT32 => Value::Float32(r.f32()?),
        tag::FLOAT64 => Value::Float64(r.f64()?),
        tag::STRING => Value::String(r.string()?),
        tag::BYTES => Value::Bytes(r.bytes()?.to_vec()),
        tag::ARRAY => {
            let n = r.len()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_value(r, depth + 1)?);
            }
            Value::Array(items)
        }
        tag::MAP => {
            let n = r.len()?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                entries.push((read_value(r, depth + 1)?, read_value(r, depth + 1)?));
            }
            Value::Map(entries)
        }
        tag::STRUCT => {
            let n = r.len()?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                fields.push(read_value(r, depth + 1)?);
            }
            Value::Struct(fields)
        }
        t => return Err(r.error(format!("unknown value tag {t}"))),
    })
}

fn read_data(r: &mut Reader<'_>, table: &[SchemaRef]) -> Result<Data, Error> {
    let schema = match r.schema_ref()? {
        None => None,
        Some(i) => Some(table.get(i).cloned().ok_or_else(|| {
            r.error(format!(
                "schema index {i} out of range (the payload has {} schemas)",
                table.len()
            ))
        })?),
    };
    Ok(Data {
        schema,
        value: read_value(r, 0)?,
    })
}

fn read_record(r: &mut Reader<'_>, table: &[SchemaRef]) -> Result<ConnectRecord, Error> {
    let head = RecordHead::read(r)?;
    let timestamp_type = match head.timestamp_type {
        0 => TimestampType::NoTimestampType,
        1 => TimestampType::CreateTime,
        _ => TimestampType::LogAppendTime,
    };
    let key = read_data(r, table)?;
    let value = read_data(r, table)?;
    let n = r.len()?;
    let mut headers = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.string()?;
        headers.push(Header {
            value: read_data(r, table)?,
            key,
        });
    }
    Ok(ConnectRecord {
        topic: head.topic.to_owned(),
        kafka_partition: head.partition,
        kafka_offset: head.offset,
        timestamp: head.timestamp,
        timestamp_type,
        key,
        value,
        headers,
    })
}

fn read_offset_map(r: &mut Reader<'_>) -> Result<OffsetMap, Error> {
    let n = r.len()?;
    let mut map = OffsetMap::new();
    for _ in 0..n {
        let key = r.string()?;
        let v = match r.u8()? {
            offset_tag::NULL => serde_json::Value::Null,
            offset_tag::BOOLEAN => serde_json::Value::Bool(r.bool()?),
            offset_tag::INT => serde_json::Value::from(r.svar()?),
            offset_tag::FLOAT => {
                let f = r.f64()?;
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| {
                        r.error(format!("offset key `{key}`: {f} is not a finite number"))
                    })?
            }
            offset_tag::STRING => serde_json::Value::String(r.string()?),
            t => return Err(r.error(format!("offset key `{key}`: unknown offset value tag {t}"))),
        };
        map.insert(key, v);
    }
    Ok(map)
}

/// Prefixes "record i: " to an error from within the i-th item.
fn in_item(i: usize) -> impl Fn(Error) -> Error {
    move |e| Error {
        message: format!("record {i}: {}", e.message),
        ..e
    }
}

/// Decodes a packed batch (the symmetric of [`encode_batch`]); a sink hands a batch back
/// this way for a retry.
pub(crate) fn decode_batch(bytes: &[u8]) -> Result<Vec<ConnectRecord>, Error> {
    let (mut r, count, table) = header(bytes)?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        out.push(read_record(&mut r, &table).map_err(in_item(i))?);
    }
    r.finish()?;
    Ok(out)
}

/// Decodes what a packed `poll` returned.
pub(crate) fn decode_source_batch(bytes: &[u8]) -> Result<Vec<SourceRecord>, Error> {
    let (mut r, count, table) = header(bytes)?;
    let mut out = Vec::with_capacity(count);
    // The last partition map and its bytes: a record whose partition bytes are the same
    // shares the map instead of decoding (and later dropping) its own.
    let mut last: Option<(&[u8], Arc<OffsetMap>)> = None;
    for i in 0..count {
        let item = (|| {
            let start = r.position();
            let source_partition = match &last {
                Some((raw, map)) if bytes[start..].starts_with(raw) => {
                    r.advance_to(start + raw.len())?;
                    map.clone()
                }
                _ => {
                    let map = Arc::new(read_offset_map(&mut r)?);
                    last = Some((r.since(start), map.clone()));
                    map
                }
            };
            let source_offset = read_offset_map(&mut r)?;
            Ok(SourceRecord {
                source_partition,
                source_offset,
                record: read_record(&mut r, &table)?,
            })
        })();
        out.push(item.map_err(in_item(i))?);
    }
    r.finish()?;
    Ok(out)
}

/// Decodes what a packed `apply` returned: exactly one outcome per input record.
pub(crate) fn decode_transform_output(bytes: &[u8], inputs: usize) -> Result<Vec<Outcome>, String> {
    let (mut r, count, table) = header(bytes).map_err(|e| e.to_string())?;
    if count != inputs {
        return Err(format!(
            "transform returned {count} outcomes for {inputs} input records"
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let o = match r.u8().map_err(|e| in_item(i)(e).to_string())? {
            outcome_tag::KEEP => {
                Outcome::Keep(read_record(&mut r, &table).map_err(|e| in_item(i)(e).to_string())?)
            }
            outcome_tag::DROP => Outcome::Drop,
            outcome_tag::FAIL => Outcome::Fail(r.string().map_err(|e| in_item(i)(e).to_string())?),
            t => return Err(in_item(i)(r.error(format!("unknown outcome tag {t}"))).to_string()),
        };
        out.push(o);
    }
    r.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// What one step of a transform chain did with one record, read from its packed output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepOutcome {
    Keep,
    Drop,
    Fail(String),
}

/// Turns a packed transform output into the packed batch of the records it kept, for the next
/// step of a chain, without decoding them: the schema table and each kept record are copied
/// byte for byte. The records are still checked (structure, UTF-8, schema references), so a
/// malformed output is blamed on the step that returned it.
pub(crate) fn rebatch(out: &[u8], inputs: usize) -> Result<(Vec<u8>, Vec<StepOutcome>), String> {
    let mut r = Reader::new(out).map_err(|e| e.to_string())?;
    let count = r.len().map_err(|e| e.to_string())?;
    if count != inputs {
        return Err(format!(
            "transform returned {count} outcomes for {inputs} input records"
        ));
    }
    let schemas = r.len().map_err(|e| e.to_string())?;
    let table_start = r.position();
    for i in 0..schemas {
        skip_schema(&mut r, 0).map_err(|e| format!("schema table entry {i}: {e}"))?;
    }
    let table = &out[table_start..r.position()];
    let mut body = Vec::with_capacity(out.len() - r.position());
    let mut outcomes = Vec::with_capacity(count);
    let mut kept = 0usize;
    for i in 0..count {
        let outcome = (|| {
            Ok(match r.u8()? {
                outcome_tag::KEEP => {
                    let start = r.position();
                    // The fast check first; when it finds a problem, the slow one says what.
                    match scan::checked_record_end(out, start, schemas) {
                        Some(end) => r.advance_to(end)?,
                        None => skip_record(&mut r, schemas)?,
                    }
                    body.extend_from_slice(&out[start..r.position()]);
                    kept += 1;
                    StepOutcome::Keep
                }
                outcome_tag::DROP => StepOutcome::Drop,
                outcome_tag::FAIL => StepOutcome::Fail(r.string()?),
                t => return Err(r.error(format!("unknown outcome tag {t}"))),
            })
        })()
        .map_err(|e| in_item(i)(e).to_string())?;
        outcomes.push(outcome);
    }
    r.finish().map_err(|e| e.to_string())?;
    let mut w = Writer::with_capacity(table.len() + body.len() + 12);
    w.len(kept);
    w.len(schemas);
    w.buf.extend_from_slice(table);
    w.buf.extend_from_slice(&body);
    Ok((w.finish(), outcomes))
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
