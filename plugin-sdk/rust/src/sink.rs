//! Sink plugins: the [`Sink`] trait and its adapter to the `sink-connector` export.
//!
//! Records the SDK cannot decode are reported as failures of their own (so they reach the
//! dead letter queue) and never reach [`Sink::put`]; failure indices the plugin returns are
//! mapped back to positions in the host's batch.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::sink::exports::sluice::connect::packed_sink as packed_export;
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

    /// [`put`](Self::put) over records borrowed from the host's batch: the topic and
    /// top-level string and bytes keys and values point into the batch rather than being
    /// copied (see [`RecordRef`]). The SDK calls this for every batch that reaches the plugin
    /// as packed bytes (hosts with the packed interfaces, i.e. Sluice); the default turns the
    /// records into owned [`Record`]s and calls `put`. A sink that only reads its records
    /// (writes them out, sends them on) can implement it to skip one allocation and copy per
    /// string; it must do what `put` does with the same records.
    fn put_borrowed(
        &mut self,
        records: Vec<RecordRef<'_>>,
    ) -> Result<Vec<RecordFailure>, TaskError> {
        self.put(records.into_iter().map(RecordRef::into_record).collect())
    }

    /// Makes everything accepted so far durable. The host commits `offsets` (next offset to
    /// read per partition) only after this returns `Ok`.
    fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        Ok(())
    }

    /// Called when the task stops.
    fn stop(&mut self) {}
}

#[doc(hidden)]
pub struct SinkExport<T>(PhantomData<T>);

impl<T: Sink> Describe for SinkExport<T> {
    const KIND: PluginKind = PluginKind::Sink;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Sink> export::Guest for SinkExport<T> {
    type SinkTask = SinkTaskExport<T>;

    fn task_configs(config: wit::Config, max_tasks: u32) -> Result<Vec<wit::Config>, String> {
        let config = plugin::config::<Self>(config);
        T::task_configs(&config, max_tasks)
            .map(|cs| cs.into_iter().map(Config::into_entries).collect())
    }
}

#[doc(hidden)]
pub struct SinkTaskExport<T>(RefCell<T>);

impl<T: Sink> export::GuestSinkTask for SinkTaskExport<T> {
    fn open(config: wit::Config) -> Result<export::SinkTask, wit::TaskError> {
        let config = plugin::config::<SinkExport<T>>(config);
        let task = T::open(config).map_err(lower_task_error)?;
        Ok(export::SinkTask::new(SinkTaskExport(RefCell::new(task))))
    }

    fn put(&self, batch: wit::Batch) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        self.put_lifted(wire::lift_batch(batch))
    }

    fn flush(&self, offsets: Vec<wit::TopicPartitionOffset>) -> Result<(), wit::TaskError> {
        self.flush_offsets(offsets)
    }

    fn stop(&self) {
        self.0.borrow_mut().stop();
    }
}

impl<T: Sink> SinkTaskExport<T> {
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
            for f in put(&mut self.0.borrow_mut(), records).map_err(lower_task_error)? {
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
        let offsets: Vec<TopicPartitionOffset> = offsets
            .into_iter()
            .map(|o| TopicPartitionOffset {
                topic: o.topic,
                partition: o.partition,
                offset: o.offset,
            })
            .collect();
        self.0
            .borrow_mut()
            .flush(&offsets)
            .map_err(lower_task_error)
    }
}

impl<T: Sink> packed_export::Guest for SinkExport<T> {
    type PackedSinkTask = SinkTaskExport<T>;
}

/// The same task behind the packed interface: only `put`'s batch is encoded differently.
impl<T: Sink> packed_export::GuestPackedSinkTask for SinkTaskExport<T> {
    fn open(config: wit::Config) -> Result<packed_export::PackedSinkTask, wit::TaskError> {
        let config = plugin::config::<SinkExport<T>>(config);
        let task = T::open(config).map_err(lower_task_error)?;
        Ok(packed_export::PackedSinkTask::new(SinkTaskExport(
            RefCell::new(task),
        )))
    }

    fn put(&self, records: Vec<u8>) -> Result<Vec<wit::RecordFailure>, wit::TaskError> {
        let lifted = packed::decode_batch_borrowed(&records).map_err(|e| {
            wit::TaskError::Fatal(format!("the host sent a malformed packed batch: {e}"))
        })?;
        self.put_decoded(lifted, |task, records| task.put_borrowed(records))
    }

    fn flush(&self, offsets: Vec<wit::TopicPartitionOffset>) -> Result<(), wit::TaskError> {
        self.flush_offsets(offsets)
    }

    fn stop(&self) {
        self.0.borrow_mut().stop();
    }
}
