//! JSON tree -> Connect schema and value, mirroring Kafka's `JsonConverter.asConnectSchema`
//! and `convertToConnect` branch by branch, including their messages.
//!
//! Design decision: type mismatches are as lenient as Kafka's Jackson accessors (a JSON
//! string read as an int32 is 0, a float read as an int is truncated, big integers wrap),
//! because records Kafka Connect accepts must not start failing here. Where Kafka would
//! produce a Java `null` for a required value, this returns an error instead.

use std::sync::Arc;

use base64::Engine as _;

use super::number::{digits_to_unscaled, parse_decimal_text, wrapping_integer_part};
use super::parser::Node;
use super::write::{decimal_scale, java_type_name};
use crate::convert::ConvertError;
use crate::data::{logical, Field, Schema, SchemaType, Value};

#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOptions {
    pub replace_null_with_default: bool,
    /// Maps as Confluent's `JsonSchemaData` writes them (see `WriteOptions::entry_objects`).
    pub entry_objects: bool,
}

fn err<T>(msg: impl Into<String>) -> Result<T, ConvertError> {
    Err(ConvertError::new(msg.into()))
}

/// `asConnectSchema`: `None` for a JSON null schema.
pub(crate) fn schema_from_json(
    node: &Node<'_>,
    opts: ReadOptions,
) -> Result<Option<Schema>, ConvertError> {
    if matches!(node, Node::Null) {
        return Ok(None);
    }
    let ty = match node.get("type") {
        Some(Node::String(t)) => t,
        _ => return err("Schema must contain 'type' field"),
    };
    let mut schema = match ty.as_ref() {
        "boolean" => Schema::new(SchemaType::Boolean),
        "int8" => Schema::new(SchemaType::Int8),
        "int16" => Schema::new(SchemaType::Int16),
        "int32" => Schema::new(SchemaType::Int32),
        "int64" => Schema::new(SchemaType::Int64),
        "float" => Schema::new(SchemaType::Float32),
        "double" => Schema::new(SchemaType::Float64),
        "bytes" => Schema::new(SchemaType::Bytes),
        "string" => Schema::new(SchemaType::String),
        "array" => {
            let items = match node.get("items") {
                None | Some(Node::Null) => {
                    return err("Array schema did not specify the element type")
                }
                Some(items) => required_child(items, "valueSchema", opts)?,
            };
            Schema::array(items)
        }
        "map" => {
            let Some(keys) = node.get("keys") else {
                return err("Map schema did not specify the key type");
            };
            let Some(values) = node.get("values") else {
                return err("Map schema did not specify the value type");
            };
            Schema::map(
                required_child(keys, "keySchema", opts)?,
                required_child(values, "valueSchema", opts)?,
            )
        }
        "struct" => {
            let Some(Node::Array(fields)) = node.get("fields") else {
                return err("Struct schema's \"fields\" argument is not an array.");
            };
            let mut out: Vec<Field> = Vec::with_capacity(fields.len());
            for field in fields {
                let Some(Node::String(name)) = field.get("field") else {
                    return err("Struct schema's field name not specified properly");
                };
                if out.iter().any(|f| f.name == name.as_ref()) {
                    return err(format!(
                        "Cannot create field because of field name duplication {name}"
                    ));
                }
                let schema = required_child(field, "field schema", opts)?;
                out.push(Field {
                    name: name.to_string(),
                    schema,
                });
            }
            Schema::structure(out)
        }
        other => return err(format!("Unknown schema type: {other}")),
    };
    schema.optional = matches!(node.get("optional"), Some(Node::Bool(true)));
    if let Some(Node::String(name)) = node.get("name") {
        schema.name = Some(name.to_string());
    }
    if let Some(Node::Number {
        text,
        integral: true,
    }) = node.get("version")
    {
        schema.version = Some(int_of(text) as i32);
    }
    if let Some(Node::String(doc)) = node.get("doc") {
        schema.doc = Some(doc.to_string());
    }
    if let Some(Node::Object(params)) = node.get("parameters") {
        for (k, v) in params {
            let Node::String(v) = v else {
                return err("Schema parameters must have string values.");
            };
            schema.parameters.push((k.to_string(), v.to_string()));
        }
    }
    if let Some(default) = node.get("default") {
        let value = value_from_json(Some(&schema), Some(default), opts)?;
        schema.default = if value.is_null() { None } else { Some(value) };
    }
    Ok(Some(schema))
}

fn required_child(
    node: &Node<'_>,
    what: &str,
    opts: ReadOptions,
) -> Result<Arc<Schema>, ConvertError> {
    match schema_from_json(node, opts)? {
        Some(s) => Ok(Arc::new(s)),
        None => err(format!("{what} cannot be null.")),
    }
}

