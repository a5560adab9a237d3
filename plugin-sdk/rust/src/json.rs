//! Connect data as JSON text, exactly as Kafka's `JsonConverter` with `schemas.enable=false`
//! writes it: what sinks that store or send JSON documents (Confluent's S3 `JsonFormat`, the
//! Elasticsearch sink) produce for a record value.
//!
//! Design decision: written straight into a byte buffer, no intermediate JSON tree, in
//! Jackson's compact form (its string escapes, Java's `Double.toString` numbers, NaN and the
//! infinities quoted as Jackson does). A value with a schema follows the schema (logical
//! types: Decimal as base64 of the unscaled bytes, or as a number with
//! [`JsonOptions::decimal_numeric`]; Date and Time as their int32; Timestamp as its int64);
//! a schemaless value follows its own shape. Maps with string keys become objects, other
//! maps arrays of `[key, value]` pairs.
//!
//! ```
//! use sluice_plugin_sdk::json::{write_json, JsonOptions};
//! use sluice_plugin_sdk::{Schema, Struct, Value};
//!
//! let schema = Schema::struct_builder()
//!     .field("id", Schema::int64())
//!     .field("name", Schema::string().optional())
//!     .build()
//!     .into_ref();
//! let mut s = Struct::new(schema.clone()).unwrap();
//! s.put("id", 7i64).unwrap();
//! s.put("name", "a\"b").unwrap();
//! let mut out = Vec::new();
//! write_json(&mut out, Some(&schema), &Value::Struct(s), JsonOptions::default()).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), r#"{"id":7,"name":"a\"b"}"#);
//! ```

use crate::java::{self, BigDecimal};
use crate::schema::{logical, Schema, SchemaType};
use crate::value::Value;

/// Converter settings that change the JSON text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// `decimal.format=NUMERIC`: Decimals as JSON numbers instead of base64 strings.
    pub decimal_numeric: bool,
}

/// Appends `value` (with its optional `schema`) as JSON. Fails, with Kafka's kind of message,
/// when the value does not match its schema or a required value is null.
pub fn write_json(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    opts: JsonOptions,
) -> Result<(), String> {
    let Some(schema) = schema else {
        return write_schemaless(out, value, opts);
    };
    if value.is_null() {
        if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
            return write_json(out, Some(schema), default, opts);
        }
        if schema.optional {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(
            "Conversion error: null value for field that is required and has no default value"
                .to_owned(),
        );
    }
    match (schema.name.as_deref(), value) {
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            return write_decimal(out, schema, b, opts);
        }
        (Some(logical::DATE | logical::TIME), Value::Int32(v)) => {
            write_display(out, v);
            return Ok(());
        }
        (Some(logical::TIMESTAMP), Value::Int64(v)) => {
            write_display(out, v);
            return Ok(());
        }
        _ => {}
    }
    match (schema.ty, value) {
        (SchemaType::Int8, Value::Int8(v)) => write_display(out, v),
        (SchemaType::Int16, Value::Int16(v)) => write_display(out, v),
        (SchemaType::Int32, Value::Int32(v)) => write_display(out, v),
        (SchemaType::Int64, Value::Int64(v)) => write_display(out, v),
        (SchemaType::Float32, Value::Float32(v)) => write_f32(out, *v),
        (SchemaType::Float64, Value::Float64(v)) => write_f64(out, *v),
        (SchemaType::Boolean, Value::Boolean(v)) => write_bool(out, *v),
        (SchemaType::String, Value::String(s)) => write_string(out, s),
        (SchemaType::Bytes, Value::Bytes(b)) => write_string(out, &java::base64(b)),
        (SchemaType::Array, Value::Array(items)) => {
            let items_schema = schema.items.as_deref();
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, items_schema, item, opts)?;
            }
            out.push(b']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (keys, values) = (schema.keys.as_deref(), schema.values.as_deref());
            if keys.is_some_and(|k| k.ty == SchemaType::String) {
                write_object(out, entries, |out, v| write_json(out, values, v, opts))?;
            } else {
                write_pairs(out, entries, |out, v, is_key| {
                    write_json(out, if is_key { keys } else { values }, v, opts)
                })?;
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            out.push(b'{');
            for (i, (field, v)) in schema.fields.iter().zip(s.values()).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, &field.name);
                out.push(b':');
                write_json(out, Some(&field.schema), v, opts)?;
            }
            out.push(b'}');
        }
        (ty, other) => {
            return Err(format!(
                "Invalid type for {}: {}",
                java::type_name(ty),
                other.java_class_name(None)
            ));
        }
    }
    Ok(())
}

fn write_schemaless(out: &mut Vec<u8>, value: &Value, opts: JsonOptions) -> Result<(), String> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => write_bool(out, *v),
        Value::Int8(v) => write_display(out, v),
        Value::Int16(v) => write_display(out, v),
        Value::Int32(v) => write_display(out, v),
        Value::Int64(v) => write_display(out, v),
        Value::Float32(v) => write_f32(out, *v),
        Value::Float64(v) => write_f64(out, *v),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => write_string(out, &java::base64(b)),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schemaless(out, item, opts)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                write_object(out, entries, |out, v| write_schemaless(out, v, opts))?;
            } else {
                write_pairs(out, entries, |out, v, _| write_schemaless(out, v, opts))?;
            }
        }
        Value::Struct(s) => {
            // A struct always carries its schema.
            let schema = s.schema().clone();
            return write_json(out, Some(&schema), value, opts);
        }
    }
    Ok(())
}

