//! Which topics a sink connector reads (`topics`, or `topics.regex`), matched against the
//! broker's metadata.
//!
//! Design decision: `topics.regex` matches the whole topic name, as Java's `Pattern.matcher(
//! topic).matches()` does in Kafka Connect, so it is compiled as `^(?:<regex>)$`.

use rdkafka::metadata::Metadata;

use crate::config::{get, Config};

/// A sink's topic selection.
#[derive(Debug, Clone)]
pub struct SinkTopics {
    listed: Vec<String>,
    regex: Option<regex::Regex>,
}

impl SinkTopics {
    /// The listed topics and the `topics.regex` (either may be empty).
    pub fn new(listed: Vec<String>, regex: Option<&str>) -> Result<Self, regex::Error> {
        let regex = regex
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| regex::Regex::new(&format!("^(?:{r})$")))
            .transpose()?;
        Ok(SinkTopics { listed, regex })
    }

    /// The selection of a sink connector config (`topics`, `topics.regex`).
    pub fn from_config(config: &Config) -> Result<Self, regex::Error> {
        let listed = get(config, "topics")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        SinkTopics::new(listed, get(config, "topics.regex"))
    }

    pub fn matches(&self, topic: &str) -> bool {
        self.listed.iter().any(|l| l == topic)
            || self.regex.as_ref().is_some_and(|r| r.is_match(topic))
    }

    /// Every partition of the selected topics in `metadata`, sorted.
    pub fn partitions(&self, metadata: &Metadata) -> Vec<(String, i32)> {
        let mut out = Vec::new();
        for t in metadata.topics() {
            // A topic the broker reports with an error (being created, deleted) has no usable
            // partitions yet.
            if t.error().is_some() || !self.matches(t.name()) {
                continue;
            }
            out.extend(
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id())),
            );
        }
        out.sort();
        out
    }

    /// The listed topics `metadata` does not show (not created yet).
    pub fn missing<'a>(&'a self, metadata: &Metadata) -> Vec<&'a str> {
        self.listed
            .iter()
            .filter(|l| {
                !metadata
                    .topics()
                    .iter()
                    .any(|t| t.name() == l.as_str() && t.error().is_none())
            })
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn topics_regex_matches_whole_names_like_java() {
        let t = SinkTopics::new(vec!["a".into()], Some("orders-.*")).unwrap();
        assert!(t.matches("a"));
        assert!(t.matches("orders-eu"));
        assert!(!t.matches("old-orders-eu"));
        assert!(!t.matches("ab"));
        let t = SinkTopics::new(vec![], Some("x|y")).unwrap();
        assert!(t.matches("x") && t.matches("y") && !t.matches("xy"));
        assert!(SinkTopics::new(vec![], Some("(")).is_err());
    }
}
