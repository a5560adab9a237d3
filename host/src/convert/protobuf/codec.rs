//! The protobuf wire format of Connect values: writing walks the Connect schema (whose
//! `.proto` form [`super::schema::to_proto`] fixes: field numbers, types), reading walks the
//! compiled [`MessagePlan`] of the writer's message. No intermediate message objects on
//! either side; a nested message's length prefix is written after its content and moved into
//! place, so writing allocates nothing but the output.

use crate::convert::json::number::unscaled_to_digits;
use crate::convert::{value_kind, ConvertError};
use crate::data::{logical, Schema, SchemaType, Value};

use super::schema::{enum_number, field_tag, FieldPlan, MessagePlan, ReadKind};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

const TRUNCATED: &str = "the Protobuf payload is truncated";

// ---------------------------------------------------------------------------------------------
// Wire primitives
// ---------------------------------------------------------------------------------------------

pub(crate) fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    write_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

pub(crate) fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, ConvertError> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *bytes.get(*pos).ok_or_else(|| err(TRUNCATED))?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(err("a Protobuf varint overflows 64 bits"));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(err("a Protobuf varint is longer than 10 bytes"))
}

pub(crate) fn read_zigzag(bytes: &[u8], pos: &mut usize) -> Result<i64, ConvertError> {
    let z = read_varint(bytes, pos)?;
    Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], ConvertError> {
    let end = pos
        .checked_add(n)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| err(TRUNCATED))?;
    let s = &bytes[*pos..end];
    *pos = end;
    Ok(s)
}

fn read_len<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a [u8], ConvertError> {
    let n = read_varint(bytes, pos)?;
    let n = usize::try_from(n).map_err(|_| err(TRUNCATED))?;
    take(bytes, pos, n)
}

/// Skips one field's value of wire type `wire`.
pub(crate) fn skip_field(bytes: &[u8], pos: &mut usize, wire: u8) -> Result<(), ConvertError> {
    match wire {
        VARINT => read_varint(bytes, pos).map(|_| ()),
        FIXED64 => take(bytes, pos, 8).map(|_| ()),
        LEN => read_len(bytes, pos).map(|_| ()),
        FIXED32 => take(bytes, pos, 4).map(|_| ()),
        w => Err(err(format!("unsupported Protobuf wire type {w}"))),
    }
}

/// Writes a length-delimited field whose content `body` appends: the content first, then its
/// length prefix moved in front of it (no scratch buffer).
fn write_nested(
    out: &mut Vec<u8>,
    number: u32,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), ConvertError>,
) -> Result<(), ConvertError> {
    write_tag(out, number, LEN);
    let start = out.len();
    body(out)?;
    let len = out.len() - start;
    let mut prefix = [0u8; 10];
    let mut n = 0;
    let mut v = len as u64;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            prefix[n] = b;
            n += 1;
            break;
        }
        prefix[n] = b | 0x80;
        n += 1;
    }
    out.resize(out.len() + n, 0);
    out.copy_within(start..start + len, start + n);
    out[start..start + n].copy_from_slice(&prefix[..n]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Connect -> protobuf
// ---------------------------------------------------------------------------------------------

/// Writes the fields of a struct value as a message body.
pub(crate) fn write_message(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    nullable_optional: bool,
) -> Result<(), ConvertError> {
    let Value::Struct(values) = value else {
        return Err(err(format!(
            "a {} value does not fit a struct schema",
            value_kind(value)
        )));
    };
    if values.len() != schema.fields.len() {
        return Err(err(format!(
            "a struct value has {} fields, its schema {}",
            values.len(),
            schema.fields.len()
        )));
    }
    for (i, (f, v)) in schema.fields.iter().zip(values).enumerate() {
        let tag = field_tag(&f.schema, i)?;
        write_field(out, tag, &f.schema, v, nullable_optional)
            .map_err(|e| err(format!("field {:?}: {}", f.name, e.0)))?;
    }
    Ok(())
}

fn write_field(
    out: &mut Vec<u8>,
    tag: u32,
    schema: &Schema,
    value: &Value,
    nullable_optional: bool,
) -> Result<(), ConvertError> {
    let value = match value {
        Value::Null => match &schema.default {
            Some(d) if !d.is_null() => d,
            // An absent field: Confluent's ProtobufData skips nulls the same way.
            _ => return Ok(()),
        },
        v => v,
    };
    match (schema.ty, value) {
        (SchemaType::Array, Value::Array(items)) => {
            let item = schema
                .items
                .as_deref()
                .ok_or_else(|| err("an ARRAY schema has no element schema"))?;
            for (i, v) in items.iter().enumerate() {
                if v.is_null() {
                    return Err(err(format!(
                        "element {i} is null: Protobuf repeated fields cannot hold nulls"
                    )));
                }
                write_single(out, tag, item, v, false, nullable_optional)?;
            }
            Ok(())
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (k, vs) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(err("a MAP schema has no key or value schema")),
            };
            for (key, v) in entries {
                write_nested(out, tag, |out| {
                    write_field(out, 1, k, key, nullable_optional)?;
                    write_field(out, 2, vs, v, nullable_optional)
                })?;
            }
            Ok(())
        }
        _ => {
            // proto3 leaves fields at their default out, unless they track presence.
            let presence = schema.optional && nullable_optional;
            write_single(out, tag, schema, value, !presence, nullable_optional)
        }
    }
}

