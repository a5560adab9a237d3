//! The distributed worker's `.properties` file (reference §2.1, §2.3): the keys standalone
//! mode shares plus Kafka Connect's distributed keys — the group, the three internal topics,
//! the group timings and the advertised REST address.
//!
//! Decision: a distributed worker needs `bootstrap.servers`. Standalone mode starts an
//! embedded in-memory broker when it is unset, but that broker lives inside one process and
//! the point of distributed mode is several processes sharing one cluster; silently giving
//! each worker a private broker would make a "cluster" of strangers. Beyond Kafka's own
//! checks, the three internal topics must differ (one topic holding two stores' records
//! corrupts both) and `heartbeat.interval.ms` must be below `session.timeout.ms` (Kafka only
//! documents it; the group coordinator then evicts healthy workers).

use std::time::Duration;

use super::worker::{common_worker, load_with, problems_of, Mode};
use super::{get, parse_int, Config, ConfigError, WorkerConfig};
use crate::spec::ConfigProblem;

/// Kafka Connect's group sub-protocols (`connect.protocol`), newest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnectProtocol {
    /// Every rebalance stops everything and reassigns it (protocol version 0).
    Eager,
    /// Incremental cooperative rebalancing, KIP-415 (version 1).
    Compatible,
    /// `compatible` plus signed inter-worker requests, KIP-507 (version 2; Kafka's default).
    Sessioned,
}

impl ConnectProtocol {
    /// The sub-protocol name in a JoinGroup request (`eager` is called `default` on the wire).
    pub fn wire_name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The version written in the metadata and assignment headers.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// The sub-protocol of a wire name.
    pub fn from_wire_name(name: &str) -> Option<Self> {
        [Self::Eager, Self::Compatible, Self::Sessioned]
            .into_iter()
            .find(|p| p.wire_name() == name)
    }

    /// The sub-protocols a worker configured with `self` offers, most preferred first (Kafka
    /// Connect offers every older one too, so a cluster can be upgraded worker by worker).
    pub fn offered(self) -> Vec<ConnectProtocol> {
        let mut all = vec![Self::Sessioned, Self::Compatible, Self::Eager];
        all.retain(|p| *p <= self);
        all
    }
}

/// One internal topic: its name and how it is created when missing.
#[derive(Debug, Clone, PartialEq)]
pub struct InternalTopic {
    /// The worker key naming it (`config.storage.topic`, …), for messages.
    pub key: &'static str,
    pub name: String,
    /// `None`: the broker's default (`-1` in the config).
    pub partitions: Option<i32>,
    /// `None`: the broker's default (`-1` in the config).
    pub replication_factor: Option<i16>,
    /// Further topic configs from `<prefix>.<config>` keys; `cleanup.policy` is never among
    /// them (internal topics are always compacted).
    pub configs: Config,
}

/// A distributed worker's configuration.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    /// The keys shared with standalone mode (`offset_storage_file` is unused and empty).
    pub worker: WorkerConfig,
    /// The Kafka cluster every worker of the group uses (required in distributed mode).
    pub bootstrap_servers: String,
    pub group_id: String,
    pub config_topic: InternalTopic,
    pub offset_topic: InternalTopic,
    pub status_topic: InternalTopic,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    pub scheduled_rebalance_max_delay: Duration,
    pub worker_sync_timeout: Duration,
    pub worker_unsync_backoff: Duration,
    pub connect_protocol: ConnectProtocol,
    pub rest_advertised_host_name: Option<String>,
    pub rest_advertised_port: Option<u16>,
}

/// Reads a distributed worker's .properties file. Errors name the file and line.
pub fn load_distributed(path: &std::path::Path) -> Result<DistributedConfig, ConfigError> {
    load_with(path, distributed_from_config)
}

