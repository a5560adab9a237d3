//! The guest side of the packed batch encoding (`docs/packed-batches.md`): what the
//! `packed-*` exports read and write instead of the structured WIT records.
//!
//! Like [`wire`](crate::wire), encoding interns schemas per batch (pointer first, then
//! equality) and decoding shares one `Arc` per schema table entry among the records. A
//! record whose bytes are well formed but whose data does not fit its schema (a struct with
//! the wrong number of fields, say) fails alone; a payload that cannot be read at all is a
//! host bug and fails the whole call.

use std::sync::Arc;

use sluice_packed::{
    offset_tag, outcome_tag, schema_type as st, skip_record, skip_schema, skip_value, tag,
    write_schema, write_value, Error, PackSchema, PackValue, Reader, RecordHead, ValueView, Writer,
};

use crate::record::{Header, OffsetMap, OffsetValue, Record, SourceRecord, TimestampType};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::transform::Outcome;
use crate::value::{DataError, Struct, Value};
use crate::wire::{struct_schema, SchemaInterner};

// ---------------------------------------------------------------------------------------
// Encoding (SDK -> host)
// ---------------------------------------------------------------------------------------

/// Writes the items of one payload, sharing one schema table among them.
#[derive(Default)]
pub(crate) struct Encoder {
    body: Writer,
    schemas: Writer,
    count: usize,
    interner: SchemaInterner,
}

impl Encoder {
    pub(crate) fn with_capacity(items: usize) -> Encoder {
        Encoder {
            body: Writer {
                buf: Vec::with_capacity(items * 96 + 16),
            },
            ..Encoder::default()
        }
    }

    fn intern(&mut self, schema: &SchemaRef) -> u32 {
        let table = &mut self.schemas;
        self.interner
            .intern(schema, |schema| write_schema(table, schema))
    }

    fn data(&mut self, schema: Option<&SchemaRef>, value: &Value) {
        // A struct value always needs a struct schema on the wire; a plugin that left the
        // schema out gets the struct's own.
        let index = match (schema, value) {
            (Some(s), _) => Some(self.intern(s)),
            (None, Value::Struct(s)) => Some(self.intern(s.schema())),
            (None, _) => None,
        };
        self.body.schema_ref(index);
        write_value(&mut self.body, value);
    }

    fn record(&mut self, r: &Record) {
        RecordHead {
            topic: &r.topic,
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: match r.timestamp_type {
                TimestampType::NoTimestampType => 0,
                TimestampType::CreateTime => 1,
                TimestampType::LogAppendTime => 2,
            },
        }
        .write(&mut self.body);
        self.data(r.key_schema.as_ref(), &r.key);
        self.data(r.value_schema.as_ref(), &r.value);
        self.body.len(r.headers.len());
        for h in &r.headers {
            self.body.str(&h.key);
            self.data(h.schema.as_ref(), &h.value);
        }
    }

    /// Appends one record of a batch.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn batch_item(&mut self, r: &Record) {
        self.count += 1;
        self.record(r);
    }

    /// Appends one record of a source batch.
    pub(crate) fn source_item(&mut self, r: &SourceRecord) {
        self.count += 1;
        write_offset_map(&mut self.body, &r.source_partition);
        write_offset_map(&mut self.body, &r.source_offset);
        self.record(&r.record);
    }

    /// Appends one outcome of a transform output.
    pub(crate) fn outcome(&mut self, o: &Outcome) {
        self.count += 1;
        match o {
            Outcome::Keep(r) => {
                self.body.u8(outcome_tag::KEEP);
                self.record(r);
            }
            Outcome::Drop => self.body.u8(outcome_tag::DROP),
            Outcome::Fail(m) => {
                self.body.u8(outcome_tag::FAIL);
                self.body.str(m);
            }
        }
    }

    /// The payload: item count, schema table, items.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut out = Writer::with_capacity(self.schemas.buf.len() + self.body.buf.len() + 12);
        out.len(self.count);
        out.uvar(u64::from(self.interner.entries()));
        out.buf.extend_from_slice(&self.schemas.buf);
        out.buf.extend_from_slice(&self.body.buf);
        out.finish()
    }
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
            Value::Struct(s) => ValueView::Struct(s.values()),
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

