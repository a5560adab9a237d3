//! The guest side of the packed batch encoding (`docs/packed-batches.md`): what the
//! `packed-*` exports read and write instead of the structured WIT records.
//!
//! Like [`wire`](crate::wire), encoding interns schemas per batch (pointer first, then
//! equality) and decoding shares one `Arc` per schema table entry among the records. A
//! record whose bytes are well formed but whose data does not fit its schema (a struct with
//! the wrong number of fields, say) fails alone; a payload that cannot be read at all is a
//! host bug and fails the whole call.

use std::rc::Rc;
use std::sync::Arc;

use sluice_packed::{
    offset_tag, outcome_tag, plan_source, scan, schema_type as st, skip_record, skip_schema,
    skip_value, tag, write_schema, write_value, Error, PackSchema, PackValue, Reader, RecordHead,
    ValueView, Writer,
};

use crate::plan::{FieldSource, StructPlan};
use crate::record::{
    Header, OffsetMap, OffsetValue, Record, RecordRef, Side, SourceRecord, TimestampType, ValueRef,
};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::transform::{Outcome, Transform};
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

    /// An output whose schema table starts with an input batch's table, copied as is
    /// (`table` holds its `schemas.len()` entries), so the input's schema indices stay valid
    /// in the output and records can be copied through unchanged.
    fn with_table(items: usize, table: &[u8], schemas: &[Option<SchemaRef>]) -> Encoder {
        let mut e = Encoder::with_capacity(items);
        e.schemas.buf.extend_from_slice(table);
        e.interner = SchemaInterner::seeded(schemas);
        e
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
    decode_with(bytes, read_record)
}

/// [`decode_batch`] into records that borrow their topic and top-level strings and bytes
/// from `bytes` (what a sink's `put_borrowed` gets).
pub(crate) fn decode_batch_borrowed(
    bytes: &[u8],
) -> Result<Vec<Result<RecordRef<'_>, DataError>>, Error> {
    decode_with(bytes, read_record_ref)
}

/// Reads a batch's records with `read`; a record only `read` finds unusable becomes its
/// `DataError` (the reader skips past it), a broken payload fails the whole batch.
fn decode_with<'a, T>(
    bytes: &'a [u8],
    read: impl Fn(&mut Reader<'a>, &[Result<SchemaRef, DataError>]) -> Result<T, Failure>,
) -> Result<Vec<Result<T, DataError>>, Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let schemas = read_table(&mut r, n)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(next_with(&mut r, &schemas, &read)?);
    }
    r.finish()?;
    Ok(out)
}