/// Interprets a distributed worker's raw config; returns every problem at once.
pub fn distributed_from_config(raw: Config) -> Result<DistributedConfig, Vec<ConfigProblem>> {
    let (worker, mut problems) = common_worker(raw, Mode::Distributed);
    let raw = &worker.raw;

    // Workers forward requests to the leader at `http://<worker id>/` (rest/forward.rs).
    for l in &worker.listeners {
        if super::parse_listener(l).is_ok_and(|a| a.tls) {
            problems.push((
                "listeners",
                format!(
                    "listeners: {l:?}: https:// listeners are supported in standalone mode only \
                     for now (distributed workers forward requests to each other over plain \
                     HTTP); use http:// behind a TLS-terminating proxy"
                ),
            ));
        }
    }

    let bootstrap_servers = match &worker.bootstrap_servers {
        Some(b) => b.clone(),
        None => {
            problems.push((
                "bootstrap.servers",
                "Missing required configuration \"bootstrap.servers\": distributed workers \
                 share their connectors through a Kafka cluster (the embedded development \
                 broker of standalone mode lives in one process)"
                    .to_string(),
            ));
            String::new()
        }
    };

    let mut required = |key: &'static str, why: &str| -> String {
        match get(raw, key).map(str::trim) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                problems.push((
                    key,
                    format!(
                        "Missing required configuration \"{key}\" which has no default value. \
                         ({why})"
                    ),
                ));
                String::new()
            }
        }
    };
    let group_id = required(
        "group.id",
        "the name of the Connect cluster: workers with the same group.id share connectors",
    );
    let config_name = required(
        "config.storage.topic",
        "the compacted topic holding connector and task configs",
    );
    let offset_name = required(
        "offset.storage.topic",
        "the compacted topic holding source connector offsets",
    );
    let status_name = required(
        "status.storage.topic",
        "the compacted topic holding connector and task states",
    );

    let mut int = |key: &'static str, default: i32, min: i32, why: &str| -> i32 {
        let Some(v) = get(raw, key) else {
            return default;
        };
        match parse_int(key, v) {
            Ok(n) if n >= min => n,
            Ok(_) => {
                problems.push((
                    key,
                    format!("Invalid value {v} for configuration {key}: {why}"),
                ));
                default
            }
            Err(e) => {
                problems.push((key, e.to_string()));
                default
            }
        }
    };
    let ms = |n: i32| Duration::from_millis(u64::try_from(n).unwrap_or(0));
    let session_timeout = int("session.timeout.ms", 10_000, 1, "Value must be at least 1");
    let heartbeat_interval = int(
        "heartbeat.interval.ms",
        3_000,
        1,
        "Value must be at least 1",
    );
    let rebalance_timeout = int(
        "rebalance.timeout.ms",
        60_000,
        1,
        "Value must be at least 1",
    );
    let scheduled_delay = int(
        "scheduled.rebalance.max.delay.ms",
        300_000,
        0,
        "Value must be at least 0",
    );
    let worker_sync_timeout = int(
        "worker.sync.timeout.ms",
        3_000,
        1,
        "Value must be at least 1",
    );
    let worker_unsync_backoff = int(
        "worker.unsync.backoff.ms",
        300_000,
        0,
        "Value must be at least 0",
    );
    let rest_advertised_port: Option<Result<u16, String>> =
        get(raw, "rest.advertised.port").map(|v| {
            int(
                "rest.advertised.port",
                0,
                0,
                "expected a port number from 0 to 65535",
            )
            .try_into()
            .map_err(|_| v.to_string())
        });

    let mut topic = |prefix: &'static str,
                     key: &'static str,
                     name: String,
                     default_partitions: i32,
                     fixed_partitions: bool|
     -> InternalTopic {
        let partitions_key = format!("{prefix}.partitions");
        let partitions = if fixed_partitions {
            if get(raw, &partitions_key).is_some() {
                tracing::warn!(
                    "{partitions_key} is ignored: the config topic always has exactly 1 \
                     partition, so its records stay in order"
                );
            }
            Some(1)
        } else {
            partitions_or_default(raw, &partitions_key, default_partitions, &mut problems)
        };
        let rf_key = format!("{prefix}.replication.factor");
        let replication_factor = replication_factor(raw, &rf_key, &mut problems);
        let mut configs = Config::new();
        for (k, v) in super::with_prefix(raw, &format!("{prefix}.")) {
            match k.as_str() {
                "topic" | "partitions" | "replication.factor" => {}
                "cleanup.policy" => tracing::warn!(
                    "{prefix}.cleanup.policy={v} is ignored: internal topics are always \
                     created with cleanup.policy=compact"
                ),
                _ => super::set(&mut configs, &k, &v),
            }
        }
        InternalTopic {
            key,
            name,
            partitions,
            replication_factor,
            configs,
        }
    };
    let config_topic = topic(
        "config.storage",
        "config.storage.topic",
        config_name,
        1,
        true,
    );
    let offset_topic = topic(
        "offset.storage",
        "offset.storage.topic",
        offset_name,
        25,
        false,
    );
    let status_topic = topic(
        "status.storage",
        "status.storage.topic",
        status_name,
        5,
        false,
    );

    let names = [&config_topic, &offset_topic, &status_topic];
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            if !a.name.is_empty() && a.name == b.name {
                problems.push((
                    b.key,
                    format!(
                        "Invalid value {} for configuration {}: {} names the same topic; each \
                         internal topic must be a topic of its own",
                        b.name, b.key, a.key
                    ),
                ));
            }
        }
    }

    if heartbeat_interval >= session_timeout {
        problems.push((
            "heartbeat.interval.ms",
            format!(
                "Invalid value {heartbeat_interval} for configuration heartbeat.interval.ms: \
                 must be lower than session.timeout.ms ({session_timeout}), typically no more \
                 than a third of it, or the group coordinator evicts live workers"
            ),
        ));
    }

    let connect_protocol = match get(raw, "connect.protocol").map(str::trim) {
        None => ConnectProtocol::Sessioned,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "eager" => ConnectProtocol::Eager,
            "compatible" => ConnectProtocol::Compatible,
            "sessioned" => ConnectProtocol::Sessioned,
            _ => {
                problems.push((
                    "connect.protocol",
                    format!(
                        "Invalid value {v} for configuration connect.protocol: String must be \
                         one of (case insensitive): eager, compatible, sessioned"
                    ),
                ));
                ConnectProtocol::Sessioned
            }
        },
    };

    match get(raw, "exactly.once.source.support").map(str::trim) {
        None => {}
        Some(v) if v.eq_ignore_ascii_case("disabled") => {}
        Some(v) if v.eq_ignore_ascii_case("preparing") || v.eq_ignore_ascii_case("enabled") => {
            problems.push((
                "exactly.once.source.support",
                format!(
                    "Invalid value {v} for configuration exactly.once.source.support: Sluice's \
                     distributed mode does not support exactly-once sources yet (KIP-618); \
                     use disabled (source connectors are at-least-once)"
                ),
            ))
        }
        Some(v) => problems.push((
            "exactly.once.source.support",
            format!(
                "Invalid value {v} for configuration exactly.once.source.support: String must \
                 be one of (case insensitive): disabled, preparing, enabled"
            ),
        )),
    }

    let rest_advertised_port = match rest_advertised_port {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(v)) => {
            problems.push((
                "rest.advertised.port",
                format!(
                    "Invalid value {v} for configuration rest.advertised.port: expected a \
                     port number from 0 to 65535"
                ),
            ));
            None
        }
    };
    let rest_advertised_host_name = get(raw, "rest.advertised.host.name")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string);

    if !problems.is_empty() {
        return Err(problems_of(problems));
    }
    Ok(DistributedConfig {
        bootstrap_servers,
        group_id,
        config_topic,
        offset_topic,
        status_topic,
        session_timeout: ms(session_timeout),
        heartbeat_interval: ms(heartbeat_interval),
        rebalance_timeout: ms(rebalance_timeout),
        scheduled_rebalance_max_delay: ms(scheduled_delay),
        worker_sync_timeout: ms(worker_sync_timeout),
        worker_unsync_backoff: ms(worker_unsync_backoff),
        connect_protocol,
        rest_advertised_host_name,
        rest_advertised_port,
        worker,
    })
}

