//! Kafka's `TimestampRouter`: rewrites the topic to `topic.format` with `${topic}` and
//! `${timestamp}` replaced, the record timestamp formatted with the SimpleDateFormat pattern
//! `timestamp.format` in UTC. Key, value and headers are untouched.
//!
//! Difference from Kafka, on purpose: Kafka builds its date format lazily and so reports a bad
//! `timestamp.format` on every record; Sluice rejects it when the transform is configured.

use sluice_plugin_sdk::java::DateFormat;
use sluice_plugin_sdk::*;

const CLASS: &str = "org.apache.kafka.connect.transforms.TimestampRouter";

pub struct TimestampRouter {
    topic_format: String,
    format: DateFormat,
}

impl Transform for TimestampRouter {
    fn spec() -> PluginSpec {
        PluginSpec::new(CLASS, "0.1.0")
            .alias("TimestampRouter")
            .description("Update the record's topic field as a function of the original topic value and the record timestamp.")
            .config(ConfigDef::string("topic.format").default("${topic}-${timestamp}").importance(Importance::High)
                .doc("Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."))
            .config(ConfigDef::string("timestamp.format").default("yyyyMMdd").importance(Importance::High)
                .doc("Format string for the timestamp that is compatible with java.text.SimpleDateFormat."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: "timestamp.format".into(),
                message,
            }],
        }
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let pattern = config.get("timestamp.format").unwrap_or("yyyyMMdd");
        let format = DateFormat::new(pattern).map_err(|e| {
            format!("Invalid value {pattern} for configuration timestamp.format: {e}")
        })?;
        Ok(TimestampRouter {
            topic_format: config
                .get("topic.format")
                .unwrap_or("${topic}-${timestamp}")
                .to_string(),
            format,
        })
    }
    fn apply(&mut self, mut record: Record) -> Outcome {
        let Some(ts) = record.timestamp else {
            return Outcome::Fail(format!(
                "Timestamp missing on record: ConnectRecord{{topic='{}', kafkaPartition={}, timestamp=null}}",
                record.topic,
                record.partition.map_or("null".to_string(), |p| p.to_string())
            ));
        };
        // Same order as Kafka: `${topic}` first, then `${timestamp}` in the result.
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &self.format.format(ts));
        Outcome::Keep(record)
    }
}

sluice_plugin_sdk::export_transform!(TimestampRouter);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(pairs: &[(&str, &str)]) -> Result<TimestampRouter, String> {
        let entries = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TimestampRouter::create(
            CLASS,
            Config::with_defs(entries, &TimestampRouter::spec().config),
        )
    }

    #[test]
    fn routes_by_timestamp() {
        let mut t = make(&[]).unwrap();
        let r = Record::new("orders")
            .with_timestamp(1_700_000_000_000)
            .with_value(None, "v");
        let Outcome::Keep(out) = t.apply(r.clone()) else {
            panic!()
        };
        assert_eq!(out.topic, "orders-20231114");
        assert_eq!(out.value, Value::from("v"));
        let mut t = make(&[
            ("topic.format", "${timestamp}/${topic}/${topic}"),
            ("timestamp.format", "yyyy-MM"),
        ])
        .unwrap();
        let Outcome::Keep(out) = t.apply(r) else {
            panic!()
        };
        assert_eq!(out.topic, "2023-11/orders/orders");
        let Outcome::Fail(m) = t.apply(Record::new("x")) else {
            panic!()
        };
        assert!(m.starts_with("Timestamp missing on record"), "{m}");
        let err = make(&[("timestamp.format", "yyyyqq")]).err().unwrap();
        assert_eq!(err, "Invalid value yyyyqq for configuration timestamp.format: Illegal pattern character 'q'");
    }
}
