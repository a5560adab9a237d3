//! Predicates for conditional transforms: the [`Predicate`] trait and its adapter to the
//! `predicates` export. As with transforms, the plugin answers per record while the WASM
//! call stays batched.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::plugin_world::exports::sluice::connect::plugin::PluginKind;
use crate::bindings::plugin_world::sluice::connect::types as wit;
use crate::bindings::predicate::exports::sluice::connect::predicates as export;
use crate::config::{Config, ConfigProblem, PluginSpec};
use crate::plugin::{self, Describe};
use crate::record::Record;
use crate::wire;

/// A predicate. Export it with [`export_predicate!`](crate::export_predicate).
///
/// ```
/// use sluice_plugin_sdk::*;
///
/// /// Holds when the value is null (a tombstone), like Kafka's `RecordIsTombstone`.
/// struct IsTombstone;
///
/// impl Predicate for IsTombstone {
///     fn spec() -> PluginSpec {
///         PluginSpec::new("is-tombstone", "0.1.0")
///     }
///     fn create(_class: &str, _config: Config) -> Result<Self, String> {
///         Ok(IsTombstone)
///     }
///     fn test(&mut self, record: &Record) -> Result<bool, String> {
///         Ok(record.value.is_null())
///     }
/// }
/// # assert_eq!(IsTombstone.test(&Record::new("t")), Ok(true));
/// ```
pub trait Predicate: Sized + 'static {
    /// Describes the plugin; read once when the host loads the component.
    fn spec() -> PluginSpec;

    /// Checks the config beyond what the config definitions express.
    fn validate(_config: &Config) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Configures one instance (`predicates.<alias>.*` with the prefix removed); `class` is
    /// the configured `predicates.<alias>.type` (the spec name or an alias).
    fn create(class: &str, config: Config) -> Result<Self, String>;

    /// Whether the predicate holds for `record`.
    fn test(&mut self, record: &Record) -> Result<bool, String>;
}

#[doc(hidden)]
pub struct PredicateExport<T>(PhantomData<T>);

impl<T: Predicate> Describe for PredicateExport<T> {
    const KIND: PluginKind = PluginKind::Predicate;
    fn spec() -> PluginSpec {
        T::spec()
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        T::validate(config)
    }
}

impl<T: Predicate> export::Guest for PredicateExport<T> {
    type Tester = TesterExport<T>;
}

#[doc(hidden)]
pub struct TesterExport<T>(RefCell<T>);

impl<T: Predicate> export::GuestTester for TesterExport<T> {
    fn create(class: String, config: wit::Config) -> Result<export::Tester, String> {
        let config = plugin::config::<PredicateExport<T>>(config);
        let predicate = T::create(&class, config)?;
        Ok(export::Tester::new(TesterExport(RefCell::new(predicate))))
    }

    fn test(&self, batch: wit::Batch) -> Vec<Result<bool, String>> {
        let _counts = crate::metrics::FlushOnReturn;
        let mut predicate = self.0.borrow_mut();
        wire::lift_batch(batch)
            .into_iter()
            .map(|lifted| match lifted {
                Ok(record) => predicate.test(&record),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }
}
