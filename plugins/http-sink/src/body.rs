//! Request bodies and URLs: a record's value as text (Connect's `toString()` or
//! JsonConverter's JSON), records joined into one body (`batch.prefix` + values separated by
//! `batch.separator` + `batch.suffix`, or a JSON array), and `${topic}` / `${key}` in the URL.

use sluice_plugin_sdk::json::{write_json, JsonOptions};
use sluice_plugin_sdk::{Record, Value};

use crate::config::{BodyFormat, HttpSinkConfig};

/// A record value as text, as Confluent's sink puts it in a body.
pub fn render_value(record: &Record, format: BodyFormat) -> Result<Vec<u8>, String> {
    match format {
        BodyFormat::String => Ok(match &record.value {
            Value::String(s) => s.as_bytes().to_vec(),
            // Bytes: as text (what a ByteArrayConverter record sent to a web API usually is).
            Value::Bytes(b) => b.clone(),
            other => java_string(other).into_bytes(),
        }),
        BodyFormat::Json => {
            let mut out = Vec::new();
            write_json(
                &mut out,
                record.value_schema.as_deref(),
                &record.value,
                JsonOptions::default(),
            )?;
            Ok(out)
        }
    }
}

/// Connect's `toString()` of a value: `Struct{a=1,b=x}` (null fields left out), Java's
/// `{k=v, k2=v2}` maps and `[a, b]` lists, Java's number formats.
pub fn java_string(value: &Value) -> String {
    let mut out = String::new();
    write_java(&mut out, value);
    out
}

fn write_java(out: &mut String, value: &Value) {
    use sluice_plugin_sdk::java::{double_to_string, float_to_string};
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => out.push_str(&float_to_string(*v)),
        Value::Float64(v) => out.push_str(&double_to_string(*v)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(out, k);
                out.push('=');
                write_java(out, v);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push_str("Struct{");
            let mut first = true;
            for (name, v) in s.iter() {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(name);
                out.push('=');
                write_java(out, v);
            }
            out.push('}');
        }
    }
}

/// One request body from rendered values.
pub fn batch_body(values: &[Vec<u8>], config: &HttpSinkConfig) -> Vec<u8> {
    let (prefix, separator, suffix) = if config.json_as_array {
        ("[", ",", "]")
    } else {
        (
            config.prefix.as_str(),
            config.separator.as_str(),
            config.suffix.as_str(),
        )
    };
    let len = values.iter().map(Vec::len).sum::<usize>()
        + prefix.len()
        + suffix.len()
        + separator.len() * values.len().saturating_sub(1);
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(prefix.as_bytes());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(separator.as_bytes());
        }
        body.extend_from_slice(v);
    }
    body.extend_from_slice(suffix.as_bytes());
    body
}

/// The URL for a record: `${topic}` and `${key}` replaced, percent-encoded.
pub fn record_url(template: &str, record: &Record) -> String {
    if !template.contains("${") {
        return template.to_string();
    }
    let key = match &record.key {
        Value::Null => String::new(),
        other => java_string(other),
    };
    template
        .replace("${topic}", &percent_encode(&record.topic))
        .replace("${key}", &percent_encode(&key))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{compile, defs};
    use sluice_plugin_sdk::{Config, Schema, Struct};

    fn config(pairs: &[(&str, &str)]) -> HttpSinkConfig {
        let mut all = vec![("http.api.url", "http://api/x")];
        all.extend_from_slice(pairs);
        compile(&Config::from_pairs(&all, &defs())).unwrap()
    }

    fn user(id: i64, name: Option<&str>) -> Record {
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("name", Schema::string().optional())
            .build_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", id).unwrap();
        if let Some(n) = name {
            s.put("name", n).unwrap();
        }
        let mut r = Record::new("users");
        r.value_schema = Some(schema);
        r.value = Value::Struct(s);
        r
    }

    #[test]
    fn values_render_as_connects_to_string_or_as_json() {
        let r = user(7, Some("Ann \"A\""));
        assert_eq!(
            render_value(&r, BodyFormat::String).unwrap(),
            b"Struct{id=7,name=Ann \"A\"}"
        );
        assert_eq!(
            render_value(&user(8, None), BodyFormat::String).unwrap(),
            b"Struct{id=8}"
        );
        assert_eq!(
            render_value(&r, BodyFormat::Json).unwrap(),
            br#"{"id":7,"name":"Ann \"A\""}"#
        );
        let mut m = Record::new("t");
        m.value = Value::Map(vec![
            (Value::from("a"), Value::Float64(1.0)),
            (
                Value::from("b"),
                Value::Array(vec![Value::Int32(1), Value::Null]),
            ),
        ]);
        assert_eq!(java_string(&m.value), "{a=1.0, b=[1, null]}");
        assert_eq!(
            render_value(&m, BodyFormat::Json).unwrap(),
            br#"{"a":1.0,"b":[1,null]}"#
        );
        let s = Record::new("t").with_value(None, "plain text");
        assert_eq!(render_value(&s, BodyFormat::String).unwrap(), b"plain text");
    }

    #[test]
    fn bodies_join_values_with_prefix_separator_and_suffix_or_as_a_json_array() {
        let values = vec![b"{\"a\":1}".to_vec(), b"{\"a\":2}".to_vec()];
        let c = config(&[("batch.prefix", "{\"items\":["), ("batch.suffix", "]}")]);
        assert_eq!(
            String::from_utf8(batch_body(&values, &c)).unwrap(),
            r#"{"items":[{"a":1},{"a":2}]}"#
        );
        let c = config(&[("batch.separator", "\n")]);
        assert_eq!(batch_body(&values, &c), b"{\"a\":1}\n{\"a\":2}");
        let c = config(&[
            ("request.body.format", "json"),
            ("batch.json.as.array", "true"),
            ("batch.prefix", "ignored"),
        ]);
        assert_eq!(batch_body(&values, &c), br#"[{"a":1},{"a":2}]"#);
        assert_eq!(batch_body(&values[..1], &c), br#"[{"a":1}]"#);
        // An array only with JSON bodies (Confluent ignores the key otherwise).
        let c = config(&[("batch.json.as.array", "true")]);
        assert_eq!(batch_body(&values, &c), b"{\"a\":1},{\"a\":2}");
    }

    #[test]
    fn urls_take_the_records_topic_and_key() {
        let r = Record::new("orders")
            .with_key(None, "a/b c")
            .with_value(None, "v");
        assert_eq!(
            record_url("http://api/${topic}/items/${key}?src=${topic}", &r),
            "http://api/orders/items/a%2Fb%20c?src=orders"
        );
        assert_eq!(record_url("http://api/x", &r), "http://api/x");
    }
}
