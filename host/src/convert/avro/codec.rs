//! Avro binary encoding of Connect values: writing walks the Connect schema (whose Avro form
//! is fixed by [`super::schema::to_avro`]), reading walks the compiled [`Reader`] of the
//! writer's schema. No intermediate Avro value tree on either side.

use crate::convert::{value_kind, ConvertError};
use crate::data::{Schema, SchemaType, Value};

use super::schema::{enum_symbols, ReadKind, Reader};

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

pub(super) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub(super) fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// Writes `value` as Avro binary of the Avro form of `schema` (default options).
#[cfg(test)]
pub(crate) fn write(out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), ConvertError> {
    write_with(out, schema, value, false)
}

/// Writes `value` as Avro binary of the Avro form of `schema`; `enhanced` is
/// `enhanced.avro.schema.support` (strings with enum parameters are Avro enums).
pub(crate) fn write_with(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    enhanced: bool,
) -> Result<(), ConvertError> {
    let write = |out: &mut Vec<u8>, schema: &Schema, value: &Value| {
        write_with(out, schema, value, enhanced)
    };
    let value = match value {
        Value::Null => match &schema.default {
            Some(d) if !d.is_null() => d,
            _ => value,
        },
        v => v,
    };
    if schema.optional {
        // The union's branch order, as to_avro writes it.
        let null_first = !matches!(&schema.default, Some(d) if !d.is_null());
        let (null_index, value_index) = if null_first { (0, 1) } else { (1, 0) };
        if value.is_null() {
            write_long(out, null_index);
            return Ok(());
        }
        write_long(out, value_index);
    } else if value.is_null() {
        return Err(err(format!(
            "null value for a required {} schema{}",
            schema.ty.json_name(),
            schema
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )));
    }
    let mismatch = || {
        err(format!(
            "a {} value does not fit a {} schema",
            value_kind(value),
            schema.ty.json_name()
        ))
    };
    match (schema.ty, value) {
        (SchemaType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (SchemaType::Int8, Value::Int8(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int16, Value::Int16(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int32, Value::Int32(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int64, Value::Int64(i)) => write_long(out, *i),
        (SchemaType::Float32, Value::Float32(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::Float64, Value::Float64(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::String, Value::String(s)) => match enum_symbols(schema).filter(|_| enhanced) {
            Some(mut symbols) => {
                let i = symbols.position(|sym| sym == s).ok_or_else(|| {
                    err(format!(
                        "{s:?} is not a symbol of the Avro enum {}",
                        schema
                            .parameter(super::schema::ENUM_PARAM)
                            .unwrap_or_default()
                    ))
                })?;
                write_long(out, i as i64);
            }
            None => write_bytes(out, s.as_bytes()),
        },
        (SchemaType::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.items.as_deref().ok_or_else(mismatch)?;
            if !items.is_empty() {
                write_long(out, items.len() as i64);
                for i in items {
                    write(out, item_schema, i)?;
                }
            }
            out.push(0);
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (keys, values) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(mismatch()),
            };
            let string_keys = keys.ty == SchemaType::String && !keys.optional;
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, v) in entries {
                    if string_keys {
                        let k = k.as_str().ok_or_else(|| err("a map key is not a string"))?;
                        write_bytes(out, k.as_bytes());
                    } else {
                        write(out, keys, k)?;
                    }
                    write(out, values, v)?;
                }
            }
            out.push(0);
        }
        (SchemaType::Struct, Value::Struct(values)) => {
            if values.len() != schema.fields.len() {
                return Err(err(format!(
                    "a struct value has {} fields, its schema {}",
                    values.len(),
                    schema.fields.len()
                )));
            }
            for (f, v) in schema.fields.iter().zip(values) {
                write(out, &f.schema, v)
                    .map_err(|e| err(format!("field {:?}: {}", f.name, e.0)))?;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// A cursor over an Avro binary payload; every read is bounds-checked.
pub(crate) struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

const TRUNCATED: &str = "the Avro payload is truncated";

impl<'a> Input<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Input { bytes, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| err(TRUNCATED))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn long(&mut self) -> Result<i64, ConvertError> {
        let mut z: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self.take(1)?.first().ok_or_else(|| err(TRUNCATED))?;
            if shift >= 64 {
                return Err(err("an Avro varint is longer than 10 bytes"));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn len(&mut self) -> Result<usize, ConvertError> {
        let n = self.long()?;
        let n = usize::try_from(n).map_err(|_| err(format!("negative Avro length {n}")))?;
        if n > self.remaining() {
            return Err(err(TRUNCATED));
        }
        Ok(n)
    }

    /// The count of the next array/map block; a negative count is followed by the block's
    /// byte size (skipped: the items are read anyway).
    fn block(&mut self) -> Result<usize, ConvertError> {
        let n = self.long()?;
        if n < 0 {
            self.long()?;
        }
        let n = n.unsigned_abs();
        // Each item takes at least one byte, except nulls: bound the allocation anyway.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.remaining().max(1) * 8)
            .ok_or_else(|| err(format!("an Avro block count of {n} exceeds the payload")))
    }
}

/// Reads one value of `reader`'s Avro type.
pub(crate) fn read(input: &mut Input<'_>, reader: &Reader) -> Result<Value, ConvertError> {
    Ok(match &reader.kind {
        ReadKind::Null => Value::Null,
        ReadKind::Boolean => match input.take(1)?[0] {
            0 => Value::Boolean(false),
            1 => Value::Boolean(true),
            b => return Err(err(format!("invalid Avro boolean byte {b}"))),
        },
        ReadKind::Int(ty) => {
            let v = input.long()?;
            let out_of_range = || err(format!("{v} is out of range for {}", ty.json_name()));
            match ty {
                SchemaType::Int8 => Value::Int8(i8::try_from(v).map_err(|_| out_of_range())?),
                SchemaType::Int16 => Value::Int16(i16::try_from(v).map_err(|_| out_of_range())?),
                _ => Value::Int32(i32::try_from(v).map_err(|_| out_of_range())?),
            }
        }
        ReadKind::Long => Value::Int64(input.long()?),
        ReadKind::Float => {
            let b = input.take(4)?;
            Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        ReadKind::Double => {
            let b = input.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Value::Float64(f64::from_le_bytes(a))
        }
        ReadKind::Bytes => {
            let n = input.len()?;
            Value::Bytes(input.take(n)?.to_vec())
        }
        ReadKind::String => {
            let n = input.len()?;
            let s = std::str::from_utf8(input.take(n)?)
                .map_err(|e| err(format!("an Avro string is not UTF-8: {e}")))?;
            Value::String(s.to_string())
        }
        ReadKind::Enum(symbols) => {
            let i = input.long()?;
            let s = usize::try_from(i)
                .ok()
                .and_then(|i| symbols.get(i))
                .ok_or_else(|| err(format!("enum index {i} out of range")))?;
            Value::String(s.clone())
        }
        ReadKind::Fixed(n) => Value::Bytes(input.take(*n)?.to_vec()),
        ReadKind::Array(items) => Value::Array(blocks(input, |input| read(input, items))?),
        ReadKind::Map(values) => Value::Map(blocks(input, |input| {
            let len = input.len()?;
            let k = std::str::from_utf8(input.take(len)?)
                .map_err(|e| err(format!("an Avro map key is not UTF-8: {e}")))?;
            Ok((Value::String(k.to_string()), read(input, values)?))
        })?),
        ReadKind::Entries(keys, values) => Value::Map(blocks(input, |input| {
            let k = read(input, keys)?;
            Ok((k, read(input, values)?))
        })?),
        ReadKind::Record(fields) => Value::Struct(
            fields
                .iter()
                .map(|f| read(input, f))
                .collect::<Result<_, _>>()?,
        ),
        ReadKind::Optional { null_index, inner } => {
            let i = input.long()?;
            match u64::try_from(i) {
                Ok(i) if i == *null_index => Value::Null,
                Ok(i) if i < 2 => read(input, inner)?,
                _ => return Err(err(format!("union index {i} out of range"))),
            }
        }
    })
}

/// The items of an array or map: blocks of [`Input::block`] items until an empty block.
fn blocks<T>(
    input: &mut Input<'_>,
    mut item: impl FnMut(&mut Input<'_>) -> Result<T, ConvertError>,
) -> Result<Vec<T>, ConvertError> {
    let mut out = Vec::new();
    loop {
        let n = input.block()?;
        if n == 0 {
            return Ok(out);
        }
        out.reserve(n);
        for _ in 0..n {
            out.push(item(input)?);
        }
    }
}
