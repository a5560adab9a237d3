//! Kafka's `Cast.castValueToType`: one value to one target type, with Java's conversion
//! rules (see the crate docs). Kept apart from the transform so the rules read in one place.

use sluice_plugin_sdk::java::type_name;
use sluice_plugin_sdk::*;

pub(crate) const OUTPUT_TYPES: &str =
    "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";
pub(crate) const INPUT_TYPES: &str =
    "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
/// The type Connect infers for a schemaless value (`ConnectSchema.schemaType`).
fn inferred_type(value: &Value) -> SchemaType {
    match value {
        Value::Int8(_) => SchemaType::Int8,
        Value::Int16(_) => SchemaType::Int16,
        Value::Int32(_) => SchemaType::Int32,
        Value::Int64(_) => SchemaType::Int64,
        Value::Float32(_) => SchemaType::Float32,
        Value::Float64(_) => SchemaType::Float64,
        Value::Boolean(_) => SchemaType::Boolean,
        Value::String(_) | Value::Null => SchemaType::String,
        Value::Bytes(_) => SchemaType::Bytes,
        Value::Array(_) => SchemaType::Array,
        Value::Map(_) => SchemaType::Map,
        Value::Struct(_) => SchemaType::Struct,
    }
}

/// A value as the Java object Kafka's cast code sees.
enum JavaValue<'a> {
    /// byte/short/int/long.
    Integer(i64),
    Float(f32),
    Double(f64),
    BigDecimal(java::BigDecimal),
    Date(i64),
    Boolean(bool),
    Str(&'a str),
    Bytes(&'a [u8]),
}

fn java_value<'a>(value: &'a Value, schema: Option<&Schema>) -> Result<JavaValue<'a>, String> {
    let logical_name = schema.and_then(|s| s.name.as_deref());
    Ok(match (value, logical_name) {
        (Value::Int32(days), Some(logical::DATE)) => JavaValue::Date(i64::from(*days) * 86_400_000),
        (Value::Int32(ms), Some(logical::TIME)) => JavaValue::Date(i64::from(*ms)),
        (Value::Int64(ms), Some(logical::TIMESTAMP)) => JavaValue::Date(*ms),
        (Value::Bytes(b), Some(logical::DECIMAL)) => {
            let scale = schema
                .and_then(|s| s.parameter(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            JavaValue::BigDecimal(java::BigDecimal::from_bytes(b, scale).ok_or_else(|| {
                format!(
                    "Decimal value of {} bytes is too large for the Cast transformation (at most 16 bytes)",
                    b.len()
                )
            })?)
        }
        (Value::Int8(v), _) => JavaValue::Integer((*v).into()),
        (Value::Int16(v), _) => JavaValue::Integer((*v).into()),
        (Value::Int32(v), _) => JavaValue::Integer((*v).into()),
        (Value::Int64(v), _) => JavaValue::Integer(*v),
        (Value::Float32(v), _) => JavaValue::Float(*v),
        (Value::Float64(v), _) => JavaValue::Double(*v),
        (Value::Boolean(v), _) => JavaValue::Boolean(*v),
        (Value::String(s), _) => JavaValue::Str(s),
        (Value::Bytes(b), _) => JavaValue::Bytes(b),
        (other, _) => {
            return Err(format!(
                "Unexpected type in Cast transformation: class {}",
                other.java_class_name(schema)
            ))
        }
    })
}

/// Kafka's `castValueToType`.
pub(crate) fn cast_value(
    schema: Option<&Schema>,
    value: &Value,
    target: SchemaType,
) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = schema.map_or_else(|| inferred_type(value), |s| s.ty);
    if matches!(
        inferred,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(format!(
            "Cast transformation does not support casting from {}; supported types are {INPUT_TYPES}",
            type_name(inferred)
        ));
    }
    let v = java_value(value, schema)?;
    // encodeLogicalType: Date/Time/Timestamp become their integer encodings unless the target
    // is STRING (Decimal stays a BigDecimal, which is a Number).
    let v = match v {
        JavaValue::Date(_) if target != SchemaType::String => match value {
            Value::Int32(i) => JavaValue::Integer((*i).into()),
            Value::Int64(i) => JavaValue::Integer(*i),
            _ => v,
        },
        other => other,
    };
    let out_of_range = |s: &str| format!("Value ({s}) was out of range for requested data type");
    let unexpected = |v: &JavaValue| {
        let class = match v {
            JavaValue::Date(_) => "java.util.Date",
            _ => "[B",
        };
        format!("Unexpected type in Cast transformation: class {class}")
    };
    // The integer a Java `Number.longValue()` gives.
    let as_long = |v: &JavaValue| -> Option<i64> {
        Some(match v {
            JavaValue::Integer(i) => *i,
            JavaValue::Float(f) => *f as i64,
            JavaValue::Double(d) => *d as i64,
            JavaValue::BigDecimal(d) => d.truncated_low_bits() as i64,
            _ => return None,
        })
    };
    // `Number.intValue()`: floats saturate at int range first, then narrowing wraps.
    let as_int = |v: &JavaValue| -> Option<i32> {
        Some(match v {
            JavaValue::Integer(i) => *i as i32,
            JavaValue::Float(f) => *f as i32,
            JavaValue::Double(d) => *d as i32,
            JavaValue::BigDecimal(d) => d.truncated_low_bits() as i32,
            _ => return None,
        })
    };
    Ok(match target {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => {
            let n: i32 = match &v {
                JavaValue::Boolean(b) => i32::from(*b),
                JavaValue::Str(s) => {
                    let parsed = java::parse_int(s).ok_or_else(|| out_of_range(s))?;
                    let fits = match target {
                        SchemaType::Int8 => i8::try_from(parsed).is_ok(),
                        SchemaType::Int16 => i16::try_from(parsed).is_ok(),
                        _ => i32::try_from(parsed).is_ok(),
                    };
                    if !fits {
                        return Err(out_of_range(s));
                    }
                    parsed as i32
                }
                other => as_int(other).ok_or_else(|| unexpected(other))?,
            };
            match target {
                SchemaType::Int8 => Value::Int8(n as i8),
                SchemaType::Int16 => Value::Int16(n as i16),
                _ => Value::Int32(n),
            }
        }
        SchemaType::Int64 => Value::Int64(match &v {
            JavaValue::Boolean(b) => i64::from(*b),
            JavaValue::Str(s) => java::parse_int(s).ok_or_else(|| out_of_range(s))?,
            other => as_long(other).ok_or_else(|| unexpected(other))?,
        }),
        SchemaType::Float32 => Value::Float32(match &v {
            JavaValue::Integer(i) => *i as f32,
            JavaValue::Float(f) => *f,
            JavaValue::Double(d) => *d as f32,
            JavaValue::BigDecimal(d) => d.to_f32(),
            JavaValue::Boolean(b) => f32::from(u8::from(*b)),
            JavaValue::Str(s) => java::parse_float(s).ok_or_else(|| out_of_range(s))?,
            other => return Err(unexpected(other)),
        }),
        SchemaType::Float64 => Value::Float64(match &v {
            JavaValue::Integer(i) => *i as f64,
            JavaValue::Float(f) => f64::from(*f),
            JavaValue::Double(d) => *d,
            JavaValue::BigDecimal(d) => d.to_f64(),
            JavaValue::Boolean(b) => f64::from(u8::from(*b)),
            JavaValue::Str(s) => java::parse_double(s).ok_or_else(|| out_of_range(s))?,
            other => return Err(unexpected(other)),
        }),
        SchemaType::Boolean => Value::Boolean(match &v {
            JavaValue::Boolean(b) => *b,
            JavaValue::Str(s) => s.eq_ignore_ascii_case("true"),
            other => as_long(other).ok_or_else(|| unexpected(other))? != 0,
        }),
        SchemaType::String => Value::String(match &v {
            JavaValue::Integer(i) => i.to_string(),
            JavaValue::Float(f) => java::float_to_string(*f),
            JavaValue::Double(d) => java::double_to_string(*d),
            JavaValue::BigDecimal(d) => d.to_string(),
            JavaValue::Date(ms) => java::values_date_string(*ms),
            JavaValue::Boolean(b) => b.to_string(),
            JavaValue::Str(s) => (*s).to_string(),
            JavaValue::Bytes(b) => java::base64(b),
        }),
        other => {
            return Err(format!(
                "{} is not supported in the Cast transformation.",
                type_name(other)
            ))
        }
    })
}
