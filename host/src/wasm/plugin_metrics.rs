//! The `metrics` import: counters and gauges a plugin defines for its task (Kafka 4.1's
//! plugin metrics, KIP-877), kept in `metrics::plugin` and published by `GET /metrics`.
//!
//! Design decision: a bad name or a counter used as a gauge is the plugin's bug, but a
//! harmless one: it gets a WIT error back (its SDK raises it) instead of a trap that would
//! fail the task. Stores outside a task (`validate`) check the name and keep nothing.

use super::bindings::metrics;
use super::engine::HostState;
use crate::metrics::plugin::check_name;

impl metrics::Host for HostState {
    fn counter_add(&mut self, name: String, delta: u64) -> Result<(), String> {
        match &self.plugin_metrics {
            Some(m) => m.counter_add(&name, delta),
            None => check_name(&name),
        }
    }

    fn gauge_set(&mut self, name: String, value: f64) -> Result<(), String> {
        match &self.plugin_metrics {
            Some(m) => m.gauge_set(&name, value),
            None => check_name(&name),
        }
    }
}