fn write_offset_map(w: &mut Writer, map: &OffsetMap) {
    w.len(map.0.len());
    for (k, v) in &map.0 {
        w.str(k);
        match v {
            OffsetValue::Null => w.u8(offset_tag::NULL),
            OffsetValue::Boolean(b) => {
                w.u8(offset_tag::BOOLEAN);
                w.bool(*b);
            }
            OffsetValue::Int(i) => {
                w.u8(offset_tag::INT);
                w.svar(*i);
            }
            OffsetValue::Float(f) => {
                w.u8(offset_tag::FLOAT);
                w.f64(*f);
            }
            OffsetValue::String(s) => {
                w.u8(offset_tag::STRING);
                w.str(s);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoding (host -> SDK)
// ---------------------------------------------------------------------------------------

/// Why a value could not be read: the bytes are broken (the whole payload is unusable) or
/// the data does not fit its schema (only this record fails).
enum Failure {
    Bytes(Error),
    Data(DataError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Bytes(e)
    }
}

impl From<DataError> for Failure {
    fn from(e: DataError) -> Failure {
        Failure::Data(e)
    }
}

/// Decodes a packed batch: the schema table once, then each record on its own, so one
/// record whose data does not fit its schema fails alone.
pub(crate) fn decode_batch(bytes: &[u8]) -> Result<Vec<Result<Record, DataError>>, Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let mut schemas: Vec<Result<SchemaRef, DataError>> = Vec::with_capacity(n);
    for i in 0..n {
        let at = r.clone();
        schemas.push(match read_schema(&mut r, 0) {
            Ok(s) => Ok(s),
            Err(Failure::Bytes(e)) => return Err(e),
            Err(Failure::Data(e)) => {
                // Skip the rest of the entry so the next one can be read.
                r = at;
                skip_schema(&mut r, 0)?;
                Err(DataError(format!("schema {i} of the batch: {e}")))
            }
        });
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.clone();
        match read_record(&mut r, &schemas) {
            Ok(rec) => out.push(Ok(rec)),
            Err(Failure::Bytes(e)) => return Err(e),
            Err(Failure::Data(e)) => {
                r = at;
                skip_record(&mut r, schemas.len())?;
                out.push(Err(e));
            }
        }
    }
    r.finish()?;
    Ok(out)
}

fn read_record(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Record, Failure> {
    let head = RecordHead::read(r)?;
    let timestamp_type = match head.timestamp_type {
        0 => TimestampType::NoTimestampType,
        1 => TimestampType::CreateTime,
        _ => TimestampType::LogAppendTime,
    };
    let (key_schema, key) = read_data(r, schemas).map_err(|e| in_data(e, "record key"))?;
    let (value_schema, value) = read_data(r, schemas).map_err(|e| in_data(e, "record value"))?;
    let n = r.len()?;
    let mut headers = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.string()?;
        let (schema, value) =
            read_data(r, schemas).map_err(|e| in_data(e, &format!("header `{key}`")))?;
        headers.push(Header { key, schema, value });
    }
    Ok(Record {
        topic: head.topic.to_owned(),
        partition: head.partition,
        offset: head.offset,
        timestamp: head.timestamp,
        timestamp_type,
        key_schema,
        key,
        value_schema,
        value,
        headers,
    })
}

fn in_data(f: Failure, what: &str) -> Failure {
    match f {
        Failure::Data(e) => Failure::Data(DataError(format!("{what}: {}", e.0))),
        bytes => bytes,
    }
}

fn read_data(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<(Option<SchemaRef>, Value), Failure> {
    let schema = match r.schema_ref()? {
        None => None,
        Some(i) => match schemas.get(i) {
            Some(Ok(s)) => Some(s.clone()),
            Some(Err(e)) => return Err(e.clone().into()),
            None => {
                return Err(r
                    .error(format!(
                        "refers to schema {i} but the batch has {} schemas",
                        schemas.len()
                    ))
                    .into())
            }
        },
    };
    let value = read_value(r, schema.as_ref(), 0)?;
    Ok((schema, value))
}

fn read_value(
    r: &mut Reader<'_>,
    schema: Option<&SchemaRef>,
    depth: usize,
) -> Result<Value, Failure> {
    if depth > sluice_packed::MAX_DEPTH {
        return Err(r
            .error(format!(
                "value tree deeper than {} levels",
                sluice_packed::MAX_DEPTH
            ))
            .into());
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
            let items = schema.and_then(|s| s.items.as_ref());
            let n = r.len()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(read_value(r, items, depth + 1)?);
            }
            Value::Array(out)
        }
        tag::MAP => {
            let keys = schema.and_then(|s| s.keys.as_ref());
            let values = schema.and_then(|s| s.values.as_ref());
            let n = r.len()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push((
                    read_value(r, keys, depth + 1)?,
                    read_value(r, values, depth + 1)?,
                ));
            }
            Value::Map(out)
        }
        tag::STRUCT => {
            let n = r.len()?;
            let schema = struct_schema(schema, n)?;
            let mut values = Vec::with_capacity(n);
            for f in &schema.fields {
                values.push(read_value(r, Some(&f.schema), depth + 1)?);
            }
            Value::Struct(Struct::from_values(schema, values)?)
        }
        t => return Err(r.error(format!("unknown value tag {t}")).into()),
    })
}

