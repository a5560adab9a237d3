//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`, Kafka Connect's default header
//! converter: writes `Values.convertToString` as UTF-8, reads with `Values.parseString`.
//!
//! Design decision: reading covers the simple, common cases of `Values.parseString` —
//! booleans, integers (smallest fitting of int8/16/32/64, as Kafka), fractional numbers
//! (float32 when finite, else float64) and plain strings. Not covered (these read as a
//! STRING): ISO dates/times/timestamps, `[...]` arrays and `{...}` maps, numbers beyond
//! int64 (Kafka gives a Decimal), and the literal `null`.

use base64::Engine as _;

use super::json::number::{write_big_decimal, write_f32, write_f64};
use super::string::java_non_finite;
use crate::convert::{ConvertError, HeaderConverter};
use crate::data::{logical, Data, Schema, SchemaType, Value};

#[derive(Debug, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    pub fn serialize(&self, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        if data.value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::new();
        append(&mut out, data.schema.as_deref(), &data.value, false)?;
        Ok(Some(out))
    }

    pub fn deserialize(&self, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(Data::NULL);
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ConvertError::new(format!(
                "SimpleHeaderConverter: header value is not valid UTF-8 ({e})"
            ))
        })?;
        Ok(parse_string(text))
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        data: &Data,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(data)
    }
    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Data, ConvertError> {
        self.deserialize(bytes)
    }
}

fn typed(ty: SchemaType, value: Value) -> Data {
    Data::new(Some(Schema::new(ty).into_ref()), value)
}

/// The simple cases of Kafka's `Values.parseString`.
pub(crate) fn parse_string(text: &str) -> Data {
    if text.is_empty() {
        return typed(SchemaType::String, Value::String(String::new()));
    }
    if text.eq_ignore_ascii_case("true") {
        return typed(SchemaType::Boolean, Value::Boolean(true));
    }
    if text.eq_ignore_ascii_case("false") {
        return typed(SchemaType::Boolean, Value::Boolean(false));
    }
    if is_number(text) {
        if let Some(integral) = exact_integral(text) {
            return if let Ok(v) = i8::try_from(integral) {
                typed(SchemaType::Int8, Value::Int8(v))
            } else if let Ok(v) = i16::try_from(integral) {
                typed(SchemaType::Int16, Value::Int16(v))
            } else if let Ok(v) = i32::try_from(integral) {
                typed(SchemaType::Int32, Value::Int32(v))
            } else {
                typed(SchemaType::Int64, Value::Int64(integral))
            };
        }
        let fractional = text.contains(['.', 'e', 'E']);
        if fractional {
            if let Ok(f) = text.parse::<f32>() {
                if f.is_finite() {
                    return typed(SchemaType::Float32, Value::Float32(f));
                }
            }
            if let Ok(d) = text.parse::<f64>() {
                if d.is_finite() {
                    return typed(SchemaType::Float64, Value::Float64(d));
                }
            }
        }
    }
    typed(SchemaType::String, Value::String(text.to_owned()))
}

/// A plain decimal number: optional sign, digits, optional fraction and exponent.
fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && exp.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        })
}

/// The value when the number is a whole number within int64 (`1.0` and `1e3` count, as in
/// Kafka's `parseAsExactDecimal`).
fn exact_integral(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    let d = super::json::number::parse_decimal_text(text.strip_prefix('+').unwrap_or(text));
    let digits = d.digits.as_bytes();
    let int_digits: String = if d.scale <= 0 {
        if d.digits == "0" {
            "0".to_owned()
        } else {
            if d.scale < -19 {
                return None;
            }
            let mut s = d.digits.clone();
            s.extend(std::iter::repeat_n('0', (-d.scale) as usize));
            s
        }
    } else {
        let cut = d.scale as usize;
        if d.digits == "0" {
            "0".to_owned()
        } else if digits.len() > cut && digits[digits.len() - cut..].iter().all(|&b| b == b'0') {
            d.digits[..digits.len() - cut].to_owned()
        } else {
            return None;
        }
    };
    let v: i128 = int_digits.parse().ok()?;
    i64::try_from(if d.negative { -v } else { v }).ok()
}