/// `convertToConnect`: a JSON node (None = absent) read with an optional schema.
pub(crate) fn value_from_json(
    schema: Option<&Schema>,
    node: Option<&Node<'_>>,
    opts: ReadOptions,
) -> Result<Value, ConvertError> {
    let Some(schema) = schema else {
        return Ok(node.map(schemaless).unwrap_or(Value::Null));
    };
    let node = match node {
        None | Some(Node::Null) => {
            if let Some(default) = schema
                .default
                .as_ref()
                .filter(|_| opts.replace_null_with_default)
            {
                return Ok(default.clone());
            }
            if schema.optional {
                return Ok(Value::Null);
            }
            return err(format!(
                "Invalid null value for required {} field",
                java_type_name(schema.ty)
            ));
        }
        Some(node) => node,
    };
    if let Some(name) = schema.name.as_deref() {
        match name {
            logical::DECIMAL => return read_decimal(schema, node),
            logical::DATE | logical::TIME => {
                return match node {
                    Node::Number { text, integral: true } if fits_i32(text) => Ok(Value::Int32(int_of(text) as i32)),
                    other => err(format!(
                        "Invalid type for {}, underlying representation should be integer but was {}",
                        if name == logical::DATE { "Date" } else { "Time" },
                        other.type_name()
                    )),
                };
            }
            logical::TIMESTAMP => {
                return match node {
                    Node::Number { text, integral: true } => Ok(Value::Int64(int_of(text))),
                    other => err(format!(
                        "Invalid type for Timestamp, underlying representation should be integral but was {}",
                        other.type_name()
                    )),
                };
            }
            _ => {}
        }
    }
    Ok(match schema.ty {
        SchemaType::Boolean => Value::Boolean(matches!(node, Node::Bool(true))),
        SchemaType::Int8 => Value::Int8(number_as_i64(node) as i8),
        SchemaType::Int16 => Value::Int16(number_as_i64(node) as i16),
        SchemaType::Int32 => Value::Int32(number_as_i64(node) as i32),
        SchemaType::Int64 => Value::Int64(number_as_i64(node)),
        SchemaType::Float32 => Value::Float32(match node {
            Node::Number { text, .. } => {
                positive_zero_f32(text.parse::<f32>().unwrap_or(0.0), text)
            }
            _ => 0.0,
        }),
        SchemaType::Float64 => Value::Float64(match node {
            Node::Number { text, .. } => {
                positive_zero_f64(text.parse::<f64>().unwrap_or(0.0), text)
            }
            _ => 0.0,
        }),
        SchemaType::String => match node {
            Node::String(s) => Value::String(s.to_string()),
            other => return null_for_mismatch(schema, other),
        },
        SchemaType::Bytes => match node {
            Node::String(s) => Value::Bytes(
                decode_base64(s)
                    .ok_or_else(|| ConvertError::new("Invalid bytes field".to_owned()))?,
            ),
            other => return null_for_mismatch(schema, other),
        },
        SchemaType::Array => {
            let items = schema.items.as_deref();
            match node {
                Node::Array(elems) => Value::Array(
                    elems
                        .iter()
                        .map(|e| value_from_json(items, Some(e), opts))
                        .collect::<Result<_, _>>()?,
                ),
                // Jackson iterates an object's values and a scalar as empty.
                Node::Object(entries) => Value::Array(
                    entries
                        .iter()
                        .map(|(_, e)| value_from_json(items, Some(e), opts))
                        .collect::<Result<_, _>>()?,
                ),
                _ => Value::Array(Vec::new()),
            }
        }
        SchemaType::Map => read_map(schema, node, opts)?,
        SchemaType::Struct => {
            let Node::Object(_) = node else {
                return err(format!(
                    "Structs should be encoded as JSON objects, but found {}",
                    node.type_name()
                ));
            };
            let mut values = Vec::with_capacity(schema.fields.len());
            for field in &schema.fields {
                values.push(value_from_json(
                    Some(&field.schema),
                    node.get(&field.name),
                    opts,
                )?);
            }
            Value::Struct(values)
        }
    })
}

/// Kafka's accessor returns a Java null for a mismatched string/bytes node.
fn null_for_mismatch(schema: &Schema, node: &Node<'_>) -> Result<Value, ConvertError> {
    if schema.optional {
        Ok(Value::Null)
    } else {
        err(format!(
            "Invalid value for required {} field: found a JSON {}",
            java_type_name(schema.ty),
            node.type_name()
        ))
    }
}

