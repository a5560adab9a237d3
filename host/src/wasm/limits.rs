//! Per-connector sandbox limits: the reserved `wasm.*` config keys (including the network
//! allow-lists `wasm.network.allow*`, parsed by `network.rs`), their validation, the store's
//! memory limiter, and the size check on what a plugin returns.
//!
//! Design decision: limits are ordinary connector config keys under the reserved `wasm.`
//! prefix, read by the wasm layer from the config it is handed (`validate`, `task-configs`,
//! `open_*`) and **stripped before the plugin sees the config** — a plugin cannot read, let
//! alone change, its own limits. `task-configs` re-attaches the connector's `wasm.*` keys to
//! every task config the plugin returns, so each task runs under its connector's limits.
//! Every breach names the key and its value (`plugin exceeded wasm.call.timeout.ms=2000 in
//! poll`), so the FAILED trace says which knob to turn.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::bindings::types as wit;
use super::engine::{Limits, Owner};
use super::network::{
    NetworkPolicy, Proto, HTTP_MAX_CONCURRENT_KEY, HTTP_REQUEST_MAX_KEY, HTTP_RESPONSE_MAX_KEY,
    HTTP_TIMEOUT_KEY, HTTP_TLS_INSECURE_KEY, NETWORK_KEY, NETWORK_UDP_KEY,
};
use crate::metrics::memory::StoreMemory;
use crate::spec::{Config, ConfigProblem};

/// The prefix reserved for host-side sandbox settings; never passed to a plugin.
pub const RESERVED_PREFIX: &str = "wasm.";
/// Maximum linear memory of one plugin instance, in bytes.
pub const MEMORY_KEY: &str = "wasm.memory.max.bytes";
/// Maximum wall time of one call into the plugin, in milliseconds.
pub const TIMEOUT_KEY: &str = "wasm.call.timeout.ms";
/// Maximum (estimated) size of what one call may return, in bytes.
pub const OUTPUT_KEY: &str = "wasm.output.max.bytes";

const MEMORY_RANGE: (u64, u64) = (1 << 20, 4 << 30);
const TIMEOUT_RANGE: (u64, u64) = (10, 3_600_000);
const OUTPUT_RANGE: (u64, u64) = (1 << 10, 4 << 30);
const HTTP_TIMEOUT_RANGE: (u64, u64) = (10, 3_600_000);
const HTTP_BODY_RANGE: (u64, u64) = (0, 4 << 30);
const HTTP_CONCURRENT_RANGE: (u64, u64) = (1, 1024);

/// Splits `config` into what the plugin may see and the reserved `wasm.*` entries.
pub(crate) fn split(config: &Config) -> (Config, Config) {
    config
        .iter()
        .cloned()
        .partition(|(k, _)| !k.starts_with(RESERVED_PREFIX))
}

