//! Kafka's `Filter` SMT: drops every record it is applied to. Meant to be guarded by a
//! predicate (`transforms.<a>.predicate`), which the host evaluates per batch.

use sluice_plugin_sdk::*;

pub struct Filter;

impl Transform for Filter {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.transforms.Filter", "0.1.0")
            .alias("Filter")
            .description(
                "Drops all records, filtering them from subsequent transformations in the chain.",
            )
    }
    fn create(_class: &str, _config: Config) -> Result<Self, String> {
        Ok(Filter)
    }
    fn apply(&mut self, _record: Record) -> Outcome {
        Outcome::Drop
    }
}

sluice_plugin_sdk::export_transform!(Filter);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn drops() {
        assert_eq!(Filter.apply(Record::new("t")), Outcome::Drop);
    }
}
