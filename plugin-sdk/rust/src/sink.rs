//! Sink plugins: the [`Sink`] trait and its adapter to the `sink-connector` export.
//!
//! Records the SDK cannot decode are reported as failures of their own (so they reach the
//! dead letter queue) and never reach [`Sink::put`]; failure indices the plugin returns are
//! mapped back to positions in the host's batch. The adapter is generic over how packed
//! batches reach the plugin: as owned [`Record`]s for a plain [`Sink`], or borrowed for a
//! [`BorrowedSink`].

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::sink::exports::sluice::connect::packed_sink as packed_export;
use crate::bindings::sink::exports::sluice::connect::sink_commit as commit_export;
use crate::bindings::sink::exports::sluice::connect::sink_connector as export;
use crate::config::{Config, ConfigProblem, PluginSpec};
use crate::packed;
use crate::plugin::{self, Describe};
use crate::record::{Record, RecordFailure, RecordRef, TaskError, TopicPartitionOffset};
use crate::source::lower_task_error;
use crate::value::DataError;
use crate::wire;

/// A sink connector and its task. Export it with [`export_sink!`](crate::export_sink).
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Keeps string values in memory; fails records that are not strings.
/// struct Collect { lines: Vec<String> }
///
/// impl Sink for Collect {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("collect", "0.1.0").config(ConfigDef::list("topics"))
///     }
///     fn open(_config: Config) -> Result<Self, TaskError> {
///         Ok(Collect { lines: Vec::new() })
///     }
///     fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
///         let mut failures = Vec::new();
///         for (i, r) in records.into_iter().enumerate() {
///             match r.value {
///                 Value::String(s) => self.lines.push(s),
///                 _ => failures.push(RecordFailure { index: i as u32, message: "not a string".into() }),
///             }
///         }
///         Ok(failures)
///     }
/// }
/// # let mut s = Collect::open(Config::default()).unwrap();
/// # let f = s.put(vec![Record::new("t").with_value(None, "a"), Record::new("t")]).unwrap();
/// # assert_eq!(f[0].index, 1);
/// ```
pub trait Sink: Sized + 'static {
    /// Describes the plugin; read once when the host loads the component.
    fn spec() -> PluginSpec;

    /// Checks the config beyond what the config definitions express.
    fn validate(_config: &Config) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Splits the connector config into at most `max_tasks` task configs. The default gives
    /// every task the connector's config (`max_tasks` copies), as Kafka's FileStreamSink.
    fn task_configs(config: &Config, max_tasks: u32) -> Result<Vec<Config>, String> {
        Ok((0..max_tasks).map(|_| config.clone()).collect())
    }

    /// Starts a task.
    fn open(config: Config) -> Result<Self, TaskError>;

    /// Delivers a batch; the sink may buffer. Returns the records (by index in `records`)
    /// that were not written; every other record counts as accepted.
    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError>;

    /// Makes everything accepted so far durable. The host commits `offsets` (next offset to
    /// read per partition) only after this returns `Ok`.
    fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        Ok(())
    }

    /// Kafka Connect's `preCommit`: called instead of [`flush`](Sink::flush) before the host
    /// commits consumer offsets, with the same `offsets`. Returns the offsets the host may
    /// commit (the next offset to read per partition, at most the offered one); a partition
    /// left out is not committed this time and is offered again at the next commit. The
    /// default flushes and returns `offsets`. Override it when records become durable on the
    /// sink's own schedule (an object-store sink that completes a file every N records).
    ///
    /// ```
    /// use sluice_plugin_sdk::*;
    ///
    /// /// Durable only in whole groups of 10 records.
    /// struct Tens { next: i64 }
    ///
    /// impl Sink for Tens {
    ///     fn spec() -> PluginSpec { PluginSpec::new("tens", "0.1.0") }
    ///     fn open(_config: Config) -> Result<Self, TaskError> { Ok(Tens { next: 0 }) }
    ///     fn put(&mut self, _records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
    ///         Ok(Vec::new())
    ///     }
    ///     fn pre_commit(
    ///         &mut self,
    ///         offsets: &[TopicPartitionOffset],
    ///     ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
    ///         Ok(offsets.iter().map(|o| TopicPartitionOffset { offset: o.offset / 10 * 10, ..o.clone() }).collect())
    ///     }
    /// }
    /// # let mut t = Tens::open(Config::default()).unwrap();
    /// # let o = TopicPartitionOffset { topic: "t".into(), partition: 0, offset: 25 };
    /// # assert_eq!(t.pre_commit(&[o]).unwrap()[0].offset, 20);
    /// ```
    fn pre_commit(
        &mut self,
        offsets: &[TopicPartitionOffset],
    ) -> Result<Vec<TopicPartitionOffset>, TaskError> {
        self.flush(offsets)?;
        Ok(offsets.to_vec())
    }

    /// Kafka Connect's `close`: these (topic, partition)s were revoked from the task, after
    /// their last commit. Drop what is buffered for them: the next owner reads those records
    /// again from the committed offset. The default does nothing.
    fn close(&mut self, _partitions: &[(String, i32)]) {}

    /// Called when the task stops.
    fn stop(&mut self) {}
}

