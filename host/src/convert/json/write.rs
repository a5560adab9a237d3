//! Connect data -> JSON bytes, written straight into a `Vec<u8>` in Jackson's exact output
//! form (compact, Jackson's string escapes, Java number text).
//!
//! Design decision: no intermediate JSON tree; each function appends to the buffer and
//! mirrors one branch of Kafka's `JsonConverter.asJsonSchema` / `convertToJson`, so schema
//! key order and null/default handling can be checked against the Java side by eye.

use base64::Engine as _;

use super::number::{minimal_unscaled, write_big_decimal, write_f32, write_f64, write_i64};
use crate::convert::ConvertError;
use crate::data::{logical, Schema, SchemaType, Value};

#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions {
    pub decimal_numeric: bool,
    pub replace_null_with_default: bool,
    /// Confluent's `JsonSchemaData` form of maps: object mode only for required STRING keys,
    /// other maps as `[{"key":k,"value":v},…]` (JsonConverter: `[[k,v],…]`).
    pub entry_objects: bool,
}

/// Connect's `Schema.Type` enum name, as Kafka prints it in messages.
pub(crate) fn java_type_name(ty: SchemaType) -> &'static str {
    match ty {
        SchemaType::Int8 => "INT8",
        SchemaType::Int16 => "INT16",
        SchemaType::Int32 => "INT32",
        SchemaType::Int64 => "INT64",
        SchemaType::Float32 => "FLOAT32",
        SchemaType::Float64 => "FLOAT64",
        SchemaType::Boolean => "BOOLEAN",
        SchemaType::String => "STRING",
        SchemaType::Bytes => "BYTES",
        SchemaType::Array => "ARRAY",
        SchemaType::Map => "MAP",
        SchemaType::Struct => "STRUCT",
    }
}

/// The Java class Connect would hold for a value (for Kafka-shaped error messages).
fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "class java.lang.Boolean",
        Value::Int8(_) => "class java.lang.Byte",
        Value::Int16(_) => "class java.lang.Short",
        Value::Int32(_) => "class java.lang.Integer",
        Value::Int64(_) => "class java.lang.Long",
        Value::Float32(_) => "class java.lang.Float",
        Value::Float64(_) => "class java.lang.Double",
        Value::String(_) => "class java.lang.String",
        Value::Bytes(_) => "class [B",
        Value::Array(_) => "class java.util.ArrayList",
        Value::Map(_) => "class java.util.HashMap",
        Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
    }
}

/// Appends the schema JSON object (`asJsonSchema`).
pub(crate) fn write_schema(
    out: &mut Vec<u8>,
    schema: &Schema,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    write_schema_open(out, schema, opts)?;
    out.push(b'}');
    Ok(())
}

/// Everything of the schema object except the closing brace, so a struct field can append
/// its `"field"` key last, as Kafka does.
fn write_schema_open(
    out: &mut Vec<u8>,
    schema: &Schema,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(schema.ty.json_name().as_bytes());
    out.push(b'"');
    match schema.ty {
        SchemaType::Array => {
            out.extend_from_slice(b",\"items\":");
            write_schema(out, child(schema, schema.items.as_deref(), "items")?, opts)?;
        }
        SchemaType::Map => {
            out.extend_from_slice(b",\"keys\":");
            write_schema(out, child(schema, schema.keys.as_deref(), "keys")?, opts)?;
            out.extend_from_slice(b",\"values\":");
            write_schema(
                out,
                child(schema, schema.values.as_deref(), "values")?,
                opts,
            )?;
        }
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, field) in schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_open(out, &field.schema, opts)?;
                out.extend_from_slice(b",\"field\":");
                write_string(out, &field.name);
                out.push(b'}');
            }
            out.push(b']');
        }
        _ => {}
    }
    out.extend_from_slice(if schema.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = &schema.name {
        out.extend_from_slice(b",\"name\":");
        write_string(out, name);
    }
    if let Some(version) = schema.version {
        out.extend_from_slice(b",\"version\":");
        write_i64(out, version as i64);
    }
    if let Some(doc) = &schema.doc {
        out.extend_from_slice(b",\"doc\":");
        write_string(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, k);
            out.push(b':');
            write_string(out, v);
        }
        out.push(b'}');
    }
    if let Some(default) = &schema.default {
        if !default.is_null() {
            out.extend_from_slice(b",\"default\":");
            write_value(out, Some(schema), default, opts)?;
        }
    }
    Ok(())
}

