//! Automatic restart of failed tasks: the reserved `restart.*` connector keys, their
//! validation, and the backoff schedule a task's supervisor follows.
//!
//! Design decisions:
//! - The keys are **reserved for the host**: [`plugin_view`] removes them before a plugin sees
//!   a config (validate, task configs), like the `wasm.*` sandbox keys. Any other key under
//!   `restart.` is refused, so a typo cannot silently leave restarts off.
//! - A FAILED task (error, trap, limit breach, failure to open) is restarted by its own
//!   supervisor thread after `restart.backoff.initial.ms`, doubling up to
//!   `restart.backoff.max.ms`, at most `restart.max.attempts` times (-1: no limit). The wait
//!   watches the task's stop flag, so a manual restart, pause, stop or delete (which all stop
//!   the task) cancels a pending automatic restart.
//! - **Reset rule**: a task that was RUNNING for at least [`HEALTHY_AFTER`] (10 minutes)
//!   before it failed counts as healthy: its next restart is attempt 1 with the initial
//!   delay again. A task that fails sooner keeps counting, so a crash loop still stops at
//!   `restart.max.attempts`.
//! - An automatic restart reopens the same task config with the plugin the connector was
//!   started with (a replaced plugin file is picked up by the next connector restart).

use std::time::Duration;

use super::plugin::{Config, ConfigProblem};
use crate::config::invalid_value;

/// The prefix reserved for the host's restart settings; never passed to a plugin.
pub const RESERVED_PREFIX: &str = "restart.";
/// `true`: restart failed tasks automatically (default `false`).
pub const ON_FAILURE_KEY: &str = "restart.on.failure";
/// The first delay before a restart, in milliseconds (default 1000).
pub const INITIAL_KEY: &str = "restart.backoff.initial.ms";
/// The longest delay between restarts, in milliseconds (default 60000).
pub const MAX_KEY: &str = "restart.backoff.max.ms";
/// How many automatic restarts in a row, -1 for no limit (default -1).
pub const ATTEMPTS_KEY: &str = "restart.max.attempts";

/// How long a task must have been RUNNING before failing for its restart count to reset.
pub const HEALTHY_AFTER: Duration = Duration::from_secs(600);

const DELAY_RANGE: (i64, i64) = (1, 86_400_000);

/// A connector's restart settings (only built when `restart.on.failure=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// `None`: no limit.
    pub max_attempts: Option<u32>,
    /// See [`HEALTHY_AFTER`]; a field so unit tests can shorten it.
    pub healthy_after: Duration,
}

impl RestartPolicy {
    /// The policy `raw` asks for: `Ok(None)` when automatic restarts are off. Every bad
    /// `restart.*` key is reported, naming the key, the value and what is accepted.
    pub fn from_connector(raw: &Config) -> Result<Option<RestartPolicy>, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let problem_count = std::cell::Cell::new(0usize);
        let mut problem = |key: &str, message: String| {
            problem_count.set(problem_count.get() + 1);
            problems.push(ConfigProblem {
                key: key.to_string(),
                message,
            })
        };
        let mut enabled = false;
        let mut initial = 1_000i64;
        let mut max = 60_000i64;
        let mut attempts = -1i64;
        for (key, value) in raw.iter().filter(|(k, _)| k.starts_with(RESERVED_PREFIX)) {
            let trimmed = value.trim();
            match key.as_str() {
                ON_FAILURE_KEY => {
                    if trimmed.eq_ignore_ascii_case("true") {
                        enabled = true;
                    } else if trimmed.eq_ignore_ascii_case("false") {
                        enabled = false;
                    } else {
                        problem(
                            key,
                            invalid_value(
                                key,
                                value,
                                false,
                                "Expected value to be either true or false",
                            ),
                        );
                    }
                }
                INITIAL_KEY | MAX_KEY => match trimmed.parse::<i64>() {
                    Ok(n) if (DELAY_RANGE.0..=DELAY_RANGE.1).contains(&n) => {
                        if key == INITIAL_KEY {
                            initial = n;
                        } else {
                            max = n;
                        }
                    }
                    _ => problem(
                        key,
                        invalid_value(
                            key,
                            value,
                            false,
                            &format!(
                                "use a whole number of milliseconds from {} to {} (one day)",
                                DELAY_RANGE.0, DELAY_RANGE.1
                            ),
                        ),
                    ),
                },
                ATTEMPTS_KEY => match trimmed.parse::<i64>() {
                    Ok(n) if n == -1 || (0..=i64::from(u32::MAX)).contains(&n) => attempts = n,
                    _ => problem(
                        key,
                        invalid_value(
                            key,
                            value,
                            false,
                            "use -1 (no limit) or a whole number of restarts from 0",
                        ),
                    ),
                },
                _ => problem(
                    key,
                    format!(
                        "unknown restart setting `{key}`: keys starting with `{RESERVED_PREFIX}` \
                         are reserved for the host; use {ON_FAILURE_KEY}, {INITIAL_KEY}, \
                         {MAX_KEY} or {ATTEMPTS_KEY}"
                    ),
                ),
            }
        }
        // Only compare the two delays once both parsed (a bad one is already reported).
        if problem_count.get() == 0 && initial > max {
            problem(
                INITIAL_KEY,
                invalid_value(
                    INITIAL_KEY,
                    &initial.to_string(),
                    false,
                    &format!("must not exceed {MAX_KEY} ({max})"),
                ),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let ms = |n: i64| Duration::from_millis(u64::try_from(n).unwrap_or(0));
        Ok(enabled.then(|| RestartPolicy {
            initial: ms(initial),
            max: ms(max),
            max_attempts: u32::try_from(attempts).ok(),
            healthy_after: HEALTHY_AFTER,
        }))
    }
}

/// `config` without the reserved `restart.*` keys: what a plugin may see.
pub fn plugin_view(config: &Config) -> Config {
    config
        .iter()
        .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
        .cloned()
        .collect()
}

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
    use crate::runtime::test_doubles::cfg;

