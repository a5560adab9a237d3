//! Growing sleeps for retries and empty polls, and a throttle for repeated WARN lines.
//!
//! Design decision: every wait checks the task's stop flag in short slices, so a task that
//! is backing off (broker down, retriable plugin error) still stops promptly on shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Doubling backoff between `min` and `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The next delay (then doubles it, up to `max`).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// Sleeps the next delay, waking early when `stop` is set. Returns false if stopped.
    pub fn sleep(&mut self, stop: &AtomicBool) -> bool {
        sleep_unless_stopped(self.next_delay(), stop)
    }
}

/// Sleeps `d` in slices of at most 50 ms; returns false as soon as `stop` is set.
pub fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// Lets a repeated warning through at most once per `every`, counting the suppressed ones.
#[derive(Debug)]
pub struct WarnThrottle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnThrottle {
    pub fn new(every: Duration) -> Self {
        WarnThrottle {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a warning should be logged now (`n` = how many were suppressed since).
    pub fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < self.every)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

impl Default for WarnThrottle {
    fn default() -> Self {
        WarnThrottle::new(Duration::from_secs(10))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(35));
        let got: Vec<_> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, vec![10, 20, 35, 35]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(10));
    }

    #[test]
    fn throttle_counts_suppressed_warnings() {
        let mut t = WarnThrottle::new(Duration::from_secs(3600));
        assert_eq!(t.allow(), Some(0));
        assert_eq!(t.allow(), None);
        assert_eq!(t.allow(), None);
        assert_eq!(t.suppressed, 2);
    }

    #[test]
    fn sleep_returns_early_when_stopped() {
        let stop = AtomicBool::new(true);
        let t = Instant::now();
        assert!(!sleep_unless_stopped(Duration::from_secs(5), &stop));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
