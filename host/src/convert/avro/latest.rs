//! `use.latest.version`: a record's value written in the subject's latest Avro schema rather
//! than its own. A [`Plan`] is made once per subject and record schema from the record's Connect
//! schema and the latest schema's compiled [`Reader`]; writing a record then walks the value and
//! the plan only (no schema resolution, no registry call).
//!
//! Design decision: fields are matched by name, and a field only the latest schema has is
//! written as its default (encoded once, when the plan is made). Confluent's serializer instead
//! hands the record's `GenericRecord` to a `GenericDatumWriter` of the latest schema, which
//! reads fields by position (`GenericData.getField`) and fails on a field the record lacks; by
//! name gives the same bytes whenever the latest schema keeps the record's fields in order, and
//! sensible bytes when it does not. Avro's promotions are applied (int → long/float/double,
//! long → float/double, float → double, string ↔ bytes); what cannot be written (a null for a
//! field the latest schema requires, a string that is not one of its enum's symbols, a long
//! beyond its int) is a per-record conversion error naming the field.

use crate::convert::{value_kind, ConvertError};
use crate::data::{logical, Schema, SchemaType, Value};

use super::codec::{write_bytes, write_long};
use super::schema::{ReadKind, Reader};

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

/// How to write values of one record schema node in the latest schema's node.
pub(crate) struct Plan {
    /// The record schema's non-null default, written for a null value (as `codec::write`).
    default: Option<Value>,
    kind: Kind,
}

enum Kind {
    Null,
    Boolean,
    /// An Avro `int` read as this Connect type (INT8/INT16/INT32): the range checked.
    Int(SchemaType),
    Long,
    Float,
    Double,
    Bytes,
    String,
    Enum(Vec<String>),
    Fixed(usize),
    Array(Box<Plan>),
    Map(Box<Plan>),
    Entries(Box<Plan>, Box<Plan>),
    Record(Vec<FieldPlan>),
    Optional {
        null_index: u64,
        inner: Box<Plan>,
    },
}

enum FieldPlan {
    /// The record's field at `index`.
    From {
        index: usize,
        name: String,
        plan: Plan,
    },
    /// A field only the latest schema has: its default, already encoded.
    Default(Vec<u8>),
}

/// The plan writing values of `source` (the record's Connect schema) as Avro binary of
/// `target` (the latest schema); an error when no value of `source` can be written so.
pub(crate) fn plan(source: &Schema, target: &Reader) -> Result<Plan, ConvertError> {
    plan_at(source, target, "")
}

fn target_name(kind: &ReadKind) -> &'static str {
    match kind {
        ReadKind::Null => "null",
        ReadKind::Boolean => "boolean",
        ReadKind::Int(_) => "int",
        ReadKind::Long => "long",
        ReadKind::Float => "float",
        ReadKind::Double => "double",
        ReadKind::Bytes => "bytes",
        ReadKind::String => "string",
        ReadKind::Enum(_) => "enum",
        ReadKind::Fixed(_) => "fixed",
        ReadKind::Array(_) => "array",
        ReadKind::Map(_) => "map",
        ReadKind::Entries(..) => "array of MapEntry records",
        ReadKind::Record(_) => "record",
        ReadKind::Optional { .. } => "union with null",
    }
}

fn is_int(ty: SchemaType) -> bool {
    matches!(
        ty,
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64
    )
}

