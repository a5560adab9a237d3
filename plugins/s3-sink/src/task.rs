//! One S3 sink task: routes records to their partition's writer, reports records that cannot
//! be written, and answers `preCommit` with the offsets of completed objects only.

use std::collections::{BTreeMap, HashMap};

use sluice_plugin_sdk::{log, Record, RecordFailure, TaskError, TopicPartitionOffset};

use crate::store::{Store, StoreError};
use crate::writer::{PartitionWriter, Settings, Written};

/// The task's state; generic over the store so the logic is tested without S3.
pub struct Task {
    settings: Settings,
    store: Box<dyn Store>,
    now: Box<dyn Fn() -> i64>,
    writers: BTreeMap<(String, i32), PartitionWriter>,
    /// Records that failed in a `put` that then failed as a whole: a retried `put` skips
    /// them (their writer has taken their offsets), so their failures are reported then.
    unreported: HashMap<(String, i32, i64), String>,
}

impl Task {
    pub fn new(settings: Settings, store: Box<dyn Store>, now: Box<dyn Fn() -> i64>) -> Task {
        Task {
            settings,
            store,
            now,
            writers: BTreeMap::new(),
            unreported: HashMap::new(),
        }
    }

    pub fn put(&mut self, records: &[Record]) -> Result<Vec<RecordFailure>, TaskError> {
        let now = (self.now)();
        let mut failures = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let partition = record.partition.unwrap_or(0);
            let writer = self
                .writers
                .entry((record.topic.clone(), partition))
                .or_insert_with(|| {
                    PartitionWriter::new(&record.topic, partition, &self.settings, now)
                });
            let offset = record.offset.unwrap_or(-1);
            let written = writer.write(record, &self.settings, self.store.as_mut(), now);
            match written {
                Ok(Written::Written) => {}
                Ok(Written::Skipped) => {
                    let key = (record.topic.clone(), partition, offset);
                    if let Some(message) = self.unreported.remove(&key) {
                        failures.push(RecordFailure {
                            index: index as u32,
                            message,
                        });
                    }
                }
                Ok(Written::Failed(message)) => failures.push(RecordFailure {
                    index: index as u32,
                    message,
                }),
                Err(e) => {
                    for f in failures {
                        let r = &records[f.index as usize];
                        self.unreported.insert(
                            (
                                r.topic.clone(),
                                r.partition.unwrap_or(0),
                                r.offset.unwrap_or(-1),
                            ),
                            f.message,
                        );
                    }
                    return Err(task_error(e));
                }
            }
        }
        Ok(failures)
    }

    /// Kafka Connect's `preCommit`: completes files whose scheduled rotation is due, then
    /// answers, per offered partition, the offset after its last completed object (never
    /// beyond the offered offset); partitions with nothing completed are left out.
    pub fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        let now = (self.now)();
        let mut answer = Vec::with_capacity(offsets.len());
        for o in offsets {
            let Some(writer) = self.writers.get_mut(&(o.topic.clone(), o.partition)) else {
                continue;
            };
            writer
                .rotate_if_scheduled(&self.settings, self.store.as_mut(), now)
                .map_err(task_error)?;
            if let Some(c) = writer.committable() {
                answer.push(TopicPartitionOffset {
                    offset: c.min(o.offset),
                    ..o.clone()
                });
            }
        }
        Ok(answer)
    }

    /// Kafka Connect's `close`: the partitions were revoked; their open files are abandoned
    /// (the next owner writes them again from the committed offset, under the same names).
    pub fn close(&mut self, partitions: &[(String, i32)]) {
        for tp in partitions {
            if let Some(mut w) = self.writers.remove(tp) {
                w.abandon(self.store.as_mut());
            }
        }
    }

    /// Abandons open files (their records are read again from the committed offsets).
    pub fn stop(&mut self) {
        for w in self.writers.values_mut() {
            w.abandon(self.store.as_mut());
        }
        self.writers.clear();
    }

    /// Keys of the files open now, per partition (tests).
    pub fn open_keys(&self) -> Vec<String> {
        self.writers.values().flat_map(|w| w.open_keys()).collect()
    }
}

fn task_error(e: StoreError) -> TaskError {
    match e {
        StoreError::Retriable(m) => {
            log::warn!("s3-sink: {m}");
            TaskError::retriable(m)
        }
        StoreError::Fatal(m) => TaskError::fatal(m),
    }
}
