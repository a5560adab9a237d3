//! [`Problems`]: collects every problem of one pass over a config, so a plugin's `validate`
//! reports them all at once (the house rule), and the checks every connector repeats — a
//! choice among names, a number in a range — are written once.
//!
//! ```
//! use sluice_plugin_sdk::{Config, ConfigDef, Problems};
//!
//! #[derive(Clone, Copy, Debug, PartialEq)]
//! enum OnError { Fail, Log }
//!
//! let defs = [ConfigDef::string("behavior.on.error").default("fail"), ConfigDef::int("max.retries")];
//! let config = Config::from_pairs(&[("max.retries", "-1")], &defs);
//! let mut p = Problems::new();
//! let on_error = p.choice(&config, "behavior.on.error", &[("fail", OnError::Fail), ("log", OnError::Log)]);
//! let retries = p.int_in(&config, "max.retries", 0..=100, 10);
//! assert_eq!(on_error, OnError::Fail);
//! let problems = p.finish(()).unwrap_err();
//! assert_eq!(problems[0].message, "-1 is outside [0, 100]");
//! # let _ = retries;
//! ```

use std::ops::RangeInclusive;

use crate::config::{Config, ConfigError, ConfigProblem};

/// The problems found so far, in the order the keys were checked.
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigProblem>);

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    /// Records a problem with `key`. Never quote a secret's value in `message`.
    pub fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// The value of a typed read, or `None` with its error recorded.
    pub fn take<T>(&mut self, read: Result<T, ConfigError>) -> Option<T> {
        read.map_err(|e| self.0.push(e.into())).ok()
    }

    /// The option `key` names (case-insensitive, trimmed); the first option, with a problem
    /// listing the accepted names, when it names none.
    pub fn choice<T: Copy>(&mut self, config: &Config, key: &str, options: &[(&str, T)]) -> T {
        let value = config.get(key).unwrap_or("").trim().to_ascii_lowercase();
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == value) {
            return *v;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.add(
            key,
            format!(
                "'{value}' is not accepted; use one of: {}",
                names.join(", ")
            ),
        );
        options[0].1
    }

    /// The integer `key` holds within `range`, or `default` when it is unset; `default`, with
    /// a problem, when it is not an integer or outside the range.
    pub fn int_in(
        &mut self,
        config: &Config,
        key: &str,
        range: RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        match self.take(config.optional_int(key)).flatten() {
            Some(v) if !range.contains(&v) => {
                self.add(
                    key,
                    format!("{v} is outside [{}, {}]", range.start(), range.end()),
                );
                default
            }
            Some(v) => v,
            None => default,
        }
    }

    /// Whether a problem with `key` was recorded.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|p| p.key == key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when no problem was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<ConfigProblem>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}
