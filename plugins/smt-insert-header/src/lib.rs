//! Kafka's `InsertHeader`: appends the header `header` to every record, its value being
//! `value.literal` parsed as Connect's `Values.parseString` does — so `42` becomes an INT8
//! header, `true` a BOOLEAN, `2024-01-02` a Connect Date, `[1,2]` an array of INT8, and
//! anything else the original string.
//!
//! Known differences from Kafka's parser (see [`parse_literal`]): integers beyond int64 and
//! numbers beyond float64 stay strings (Kafka makes them Decimals); arrays and maps whose
//! elements do not share one type, or that nest other arrays/maps, stay strings (Kafka makes
//! them schemaless-typed containers).

use sluice_plugin_sdk::*;

const CLASS: &str = "org.apache.kafka.connect.transforms.InsertHeader";

pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

/// Numeric types in widening order (Connect's `Values` common-schema rules).
fn rank(t: SchemaType) -> Option<u8> {
    Some(match t {
        SchemaType::Int8 => 0,
        SchemaType::Int16 => 1,
        SchemaType::Int32 => 2,
        SchemaType::Int64 => 3,
        SchemaType::Float32 => 4,
        SchemaType::Float64 => 5,
        _ => return None,
    })
}

fn widen(v: Value, to: SchemaType) -> Value {
    let f = match v {
        Value::Int8(x) => f64::from(x),
        Value::Int16(x) => f64::from(x),
        Value::Int32(x) => f64::from(x),
        Value::Int64(x) => x as f64,
        Value::Float32(x) => f64::from(x),
        Value::Float64(x) => x,
        other => return other,
    };
    let i = v_as_i64(f);
    match to {
        SchemaType::Int16 => Value::Int16(i as i16),
        SchemaType::Int32 => Value::Int32(i as i32),
        SchemaType::Int64 => Value::Int64(i),
        SchemaType::Float32 => Value::Float32(f as f32),
        SchemaType::Float64 => Value::Float64(f),
        _ => Value::Int8(i as i8),
    }
}

fn v_as_i64(f: f64) -> i64 {
    f as i64
}

/// A number as Connect's `Values`: the smallest integer type that holds an integral value,
/// else FLOAT32 when finite there, else FLOAT64.
fn number(token: &str) -> Option<(Schema, Value)> {
    let t = token.strip_prefix('+').unwrap_or(token);
    let body = t.strip_prefix('-').unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int_part.is_empty() || !digits_ok(int_part) || !digits_ok(frac) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !digits_ok(e) {
            return None;
        }
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let integral = f.fract() == 0.0 && f.abs() < 9.3e18;
    if integral {
        // Integral values are exact here only when they came from an integer literal or a
        // small mantissa; parse the digits again to keep int64 exact.
        let exact: i64 = if exponent.is_none() && frac.trim_end_matches('0').is_empty() {
            let sign = if t.starts_with('-') { "-" } else { "" };
            format!("{sign}{int_part}").parse().ok()?
        } else {
            f as i64
        };
        return Some(if let Ok(v) = i8::try_from(exact) {
            (Schema::int8(), Value::Int8(v))
        } else if let Ok(v) = i16::try_from(exact) {
            (Schema::int16(), Value::Int16(v))
        } else if let Ok(v) = i32::try_from(exact) {
            (Schema::int32(), Value::Int32(v))
        } else {
            (Schema::int64(), Value::Int64(exact))
        });
    }
    let f32v = f as f32;
    Some(if f32v.is_finite() {
        (Schema::float32(), Value::Float32(t.parse::<f32>().ok()?))
    } else {
        (Schema::float64(), Value::Float64(f))
    })
}

/// One element inside `[...]` or `{...}`: a number, boolean, `null` or a quoted string.
fn element(token: &str) -> Option<(Option<Schema>, Value)> {
    let t = token.trim();
    if t == "null" {
        return Some((None, Value::Null));
    }
    if t == "true" || t == "false" {
        return Some((Some(Schema::boolean()), Value::Boolean(t == "true")));
    }
    if let Some(inner) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        if !inner.contains('"') {
            return Some((Some(Schema::string()), Value::String(inner.to_string())));
        }
        return None;
    }
    number(t).map(|(s, v)| (Some(s), v))
}

