//! `elasticsearch-sink`: Confluent's Elasticsearch sink connector
//! (`io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`) as a Sluice plugin:
//! records become documents, written with the `_bulk` API.
//!
//! Design decision: a `put`'s records are sent (in bulk requests of `batch.size` /
//! `bulk.size.bytes`) before the `put` returns, so each record's fate — written, reported to
//! the dead letter queue, or failing the task — is known when the host advances its offset,
//! and `flush` has nothing left to do. Writes are idempotent: ids are the key (with the offset
//! as external version) or `topic+partition+offset`, so a replay overwrites, never duplicates.
//!
//! The parts: [`config`], [`document`] (a record as a bulk operation), [`bulk`] (requests,
//! retries and per-item errors) over [`transport`] (HTTP), and [`task`].
//!
//! Tested against a local HTTP server that checks the exact requests; not yet run against a
//! live Elasticsearch cluster.

pub mod bulk;
pub mod config;
pub mod document;
pub mod task;
pub use sluice_plugin_sdk::transport;

#[cfg(test)]
mod bulk_tests;

use sluice_plugin_sdk::{
    log, Config, ConfigProblem, PluginSpec, Record, RecordFailure, Sink, TaskError,
};

/// One Elasticsearch sink task.
pub struct ElasticsearchSink {
    task: task::Task<sluice_plugin_sdk::transport::WasiHttp, bulk::RealSleep>,
}

impl Sink for ElasticsearchSink {
    fn spec() -> PluginSpec {
        PluginSpec::new(
            "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "0.1.0",
        )
        .alias("ElasticsearchSinkConnector")
        .alias("elasticsearch-sink")
        .description(
            "Writes records to Elasticsearch indexes (one per topic) with the bulk API, as \
             Confluent's Elasticsearch sink does.",
        )
        .configs(config::defs())
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        config::compile(config).err().unwrap_or_default()
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let c =
            config::compile(&config).map_err(|problems| TaskError::invalid_config(&problems))?;
        log::info!("elasticsearch-sink: writing to {}", c.urls.join(", "));
        Ok(ElasticsearchSink {
            task: task::Task::new(
                bulk::Client::new(
                    sluice_plugin_sdk::transport::WasiHttp::default(),
                    bulk::RealSleep,
                    c.clone(),
                ),
                c,
            ),
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        self.task.put(&records)
    }
}

sluice_plugin_sdk::export_sink!(ElasticsearchSink);