impl Limits {
    /// These limits (the worker's defaults) overridden by the `wasm.*` keys in `config`.
    /// Every bad key is reported, each naming the key, the value and what is accepted.
    pub fn with_config(&self, config: &Config) -> Result<Limits, Vec<ConfigProblem>> {
        let mut limits = self.clone();
        let mut problems = Vec::new();
        for (key, value) in config
            .iter()
            .filter(|(k, _)| k.starts_with(RESERVED_PREFIX))
        {
            let range = match key.as_str() {
                MEMORY_KEY => MEMORY_RANGE,
                TIMEOUT_KEY => TIMEOUT_RANGE,
                OUTPUT_KEY => OUTPUT_RANGE,
                HTTP_TIMEOUT_KEY => HTTP_TIMEOUT_RANGE,
                HTTP_REQUEST_MAX_KEY | HTTP_RESPONSE_MAX_KEY => HTTP_BODY_RANGE,
                HTTP_MAX_CONCURRENT_KEY => HTTP_CONCURRENT_RANGE,
                HTTP_TLS_INSECURE_KEY => {
                    match value.trim().to_ascii_lowercase().as_str() {
                        "true" => limits.http.tls_insecure = true,
                        "false" => limits.http.tls_insecure = false,
                        _ => problems.push(ConfigProblem {
                            key: key.clone(),
                            message: format!(
                                "invalid value `{value}` for `{key}`: use true or false"
                            ),
                        }),
                    }
                    continue;
                }
                NETWORK_KEY | NETWORK_UDP_KEY => {
                    let proto = if key == NETWORK_KEY {
                        Proto::Tcp
                    } else {
                        Proto::Udp
                    };
                    // A worker default never leaks into a connector that sets its own list.
                    let mut policy = NetworkPolicy::default();
                    match policy.add(proto, value) {
                        Ok(()) => limits.network.replace(proto, policy),
                        Err(invalid) => problems.push(ConfigProblem {
                            key: key.clone(),
                            message: invalid.to_string(),
                        }),
                    }
                    continue;
                }
                _ => {
                    problems.push(ConfigProblem {
                        key: key.clone(),
                        message: format!(
                            "unknown sandbox setting `{key}`: keys starting with `{RESERVED_PREFIX}` are reserved for the host; \
                             use {MEMORY_KEY}, {TIMEOUT_KEY}, {OUTPUT_KEY}, {NETWORK_KEY}, {NETWORK_UDP_KEY}, \
                             {HTTP_TIMEOUT_KEY}, {HTTP_REQUEST_MAX_KEY}, {HTTP_RESPONSE_MAX_KEY}, {HTTP_MAX_CONCURRENT_KEY} or {HTTP_TLS_INSECURE_KEY}"
                        ),
                    });
                    continue;
                }
            };
            let parsed = value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (range.0..=range.1).contains(n));
            let Some(n) = parsed else {
                problems.push(ConfigProblem {
                    key: key.clone(),
                    message: format!(
                        "invalid value `{value}` for `{key}`: use a whole number from {} to {}",
                        range.0, range.1
                    ),
                });
                continue;
            };
            let bytes = usize::try_from(n).unwrap_or(usize::MAX);
            match key.as_str() {
                MEMORY_KEY => limits.memory_bytes = bytes,
                TIMEOUT_KEY => limits.call_timeout = Duration::from_millis(n),
                OUTPUT_KEY => limits.output_bytes = bytes,
                HTTP_TIMEOUT_KEY => limits.http.timeout = Duration::from_millis(n),
                HTTP_REQUEST_MAX_KEY => limits.http.request_max_bytes = n,
                HTTP_RESPONSE_MAX_KEY => limits.http.response_max_bytes = n,
                _ => limits.http.max_concurrent = bytes,
            }
        }
        if problems.is_empty() {
            Ok(limits)
        } else {
            Err(problems)
        }
    }

    pub(crate) fn timeout_ms(&self) -> u128 {
        self.call_timeout.as_millis()
    }
}

/// All problems as one message (for `open_*`, where there is no problem list to return).
pub(crate) fn describe_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The store's `ResourceLimiter`: wasmtime's `StoreLimits` for tables and instance counts,
/// plus a memory limit that *remembers* a breach, so the trap can be reported as "exceeded
/// wasm.memory.max.bytes" instead of a generic grow failure.
pub(crate) struct Limiter {
    inner: StoreLimits,
    memory_bytes: usize,
    /// The size the guest asked for when it hit the limit.
    pub breached: Option<usize>,
    /// A task store's memory in use, for `sluice_plugin_memory_bytes` (`None`: host-internal
    /// stores such as `validate`).
    memory: Option<Arc<StoreMemory>>,
}

