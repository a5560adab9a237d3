//! Kafka's `…$Key` / `…$Value` transform pairs (`InsertField$Key`, `MaskField$Value`, …)
//! served by one plugin.
//!
//! The plugin registers the `$Value` class with the `$Key` class and both short names as
//! aliases ([`KeyValueClass::spec`]), learns its side from the class it is created as
//! ([`Side::of_class`]) and rewrites that side of each record ([`Side::apply`]).

use std::fmt;

use crate::config::PluginSpec;
use crate::record::{Record, Side};
use crate::schema::SchemaRef;
use crate::transform::Outcome;
use crate::value::Value;

/// The two class names of a Kafka key/value transform. Build it with
/// [`key_value_class!`](crate::key_value_class), which spells both at compile time so they
/// can be constants.
///
/// ```
/// use sluice_plugin_sdk::{key_value_class, KeyValueClass, Side};
///
/// const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.HoistField");
///
/// assert_eq!(CLASS.key, "org.apache.kafka.connect.transforms.HoistField$Key");
/// assert_eq!(Side::of_class(CLASS.key), Side::Key);
/// let spec = CLASS.spec("0.1.0");
/// assert_eq!(spec.name, "org.apache.kafka.connect.transforms.HoistField$Value");
/// assert_eq!(spec.aliases, [CLASS.key, "HoistField$Value", "HoistField$Key"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValueClass {
    /// The full `…$Key` class name.
    pub key: &'static str,
    /// The full `…$Value` class name.
    pub value: &'static str,
}

impl KeyValueClass {
    /// The class name for one side.
    pub fn of(self, side: Side) -> &'static str {
        match side {
            Side::Key => self.key,
            Side::Value => self.value,
        }
    }

    /// A spec named after the `$Value` class, with the `$Key` class and the short names
    /// (`HoistField$Value`, `HoistField$Key`) as aliases, as Kafka users write either.
    pub fn spec(self, version: impl Into<String>) -> PluginSpec {
        let short = |class: &'static str| class.rsplit('.').next().unwrap_or(class);
        PluginSpec::new(self.value, version)
            .alias(self.key)
            .alias(short(self.value))
            .alias(short(self.key))
    }
}

/// A [`KeyValueClass`] constant from the class name without its `$Key` / `$Value` suffix.
#[macro_export]
macro_rules! key_value_class {
    ($class:literal) => {
        $crate::KeyValueClass {
            key: concat!($class, "$Key"),
            value: concat!($class, "$Value"),
        }
    };
}

impl Side {
    /// Rewrites this side of `record` with `f` (as [`Record::update_side`]) and keeps the
    /// record, or fails it with `f`'s error: the whole `apply` of most key/value transforms.
    ///
    /// ```
    /// use sluice_plugin_sdk::{Outcome, Record, Side, Value};
    ///
    /// let upper = |record: Record| {
    ///     Side::Key.apply(record, |schema, key| match key {
    ///         Value::String(s) => Ok((schema, Value::String(s.to_uppercase()))),
    ///         other => Err(format!("expected a string key, got {other:?}")),
    ///     })
    /// };
    /// let Outcome::Keep(r) = upper(Record::new("t").with_key(None, "k")) else { panic!() };
    /// assert_eq!(r.key, Value::from("K"));
    /// assert!(matches!(upper(Record::new("t")), Outcome::Fail(m) if m.contains("Null")));
    /// ```
    pub fn apply<E: fmt::Display>(
        self,
        mut record: Record,
        f: impl FnOnce(Option<SchemaRef>, Value) -> Result<(Option<SchemaRef>, Value), E>,
    ) -> Outcome {
        match record.update_side(self, f) {
            Ok(()) => Outcome::Keep(record),
            Err(e) => Outcome::Fail(e.to_string()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.Cast");

    #[test]
    fn both_classes_and_short_names_name_one_plugin() {
        assert_eq!(
            CLASS.value,
            "org.apache.kafka.connect.transforms.Cast$Value"
        );
        assert_eq!(CLASS.of(Side::Key), CLASS.key);
        assert_eq!(Side::of_class(CLASS.of(Side::Value)), Side::Value);
        let spec = CLASS.spec("1.0");
        assert_eq!(spec.name, CLASS.value);
        assert_eq!(spec.version, "1.0");
        assert_eq!(spec.aliases, [CLASS.key, "Cast$Value", "Cast$Key"]);
        for alias in &spec.aliases[1..] {
            assert_eq!(Side::of_class(alias) == Side::Key, alias.ends_with("$Key"));
        }
    }

    #[test]
    fn apply_keeps_the_rewritten_record_or_fails_it() {
        let record = Record::new("t").with_key(None, "k").with_value(None, "v");
        let kept = Side::Value.apply(record.clone(), |s, _| Ok::<_, String>((s, Value::Null)));
        assert_eq!(
            kept,
            Outcome::Keep(record.clone().with_value(None, Value::Null))
        );
        let failed = Side::Key.apply(record, |_, _| Err::<(Option<SchemaRef>, Value), _>("no"));
        assert_eq!(failed, Outcome::Fail("no".into()));
    }
}