fn plan_at(source: &Schema, target: &Reader, path: &str) -> Result<Plan, ConvertError> {
    let at = || {
        if path.is_empty() {
            String::new()
        } else {
            format!("field {path}: ")
        }
    };
    let refuse = || {
        err(format!(
            "{}the record's {} schema cannot be written as the latest schema's {}",
            at(),
            source.ty.json_name(),
            target_name(&target.kind)
        ))
    };
    let ty = source.ty;
    let kind = match &target.kind {
        ReadKind::Optional { null_index, inner } => Kind::Optional {
            null_index: *null_index,
            inner: Box::new(plan_at(source, inner, path)?),
        },
        ReadKind::Null => Kind::Null,
        ReadKind::Boolean if ty == SchemaType::Boolean => Kind::Boolean,
        ReadKind::Int(t) if is_int(ty) => Kind::Int(*t),
        ReadKind::Long if is_int(ty) => Kind::Long,
        ReadKind::Float if is_int(ty) || ty == SchemaType::Float32 => Kind::Float,
        ReadKind::Double
            if is_int(ty) || matches!(ty, SchemaType::Float32 | SchemaType::Float64) =>
        {
            Kind::Double
        }
        ReadKind::Bytes if matches!(ty, SchemaType::Bytes | SchemaType::String) => {
            // A Decimal's bytes are its unscaled value: another scale would change the number.
            let scale = |s: &Schema| {
                s.is_logical(logical::DECIMAL)
                    .then(|| s.parameter(logical::DECIMAL_SCALE).map(str::to_string))
            };
            if let (Some(a), Some(b)) = (scale(source), scale(&target.schema)) {
                if a != b {
                    return Err(err(format!(
                        "{}the record's Decimal has scale {}, the latest schema's {}",
                        at(),
                        a.unwrap_or_default(),
                        b.unwrap_or_default()
                    )));
                }
            }
            Kind::Bytes
        }
        ReadKind::String if matches!(ty, SchemaType::String | SchemaType::Bytes) => Kind::String,
        ReadKind::Enum(symbols) if ty == SchemaType::String => Kind::Enum(symbols.clone()),
        ReadKind::Fixed(n) if ty == SchemaType::Bytes => Kind::Fixed(*n),
        ReadKind::Array(items) if ty == SchemaType::Array => {
            let source_items = source.items.as_deref().ok_or_else(refuse)?;
            Kind::Array(Box::new(plan_at(source_items, items, path)?))
        }
        ReadKind::Map(values) if ty == SchemaType::Map => {
            let (keys, source_values) = match (source.keys.as_deref(), source.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(refuse()),
            };
            if keys.ty != SchemaType::String {
                return Err(refuse());
            }
            Kind::Map(Box::new(plan_at(source_values, values, path)?))
        }
        ReadKind::Entries(k, v) if ty == SchemaType::Map => {
            let (keys, values) = match (source.keys.as_deref(), source.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(refuse()),
            };
            Kind::Entries(
                Box::new(plan_at(keys, k, path)?),
                Box::new(plan_at(values, v, path)?),
            )
        }
        ReadKind::Record(readers) if ty == SchemaType::Struct => {
            let mut fields = Vec::with_capacity(readers.len());
            for (f, r) in target.schema.fields.iter().zip(readers) {
                let sub = if path.is_empty() {
                    f.name.clone()
                } else {
                    format!("{path}.{}", f.name)
                };
                fields.push(match source.field(&f.name) {
                    Some((index, sf)) => FieldPlan::From {
                        index,
                        name: f.name.clone(),
                        plan: plan_at(&sf.schema, r, &sub)?,
                    },
                    None => {
                        let default = match &f.schema.default {
                            Some(d) => d.clone(),
                            None if f.schema.optional => Value::Null,
                            None => {
                                return Err(err(format!(
                                    "field {sub} of the latest schema has no default, and the \
                                     record's schema has no such field"
                                )))
                            }
                        };
                        let mut bytes = Vec::new();
                        write(&mut bytes, &plan_at(&f.schema, r, &sub)?, &default)
                            .map_err(|e| err(format!("the default of field {sub}: {}", e.0)))?;
                        FieldPlan::Default(bytes)
                    }
                });
            }
            Kind::Record(fields)
        }
        _ => return Err(refuse()),
    };
    Ok(Plan {
        default: source.default.clone().filter(|d| !d.is_null()),
        kind,
    })
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int8(i) => Some(i64::from(*i)),
        Value::Int16(i) => Some(i64::from(*i)),
        Value::Int32(i) => Some(i64::from(*i)),
        Value::Int64(i) => Some(*i),
        _ => None,
    }
}

