//! `datagen`: a deterministic source of demo data (`users` or `orders`) for quickstarts and
//! loss/duplicate checks.
//!
//! Record `i` (0, 1, 2, …) is a pure function of `(seed, i)` — see [`generate`] — and its
//! source offset is `{"seq": i}` in partition `{"datagen": <topic>}`, so a restarted task
//! resumes right after the last committed record and a consumer can verify that it saw
//! every `seq` exactly once. Timestamps derive from `i`, never from the clock; only the
//! optional `rate` limit reads the (monotonic) clock.
//!
//! With `tasks.max` = n > 1 the connector runs n tasks: task k produces the records
//! `i ≡ k (mod n)` (k, k+n, k+2n, …) with source partition `{"datagen": <topic>, "task": k}`,
//! so together they produce exactly the records one task would, and each resumes on its own.
//! One task keeps the partition without `task`, so its stored offsets stay valid.

pub mod generate;

use std::time::Instant;

use generate::{Generator, Quickstart};
use sluice_plugin_sdk::{
    log, Config, ConfigDef, ConfigProblem, Importance, OffsetMap, PluginSpec, Record, Source,
    SourcePosition, SourceRecord, TaskError,
};

const TOPIC: &str = "topic";
const QUICKSTART: &str = "quickstart";
const COUNT: &str = "count";
const RATE: &str = "rate";
const BATCH_SIZE: &str = "batch.size";
const SEED: &str = "seed";
const PARTITION_FIELD: &str = "datagen";
const OFFSET_FIELD: &str = "seq";
const TASK_FIELD: &str = "task";
/// Internal task-config keys: this task's index and the number of tasks.
const TASK_INDEX: &str = "datagen.task.index";
const TASK_COUNT: &str = "datagen.task.count";

/// One datagen task.
pub struct Datagen {
    topic: String,
    generator: Generator,
    /// Next record index.
    next: u64,
    /// This task's index and the number of tasks (records `index`, `index + tasks`, …).
    index: u64,
    tasks: u64,
    /// Total records to produce; `None` = unlimited.
    count: Option<u64>,
    /// Records per second; `None` = as fast as possible.
    rate: Option<f64>,
    batch_size: u64,
    /// Start of rate limiting and the index produced at that moment.
    started: Option<(Instant, u64)>,
    announced_done: bool,
}

struct Settings {
    topic: String,
    quickstart: Quickstart,
    count: Option<u64>,
    rate: Option<f64>,
    batch_size: u64,
    seed: u64,
}

fn settings(config: &Config) -> Result<Settings, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem {
            key: key.into(),
            message,
        })
    };
    let topic = config.optional_str(TOPIC).unwrap_or_default().to_string();
    if topic.trim().is_empty() {
        problem(
            TOPIC,
            "missing required key: name the topic to write to".into(),
        );
    }
    let quickstart = match config.one_of(QUICKSTART, &["users", "orders"]) {
        Ok(Some("orders")) => Quickstart::Orders,
        Ok(_) => Quickstart::Users,
        Err(e) => {
            problem(QUICKSTART, e.message);
            Quickstart::Users
        }
    };
    let count = match config.optional_int(COUNT) {
        Ok(Some(n)) if n >= 0 => Some(n as u64),
        Ok(Some(-1)) | Ok(None) => None,
        Ok(Some(n)) => {
            problem(
                COUNT,
                format!("{n} is not valid; use -1 (unlimited) or a number of records"),
            );
            None
        }
        Err(e) => {
            problem(COUNT, e.message);
            None
        }
    };
    let rate = match config.optional_double(RATE) {
        Ok(Some(r)) if r > 0.0 && r.is_finite() => Some(r),
        Ok(Some(r)) if r != 0.0 => {
            problem(
                RATE,
                format!("{r} is not valid; use 0 (as fast as possible) or records per second"),
            );
            None
        }
        Ok(_) => None,
        Err(e) => {
            problem(RATE, e.message);
            None
        }
    };
    let batch_size = match config.optional_int(BATCH_SIZE) {
        Ok(Some(n)) if n >= 1 => n as u64,
        Ok(Some(n)) => {
            problem(
                BATCH_SIZE,
                format!("{n} is not valid; use a positive number of records"),
            );
            1
        }
        Ok(None) => 1000,
        Err(e) => {
            problem(BATCH_SIZE, e.message);
            1
        }
    };
    let seed = match config.optional_int(SEED) {
        Ok(v) => v.unwrap_or(0) as u64,
        Err(e) => {
            problem(SEED, e.message);
            0
        }
    };
    if problems.is_empty() {
        Ok(Settings {
            topic,
            quickstart,
            count,
            rate,
            batch_size,
            seed,
        })
    } else {
        Err(problems)
    }
}

