//! Creating a source task's output topics before their first record.
//!
//! Design decision: brokers such as tansu never auto-create topics, so a source task checks
//! metadata for every topic it has not produced to yet and creates a missing one through the
//! admin API (`topic.creation.default.*`, defaulting to 1 partition and replication factor 1
//! when unset). "Already exists" counts as success (another task raced us). While the broker
//! is unreachable the check is retried with backoff until it succeeds or the task stops.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};

use super::{EmbeddedTopics, KafkaError, KafkaSettings};
use crate::backoff::{Backoff, WarnThrottle};
use crate::config::{get, Config};

const PREFIX: &str = "topic.creation.default.";

/// Why topic creation settings are invalid, or why the broker refused a topic for good.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TopicError {
    /// A `topic.creation.default.*` count that is neither a positive integer nor -1.
    #[error("invalid value {value:?} for {key}: expected a positive integer or -1")]
    InvalidCount { key: String, value: String },
    /// The broker refused the topic itself (invalid name, not authorized).
    #[error("topic {topic:?}: {code}")]
    Refused {
        topic: String,
        code: RDKafkaErrorCode,
    },
    /// The broker refused to create the topic with these settings.
    #[error(
        "cannot create topic {topic:?} ({partitions} partitions, replication factor {replication_factor}): {code}"
    )]
    CreateRefused {
        topic: String,
        partitions: i32,
        replication_factor: i32,
        code: RDKafkaErrorCode,
    },
}

/// How missing topics are created (`topic.creation.default.*` of a source connector).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSettings {
    pub partitions: i32,
    pub replication_factor: i32,
    /// Other `topic.creation.default.<topic config>` keys, passed to CreateTopics.
    pub configs: Vec<(String, String)>,
}

impl TopicSettings {
    /// Reads `topic.creation.default.*`; unset (or `-1`, "broker default", which not every
    /// broker supports) partitions / replication factor become 1, and that is logged.
    pub fn from_connector(config: &Config) -> Result<Self, TopicError> {
        let number = |key: &str| -> Result<Option<i32>, TopicError> {
            let full = format!("{PREFIX}{key}");
            match get(config, &full).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => match v.parse::<i32>() {
                    Ok(-1) => Ok(None),
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(TopicError::InvalidCount {
                        key: full,
                        value: v.to_string(),
                    }),
                },
            }
        };
        let partitions = number("partitions")?;
        let replication_factor = number("replication.factor")?;
        if partitions.is_none() || replication_factor.is_none() {
            // The task's span already carries the connector name.
            tracing::info!(
                "topic.creation.default.partitions / .replication.factor not set (or -1): missing topics are created with {} partition(s), replication factor {}",
                partitions.unwrap_or(1),
                replication_factor.unwrap_or(1)
            );
        }
        let configs = config
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_string(), v.clone())))
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "partitions" | "replication.factor" | "include" | "exclude"
                )
            })
            .collect();
        Ok(TopicSettings {
            partitions: partitions.unwrap_or(1),
            replication_factor: replication_factor.unwrap_or(1),
            configs,
        })
    }
}

/// Checks and creates topics for one task; remembers the ones known to exist.
pub struct TopicCreator {
    admin: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
    settings: TopicSettings,
    enabled: bool,
    embedded: Option<EmbeddedTopics>,
    known: HashSet<String>,
    /// The topic of the last `ensure` that found it known: a source writes runs of records
    /// to one topic, and one string compare is cheaper than hashing the name per record.
    last: String,
    throttle: WarnThrottle,
}

