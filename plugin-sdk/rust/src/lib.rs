//! Write Sluice source, sink, transform and predicate plugins in ordinary Rust.
//!
//! A plugin is one WebAssembly component (built for `wasm32-wasip2`) that a Sluice worker
//! loads from its `plugin.path`. This crate hides the WIT bindings (`sluice:connect@0.1.0`)
//! behind four traits — [`Source`], [`Sink`], [`Transform`], [`Predicate`] — and a Connect
//! data model ([`Schema`], [`Value`], [`Struct`], [`Record`], [`SourceRecord`]); one
//! `export_*!` macro turns an implementation into the component's exports.
//!
//! Design note: data crosses the boundary in batches of flattened trees; the SDK converts
//! whole batches at once and interns schemas, so share one [`SchemaRef`] between the records
//! you build and a batch carries it once.
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! sluice-plugin-sdk = { path = "../plugin-sdk/rust" }
//! ```
//!
//! `src/lib.rs` — a transform that upper-cases string values:
//!
//! ```
//! use sluice_plugin_sdk::{log, Config, ConfigDef, Outcome, PluginSpec, Record, Transform, Value};
//!
//! pub struct Upper {
//!     skip_nulls: bool,
//! }
//!
//! impl Transform for Upper {
//!     fn spec() -> PluginSpec {
//!         PluginSpec::new("com.example.Upper", "0.1.0")
//!             .alias("upper")
//!             .description("Upper-cases string values.")
//!             .config(ConfigDef::boolean("skip.nulls").default(true).doc("Drop null values."))
//!     }
//!
//!     fn create(_class: &str, config: Config) -> Result<Self, String> {
//!         let skip_nulls = config.bool("skip.nulls")?;
//!         log::info!("upper: skip.nulls={skip_nulls}");
//!         Ok(Upper { skip_nulls })
//!     }
//!
//!     fn apply(&mut self, mut record: Record) -> Outcome {
//!         match record.value {
//!             Value::String(s) => {
//!                 record.value = Value::String(s.to_uppercase());
//!                 Outcome::Keep(record)
//!             }
//!             Value::Null if self.skip_nulls => Outcome::Drop,
//!             other => Outcome::Fail(format!("expected a string value, got {other:?}")),
//!         }
//!     }
//! }
//!
//! sluice_plugin_sdk::export_transform!(Upper);
//! # fn main() {
//! #     let mut t = Upper::create("upper", Config::with_defs(vec![], &Upper::spec().config)).unwrap_or_else(|e| panic!("{e}"));
//! #     assert!(matches!(t.apply(Record::new("t").with_value(None, "a")), Outcome::Keep(r) if r.value == Value::from("A")));
//! #     assert_eq!(t.apply(Record::new("t")), Outcome::Drop);
//! # }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component to drop into `plugin.path`.
//!
//! A panic in plugin code aborts the instance (a trap): the host fails that task only. Use
//! [`TaskError`], [`RecordFailure`], [`Outcome::Fail`] for expected failures.
//!
//! # Helpers for Kafka-compatible plugins
//!
//! [`java`] reproduces the Java library output Kafka's plugins expose (`Double.toString`,
//! `BigDecimal`, dates, schema type names); [`KeyValueClass`] and [`Side`] serve Kafka's
//! `…$Key` / `…$Value` transform pairs with one plugin.
//!
//! # The fast path (optional)
//!
//! Every plugin already crosses the boundary in packed batches (the SDK exports the packed
//! interfaces for it). Two opt-in traits go further, each implemented next to the basic
//! trait and named in the export macro:
//!
//! - [`StructPlans`]: a transform that rewrites a struct side the same way for every record
//!   of one schema describes that once per schema ([`StructPlan`]); the host then rewrites
//!   such records without calling the plugin. `export_transform!(MyTransform: StructPlans)`.
//! - [`BorrowedSink`]: a sink gets records whose strings and bytes point into the host's
//!   batch ([`RecordRef`]). `export_sink!(MySink: BorrowedSink)`.

#[doc(hidden)]
pub mod bindings;
mod config;
/// Outgoing HTTP (feature `http`): a blocking client on `wasi:http`, granted per connector by
/// `wasm.network.allow`.
#[cfg(feature = "http")]
pub mod http;
pub mod java;
pub mod json;
mod key_value;
pub mod log;
pub mod metrics;
mod packed;
mod plan;
mod plugin;
mod predicate;
mod problems;
mod record;
/// A sink's per-record results and errors for the connector's `reporter.*` topics (feature
/// `reporter`), written to Kafka by the worker.
#[cfg(feature = "reporter")]
pub mod reporter;
/// The `max.retries` / `retry.backoff.ms` keys HTTP-based sinks share.
pub mod retry;
mod schema;
mod sink;
mod source;
pub mod testing;
mod transform;
pub mod transport;
mod value;
mod wire;

