//! Kafka's `TopicNameMatches` predicate: holds when the **whole** topic name matches
//! `pattern` (Java's `Matcher.matches`, so the pattern is anchored here).

use regex::Regex;
use sluice_plugin_sdk::*;

pub struct TopicNameMatches(Regex);

fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.is_empty() {
        return Err("Invalid value  for configuration pattern: String must be non-empty".into());
    }
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        format!("Invalid value {pattern} for configuration pattern: Invalid regex: {e}")
    })
}

impl Predicate for TopicNameMatches {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "0.1.0")
            .alias("TopicNameMatches")
            .description("A predicate which is true for records with a topic name that matches the configured regular expression.")
            .config(ConfigDef::string("pattern").required().doc("A Java regular expression for matching against the name of a record's topic."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match compile(config.get("pattern").unwrap_or_default()) {
            Ok(_) => Vec::new(),
            Err(m) => vec![ConfigProblem {
                key: "pattern".into(),
                message: m,
            }],
        }
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        Ok(TopicNameMatches(compile(
            config.get("pattern").unwrap_or_default(),
        )?))
    }
    fn test(&mut self, record: &Record) -> Result<bool, String> {
        Ok(self.0.is_match(&record.topic))
    }
}

sluice_plugin_sdk::export_predicate!(TopicNameMatches);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn whole_topic_must_match() {
        let mut p = TopicNameMatches(compile("audit.*").unwrap());
        assert_eq!(p.test(&Record::new("audit-log")), Ok(true));
        assert_eq!(p.test(&Record::new("x-audit")), Ok(false));
        assert!(compile("(").is_err());
    }
}