/// Splits on top-level commas, honouring quotes; `None` for nested containers.
fn split_elements(body: &str) -> Option<Vec<&str>> {
    if body.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' | ']' | '{' | '}' if !quoted => return None,
            ',' if !quoted => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    Some(out)
}

/// The common schema of elements: all one type, or numbers widened to the widest.
fn common(schemas: &[Option<Schema>]) -> Option<Schema> {
    let mut result: Option<Schema> = None;
    for s in schemas.iter().flatten() {
        result = Some(match result {
            None => s.clone(),
            Some(r) if r.ty == s.ty => r,
            Some(r) => match (rank(r.ty), rank(s.ty)) {
                (Some(a), Some(b)) => {
                    if a >= b {
                        r
                    } else {
                        s.clone()
                    }
                }
                _ => return None,
            },
        });
    }
    result
}

fn container(text: &str) -> Option<(Schema, Value)> {
    if let Some(body) = text.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let parsed: Vec<_> = split_elements(body)?
            .into_iter()
            .map(element)
            .collect::<Option<_>>()?;
        let schemas: Vec<_> = parsed.iter().map(|(s, _)| s.clone()).collect();
        let items = common(&schemas)?;
        let ty = items.ty;
        let values = parsed.into_iter().map(|(_, v)| widen(v, ty)).collect();
        return Some((Schema::array(items), Value::Array(values)));
    }
    if let Some(body) = text.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let mut keys = Vec::new();
        let mut vals = Vec::new();
        for entry in split_elements(body)? {
            let (k, v) = entry.split_once(':')?;
            keys.push(element(k)?);
            vals.push(element(v)?);
        }
        let ks = common(&keys.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>())?;
        let vs = common(&vals.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>())?;
        let (kt, vt) = (ks.ty, vs.ty);
        let entries = keys
            .into_iter()
            .zip(vals)
            .map(|((_, k), (_, v))| (widen(k, kt), widen(v, vt)))
            .collect();
        return Some((Schema::map(ks, vs), Value::Map(entries)));
    }
    None
}

/// Connect's `Values.parseString` for a header literal: `(None, Null)` for `null`.
pub fn parse_literal(text: &str) -> (Option<Schema>, Value) {
    let string = || (Some(Schema::string()), Value::String(text.to_string()));
    let t = text.trim();
    if t.is_empty() {
        return string();
    }
    if t == "null" {
        return (None, Value::Null);
    }
    if t == "true" || t == "false" {
        return (Some(Schema::boolean()), Value::Boolean(t == "true"));
    }
    // ISO-8601 shapes Connect recognises, by length, parsed leniently in UTC.
    let iso = match t.len() {
        10 => Some(("yyyy-MM-dd", 0)),
        13 => Some(("HH:mm:ss.SSS'Z'", 1)),
        24 => Some(("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", 2)),
        _ => None,
    };
    if let Some((pattern, kind)) = iso {
        if let Some(ms) = java::DateFormat::new(pattern).ok().and_then(|f| f.parse(t)) {
            return match kind {
                0 => (
                    Some(Schema::date()),
                    Value::Int32(ms.div_euclid(86_400_000) as i32),
                ),
                1 => (Some(Schema::time()), Value::Int32(ms as i32)),
                _ => (Some(Schema::timestamp()), Value::Int64(ms)),
            };
        }
    }
    if t.starts_with('[') || t.starts_with('{') {
        return container(t).map_or_else(string, |(s, v)| (Some(s), v));
    }
    // Kafka's tokenizer stops a leading number at `,` or `:` and returns it alone.
    let head = t.split([',', ':']).next().unwrap_or(t);
    match number(head.trim_end()) {
        Some((s, v)) if head == t || !head.ends_with(char::is_whitespace) => (Some(s), v),
        _ => string(),
    }
}

impl Transform for InsertHeader {
    fn spec() -> PluginSpec {
        PluginSpec::new(CLASS, "0.1.0")
            .alias("InsertHeader")
            .description("Add a header to each record.")
            .config(
                ConfigDef::string("header")
                    .required()
                    .importance(Importance::High)
                    .doc("The name of the header."),
            )
            .config(
                ConfigDef::string("value.literal")
                    .required()
                    .importance(Importance::High)
                    .doc("The literal value that is to be set as the header value on all records."),
            )
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let missing =
            |k: &str| format!("Missing required configuration \"{k}\" which has no default value.");
        let header = config
            .get("header")
            .ok_or_else(|| missing("header"))?
            .to_string();
        let literal = config
            .get("value.literal")
            .ok_or_else(|| missing("value.literal"))?;
        let (schema, value) = parse_literal(literal);
        Ok(InsertHeader {
            header,
            schema: schema.map(Schema::into_ref),
            value,
        })
    }
    fn apply(&mut self, mut record: Record) -> Outcome {
        record.headers.push(Header {
            key: self.header.clone(),
            schema: self.schema.clone(),
            value: self.value.clone(),
        });
        Outcome::Keep(record)
    }
}