/// Kafka's `Values.convertToString` / `Values.append`: Java `toString` for primitives,
/// base64 for bytes, ISO text for Date/Time/Timestamp, `[a,b]` and `{k:v}` for containers
/// with embedded strings quoted (backslash and quote escaped).
fn append(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    embedded: bool,
) -> Result<(), ConvertError> {
    if let Some(s) = schema {
        match (s.name.as_deref(), value) {
            (Some(logical::DECIMAL), Value::Bytes(b)) if !b.is_empty() => {
                let scale = s
                    .parameter(logical::DECIMAL_SCALE)
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0);
                write_big_decimal(out, b, scale);
                return Ok(());
            }
            (Some(logical::DATE), Value::Int32(days)) => {
                out.extend_from_slice(format_date(*days as i64).as_bytes());
                return Ok(());
            }
            (Some(logical::TIME), Value::Int32(ms)) => {
                out.extend_from_slice(format_time(*ms as i64).as_bytes());
                out.push(b'Z');
                return Ok(());
            }
            (Some(logical::TIMESTAMP), Value::Int64(ms)) => {
                let days = ms.div_euclid(86_400_000);
                out.extend_from_slice(format_date(days).as_bytes());
                out.push(b'T');
                out.extend_from_slice(format_time(ms.rem_euclid(86_400_000)).as_bytes());
                out.push(b'Z');
                return Ok(());
            }
            _ => {}
        }
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int16(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int32(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Int64(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Float32(v) if v.is_finite() => write_f32(out, *v),
        Value::Float64(v) if v.is_finite() => write_f64(out, *v),
        Value::Float32(v) => out.extend_from_slice(java_non_finite(*v as f64)),
        Value::Float64(v) => out.extend_from_slice(java_non_finite(*v)),
        Value::String(s) => append_str(out, s, embedded),
        Value::Bytes(b) => append_str(
            out,
            &base64::engine::general_purpose::STANDARD.encode(b),
            embedded,
        ),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append(out, item_schema, item, true)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (ks, vs) = (
                schema.and_then(|s| s.keys.as_deref()),
                schema.and_then(|s| s.values.as_deref()),
            );
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append(out, ks, k, true)?;
                out.push(b':');
                append(out, vs, v, true)?;
            }
            out.push(b'}');
        }
        Value::Struct(fields) => {
            let Some(s) = schema.filter(|s| s.fields.len() == fields.len()) else {
                return Err(ConvertError::new(
                    "a struct header value needs its struct schema".to_owned(),
                ));
            };
            out.push(b'{');
            for (i, (f, v)) in s.fields.iter().zip(fields).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append_str(out, &f.name, true);
                out.push(b':');
                append(out, Some(&f.schema), v, true)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn append_str(out: &mut Vec<u8>, s: &str, embedded: bool) {
    if !embedded {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        if b == b'\\' || b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `yyyy-MM-dd` (UTC) of days since the epoch.
fn format_date(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:mm:ss.SSS` of milliseconds since midnight.
fn format_time(ms: i64) -> String {
    let ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ty(d: &Data) -> Option<SchemaType> {
        d.schema.as_ref().map(|s| s.ty)
    }

    #[test]
    fn parses_simple_values_like_kafka() {
        let c = SimpleHeaderConverter;
        let d = c.deserialize(Some(b"42")).unwrap();
        assert_eq!((ty(&d), d.value), (Some(SchemaType::Int8), Value::Int8(42)));
        let d = c.deserialize(Some(b"1000")).unwrap();
        assert_eq!(
            (ty(&d), d.value),
            (Some(SchemaType::Int16), Value::Int16(1000))
        );
        let d = c.deserialize(Some(b"-3000000000")).unwrap();
        assert_eq!(
            (ty(&d), d.value),
            (Some(SchemaType::Int64), Value::Int64(-3_000_000_000))
        );
        let d = c.deserialize(Some(b"1.0")).unwrap();
        assert_eq!(d.value, Value::Int8(1));
        let d = c.deserialize(Some(b"1.5")).unwrap();
        assert_eq!(
            (ty(&d), d.value),
            (Some(SchemaType::Float32), Value::Float32(1.5))
        );
        let d = c.deserialize(Some(b"TRUE")).unwrap();
        assert_eq!(d.value, Value::Boolean(true));
        for s in ["hello", "12abc", "1.2.3", "-", "", "2024-01-15"] {
            let d = c.deserialize(Some(s.as_bytes())).unwrap();
            assert_eq!(
                (ty(&d), d.value),
                (Some(SchemaType::String), Value::from(s)),
                "{s}"
            );
        }
        assert_eq!(c.deserialize(None).unwrap(), Data::NULL);
    }

    #[test]
    fn writes_values_convert_to_string() {
        let c = SimpleHeaderConverter;
        let w = |d: Data| String::from_utf8(c.serialize(&d).unwrap().unwrap()).unwrap();
        assert_eq!(w(Data::schemaless(Value::from("a\"b"))), "a\"b");
        assert_eq!(w(Data::schemaless(Value::Float64(1e10))), "1.0E10");
        assert_eq!(w(Data::schemaless(Value::Float32(f32::NAN))), "NaN");
        assert_eq!(w(Data::schemaless(Value::Bytes(b"hi".to_vec()))), "aGk=");
        assert_eq!(
            w(Data::schemaless(Value::Array(vec![
                Value::from("x\"y"),
                Value::Int32(1)
            ]))),
            "[\"x\\\"y\",1]"
        );
        assert_eq!(
            w(Data::new(
                Some(Schema::date().into_ref()),
                Value::Int32(19737)
            )),
            "2024-01-15"
        );
        assert_eq!(
            w(Data::new(
                Some(Schema::time().into_ref()),
                Value::Int32(45_296_789)
            )),
            "12:34:56.789Z"
        );
        assert_eq!(
            w(Data::new(
                Some(Schema::timestamp().into_ref()),
                Value::Int64(1_700_000_000_123)
            )),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            w(Data::new(
                Some(Schema::decimal(2).into_ref()),
                Value::Bytes(vec![0x04, 0xD2])
            )),
            "12.34"
        );
        assert_eq!(c.serialize(&Data::NULL).unwrap(), None);
    }
}