/// `<prefix>.partitions`: positive, or `-1` for the broker's default (`None`).
fn partitions_or_default(
    raw: &Config,
    key: &str,
    default: i32,
    problems: &mut Vec<(&'static str, String)>,
) -> Option<i32> {
    let Some(v) = get(raw, key) else {
        return Some(default);
    };
    match parse_int(key, v) {
        Ok(-1) => None,
        Ok(n) if n >= 1 => Some(n),
        Ok(_) => {
            problems.push((
                leak_key(key),
                format!(
                    "Invalid value {v} for configuration {key}: Number of partitions must be \
                     positive, or -1 to use the broker's default"
                ),
            ));
            Some(default)
        }
        Err(e) => {
            problems.push((leak_key(key), e.to_string()));
            Some(default)
        }
    }
}

/// `<prefix>.replication.factor`: a positive short, or `-1` for the broker's default
/// (`None`); 3 when unset, as in Kafka.
fn replication_factor(
    raw: &Config,
    key: &str,
    problems: &mut Vec<(&'static str, String)>,
) -> Option<i16> {
    let Some(v) = get(raw, key) else {
        return Some(3);
    };
    match v.trim().parse::<i16>() {
        Ok(-1) => None,
        Ok(n) if n >= 1 => Some(n),
        _ => {
            problems.push((
                leak_key(key),
                format!(
                    "Invalid value {v} for configuration {key}: Replication factor must be \
                     positive and not larger than the number of brokers in the Kafka cluster, \
                     or -1 to use the broker's default"
                ),
            ));
            Some(3)
        }
    }
}

/// Problems carry `&'static str` keys; the few built from a prefix are the fixed set below.
fn leak_key(key: &str) -> &'static str {
    const KEYS: &[&str] = &[
        "config.storage.partitions",
        "config.storage.replication.factor",
        "offset.storage.partitions",
        "offset.storage.replication.factor",
        "status.storage.partitions",
        "status.storage.replication.factor",
    ];
    KEYS.iter().copied().find(|k| *k == key).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![
            ("bootstrap.servers", "broker:9092"),
            ("group.id", "connect-cluster"),
            ("config.storage.topic", "connect-configs"),
            ("offset.storage.topic", "connect-offsets"),
            ("status.storage.topic", "connect-status"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Config {
        let mut all = minimal();
        all.extend_from_slice(extra);
        cfg(&all)
    }

    fn messages(e: Vec<ConfigProblem>) -> Vec<String> {
        e.into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect()
    }

    #[test]
    fn kafka_defaults() {
        let d = distributed_from_config(with(&[])).expect("valid");
        assert_eq!(d.bootstrap_servers, "broker:9092");
        assert_eq!(d.group_id, "connect-cluster");
        assert_eq!(d.config_topic.name, "connect-configs");
        assert_eq!(d.config_topic.partitions, Some(1));
        assert_eq!(d.config_topic.replication_factor, Some(3));
        assert_eq!(d.offset_topic.partitions, Some(25));
        assert_eq!(d.status_topic.partitions, Some(5));
        assert_eq!(d.session_timeout, Duration::from_secs(10));
        assert_eq!(d.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(d.rebalance_timeout, Duration::from_secs(60));
        assert_eq!(d.scheduled_rebalance_max_delay, Duration::from_secs(300));
        assert_eq!(d.worker_sync_timeout, Duration::from_secs(3));
        assert_eq!(d.connect_protocol, ConnectProtocol::Sessioned);
        assert_eq!(d.worker.offset_flush_interval, Duration::from_secs(60));
        assert_eq!(d.worker.listeners, vec!["http://:8083".to_string()]);
        assert_eq!(d.rest_advertised_host_name, None);
        assert_eq!(d.rest_advertised_port, None);
    }

    #[test]
    fn every_distributed_key() {
        let d = distributed_from_config(with(&[
            ("config.storage.replication.factor", "1"),
            ("config.storage.partitions", "7"),
            ("offset.storage.partitions", "-1"),
            ("offset.storage.replication.factor", "-1"),
            ("offset.storage.segment.ms", "600000"),
            ("offset.storage.cleanup.policy", "delete"),
            ("status.storage.partitions", "2"),
            ("status.storage.replication.factor", "1"),
            ("heartbeat.interval.ms", "1000"),
            ("session.timeout.ms", "6000"),
            ("rebalance.timeout.ms", "20000"),
            ("scheduled.rebalance.max.delay.ms", "0"),
            ("connect.protocol", "COMPATIBLE"),
            ("worker.sync.timeout.ms", "500"),
            ("offset.flush.interval.ms", "1000"),
            ("listeners", "http://127.0.0.1:0"),
            ("rest.advertised.host.name", "worker-1"),
            ("rest.advertised.port", "18083"),
            ("exactly.once.source.support", "disabled"),
        ]))
        .expect("valid");
        // The config topic's partition count is fixed.
        assert_eq!(d.config_topic.partitions, Some(1));
        assert_eq!(d.config_topic.replication_factor, Some(1));
        assert_eq!(d.offset_topic.partitions, None);
        assert_eq!(d.offset_topic.replication_factor, None);
        // Extra topic configs pass through, but never cleanup.policy.
        assert_eq!(d.offset_topic.configs, cfg(&[("segment.ms", "600000")]));
        assert_eq!(d.status_topic.partitions, Some(2));
        assert_eq!(d.heartbeat_interval, Duration::from_secs(1));
        assert_eq!(d.session_timeout, Duration::from_secs(6));
        assert_eq!(d.rebalance_timeout, Duration::from_secs(20));
        assert_eq!(d.scheduled_rebalance_max_delay, Duration::ZERO);
        assert_eq!(d.connect_protocol, ConnectProtocol::Compatible);
        assert_eq!(d.worker_sync_timeout, Duration::from_millis(500));
        assert_eq!(d.worker.offset_flush_interval, Duration::from_secs(1));
        assert_eq!(d.worker.listeners, vec!["http://127.0.0.1:0".to_string()]);
        assert_eq!(d.rest_advertised_host_name.as_deref(), Some("worker-1"));
        assert_eq!(d.rest_advertised_port, Some(18083));
    }

    #[test]
    fn missing_keys_are_all_reported() {
        let e =
            distributed_from_config(cfg(&[("listeners", "http://:8083")])).expect_err("must fail");
        let m = messages(e);
        for key in [
            "bootstrap.servers",
            "group.id",
            "config.storage.topic",
            "offset.storage.topic",
            "status.storage.topic",
        ] {
            assert!(
                m.iter()
                    .any(|l| l
                        .starts_with(&format!("{key}: Missing required configuration \"{key}\""))),
                "{key} not reported: {m:?}"
            );
        }
        // offset.storage.file.filename is standalone-only.
        assert!(
            !m.iter().any(|l| l.contains("offset.storage.file.filename")),
            "{m:?}"
        );
        assert_eq!(m.len(), 5, "{m:?}");
    }

    #[test]
    fn bad_values_name_key_value_and_what_is_accepted() {
        let e = distributed_from_config(with(&[
            ("offset.storage.partitions", "0"),
            ("status.storage.replication.factor", "many"),
            ("session.timeout.ms", "3000"),
            ("heartbeat.interval.ms", "3000"),
            ("scheduled.rebalance.max.delay.ms", "-5"),
            ("rebalance.timeout.ms", "1m"),
            ("connect.protocol", "cooperative"),
            ("exactly.once.source.support", "enabled"),
            ("rest.advertised.port", "70000"),
            ("status.storage.topic", "connect-offsets"),
        ]))
        .expect_err("must fail");
        let m = messages(e).join("\n");
        for expected in [
            "offset.storage.partitions: Invalid value 0 for configuration offset.storage.partitions: Number of partitions must be positive, or -1",
            "status.storage.replication.factor: Invalid value many for configuration status.storage.replication.factor: Replication factor must be positive",
            "heartbeat.interval.ms: Invalid value 3000 for configuration heartbeat.interval.ms: must be lower than session.timeout.ms (3000)",
            "scheduled.rebalance.max.delay.ms: Invalid value -5 for configuration scheduled.rebalance.max.delay.ms: Value must be at least 0",
            "rebalance.timeout.ms: Invalid value 1m for configuration rebalance.timeout.ms",
            "connect.protocol: Invalid value cooperative for configuration connect.protocol: String must be one of (case insensitive): eager, compatible, sessioned",
            "exactly.once.source.support: Invalid value enabled for configuration exactly.once.source.support: Sluice's distributed mode does not support exactly-once sources yet",
            "rest.advertised.port: Invalid value 70000 for configuration rest.advertised.port: expected a port number",
            "status.storage.topic: Invalid value connect-offsets for configuration status.storage.topic: offset.storage.topic names the same topic",
        ] {
            assert!(m.contains(expected), "missing {expected:?} in:\n{m}");
        }
        assert_eq!(m.lines().count(), 9, "{m}");
    }

    #[test]
    fn file_errors_carry_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker.properties");
        std::fs::write(
            &path,
            "bootstrap.servers=b:9092\ngroup.id=g\nconfig.storage.topic=c\n\
             offset.storage.topic=o\nstatus.storage.topic=s\nconnect.protocol=x\n",
        )
        .expect("write");
        let e = load_distributed(&path).expect_err("must fail").to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(
            e.contains("line 6: Invalid value x for configuration connect.protocol"),
            "{e}"
        );
    }

    #[test]
    fn offered_sub_protocols() {
        assert_eq!(
            ConnectProtocol::Sessioned.offered(),
            vec![
                ConnectProtocol::Sessioned,
                ConnectProtocol::Compatible,
                ConnectProtocol::Eager
            ]
        );
        assert_eq!(
            ConnectProtocol::Eager.offered(),
            vec![ConnectProtocol::Eager]
        );
        assert_eq!(
            ConnectProtocol::from_wire_name("default"),
            Some(ConnectProtocol::Eager)
        );
    }
}
