//! Source plugins: the [`Source`] trait and its adapter to the `source-connector` export.
//!
//! The implementing type is the task; the connector-level functions (`spec`, `validate`,
//! `task_configs`) are associated functions without `self`, because Kafka Connect's
//! connector object holds no state a task needs beyond its config.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::source::exports::sluice::connect::packed_source as packed_export;
use crate::bindings::source::exports::sluice::connect::source_commit as commit_export;
use crate::bindings::source::exports::sluice::connect::source_connector as export;
use crate::config::{Config, ConfigProblem, PluginSpec};
use crate::packed;
use crate::plugin::{self, Describe};
use crate::record::{SourcePosition, SourceRecord, TaskError};
use crate::wire;

/// A source connector and its task. Export it with [`export_source!`](crate::export_source).
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Counts up from zero.
/// struct Counter { topic: String, next: i64 }
///
/// impl Source for Counter {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("counter", "0.1.0")
///             .config(ConfigDef::string("topic").required().doc("Topic to write to."))
///     }
///     fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
///         let next = committed.iter().find_map(|p| p.offset.get_i64("n")).map_or(0, |n| n + 1);
///         Ok(Counter { topic: config.required_str("topic")?.to_string(), next })
///     }
///     fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
///         let schema = Schema::int64().into_ref();
///         Ok((0..max_records.min(10)).map(|_| {
///             let n = self.next;
///             self.next += 1;
///             SourceRecord::new(
///                 OffsetMap::new().with("counter", "0"),
///                 OffsetMap::new().with("n", n),
///                 Record::new(self.topic.clone()).with_value(Some(schema.clone()), n),
///             )
///         }).collect())
///     }
/// }
///
/// // In a plugin crate: sluice_plugin_sdk::export_source!(Counter);
/// # let mut c = Counter::open(Config::new(vec![("topic".into(), "t".into())]), vec![]).unwrap();
/// # assert_eq!(c.poll(3).unwrap().len(), 3);
/// ```
pub trait Source: Sized + 'static {
    /// Describes the plugin; read once when the host loads the component.
    fn spec() -> PluginSpec;

    /// Checks the config beyond what the [`ConfigDef`](crate::ConfigDef)s express (the host
    /// already checked required keys and types). Returns every problem found.
    fn validate(_config: &Config) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Splits the connector config into at most `max_tasks` task configs. The default runs
    /// one task with the connector's config.
    fn task_configs(config: &Config, _max_tasks: u32) -> Result<Vec<Config>, String> {
        Ok(vec![config.clone()])
    }

    /// Starts a task. `committed` holds every source position the host has committed for
    /// this connector, so the task can resume where it left off.
    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError>;

    /// Returns up to `max_records` new records; an empty vector means "nothing right now"
    /// (the host backs off briefly). Never block for long here.
    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError>;

    /// Kafka Connect's `SourceTask.commit()`: the host durably committed these source
    /// offsets (the newest of each partition since the last call), after Kafka acknowledged
    /// their records. Acknowledge them to the external system here (a replication slot, a
    /// queue), never earlier, for at-least-once delivery across crashes. Called between
    /// polls; the default does nothing.
    fn commit(&mut self, _committed: Vec<SourcePosition>) {}

    /// Called when the task stops; release external resources here.
    fn stop(&mut self) {}
}

/// The type the export macros bind the WIT exports to.
#[doc(hidden)]
pub struct SourceExport<T>(PhantomData<T>);

impl<T: Source> Describe for SourceExport<T> {
    const KIND: PluginKind = PluginKind::Source;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Source> export::Guest for SourceExport<T> {
    type SourceTask = SourceTaskExport<T>;

    fn task_configs(config: wit::Config, max_tasks: u32) -> Result<Vec<wit::Config>, String> {
        let config = plugin::config::<Self>(config);
        T::task_configs(&config, max_tasks)
            .map(|cs| cs.into_iter().map(Config::into_entries).collect())
    }
}

#[doc(hidden)]
pub struct SourceTaskExport<T>(RefCell<T>);

impl<T: Source> export::GuestSourceTask for SourceTaskExport<T> {
    fn open(
        config: wit::Config,
        committed: Vec<wit::SourcePosition>,
    ) -> Result<export::SourceTask, wit::TaskError> {
        let config = plugin::config::<SourceExport<T>>(config);
        let committed = committed.into_iter().map(wire::lift_position).collect();
        let task = T::open(config, committed).map_err(lower_task_error)?;
        Ok(export::SourceTask::new(SourceTaskExport(RefCell::new(
            task,
        ))))
    }

    fn poll(&self, max_records: u32) -> Result<wit::SourceBatch, wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        let records = self
            .0
            .borrow_mut()
            .poll(max_records)
            .map_err(lower_task_error)?;
        Ok(wire::lower_source_batch(records))
    }

    fn stop(&self) {
        let _counts = crate::metrics::FlushOnReturn;
        self.0.borrow_mut().stop();
    }
}

impl<T: Source> packed_export::Guest for SourceExport<T> {
    type PackedSourceTask = SourceTaskExport<T>;
}

/// The same task behind the packed interface: only `poll`'s batch is encoded differently.
impl<T: Source> packed_export::GuestPackedSourceTask for SourceTaskExport<T> {
    fn open(
        config: wit::Config,
        committed: Vec<wit::SourcePosition>,
    ) -> Result<packed_export::PackedSourceTask, wit::TaskError> {
        let config = plugin::config::<SourceExport<T>>(config);
        let committed = committed.into_iter().map(wire::lift_position).collect();
        let task = T::open(config, committed).map_err(lower_task_error)?;
        Ok(packed_export::PackedSourceTask::new(SourceTaskExport(
            RefCell::new(task),
        )))
    }

    fn poll(&self, max_records: u32) -> Result<Vec<u8>, wit::TaskError> {
        let _counts = crate::metrics::FlushOnReturn;
        let records = self
            .0
            .borrow_mut()
            .poll(max_records)
            .map_err(lower_task_error)?;
        let mut encoder = packed::Encoder::with_capacity(records.len());
        records.iter().for_each(|r| encoder.source_item(r));
        Ok(encoder.finish())
    }

    fn stop(&self) {
        let _counts = crate::metrics::FlushOnReturn;
        self.0.borrow_mut().stop();
    }
}

/// `SourceTask.commit()` for whichever task resource the host opened.
impl<T: Source> commit_export::Guest for SourceExport<T> {
    fn committed(task: export::SourceTaskBorrow<'_>, positions: Vec<wit::SourcePosition>) {
        let positions = positions.into_iter().map(wire::lift_position).collect();
        task.get::<SourceTaskExport<T>>()
            .0
            .borrow_mut()
            .commit(positions);
    }

    fn committed_packed(
        task: packed_export::PackedSourceTaskBorrow<'_>,
        positions: Vec<wit::SourcePosition>,
    ) {
        let positions = positions.into_iter().map(wire::lift_position).collect();
        task.get::<SourceTaskExport<T>>()
            .0
            .borrow_mut()
            .commit(positions);
    }
}

pub(crate) fn lower_task_error(e: TaskError) -> wit::TaskError {
    match e {
        TaskError::Retriable(m) => wit::TaskError::Retriable(m),
        TaskError::Fatal(m) => wit::TaskError::Fatal(m),
    }
}
