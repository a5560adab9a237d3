//! Kafka's `DropHeaders`: removes every header whose name is in `headers` (all occurrences);
//! the other headers keep their order. Key, value and topic are untouched.

use sluice_plugin_sdk::*;

const CLASS: &str = "org.apache.kafka.connect.transforms.DropHeaders";

pub struct DropHeaders {
    headers: Vec<String>,
}

impl Transform for DropHeaders {
    fn spec() -> PluginSpec {
        PluginSpec::new(CLASS, "0.1.0")
            .alias("DropHeaders")
            .description("Removes one or more headers from each record.")
            .config(
                ConfigDef::list("headers")
                    .required()
                    .importance(Importance::High)
                    .doc("The name of the headers to be removed."),
            )
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: "headers".into(),
                message,
            }],
        }
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let Some(raw) = config.get("headers") else {
            return Err(
                "Missing required configuration \"headers\" which has no default value.".into(),
            );
        };
        let headers = config.list("headers")?;
        if headers.is_empty() {
            return Err(format!(
                "Invalid value {raw} for configuration headers: Empty list"
            ));
        }
        Ok(DropHeaders { headers })
    }
    fn apply(&mut self, mut record: Record) -> Outcome {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Outcome::Keep(record)
    }
}

sluice_plugin_sdk::export_transform!(DropHeaders);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_every_listed_header() {
        let mut t =
            DropHeaders::create(CLASS, Config::new(vec![("headers".into(), "a, c".into())]))
                .unwrap();
        let r = Record::new("t")
            .with_header("a", None, 1i64)
            .with_header("b", None, 2i64)
            .with_header("a", None, 3i64)
            .with_header("c", None, Value::Null)
            .with_value(None, "v");
        let Outcome::Keep(out) = t.apply(r) else {
            panic!()
        };
        let keys: Vec<_> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, vec!["b"]);
        assert_eq!(out.value, Value::from("v"));
        let err = DropHeaders::create(CLASS, Config::new(vec![("headers".into(), "".into())]))
            .err()
            .unwrap();
        assert_eq!(err, "Invalid value  for configuration headers: Empty list");
    }
}
