//! `errors.*`: how a connector's tasks treat a failed record (tolerance, retries, error
//! logging, the sink dead letter queue), parsed into [`ErrorSettings`].
//!
//! Design decision: every key has Kafka's default, so a connector without `errors.*` keys
//! gets Kafka's behaviour (fail on the first error, no retries, no DLQ).

use std::time::Duration;

use super::{bool_key, get};
use crate::spec::{Config, ConfigProblem};

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    None,
    All,
}

/// The parsed `errors.*` keys of a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSettings {
    pub tolerance: Tolerance,
    /// `errors.retry.timeout`: `None` = forever (`-1`).
    pub retry_timeout: Option<Duration>,
    pub retry_max_delay: Duration,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_replication_factor: i32,
    pub dlq_context_headers: bool,
}

impl Default for ErrorSettings {
    fn default() -> Self {
        ErrorSettings {
            tolerance: Tolerance::None,
            retry_timeout: Some(Duration::ZERO),
            retry_max_delay: Duration::from_secs(60),
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication_factor: 3,
            dlq_context_headers: false,
        }
    }
}

fn long_key(raw: &Config, key: &str, default: i64, problems: &mut Vec<ConfigProblem>) -> i64 {
    match get(raw, key).map(str::trim) {
        None | Some("") => default,
        Some(v) => v.parse::<i64>().unwrap_or_else(|_| {
            problems.push(ConfigProblem {
                key: key.into(),
                message: format!(
                    "Invalid value {v} for configuration {key}: Not a number of type LONG"
                ),
            });
            default
        }),
    }
}

impl ErrorSettings {
    /// Parses the `errors.*` keys; returns every problem.
    pub fn from_connector(raw: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let tolerance = match get(raw, "errors.tolerance").map(str::trim) {
            None | Some("") => Tolerance::None,
            Some(v) if v.eq_ignore_ascii_case("none") => Tolerance::None,
            Some(v) if v.eq_ignore_ascii_case("all") => Tolerance::All,
            Some(v) => {
                problems.push(ConfigProblem {
                    key: "errors.tolerance".into(),
                    message: format!("Invalid value {v} for configuration errors.tolerance: String must be one of: none, all"),
                });
                Tolerance::None
            }
        };
        let timeout = long_key(raw, "errors.retry.timeout", 0, &mut problems);
        let max_delay = long_key(raw, "errors.retry.delay.max.ms", 60_000, &mut problems);
        if max_delay < 1 {
            problems.push(ConfigProblem {
                key: "errors.retry.delay.max.ms".into(),
                message: format!("Invalid value {max_delay} for configuration errors.retry.delay.max.ms: Value must be at least 1"),
            });
        }
        let rf = long_key(
            raw,
            "errors.deadletterqueue.topic.replication.factor",
            3,
            &mut problems,
        );
        let settings = ErrorSettings {
            tolerance,
            retry_timeout: (timeout >= 0).then(|| Duration::from_millis(timeout as u64)),
            retry_max_delay: Duration::from_millis(max_delay.max(1) as u64),
            log_enable: bool_key(raw, "errors.log.enable", &mut problems),
            log_include_messages: bool_key(raw, "errors.log.include.messages", &mut problems),
            dlq_topic: get(raw, "errors.deadletterqueue.topic.name")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            dlq_replication_factor: if rf == -1 { 1 } else { rf as i32 },
            dlq_context_headers: bool_key(
                raw,
                "errors.deadletterqueue.context.headers.enable",
                &mut problems,
            ),
        };
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    #[test]
    fn defaults_and_parsing() {
        assert_eq!(
            ErrorSettings::from_connector(&cfg(&[])).expect("valid"),
            ErrorSettings::default()
        );
        let s = ErrorSettings::from_connector(&cfg(&[
            ("errors.tolerance", "all"),
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "1000"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", " dlq "),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ]))
        .expect("valid");
        assert_eq!(s.tolerance, Tolerance::All);
        assert_eq!(s.retry_timeout, None);
        assert_eq!(s.retry_max_delay, Duration::from_millis(1000));
        assert!(s.log_enable && s.dlq_context_headers && !s.log_include_messages);
        assert_eq!(s.dlq_topic.as_deref(), Some("dlq"));
        assert_eq!(s.dlq_replication_factor, 1);
        let bad = ErrorSettings::from_connector(&cfg(&[
            ("errors.tolerance", "some"),
            ("errors.retry.timeout", "x"),
        ]))
        .expect_err("invalid");
        assert_eq!(bad.len(), 2);
        assert!(
            bad[0].message.contains("String must be one of: none, all"),
            "{bad:?}"
        );
        assert!(bad[1].message.contains("errors.retry.timeout"), "{bad:?}");
    }
}
