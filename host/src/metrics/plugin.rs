//! Metrics plugins define themselves (the `metrics` WIT import, like Kafka 4.1's plugin
//! metrics, KIP-877): named counters and gauges per task, published by `GET /metrics` as
//! `kafka_connect_plugins_<name>{connector,task}`.
//!
//! Design decision: as with [`super::memory`], a process-wide list of weak handles, one
//! [`PluginMetrics`] per (connector, task) shared by every WebAssembly store of the task (its
//! plugin and each transform). The stores hold the handle; when the task's last store is
//! dropped its metrics disappear from the scrape, with no unregistering. A plugin pays one
//! short mutex per call, and only when it calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

/// Most distinct names one task may define (a plugin must not grow the scrape without bound).
pub const MAX_NAMES: usize = 64;
/// Longest metric name.
pub const MAX_NAME_LEN: usize = 64;

/// One plugin-defined value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Counter(u64),
    Gauge(f64),
}

/// The plugin-defined metrics of one task.
#[derive(Debug)]
pub struct PluginMetrics {
    pub connector: String,
    pub task: u32,
    values: Mutex<BTreeMap<String, Value>>,
}

/// Checks a metric name: what the WIT interface documents (so the published series name is a
/// valid Prometheus name under any prefix).
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name.len() <= MAX_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid metric name {name:?}: use 1 to {MAX_NAME_LEN} characters a-z, 0-9 and _, \
             starting with a letter"
        ))
    }
}

impl PluginMetrics {
    /// Adds `delta` to the counter `name`.
    pub fn counter_add(&self, name: &str, delta: u64) -> Result<(), String> {
        self.update(name, "counter", Value::Counter(delta), |v| match v {
            Value::Counter(n) => {
                *n = n.saturating_add(delta);
                true
            }
            Value::Gauge(_) => false,
        })
    }

    /// Sets the gauge `name`.
    pub fn gauge_set(&self, name: &str, value: f64) -> Result<(), String> {
        self.update(name, "gauge", Value::Gauge(value), |v| match v {
            Value::Gauge(g) => {
                *g = value;
                true
            }
            Value::Counter(_) => false,
        })
    }

    fn update(
        &self,
        name: &str,
        kind: &str,
        initial: Value,
        apply: impl FnOnce(&mut Value) -> bool,
    ) -> Result<(), String> {
        let mut values = self.values.lock();
        match values.get_mut(name) {
            Some(v) => {
                if apply(v) {
                    Ok(())
                } else {
                    let other = if kind == "counter" {
                        "gauge"
                    } else {
                        "counter"
                    };
                    Err(format!("metric {name:?} is a {other}, not a {kind}"))
                }
            }
            None => {
                check_name(name)?;
                if values.len() >= MAX_NAMES {
                    return Err(format!(
                        "this task already defines {MAX_NAMES} metrics, the most it may; \
                         {name:?} is one too many"
                    ));
                }
                values.insert(name.to_string(), initial);
                Ok(())
            }
        }
    }

    /// The current values, by name.
    pub fn values(&self) -> BTreeMap<String, Value> {
        self.values.lock().clone()
    }
}

static TASKS: Mutex<Vec<Weak<PluginMetrics>>> = Mutex::new(Vec::new());

/// The metrics of task `task` of `connector`: the live ones when another store of the task
/// holds them, else new ones.
pub fn for_task(connector: &str, task: u32) -> Arc<PluginMetrics> {
    let mut tasks = TASKS.lock();
    tasks.retain(|w| w.strong_count() > 0);
    if let Some(live) = tasks
        .iter()
        .filter_map(Weak::upgrade)
        .find(|m| m.connector == connector && m.task == task)
    {
        return live;
    }
    let m = Arc::new(PluginMetrics {
        connector: connector.to_string(),
        task,
        values: Mutex::default(),
    });
    tasks.push(Arc::downgrade(&m));
    m
}

/// Every live task's plugin metrics.
pub fn all() -> Vec<Arc<PluginMetrics>> {
    TASKS.lock().iter().filter_map(Weak::upgrade).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_of_one_task_are_shared_by_its_stores_and_checked() {
        let plugin = for_task("plugin-metrics-test", 0);
        let transform = for_task("plugin-metrics-test", 0);
        plugin.counter_add("rows", 2).expect("new counter");
        transform.counter_add("rows", 3).expect("same counter");
        plugin.gauge_set("queue_depth", 1.5).expect("gauge");
        assert_eq!(
            plugin.values().into_iter().collect::<Vec<_>>(),
            vec![
                ("queue_depth".to_string(), Value::Gauge(1.5)),
                ("rows".to_string(), Value::Counter(5)),
            ]
        );
        assert_eq!(
            plugin.gauge_set("rows", 1.0),
            Err("metric \"rows\" is a counter, not a gauge".to_string())
        );
        for bad in ["", "Rows", "9lives", "a-b", "x".repeat(65).as_str()] {
            let e = plugin.counter_add(bad, 1).expect_err(bad);
            assert!(e.starts_with("invalid metric name"), "{e}");
        }
        for i in 2..MAX_NAMES {
            plugin
                .counter_add(&format!("m{i}"), 1)
                .expect("within the limit");
        }
        let e = plugin
            .counter_add("one_more", 1)
            .expect_err("over the limit");
        assert!(e.contains("already defines 64 metrics"), "{e}");
        assert!(all().iter().any(|m| m.connector == "plugin-metrics-test"));
        drop((plugin, transform));
        assert!(!all().iter().any(|m| m.connector == "plugin-metrics-test"));
    }
}
