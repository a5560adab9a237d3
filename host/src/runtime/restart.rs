//! Automatic restart of failed tasks: the backoff schedule a task's supervisor follows for a
//! connector's [`RestartPolicy`] (the `restart.*` keys, compiled by `config`).
//!
//! Design decisions:
//! - A FAILED task (error, trap, limit breach, failure to open) is restarted by its own
//!   supervisor thread after `restart.backoff.initial.ms`, doubling up to
//!   `restart.backoff.max.ms`, at most `restart.max.attempts` times (-1: no limit). The wait
//!   watches the task's stop flag, so a manual restart, pause, stop or delete (which all stop
//!   the task) cancels a pending automatic restart.
//! - **Reset rule**: a task that was RUNNING for at least `healthy_after` (10 minutes)
//!   before it failed counts as healthy: its next restart is attempt 1 with the initial
//!   delay again. A task that fails sooner keeps counting, so a crash loop still stops at
//!   `restart.max.attempts`.
//! - An automatic restart reopens the same task config with the plugin the connector was
//!   started with (a replaced plugin file is picked up by the next connector restart).

use std::time::Duration;

use crate::config::restart::{RestartPolicy, ATTEMPTS_KEY};

/// What the supervisor does after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Restart after `delay`; this is restart number `attempt` (1-based) in the current run
    /// of failures.
    Restart { attempt: u32, delay: Duration },
    /// `restart.max.attempts` restarts in a row failed: leave the task FAILED.
    GiveUp { attempts: u32 },
}

/// The restart state of one task across its failures.
#[derive(Debug, Clone)]
pub struct Schedule {
    policy: RestartPolicy,
    /// Restarts made since the last reset.
    made: u32,
    next_delay: Duration,
}

impl Schedule {
    pub fn new(policy: RestartPolicy) -> Self {
        Schedule {
            next_delay: policy.initial,
            policy,
            made: 0,
        }
    }

    /// Decides what follows a failure; `healthy_for` is how long the task was RUNNING
    /// before it failed (zero if it never got there).
    pub fn on_failure(&mut self, healthy_for: Duration) -> Decision {
        if healthy_for >= self.policy.healthy_after {
            self.made = 0;
            self.next_delay = self.policy.initial;
        }
        if self.policy.max_attempts.is_some_and(|max| self.made >= max) {
            return Decision::GiveUp {
                attempts: self.made,
            };
        }
        self.made += 1;
        let delay = self.next_delay;
        self.next_delay = (self.next_delay * 2).min(self.policy.max);
        Decision::Restart {
            attempt: self.made,
            delay,
        }
    }

    /// The status/log wording of a decision: `restart 2 of 5 in 4000 ms`.
    pub fn describe(&self, decision: &Decision) -> String {
        match (decision, self.policy.max_attempts) {
            (Decision::Restart { attempt, delay }, Some(max)) => format!(
                "automatic restart {attempt} of {max} in {} ms",
                delay.as_millis()
            ),
            (Decision::Restart { attempt, delay }, None) => format!(
                "automatic restart {attempt} (no limit) in {} ms",
                delay.as_millis()
            ),
            (Decision::GiveUp { attempts }, _) => format!(
                "not restarted again: {attempts} automatic restarts made, the limit \
                 ({ATTEMPTS_KEY}={}); restart it through the REST API",
                self.policy.max_attempts.unwrap_or(*attempts)
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(max_attempts: Option<u32>) -> RestartPolicy {
        RestartPolicy {
            initial: Duration::from_millis(1000),
            max: Duration::from_millis(5000),
            max_attempts,
            healthy_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_double_up_to_the_max_then_the_attempts_run_out() {
        let mut s = Schedule::new(policy(Some(4)));
        let quick = Duration::from_secs(1);
        let got: Vec<Decision> = (0..5).map(|_| s.on_failure(quick)).collect();
        let restart = |attempt, ms| Decision::Restart {
            attempt,
            delay: Duration::from_millis(ms),
        };
        assert_eq!(
            got,
            [
                restart(1, 1000),
                restart(2, 2000),
                restart(3, 4000),
                restart(4, 5000),
                Decision::GiveUp { attempts: 4 }
            ]
        );
        assert_eq!(s.describe(&got[1]), "automatic restart 2 of 4 in 2000 ms");
        assert!(s.describe(&got[4]).contains("restart.max.attempts=4"));
        let mut unlimited = Schedule::new(policy(None));
        let d = unlimited.on_failure(quick);
        assert_eq!(
            unlimited.describe(&d),
            "automatic restart 1 (no limit) in 1000 ms"
        );
    }

    #[test]
    fn a_task_that_ran_healthy_starts_counting_again() {
        let mut s = Schedule::new(policy(Some(2)));
        s.on_failure(Duration::ZERO);
        s.on_failure(Duration::ZERO);
        assert_eq!(
            s.on_failure(Duration::ZERO),
            Decision::GiveUp { attempts: 2 }
        );
        assert_eq!(
            s.on_failure(Duration::from_secs(10)),
            Decision::Restart {
                attempt: 1,
                delay: Duration::from_millis(1000)
            }
        );
    }

    #[test]
    fn zero_attempts_means_never_restart() {
        let mut s = Schedule::new(policy(Some(0)));
        assert_eq!(
            s.on_failure(Duration::ZERO),
            Decision::GiveUp { attempts: 0 }
        );
    }
}
