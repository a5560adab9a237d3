//! Request bodies: JSON parsing with precise 4xx messages (never a 500 for bad input), and
//! Kafka's config-map coercion.
//!
//! The decision to know: like Kafka's Jackson mapping of `Map<String,String>`, a config value
//! may be a JSON string, number or boolean (`"tasks.max": 2` is accepted and stored as "2");
//! objects and arrays are refused, and `null` only means something in PATCH (remove the key).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value as JsonValue};

use super::ApiError;

/// Largest accepted request body. Connector configs are a few KiB; this leaves ample room.
pub(super) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body as JSON. An unreadable or oversized body keeps its own status (413 etc.) with a
/// JSON error body; a syntax error is a 400 naming line and column.
pub(super) fn json(body: Result<Bytes, BytesRejection>) -> Result<JsonValue, ApiError> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("Request body is larger than the limit of {MAX_BODY_BYTES} bytes")
        } else {
            format!("Cannot read the request body: {}", r.body_text())
        };
        ApiError::new(status, message)
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_request("Request body is empty; expected a JSON object"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| bad_request(format!("Request body is not valid JSON: {e}")))
}

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// A JSON value's kind, for messages.
pub(super) fn kind(v: &JsonValue) -> &'static str {
    match v {
        JsonValue::Null => "null",
        JsonValue::Bool(_) => "a boolean",
        JsonValue::Number(_) => "a number",
        JsonValue::String(_) => "a string",
        JsonValue::Array(_) => "an array",
        JsonValue::Object(_) => "an object",
    }
}

/// `what` (e.g. "The request body") must be a JSON object.
pub(super) fn object<'a>(
    v: &'a JsonValue,
    what: &str,
) -> Result<&'a Map<String, JsonValue>, ApiError> {
    v.as_object().ok_or_else(|| {
        bad_request(format!(
            "{what} must be a JSON object of string keys and values, not {}",
            kind(v)
        ))
    })
}

/// A config map's entries in order; `None` values are JSON nulls (PATCH removals), refused
/// unless `allow_null`.
pub(super) fn config_entries(
    map: &Map<String, JsonValue>,
    allow_null: bool,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let value = match v {
            JsonValue::String(s) => Some(s.clone()),
            JsonValue::Number(n) => Some(n.to_string()),
            JsonValue::Bool(b) => Some(b.to_string()),
            JsonValue::Null if allow_null => None,
            other => {
                let accepted = if allow_null {
                    "a string, number, boolean or null (null removes the key)"
                } else {
                    "a string, number or boolean"
                };
                return Err(bad_request(format!(
                    "Config value of {k:?} is {}; expected {accepted}",
                    kind(other)
                )));
            }
        };
        out.push((k.clone(), value));
    }
    Ok(out)
}

/// A full config map (no nulls).
pub(super) fn config(map: &Map<String, JsonValue>) -> Result<Vec<(String, String)>, ApiError> {
    Ok(config_entries(map, false)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// Kafka's name check: a `name` in the config must equal the connector's name; a missing one
/// is added.
pub(super) fn check_and_put_name(
    name: &str,
    config: &mut Vec<(String, String)>,
) -> Result<(), ApiError> {
    match config.iter().rev().find(|(k, _)| k == "name") {
        Some((_, included)) if included != name => Err(bad_request(format!(
            "Connector name configuration ({included}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.push(("name".into(), name.into()));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_values_are_coerced_like_jackson() {
        let v = json!({"a": "x", "b": 2, "c": true, "d": 1.5});
        let got = config(v.as_object().expect("object")).expect("valid");
        let expected: Vec<(String, String)> = [("a", "x"), ("b", "2"), ("c", "true"), ("d", "1.5")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, expected);
        let e = config(json!({"k": {"x": 1}}).as_object().expect("object")).expect_err("object");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "Config value of \"k\" is an object; expected a string, number or boolean"
        );
        assert!(config(json!({"k": null}).as_object().expect("o")).is_err());
        let patch = config_entries(json!({"k": null}).as_object().expect("o"), true).expect("ok");
        assert_eq!(patch, vec![("k".to_string(), None)]);
    }

    #[test]
    fn name_checks_and_encoding() {
        let mut c = vec![("name".to_string(), "other".to_string())];
        let e = check_and_put_name("mine", &mut c).expect_err("mismatch");
        assert_eq!(
            e.message,
            "Connector name configuration (other) doesn't match connector name in the URL (mine)"
        );
        let mut c = Vec::new();
        check_and_put_name("mine", &mut c).expect("added");
        assert_eq!(c, vec![("name".to_string(), "mine".to_string())]);
    }

    #[test]
    fn bad_json_is_a_400_with_the_position() {
        let e = json(Ok(Bytes::from_static(b"{\"a\": "))).expect_err("bad");
        assert_eq!(e.status, 400);
        assert!(
            e.message.starts_with("Request body is not valid JSON: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("line 1 column 6"), "{}", e.message);
        let e = json(Ok(Bytes::from_static(b"  "))).expect_err("empty");
        assert_eq!(e.message, "Request body is empty; expected a JSON object");
    }
}
