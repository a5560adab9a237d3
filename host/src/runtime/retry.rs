//! Retrying a plugin call that failed with [`TaskError::Retriable`], as `errors.retry.*`
//! configures (Kafka's `RetryWithToleranceOperator`).
//!
//! Design decision: the whole call is retried (a batch, never one record of it), with a
//! delay doubling from 300 ms up to `errors.retry.delay.max.ms`, and every wait watches the
//! task's stop flag so stopping a task never waits out a retry budget.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::task::TaskError;
use crate::backoff::sleep_unless_stopped;
use crate::config::ErrorSettings;
use crate::convert::ConvertError;

/// `errors.retry.timeout` / `errors.retry.delay.max.ms`: how long a retriable failure of a
/// whole call is retried, with a delay doubling from 300 ms up to the max.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// `None`: retry forever (`-1`); zero: never retry.
    pub timeout: Option<Duration>,
    pub max_delay: Duration,
    pub stop: Arc<AtomicBool>,
    /// Counts each retry (the task's `total-retries` metric), when set.
    pub retries: Option<Arc<AtomicU64>>,
}

impl RetryPolicy {
    /// The policy `settings` configure; `stop` ends a wait between retries early.
    pub fn new(settings: &ErrorSettings, stop: Arc<AtomicBool>) -> Self {
        RetryPolicy {
            timeout: settings.retry_timeout,
            max_delay: settings.retry_max_delay,
            stop,
            retries: None,
        }
    }

    /// This policy, counting its retries in `retries`.
    pub fn counting(mut self, retries: Arc<AtomicU64>) -> Self {
        self.retries = Some(retries);
        self
    }

    pub fn none() -> Self {
        RetryPolicy {
            timeout: Some(Duration::ZERO),
            max_delay: Duration::from_secs(60),
            stop: Arc::default(),
            retries: None,
        }
    }

    /// Whether a failed call is retried at all (callers keep a copy of its input only then).
    pub fn enabled(&self) -> bool {
        self.timeout != Some(Duration::ZERO)
    }

    /// Runs `call` until it returns anything but `Retriable`, or the retry budget is spent.
    pub fn run<T>(&self, mut call: impl FnMut() -> Result<T, TaskError>) -> Result<T, TaskError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(300);
        loop {
            match call() {
                Err(TaskError::Retriable(m)) => {
                    let budget_left = match self.timeout {
                        None => true,
                        Some(t) => start.elapsed() + delay <= t,
                    };
                    if !budget_left {
                        return Err(TaskError::Retriable(m));
                    }
                    tracing::warn!(
                        delay_ms = delay.as_millis() as u64,
                        "retriable failure, retrying: {m}"
                    );
                    if !sleep_unless_stopped(delay, &self.stop) {
                        return Err(TaskError::Retriable(format!(
                            "{m} (stopped while retrying)"
                        )));
                    }
                    if let Some(r) = &self.retries {
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                    delay = (delay * 2).min(self.max_delay);
                }
                other => return other,
            }
        }
    }
}

impl RetryPolicy {
    /// Runs one converter call, retrying it while it fails
    /// [transiently](ConvertError::is_transient) (a schema registry that cannot be reached)
    /// within this budget; when the budget is spent the last failure is returned, still
    /// transient, for the caller to fail the task with.
    pub fn run_conversion<T>(
        &self,
        mut call: impl FnMut() -> Result<T, ConvertError>,
    ) -> Result<T, ConvertError> {
        let mut last: Option<ConvertError> = None;
        let outcome = self.run(|| match call() {
            Ok(v) => Ok(Ok(v)),
            Err(e) if e.is_transient() => {
                let message = e.0.clone();
                last = Some(e);
                Err(TaskError::Retriable(message))
            }
            Err(e) => Ok(Err(e)),
        });
        match outcome {
            Ok(done) => done,
            Err(stopped) => {
                Err(last.unwrap_or_else(|| ConvertError::transient(stopped.to_string())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_conversion_failures_are_retried_record_errors_are_not() {
        let policy = RetryPolicy {
            timeout: Some(Duration::from_secs(5)),
            max_delay: Duration::from_millis(300),
            stop: Arc::default(),
            retries: None,
        };
        let mut n = 0;
        let r = policy.run_conversion(|| {
            n += 1;
            if n < 3 {
                Err(ConvertError::transient("registry down"))
            } else {
                Ok(n)
            }
        });
        assert_eq!(r, Ok(3));
        let mut calls = 0;
        let r: Result<(), _> = policy.run_conversion(|| {
            calls += 1;
            Err(ConvertError::new("bad bytes"))
        });
        assert_eq!((r, calls), (Err(ConvertError::new("bad bytes")), 1));
        let r: Result<(), _> =
            RetryPolicy::none().run_conversion(|| Err(ConvertError::transient("down")));
        assert!(r.is_err_and(|e| e.is_transient() && e.0 == "down"));
    }

    #[test]
    fn retriable_failures_are_retried_within_the_timeout() {
        let policy = RetryPolicy {
            timeout: Some(Duration::from_secs(5)),
            max_delay: Duration::from_millis(400),
            stop: Arc::default(),
            retries: Some(Arc::default()),
        };
        let mut n = 0;
        let start = Instant::now();
        let r = policy.run(|| {
            n += 1;
            if n < 3 {
                Err(TaskError::Retriable("busy".into()))
            } else {
                Ok(n)
            }
        });
        assert_eq!(r, Ok(3));
        let retries = policy.retries.as_ref().map(|r| r.load(Ordering::Relaxed));
        assert_eq!(retries, Some(2), "two retries counted");
        // 300 ms then 400 ms (capped).
        assert!(
            start.elapsed() >= Duration::from_millis(700),
            "{:?}",
            start.elapsed()
        );
        let none =
            RetryPolicy::none().run(|| -> Result<(), _> { Err(TaskError::Retriable("x".into())) });
        assert_eq!(none, Err(TaskError::Retriable("x".into())));
    }
}
