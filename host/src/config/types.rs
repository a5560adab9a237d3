//! Kafka's `ConfigDef` value parsing (`ConfigDef.parseType`), with Kafka's messages, so a
//! config that Kafka Connect rejects is rejected here with the same words.
//!
//! Numbers and booleans are trimmed before parsing, as Kafka does; secrets are shown as
//! `[hidden]` in every message.

use super::get;
use crate::spec::{Config, ConfigProblem, ConfigType};

/// Kafka's `ConfigException(name, value, message)`: `key` does not accept a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid value {shown} for configuration {key}: {why}")]
pub struct InvalidValue {
    pub key: String,
    /// The value as given, or `[hidden]` for a secret.
    pub shown: String,
    /// What is accepted instead.
    pub why: String,
}

impl InvalidValue {
    pub fn new(key: &str, value: &str, secret: bool, why: &str) -> Self {
        InvalidValue {
            key: key.to_string(),
            shown: if secret { "[hidden]" } else { value }.to_string(),
            why: why.to_string(),
        }
    }
}

/// [`InvalidValue`]'s text, for a problem message.
pub fn invalid_value(key: &str, value: &str, secret: bool, why: &str) -> String {
    InvalidValue::new(key, value, secret, why).to_string()
}

/// Parses a LONG the way Kafka does (trimmed, optional sign).
pub fn parse_long(key: &str, value: &str) -> Result<i64, InvalidValue> {
    value.trim().parse::<i64>().map_err(|_| {
        InvalidValue::new(
            key,
            value,
            false,
            "Not a number of type LONG (expected a long, e.g. 60000)",
        )
    })
}

/// Parses an INT the way Kafka does (trimmed, optional sign).
pub fn parse_int(key: &str, value: &str) -> Result<i32, InvalidValue> {
    value
        .trim()
        .parse::<i32>()
        .map_err(|_| InvalidValue::new(key, value, false, "Not a number of type INT"))
}

/// Checks that `value` parses as `ty`; the error is Kafka's message.
pub fn check_type(
    key: &str,
    value: &str,
    ty: ConfigType,
    secret: bool,
) -> Result<(), InvalidValue> {
    let secret = secret || ty == ConfigType::Password;
    let trimmed = value.trim();
    let ok = match ty {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
                true
            } else {
                return Err(InvalidValue::new(
                    key,
                    value,
                    secret,
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::Int => trimmed.parse::<i32>().is_ok(),
        ConfigType::Short => trimmed.parse::<i16>().is_ok(),
        ConfigType::Long => trimmed.parse::<i64>().is_ok(),
        ConfigType::Double => trimmed.parse::<f64>().is_ok(),
        ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => true,
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            key,
            value,
            secret,
            &format!("Not a number of type {}", ty.rest_name()),
        ))
    }
}

/// A BOOLEAN key that defaults to `false`; a value that is neither is reported with Kafka's
/// message (and read as `false`).
pub(super) fn bool_key(raw: &Config, key: &str, problems: &mut Vec<ConfigProblem>) -> bool {
    match get(raw, key).map(str::trim) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            problems.push(ConfigProblem {
                key: key.into(),
                message: format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"),
            });
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_trimmed_and_signed_like_java() {
        assert_eq!(parse_long("k", " +42 "), Ok(42));
        assert_eq!(parse_long("k", "-7"), Ok(-7));
        assert_eq!(parse_int("k", "2147483647"), Ok(i32::MAX));
        assert!(check_type("k", " true ", ConfigType::Boolean, false).is_ok());
        assert!(check_type("k", "FALSE", ConfigType::Boolean, false).is_ok());
        assert!(check_type("k", "1.5e3", ConfigType::Double, false).is_ok());
        assert!(check_type("k", "anything", ConfigType::List, false).is_ok());
    }

    #[test]
    fn messages_use_kafka_wording() {
        assert_eq!(
            check_type("batch.size", "ten", ConfigType::Int, false).map_err(|e| e.to_string()),
            Err("Invalid value ten for configuration batch.size: Not a number of type INT".into())
        );
        assert_eq!(
            check_type("s", "40000", ConfigType::Short, false).map_err(|e| e.to_string()),
            Err("Invalid value 40000 for configuration s: Not a number of type SHORT".into())
        );
        assert_eq!(
            check_type("flag", "yes", ConfigType::Boolean, false).map_err(|e| e.to_string()),
            Err("Invalid value yes for configuration flag: Expected value to be either true or false"
                .into())
        );
        let long = parse_long("offset.flush.interval.ms", "1m")
            .expect_err("must fail")
            .to_string();
        assert!(
            long.contains("Invalid value 1m for configuration offset.flush.interval.ms"),
            "{long}"
        );
        assert!(long.contains("expected a long"), "{long}");
    }

    #[test]
    fn secrets_are_hidden() {
        let e = check_type("password.num", "hunter2", ConfigType::Int, true)
            .expect_err("must fail")
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("[hidden]"), "{e}");
        let e = check_type("p", "hunter2", ConfigType::Password, false);
        assert!(e.is_ok(), "passwords are not parsed");
    }
}
