//! Kafka Connect's "Connect Reporter" (Confluent's `reporter.*` connector keys): a sink's
//! per-record results and errors, written to Kafka topics by the worker on the plugin's behalf.
//!
//! Design decision: the worker owns the producer, because a plugin has no Kafka client and
//! should not need one to say "record 3 got this response". A sink hands over its reports
//! during `put` (`wasm/reporter.rs` buffers them); once `put` has returned, [`ConnectReporter`]
//! writes them and waits until Kafka acknowledged every one before the batch counts as done, so
//! a report is never behind the committed offsets. A retried `put` may report a record twice:
//! the guarantee is at least once, as for the records themselves.
//!
//! The records follow Confluent's HTTP sink: no key, the value as a JSON string (or the raw
//! text with `reporter.*.topic.value.format=string`), and the headers `input_record_offset`,
//! `input_record_timestamp`, `input_record_partition`, `input_record_topic` followed by the
//! ones the sink adds.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::plugin::TaskId;
use crate::config::{get, Config};
use crate::kafka::{
    send_waiting, KafkaError, KafkaSettings, TopicCreator, TopicError, TopicSettings,
};

pub const BOOTSTRAP_SERVERS: &str = "reporter.bootstrap.servers";
/// How long the worker waits for Kafka to acknowledge a put's reports before the task fails.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{key}={value:?} is not accepted: {reason}")]
    Config {
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("cannot create the reporter's producer: {0}")]
    Producer(#[source] rdkafka::error::KafkaError),
    #[error(transparent)]
    Admin(#[from] KafkaError),
    #[error("cannot create the reporter topic {topic:?}: {error}")]
    Topic { topic: String, error: TopicError },
    #[error("cannot send a report to {topic:?}: {error}")]
    Send {
        topic: String,
        error: Box<rdkafka::error::KafkaError>,
    },
    #[error("reports were not acknowledged by Kafka within {ACK_TIMEOUT:?}: {0}")]
    Unacknowledged(#[source] rdkafka::error::KafkaError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a report's text becomes the record value (`reporter.*.topic.value.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// A JSON string (Confluent's default): `"{\"id\":1}"`.
    Json,
    /// The text's UTF-8 bytes.
    String,
}

/// One reporter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTopic {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub value_format: ValueFormat,
}

/// The connector's `reporter.*` keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ReporterSettings {
    pub bootstrap_servers: String,
    /// `None`: the topic's name is empty (results or errors are not reported).
    pub result: Option<ReportTopic>,
    pub error: Option<ReportTopic>,
}

impl ReporterSettings {
    /// The reporter a connector configures, or `None` without `reporter.bootstrap.servers`.
    /// Topic names default to Confluent's `success-${connector}` and `error-${connector}`;
    /// `${connector}` is replaced by the connector's name.
    pub fn from_config(config: &Config, connector: &str) -> Result<Option<Self>> {
        let Some(servers) = get(config, BOOTSTRAP_SERVERS)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Ok(None);
        };
        Ok(Some(ReporterSettings {
            bootstrap_servers: servers.to_string(),
            result: report_topic(config, connector, "result", "success-${connector}")?,
            error: report_topic(config, connector, "error", "error-${connector}")?,
        }))
    }
}

fn report_topic(
    config: &Config,
    connector: &str,
    which: &str,
    default_name: &str,
) -> Result<Option<ReportTopic>> {
    let key = |k: &str| format!("reporter.{which}.topic.{k}");
    let name = get(config, &key("name")).unwrap_or(default_name).trim();
    if name.is_empty() {
        return Ok(None);
    }
    let count = |k: &str, default: i32| -> Result<i32> {
        let full = key(k);
        match get(config, &full).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(Error::Config {
                    key: full,
                    value: v.to_string(),
                    reason: "use a whole number of at least 1",
                }),
            },
        }
    };
    let format_key = key("value.format");
    let value_format = match get(config, &format_key)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("json") => ValueFormat::Json,
        Some("string") => ValueFormat::String,
        Some(other) => {
            return Err(Error::Config {
                key: format_key,
                value: other.to_string(),
                reason: "use json or string",
            })
        }
    };
    Ok(Some(ReportTopic {
        name: name.replace("${connector}", connector),
        partitions: count("partitions", 1)?,
        replication_factor: count("replication.factor", 3)?,
        value_format,
    }))
}

/// Which topic a report goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Result,
    Error,
}

/// The consumed record a report is about.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
}

/// One report, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub outcome: Outcome,
    pub input: InputRecord,
    pub value: String,
    pub headers: Vec<(String, String)>,
}

/// Writes one task's reports.
pub struct ConnectReporter {
    settings: ReporterSettings,
    producer: BaseProducer,
    result_topics: Option<TopicCreator>,
    error_topics: Option<TopicCreator>,
    /// Never set: topic creation waits for the reporter's brokers as long as they are away,
    /// as the put does (the put thread is not the one a stop request interrupts).
    never: AtomicBool,
}

