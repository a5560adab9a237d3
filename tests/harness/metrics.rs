//! Scraping a worker's `GET /metrics` and reading it with a Prometheus text-format parser
//! (`prometheus-parse`), so tests assert on series (name, labels, value), not on substrings.

use std::net::SocketAddr;

use prometheus_parse::{Scrape, Value};

use crate::http_get;

/// One scrape, parsed.
pub struct Metrics {
    pub scrape: Scrape,
    /// The raw exposition (for failure messages).
    pub text: String,
}

impl Metrics {
    /// Scrapes `GET /metrics` on `rest`; panics (with the body) when it is not a 200 that
    /// parses.
    pub fn scrape(rest: SocketAddr) -> Metrics {
        let r = http_get(rest, "/metrics").unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        assert_eq!(r.status, 200, "GET /metrics: {}", r.body);
        let lines = r.body.lines().map(|l| Ok(l.to_string()));
        let scrape = Scrape::parse(lines)
            .unwrap_or_else(|e| panic!("GET /metrics is not Prometheus text: {e}\n{}", r.body));
        Metrics {
            scrape,
            text: r.body,
        }
    }

    /// The value of the one sample named `name` whose labels include `labels`; `None` when
    /// there is none. Panics when several match (the labels do not name one series).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                other => panic!("{name} is not a scalar: {other:?}"),
            })
            .collect();
        assert!(
            matching.len() <= 1,
            "{name}{labels:?} matches {} series:\n{}",
            matching.len(),
            self.text
        );
        matching.first().copied()
    }

    /// Like [`Metrics::value`], panicking with the exposition when the series is missing.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no series {name}{labels:?} in:\n{}", self.text))
    }

    /// The label sets of every sample named `name`, each sorted by label name.
    pub fn label_sets(&self, name: &str) -> Vec<Vec<(String, String)>> {
        self.scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .map(|s| {
                let mut l: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                l.sort();
                l
            })
            .collect()
    }
}