fn read_map(schema: &Schema, node: &Node<'_>, opts: ReadOptions) -> Result<Value, ConvertError> {
    let key_schema = schema.keys.as_deref();
    let value_schema = schema.values.as_deref();
    if key_schema.is_none_or(|k| k.ty == SchemaType::String && !(opts.entry_objects && k.optional))
    {
        let Node::Object(entries) = node else {
            return err(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node.type_name()
            ));
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            out.push((
                Value::String(k.to_string()),
                value_from_json(value_schema, Some(v), opts)?,
            ));
        }
        return Ok(Value::Map(out));
    }
    let Node::Array(entries) = node else {
        return err(format!(
            "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
            node.type_name()
        ));
    };
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
    for entry in entries {
        if opts.entry_objects {
            let (Some(k), Some(v), Node::Object(fields)) =
                (entry.get("key"), entry.get("value"), entry)
            else {
                return err(format!(
                    "Found invalid map entry instead of a {{\"key\",\"value\"}} object: {}",
                    entry.type_name()
                ));
            };
            if fields.len() != 2 {
                return err(format!(
                    "Found invalid map entry, expected length 2 but found :{}",
                    fields.len()
                ));
            }
            let k = value_from_json(key_schema, Some(k), opts)?;
            let v = value_from_json(value_schema, Some(v), opts)?;
            match out.iter_mut().find(|(ek, _)| *ek == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
            continue;
        }
        let Node::Array(pair) = entry else {
            return err(format!(
                "Found invalid map entry instead of array tuple: {}",
                entry.type_name()
            ));
        };
        if pair.len() != 2 {
            return err(format!(
                "Found invalid map entry, expected length 2 but found :{}",
                pair.len()
            ));
        }
        let k = value_from_json(key_schema, Some(&pair[0]), opts)?;
        let v = value_from_json(value_schema, Some(&pair[1]), opts)?;
        // A Java HashMap: a repeated key replaces the earlier value.
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(Value::Map(out))
}

fn read_decimal(schema: &Schema, node: &Node<'_>) -> Result<Value, ConvertError> {
    match node {
        Node::Number { text, .. } => {
            let scale = decimal_scale(schema)? as i64;
            let d = parse_decimal_text(text);
            let shift = scale - d.scale;
            let digits = if shift >= 0 {
                if shift > 10_000 {
                    return err(format!("Decimal value {text} is out of range for scale {scale}"));
                }
                let mut s = d.digits.clone();
                if s != "0" {
                    s.extend(std::iter::repeat_n('0', shift as usize));
                }
                s
            } else {
                // More fractional digits than the schema's scale: only trailing zeros can go.
                let cut = (-shift) as usize;
                let bytes = d.digits.as_bytes();
                if bytes.len() <= cut || bytes[bytes.len() - cut..].iter().any(|&b| b != b'0') {
                    if d.digits == "0" {
                        "0".to_owned()
                    } else {
                        return err(format!(
                            "Decimal value {text} has more fractional digits than the schema's scale {scale}"
                        ));
                    }
                } else {
                    d.digits[..bytes.len() - cut].to_owned()
                }
            };
            Ok(Value::Bytes(digits_to_unscaled(d.negative && digits != "0", &digits)))
        }
        Node::String(s) => match decode_base64(s) {
            Some(bytes) if !bytes.is_empty() => Ok(Value::Bytes(bytes)),
            _ => err("Invalid bytes for Decimal field"),
        },
        other => err(format!(
            "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
            other.type_name()
        )),
    }
}

/// Jackson's `JsonNode.binaryValue()` for text: standard base64 with padding.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .ok()
}

/// Schemaless inference: integral -> int64, fractional -> float64, object -> string-keyed map.
fn schemaless(node: &Node<'_>) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Boolean(*b),
        Node::Number {
            text,
            integral: true,
        } => Value::Int64(int_of(text)),
        Node::Number {
            text,
            integral: false,
        } => Value::Float64(positive_zero_f64(text.parse::<f64>().unwrap_or(0.0), text)),
        Node::String(s) => Value::String(s.to_string()),
        Node::Array(items) => Value::Array(items.iter().map(schemaless).collect()),
        Node::Object(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::String(k.to_string()), schemaless(v)))
                .collect(),
        ),
    }
}

/// Jackson's `longValue()`/`intValue()` of any node: numbers truncate and wrap, others are 0.
fn number_as_i64(node: &Node<'_>) -> i64 {
    match node {
        Node::Number { text, .. } => int_of(text),
        _ => 0,
    }
}

fn int_of(text: &str) -> i64 {
    text.parse::<i64>()
        .unwrap_or_else(|_| wrapping_integer_part(text))
}

fn fits_i32(text: &str) -> bool {
    text.parse::<i32>().is_ok()
}

/// Jackson reads numbers as BigDecimal, which has no negative zero: `-0.0` reads as `0.0`
/// (while `-1e-400`, a non-zero that underflows, stays `-0.0` as in Java).
fn mantissa_is_zero(text: &str) -> bool {
    text.split(['e', 'E'])
        .next()
        .unwrap_or("")
        .bytes()
        .all(|b| !matches!(b, b'1'..=b'9'))
}

fn positive_zero_f64(v: f64, text: &str) -> f64 {
    if v == 0.0 && mantissa_is_zero(text) {
        0.0
    } else {
        v
    }
}

fn positive_zero_f32(v: f32, text: &str) -> f32 {
    if v == 0.0 && mantissa_is_zero(text) {
        0.0
    } else {
        v
    }
}
