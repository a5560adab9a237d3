//! Writing packed payloads: the [`Writer`] primitives and the value and schema tree walks,
//! which each side's own types feed through [`PackValue`] and [`PackSchema`].

use crate::{tag, VERSION};

/// Appends primitives to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    /// A writer whose buffer starts with [`VERSION`].
    pub fn with_capacity(capacity: usize) -> Writer {
        let mut buf = Vec::with_capacity(capacity.max(1));
        buf.push(VERSION);
        Writer { buf }
    }

    #[inline(always)]
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    #[inline(always)]
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// Unsigned LEB128.
    #[inline(always)]
    pub fn uvar(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A count or length.
    #[inline(always)]
    pub fn len(&mut self, n: usize) {
        self.uvar(n as u64);
    }

    /// Signed, zigzag then LEB128 (small magnitudes stay short).
    #[inline(always)]
    pub fn svar(&mut self, v: i64) {
        self.uvar(((v << 1) ^ (v >> 63)) as u64);
    }

    #[inline(always)]
    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    #[inline(always)]
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    #[inline(always)]
    pub fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.buf.extend_from_slice(v);
    }

    #[inline(always)]
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// `0`, or `1` followed by the value.
    #[inline(always)]
    pub fn opt_svar(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.svar(v);
            }
        }
    }

    #[inline(always)]
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.str(v);
            }
        }
    }

    /// A schema reference: `0` for none, table index + 1 otherwise.
    #[inline(always)]
    pub fn schema_ref(&mut self, index: Option<u32>) {
        self.uvar(index.map_or(0, |i| u64::from(i) + 1));
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// One value as the encoder sees it: each side's value type shows itself as one of these, so
/// the tree walk and the tags are written once, here.
pub enum ValueView<'a, V> {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(&'a str),
    Bytes(&'a [u8]),
    Array(&'a [V]),
    Map(&'a [(V, V)]),
    /// The field values in schema field order.
    Struct(&'a [V]),
}

/// A value type the encoder can write.
pub trait PackValue: Sized {
    fn view(&self) -> ValueView<'_, Self>;
}

/// A schema type the encoder can write (schemas are written once per payload).
pub trait PackSchema: Sized {
    type Value: PackValue;
    /// One of the [`schema_type`](crate::schema_type) codes.
    fn type_code(&self) -> u8;
    fn optional(&self) -> bool;
    fn name(&self) -> Option<&str>;
    fn version(&self) -> Option<i32>;
    fn doc(&self) -> Option<&str>;
    fn parameters(&self) -> &[(String, String)];
    fn default_value(&self) -> Option<&Self::Value>;
    /// The array item, map key and map value schemas, in that order.
    fn children(&self) -> [Option<&Self>; 3];
    fn field_count(&self) -> usize;
    /// Field `i`'s name and schema.
    fn field(&self, i: usize) -> (&str, &Self);
}

/// Writes a value: its tag, then the tag's payload (`docs/packed-batches.md`, "Values").
pub fn write_value<V: PackValue>(w: &mut Writer, v: &V) {
    match v.view() {
        ValueView::Null => w.u8(tag::NULL),
        ValueView::Boolean(b) => {
            w.u8(tag::BOOLEAN);
            w.bool(b);
        }
        ValueView::Int8(x) => {
            w.u8(tag::INT8);
            w.u8(x as u8);
        }
        ValueView::Int16(x) => {
            w.u8(tag::INT16);
            w.svar(i64::from(x));
        }
        ValueView::Int32(x) => {
            w.u8(tag::INT32);
            w.svar(i64::from(x));
        }
        ValueView::Int64(x) => {
            w.u8(tag::INT64);
            w.svar(x);
        }
        ValueView::Float32(x) => {
            w.u8(tag::FLOAT32);
            w.f32(x);
        }
        ValueView::Float64(x) => {
            w.u8(tag::FLOAT64);
            w.f64(x);
        }
        ValueView::String(s) => {
            w.u8(tag::STRING);
            w.str(s);
        }
        ValueView::Bytes(b) => {
            w.u8(tag::BYTES);
            w.bytes(b);
        }
        ValueView::Array(items) => {
            w.u8(tag::ARRAY);
            w.len(items.len());
            items.iter().for_each(|i| write_value(w, i));
        }
        ValueView::Map(entries) => {
            w.u8(tag::MAP);
            w.len(entries.len());
            for (k, v) in entries {
                write_value(w, k);
                write_value(w, v);
            }
        }
        ValueView::Struct(fields) => {
            w.u8(tag::STRUCT);
            w.len(fields.len());
            fields.iter().for_each(|f| write_value(w, f));
        }
    }
}

/// Writes a schema tree (`docs/packed-batches.md`, "Schemas").
pub fn write_schema<S: PackSchema>(w: &mut Writer, s: &S) {
    w.u8(s.type_code());
    w.bool(s.optional());
    w.opt_str(s.name());
    w.opt_svar(s.version().map(i64::from));
    w.opt_str(s.doc());
    w.len(s.parameters().len());
    for (k, v) in s.parameters() {
        w.str(k);
        w.str(v);
    }
    w.bool(s.default_value().is_some());
    if let Some(d) = s.default_value() {
        write_value(w, d);
    }
    for child in s.children() {
        w.bool(child.is_some());
        if let Some(c) = child {
            write_schema(w, c);
        }
    }
    w.len(s.field_count());
    for i in 0..s.field_count() {
        let (name, schema) = s.field(i);
        w.str(name);
        write_schema(w, schema);
    }
}