/// Metadata/admin requests are bounded so a stop request is noticed between attempts.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl TopicCreator {
    pub fn new(
        kafka: &KafkaSettings,
        client_id: &str,
        settings: TopicSettings,
    ) -> Result<Self, KafkaError> {
        let admin =
            kafka
                .admin_config(client_id)
                .create()
                .map_err(|source| KafkaError::Client {
                    client: "admin",
                    source,
                })?;
        // The admin futures only await a channel fed by rdkafka's own polling thread; a
        // current-thread runtime on the task's thread is enough to block on them.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| KafkaError::Embedded(format!("cannot build admin runtime: {e}")))?;
        Ok(TopicCreator {
            admin,
            runtime,
            settings,
            enabled: kafka.topic_creation_enable,
            embedded: kafka.embedded.clone(),
            known: HashSet::new(),
            last: String::new(),
            throttle: WarnThrottle::default(),
        })
    }

    /// Makes sure `topic` exists. Returns `Ok(false)` when stopped before it could tell,
    /// `Err` only for a permanent refusal (invalid name, not authorized, …).
    pub fn ensure(&mut self, topic: &str, stop: &AtomicBool) -> Result<bool, TopicError> {
        if !self.enabled || (!self.last.is_empty() && self.last == topic) {
            return Ok(true);
        }
        if self.known.contains(topic) {
            self.last.clear();
            self.last.push_str(topic);
            return Ok(true);
        }
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            match self.try_ensure(topic) {
                Ok(()) => {
                    self.known.insert(topic.to_string());
                    return Ok(true);
                }
                Err(Attempt::Permanent(e)) => return Err(e),
                Err(Attempt::Retry(m)) => {
                    if let Some(n) = self.throttle.allow() {
                        tracing::warn!(
                            topic,
                            suppressed = n,
                            "cannot check or create topic, retrying: {m}"
                        );
                    }
                    if !backoff.sleep(stop) {
                        return Ok(false);
                    }
                }
            }
        }
    }

    fn try_ensure(&self, topic: &str) -> Result<(), Attempt> {
        let metadata = self
            .admin
            .inner()
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| Attempt::Retry(format!("metadata request failed: {e}")))?;
        if let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) {
            if t.error().is_none() && !t.partitions().is_empty() {
                return Ok(());
            }
            if let Some(err) = t.error() {
                if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART {
                    let code = RDKafkaErrorCode::from(err);
                    if code == RDKafkaErrorCode::TopicAuthorizationFailed
                        || code == RDKafkaErrorCode::InvalidTopic
                    {
                        return Err(Attempt::Permanent(TopicError::Refused {
                            topic: topic.to_string(),
                            code,
                        }));
                    }
                    // Leader not available etc.: the topic exists but is not ready yet; the
                    // producer waits for it by itself.
                    if code != RDKafkaErrorCode::UnknownTopic {
                        return Ok(());
                    }
                }
            }
        }
        self.create(topic)
    }

    fn create(&self, topic: &str) -> Result<(), Attempt> {
        let s = &self.settings;
        if let Some(embedded) = &self.embedded {
            // A failure here (e.g. a racing task created it) is retried; the next metadata
            // check then finds the topic.
            embedded
                .create_topic(topic, s.partitions, s.replication_factor)
                .map_err(|e| Attempt::Retry(e.to_string()))?;
            tracing::info!(
                topic,
                partitions = s.partitions,
                "created topic on the embedded broker"
            );
            return Ok(());
        }
        let mut new_topic = NewTopic::new(
            topic,
            s.partitions,
            TopicReplication::Fixed(s.replication_factor),
        );
        for (k, v) in &s.configs {
            new_topic = new_topic.set(k, v);
        }
        let opts = AdminOptions::new()
            .request_timeout(Some(REQUEST_TIMEOUT))
            .operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .runtime
            .block_on(self.admin.create_topics([&new_topic], &opts))
            .map_err(|e| Attempt::Retry(format!("CreateTopics request failed: {e}")))?;
        for r in results {
            match r {
                Ok(_) => {
                    tracing::info!(
                        topic,
                        partitions = s.partitions,
                        replication_factor = s.replication_factor,
                        "created topic"
                    );
                }
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((
                    _,
                    code @ (RDKafkaErrorCode::InvalidTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::InvalidPartitions
                    | RDKafkaErrorCode::InvalidReplicationFactor
                    | RDKafkaErrorCode::InvalidConfig
                    | RDKafkaErrorCode::PolicyViolation),
                )) => {
                    return Err(Attempt::Permanent(TopicError::CreateRefused {
                        topic: topic.to_string(),
                        partitions: s.partitions,
                        replication_factor: s.replication_factor,
                        code,
                    }))
                }
                Err((_, code)) => {
                    return Err(Attempt::Retry(format!(
                        "CreateTopics for {topic:?}: {code}"
                    )))
                }
            }
        }
        Ok(())
    }
}

enum Attempt {
    Retry(String),
    Permanent(TopicError),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    #[test]
    fn topic_settings_default_to_one_and_pass_topic_configs() {
        let s = TopicSettings::from_connector(&cfg(&[])).unwrap();
        assert_eq!((s.partitions, s.replication_factor), (1, 1));
        let s = TopicSettings::from_connector(&cfg(&[
            ("topic.creation.default.partitions", "6"),
            ("topic.creation.default.replication.factor", "-1"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.default.include", ".*"),
        ]))
        .unwrap();
        assert_eq!((s.partitions, s.replication_factor), (6, 1));
        assert_eq!(
            s.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        let e =
            TopicSettings::from_connector(&cfg(&[("topic.creation.default.partitions", "zero")]))
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("topic.creation.default.partitions") && e.contains("zero"),
            "{e}"
        );
    }
}