/// The next record of a batch; `Err(DataError)` when only this record is unusable (the
/// reader is then past it).
fn next_record(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Result<Record, DataError>, Error> {
    next_with(r, schemas, read_record)
}

fn next_with<'a, T>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
    read: impl Fn(&mut Reader<'a>, &[Result<SchemaRef, DataError>]) -> Result<T, Failure>,
) -> Result<Result<T, DataError>, Error> {
    let at = r.clone();
    match read(r, schemas) {
        Ok(rec) => Ok(Ok(rec)),
        Err(Failure::Bytes(e)) => Err(e),
        Err(Failure::Data(e)) => {
            *r = at;
            skip_record(r, schemas.len())?;
            Ok(Err(e))
        }
    }
}

/// The `n` entries of a payload's schema table; an entry the SDK cannot use fails only the
/// records that refer to it.
fn read_table(r: &mut Reader<'_>, n: usize) -> Result<Vec<Result<SchemaRef, DataError>>, Error> {
    let mut schemas: Vec<Result<SchemaRef, DataError>> = Vec::with_capacity(n);
    for i in 0..n {
        let at = r.clone();
        schemas.push(match read_schema(r, 0) {
            Ok(s) => Ok(s),
            Err(Failure::Bytes(e)) => return Err(e),
            Err(Failure::Data(e)) => {
                // Skip the rest of the entry so the next one can be read.
                *r = at;
                skip_schema(r, 0)?;
                Err(DataError(format!("schema {i} of the batch: {e}")))
            }
        });
    }
    Ok(schemas)
}

// ---------------------------------------------------------------------------------------
// Transforms: struct plans rewrite bytes, every other record is decoded and applied
// ---------------------------------------------------------------------------------------

/// A [`StructPlan`] checked against its input schema, with its constant parts encoded.
struct CompiledPlan {
    output: SchemaRef,
    /// Per input field: the value tag its schema calls for, and whether it may be null.
    checks: Vec<(u8, bool)>,
    ops: Vec<Op>,
}

enum Op {
    /// Input field `index`: `replace` (when set) stands in for a non-null value, `if_null`
    /// (when set) for a null one; otherwise the input bytes are copied.
    Field {
        index: usize,
        replace: Option<Vec<u8>>,
        if_null: Option<Vec<u8>>,
    },
    Topic,
    Partition,
    Offset,
    Timestamp,
    Bytes(Vec<u8>),
}

/// The value tag of a schema type.
fn value_tag(ty: SchemaType) -> u8 {
    match ty {
        SchemaType::Int8 => tag::INT8,
        SchemaType::Int16 => tag::INT16,
        SchemaType::Int32 => tag::INT32,
        SchemaType::Int64 => tag::INT64,
        SchemaType::Float32 => tag::FLOAT32,
        SchemaType::Float64 => tag::FLOAT64,
        SchemaType::Boolean => tag::BOOLEAN,
        SchemaType::String => tag::STRING,
        SchemaType::Bytes => tag::BYTES,
        SchemaType::Array => tag::ARRAY,
        SchemaType::Map => tag::MAP,
        SchemaType::Struct => tag::STRUCT,
    }
}

fn encoded(v: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    write_value(&mut w, v);
    w.finish()
}

impl CompiledPlan {
    /// `None` when the plan does not fit `input` (an index past its fields, an output
    /// schema whose field count differs): those records then take the record path.
    fn new(plan: StructPlan, input: &Schema) -> Option<CompiledPlan> {
        if input.ty != SchemaType::Struct
            || plan.schema.ty != SchemaType::Struct
            || plan.schema.fields.len() != plan.fields.len()
        {
            return None;
        }
        let default_of = |index: usize, null_as_default: bool| -> Option<Vec<u8>> {
            let d = input.fields[index].schema.default.as_ref()?;
            null_as_default.then(|| encoded(d))
        };
        let mut ops = Vec::with_capacity(plan.fields.len());
        for f in plan.fields {
            ops.push(match f {
                FieldSource::Input {
                    index,
                    null_as_default,
                } if index < input.fields.len() => Op::Field {
                    index,
                    replace: None,
                    if_null: default_of(index, null_as_default),
                },
                FieldSource::Replaced {
                    index,
                    with,
                    null_as_default,
                } if index < input.fields.len() => {
                    let with = encoded(&with);
                    Op::Field {
                        index,
                        if_null: default_of(index, null_as_default).map(|_| with.clone()),
                        replace: Some(with),
                    }
                }
                FieldSource::Input { .. } | FieldSource::Replaced { .. } => return None,
                FieldSource::Topic => Op::Topic,
                FieldSource::Partition => Op::Partition,
                FieldSource::Offset => Op::Offset,
                FieldSource::Timestamp => Op::Timestamp,
                FieldSource::Constant(v) => Op::Bytes(encoded(&v)),
            });
        }
        // Each output field must be able to hold what its source gives, so a plan cannot
        // send the host values its output schema does not describe.
        for (op, field) in ops.iter().zip(&plan.schema.fields) {
            let out = &field.schema;
            let fits = |bytes: &[u8]| {
                bytes[0] == value_tag(out.ty) || (bytes[0] == tag::NULL && out.optional)
            };
            let ok = match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                } => {
                    let input = &input.fields[*index].schema;
                    replace.as_deref().map_or(input.ty == out.ty, fits)
                        && if_null.as_deref().is_none_or(fits)
                        && (out.optional || !input.optional || if_null.is_some())
                }
                Op::Topic => out.ty == SchemaType::String,
                Op::Partition => out.ty == SchemaType::Int32,
                Op::Offset | Op::Timestamp => out.ty == SchemaType::Int64,
                Op::Bytes(b) => fits(b),
            };
            if !ok {
                return None;
            }
        }
        Some(CompiledPlan {
            output: plan.schema,
            checks: input
                .fields
                .iter()
                .map(|f| (value_tag(f.schema.ty), f.schema.optional))
                .collect(),
            ops,
        })
    }
}

/// The compiled plans of the last few input schemas, kept across batches (Kafka keeps 16
/// updated schemas per transform; so do we).
#[derive(Default)]
pub(crate) struct PlanCache {
    entries: Vec<(SchemaRef, Option<Rc<CompiledPlan>>)>,
    /// How many records were rewritten by a plan (for tests).
    pub(crate) planned: usize,
}