/// Writes `value` (of the plan's record schema) as Avro binary of the latest schema.
pub(crate) fn write(out: &mut Vec<u8>, plan: &Plan, value: &Value) -> Result<(), ConvertError> {
    let value = match (value, &plan.default) {
        (Value::Null, Some(d)) => d,
        _ => value,
    };
    let mismatch = || {
        err(format!(
            "a {} value does not fit the record's own schema",
            value_kind(value)
        ))
    };
    match (&plan.kind, value) {
        (Kind::Optional { null_index, .. }, Value::Null) => write_long(out, *null_index as i64),
        (Kind::Optional { null_index, inner }, v) => {
            write_long(out, 1 - *null_index as i64);
            write(out, inner, v)?;
        }
        (Kind::Null, Value::Null) => {}
        (_, Value::Null) => {
            return Err(err(
                "a null value, where the latest schema's type is not optional",
            ))
        }
        (Kind::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (Kind::Int(ty), v) => {
            let i = int_of(v).ok_or_else(mismatch)?;
            let fits = match ty {
                SchemaType::Int8 => i8::try_from(i).is_ok(),
                SchemaType::Int16 => i16::try_from(i).is_ok(),
                _ => i32::try_from(i).is_ok(),
            };
            if !fits {
                return Err(err(format!(
                    "{i} does not fit the latest schema's {}",
                    ty.json_name()
                )));
            }
            write_long(out, i);
        }
        (Kind::Long, v) => write_long(out, int_of(v).ok_or_else(mismatch)?),
        (Kind::Float, v) => {
            let f = match v {
                Value::Float32(f) => *f,
                _ => int_of(v).ok_or_else(mismatch)? as f32,
            };
            out.extend_from_slice(&f.to_le_bytes());
        }
        (Kind::Double, v) => {
            let f = match v {
                Value::Float32(f) => f64::from(*f),
                Value::Float64(f) => *f,
                _ => int_of(v).ok_or_else(mismatch)? as f64,
            };
            out.extend_from_slice(&f.to_le_bytes());
        }
        (Kind::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (Kind::Bytes | Kind::String, Value::String(s)) => write_bytes(out, s.as_bytes()),
        (Kind::String, Value::Bytes(b)) => {
            std::str::from_utf8(b).map_err(|e| {
                err(format!(
                    "bytes that are not UTF-8 cannot be the latest schema's string: {e}"
                ))
            })?;
            write_bytes(out, b);
        }
        (Kind::Enum(symbols), Value::String(s)) => {
            let i = symbols.iter().position(|sym| sym == s).ok_or_else(|| {
                err(format!(
                    "{s:?} is not a symbol of the latest schema's enum ({})",
                    symbols.join(", ")
                ))
            })?;
            write_long(out, i as i64);
        }
        (Kind::Fixed(n), Value::Bytes(b)) => {
            if b.len() != *n {
                return Err(err(format!(
                    "{} bytes do not fit the latest schema's fixed of {n}",
                    b.len()
                )));
            }
            out.extend_from_slice(b);
        }
        (Kind::Array(items), Value::Array(values)) => {
            if !values.is_empty() {
                write_long(out, values.len() as i64);
                for v in values {
                    write(out, items, v)?;
                }
            }
            out.push(0);
        }
        (Kind::Map(values), Value::Map(entries)) => {
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, v) in entries {
                    let k = k.as_str().ok_or_else(|| err("a map key is not a string"))?;
                    write_bytes(out, k.as_bytes());
                    write(out, values, v)?;
                }
            }
            out.push(0);
        }
        (Kind::Entries(keys, values), Value::Map(entries)) => {
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, v) in entries {
                    write(out, keys, k)?;
                    write(out, values, v)?;
                }
            }
            out.push(0);
        }
        (Kind::Record(fields), Value::Struct(values)) => {
            for f in fields {
                match f {
                    FieldPlan::From { index, name, plan } => {
                        let v = values.get(*index).ok_or_else(|| {
                            err(format!(
                                "a struct value has {} fields, fewer than its schema",
                                values.len()
                            ))
                        })?;
                        write(out, plan, v).map_err(|e| err(format!("field {name:?}: {}", e.0)))?;
                    }
                    FieldPlan::Default(bytes) => out.extend_from_slice(bytes),
                }
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}
