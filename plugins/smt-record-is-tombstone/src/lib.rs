//! Kafka's `RecordIsTombstone` predicate: holds when the record value is null.

use sluice_plugin_sdk::*;

pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn spec() -> PluginSpec {
        PluginSpec::new(
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            "0.1.0",
        )
        .alias("RecordIsTombstone")
        .description(
            "A predicate which is true for records which are tombstones (i.e. have null value).",
        )
    }
    fn create(_class: &str, _config: Config) -> Result<Self, String> {
        Ok(RecordIsTombstone)
    }
    fn test(&mut self, record: &Record) -> Result<bool, String> {
        Ok(record.value.is_null())
    }
}

sluice_plugin_sdk::export_predicate!(RecordIsTombstone);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn null_value_is_a_tombstone() {
        assert_eq!(RecordIsTombstone.test(&Record::new("t")), Ok(true));
        let r = Record::new("t").with_value(None, "x");
        assert_eq!(RecordIsTombstone.test(&r), Ok(false));
    }
}
