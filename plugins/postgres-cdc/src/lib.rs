//! PostgreSQL change data capture as Debezium's PostgreSQL connector does it: logical
//! replication with the `pgoutput` plugin, Debezium's change event envelope, topics and schema
//! names (`io.debezium.connector.postgresql.PostgresConnector` is an alias), so consumers
//! written for Debezium work unchanged. docs/connectors/postgres-cdc.md is the user's page.
//!
//! Layout: `pgoutput` decodes the logical replication messages, `replication` the CopyBoth
//! frames around them, `types` maps column types to Connect schemas and values, `envelope`
//! builds Debezium's records.

pub mod catalog;
pub mod config;
pub mod envelope;
pub mod pgoutput;
pub mod replication;
pub mod snapshot;
pub mod stream;
pub mod task;
pub mod types;

use sluice_plugin_sdk::{
    Config, ConfigProblem, PluginSpec, Source, SourcePosition, SourceRecord, TaskError,
};

/// One capture task (Debezium's connector runs exactly one).
pub struct PostgresCdc(task::CdcTask);

impl Source for PostgresCdc {
    fn spec() -> PluginSpec {
        config::spec()
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        config::CdcConfig::parse(config).err().unwrap_or_default()
    }

    fn task_configs(config: &Config, _max_tasks: u32) -> Result<Vec<Config>, String> {
        // One slot, one ordered stream: one task, whatever tasks.max says (as Debezium).
        Ok(vec![config.clone()])
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let config = config::CdcConfig::parse(&config).map_err(|problems| {
            TaskError::fatal(
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.key, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        task::CdcTask::open(config, committed).map(PostgresCdc)
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        self.0.poll(max_records)
    }

    fn commit(&mut self, committed: Vec<SourcePosition>) {
        self.0.commit(committed)
    }

    fn stop(&mut self) {
        self.0.stop()
    }
}

sluice_plugin_sdk::export_source!(PostgresCdc);