impl PlanCache {
    const SIZE: usize = 16;

    fn get<T: Transform>(&mut self, t: &mut T, input: &SchemaRef) -> Option<Rc<CompiledPlan>> {
        let hit = self
            .entries
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, input))
            .or_else(|| self.entries.iter().position(|(s, _)| **s == **input));
        if let Some(i) = hit {
            return self.entries[i].1.clone();
        }
        let plan = t
            .struct_plan(input)
            .and_then(|p| CompiledPlan::new(p, input))
            .map(Rc::new);
        if self.entries.len() == Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((input.clone(), plan.clone()));
        plan
    }
}

/// Applies a transform to a packed batch and returns the packed outcomes.
///
/// When the transform plans structs ([`Transform::plan_side`]), each record whose side is a
/// struct with a plan is rewritten byte for byte; every other record is decoded, given to
/// [`Transform::apply`] and encoded, as a transform without plans has all its records.
pub(crate) fn apply_transform<T: Transform>(
    t: &mut T,
    bytes: &[u8],
    cache: &mut PlanCache,
) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let table_start = r.position();
    let schemas = read_table(&mut r, n)?;
    // The output table starts with the input's entries, so planned records can keep their
    // other side's and their headers' schema indices.
    let table = r.since(table_start);
    let seeds: Vec<Option<SchemaRef>> = schemas.iter().map(|s| s.as_ref().ok().cloned()).collect();
    let mut rw = Rewriter {
        bytes,
        enc: Encoder::with_table(count, table, &seeds),
        plans: vec![None; schemas.len()],
        spans: Vec::new(),
    };
    let side = t.plan_side();
    for _ in 0..count {
        if let Some(side) = side {
            let mark = rw.enc.body.buf.len();
            if let Some(after) = rw.planned(t, cache, &schemas, r.clone(), side) {
                r = after;
                rw.enc.count += 1;
                cache.planned += 1;
                continue;
            }
            rw.enc.body.buf.truncate(mark);
        }
        let outcome = match next_record(&mut r, &schemas)? {
            Ok(record) => t.apply(record),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        rw.enc.outcome(&outcome);
    }
    r.finish()?;
    Ok(rw.enc.finish())
}

struct Rewriter<'a> {
    bytes: &'a [u8],
    enc: Encoder,
    /// Per input table entry, once looked up: its plan, if any.
    plans: Vec<Option<Option<Rc<CompiledPlan>>>>,
    /// Where each input struct field's bytes are, for the record at hand.
    spans: Vec<(usize, usize)>,
}

