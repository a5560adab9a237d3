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
        Value::Float32(v) => out.write_all(java_float(f64::from(*v), format!("{v:e}")).as_bytes()),
        Value::Float64(v) => out.write_all(java_float(*v, format!("{v:e}")).as_bytes()),
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
        (logical::DECIMAL, Value::Bytes(b)) if schema.ty == SchemaType::Bytes => {
            let scale: i32 = schema.parameter(logical::DECIMAL_SCALE)?.parse().ok()?;
            Some(big_decimal(unscaled(b)?, scale))
        }
        (logical::DATE, Value::Int32(days)) => Some(java_date(i64::from(*days) * 86_400_000)),
        (logical::TIME, Value::Int32(ms)) => Some(java_date(i64::from(*ms))),
        (logical::TIMESTAMP, Value::Int64(ms)) => Some(java_date(*ms)),
        _ => None,
    }
}

/// The unscaled integer of a Decimal (two's-complement big-endian), if it fits in i128.
fn unscaled(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xFF } else { 0x00 };
    let mut full = [fill; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(full))
}

/// Java's `BigDecimal.toString()`.
pub fn big_decimal(unscaled: i128, scale: i32) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = unscaled.unsigned_abs().to_string();
    let adjusted = -i64::from(scale) + (digits.len() as i64 - 1);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        return if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        };
    }
    let (first, rest) = digits.split_at(1);
    let mantissa = if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}.{rest}")
    };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{mantissa}E{exp_sign}{adjusted}")
}

/// Java's `Double.toString`/`Float.toString`, from Rust's shortest round-trip digits
/// (`sci` is the value formatted with `{:e}`, e.g. `1.5e10`).
pub fn java_float(v: f64, sci: String) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let (sign, sci) = match sci.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None => ("", sci),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let abs = v.abs();
    if abs == 0.0 {
        return format!("{sign}0.0");
    }
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int, frac) = padded.split_at(int_len);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Java's `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
pub fn java_date(epoch_millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        year
    )
}

/// Howard Hinnant's days-from-epoch to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
        assert_eq!(big_decimal(123, 0), "123");
        assert_eq!(big_decimal(123, -2), "1.23E+4");
        assert_eq!(big_decimal(1, 10), "1E-10");
        let ts = Schema::timestamp();
        assert_eq!(
            show(&Value::Int64(1_700_000_000_000), Some(&ts)),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(
            show(&Value::Int32(0), Some(&Schema::date())),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }
}