impl ConnectReporter {
    pub fn new(settings: ReporterSettings, task: &TaskId) -> Result<Self> {
        let kafka = KafkaSettings::plain(settings.bootstrap_servers.clone());
        let mut pc = ClientConfig::new();
        pc.set("bootstrap.servers", &settings.bootstrap_servers)
            .set(
                "client.id",
                format!("connector-reporter-{}-{}", task.connector, task.task),
            )
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            // Bounded, so an unreachable reporter cluster fails the put instead of hanging.
            .set("message.timeout.ms", ACK_TIMEOUT.as_millis().to_string());
        let producer: BaseProducer = pc.create().map_err(Error::Producer)?;
        let creator = |t: &Option<ReportTopic>, which: &str| -> Result<Option<TopicCreator>> {
            let Some(t) = t else { return Ok(None) };
            Ok(Some(TopicCreator::new(
                &kafka,
                &format!(
                    "connector-reporter-{which}-admin-{}-{}",
                    task.connector, task.task
                ),
                TopicSettings {
                    partitions: t.partitions,
                    replication_factor: t.replication_factor,
                    configs: Vec::new(),
                },
            )?))
        };
        Ok(ConnectReporter {
            result_topics: creator(&settings.result, "result")?,
            error_topics: creator(&settings.error, "error")?,
            settings,
            producer,
            never: AtomicBool::new(false),
        })
    }

    /// Writes `reports` and waits until Kafka acknowledged all of them. Reports for a topic
    /// the connector left unnamed are dropped.
    pub fn send(&mut self, reports: Vec<Report>) -> Result<()> {
        let mut sent = 0usize;
        for report in reports {
            let (topic, creator) = match report.outcome {
                Outcome::Result => (&self.settings.result, &mut self.result_topics),
                Outcome::Error => (&self.settings.error, &mut self.error_topics),
            };
            let (Some(topic), Some(creator)) = (topic, creator) else {
                continue;
            };
            match creator.ensure(&topic.name, &self.never) {
                Ok(_) => {}
                Err(error) => {
                    return Err(Error::Topic {
                        topic: topic.name.clone(),
                        error,
                    })
                }
            }
            let value = match topic.value_format {
                ValueFormat::Json => serde_json::Value::String(report.value).to_string(),
                ValueFormat::String => report.value,
            };
            let input = &report.input;
            let offset = input.offset.to_string();
            let timestamp = input.timestamp.unwrap_or(-1).to_string();
            let partition = input.partition.to_string();
            let mut headers = OwnedHeaders::new_with_capacity(4 + report.headers.len());
            for (k, v) in [
                ("input_record_offset", offset.as_str()),
                ("input_record_timestamp", timestamp.as_str()),
                ("input_record_partition", partition.as_str()),
                ("input_record_topic", input.topic.as_str()),
            ]
            .into_iter()
            .chain(report.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                headers = headers.insert(KafkaHeader {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&topic.name)
                .payload(value.as_bytes())
                .headers(headers);
            send_waiting(&self.producer, record).map_err(|error| Error::Send {
                topic: topic.name.clone(),
                error: Box::new(error),
            })?;
            sent += 1;
        }
        if sent > 0 {
            self.producer
                .flush(ACK_TIMEOUT)
                .map_err(Error::Unacknowledged)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_bootstrap_servers_means_no_reporter() {
        let c = config(&[("reporter.result.topic.name", "ok")]);
        assert_eq!(ReporterSettings::from_config(&c, "c").unwrap(), None);
    }

    #[test]
    fn topics_default_to_confluents_names_and_an_empty_name_turns_one_off() {
        let c = config(&[(BOOTSTRAP_SERVERS, "b:9092")]);
        let s = ReporterSettings::from_config(&c, "orders")
            .unwrap()
            .unwrap();
        let result = s.result.unwrap();
        assert_eq!(result.name, "success-orders");
        assert_eq!(
            (
                result.partitions,
                result.replication_factor,
                result.value_format
            ),
            (1, 3, ValueFormat::Json)
        );
        assert_eq!(s.error.unwrap().name, "error-orders");

        let c = config(&[
            (BOOTSTRAP_SERVERS, "b:9092"),
            ("reporter.result.topic.name", ""),
            ("reporter.error.topic.name", "${connector}-failed"),
            ("reporter.error.topic.replication.factor", "1"),
            ("reporter.error.topic.partitions", "2"),
            ("reporter.error.topic.value.format", "STRING"),
        ]);
        let s = ReporterSettings::from_config(&c, "orders")
            .unwrap()
            .unwrap();
        assert_eq!(s.result, None);
        assert_eq!(
            s.error.unwrap(),
            ReportTopic {
                name: "orders-failed".into(),
                partitions: 2,
                replication_factor: 1,
                value_format: ValueFormat::String
            }
        );
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_accepted() {
        let c = config(&[
            (BOOTSTRAP_SERVERS, "b:9092"),
            ("reporter.result.topic.replication.factor", "0"),
        ]);
        let e = ReporterSettings::from_config(&c, "c").unwrap_err();
        assert_eq!(
            e.to_string(),
            "reporter.result.topic.replication.factor=\"0\" is not accepted: use a whole number of at least 1"
        );
        let c = config(&[
            (BOOTSTRAP_SERVERS, "b:9092"),
            ("reporter.error.topic.value.format", "avro"),
        ]);
        let e = ReporterSettings::from_config(&c, "c").unwrap_err();
        assert_eq!(
            e.to_string(),
            "reporter.error.topic.value.format=\"avro\" is not accepted: use json or string"
        );
    }
}