impl Rewriter<'_> {
    /// Writes the `keep` outcome of the record at `r` by its plan and returns the reader
    /// past the record; `None` when the record does not fit a plan (the caller then drops
    /// what was written and takes the record path, which also reports broken bytes).
    ///
    /// Uses the position-based [`scan`] functions: the host checks every byte of the output
    /// (UTF-8 included) before it goes anywhere, so this side only needs to find boundaries.
    fn planned<'b, T: Transform>(
        &mut self,
        t: &mut T,
        cache: &mut PlanCache,
        schemas: &[Result<SchemaRef, DataError>],
        mut r: Reader<'b>,
        side: Side,
    ) -> Option<Reader<'b>> {
        let b = self.bytes;
        let n = schemas.len();
        let start = r.position();
        let topic = scan::bytes(b, start)?;
        let (partition, p) = scan::opt_svar(b, topic.1)?;
        let (offset, p) = scan::opt_svar(b, p)?;
        let (timestamp, p) = scan::opt_svar(b, p)?;
        if *b.get(p)? > 2 {
            return None;
        }
        let head = Head {
            topic,
            partition,
            offset,
            timestamp,
        };
        let mut p = p + 1;
        if side == Side::Value {
            p = scan::data(b, p, n)?.1;
        }
        self.enc.body.u8(outcome_tag::KEEP);
        self.enc.body.buf.extend_from_slice(&b[start..p]);
        let rest = self.rewrite(t, cache, schemas, p, &head)?;
        let mut p = rest;
        if side == Side::Key {
            p = scan::data(b, p, n)?.1;
        }
        let (headers, mut p) = scan::uvar(b, p)?;
        for _ in 0..headers {
            p = scan::bytes(b, p)?.1;
            p = scan::data(b, p, n)?.1;
        }
        self.enc.body.buf.extend_from_slice(&b[rest..p]);
        r.advance_to(p).ok()?;
        Some(r)
    }

    /// Writes the struct at `pos` rewritten by the plan for its schema; returns the position
    /// after the input struct.
    fn rewrite<T: Transform>(
        &mut self,
        t: &mut T,
        cache: &mut PlanCache,
        schemas: &[Result<SchemaRef, DataError>],
        pos: usize,
        head: &Head,
    ) -> Option<usize> {
        let b = self.bytes;
        let (index, p) = scan::uvar(b, pos)?;
        let index = usize::try_from(index).ok()?.checked_sub(1)?;
        let slot = self.plans.get_mut(index)?;
        if slot.is_none() {
            *slot = Some(match schemas.get(index)? {
                Ok(s) if s.ty == SchemaType::Struct => cache.get(t, s),
                _ => None,
            });
        }
        let plan = slot.clone()??;
        if *b.get(p)? != tag::STRUCT {
            return None;
        }
        let (fields, mut p) = scan::uvar(b, p + 1)?;
        if fields != plan.checks.len() as u64 {
            return None;
        }
        self.spans.clear();
        for &(expected, optional) in &plan.checks {
            let found = *b.get(p)?;
            if found != expected && !(found == tag::NULL && optional) {
                return None;
            }
            let end = scan::value_end(b, p, 1)?;
            self.spans.push((p, end));
            p = end;
        }
        let out = self.enc.intern(&plan.output);
        let w = &mut self.enc.body;
        w.schema_ref(Some(out));
        w.u8(tag::STRUCT);
        w.len(plan.ops.len());
        for op in &plan.ops {
            match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                } => {
                    let (from, to) = self.spans[*index];
                    let input = &b[from..to];
                    let bytes = match (input[0] == tag::NULL, replace, if_null) {
                        (true, _, Some(b)) => b.as_slice(),
                        (true, _, None) => input,
                        (false, Some(b), _) => b.as_slice(),
                        (false, None, _) => input,
                    };
                    w.buf.extend_from_slice(bytes);
                }
                Op::Topic => {
                    let (from, to) = head.topic;
                    std::str::from_utf8(&b[from..to]).ok()?;
                    w.u8(tag::STRING);
                    w.len(to - from);
                    w.buf.extend_from_slice(&b[from..to]);
                }
                Op::Partition => {
                    w.u8(tag::INT32);
                    w.svar(i64::from(i32::try_from(head.partition?).ok()?));
                }
                Op::Offset => {
                    w.u8(tag::INT64);
                    w.svar(head.offset?);
                }
                Op::Timestamp => {
                    w.u8(tag::INT64);
                    w.svar(head.timestamp?);
                }
                Op::Bytes(b) => w.buf.extend_from_slice(b),
            }
        }
        Some(p)
    }
}

/// What a plan reads from a record head: where the topic's bytes are, and the metadata.
struct Head {
    topic: (usize, usize),
    partition: Option<i64>,
    offset: Option<i64>,
    timestamp: Option<i64>,
}

/// `transform-plans.struct-plan`: reads the input schema the host sends, asks the transform
/// for its plan and returns it encoded, or `None` when there is none or it does not fit the
/// schema (the host would refuse it; those records then go through `apply`).
pub(crate) fn struct_plan<T: Transform>(t: &mut T, input: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let mut r = Reader::new(input)?;
    let schema = match read_schema(&mut r, 0) {
        Ok(s) => s,
        Err(Failure::Bytes(e)) => return Err(e),
        // A schema the SDK cannot represent (a bad default, say) has no plan.
        Err(Failure::Data(_)) => return Ok(None),
    };
    r.finish()?;
    if schema.ty != SchemaType::Struct {
        return Ok(None);
    }
    let Some(plan) = t.struct_plan(&schema) else {
        return Ok(None);
    };
    if CompiledPlan::new(plan.clone(), &schema).is_none() {
        return Ok(None);
    }
    Ok(Some(encode_plan(&plan)))
}

/// A plan as `transform-plans.struct-plan` returns it: the output schema, then each field's
/// source.
pub(crate) fn encode_plan(plan: &StructPlan) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    write_schema(&mut w, &*plan.schema);
    w.len(plan.fields.len());
    for f in &plan.fields {
        match f {
            FieldSource::Input {
                index,
                null_as_default,
            } => {
                w.u8(plan_source::INPUT);
                w.len(*index);
                w.bool(*null_as_default);
            }
            FieldSource::Replaced {
                index,
                with,
                null_as_default,
            } => {
                w.u8(plan_source::REPLACED);
                w.len(*index);
                w.bool(*null_as_default);
                write_value(&mut w, with);
            }
            FieldSource::Topic => w.u8(plan_source::TOPIC),
            FieldSource::Partition => w.u8(plan_source::PARTITION),
            FieldSource::Offset => w.u8(plan_source::OFFSET),
            FieldSource::Timestamp => w.u8(plan_source::TIMESTAMP),
            FieldSource::Constant(v) => {
                w.u8(plan_source::CONSTANT);
                write_value(&mut w, v);
            }
        }
    }
    w.finish()
}