/// The borrowed-records fast path of a [`Sink`]: [`put`](Sink::put) over records borrowed
/// from the host's batch. Implement it next to `Sink` and export with
/// `export_sink!(MySink: BorrowedSink)`.
///
/// The topic and top-level string and bytes keys and values point into the batch the host
/// sent rather than being copied (see [`RecordRef`]); any other value arrives decoded. The
/// SDK calls `put_borrowed` for every batch that reaches the plugin as packed bytes (hosts
/// with the packed interfaces, i.e. Sluice) and `put` for the others, so both must write
/// the same for the same records. Worth it for a sink that only reads its records (writes
/// them out, sends them on): it skips one allocation and copy per string.
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Counts the bytes of string values.
/// struct CountBytes { total: usize }
///
/// impl Sink for CountBytes {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("count-bytes", "0.1.0")
///     }
///     fn open(_config: Config) -> Result<Self, TaskError> {
///         Ok(CountBytes { total: 0 })
///     }
///     fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
///         self.total += records.iter().filter_map(|r| r.value.as_str()).map(str::len).sum::<usize>();
///         Ok(Vec::new())
///     }
/// }
///
/// impl BorrowedSink for CountBytes {
///     fn put_borrowed(&mut self, records: Vec<RecordRef<'_>>) -> Result<Vec<RecordFailure>, TaskError> {
///         for r in &records {
///             match &r.value {
///                 ValueRef::Str(s) => self.total += s.len(),
///                 ValueRef::Owned(Value::String(s)) => self.total += s.len(),
///                 _ => {}
///             }
///         }
///         Ok(Vec::new())
///     }
/// }
///
/// // In a plugin crate: sluice_plugin_sdk::export_sink!(CountBytes: BorrowedSink);
/// # let mut s = CountBytes::open(Config::default()).unwrap();
/// # let record = Record::new("t").with_value(None, "abc");
/// # s.put_borrowed(vec![RecordRef::from(&record)]).unwrap();
/// # assert_eq!(s.total, 3);
/// ```
pub trait BorrowedSink: Sink {
    /// Delivers a batch of borrowed records; as [`Sink::put`].
    fn put_borrowed(
        &mut self,
        records: Vec<RecordRef<'_>>,
    ) -> Result<Vec<RecordFailure>, TaskError>;
}

#[doc(hidden)]
pub struct SinkExport<T, M>(PhantomData<(T, M)>);

impl<T: Sink, M: PackedRecords<T>> Describe for SinkExport<T, M> {
    const KIND: PluginKind = PluginKind::Sink;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Sink, M: PackedRecords<T>> export::Guest for SinkExport<T, M> {
    type SinkTask = SinkTaskExport<T, M>;

    fn task_configs(config: wit::Config, max_tasks: u32) -> Result<Vec<wit::Config>, String> {
        let config = plugin::config::<Self>(config);
        T::task_configs(&config, max_tasks)
            .map(|cs| cs.into_iter().map(Config::into_entries).collect())
    }
}

/// How the records of a packed batch reach the plugin. Named by the export macros only.
#[doc(hidden)]
pub trait PackedRecords<T: Sink>: Sized + 'static {
    /// Decodes `bytes` and puts the records.
    fn put(
        task: &SinkTaskExport<T, Self>,
        bytes: &[u8],
    ) -> Result<Vec<wit::RecordFailure>, wit::TaskError>;
}

/// A plain [`Sink`]: decoded into owned records for [`Sink::put`].
#[doc(hidden)]
pub struct OwnedRecords;

impl<T: Sink> PackedRecords<T> for OwnedRecords {
    fn put(
        task: &SinkTaskExport<T, Self>,
        bytes: &[u8],
    ) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let lifted = packed::decode_batch(bytes).map_err(malformed)?;
        task.put_decoded(lifted, |task, records| task.put(records))
    }
}

/// A [`BorrowedSink`]: records borrowing from the batch for [`BorrowedSink::put_borrowed`].
#[doc(hidden)]
pub struct BorrowedRecords;

impl<T: BorrowedSink> PackedRecords<T> for BorrowedRecords {
    fn put(
        task: &SinkTaskExport<T, Self>,
        bytes: &[u8],
    ) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let lifted = packed::decode_batch_borrowed(bytes).map_err(malformed)?;
        task.put_decoded(lifted, |task, records| task.put_borrowed(records))
    }
}

fn malformed(e: sluice_packed::Error) -> wit::TaskError {
    wit::TaskError::Fatal(format!("the host sent a malformed packed batch: {e}"))
}

#[doc(hidden)]
pub struct SinkTaskExport<T, M> {
    task: RefCell<T>,
    records: PhantomData<M>,
}