sluice_plugin_sdk::export_transform!(InsertHeader);

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> (Option<SchemaType>, Value) {
        let (s, v) = parse_literal(text);
        (s.map(|s| s.ty), v)
    }

    #[test]
    fn literals_are_typed_like_connect_values() {
        use SchemaType::*;
        assert_eq!(ty(""), (Some(String), Value::from("")));
        assert_eq!(
            ty("hello world"),
            (Some(String), Value::from("hello world"))
        );
        assert_eq!(ty("true"), (Some(Boolean), Value::Boolean(true)));
        assert_eq!(ty("TRUE"), (Some(String), Value::from("TRUE")));
        assert_eq!(ty("null"), (None, Value::Null));
        assert_eq!(ty("127"), (Some(Int8), Value::Int8(127)));
        assert_eq!(ty("128"), (Some(Int16), Value::Int16(128)));
        assert_eq!(ty("-129"), (Some(Int16), Value::Int16(-129)));
        assert_eq!(ty("32768"), (Some(Int32), Value::Int32(32768)));
        assert_eq!(ty("2147483648"), (Some(Int64), Value::Int64(2_147_483_648)));
        assert_eq!(ty("1.0"), (Some(Int8), Value::Int8(1)));
        assert_eq!(ty("1e3"), (Some(Int16), Value::Int16(1000)));
        assert_eq!(ty("1.5"), (Some(Float32), Value::Float32(1.5)));
        assert_eq!(
            ty("3.4028235E39"),
            (Some(Float64), Value::Float64(3.4028235e39))
        );
        assert_eq!(ty("1,2"), (Some(Int8), Value::Int8(1)));
        assert_eq!(ty("10:11:12"), (Some(Int8), Value::Int8(10)));
        assert_eq!(ty("1 2"), (Some(String), Value::from("1 2")));
        assert_eq!(ty("12abc"), (Some(String), Value::from("12abc")));
        assert_eq!(ty(".5"), (Some(String), Value::from(".5")));
        assert_eq!(ty("2024-01-02"), (Some(Int32), Value::Int32(19724)));
        assert_eq!(ty("10:11:12.123Z"), (Some(Int32), Value::Int32(36_672_123)));
        assert_eq!(
            ty("2024-01-02T10:11:12.123Z"),
            (Some(Int64), Value::Int64(1_704_190_272_123))
        );
        assert_eq!(
            ty("[1, 2.5]"),
            (
                Some(Array),
                Value::Array(vec![Value::Float32(1.0), Value::Float32(2.5)])
            )
        );
        assert_eq!(
            ty("[\"a\",\"b\"]"),
            (
                Some(Array),
                Value::Array(vec![Value::from("a"), Value::from("b")])
            )
        );
        assert_eq!(ty("{\"a\":1,\"b\":2}").0, Some(Map));
        assert_eq!(ty("[1 2]"), (Some(String), Value::from("[1 2]")));
    }

    #[test]
    fn appends_a_header_to_every_record() {
        let cfg = Config::new(vec![
            ("header".into(), "h".into()),
            ("value.literal".into(), "42".into()),
        ]);
        let mut t = InsertHeader::create(CLASS, cfg).unwrap();
        let r = Record::new("t").with_header("h", None, "old");
        let Outcome::Keep(out) = t.apply(r) else {
            panic!()
        };
        assert_eq!(out.headers.len(), 2);
        assert_eq!(out.headers[1].value, Value::Int8(42));
        let Outcome::Keep(out) = t.apply(Record::new("t")) else {
            panic!()
        };
        assert_eq!(out.headers.len(), 1);
        let err = InsertHeader::create(CLASS, Config::new(vec![("header".into(), "h".into())]))
            .err()
            .unwrap();
        assert_eq!(
            err,
            "Missing required configuration \"value.literal\" which has no default value."
        );
    }
}
