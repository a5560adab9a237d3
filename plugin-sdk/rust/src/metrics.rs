//! Metrics of the plugin's own (like Kafka 4.1's plugin metrics, KIP-877): counters and gauges
//! of the calling task, published on the worker's `GET /metrics` as
//! `kafka_connect_plugins_<name>{connector,task}` (a counter with `_total` appended).
//!
//! ```
//! use sluice_plugin_sdk::metrics;
//!
//! # fn main() -> Result<(), metrics::MetricError> {
//! metrics::counter_add("rows_masked", 3)?;
//! metrics::gauge_set("lookup_cache_entries", 120.0)?;
//! # Ok(())
//! # }
//! ```
//!
//! A name is 1 to 64 characters `a-z`, `0-9` and `_`, starting with a letter; it is a counter
//! or a gauge, never both; a task may define at most 64 names. A plugin's transforms in the
//! same task share its names. Breaking these rules returns a [`MetricError`] (the host's
//! message) and changes nothing; the task keeps running.
//!
//! On a non-wasm target (unit tests of plugin logic) there is no host: the name is checked
//! the same way and the value is kept nowhere.

use std::fmt;

/// Why the host refused a metric update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricError(pub String);

impl fmt::Display for MetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MetricError {}

/// Adds `delta` to the counter `name` of this task (created at 0 on first use).
pub fn counter_add(name: &str, delta: u64) -> Result<(), MetricError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::plugin_world::sluice::connect::metrics::counter_add(name, delta)
            .map_err(MetricError)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = delta;
        check_name(name)
    }
}

/// Sets the gauge `name` of this task to `value`.
pub fn gauge_set(name: &str, value: f64) -> Result<(), MetricError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::plugin_world::sluice::connect::metrics::gauge_set(name, value)
            .map_err(MetricError)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = value;
        check_name(name)
    }
}

/// The host's name rule, for native builds.
#[cfg(not(target_arch = "wasm32"))]
fn check_name(name: &str) -> Result<(), MetricError> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(MetricError(format!(
            "invalid metric name {name:?}: use 1 to 64 characters a-z, 0-9 and _, starting \
             with a letter"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_the_host_does() {
        assert_eq!(counter_add("rows_masked", 1), Ok(()));
        assert_eq!(gauge_set("depth2", 0.5), Ok(()));
        let e = counter_add("Rows", 1).expect_err("upper case");
        assert!(
            e.to_string().starts_with("invalid metric name \"Rows\""),
            "{e}"
        );
    }
}
