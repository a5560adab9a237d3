//! Encoding (SDK -> host): records, source records and transform outcomes, sharing one
//! schema table per payload.

use sluice_packed::{
    offset_tag, outcome_tag, schema_type as st, write_schema, write_value, PackSchema, PackValue,
    RecordHead, ValueView, Writer,
};

use crate::record::{OffsetMap, OffsetValue, Record, SourceRecord, TimestampType};
use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::transform::Outcome;
use crate::value::Value;
use crate::wire::SchemaInterner;

/// Writes the items of one payload, sharing one schema table among them.
#[derive(Default)]
pub(crate) struct Encoder {
    pub(super) body: Writer,
    schemas: Writer,
    pub(super) count: usize,
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

    pub(super) fn intern(&mut self, schema: &SchemaRef) -> u32 {
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

    /// An output whose schema table starts with an input batch's table, copied as is
    /// (`table` holds its `schemas.len()` entries), so the input's schema indices stay valid
    /// in the output and records can be copied through unchanged.
    pub(super) fn with_table(items: usize, table: &[u8], schemas: &[Option<SchemaRef>]) -> Encoder {
        let mut e = Encoder::with_capacity(items);
        e.schemas.buf.extend_from_slice(table);
        e.interner = SchemaInterner::seeded(schemas);
        e
    }

    /// Appends one record of a batch.
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

/// Encodes records as a packed batch, as the host does.
pub(crate) fn encode_batch(records: &[Record]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(records.len());
    records.iter().for_each(|r| e.batch_item(r));
    e.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_packed::Reader;

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