    #[test]
    fn off_by_default_and_defaults_when_on() {
        assert_eq!(RestartPolicy::from_connector(&cfg(&[("a", "b")])), Ok(None));
        assert_eq!(
            RestartPolicy::from_connector(&cfg(&[(ON_FAILURE_KEY, " TRUE ")])),
            Ok(Some(RestartPolicy {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
                max_attempts: None,
                healthy_after: HEALTHY_AFTER,
            }))
        );
        let p = RestartPolicy::from_connector(&cfg(&[
            (ON_FAILURE_KEY, "true"),
            (INITIAL_KEY, "250"),
            (MAX_KEY, "1000"),
            (ATTEMPTS_KEY, "0"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (p.initial, p.max, p.max_attempts),
            (Duration::from_millis(250), Duration::from_secs(1), Some(0))
        );
    }

    #[test]
    fn every_bad_key_is_reported_precisely() {
        let problems = RestartPolicy::from_connector(&cfg(&[
            (ON_FAILURE_KEY, "yes"),
            (INITIAL_KEY, "0"),
            (MAX_KEY, "soon"),
            (ATTEMPTS_KEY, "-2"),
            ("restart.backoff.ms", "5"),
        ]))
        .unwrap_err();
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        assert_eq!(
            text,
            [
                "restart.on.failure: Invalid value yes for configuration restart.on.failure: \
                 Expected value to be either true or false",
                "restart.backoff.initial.ms: Invalid value 0 for configuration \
                 restart.backoff.initial.ms: use a whole number of milliseconds from 1 to \
                 86400000 (one day)",
                "restart.backoff.max.ms: Invalid value soon for configuration \
                 restart.backoff.max.ms: use a whole number of milliseconds from 1 to 86400000 \
                 (one day)",
                "restart.max.attempts: Invalid value -2 for configuration restart.max.attempts: \
                 use -1 (no limit) or a whole number of restarts from 0",
                "restart.backoff.ms: unknown restart setting `restart.backoff.ms`: keys starting \
                 with `restart.` are reserved for the host; use restart.on.failure, \
                 restart.backoff.initial.ms, restart.backoff.max.ms or restart.max.attempts",
            ]
        );
        let problems =
            RestartPolicy::from_connector(&cfg(&[(INITIAL_KEY, "5000"), (MAX_KEY, "100")]))
                .unwrap_err();
        assert_eq!(
            problems[0].message,
            "Invalid value 5000 for configuration restart.backoff.initial.ms: must not exceed \
             restart.backoff.max.ms (100)"
        );
    }

    #[test]
    fn plugins_never_see_the_keys() {
        let raw = cfg(&[("topic", "t"), (ON_FAILURE_KEY, "true"), (MAX_KEY, "9")]);
        assert_eq!(plugin_view(&raw), cfg(&[("topic", "t")]));
    }

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
