//! Applying a connector's `errors.*` settings ([`ErrorSettings`]) to failed records: tolerance,
//! error logging and the sink dead letter queue.
//!
//! Design decision: a failed record is reported with its **original consumed bytes**
//! ([`OriginalRecord`]), kept by the sink loop for the whole batch, so the DLQ record is
//! byte-identical to what was consumed (Kafka Connect does the same). DLQ sends are flushed
//! (acknowledged) before the batch's offsets may be committed: a tolerated record is never
//! lost between the DLQ and the consumer group.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::plugin::TaskId;
use crate::config::{ErrorSettings, Tolerance};
use crate::kafka::{
    send_waiting, KafkaError, KafkaSettings, TopicCreator, TopicError, TopicSettings,
};
use crate::metrics::TaskMetrics;
use crate::spec::Config;

/// Why the reporter could not be set up, or why a failed record fails its task.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the dead letter queue producer: {0}")]
    DlqProducer(#[source] rdkafka::error::KafkaError),
    #[error(transparent)]
    DlqAdmin(#[from] KafkaError),
    /// `errors.tolerance=none`: the first failed record fails the task.
    #[error(
        "Tolerance exceeded in error handler: stage {stage} with class {class} failed for record {at}: {message}"
    )]
    ToleranceExceeded {
        stage: &'static str,
        class: String,
        /// `topic-partition@offset` of a consumed record, or "(a source record)".
        at: String,
        message: String,
    },
    #[error("stopped while creating the dead letter queue topic")]
    StoppedCreatingDlqTopic,
    #[error("cannot create the dead letter queue topic {topic:?}: {error}")]
    DlqTopic { topic: String, error: TopicError },
    #[error("cannot send record {at} to the dead letter queue {topic:?}: {error}")]
    DlqSend {
        at: String,
        topic: String,
        // Boxed: rdkafka's error is large and this path is rare.
        error: Box<rdkafka::error::KafkaError>,
    },
    #[error("dead letter queue records were not acknowledged before stop: {0}")]
    DlqUnacknowledged(#[source] rdkafka::error::KafkaError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the pipeline a record failed (Kafka's `Stage` enum names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }

    /// The Java exception class Kafka would report for a failure in this stage.
    fn exception_class(self) -> &'static str {
        match self {
            Stage::TaskPut => "org.apache.kafka.connect.errors.ConnectException",
            _ => "org.apache.kafka.connect.errors.DataException",
        }
    }
}

/// A consumed record exactly as it came from Kafka.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginalRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// One record's failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub stage: Stage,
    /// The class that was executing (converter, SMT, or the sink task).
    pub class: String,
    pub message: String,
}

/// A record's conversion that failed: through `errors.tolerance` when the record is at fault,
/// or the task's failure when a transient cause (an unreachable schema registry) outlasted
/// `errors.retry.*` — then the record is neither skipped nor sent to the DLQ, and its offset is
/// not committed, so nothing is lost.
#[derive(Debug, Clone)]
pub enum ConvertFailure {
    Record(Failure),
    Task(String),
}

impl ConvertFailure {
    /// A converter's error in `stage` of converter `class`; `message` says what failed.
    pub fn new(
        stage: Stage,
        class: &str,
        error: &crate::convert::ConvertError,
        message: String,
    ) -> ConvertFailure {
        if error.is_transient() {
            ConvertFailure::Task(format!(
                "{} {class}: {message} (still failing when errors.retry.timeout ran out)",
                stage.name()
            ))
        } else {
            ConvertFailure::Record(Failure {
                stage,
                class: class.to_string(),
                message,
            })
        }
    }
}

/// Applies `errors.*` to failed records of one task.
pub struct ErrorReporter {
    settings: ErrorSettings,
    task: TaskId,
    dlq: Option<Dlq>,
    /// The task's `task-error-metrics`.
    metrics: Option<Arc<TaskMetrics>>,
}

struct Dlq {
    topic: String,
    producer: BaseProducer,
    topics: TopicCreator,
    /// Sends since the last flush.
    pending: usize,
}