impl Limiter {
    pub fn new(limits: &Limits, owner: &Owner) -> Self {
        let memory = owner.task.parse::<u32>().ok().map(|task| {
            crate::metrics::memory::register(&owner.connector, task, limits.memory_bytes as u64)
        });
        Limiter {
            inner: StoreLimitsBuilder::new().trap_on_grow_failure(true).build(),
            memory_bytes: limits.memory_bytes,
            breached: None,
            memory,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            // A plugin growing past its limit is a bug or an attack: trap instead of handing
            // it a failed `memory.grow` it would most likely mishandle.
            self.breached = Some(desired);
            wasmtime::bail!(
                "{MEMORY_KEY}={} exceeded: the plugin asked for {desired} bytes",
                self.memory_bytes
            );
        }
        let granted = self.inner.memory_growing(current, desired, maximum);
        if let (Ok(true), Some(m)) = (&granted, &self.memory) {
            m.grew(current, desired);
        }
        granted
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Roughly how many bytes a source batch occupies on the host: every string and byte
/// payload plus a fixed cost per node. An estimate, but one that grows with everything a
/// plugin controls, which is what a cap needs.
pub(crate) fn source_batch_size(b: &wit::SourceBatch) -> usize {
    let schemas: usize = b.schemas.iter().map(schema_size).sum();
    let records: usize = b
        .records
        .iter()
        .map(|r| {
            offsets_size(&r.source_partition)
                + offsets_size(&r.source_offset)
                + record_size(&r.record)
        })
        .sum();
    schemas.saturating_add(records)
}

const NODE: usize = 32;

fn schema_size(s: &wit::Schema) -> usize {
    let nodes: usize = s
        .nodes
        .iter()
        .map(|n| {
            NODE + n.name.as_ref().map_or(0, String::len)
                + n.doc.as_ref().map_or(0, String::len)
                + n.parameters
                    .iter()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>()
                + n.fields.iter().map(|f| NODE + f.name.len()).sum::<usize>()
        })
        .sum();
    nodes + values_size(&s.defaults)
}

fn values_size(nodes: &[wit::ValueNode]) -> usize {
    nodes
        .iter()
        .map(|n| {
            NODE + match n {
                wit::ValueNode::String(s) => s.len(),
                wit::ValueNode::Bytes(b) => b.len(),
                wit::ValueNode::Array(c) | wit::ValueNode::Struct(c) => c.len() * 4,
                wit::ValueNode::Map(c) => c.len() * 8,
                _ => 0,
            }
        })
        .sum()
}

fn offsets_size(m: &[(String, wit::OffsetValue)]) -> usize {
    m.iter()
        .map(|(k, v)| {
            NODE + k.len()
                + match v {
                    wit::OffsetValue::String(s) => s.len(),
                    _ => 0,
                }
        })
        .sum()
}

fn record_size(r: &wit::ConnectRecord) -> usize {
    NODE + r.topic.len()
        + values_size(&r.key.value)
        + values_size(&r.value.value)
        + r.headers
            .iter()
            .map(|h| NODE + h.key.len() + values_size(&h.value.value))
            .sum::<usize>()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runtime::test_doubles::cfg;

    #[test]
    fn defaults_are_overridden_per_connector() {
        let l = Limits::default()
            .with_config(&cfg(&[
                (MEMORY_KEY, "67108864"),
                (TIMEOUT_KEY, " 2000 "),
                (OUTPUT_KEY, "1048576"),
                ("topic", "t"),
            ]))
            .unwrap();
        assert_eq!(l.memory_bytes, 64 << 20);
        assert_eq!(l.call_timeout, Duration::from_secs(2));
        assert_eq!(l.output_bytes, 1 << 20);
        assert_eq!(
            Limits::default().with_config(&cfg(&[])).unwrap(),
            Limits::default()
        );
        assert_eq!(Limits::default().memory_bytes, 512 << 20);
        assert_eq!(Limits::default().call_timeout, Duration::from_secs(60));
        assert_eq!(Limits::default().output_bytes, 64 << 20);
    }

    #[test]
    fn bad_values_and_unknown_reserved_keys_are_all_reported() {
        let problems = Limits::default()
            .with_config(&cfg(&[
                (MEMORY_KEY, "lots"),
                (TIMEOUT_KEY, "0"),
                (OUTPUT_KEY, "-5"),
                ("wasm.memory.max", "1"),
            ]))
            .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [MEMORY_KEY, TIMEOUT_KEY, OUTPUT_KEY, "wasm.memory.max"]
        );
        assert!(problems[0].message.contains("`lots`") && problems[0].message.contains("1048576"));
        assert!(
            problems[1].message.contains("from 10 to 3600000"),
            "{}",
            problems[1].message
        );
        assert!(
            problems[3].message.contains("reserved"),
            "{}",
            problems[3].message
        );
    }

    #[test]
    fn network_allow_lists_are_parsed_and_bad_entries_reported() {
        let l = Limits::default()
            .with_config(&cfg(&[
                (NETWORK_KEY, "127.0.0.1:9092"),
                (NETWORK_UDP_KEY, "10.0.0.53:53"),
            ]))
            .unwrap();
        assert!(l.network.tcp() && l.network.udp());
        assert!(Limits::default().network.is_empty());
        let problems = Limits::default()
            .with_config(&cfg(&[(NETWORK_KEY, "db.internal")]))
            .unwrap_err();
        assert_eq!(problems[0].key, NETWORK_KEY);
        assert!(
            problems[0]
                .message
                .contains("invalid entry `db.internal` in wasm.network.allow")
                && problems[0].message.contains("accepted entries"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn http_limits_are_parsed_and_bad_values_reported() {
        let l = Limits::default()
            .with_config(&cfg(&[
                (HTTP_TIMEOUT_KEY, "2500"),
                (HTTP_REQUEST_MAX_KEY, "0"),
                (HTTP_RESPONSE_MAX_KEY, "1024"),
                (HTTP_MAX_CONCURRENT_KEY, "2"),
                (HTTP_TLS_INSECURE_KEY, "TRUE"),
            ]))
            .unwrap();
        assert_eq!(l.http.timeout, Duration::from_millis(2500));
        assert_eq!(l.http.request_max_bytes, 0);
        assert_eq!(l.http.response_max_bytes, 1024);
        assert_eq!(l.http.max_concurrent, 2);
        assert!(l.http.tls_insecure);
        assert!(
            !Limits::default().http.tls_insecure,
            "verification is on by default"
        );
        let problems = Limits::default()
            .with_config(&cfg(&[
                (HTTP_TIMEOUT_KEY, "5"),
                (HTTP_MAX_CONCURRENT_KEY, "0"),
                (HTTP_TLS_INSECURE_KEY, "yes"),
                ("wasm.http.max.redirects", "3"),
            ]))
            .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                HTTP_TIMEOUT_KEY,
                HTTP_MAX_CONCURRENT_KEY,
                HTTP_TLS_INSECURE_KEY,
                "wasm.http.max.redirects"
            ]
        );
        assert!(
            problems[1].message.contains("from 1 to 1024"),
            "{}",
            problems[1].message
        );
        assert!(
            problems[2].message.contains("true or false"),
            "{}",
            problems[2].message
        );
        assert!(
            problems[3].message.contains(HTTP_TLS_INSECURE_KEY),
            "{}",
            problems[3].message
        );
    }

    #[test]
    fn split_hides_reserved_keys_from_the_plugin() {
        let (plugin, reserved) = split(&cfg(&[("a", "1"), (TIMEOUT_KEY, "5"), ("b", "2")]));
        assert_eq!(plugin, cfg(&[("a", "1"), ("b", "2")]));
        assert_eq!(reserved, cfg(&[(TIMEOUT_KEY, "5")]));
    }

    #[test]
    fn limiter_remembers_a_memory_breach() {
        let owner = Owner {
            connector: "limiter-test".into(),
            task: "3".into(),
        };
        let mut l = Limiter::new(
            &Limits {
                memory_bytes: 1 << 20,
                ..Limits::default()
            },
            &owner,
        );
        assert!(l.memory_growing(0, 1 << 20, None).unwrap());
        // A task's store reports its memory against its limit.
        let key = ("limiter-test".to_string(), 3);
        assert_eq!(
            crate::metrics::memory::by_task().get(&key),
            Some(&(1 << 20, 1 << 20))
        );
        let err = l.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(
            err.to_string().contains("wasm.memory.max.bytes=1048576"),
            "{err}"
        );
        assert_eq!(l.breached, Some(2 << 20));
    }

    #[test]
    fn batch_size_grows_with_payloads() {
        let data = |s: &str| wit::Data {
            schema: None,
            value: vec![wit::ValueNode::String(s.to_string())],
        };
        let rec = |s: &str| wit::SourceRecord {
            source_partition: vec![],
            source_offset: vec![("n".into(), wit::OffsetValue::Int(1))],
            record: wit::ConnectRecord {
                topic: "t".into(),
                kafka_partition: None,
                kafka_offset: None,
                timestamp: None,
                timestamp_type: wit::TimestampType::NoTimestampType,
                key: data(""),
                value: data(s),
                headers: vec![],
            },
        };
        let small = source_batch_size(&wit::SourceBatch {
            schemas: vec![],
            records: vec![rec("x")],
        });
        let big = source_batch_size(&wit::SourceBatch {
            schemas: vec![],
            records: vec![rec(&"x".repeat(1 << 20))],
        });
        assert!(small < 1024 && big > 1 << 20, "{small} {big}");
    }
}
