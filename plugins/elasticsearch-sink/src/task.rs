//! One Elasticsearch sink task: converts a `put`'s records, makes sure their indexes exist,
//! sends them and turns the outcomes into record failures or a task failure.

use std::collections::HashSet;

use sluice_plugin_sdk::{Record, RecordFailure, TaskError};

use crate::bulk::{Client, Outcome, Sleep};
use crate::config::EsConfig;
use crate::document::{convert, index_name, BulkOp, Converted};
use sluice_plugin_sdk::transport::Transport;

pub struct Task<T, S> {
    client: Client<T, S>,
    config: EsConfig,
    /// Indexes known to exist.
    indexes: HashSet<String>,
}

impl<T: Transport, S: Sleep> Task<T, S> {
    pub fn new(client: Client<T, S>, config: EsConfig) -> Self {
        Task {
            client,
            config,
            indexes: HashSet::new(),
        }
    }

    pub fn put(&mut self, records: &[Record]) -> Result<Vec<RecordFailure>, TaskError> {
        let mut failures = Vec::new();
        let mut ops: Vec<(u32, BulkOp)> = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            match convert(record, &self.config) {
                Converted::Op(op) => {
                    let index = index_name(&record.topic);
                    if !self.indexes.contains(&index) {
                        self.client.ensure_index(&index).map_err(TaskError::fatal)?;
                        self.indexes.insert(index);
                    }
                    ops.push((i as u32, op));
                }
                Converted::Skip => {}
                Converted::Fail(message) => failures.push(RecordFailure {
                    index: i as u32,
                    message,
                }),
            }
        }
        let refs: Vec<&BulkOp> = ops.iter().map(|(_, op)| op).collect();
        let outcomes = self.client.send(&refs).map_err(TaskError::fatal)?;
        for ((index, _), outcome) in ops.iter().zip(outcomes) {
            match outcome {
                Outcome::Done => {}
                Outcome::Report(message) => failures.push(RecordFailure {
                    index: *index,
                    message,
                }),
                Outcome::Fail(message) => return Err(TaskError::fatal(message)),
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }
}