impl ErrorReporter {
    /// A reporter; opens the DLQ producer when a DLQ topic is configured.
    pub fn new(
        settings: ErrorSettings,
        task: TaskId,
        kafka: &KafkaSettings,
        connector_config: &Config,
    ) -> Result<Self> {
        let dlq = match &settings.dlq_topic {
            None => None,
            Some(topic) => {
                let mut pc = kafka.producer_config(&task.connector, task.task, connector_config);
                pc.set(
                    "client.id",
                    format!("connector-dlq-producer-{}-{}", task.connector, task.task),
                );
                let producer: BaseProducer = pc.create().map_err(Error::DlqProducer)?;
                let topics = TopicCreator::new(
                    kafka,
                    &format!("connector-dlq-adminclient-{}-{}", task.connector, task.task),
                    TopicSettings {
                        partitions: 1,
                        replication_factor: settings.dlq_replication_factor,
                        configs: Vec::new(),
                    },
                )?;
                Some(Dlq {
                    topic: topic.clone(),
                    producer,
                    topics,
                    pending: 0,
                })
            }
        };
        Ok(ErrorReporter {
            settings,
            task,
            dlq,
            metrics: None,
        })
    }

    /// Counts errors, skipped records and DLQ sends in the task's metrics.
    pub fn with_metrics(mut self, metrics: Arc<TaskMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn settings(&self) -> &ErrorSettings {
        &self.settings
    }

    /// Handles one failed record. `Err` when it is not tolerated: the task must fail.
    pub fn report(
        &mut self,
        failure: &Failure,
        original: Option<&OriginalRecord>,
        stop: &AtomicBool,
    ) -> Result<()> {
        let at = original
            .map(|o| format!("{}-{}@{}", o.topic, o.partition, o.offset))
            .unwrap_or_else(|| "(a source record)".into());
        // `metrics.enable=false`: nothing is counted, the error counters included.
        let metrics = self.metrics.as_deref().filter(|m| m.enabled());
        if let Some(m) = metrics {
            m.record_error();
        }
        if self.settings.tolerance == Tolerance::None {
            return Err(Error::ToleranceExceeded {
                stage: failure.stage.name(),
                class: failure.class.clone(),
                at,
                message: failure.message.clone(),
            });
        }
        if let Some(m) = metrics {
            m.records_skipped.inc();
        }
        if self.settings.log_enable {
            if let Some(m) = metrics {
                m.errors_logged.inc();
            }
            let record = match (original, self.settings.log_include_messages) {
                (Some(o), true) => format!(
                    ", where consumed record is {{topic='{}', partition={}, offset={}, timestamp={}}}",
                    o.topic,
                    o.partition,
                    o.offset,
                    o.timestamp.unwrap_or(-1)
                ),
                _ => String::new(),
            };
            tracing::error!(
                "Error encountered in task {}. Executing stage '{}' with class '{}'{record}: {}",
                self.task,
                failure.stage.name(),
                failure.class,
                failure.message
            );
        }
        let (Some(dlq), Some(o)) = (&mut self.dlq, original) else {
            return Ok(());
        };
        match dlq.topics.ensure(&dlq.topic, stop) {
            Ok(true) => {}
            Ok(false) => return Err(Error::StoppedCreatingDlqTopic),
            Err(error) => {
                return Err(Error::DlqTopic {
                    topic: dlq.topic.clone(),
                    error,
                })
            }
        }
        let mut headers = OwnedHeaders::new_with_capacity(o.headers.len() + 10);
        for (k, v) in &o.headers {
            headers = headers.insert(KafkaHeader {
                key: k,
                value: v.as_deref(),
            });
        }
        if self.settings.dlq_context_headers {
            let partition = o.partition.to_string();
            let offset = o.offset.to_string();
            let task = self.task.task.to_string();
            let exception = failure.stage.exception_class();
            let trace = format!("{exception}: {}", failure.message);
            let context: [(&str, &str); 10] = [
                ("__connect.errors.topic", &o.topic),
                ("__connect.errors.partition", &partition),
                ("__connect.errors.offset", &offset),
                ("__connect.errors.connector.name", &self.task.connector),
                ("__connect.errors.task.id", &task),
                ("__connect.errors.stage", failure.stage.name()),
                ("__connect.errors.class.name", &failure.class),
                ("__connect.errors.exception.class.name", exception),
                ("__connect.errors.exception.message", &failure.message),
                ("__connect.errors.exception.stacktrace", &trace),
            ];
            for (k, v) in context {
                headers = headers.insert(KafkaHeader {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&dlq.topic).headers(headers);
        if let Some(k) = &o.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &o.value {
            rec = rec.payload(v.as_slice());
        }
        if let Some(t) = o.timestamp.filter(|t| *t >= 0) {
            rec = rec.timestamp(t);
        }
        if let Some(m) = metrics {
            m.dlq_produce_requests.inc();
        }
        if let Err(error) = send_waiting(&dlq.producer, rec) {
            if let Some(m) = metrics {
                m.dlq_produce_failures.inc();
            }
            return Err(Error::DlqSend {
                at,
                topic: dlq.topic.clone(),
                error: Box::new(error),
            });
        }
        dlq.pending += 1;
        Ok(())
    }

    /// Waits until every DLQ record sent so far is acknowledged (before offsets advance).
    pub fn flush(&mut self, stop: &AtomicBool) -> Result<()> {
        let Some(dlq) = &mut self.dlq else {
            return Ok(());
        };
        if dlq.pending == 0 {
            return Ok(());
        }
        // `message.timeout.ms=0` keeps records queued while the broker is away: wait in
        // slices so a stop request is still honoured.
        loop {
            match dlq.producer.flush(Duration::from_millis(500)) {
                Ok(()) => {
                    dlq.pending = 0;
                    return Ok(());
                }
                Err(_) if !stop.load(std::sync::atomic::Ordering::Relaxed) => continue,
                Err(e) => return Err(Error::DlqUnacknowledged(e)),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reporter(settings: ErrorSettings, metrics: &Arc<TaskMetrics>) -> ErrorReporter {
        ErrorReporter::new(
            settings,
            TaskId {
                connector: "c".into(),
                task: 0,
            },
            &KafkaSettings::plain("127.0.0.1:1"),
            &Vec::new(),
        )
        .unwrap()
        .with_metrics(metrics.clone())
    }

    fn bad_json() -> (Failure, OriginalRecord) {
        (
            Failure {
                stage: Stage::ValueConverter,
                class: "org.apache.kafka.connect.json.JsonConverter".into(),
                message: "bad json".into(),
            },
            OriginalRecord {
                topic: "t".into(),
                partition: 0,
                offset: 7,
                timestamp: None,
                key: None,
                value: Some(b"{bad".to_vec()),
                headers: Vec::new(),
            },
        )
    }

    #[test]
    fn tolerance_none_fails_with_the_stage_class_and_position() {
        let metrics = TaskMetrics::detached(crate::spec::PluginKind::Sink);
        let mut r = reporter(ErrorSettings::default(), &metrics);
        let (failure, o) = bad_json();
        let err = r
            .report(&failure, Some(&o), &AtomicBool::new(false))
            .unwrap_err();
        assert_eq!(err.to_string(), "Tolerance exceeded in error handler: stage VALUE_CONVERTER with class org.apache.kafka.connect.json.JsonConverter failed for record t-0@7: bad json");
        // Counted as an error, not as skipped (the task fails).
        assert_eq!(
            (metrics.record_errors.get(), metrics.records_skipped.get()),
            (1, 0)
        );
        assert!(
            metrics
                .last_error_timestamp
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
    }

    /// `metrics.enable=false` turns the error counters off too, not only the throughput ones.
    #[test]
    fn disabled_metrics_count_no_error_skip_or_log() {
        let metrics = crate::metrics::Metrics::new(false).register_task(
            "c",
            0,
            crate::spec::PluginKind::Sink,
        );
        let settings = ErrorSettings {
            tolerance: Tolerance::All,
            log_enable: true,
            ..ErrorSettings::default()
        };
        let mut r = reporter(settings, &metrics);
        let (failure, o) = bad_json();
        r.report(&failure, Some(&o), &AtomicBool::new(false))
            .unwrap();
        assert_eq!(
            (
                metrics.record_errors.get(),
                metrics.record_failures.get(),
                metrics.records_skipped.get(),
                metrics.errors_logged.get(),
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(
            metrics
                .last_error_timestamp
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
