//! `s3-sink`: Confluent's S3 sink connector (`io.confluent.connect.s3.S3SinkConnector`) as a
//! Sluice plugin: records become objects in an S3 bucket (or any S3-compatible store), named
//! and cut as Confluent's connector does, so existing configs and the tools reading the bucket
//! work unchanged.
//!
//! Design decision: exactly-once objects. Object names carry the first offset they hold and
//! file boundaries follow from the records (`flush.size`, `rotate.interval.ms` in record
//! time), and the task answers the host's `preCommit` with the offsets of completed objects
//! only. A crash replays from the last completed object and writes the same objects under the
//! same names again, overwriting instead of duplicating. Only `rotate.schedule.interval.ms`
//! (wall clock) and the `Wallclock` timestamp extractor give up that property, as in
//! Confluent's.
//!
//! The parts: [`config`] (keys and their checks), [`partitioner`] and [`path_format`]
//! (directories), [`format`] (JSON lines, raw bytes, Avro with [`avro`], Parquet with
//! [`parquet_file`]), [`writer`] (one Kafka partition's files
//! and rotations), [`store`] (the S3 client: SigV4 in [`sigv4`], retries, multipart uploads)
//! over [`transport`] (HTTP), and [`task`] (the sink task).

pub mod avro;
pub mod config;
pub mod format;
pub mod parquet_file;
pub mod partitioner;
pub mod path_format;
pub mod sigv4;
pub mod store;
pub mod task;
pub use sluice_plugin_sdk::transport;
pub mod writer;

#[cfg(test)]
mod writer_tests;

use sluice_plugin_sdk::{
    log, Config, ConfigProblem, PluginSpec, Record, RecordFailure, Sink, TaskError,
    TopicPartitionOffset,
};

use crate::store::{Clock, S3Client, SystemClock};

/// One S3 sink task.
pub struct S3Sink {
    task: task::Task,
}

impl Sink for S3Sink {
    fn spec() -> PluginSpec {
        PluginSpec::new("io.confluent.connect.s3.S3SinkConnector", "0.1.0")
            .alias("S3SinkConnector")
            .alias("s3-sink")
            .description(
                "Writes records to S3 (or an S3-compatible store) as objects named and rotated \
                 as Confluent's S3 sink does; commits offsets only for completed objects.",
            )
            .configs(config::defs())
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        config::compile(config).err().unwrap_or_default()
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let c =
            config::compile(&config).map_err(|problems| TaskError::invalid_config(&problems))?;
        log::info!(
            "s3-sink: writing to s3://{}/{} at {}://{}",
            c.endpoint.bucket,
            c.settings.topics_dir,
            c.endpoint.scheme,
            c.endpoint.authority
        );
        let client = S3Client::new(
            sluice_plugin_sdk::transport::WasiHttp::default(),
            SystemClock,
            c.endpoint,
            c.credentials,
            c.retries,
        );
        Ok(S3Sink {
            task: task::Task::new(
                c.settings,
                Box::new(client),
                Box::new(|| SystemClock.now_ms()),
            ),
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        self.task.put(&records)
    }

    fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        self.task.pre_commit(offsets)
    }

    fn close(&mut self, partitions: &[(String, i32)]) {
        self.task.close(partitions);
    }

    fn stop(&mut self) {
        self.task.stop();
    }
}

sluice_plugin_sdk::export_sink!(S3Sink);
