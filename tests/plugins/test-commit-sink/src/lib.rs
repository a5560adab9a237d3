//! Test-only sink `test-commit-sink`: Kafka Connect's `preCommit` and `close` as a plugin sees
//! them. It accepts every record, but says only whole groups of `commit.every` records per
//! partition are durable (as an object-store sink completing a file every N records): its
//! `pre_commit` answers each offered offset rounded down to a multiple of `commit.every`, and
//! leaves out partitions with no complete group. It logs each answer and each `close`, so the
//! tests can check what the host offered, committed and closed.

use sluice_plugin_sdk::{
    log, Config, ConfigDef, PluginSpec, Record, RecordFailure, Sink, TaskError,
    TopicPartitionOffset,
};

pub struct CommitSink {
    every: i64,
}

fn show(offsets: &[TopicPartitionOffset]) -> String {
    let parts: Vec<String> = offsets
        .iter()
        .map(|o| format!("{}-{}@{}", o.topic, o.partition, o.offset))
        .collect();
    format!("[{}]", parts.join(" "))
}

impl Sink for CommitSink {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-commit-sink", "0.1.0")
            .description("Test only: preCommit answers whole groups of commit.every records.")
            .config(ConfigDef::list("topics").doc("Topics to consume (handled by the host)."))
            .config(
                ConfigDef::int("commit.every")
                    .default("10")
                    .doc("Group size."),
            )
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let every = config
            .get("commit.every")
            .unwrap_or("10")
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| TaskError::fatal("commit.every must be a positive integer"))?;
        Ok(CommitSink { every })
    }

    fn put(&mut self, _records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        Ok(Vec::new())
    }

    fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        let answer: Vec<TopicPartitionOffset> = offsets
            .iter()
            .filter(|o| o.offset >= self.every)
            .map(|o| TopicPartitionOffset {
                offset: o.offset / self.every * self.every,
                ..o.clone()
            })
            .collect();
        log::info!(
            "test-commit-sink: pre-commit offered {} answered {}",
            show(offsets),
            show(&answer)
        );
        Ok(answer)
    }

    fn close(&mut self, partitions: &[(String, i32)]) {
        let parts: Vec<String> = partitions.iter().map(|(t, p)| format!("{t}-{p}")).collect();
        log::info!("test-commit-sink: close [{}]", parts.join(" "));
    }
}

sluice_plugin_sdk::export_sink!(CommitSink);
