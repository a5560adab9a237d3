//! Renders a Connect value the way Kafka's FileStreamSinkTask writes it: Java's
//! `String.valueOf(value)` for what the Java converters would hand the task.
//!
//! | value                      | written as                                        |
//! |----------------------------|---------------------------------------------------|
//! | string                     | as is                                             |
//! | integers, booleans         | decimal / `true` `false`                          |
//! | float32 / float64          | Java's `Float.toString` / `Double.toString` (`1.0`, `1.0E10`, `NaN`) |
//! | null                       | `null`                                            |
//! | Struct                     | `Struct{a=1,b=x}` (null fields skipped, as Connect's `Struct.toString`) |
//! | map                        | `{k=v, k2=v2}` (in record order; Java's HashMap order is not reproducible) |
//! | array                      | `[a, b]`                                          |
//! | Decimal                    | Java's `BigDecimal.toString` (`12.34`)            |
//! | Date / Time / Timestamp    | Java's `Date.toString` in UTC (`Mon Nov 14 22:13:20 UTC 2023`) |
//! | bytes                      | the raw bytes (Java would print a useless `[B@1b6d3586`) |

use std::io::{self, Write};

use sluice_plugin_sdk::java::{self, BigDecimal};
use sluice_plugin_sdk::{logical, Schema, SchemaType, Value, ValueRef};

/// [`render`] for a value borrowed from the host's batch: a string or bytes value without a
/// named (so possibly logical) schema is written straight from the batch.
pub fn render_ref(
    out: &mut impl Write,
    value: &ValueRef<'_>,
    schema: Option<&Schema>,
) -> io::Result<()> {
    let plain = schema.is_none_or(|s| s.name.is_none());
    match value {
        ValueRef::Str(s) if plain => out.write_all(s.as_bytes()),
        ValueRef::Bytes(b) if plain => out.write_all(b),
        ValueRef::Owned(v) => render(out, v, schema),
        other => render(out, &other.to_value(), schema),
    }
}

/// Writes `value` (with its schema, if any) to `out`.
pub fn render(out: &mut impl Write, value: &Value, schema: Option<&Schema>) -> io::Result<()> {
    if let Some(s) = schema {
        if let Some(text) = render_logical(value, s) {
            return out.write_all(text.as_bytes());
        }
    }
    match value {
        Value::Null => out.write_all(b"null"),
        Value::Boolean(b) => write!(out, "{b}"),
        Value::Int8(v) => write!(out, "{v}"),
        Value::Int16(v) => write!(out, "{v}"),
        Value::Int32(v) => write!(out, "{v}"),
        Value::Int64(v) => write!(out, "{v}"),
        Value::Float32(v) => out.write_all(java::float_to_string(*v).as_bytes()),
        Value::Float64(v) => out.write_all(java::double_to_string(*v).as_bytes()),
        Value::String(s) => out.write_all(s.as_bytes()),
        Value::Bytes(b) => out.write_all(b),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                render(out, item, item_schema)?;
            }
            out.write_all(b"]")
        }
        Value::Map(entries) => {
            let keys = schema.and_then(|s| s.keys.as_deref());
            let values = schema.and_then(|s| s.values.as_deref());
            out.write_all(b"{")?;
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                render(out, k, keys)?;
                out.write_all(b"=")?;
                render(out, v, values)?;
            }
            out.write_all(b"}")
        }
        Value::Struct(s) => {
            out.write_all(b"Struct{")?;
            let mut first = true;
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                write!(out, "{}=", field.name)?;
                render(out, v, Some(&field.schema))?;
            }
            out.write_all(b"}")
        }
    }
}

fn render_logical(value: &Value, schema: &Schema) -> Option<String> {
    match (schema.name.as_deref()?, value) {
        // An empty or over-long Decimal is written raw, as a plain bytes value.
        (logical::DECIMAL, Value::Bytes(b)) if schema.ty == SchemaType::Bytes && !b.is_empty() => {
            let scale: i32 = schema.parameter(logical::DECIMAL_SCALE)?.parse().ok()?;
            Some(BigDecimal::from_bytes(b, scale)?.to_string())
        }
        (logical::DATE, Value::Int32(days)) => {
            Some(java::date_to_string(i64::from(*days) * java::MS_PER_DAY))
        }
        (logical::TIME, Value::Int32(ms)) => Some(java::date_to_string(i64::from(*ms))),
        (logical::TIMESTAMP, Value::Int64(ms)) => Some(java::date_to_string(*ms)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Struct;

    fn show(value: &Value, schema: Option<&Schema>) -> String {
        let mut out = Vec::new();
        render(&mut out, value, schema).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn primitives_render_like_java() {
        assert_eq!(show(&Value::Null, None), "null");
        assert_eq!(show(&Value::from("héllo"), None), "héllo");
        assert_eq!(show(&Value::Int64(-42), None), "-42");
        assert_eq!(show(&Value::Boolean(true), None), "true");
        assert_eq!(show(&Value::Float64(1.0), None), "1.0");
        assert_eq!(show(&Value::Float64(0.1), None), "0.1");
        assert_eq!(show(&Value::Float64(123.456), None), "123.456");
        assert_eq!(show(&Value::Float64(1e7), None), "1.0E7");
        assert_eq!(show(&Value::Float64(1.5e10), None), "1.5E10");
        assert_eq!(show(&Value::Float64(0.001), None), "0.001");
        assert_eq!(show(&Value::Float64(1.0e-4), None), "1.0E-4");
        assert_eq!(show(&Value::Float64(-0.0), None), "-0.0");
        assert_eq!(show(&Value::Float64(f64::NAN), None), "NaN");
        assert_eq!(show(&Value::Float32(0.1), None), "0.1");
        assert_eq!(show(&Value::Float32(3.0e8), None), "3.0E8");
    }

    #[test]
    fn bytes_are_written_raw() {
        let mut out = Vec::new();
        render(&mut out, &Value::Bytes(vec![0x41, 0x00, 0xff]), None).unwrap();
        assert_eq!(out, vec![0x41, 0x00, 0xff]);
    }

    #[test]
    fn containers_and_structs_render_like_connect() {
        let schema = Schema::struct_builder()
            .field("a", Schema::int32())
            .field("skipped", Schema::string().optional())
            .field("b", Schema::string())
            .field(
                "m",
                Schema::map(Schema::string(), Schema::array(Schema::int32())),
            )
            .build_ref();
        let s = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int32(1),
                Value::Null,
                "x".into(),
                Value::Map(vec![
                    (
                        "k".into(),
                        Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
                    ),
                    ("k2".into(), Value::Array(vec![])),
                ]),
            ],
        )
        .unwrap();
        assert_eq!(
            show(&Value::Struct(s), Some(&schema)),
            "Struct{a=1,b=x,m={k=[1, 2], k2=[]}}"
        );
        assert_eq!(
            show(&Value::Array(vec![Value::Null, "a".into()]), None),
            "[null, a]"
        );
    }

    #[test]
    fn logical_types_render_like_java() {
        let price = Schema::decimal(2);
        assert_eq!(show(&Value::decimal(1234), Some(&price)), "12.34");
        assert_eq!(show(&Value::decimal(-5), Some(&price)), "-0.05");
        assert_eq!(show(&Value::Bytes(vec![]), Some(&price)), "");
        let ts = Schema::timestamp();
        assert_eq!(
            show(&Value::Int64(1_700_000_000_000), Some(&ts)),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(
            show(&Value::Int32(0), Some(&Schema::date())),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
    }
}
