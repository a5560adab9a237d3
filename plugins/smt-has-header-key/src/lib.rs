//! Kafka's `HasHeaderKey` predicate: holds when the record has at least one header named
//! `name`.

use sluice_plugin_sdk::*;

pub struct HasHeaderKey(String);

/// Kafka validates `name` with `NonEmptyString`.
fn header_name(config: &Config) -> Result<String, String> {
    match config.get("name") {
        Some(n) if !n.is_empty() => Ok(n.to_string()),
        _ => Err("Invalid value  for configuration name: String must be non-empty".into()),
    }
}

impl Predicate for HasHeaderKey {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.transforms.predicates.HasHeaderKey", "0.1.0")
            .alias("HasHeaderKey")
            .description("A predicate which is true for records with at least one header with the configured name.")
            .config(ConfigDef::string("name").required().doc("The header name."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match header_name(config) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: "name".into(),
                message,
            }],
        }
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        Ok(HasHeaderKey(header_name(&config)?))
    }
    fn test(&mut self, record: &Record) -> Result<bool, String> {
        Ok(record.headers.iter().any(|h| h.key == self.0))
    }
}

sluice_plugin_sdk::export_predicate!(HasHeaderKey);

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(key: &str) -> Record {
        let mut r = Record::new("t");
        r.headers.push(Header {
            key: key.into(),
            schema: None,
            value: Value::String("v".into()),
        });
        r
    }

    #[test]
    fn holds_only_when_a_header_has_the_name() {
        let mut p = HasHeaderKey("trace-id".into());
        assert_eq!(p.test(&with_header("trace-id")), Ok(true));
        assert_eq!(p.test(&with_header("other")), Ok(false));
        assert_eq!(p.test(&Record::new("t")), Ok(false));
    }

    #[test]
    fn an_empty_name_is_rejected_with_kafkas_message() {
        let err = header_name(&Config::new(Vec::new())).unwrap_err();
        assert!(err.contains("String must be non-empty"), "{err}");
    }
}
