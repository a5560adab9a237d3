//! Kafka Connect's `*-rate` metrics (records per second over a recent window), derived from
//! the task's totals when they are scraped, so the data path only ever adds to counters.
//!
//! Design decision: each scrape remembers (time, total) per series; the rate is the growth since
//! the oldest remembered scrape still inside [`WINDOW`] (Kafka's default window:
//! `metrics.sample.window.ms` 30 s × `metrics.num.samples` 2), or since the task started when
//! there is none. Memory is bounded by the scrapes within one window.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How far back a rate looks.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Samples most kept per series (scrapes more often than this per window share baselines).
const MAX_SAMPLES: usize = 120;

#[derive(Debug, Default)]
pub struct Rates {
    series: HashMap<&'static str, VecDeque<(Instant, u64)>>,
}

impl Rates {
    /// Per-second growth of `total` over the recent window; `start` is when it was 0.
    pub fn rate(&mut self, series: &'static str, total: u64, now: Instant, start: Instant) -> f64 {
        let samples = self.series.entry(series).or_default();
        let window_start = now.checked_sub(WINDOW).unwrap_or(start);
        // Keep one sample at or before the window's start as the baseline.
        while samples.len() > 1 && samples[1].0 <= window_start {
            samples.pop_front();
        }
        let (t0, v0) = samples
            .front()
            .copied()
            .filter(|(t, _)| *t <= now)
            .unwrap_or((start, 0));
        if samples.len() >= MAX_SAMPLES {
            samples.pop_back();
        }
        samples.push_back((now, total));
        let secs = now.saturating_duration_since(t0).as_secs_f64();
        if secs < 0.001 {
            return 0.0;
        }
        total.saturating_sub(v0) as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_growth_over_the_window() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut r = Rates::default();
        // First scrape: since the task started.
        assert_eq!(r.rate("x", 100, at(10), start), 10.0);
        assert_eq!(r.rate("x", 300, at(20), start), 20.0);
        // 90 s in (window from 30 s): the 20 s sample is the last one at or before the
        // window's start, so it is the baseline; the 10 s one is dropped.
        assert_eq!(r.rate("x", 1000, at(90), start), 700.0 / 70.0);
        // Series are independent.
        assert_eq!(r.rate("y", 0, at(90), start), 0.0);
    }
}