impl<T: Sink, M: PackedRecords<T>> SinkTaskExport<T, M> {
    fn start(config: wit::Config) -> Result<SinkTaskExport<T, M>, wit::TaskError> {
        let config = plugin::config::<SinkExport<T, M>>(config);
        Ok(SinkTaskExport {
            task: RefCell::new(T::open(config).map_err(lower_task_error)?),
            records: PhantomData,
        })
    }
}

impl<T: Sink, M: PackedRecords<T>> export::GuestSinkTask for SinkTaskExport<T, M> {
    fn open(config: wit::Config) -> Result<export::SinkTask, wit::TaskError> {
        Ok(export::SinkTask::new(Self::start(config)?))
    }

    fn put(&self, batch: wit::Batch) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        self.put_lifted(wire::lift_batch(batch))
    }

    fn flush(&self, offsets: Vec<wit::TopicPartitionOffset>) -> Result<(), wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        self.flush_offsets(offsets)
    }

    fn stop(&self) {
        let _counts = crate::metrics::FlushOnReturn;
        self.task.borrow_mut().stop();
    }
}

impl<T: Sink, M> SinkTaskExport<T, M> {
    /// `put` over records already decoded (structured).
    fn put_lifted(
        &self,
        lifted: Vec<Result<Record, DataError>>,
    ) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        self.put_decoded(lifted, |task, records| task.put(records))
    }

    /// Reports the records that could not be decoded, `put`s the others with `put`, and maps
    /// the failures `put` returns back to positions in the host's batch.
    fn put_decoded<R>(
        &self,
        lifted: Vec<Result<R, DataError>>,
        put: impl FnOnce(&mut T, Vec<R>) -> Result<Vec<RecordFailure>, TaskError>,
    ) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let mut failures = Vec::new();
        let mut records = Vec::with_capacity(lifted.len());
        // `positions[i]` is the host-batch index of `records[i]`.
        let mut positions = Vec::with_capacity(lifted.len());
        for (i, lifted) in lifted.into_iter().enumerate() {
            match lifted {
                Ok(r) => {
                    records.push(r);
                    positions.push(i as u32);
                }
                Err(e) => failures.push(wit::RecordFailure {
                    index: i as u32,
                    message: e.to_string(),
                }),
            }
        }
        if !records.is_empty() {
            for f in put(&mut self.task.borrow_mut(), records).map_err(lower_task_error)? {
                let index = positions.get(f.index as usize).copied().ok_or_else(|| {
                    wit::TaskError::Fatal(format!(
                        "plugin bug: put() reported a failure at index {} of a {}-record batch",
                        f.index,
                        positions.len()
                    ))
                })?;
                failures.push(wit::RecordFailure {
                    index,
                    message: f.message,
                });
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }

    fn flush_offsets(&self, offsets: Vec<wit::TopicPartitionOffset>) -> Result<(), wit::TaskError> {
        self.task
            .borrow_mut()
            .flush(&lift_offsets(offsets))
            .map_err(lower_task_error)
    }
}

fn lift_offsets(offsets: Vec<wit::TopicPartitionOffset>) -> Vec<TopicPartitionOffset> {
    offsets
        .into_iter()
        .map(|o| TopicPartitionOffset {
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
        })
        .collect()
}

impl<T: Sink, M: PackedRecords<T>> commit_export::Guest for SinkExport<T, M> {
    fn pre_commit(
        task: commit_export::PackedSinkTaskBorrow<'_>,
        offsets: Vec<wit::TopicPartitionOffset>,
    ) -> Result<Vec<wit::TopicPartitionOffset>, wit::TaskError> {
        let task = task.get::<SinkTaskExport<T, M>>();
        let answer = task
            .task
            .borrow_mut()
            .pre_commit(&lift_offsets(offsets))
            .map_err(lower_task_error)?;
        Ok(answer
            .into_iter()
            .map(|o| wit::TopicPartitionOffset {
                topic: o.topic,
                partition: o.partition,
                offset: o.offset,
            })
            .collect())
    }

    fn close(task: commit_export::PackedSinkTaskBorrow<'_>, partitions: Vec<(String, i32)>) {
        let task = task.get::<SinkTaskExport<T, M>>();
        task.task.borrow_mut().close(&partitions);
    }
}

impl<T: Sink, M: PackedRecords<T>> packed_export::Guest for SinkExport<T, M> {
    type PackedSinkTask = SinkTaskExport<T, M>;
}

/// The same task behind the packed interface: only `put`'s batch is encoded differently.
impl<T: Sink, M: PackedRecords<T>> packed_export::GuestPackedSinkTask for SinkTaskExport<T, M> {
    fn open(config: wit::Config) -> Result<packed_export::PackedSinkTask, wit::TaskError> {
        Ok(packed_export::PackedSinkTask::new(Self::start(config)?))
    }

    fn put(&self, records: Vec<u8>) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        M::put(self, &records)
    }

    fn flush(&self, offsets: Vec<wit::TopicPartitionOffset>) -> Result<(), wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        self.flush_offsets(offsets)
    }

    fn stop(&self) {
        let _counts = crate::metrics::FlushOnReturn;
        self.task.borrow_mut().stop();
    }
}
