//! Kafka I/O settings shared by every task: how producer, consumer and admin clients are
//! configured, topic creation, and the embedded development broker.
//!
//! Design decision: tasks use rdkafka's **synchronous** clients (`BaseProducer`,
//! `BaseConsumer`) on their own OS threads; this module only builds their configuration.
//! Worker pass-through keys (`producer.*`, `consumer.*`, `admin.*`) are Java client keys;
//! librdkafka rejects many of them (`key.serializer`, `interceptor.classes`, …), so every
//! pass-through key is checked against librdkafka first and ignored with a WARN when it is
//! not accepted, instead of making client creation fail.

pub mod embedded;
pub mod fetch;
pub mod group;
pub mod sink_topics;
pub mod topic_log;
pub mod topics;
pub mod watermarks;

use rdkafka::config::ClientConfig;

use crate::config::{get, Config, WorkerConfig};

pub use embedded::{EmbeddedBroker, EmbeddedTopics};
pub use topics::{TopicCreator, TopicError, TopicSettings};

/// Why a Kafka client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("cannot create Kafka {client} client: {source}")]
    Client {
        client: &'static str,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot start the embedded development broker: {0}")]
    Embedded(String),
}

/// Worker setting that opts sink consumers into static group membership (`group.instance.id`
/// = `<group>-<task>`). Off by default: dynamic membership is what works with every broker
/// we test against (see ARCHITECTURE.md on tansu). Not under `consumer.`: those keys go to
/// librdkafka as they are.
pub const STATIC_MEMBERSHIP_KEY: &str = "sink.static.membership";

/// Standalone worker setting: how sink tasks get their partitions, `manual` (default) or
/// `group` (see [`SinkAssignment`]). Distributed workers always use the group.
pub const SINK_ASSIGNMENT_KEY: &str = "sink.partition.assignment";

/// How a sink task gets its partitions.
///
/// Design decision: a standalone worker is the only member of its sink groups, so it does
/// not need the group protocol to share partitions out: with `Manual` each task assigns its
/// own share of the topics' partitions and commits to the connector's group outside any
/// generation. A task restarted after a crash then resumes at once from the committed
/// offsets, instead of waiting for the dead member's session to expire (and on tansu 0.6.0,
/// whose coordinator never rebalances after evicting a member, instead of idling forever).
/// Where several workers share a group (distributed mode), `Group` membership is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkAssignment {
    /// Subscribe and let the group coordinator spread the partitions across members.
    Group,
    /// Each task assigns itself its share of the partitions and follows the topic metadata.
    Manual,
}

impl SinkAssignment {
    /// A standalone worker's choice: `sink.partition.assignment`, `manual` unless it says
    /// `group`.
    pub fn standalone(worker: &WorkerConfig) -> Result<Self, String> {
        match get(&worker.raw, SINK_ASSIGNMENT_KEY).map(str::trim) {
            None | Some("") => Ok(SinkAssignment::Manual),
            Some(v) if v.eq_ignore_ascii_case("manual") => Ok(SinkAssignment::Manual),
            Some(v) if v.eq_ignore_ascii_case("group") => Ok(SinkAssignment::Group),
            Some(v) => Err(format!(
                "Invalid value {v} for configuration {SINK_ASSIGNMENT_KEY}: String must be one of: manual, group"
            )),
        }
    }
}

/// Everything a task needs to build its Kafka clients.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    /// Worker `producer.*` keys (prefix removed), already checked against librdkafka.
    pub producer: Config,
    /// Worker `consumer.*` keys (prefix removed), already checked against librdkafka.
    pub consumer: Config,
    /// Worker `admin.*` keys (prefix removed), already checked against librdkafka.
    pub admin: Config,
    pub static_membership: bool,
    /// How sink tasks get their partitions: the group's, unless a standalone worker says
    /// otherwise ([`KafkaSettings::with_sink_assignment`]).
    pub sink_assignment: SinkAssignment,
    /// Worker `topic.creation.enable` (default true).
    pub topic_creation_enable: bool,
    /// Set when the brokers are the embedded mock cluster, which creates topics this way.
    pub embedded: Option<EmbeddedTopics>,
}