/// [`apply_transform`] without plans: every record through `apply`.
pub(crate) fn apply_unplanned<T: Transform>(t: &mut T, bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let lifted = decode_batch(bytes)?;
    let mut e = Encoder::with_capacity(lifted.len());
    for lifted in lifted {
        e.outcome(&match lifted {
            Ok(record) => t.apply(record),
            Err(err) => Outcome::Fail(err.to_string()),
        });
    }
    Ok(e.finish())
}

/// Encodes records as a packed batch, as the host does.
pub(crate) fn encode_batch(records: &[Record]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(records.len());
    records.iter().for_each(|r| e.batch_item(r));
    e.finish()
}

/// Decodes a packed transform output, as the host does.
pub(crate) fn decode_outcomes(bytes: &[u8]) -> Result<Vec<Outcome>, String> {
    let mut r = Reader::new(bytes).map_err(|e| e.to_string())?;
    let count = r.len().map_err(|e| e.to_string())?;
    let n = r.len().map_err(|e| e.to_string())?;
    let schemas = read_table(&mut r, n).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(match r.u8().map_err(|e| e.to_string())? {
            outcome_tag::KEEP => match next_record(&mut r, &schemas).map_err(|e| e.to_string())? {
                Ok(record) => Outcome::Keep(record),
                Err(e) => return Err(format!("kept record does not fit its schema: {e}")),
            },
            outcome_tag::DROP => Outcome::Drop,
            outcome_tag::FAIL => Outcome::Fail(r.string().map_err(|e| e.to_string())?),
            t => return Err(format!("unknown outcome tag {t}")),
        });
    }
    r.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn read_record(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Record, Failure> {
    read_record_ref(r, schemas).map(RecordRef::into_record)
}

/// One record, borrowing its topic and top-level string and bytes key and value.
fn read_record_ref<'a>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<RecordRef<'a>, Failure> {
    let head = RecordHead::read(r)?;
    let timestamp_type = match head.timestamp_type {
        0 => TimestampType::NoTimestampType,
        1 => TimestampType::CreateTime,
        _ => TimestampType::LogAppendTime,
    };
    let (key_schema, key) = read_data_ref(r, schemas).map_err(|e| in_data(e, "record key"))?;
    let (value_schema, value) =
        read_data_ref(r, schemas).map_err(|e| in_data(e, "record value"))?;
    let n = r.len()?;
    let mut headers = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.string()?;
        let (schema, value) =
            read_data(r, schemas).map_err(|e| in_data(e, &format!("header `{key}`")))?;
        headers.push(Header { key, schema, value });
    }
    Ok(RecordRef {
        topic: head.topic,
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

/// [`read_data`] borrowing a top-level string or bytes value.
fn read_data_ref<'a>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<(Option<SchemaRef>, ValueRef<'a>), Failure> {
    let schema = data_schema(r, schemas)?;
    let value = match r.peek() {
        Some(tag::STRING) => {
            r.u8()?;
            ValueRef::Str(r.str()?)
        }
        Some(tag::BYTES) => {
            r.u8()?;
            ValueRef::Bytes(r.bytes()?)
        }
        _ => ValueRef::Owned(read_value(r, schema.as_ref(), 0)?),
    };
    Ok((schema, value))
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
    let schema = data_schema(r, schemas)?;
    let value = read_value(r, schema.as_ref(), 0)?;
    Ok((schema, value))
}

/// The schema a key, value or header refers to.
fn data_schema(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Option<SchemaRef>, Failure> {
    Ok(match r.schema_ref()? {
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
    })
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
    fn borrowed_records_are_the_owned_records_and_borrow_top_level_strings_and_bytes() {
        let schema = user_schema();
        let string = Schema::string().into_ref();
        let mut records: Vec<Record> = (0..3).map(|i| user(&schema, i)).collect();
        records.push(
            Record::new("lines")
                .with_key(None, Value::Bytes(vec![0, 159, 1]))
                .with_value(Some(string), "a line"),
        );
        records.push(Record::new("lines").with_value(None, Value::Int64(7)));
        let mut e = Encoder::with_capacity(records.len());
        records.iter().for_each(|r| e.batch_item(r));
        let bytes = e.finish();
        let borrowed: Vec<RecordRef<'_>> = decode_batch_borrowed(&bytes)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(borrowed[3].key, ValueRef::Bytes(&[0, 159, 1]));
        assert_eq!(borrowed[3].value, ValueRef::Str("a line"));
        assert_eq!(borrowed[4].value, ValueRef::Owned(Value::Int64(7)));
        let owned: Vec<Record> = borrowed.into_iter().map(RecordRef::into_record).collect();
        assert_eq!(owned, records);
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

    /// Appends a field `extra` to struct values, by `apply` and by a plan whose last field
    /// comes from `source` into a field of schema `extra`.
    struct Append {
        extra: SchemaRef,
        source: crate::plan::FieldSource,
        value: Value,
    }

    impl Transform for Append {
        fn spec() -> crate::config::PluginSpec {
            crate::config::PluginSpec::new("append", "0.1.0")
        }
        fn create(_class: &str, _config: crate::config::Config) -> Result<Self, String> {
            Err("built directly".into())
        }
        fn apply(&mut self, mut record: Record) -> Outcome {
            let extra = self.extra.clone();
            let value = self.value.clone();
            let done = record.update_side(Side::Value, |schema, v| match (schema, v) {
                (Some(s), Value::Struct(st)) => {
                    let out = output_schema(&s, &extra);
                    let (_, mut values) = st.into_parts();
                    values.push(value);
                    Ok((
                        Some(out.clone()),
                        Value::Struct(Struct::from_values(out, values)?),
                    ))
                }
                (schema, v) => Ok::<_, DataError>((schema, v)),
            });
            match done {
                Ok(()) => Outcome::Keep(record),
                Err(e) => Outcome::Fail(e.to_string()),
            }
        }
        fn plan_side(&self) -> Option<Side> {
            Some(Side::Value)
        }
        fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
            let mut fields: Vec<FieldSource> = (0..input.fields.len())
                .map(|index| FieldSource::Input {
                    index,
                    null_as_default: false,
                })
                .collect();
            fields.push(self.source.clone());
            Some(StructPlan::new(output_schema(input, &self.extra), fields))
        }
    }

    fn output_schema(input: &SchemaRef, extra: &SchemaRef) -> SchemaRef {
        let mut out = (**input).clone();
        out.fields.push(Field {
            name: "extra".into(),
            schema: extra.clone(),
        });
        Arc::new(out)
    }

    /// Runs `t` over a batch of user records through the packed path and returns the
    /// outcomes and how many records a plan rewrote.
    fn run_planned(t: &mut Append) -> (Vec<Outcome>, usize) {
        let schema = user_schema();
        let records: Vec<Record> = (0..3).map(|i| user(&schema, i).with_timestamp(i)).collect();
        let mut cache = PlanCache::default();
        let out = apply_transform(t, &encode_batch(&records), &mut cache).unwrap();
        (decode_outcomes(&out).unwrap(), cache.planned)
    }

    #[test]
    fn a_plan_is_used_only_when_its_output_schema_can_hold_its_sources() {
        let ts = Schema::timestamp().into_ref();
        let mut ok = Append {
            extra: ts.clone(),
            source: FieldSource::Timestamp,
            value: Value::Null,
        };
        let (outcomes, planned) = run_planned(&mut ok);
        assert_eq!(planned, 3);
        let Outcome::Keep(r) = &outcomes[2] else {
            panic!("{outcomes:?}")
        };
        let Value::Struct(s) = &r.value else {
            panic!("{r:?}")
        };
        assert_eq!(s.values().last(), Some(&Value::Int64(2)));

        // A string constant into an int64 field, a topic into a timestamp, a null into a
        // required field: no plan, so `apply` decides (here it keeps the value as given).
        for (source, value) in [
            (FieldSource::Constant(Value::from("x")), Value::from("x")),
            (FieldSource::Topic, Value::from("users")),
            (FieldSource::Constant(Value::Null), Value::Null),
        ] {
            let mut bad = Append {
                extra: ts.clone(),
                source,
                value,
            };
            let (outcomes, planned) = run_planned(&mut bad);
            assert_eq!(planned, 0);
            assert!(matches!(outcomes[0], Outcome::Keep(_)), "{outcomes:?}");
        }
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