fn write_object(
    out: &mut Vec<u8>,
    entries: &[(Value, Value)],
    mut write_value: impl FnMut(&mut Vec<u8>, &Value) -> Result<(), String>,
) -> Result<(), String> {
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match k {
            Value::String(s) => write_string(out, s),
            other => {
                return Err(format!(
                    "Invalid type for STRING: {}",
                    other.java_class_name(None)
                ))
            }
        }
        out.push(b':');
        write_value(out, v)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_pairs(
    out: &mut Vec<u8>,
    entries: &[(Value, Value)],
    mut write_value: impl FnMut(&mut Vec<u8>, &Value, bool) -> Result<(), String>,
) -> Result<(), String> {
    out.push(b'[');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_value(out, k, true)?;
        out.push(b',');
        write_value(out, v, false)?;
        out.push(b']');
    }
    out.push(b']');
    Ok(())
}

fn write_decimal(
    out: &mut Vec<u8>,
    schema: &Schema,
    unscaled: &[u8],
    opts: JsonOptions,
) -> Result<(), String> {
    if !opts.decimal_numeric {
        write_string(out, &java::base64(unscaled));
        return Ok(());
    }
    let scale = schema
        .parameter(logical::DECIMAL_SCALE)
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or_else(|| "Invalid Decimal schema: scale parameter not found.".to_owned())?;
    let decimal = BigDecimal::from_bytes(unscaled, scale)
        .ok_or_else(|| "Decimal too large to write as a number (over 128 bits)".to_owned())?;
    write_display(out, &decimal);
    Ok(())
}

fn write_display(out: &mut Vec<u8>, v: &impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = write!(out, "{v}");
}

fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(java::double_to_string(v).as_bytes());
    } else {
        write_string(out, &java::double_to_string(v));
    }
}

fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        out.extend_from_slice(java::float_to_string(v).as_bytes());
    } else {
        write_string(out, &java::float_to_string(v));
    }
}

/// Appends `s` as a JSON string with Jackson's escapes: `"` `\` and the control characters
/// (`\n` `\r` `\t` `\b` `\f` short, others `\u00XX`); everything else, non-ASCII included,
/// as is.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::value::Struct;

    fn json(schema: Option<&Schema>, value: &Value, opts: JsonOptions) -> String {
        let mut out = Vec::new();
        write_json(&mut out, schema, value, opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn schemaless_values_follow_their_shape() {
        let v = Value::Map(vec![
            (Value::from("n"), Value::Int32(1)),
            (Value::from("f"), Value::Float64(1e10)),
            (Value::from("b"), Value::Bytes(b"ab".to_vec())),
            (
                Value::from("a"),
                Value::Array(vec![Value::Null, Value::Boolean(true)]),
            ),
            (Value::from("s"), Value::from("tab\there \u{1} é")),
        ]);
        assert_eq!(
            json(None, &v, JsonOptions::default()),
            r#"{"n":1,"f":1.0E10,"b":"YWI=","a":[null,true],"s":"tab\there \u0001 é"}"#
        );
        let pairs = Value::Map(vec![(Value::Int32(1), Value::from("x"))]);
        assert_eq!(json(None, &pairs, JsonOptions::default()), r#"[[1,"x"]]"#);
        assert_eq!(
            json(None, &Value::Float64(f64::NAN), JsonOptions::default()),
            r#""NaN""#
        );
    }

    #[test]
    fn logical_types_and_defaults_follow_the_schema() {
        let schema = Schema::struct_builder()
            .field("price", Schema::decimal(2))
            .field("day", Schema::date())
            .field("at", Schema::timestamp())
            .field("n", Schema::int32().optional())
            .field("m", Schema::map(Schema::int8(), Schema::string()))
            .build()
            .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("price", Value::decimal(1234)).unwrap();
        s.put("day", Value::Int32(3)).unwrap();
        s.put("at", Value::Int64(1_700_000_000_000)).unwrap();
        s.put("m", Value::Map(vec![(Value::Int8(1), Value::from("one"))]))
            .unwrap();
        let v = Value::Struct(s);
        assert_eq!(
            json(Some(&schema), &v, JsonOptions::default()),
            r#"{"price":"BNI=","day":3,"at":1700000000000,"n":null,"m":[[1,"one"]]}"#
        );
        assert_eq!(
            json(
                Some(&schema),
                &v,
                JsonOptions {
                    decimal_numeric: true
                }
            ),
            r#"{"price":12.34,"day":3,"at":1700000000000,"n":null,"m":[[1,"one"]]}"#
        );
    }

    #[test]
    fn mismatches_and_required_nulls_are_errors() {
        let mut out = Vec::new();
        let e = write_json(
            &mut out,
            Some(&Schema::int32()),
            &Value::from("x"),
            JsonOptions::default(),
        )
        .unwrap_err();
        assert!(e.contains("INT32"), "{e}");
        let e = write_json(
            &mut out,
            Some(&Schema::int32()),
            &Value::Null,
            JsonOptions::default(),
        )
        .unwrap_err();
        assert!(e.contains("required"), "{e}");
    }
}