impl KafkaSettings {
    /// Builds the settings from a worker config and the bootstrap servers actually in use
    /// (the configured ones, or the embedded broker's).
    pub fn from_worker(worker: &WorkerConfig, bootstrap_servers: String) -> Self {
        let static_membership = get(&worker.raw, STATIC_MEMBERSHIP_KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let topic_creation_enable = !get(&worker.raw, "topic.creation.enable")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        KafkaSettings {
            bootstrap_servers,
            producer: passthrough(&worker.raw, "producer.", "worker"),
            consumer: passthrough(&worker.raw, "consumer.", "worker"),
            admin: passthrough(&worker.raw, "admin.", "worker"),
            static_membership,
            sink_assignment: SinkAssignment::Group,
            topic_creation_enable,
            embedded: None,
        }
    }

    /// The same settings with sink tasks getting their partitions as `assignment` says.
    pub fn with_sink_assignment(mut self, assignment: SinkAssignment) -> Self {
        self.sink_assignment = assignment;
        self
    }

    /// Settings with no pass-through keys (tests, embedded use).
    pub fn plain(bootstrap_servers: impl Into<String>) -> Self {
        KafkaSettings {
            bootstrap_servers: bootstrap_servers.into(),
            producer: Vec::new(),
            consumer: Vec::new(),
            admin: Vec::new(),
            static_membership: false,
            sink_assignment: SinkAssignment::Group,
            topic_creation_enable: true,
            embedded: None,
        }
    }

    /// Settings for the embedded broker: its address, and topic creation through it.
    pub fn using_embedded(mut self, broker: &EmbeddedBroker) -> Self {
        self.bootstrap_servers = broker.bootstrap_servers().to_string();
        self.embedded = Some(broker.topics());
        self
    }

    /// A source task's producer: idempotent, `acks=all`, never times out queued records (so a
    /// broker outage delays delivery instead of failing it), batched for throughput. Then the
    /// worker `producer.*` keys and the connector's `producer.override.*` keys, in that order.
    pub fn producer_config(
        &self,
        connector: &str,
        task: u32,
        connector_raw: &Config,
    ) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set(
                "client.id",
                format!("connector-producer-{connector}-{task}"),
            )
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // 0 = infinite: records wait in the queue while the broker is unreachable.
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            // Bounded queue: a source that reads faster than the broker accepts must feel
            // back-pressure (QueueFull -> poll and retry) instead of buffering its whole input
            // in memory. 30 000 messages is three full batches; librdkafka's per-message
            // overhead made a full 100 000-message queue cost ~30 MiB of RSS in the 1M-record
            // benchmark, with no throughput gain over 30 000 (docs/benchmarks.md).
            .set("queue.buffering.max.messages", "30000")
            .set("queue.buffering.max.kbytes", "16384")
            .set("compression.type", "none");
        apply(&mut c, &self.producer);
        apply(
            &mut c,
            &passthrough(connector_raw, "producer.override.", connector),
        );
        c
    }

    /// A sink task's consumer: group `connect-<name>`, manual commits, earliest reset, then
    /// worker `consumer.*` and connector `consumer.override.*`.
    pub fn consumer_config(
        &self,
        connector: &str,
        task: u32,
        connector_raw: &Config,
    ) -> ClientConfig {
        let group = format!("connect-{connector}");
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set(
                "client.id",
                format!("connector-consumer-{connector}-{task}"),
            )
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // librdkafka prefetches up to 100 000 messages per partition by default; ~80-byte
            // records then held ~60 MiB of a 1M-record sink run. Fewer starve the sink: tansu
            // answers a fetch with ~60 000 such records after ~30 ms, and librdkafka starts the
            // next fetch only once the queue is below this. With batched reads
            // (`kafka::fetch`) a sink drains 60 000 records in ~35 ms, so at 40 000 it waited
            // ~13 ms for data in every ~32 ms fetch cycle. 80 000 measured 1.63-1.65M
            // records/s at 82-88 MiB peak RSS, 40 000 1.35-1.45M at 77-81 MiB
            // (docs/benchmarks.md, 2026-12-05, fourth session).
            .set("queued.min.messages", "80000")
            // When the prefetch queue is full, librdkafka (2.4+) waits this long before it
            // fetches again (default 1 s): a sink that drains its queue in milliseconds then
            // idles for most of each second. 10 ms keeps the next fetch right behind.
            .set("fetch.queue.backoff.ms", "10");
        // Static membership is a group member's identity; a task that assigns itself its
        // partitions joins no group.
        if self.static_membership && self.sink_assignment == SinkAssignment::Group {
            c.set("group.instance.id", format!("{group}-{task}"));
        }
        apply(&mut c, &self.consumer);
        apply(
            &mut c,
            &passthrough(connector_raw, "consumer.override.", connector),
        );
        c
    }