fn child<'s>(
    parent: &Schema,
    child: Option<&'s Schema>,
    what: &str,
) -> Result<&'s Schema, ConvertError> {
    child.ok_or_else(|| {
        ConvertError::new(format!(
            "{} schema has no {what} schema; cannot convert it to JSON",
            java_type_name(parent.ty)
        ))
    })
}

/// Appends a value (`convertToJson`). `schema == None` infers the JSON shape from the value.
pub(crate) fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    let Some(schema) = schema else {
        return write_schemaless(out, value, opts);
    };
    if value.is_null() {
        if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
            if opts.replace_null_with_default {
                return write_value(out, Some(schema), default, opts);
            }
        }
        if schema.optional {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(ConvertError::new(
            "Conversion error: null value for field that is required and has no default value"
                .to_owned(),
        ));
    }
    if let Some(name) = schema.name.as_deref() {
        match name {
            logical::DECIMAL => return write_decimal(out, schema, value, opts),
            logical::DATE | logical::TIME => {
                return match value {
                    Value::Int32(v) => {
                        write_i64(out, *v as i64);
                        Ok(())
                    }
                    other => Err(ConvertError::new(format!(
                        "Invalid type for {}, expected an int32 (days/ms) but was {}",
                        if name == logical::DATE {
                            "Date"
                        } else {
                            "Time"
                        },
                        java_class(other)
                    ))),
                };
            }
            logical::TIMESTAMP => {
                return match value {
                    Value::Int64(v) => {
                        write_i64(out, *v);
                        Ok(())
                    }
                    other => Err(ConvertError::new(format!(
                        "Invalid type for Timestamp, expected an int64 (epoch ms) but was {}",
                        java_class(other)
                    ))),
                };
            }
            _ => {}
        }
    }
    match (schema.ty, value) {
        (SchemaType::Int8, Value::Int8(v)) => write_i64(out, *v as i64),
        (SchemaType::Int16, Value::Int16(v)) => write_i64(out, *v as i64),
        (SchemaType::Int32, Value::Int32(v)) => write_i64(out, *v as i64),
        (SchemaType::Int64, Value::Int64(v)) => write_i64(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => write_f32(out, *v),
        (SchemaType::Float64, Value::Float64(v)) => write_f64(out, *v),
        (SchemaType::Boolean, Value::Boolean(v)) => {
            out.extend_from_slice(if *v { b"true" } else { b"false" })
        }
        (SchemaType::String, Value::String(s)) => write_string(out, s),
        (SchemaType::Bytes, Value::Bytes(b)) => write_base64(out, b),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = child(schema, schema.items.as_deref(), "items")?;
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, Some(item_schema), item, opts)?;
            }
            out.push(b']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let key_schema = child(schema, schema.keys.as_deref(), "keys")?;
            let value_schema = child(schema, schema.values.as_deref(), "values")?;
            let object_mode =
                key_schema.ty == SchemaType::String && !(opts.entry_objects && key_schema.optional);
            if object_mode {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_object_key(out, Some(key_schema), k, opts)?;
                    write_value(out, Some(value_schema), v, opts)?;
                }
                out.push(b'}');
            } else if opts.entry_objects {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"key\":");
                    write_value(out, Some(key_schema), k, opts)?;
                    out.extend_from_slice(b",\"value\":");
                    write_value(out, Some(value_schema), v, opts)?;
                    out.push(b'}');
                }
                out.push(b']');
            } else {
                write_pairs(out, Some(key_schema), Some(value_schema), entries, opts)?;
            }
        }
        (SchemaType::Struct, Value::Struct(fields)) => {
            if fields.len() != schema.fields.len() {
                return Err(ConvertError::new(format!(
                    "Mismatching schema: struct value has {} fields, its schema {}",
                    fields.len(),
                    schema.fields.len()
                )));
            }
            out.push(b'{');
            for (i, (field, v)) in schema.fields.iter().zip(fields).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, &field.name);
                out.push(b':');
                write_value(out, Some(&field.schema), v, opts)?;
            }
            out.push(b'}');
        }
        (ty, other) => {
            return Err(ConvertError::new(format!(
                "Invalid type for {}: {}",
                java_type_name(ty),
                java_class(other)
            )));
        }
    }
    Ok(())
}

