//! Single message transforms: the [`Transform`] trait and its adapter to the `transforms`
//! export (and to `packed-transforms` and `transform-plans`, which Sluice prefers).
//!
//! The plugin sees one record at a time, but the WASM call stays batched: the SDK lifts the
//! whole batch, loops over it, and lowers every kept record into one shared schema table.
//! The adapter is generic over a [`PlanSource`]: a transform that also implements
//! [`StructPlans`](crate::StructPlans) is exported with its plans, any other without.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::transform::exports::sluice::connect::packed_transforms as packed_export;
use crate::bindings::transform::exports::sluice::connect::transform_plans as plans_export;
use crate::bindings::transform::exports::sluice::connect::transforms as export;
use crate::config::{Config, ConfigProblem, PluginSpec};
use crate::packed::{self, PlanCache, PlanSource};
use crate::plugin::{self, Describe};
use crate::record::{Record, Side};
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
}

#[doc(hidden)]
pub struct TransformExport<T, P>(PhantomData<(T, P)>);

impl<T: Transform, P: PlanSource<T>> Describe for TransformExport<T, P> {
    const KIND: PluginKind = PluginKind::Transform;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Transform, P: PlanSource<T>> export::Guest for TransformExport<T, P> {
    type Transformer = TransformerExport<T, P>;
}

/// One configured transform, and the plans compiled for it so far.
#[doc(hidden)]
pub struct TransformerExport<T, P> {
    transform: RefCell<T>,
    plans: RefCell<PlanCache>,
    source: PhantomData<P>,
}

impl<T: Transform, P: PlanSource<T>> TransformerExport<T, P> {
    fn configure(class: &str, config: wit::Config) -> Result<TransformerExport<T, P>, String> {
        let config = plugin::config::<TransformExport<T, P>>(config);
        Ok(TransformerExport {
            transform: RefCell::new(T::create(class, config)?),
            plans: RefCell::default(),
            source: PhantomData,
        })
    }
}

impl<T: Transform, P: PlanSource<T>> export::GuestTransformer for TransformerExport<T, P> {
    fn create(class: String, config: wit::Config) -> Result<export::Transformer, String> {
        Ok(export::Transformer::new(Self::configure(&class, config)?))
    }

    fn apply(&self, batch: wit::Batch) -> export::TransformOutput {
        let _counts = crate::metrics::FlushOnReturn;
        let mut transform = self.transform.borrow_mut();
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

impl<T: Transform, P: PlanSource<T>> packed_export::Guest for TransformExport<T, P> {
    type PackedTransformer = TransformerExport<T, P>;
}

/// The same transformer behind the packed interface.
impl<T: Transform, P: PlanSource<T>> packed_export::GuestPackedTransformer
    for TransformerExport<T, P>
{
    fn create(
        class: String,
        config: wit::Config,
    ) -> Result<packed_export::PackedTransformer, String> {
        Ok(packed_export::PackedTransformer::new(Self::configure(
            &class, config,
        )?))
    }

    fn apply(&self, records: Vec<u8>) -> Vec<u8> {
        let _counts = crate::metrics::FlushOnReturn;
        let mut transform = self.transform.borrow_mut();
        let mut plans = self.plans.borrow_mut();
        match packed::apply_transform::<T, P>(&mut transform, &records, &mut plans) {
            Ok(out) => out,
            // The host encoded this batch itself: bytes it cannot have meant are a host bug,
            // and trapping puts that in the task's trace instead of inventing outcomes.
            Err(e) => panic!("the host sent a malformed packed batch: {e}"),
        }
    }
}

/// Struct plans for the host (`transform-plans`): the same transformer's
/// [`StructPlans`](crate::StructPlans), if it has them, so the host can rewrite the records
/// a plan fits without calling `apply`.
impl<T: Transform, P: PlanSource<T>> plans_export::Guest for TransformExport<T, P> {
    fn plan_side(
        transformer: plans_export::PackedTransformerBorrow<'_>,
    ) -> Option<plans_export::Side> {
        let t = transformer.get::<TransformerExport<T, P>>();
        let side = P::side(&t.transform.borrow());
        side.map(|s| match s {
            Side::Key => plans_export::Side::Key,
            Side::Value => plans_export::Side::Value,
        })
    }

    fn struct_plan(
        transformer: plans_export::PackedTransformerBorrow<'_>,
        input: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let t = transformer.get::<TransformerExport<T, P>>();
        let mut transform = t.transform.borrow_mut();
        match packed::struct_plan::<T, P>(&mut transform, &input) {
            Ok(plan) => plan,
            // As in `apply`: unreadable bytes from the host are a host bug.
            Err(e) => panic!("the host sent a malformed schema for a struct plan: {e}"),
        }
    }
}