/// One (non-repeated) value; `omit_default`: write nothing for a scalar's default value.
fn write_single(
    out: &mut Vec<u8>,
    tag: u32,
    schema: &Schema,
    value: &Value,
    omit_default: bool,
    nullable_optional: bool,
) -> Result<(), ConvertError> {
    let mismatch = || {
        err(format!(
            "a {} value does not fit a {} schema",
            value_kind(value),
            schema.ty.json_name()
        ))
    };
    match (schema.name.as_deref(), value) {
        (Some(logical::DECIMAL), Value::Bytes(unscaled)) => {
            let scale: i32 = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| err("a Decimal schema has no integer scale parameter"))?;
            let (_, digits) = unscaled_to_digits(unscaled);
            return write_nested(out, tag, |out| {
                write_tag(out, 1, LEN);
                write_varint(out, unscaled.len() as u64);
                out.extend_from_slice(unscaled);
                write_tag(out, 2, VARINT);
                write_varint(out, digits.len() as u64);
                if scale != 0 {
                    write_tag(out, 3, VARINT);
                    write_varint(out, i64::from(scale) as u64);
                }
                Ok(())
            });
        }
        (Some(logical::DATE), Value::Int32(days)) => {
            let (y, m, d) = civil_from_days(i64::from(*days));
            return write_nested(out, tag, |out| {
                for (n, v) in [(1, y), (2, m), (3, d)] {
                    if v != 0 {
                        write_tag(out, n, VARINT);
                        write_varint(out, v as u64);
                    }
                }
                Ok(())
            });
        }
        (Some(logical::TIME), Value::Int32(ms)) => {
            if !(0..86_400_000).contains(ms) {
                return Err(err(format!(
                    "Time values must be between 0 and 86400000 ms, not {ms}"
                )));
            }
            let ms = i64::from(*ms);
            let parts = [
                (1, ms / 3_600_000),
                (2, ms / 60_000 % 60),
                (3, ms / 1000 % 60),
                (4, ms % 1000 * 1_000_000),
            ];
            return write_nested(out, tag, |out| {
                for (n, v) in parts {
                    if v != 0 {
                        write_tag(out, n, VARINT);
                        write_varint(out, v as u64);
                    }
                }
                Ok(())
            });
        }
        (Some(logical::TIMESTAMP), Value::Int64(ms)) => {
            let seconds = ms.div_euclid(1000);
            let nanos = ms.rem_euclid(1000) * 1_000_000;
            return write_nested(out, tag, |out| {
                if seconds != 0 {
                    write_tag(out, 1, VARINT);
                    write_varint(out, seconds as u64);
                }
                if nanos != 0 {
                    write_tag(out, 2, VARINT);
                    write_varint(out, nanos as u64);
                }
                Ok(())
            });
        }
        _ => {}
    }
    match (schema.ty, value) {
        (SchemaType::Int8, Value::Int8(v)) => varint(out, tag, i64::from(*v) as u64, omit_default),
        (SchemaType::Int16, Value::Int16(v)) => {
            varint(out, tag, i64::from(*v) as u64, omit_default)
        }
        (SchemaType::Int32, Value::Int32(v)) => {
            varint(out, tag, i64::from(*v) as u64, omit_default)
        }
        (SchemaType::Int64, Value::Int64(v)) => varint(out, tag, *v as u64, omit_default),
        (SchemaType::Boolean, Value::Boolean(b)) => varint(out, tag, u64::from(*b), omit_default),
        (SchemaType::Float32, Value::Float32(f)) => {
            if !(omit_default && f.to_bits() == 0) {
                write_tag(out, tag, FIXED32);
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        (SchemaType::Float64, Value::Float64(f)) => {
            if !(omit_default && f.to_bits() == 0) {
                write_tag(out, tag, FIXED64);
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        (SchemaType::String, Value::String(s)) => match enum_number(schema, s)? {
            Some(n) => varint(out, tag, i64::from(n) as u64, omit_default),
            None => bytes(out, tag, s.as_bytes(), omit_default),
        },
        (SchemaType::Bytes, Value::Bytes(b)) => bytes(out, tag, b, omit_default),
        (SchemaType::Struct, v @ Value::Struct(_)) => write_nested(out, tag, |out| {
            write_message(out, schema, v, nullable_optional)
        })?,
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn varint(out: &mut Vec<u8>, tag: u32, v: u64, omit_default: bool) {
    if !(omit_default && v == 0) {
        write_tag(out, tag, VARINT);
        write_varint(out, v);
    }
}

fn bytes(out: &mut Vec<u8>, tag: u32, b: &[u8], omit_default: bool) {
    if !(omit_default && b.is_empty()) {
        write_tag(out, tag, LEN);
        write_varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
}

/// Howard Hinnant's civil_from_days: (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------------
// protobuf -> Connect
// ---------------------------------------------------------------------------------------------

/// Reads a message body into a struct value of `plan`'s schema.
pub(crate) fn read_message(bytes: &[u8], plan: &MessagePlan) -> Result<Value, ConvertError> {
    let mut values: Vec<Value> = plan.fields.iter().map(|f| f.absent.clone()).collect();
    let mut pos = 0;
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos)?;
        let wire = (key & 7) as u8;
        let number =
            u32::try_from(key >> 3).map_err(|_| err("a Protobuf field number is out of range"))?;
        let Some(i) = plan.index_of(number) else {
            skip_field(bytes, &mut pos, wire)?;
            continue;
        };
        let field = &plan.fields[i];
        read_field(bytes, &mut pos, wire, field, &mut values[i])
            .map_err(|e| err(format!("field {:?}: {}", plan.schema.fields[i].name, e.0)))?;
    }
    Ok(Value::Struct(values))
}

fn read_field(
    bytes: &[u8],
    pos: &mut usize,
    wire: u8,
    field: &FieldPlan,
    slot: &mut Value,
) -> Result<(), ConvertError> {
    if let ReadKind::Map(entry) = &field.kind {
        if wire != LEN {
            return Err(err(format!("wire type {wire} for a map entry")));
        }
        let body = read_len(bytes, pos)?;
        let Value::Struct(mut kv) = read_message(body, entry)? else {
            return Err(err("a map entry is not a message"));
        };
        let v = kv.pop().unwrap_or(Value::Null);
        let k = kv.pop().unwrap_or(Value::Null);
        if let Value::Map(entries) = slot {
            match entries.iter_mut().find(|(ek, _)| *ek == k) {
                Some(e) => e.1 = v,
                None => entries.push((k, v)),
            }
        }
        return Ok(());
    }
    if !field.repeated {
        *slot = read_single(bytes, pos, wire, &field.kind)?;
        return Ok(());
    }
    let Value::Array(items) = slot else {
        return Err(err("a repeated field's value is not a list"));
    };
    // Packed scalars come as one length-delimited run.
    if wire == LEN && field.kind.packable() {
        let run = read_len(bytes, pos)?;
        let item_wire = field.kind.wire();
        let mut p = 0;
        while p < run.len() {
            items.push(read_single(run, &mut p, item_wire, &field.kind)?);
        }
    } else {
        items.push(read_single(bytes, pos, wire, &field.kind)?);
    }
    Ok(())
}

fn read_single(
    bytes: &[u8],
    pos: &mut usize,
    wire: u8,
    kind: &ReadKind,
) -> Result<Value, ConvertError> {
    if wire != kind.wire() {
        return Err(err(format!(
            "wire type {wire} where the schema says {} ({kind:?})",
            kind.wire()
        )));
    }
    let v = match kind {
        ReadKind::Int(ty) => {
            let v = read_varint(bytes, pos)? as i64;
            match ty {
                SchemaType::Int8 => Value::Int8(v as i8),
                SchemaType::Int16 => Value::Int16(v as i16),
                _ => Value::Int32(v as i32),
            }
        }
        ReadKind::SInt32 => Value::Int32(read_zigzag(bytes, pos)? as i32),
        ReadKind::Long => Value::Int64(read_varint(bytes, pos)? as i64),
        ReadKind::UInt32 => Value::Int64(i64::from(read_varint(bytes, pos)? as u32)),
        ReadKind::SInt64 => Value::Int64(read_zigzag(bytes, pos)?),
        ReadKind::Fixed32 => {
            let b = take(bytes, pos, 4)?;
            Value::Int64(i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        ReadKind::SFixed32 => {
            let b = take(bytes, pos, 4)?;
            Value::Int32(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        ReadKind::Fixed64 => Value::Int64(i64::from_le_bytes(eight(take(bytes, pos, 8)?))),
        ReadKind::Float => {
            let b = take(bytes, pos, 4)?;
            Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        ReadKind::Double => Value::Float64(f64::from_le_bytes(eight(take(bytes, pos, 8)?))),
        ReadKind::Bool => Value::Boolean(read_varint(bytes, pos)? != 0),
        ReadKind::String => Value::String(
            std::str::from_utf8(read_len(bytes, pos)?)
                .map_err(|e| err(format!("a Protobuf string is not UTF-8: {e}")))?
                .to_string(),
        ),
        ReadKind::Bytes => Value::Bytes(read_len(bytes, pos)?.to_vec()),
        ReadKind::Enum(symbols) => {
            let n = read_varint(bytes, pos)? as i64 as i32;
            match symbols.iter().find(|(num, _)| *num == n) {
                Some((_, s)) => Value::String(s.clone()),
                None => return Err(err(format!("enum number {n} is not one of the enum's"))),
            }
        }
        ReadKind::Message(plan) => read_message(read_len(bytes, pos)?, plan)?,
        ReadKind::Map(_) => return Err(err("a map inside a repeated field")),
        ReadKind::Decimal(scale) => {
            let body = read_len(bytes, pos)?;
            let (mut value, mut own_scale) = (Vec::new(), 0i64);
            let mut p = 0;
            while p < body.len() {
                let key = read_varint(body, &mut p)?;
                match (key >> 3, (key & 7) as u8) {
                    (1, LEN) => value = read_len(body, &mut p)?.to_vec(),
                    (3, VARINT) => own_scale = read_varint(body, &mut p)? as i64 as i32 as i64,
                    (_, w) => skip_field(body, &mut p, w)?,
                }
            }
            if value.is_empty() {
                value.push(0);
            }
            if own_scale != i64::from(*scale) && value.iter().any(|b| *b != 0) {
                return Err(err(format!(
                    "a Decimal of scale {own_scale} where the schema's scale is {scale}"
                )));
            }
            Value::Bytes(value)
        }
        ReadKind::Date => {
            let f = small_fields::<3>(read_len(bytes, pos)?)?;
            let days = days_from_civil(f[0], f[1], f[2]);
            Value::Int32(i32::try_from(days).map_err(|_| err("a Date out of range"))?)
        }
        ReadKind::Time => {
            let f = small_fields::<4>(read_len(bytes, pos)?)?;
            Value::Int32(((f[0] * 60 + f[1]) * 60 + f[2]) as i32 * 1000 + (f[3] / 1_000_000) as i32)
        }
        ReadKind::Timestamp => {
            let f = small_fields::<2>(read_len(bytes, pos)?)?;
            Value::Int64(f[0] * 1000 + f[1].div_euclid(1_000_000))
        }
    };
    Ok(v)
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    a
}

/// The varint fields 1..=N of a small well-known message (Date, TimeOfDay, Timestamp).
fn small_fields<const N: usize>(body: &[u8]) -> Result<[i64; N], ConvertError> {
    let mut out = [0i64; N];
    let mut p = 0;
    while p < body.len() {
        let key = read_varint(body, &mut p)?;
        let (n, w) = ((key >> 3) as usize, (key & 7) as u8);
        if (1..=N).contains(&n) && w == VARINT {
            let v = read_varint(body, &mut p)? as i64;
            // int32 fields are sign-extended on the wire; Timestamp's seconds is an int64.
            out[n - 1] = if N == 2 && n == 1 { v } else { v as i32 as i64 };
        } else {
            skip_field(body, &mut p, w)?;
        }
    }
    Ok(out)
}