    /// An admin client for topic creation.
    pub fn admin_config(&self, client_id: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id)
            // Our metadata checks must not auto-create a topic with the broker's defaults
            // (which would bypass `topic.creation.*`).
            .set("allow.auto.create.topics", "false");
        apply(&mut c, &self.admin);
        c
    }
}

fn apply(c: &mut ClientConfig, keys: &Config) {
    for (k, v) in keys {
        c.set(k, v);
    }
}

/// Sends `record`, waiting while the producer's queue is full (back-pressure instead of an
/// error); any other refusal is returned.
pub fn send_waiting(
    producer: &rdkafka::producer::BaseProducer,
    mut record: rdkafka::producer::BaseRecord<'_, [u8], [u8]>,
) -> Result<(), rdkafka::error::KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                producer.poll(std::time::Duration::from_millis(100));
                record = back;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// The keys under `prefix` (prefix removed) that librdkafka accepts; the others are logged
/// and dropped. Values never appear in the log (they may be passwords).
fn passthrough(config: &Config, prefix: &str, owner: &str) -> Config {
    let mut out = Config::new();
    for (k, v) in config {
        let Some(key) = k.strip_prefix(prefix) else {
            continue;
        };
        let key = java_client_alias(key);
        if key.is_empty() || key == "bootstrap.servers" && prefix.ends_with("override.") {
            continue;
        }
        let mut probe = ClientConfig::new();
        probe.set(key, v);
        match probe.create_native_config() {
            Ok(_) => out.push((key.to_string(), v.clone())),
            Err(e) => tracing::warn!(
                "ignoring {owner} key {k}: librdkafka does not accept {key:?} ({})",
                redact_value(&e.to_string(), v)
            ),
        }
    }
    out
}

/// The librdkafka name of a Java client property whose name differs (same meaning and unit),
/// so a Kafka Connect worker or connector config keeps working unchanged; other names pass
/// through as written.
fn java_client_alias(key: &str) -> &str {
    match key {
        // Java consumer `fetch.max.wait.ms` is librdkafka's `fetch.wait.max.ms`.
        "fetch.max.wait.ms" => "fetch.wait.max.ms",
        other => other,
    }
}

/// librdkafka error texts may quote the value; never let a secret through.
fn redact_value(message: &str, value: &str) -> String {
    if value.is_empty() {
        message.to_string()
    } else {
        message.replace(value, "[hidden]")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    #[test]
    fn passthrough_keeps_librdkafka_keys_and_drops_java_only_keys() {
        let raw = cfg(&[
            ("producer.linger.ms", "20"),
            (
                "producer.key.serializer",
                "org.apache.kafka.common.serialization.ByteArraySerializer",
            ),
            ("consumer.max.poll.interval.ms", "600000"),
            ("consumer.fetch.max.wait.ms", "10"),
            ("bootstrap.servers", "x:9092"),
        ]);
        assert_eq!(
            passthrough(&raw, "producer.", "worker"),
            cfg(&[("linger.ms", "20")])
        );
        assert_eq!(
            passthrough(&raw, "consumer.", "worker"),
            cfg(&[
                ("max.poll.interval.ms", "600000"),
                // The Java name, under librdkafka's.
                ("fetch.wait.max.ms", "10"),
            ])
        );
    }

    #[test]
    fn producer_config_forces_idempotence_and_names_the_client() {
        let s = KafkaSettings::plain("b:1");
        let c = s.producer_config("orders", 2, &cfg(&[("producer.override.linger.ms", "50")]));
        assert_eq!(c.get("client.id"), Some("connector-producer-orders-2"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("linger.ms"), Some("50"));
        let c = s.consumer_config("orders", 1, &Vec::new());
        assert_eq!(c.get("group.id"), Some("connect-orders"));
        assert_eq!(c.get("queued.min.messages"), Some("80000"));
        // The sink defaults are defaults: a connector override wins.
        let c = s.consumer_config(
            "orders",
            1,
            &cfg(&[("consumer.override.queued.min.messages", "500")]),
        );
        assert_eq!(c.get("queued.min.messages"), Some("500"));
        assert_eq!(c.get("client.id"), Some("connector-consumer-orders-1"));
        assert_eq!(c.get("group.instance.id"), None);
        let s = KafkaSettings {
            static_membership: true,
            ..s
        };
        let c = s.consumer_config("orders", 1, &Vec::new());
        assert_eq!(c.get("group.instance.id"), Some("connect-orders-1"));
    }
}