fn read_schema(r: &mut Reader<'_>, depth: usize) -> Result<SchemaRef, Failure> {
    if depth > sluice_packed::MAX_DEPTH {
        return Err(r.error("schema nested too deeply").into());
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
        t => return Err(r.error(format!("unknown schema type code {t}")).into()),
    };
    let mut schema = Schema::new(ty);
    schema.optional = r.bool()?;
    schema.name = r.opt_string()?;
    schema.version = match r.opt_svar()? {
        None => None,
        Some(v) => Some(
            i32::try_from(v).map_err(|_| r.error(format!("schema version {v} out of range")))?,
        ),
    };
    schema.doc = r.opt_string()?;
    let n = r.len()?;
    for _ in 0..n {
        let k = r.string()?;
        schema.parameters.push((k, r.string()?));
    }
    // The default is typed by this very schema (a struct default needs the fields), which
    // comes after it on the wire: read it once the rest is known.
    let default_at = if r.bool()? {
        let at = r.clone();
        skip_value(r, depth + 1)?;
        Some(at)
    } else {
        None
    };
    schema.items = child(r, depth)?;
    schema.keys = child(r, depth)?;
    schema.values = child(r, depth)?;
    let n = r.len()?;
    for _ in 0..n {
        let name = r.string()?;
        let field_schema = read_schema(r, depth + 1)?;
        schema.fields.push(Field {
            name,
            schema: field_schema,
        });
    }
    if let Some(mut at) = default_at {
        let shape = Arc::new(schema.clone());
        schema.default = Some(read_value(&mut at, Some(&shape), 0)?);
    }
    Ok(Arc::new(schema))
}