/// A map key in object mode: Kafka writes `convertToJson(keySchema, key).asText()`.
fn write_object_key(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    key: &Value,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    match key {
        Value::String(s) => write_string(out, s),
        other => {
            // Only reachable with a STRING key schema and a non-string key: Kafka fails the
            // cast the same way.
            let ty = schema
                .map(|s| java_type_name(s.ty))
                .unwrap_or("unknown schema");
            let _ = opts;
            return Err(ConvertError::new(format!(
                "Invalid type for {ty}: {}",
                java_class(other)
            )));
        }
    }
    out.push(b':');
    Ok(())
}

fn write_pairs(
    out: &mut Vec<u8>,
    key_schema: Option<&Schema>,
    value_schema: Option<&Schema>,
    entries: &[(Value, Value)],
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_value(out, key_schema, k, opts)?;
        out.push(b',');
        write_value(out, value_schema, v, opts)?;
        out.push(b']');
    }
    out.push(b']');
    Ok(())
}

fn write_schemaless(
    out: &mut Vec<u8>,
    value: &Value,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => out.extend_from_slice(if *v { b"true" } else { b"false" }),
        Value::Int8(v) => write_i64(out, *v as i64),
        Value::Int16(v) => write_i64(out, *v as i64),
        Value::Int32(v) => write_i64(out, *v as i64),
        Value::Int64(v) => write_i64(out, *v),
        Value::Float32(v) => write_f32(out, *v),
        Value::Float64(v) => write_f64(out, *v),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => write_base64(out, b),
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
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_object_key(out, None, k, opts)?;
                    write_schemaless(out, v, opts)?;
                }
                out.push(b'}');
            } else {
                write_pairs(out, None, None, entries, opts)?;
            }
        }
        Value::Struct(_) => {
            return Err(ConvertError::new(
                "Mismatching schema: a struct value needs a struct schema".to_owned(),
            ));
        }
    }
    Ok(())
}

fn write_decimal(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    opts: WriteOptions,
) -> Result<(), ConvertError> {
    let Value::Bytes(unscaled) = value else {
        return Err(ConvertError::new(format!(
            "Invalid type for Decimal, expected unscaled bytes (BigDecimal) but was {}",
            java_class(value)
        )));
    };
    if unscaled.is_empty() {
        return Err(ConvertError::new(
            "Invalid Decimal value: the unscaled bytes are empty".to_owned(),
        ));
    }
    let unscaled = minimal_unscaled(unscaled);
    if opts.decimal_numeric {
        write_big_decimal(out, unscaled, decimal_scale(schema)?);
    } else {
        write_base64(out, unscaled);
    }
    Ok(())
}

/// The `scale` parameter of a Decimal schema.
pub(crate) fn decimal_scale(schema: &Schema) -> Result<i32, ConvertError> {
    let raw = schema.parameter(logical::DECIMAL_SCALE).ok_or_else(|| {
        ConvertError::new("Invalid Decimal schema: scale parameter not found.".to_owned())
    })?;
    raw.trim().parse::<i32>().map_err(|_| {
        ConvertError::new(format!(
            "Invalid Decimal schema: scale parameter '{raw}' is not an int32"
        ))
    })
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len + 2, 0);
    out[start] = b'"';
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start + 1..start + 1 + len])
        .unwrap_or(0);
    out.truncate(start + 1 + written);
    out.push(b'"');
}

/// Bytes that Jackson escapes: control characters, quote, backslash, and lead bytes of
/// 4-byte UTF-8 sequences (Jackson writes supplementary characters as surrogate escapes).
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    let mut i = 0xF0;
    while i < 0x100 {
        t[i] = true;
        i += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends a JSON string exactly as Jackson's `UTF8JsonGenerator` writes it.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !NEEDS_ESCAPE[b as usize] {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if b >= 0xF0 {
            // A supplementary character: decode it and write its UTF-16 surrogate pair.
            let c = s[i..].chars().next().map(|c| c as u32).unwrap_or(0xFFFD);
            let v = c - 0x10000;
            write_u_escape(out, 0xD800 + (v >> 10));
            write_u_escape(out, 0xDC00 + (v & 0x3FF));
            i += 4;
        } else {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                8 => out.extend_from_slice(b"\\b"),
                9 => out.extend_from_slice(b"\\t"),
                10 => out.extend_from_slice(b"\\n"),
                12 => out.extend_from_slice(b"\\f"),
                13 => out.extend_from_slice(b"\\r"),
                _ => write_u_escape(out, b as u32),
            }
            i += 1;
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_u_escape(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(unit >> 12 & 0xF) as usize],
        HEX[(unit >> 8 & 0xF) as usize],
        HEX[(unit >> 4 & 0xF) as usize],
        HEX[(unit & 0xF) as usize],
    ]);
}
