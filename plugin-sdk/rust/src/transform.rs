//! Single message transforms: the [`Transform`] trait and its adapter to the `transforms`
//! export.
//!
//! The plugin sees one record at a time, but the WASM call stays batched: the SDK lifts the
//! whole batch, loops over it, and lowers every kept record into one shared schema table.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::transform::exports::sluice::connect::packed_transforms as packed_export;
use crate::bindings::transform::exports::sluice::connect::transform_plans as plans_export;
use crate::bindings::transform::exports::sluice::connect::transforms as export;
use crate::config::{Config, ConfigProblem, PluginSpec};
use crate::packed;
use crate::plan::StructPlan;
use crate::plugin::{self, Describe};
use crate::record::{Record, Side};
use crate::schema::SchemaRef;
use crate::wire;

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The (possibly changed or re-routed) record.
    Keep(Record),
    /// Filtered out; its offset still counts as processed.
    Drop,
    /// This record could not be transformed (Connect's `DataException`).
    Fail(String),
}

/// A single message transform. Export it with [`export_transform!`](crate::export_transform).
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Routes every record to `<prefix><topic>`.
/// struct Prefix { prefix: String }
///
/// impl Transform for Prefix {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("prefix", "0.1.0").config(ConfigDef::string("prefix").required())
///     }
///     fn create(_class: &str, config: Config) -> Result<Self, String> {
///         Ok(Prefix { prefix: config.required_str("prefix")?.to_string() })
///     }
///     fn apply(&mut self, mut record: Record) -> Outcome {
///         record.topic = format!("{}{}", self.prefix, record.topic);
///         Outcome::Keep(record)
///     }
/// }
/// # let mut t = Prefix::create("prefix", Config::new(vec![("prefix".into(), "x-".into())])).unwrap();
/// # assert!(matches!(t.apply(Record::new("a")), Outcome::Keep(r) if r.topic == "x-a"));
/// ```
pub trait Transform: Sized + 'static {
    /// Describes the plugin; read once when the host loads the component.
    fn spec() -> PluginSpec;

    /// Checks the config beyond what the config definitions express.
    fn validate(_config: &Config) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Configures one instance (`transforms.<alias>.*` with the prefix removed). `class` is
    /// the configured `transforms.<alias>.type`: the spec name or one of its aliases, so one
    /// plugin can serve Kafka's `…$Key` and `…$Value` classes.
    fn create(class: &str, config: Config) -> Result<Self, String>;

    /// Transforms one record.
    fn apply(&mut self, record: Record) -> Outcome;

    /// The side whose struct [`struct_plan`](Self::struct_plan) rewrites, or `None` (the
    /// default) when this transform has no plans and every record goes through `apply`.
    fn plan_side(&self) -> Option<Side> {
        None
    }

    /// An optional fast path (see [`StructPlan`]): how every record whose
    /// [`plan_side`](Self::plan_side) is a non-null struct of schema `input` is rewritten.
    /// The plan must produce exactly what `apply` would. `None` (the default) sends such
    /// records through `apply`. Called once per input schema, not per record.
    fn struct_plan(&mut self, _input: &SchemaRef) -> Option<StructPlan> {
        None
    }
}

#[doc(hidden)]
pub struct TransformExport<T>(PhantomData<T>);

impl<T: Transform> Describe for TransformExport<T> {
    const KIND: PluginKind = PluginKind::Transform;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Transform> export::Guest for TransformExport<T> {
    type Transformer = TransformerExport<T>;
}

#[doc(hidden)]
pub struct TransformerExport<T>(RefCell<T>, RefCell<packed::PlanCache>);

impl<T> TransformerExport<T> {
    fn new(transform: T) -> TransformerExport<T> {
        TransformerExport(RefCell::new(transform), RefCell::default())
    }
}

impl<T: Transform> export::GuestTransformer for TransformerExport<T> {
    fn create(class: String, config: wit::Config) -> Result<export::Transformer, String> {
        let config = plugin::config::<TransformExport<T>>(config);
        let transform = T::create(&class, config)?;
        Ok(export::Transformer::new(TransformerExport::new(transform)))
    }

    fn apply(&self, batch: wit::Batch) -> export::TransformOutput {
        let mut transform = self.0.borrow_mut();
        let mut lowerer = wire::Lowerer::new();
        let outcomes = wire::lift_batch(batch)
            .into_iter()
            .map(|lifted| match lifted {
                Err(e) => export::Outcome::Fail(e.to_string()),
                Ok(record) => match transform.apply(record) {
                    Outcome::Keep(r) => export::Outcome::Keep(lowerer.record(r)),
                    Outcome::Drop => export::Outcome::Drop,
                    Outcome::Fail(m) => export::Outcome::Fail(m),
                },
            })
            .collect();
        export::TransformOutput {
            schemas: lowerer.finish(),
            outcomes,
        }
    }
}

impl<T: Transform> packed_export::Guest for TransformExport<T> {
    type PackedTransformer = TransformerExport<T>;
}

/// The same transformer behind the packed interface.
impl<T: Transform> packed_export::GuestPackedTransformer for TransformerExport<T> {
    fn create(
        class: String,
        config: wit::Config,
    ) -> Result<packed_export::PackedTransformer, String> {
        let config = plugin::config::<TransformExport<T>>(config);
        let transform = T::create(&class, config)?;
        Ok(packed_export::PackedTransformer::new(
            TransformerExport::new(transform),
        ))
    }

    fn apply(&self, records: Vec<u8>) -> Vec<u8> {
        let mut transform = self.0.borrow_mut();
        let mut plans = self.1.borrow_mut();
        match packed::apply_transform(&mut *transform, &records, &mut plans) {
            Ok(out) => out,
            // The host encoded this batch itself: bytes it cannot have meant are a host bug,
            // and trapping puts that in the task's trace instead of inventing outcomes.
            Err(e) => panic!("the host sent a malformed packed batch: {e}"),
        }
    }
}

/// Struct plans for the host (`transform-plans`): the same transformer's
/// [`Transform::plan_side`] and [`Transform::struct_plan`], so the host can rewrite the
/// records a plan fits without calling `apply`.
impl<T: Transform> plans_export::Guest for TransformExport<T> {
    fn plan_side(
        transformer: plans_export::PackedTransformerBorrow<'_>,
    ) -> Option<plans_export::Side> {
        let t = transformer.get::<TransformerExport<T>>();
        let side = t.0.borrow().plan_side();
        side.map(|s| match s {
            Side::Key => plans_export::Side::Key,
            Side::Value => plans_export::Side::Value,
        })
    }

    fn struct_plan(
        transformer: plans_export::PackedTransformerBorrow<'_>,
        input: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let t = transformer.get::<TransformerExport<T>>();
        let mut transform = t.0.borrow_mut();
        match packed::struct_plan(&mut *transform, &input) {
            Ok(plan) => plan,
            // As in `apply`: unreadable bytes from the host are a host bug.
            Err(e) => panic!("the host sent a malformed schema for a struct plan: {e}"),
        }
    }
}
