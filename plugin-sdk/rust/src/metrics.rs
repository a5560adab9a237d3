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
//!
//! Counting per record is cheap: the first `counter_add` of a name goes to the host (which
//! checks it and answers any error), later ones add up inside the plugin and reach the host
//! once, when the batch call (`apply`, `poll`, `put`, …) returns. A plugin never pays a
//! WASM-to-host call per record for its counters.

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
        let pending = PENDING.with_borrow_mut(|p| match p.iter_mut().find(|(n, _)| n == name) {
            Some((_, d)) => {
                *d = d.saturating_add(delta);
                true
            }
            None => false,
        });
        if pending {
            return Ok(());
        }
        // A name's first use: the host checks it (rules, counter or gauge, the 64-name
        // limit) and only an accepted counter is accumulated from here on.
        crate::bindings::plugin_world::sluice::connect::metrics::counter_add(name, delta)
            .map_err(MetricError)?;
        PENDING.with_borrow_mut(|p| p.push((name.to_owned(), 0)));
        Ok(())
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

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// Counters the host accepted, with the increments it has not been sent yet. At most 64
    /// entries (the host's limit per task), so a linear search beats hashing.
    static PENDING: std::cell::RefCell<Vec<(String, u64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Sends the accumulated counter increments when dropped: the SDK holds one over each call
/// the host makes into the plugin, so the counts are published once per batch.
pub(crate) struct FlushOnReturn;

impl Drop for FlushOnReturn {
    fn drop(&mut self) {
        #[cfg(target_arch = "wasm32")]
        PENDING.with_borrow_mut(|p| {
            for (name, delta) in p.iter_mut().filter(|(_, d)| *d > 0) {
                // The host accepted this counter on its first use, so it cannot refuse it now.
                let _ = crate::bindings::plugin_world::sluice::connect::metrics::counter_add(
                    name, *delta,
                );
                *delta = 0;
            }
        });
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