impl Source for Datagen {
    fn spec() -> PluginSpec {
        PluginSpec::new("datagen", "0.1.0")
            .alias("io.sluice.DatagenConnector")
            .description("Generates deterministic demo records (users or orders); record i depends only on (seed, i).")
            .config(ConfigDef::string(TOPIC).required().importance(Importance::High).doc("Topic to write to."))
            .config(
                ConfigDef::string(QUICKSTART)
                    .default("users")
                    .recommended(["users", "orders"])
                    .doc("Data set: `users` (io.sluice.datagen.User) or `orders` (io.sluice.datagen.Order)."),
            )
            .config(ConfigDef::long(COUNT).default(-1).doc("Total records to produce; -1 for unlimited."))
            .config(ConfigDef::double(RATE).default(0).doc("Records per second per task; 0 for as fast as possible."))
            .config(ConfigDef::int(BATCH_SIZE).default(1000).importance(Importance::Low).doc("Maximum records per poll."))
            .config(ConfigDef::long(SEED).default(0).doc("Seed of the generator; the same seed gives the same records."))
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        settings(config).err().unwrap_or_default()
    }

    fn task_configs(config: &Config, max_tasks: u32) -> Result<Vec<Config>, String> {
        if max_tasks <= 1 {
            return Ok(vec![config.clone()]);
        }
        Ok((0..max_tasks)
            .map(|k| {
                let mut c = config.clone();
                c.set(TASK_INDEX, k.to_string());
                c.set(TASK_COUNT, max_tasks.to_string());
                c
            })
            .collect())
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let s = settings(&config).map_err(|problems| TaskError::invalid_config(&problems))?;
        let number = |key: &str| config.get(key).and_then(|v| v.parse::<u64>().ok());
        let tasks = number(TASK_COUNT).unwrap_or(1).max(1);
        let index = number(TASK_INDEX).unwrap_or(0).min(tasks - 1);
        let task = (tasks > 1).then_some(index as i64);
        let next = committed
            .iter()
            .filter(|p| p.partition.get_str(PARTITION_FIELD) == Some(&s.topic))
            .filter(|p| p.partition.get_i64(TASK_FIELD) == task)
            .filter_map(|p| p.offset.get_i64(OFFSET_FIELD))
            .max()
            .map_or(index, |seq| (seq as u64).saturating_add(tasks));
        if next > index {
            log::info!("datagen: resuming {} after seq {}", s.topic, next - tasks);
        }
        Ok(Datagen {
            topic: s.topic,
            generator: Generator::new(s.quickstart, s.seed),
            next,
            index,
            tasks,
            count: s.count,
            rate: s.rate,
            batch_size: s.batch_size,
            started: None,
            announced_done: false,
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        // `n` counts this task's records: every `tasks`-th index from `next` on.
        let mut n = self.batch_size.min(u64::from(max_records.max(1)));
        if let Some(count) = self.count {
            n = n.min(count.saturating_sub(self.next).div_ceil(self.tasks));
            if n == 0 {
                if !self.announced_done {
                    log::info!("datagen: produced all {count} records to {}", self.topic);
                    self.announced_done = true;
                }
                return Ok(Vec::new());
            }
        }
        if let Some(rate) = self.rate {
            let (start, first) = *self
                .started
                .get_or_insert_with(|| (Instant::now(), self.next));
            let allowed = (start.elapsed().as_secs_f64() * rate) as u64 + 1;
            let produced = (self.next - first) / self.tasks;
            n = n.min(allowed.saturating_sub(produced));
        }
        let records = (0..n)
            .map(|j| self.source_record(self.next + j * self.tasks))
            .collect();
        self.next += n * self.tasks;
        Ok(records)
    }
}

impl Datagen {
    fn source_record(&self, i: u64) -> SourceRecord {
        let g = self.generator.record(i);
        let mut partition = OffsetMap::new().with(PARTITION_FIELD, self.topic.as_str());
        if self.tasks > 1 {
            partition = partition.with(TASK_FIELD, self.index as i64);
        }
        SourceRecord::new(
            partition,
            OffsetMap::new().with(OFFSET_FIELD, i as i64),
            Record::new(self.topic.as_str())
                .with_key(Some(self.generator.key_schema.clone()), g.key)
                .with_value(Some(self.generator.value_schema.clone()), g.value)
                .with_timestamp(g.timestamp),
        )
    }
}

sluice_plugin_sdk::export_source!(Datagen);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Value;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &Datagen::spec().config)
    }

    fn seqs(records: &[SourceRecord]) -> Vec<i64> {
        records
            .iter()
            .map(|r| r.source_offset.get_i64(OFFSET_FIELD).unwrap())
            .collect()
    }

    #[test]
    fn produces_count_records_in_batches_then_nothing() {
        let mut task = Datagen::open(
            config(&[("topic", "t"), ("count", "5"), ("batch.size", "2")]),
            vec![],
        )
        .unwrap();
        assert_eq!(seqs(&task.poll(100).unwrap()), vec![0, 1]);
        assert_eq!(seqs(&task.poll(100).unwrap()), vec![2, 3]);
        assert_eq!(seqs(&task.poll(1).unwrap()), vec![4]);
        assert!(task.poll(100).unwrap().is_empty());
    }

    /// Two tasks split the records by index parity, each in its own source partition, and
    /// each resumes from its own committed offset.
    #[test]
    fn tasks_split_the_sequence_and_resume_apart() {
        let c = config(&[("topic", "t"), ("count", "7"), ("batch.size", "10")]);
        let configs = Datagen::task_configs(&c, 2).unwrap();
        assert_eq!(configs.len(), 2);
        assert_eq!(Datagen::task_configs(&c, 1).unwrap(), vec![c.clone()]);
        let mut t0 = Datagen::open(configs[0].clone(), vec![]).unwrap();
        let mut t1 = Datagen::open(configs[1].clone(), vec![]).unwrap();
        let r0 = t0.poll(100).unwrap();
        assert_eq!(seqs(&r0), vec![0, 2, 4, 6]);
        assert_eq!(seqs(&t1.poll(100).unwrap()), vec![1, 3, 5]);
        assert!(t0.poll(100).unwrap().is_empty() && t1.poll(100).unwrap().is_empty());
        assert_eq!(r0[0].source_partition.get_i64(TASK_FIELD), Some(0));
        // Task 1 committed seq 3, task 0 nothing: each resumes on its own.
        let committed = vec![
            SourcePosition {
                partition: OffsetMap::new()
                    .with(PARTITION_FIELD, "t")
                    .with(TASK_FIELD, 1i64),
                offset: OffsetMap::new().with(OFFSET_FIELD, 3i64),
            },
            // A single task's offset is not either task's.
            SourcePosition {
                partition: OffsetMap::new().with(PARTITION_FIELD, "t"),
                offset: OffsetMap::new().with(OFFSET_FIELD, 5i64),
            },
        ];
        let mut t0 = Datagen::open(configs[0].clone(), committed.clone()).unwrap();
        let mut t1 = Datagen::open(configs[1].clone(), committed).unwrap();
        assert_eq!(seqs(&t0.poll(100).unwrap()), vec![0, 2, 4, 6]);
        assert_eq!(seqs(&t1.poll(100).unwrap()), vec![5]);
    }

    #[test]
    fn resumes_after_the_committed_seq_with_identical_records() {
        let mut first = Datagen::open(
            config(&[("topic", "t"), ("quickstart", "orders"), ("seed", "9")]),
            vec![],
        )
        .unwrap();
        let all = first.poll(10).unwrap();
        let committed = vec![SourcePosition {
            partition: OffsetMap::new().with(PARTITION_FIELD, "t"),
            offset: OffsetMap::new().with(OFFSET_FIELD, 4i64),
        }];
        let mut resumed = Datagen::open(
            config(&[("topic", "t"), ("quickstart", "orders"), ("seed", "9")]),
            committed,
        )
        .unwrap();
        let rest = resumed.poll(5).unwrap();
        assert_eq!(seqs(&rest), vec![5, 6, 7, 8, 9]);
        assert_eq!(rest, all[5..].to_vec());
        assert_eq!(rest[0].record.key, Value::from("order_5"));
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let problems = Datagen::validate(&config(&[
            ("quickstart", "pets"),
            ("count", "-5"),
            ("rate", "x"),
        ]));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec![TOPIC, QUICKSTART, COUNT, RATE]);
        assert!(
            problems[1].message.contains("users, orders"),
            "{}",
            problems[1].message
        );
    }

    #[test]
    fn rate_limits_without_blocking() {
        let mut task = Datagen::open(config(&[("topic", "t"), ("rate", "1")]), vec![]).unwrap();
        // At 1 record/s the first poll may take one record, the next (immediately) none.
        assert_eq!(task.poll(100).unwrap().len(), 1);
        assert!(task.poll(100).unwrap().is_empty());
    }
}
