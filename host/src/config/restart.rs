//! The host's automatic-restart keys (`restart.*`), compiled into a [`RestartPolicy`].
//!
//! Design decision: the keys are **reserved for the host**: [`plugin_view`] removes them before
//! a plugin sees a config (validate, task configs), like the `wasm.*` sandbox keys. Any other
//! key under `restart.` is refused, so a typo cannot silently leave restarts off.

use std::time::Duration;

use super::invalid_value;
use crate::spec::{Config, ConfigProblem};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

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
}