pub use config::{
    Config, ConfigDef, ConfigError, ConfigProblem, ConfigType, FileAccess, Importance, PluginSpec,
};
pub use key_value::KeyValueClass;
pub use plan::{FieldSource, StructPlan, StructPlans};
pub use predicate::Predicate;
pub use problems::Problems;
pub use record::{
    Header, OffsetMap, OffsetValue, Record, RecordFailure, RecordRef, Side, SourcePosition,
    SourceRecord, TaskError, TimestampType, TopicPartitionOffset, ValueRef,
};
pub use schema::{logical, Field, Schema, SchemaCache, SchemaRef, SchemaType, StructSchemaBuilder};
pub use sink::{BorrowedSink, Sink};
pub use source::Source;
pub use transform::{Outcome, Transform};
pub use value::{DataError, Struct, Value};

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::packed::{NoPlans, WithPlans};
    pub use crate::predicate::PredicateExport;
    pub use crate::sink::{BorrowedRecords, OwnedRecords, SinkExport};
    pub use crate::source::SourceExport;
    pub use crate::transform::TransformExport;
}

/// Exports a [`Source`] implementation as the component's `source` world.
///
/// Use it once, at the top level of the plugin crate: `sluice_plugin_sdk::export_source!(MySource);`
#[macro_export]
macro_rules! export_source {
    ($ty:ty) => {
        // Native builds (unit tests of plugin logic) get no exports: the WIT export names
        // are not valid native symbol names. They still check the trait is implemented.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements<T: $crate::Source>() {}
            implements::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceExport = $crate::__private::SourceExport<$ty>;
    $crate::__private::bindings::plugin_world::__sluice_export_plugin_part!(
                __SluiceExport with_types_in $crate::__private::bindings::plugin_world);
    $crate::__private::bindings::source::__sluice_export_source_part!(
                __SluiceExport with_types_in $crate::__private::bindings::source);
        };
    };
}

/// Exports a [`Sink`] implementation as the component's `sink` world.
///
/// Use it once, at the top level of the plugin crate: `sluice_plugin_sdk::export_sink!(MySink);`,
/// or `export_sink!(MySink: BorrowedSink)` for a sink that also implements [`BorrowedSink`].
#[macro_export]
macro_rules! export_sink {
    ($ty:ty) => {
        $crate::__export_sink!($ty, $crate::Sink, $crate::__private::OwnedRecords);
    };
    ($ty:ty : BorrowedSink) => {
        $crate::__export_sink!(
            $ty,
            $crate::BorrowedSink,
            $crate::__private::BorrowedRecords
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_sink {
    ($ty:ty, $bound:path, $records:ty) => {
        // Native builds (unit tests of plugin logic) get no exports: the WIT export names
        // are not valid native symbol names. They still check the trait is implemented.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements<T: $bound>() {}
            implements::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceExport = $crate::__private::SinkExport<$ty, $records>;
    $crate::__private::bindings::plugin_world::__sluice_export_plugin_part!(
                __SluiceExport with_types_in $crate::__private::bindings::plugin_world);
    $crate::__private::bindings::sink::__sluice_export_sink_part!(
                __SluiceExport with_types_in $crate::__private::bindings::sink);
        };
    };
}

/// Exports a [`Transform`] implementation as the component's `transform` world.
///
/// Use it once, at the top level of the plugin crate: `sluice_plugin_sdk::export_transform!(MyTransform);`,
/// or `export_transform!(MyTransform: StructPlans)` for a transform that also implements
/// [`StructPlans`].
#[macro_export]
macro_rules! export_transform {
    ($ty:ty) => {
        $crate::__export_transform!($ty, $crate::Transform, $crate::__private::NoPlans);
    };
    ($ty:ty : StructPlans) => {
        $crate::__export_transform!($ty, $crate::StructPlans, $crate::__private::WithPlans);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_transform {
    ($ty:ty, $bound:path, $plans:ty) => {
        // Native builds (unit tests of plugin logic) get no exports: the WIT export names
        // are not valid native symbol names. They still check the trait is implemented.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements<T: $bound>() {}
            implements::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceExport = $crate::__private::TransformExport<$ty, $plans>;
    $crate::__private::bindings::plugin_world::__sluice_export_plugin_part!(
                __SluiceExport with_types_in $crate::__private::bindings::plugin_world);
    $crate::__private::bindings::transform::__sluice_export_transform_part!(
                __SluiceExport with_types_in $crate::__private::bindings::transform);
        };
    };
}

/// Exports a [`Predicate`] implementation as the component's `predicate` world.
///
/// Use it once, at the top level of the plugin crate: `sluice_plugin_sdk::export_predicate!(MyPredicate);`
#[macro_export]
macro_rules! export_predicate {
    ($ty:ty) => {
        // Native builds (unit tests of plugin logic) get no exports: the WIT export names
        // are not valid native symbol names. They still check the trait is implemented.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements<T: $crate::Predicate>() {}
            implements::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceExport = $crate::__private::PredicateExport<$ty>;
    $crate::__private::bindings::plugin_world::__sluice_export_plugin_part!(
                __SluiceExport with_types_in $crate::__private::bindings::plugin_world);
    $crate::__private::bindings::predicate::__sluice_export_predicate_part!(
                __SluiceExport with_types_in $crate::__private::bindings::predicate);
        };
    };
}