fn child(r: &mut Reader<'_>, depth: usize) -> Result<Option<SchemaRef>, Failure> {
    Ok(if r.bool()? {
        Some(read_schema(r, depth + 1)?)
    } else {
        None
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user_schema() -> SchemaRef {
        Schema::struct_builder()
            .name("com.example.User")
            .field("id", Schema::int64())
            .field("name", Schema::string().optional())
            .field(
                "tags",
                Schema::array(Schema::string())
                    .optional()
                    .with_default(Value::Array(vec![])),
            )
            .field(
                "attrs",
                Schema::map(Schema::string(), Schema::int32()).optional(),
            )
            .build_ref()
    }

    fn user(schema: &SchemaRef, id: i64) -> Record {
        let value = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int64(id),
                Value::from("ada"),
                Value::Array(vec![Value::from("x")]),
                Value::Map(vec![(Value::from("k"), Value::Int32(-1))]),
            ],
        )
        .unwrap();
        Record::new("users")
            .with_value(Some(schema.clone()), Value::Struct(value))
            .with_partition(2)
            .with_timestamp(-5)
            .with_header("h", Some(Schema::float64().into_ref()), 0.5f64)
    }

    #[test]
    fn batches_round_trip_sharing_one_schema() {
        let schema = user_schema();
        let records: Vec<Record> = (0..4).map(|i| user(&schema, i)).collect();
        let mut e = Encoder::with_capacity(4);
        records.iter().for_each(|r| e.batch_item(r));
        let bytes = e.finish();
        let back: Vec<Record> = decode_batch(&bytes)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, records);
        // One struct schema entry plus one per header schema Arc (equal, so shared too).
        let mut r = Reader::new(&bytes).unwrap();
        assert_eq!(r.len().unwrap(), 4);
        assert_eq!(r.len().unwrap(), 2);
        // Decoded records share one Arc per table entry.
        let a = back[0].value_schema.as_ref().unwrap();
        let b = back[3].value_schema.as_ref().unwrap();
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn a_record_that_does_not_fit_its_schema_fails_alone() {
        let schema = user_schema();
        let good = user(&schema, 1);
        // Hand-write a batch whose second record claims the struct schema with 1 field.
        let mut e = Encoder::with_capacity(3);
        e.batch_item(&good);
        e.count += 1;
        e.body.str("users");
        e.body.opt_svar(None);
        e.body.opt_svar(None);
        e.body.opt_svar(None);
        e.body.u8(0);
        e.body.schema_ref(None);
        e.body.u8(tag::NULL);
        e.body.schema_ref(Some(0));
        e.body.u8(tag::STRUCT);
        e.body.len(1);
        e.body.u8(tag::INT64);
        e.body.svar(9);
        e.body.len(0);
        e.batch_item(&good);
        let out = decode_batch(&e.finish()).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap(), &good);
        let err = out[1].as_ref().unwrap_err();
        assert!(
            err.0.contains("record value: struct value has 1 fields"),
            "{err}"
        );
        assert_eq!(out[2].as_ref().unwrap(), &good);
    }

    #[test]
    fn broken_bytes_fail_the_payload_with_a_position() {
        let schema = user_schema();
        let mut e = Encoder::with_capacity(1);
        e.batch_item(&user(&schema, 1));
        let bytes = e.finish();
        let err = decode_batch(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(err.message.contains("ends early"), "{err}");
    }

    #[test]
    fn outcomes_and_source_records_encode() {
        let mut e = Encoder::with_capacity(3);
        e.outcome(&Outcome::Drop);
        e.outcome(&Outcome::Fail("bad".into()));
        e.outcome(&Outcome::Keep(Record::new("t")));
        let bytes = e.finish();
        let mut r = Reader::new(&bytes).unwrap();
        assert_eq!(r.len().unwrap(), 3);
        assert_eq!(r.len().unwrap(), 0);
        assert_eq!(r.u8().unwrap(), outcome_tag::DROP);
        assert_eq!(r.u8().unwrap(), outcome_tag::FAIL);
        assert_eq!(r.str().unwrap(), "bad");
        assert_eq!(r.u8().unwrap(), outcome_tag::KEEP);
        assert_eq!(r.str().unwrap(), "t");

        let mut e = Encoder::with_capacity(1);
        e.source_item(&SourceRecord::new(
            OffsetMap::new().with("file", "/a"),
            OffsetMap::new().with("position", 7i64),
            Record::new("t"),
        ));
        let bytes = e.finish();
        let mut r = Reader::new(&bytes).unwrap();
        assert_eq!((r.len().unwrap(), r.len().unwrap()), (1, 0));
        assert_eq!(r.len().unwrap(), 1);
        assert_eq!(r.str().unwrap(), "file");
        assert_eq!(r.u8().unwrap(), offset_tag::STRING);
        assert_eq!(r.str().unwrap(), "/a");
    }
}
