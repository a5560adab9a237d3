//! The SMT chain: `transforms=a,b` with optional predicates, resolved once from a connector
//! config ([`ChainSpec`]) and opened per task ([`TransformChain`]).
//!
//! Design decision: the chain is batched end to end. Each step makes one call per batch: the
//! predicate (if any) is tested on the whole live batch, then the transform is applied to the
//! records where `negate XOR test` holds, and the results are merged back in input order.
//! Every input record ends as exactly one [`ChainOutcome`] at its input index, so the task
//! loops can advance offsets for dropped and failed records and report failures with the
//! original record's coordinates.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backoff::sleep_unless_stopped;
use super::plugin::{Config, ConfigProblem, Plugin, PluginCatalog, PluginKind, TaskId};
use super::task::{Outcome, Predicate, TaskError, Transform};
use crate::config::get;
use crate::data::packed::{self, StepOutcome};
use crate::data::ConnectRecord;

/// What the chain made of one input record.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainOutcome {
    Keep(ConnectRecord),
    /// Filtered out: not passed on, but its offset counts as processed.
    Drop,
    /// A transform or predicate failed this record (stage `TRANSFORMATION`).
    Fail {
        /// The configured class (`transforms.<a>.type` / `predicates.<p>.type`).
        class: String,
        message: String,
    },
}

/// A whole-batch failure of one step (after retries): the task cannot go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("transform {alias:?} ({class}) failed: {error}")]
pub struct ChainError {
    pub alias: String,
    pub class: String,
    pub error: TaskError,
}

#[derive(Clone)]
struct PredicateSpec {
    alias: String,
    class: String,
    plugin: Arc<dyn Plugin>,
    config: Config,
}

#[derive(Clone)]
struct StepSpec {
    alias: String,
    class: String,
    plugin: Arc<dyn Plugin>,
    config: Config,
    predicate: Option<PredicateSpec>,
    negate: bool,
}

/// A validated chain, ready to be opened by each task.
#[derive(Clone, Default)]
pub struct ChainSpec {
    steps: Vec<StepSpec>,
}

/// `<prefix>*` keys with the prefix removed, in order (`transforms.<a>.type` etc. excluded).
fn sub_config(raw: &Config, prefix: &str, exclude: &[&str]) -> Config {
    raw.iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(prefix)?;
            (!exclude.contains(&rest)).then(|| (rest.to_string(), v.clone()))
        })
        .collect()
}

fn aliases(raw: &Config, key: &str, problems: &mut Vec<ConfigProblem>) -> Vec<String> {
    let value = get(raw, key).unwrap_or_default();
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let unique: HashSet<&String> = list.iter().collect();
    if unique.len() != list.len() {
        problems.push(ConfigProblem {
            key: key.to_string(),
            message: format!(
                "Invalid value {value} for configuration {key}: Duplicate alias provided."
            ),
        });
    }
    list
}

fn available(catalog: &dyn PluginCatalog, kind: PluginKind) -> String {
    let mut names: Vec<String> = catalog
        .plugins()
        .iter()
        .filter(|p| p.spec().kind == kind)
        .flat_map(|p| std::iter::once(p.spec().name.clone()).chain(p.spec().aliases.clone()))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        format!(
            "(none: no {} plugin was found in plugin.path)",
            kind.rest_name()
        )
    } else {
        names.join(", ")
    }
}

/// Finds `<prefix>type` in the catalog as a plugin of `kind`, or records the problem.
fn resolve_type(
    raw: &Config,
    prefix: &str,
    kind: PluginKind,
    catalog: &dyn PluginCatalog,
    problems: &mut Vec<ConfigProblem>,
) -> Option<(String, Arc<dyn Plugin>)> {
    let key = format!("{prefix}type");
    let class = get(raw, &key).map(str::trim).unwrap_or_default();
    if class.is_empty() {
        problems.push(ConfigProblem {
            message: format!(
                "Missing required configuration \"{key}\" which has no default value."
            ),
            key,
        });
        return None;
    }
    let what = match kind {
        PluginKind::Predicate => "predicates",
        _ => "transformations",
    };
    match catalog.find(class) {
        Some(p) if p.spec().kind == kind => Some((class.to_string(), p)),
        found => {
            let why = match found {
                Some(p) => format!("{} is a {}", p.spec().name, p.spec().kind.rest_name()),
                None => format!("Class {class} could not be found"),
            };
            problems.push(ConfigProblem {
                message: format!(
                    "Invalid value {class} for configuration {key}: {why}; available {what} are: {}",
                    available(catalog, kind)
                ),
                key,
            });
            None
        }
    }
}

/// Checks the plugin's required keys and its own `validate` on a sub-config; keys are
/// reported with their full `<prefix><key>` name.
fn check_plugin(
    plugin: &dyn Plugin,
    prefix: &str,
    config: &Config,
    problems: &mut Vec<ConfigProblem>,
) {
    for def in &plugin.spec().config {
        if def.required && def.default.is_none() && get(config, &def.name).is_none() {
            let key = format!("{prefix}{}", def.name);
            problems.push(ConfigProblem {
                message: format!(
                    "Missing required configuration \"{key}\" which has no default value."
                ),
                key,
            });
        }
    }
    match plugin.validate(config) {
        Ok(found) => problems.extend(found.into_iter().map(|p| ConfigProblem {
            key: format!("{prefix}{}", p.key),
            message: p.message,
        })),
        Err(e) => problems.push(ConfigProblem {
            key: format!("{prefix}type"),
            message: format!(
                "{} could not validate its configuration: {e}",
                plugin.spec().name
            ),
        }),
    }
}

impl ChainSpec {
    /// Resolves `transforms` / `predicates` against the catalog; returns every problem found.
    pub fn resolve(
        raw: &Config,
        catalog: &dyn PluginCatalog,
    ) -> Result<ChainSpec, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut predicates = Vec::new();
        for alias in aliases(raw, "predicates", &mut problems) {
            let prefix = format!("predicates.{alias}.");
            if let Some((class, plugin)) =
                resolve_type(raw, &prefix, PluginKind::Predicate, catalog, &mut problems)
            {
                let config = sub_config(raw, &prefix, &["type"]);
                check_plugin(plugin.as_ref(), &prefix, &config, &mut problems);
                predicates.push(PredicateSpec {
                    alias,
                    class,
                    plugin,
                    config,
                });
            }
        }
        let declared: Vec<String> = aliases(raw, "predicates", &mut Vec::new());
        let mut steps = Vec::new();
        for alias in aliases(raw, "transforms", &mut problems) {
            let prefix = format!("transforms.{alias}.");
            let pred_key = format!("{prefix}predicate");
            let negate_key = format!("{prefix}negate");
            let pred_alias = get(raw, &pred_key).map(str::trim).filter(|s| !s.is_empty());
            let negate = match get(raw, &negate_key).map(str::trim) {
                None | Some("") => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    problems.push(ConfigProblem {
                        key: negate_key.clone(),
                        message: format!(
                            "Invalid value {v} for configuration {negate_key}: Expected value to be either true or false"
                        ),
                    });
                    false
                }
            };
            if pred_alias.is_none() && get(raw, &negate_key).is_some() {
                problems.push(ConfigProblem {
                    key: negate_key.clone(),
                    message: format!(
                        "Invalid value {} for configuration {negate_key}: negate can only be used \
                         together with a predicate; set {pred_key} too",
                        get(raw, &negate_key).unwrap_or_default()
                    ),
                });
            }
            let predicate = match pred_alias {
                None => None,
                Some(p) => match predicates.iter().find(|s| s.alias == p) {
                    Some(s) => Some(s.clone()),
                    None => {
                        // A declared predicate whose type failed is already reported.
                        if !declared.iter().any(|d| d == p) {
                            problems.push(ConfigProblem {
                                key: pred_key.clone(),
                                message: format!(
                                    "Invalid value {p} for configuration {pred_key}: \
                                     Predicate '{p}' is not defined; the predicates list \
                                     (predicates) has: [{}]",
                                    declared.join(", ")
                                ),
                            });
                        }
                        None
                    }
                },
            };
            if let Some((class, plugin)) =
                resolve_type(raw, &prefix, PluginKind::Transform, catalog, &mut problems)
            {
                let config = sub_config(raw, &prefix, &["type", "predicate", "negate"]);
                check_plugin(plugin.as_ref(), &prefix, &config, &mut problems);
                steps.push(StepSpec {
                    alias,
                    class,
                    plugin,
                    config,
                    predicate,
                    negate,
                });
            }
        }
        if problems.is_empty() {
            Ok(ChainSpec { steps })
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Opens one instance of every transform and predicate for task `id`.
    pub fn open(&self, id: &TaskId, retry: RetryPolicy) -> Result<TransformChain, String> {
        let mut steps = Vec::with_capacity(self.steps.len());
        for s in &self.steps {
            let transform = s
                .plugin
                .open_transform(id, &s.class, &s.config)
                .map_err(|e| format!("cannot start transform {:?} ({}): {e}", s.alias, s.class))?;
            let predicate = match &s.predicate {
                None => None,
                Some(p) => Some((
                    p.class.clone(),
                    p.plugin
                        .open_predicate(id, &p.class, &p.config)
                        .map_err(|e| {
                            format!("cannot start predicate {:?} ({}): {e}", p.alias, p.class)
                        })?,
                )),
            };
            steps.push(Step {
                alias: s.alias.clone(),
                class: s.class.clone(),
                transform,
                predicate,
                negate: s.negate,
            });
        }
        Ok(TransformChain { steps, retry })
    }
}

/// `errors.retry.timeout` / `errors.retry.delay.max.ms`: how long a retriable failure of a
/// whole call is retried, with a delay doubling from 300 ms up to the max.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// `None`: retry forever (`-1`); zero: never retry.
    pub timeout: Option<Duration>,
    pub max_delay: Duration,
    pub stop: Arc<AtomicBool>,
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy {
            timeout: Some(Duration::ZERO),
            max_delay: Duration::from_secs(60),
            stop: Arc::default(),
        }
    }

    fn enabled(&self) -> bool {
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
                    delay = (delay * 2).min(self.max_delay);
                }
                other => return other,
            }
        }
    }
}

struct Step {
    alias: String,
    class: String,
    transform: Box<dyn Transform>,
    predicate: Option<(String, Box<dyn Predicate>)>,
    negate: bool,
}

/// One task's chain instances.
pub struct TransformChain {
    steps: Vec<Step>,
    retry: RetryPolicy,
}

impl TransformChain {
    /// A chain that keeps every record (no `transforms`).
    pub fn empty() -> Self {
        TransformChain {
            steps: Vec::new(),
            retry: RetryPolicy::none(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// One outcome per input record, in input order.
    pub fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<ChainOutcome>, ChainError> {
        if self.all_packed() {
            return self.apply_packed(records);
        }
        let n = records.len();
        let mut done: Vec<Option<ChainOutcome>> = vec![None; n];
        let mut live: Vec<(usize, ConnectRecord)> = records.into_iter().enumerate().collect();
        for step in &mut self.steps {
            if live.is_empty() {
                break;
            }
            let err = |error: TaskError| chain_error(&step.alias, &step.class, error);
            // Which live records this step applies to.
            let applies: Vec<bool> = match &mut step.predicate {
                None => vec![true; live.len()],
                Some((pclass, p)) => {
                    let batch: Vec<ConnectRecord> = live.iter().map(|(_, r)| r.clone()).collect();
                    let answers = self.retry.run(|| p.test(&batch)).map_err(|e| ChainError {
                        alias: step.alias.clone(),
                        class: pclass.clone(),
                        error: e,
                    })?;
                    if answers.len() != batch.len() {
                        return Err(err(TaskError::Fatal(format!(
                            "predicate {pclass} returned {} answers for {} records",
                            answers.len(),
                            batch.len()
                        ))));
                    }
                    let mut applies = Vec::with_capacity(answers.len());
                    for ((i, _), a) in live.iter().zip(answers) {
                        match a {
                            Ok(b) => applies.push(b != step.negate),
                            Err(message) => {
                                done[*i] = Some(ChainOutcome::Fail {
                                    class: pclass.clone(),
                                    message,
                                });
                                applies.push(false);
                            }
                        }
                    }
                    applies
                }
            };
            let mut passing: Vec<(usize, ConnectRecord)> = Vec::new();
            let mut input_idx: Vec<usize> = Vec::new();
            let mut input: Vec<ConnectRecord> = Vec::new();
            for ((i, r), a) in live.drain(..).zip(applies) {
                if done[i].is_some() {
                    continue; // the predicate failed it
                }
                if a {
                    input_idx.push(i);
                    input.push(r);
                } else {
                    passing.push((i, r));
                }
            }
            let mut applied: Vec<(usize, ConnectRecord)> = Vec::with_capacity(input.len());
            if !input.is_empty() {
                let count = input.len();
                let outcomes = if self.retry.enabled() {
                    // `apply` consumes its input; keep a copy for a retry.
                    self.retry.run(|| step.transform.apply(input.clone()))
                } else {
                    step.transform.apply(input)
                }
                .map_err(err)?;
                if outcomes.len() != count {
                    return Err(err(TaskError::Fatal(format!(
                        "transform returned {} outcomes for {count} records",
                        outcomes.len()
                    ))));
                }
                for (i, o) in input_idx.into_iter().zip(outcomes) {
                    match o {
                        Outcome::Keep(r) => applied.push((i, r)),
                        Outcome::Drop => done[i] = Some(ChainOutcome::Drop),
                        Outcome::Fail(message) => {
                            done[i] = Some(ChainOutcome::Fail {
                                class: step.class.clone(),
                                message,
                            })
                        }
                    }
                }
            }
            // Merge back in input order (both lists are already ordered by index).
            live = merge(passing, applied);
        }
        for (i, r) in live {
            done[i] = Some(ChainOutcome::Keep(r));
        }
        Ok(finished(done))
    }
}

impl TransformChain {
    /// Every step is a transform with a packed form and no predicate (the common case).
    fn all_packed(&self) -> bool {
        !self.steps.is_empty()
            && self
                .steps
                .iter()
                .all(|s| s.predicate.is_none() && s.transform.has_packed())
    }

    /// [`TransformChain::apply`] with the records encoded once and decoded once: each step's
    /// packed output becomes the next step's input by copying the kept records' bytes
    /// (`packed::rebatch`), instead of decoding into host records and encoding again.
    fn apply_packed(
        &mut self,
        records: Vec<ConnectRecord>,
    ) -> Result<Vec<ChainOutcome>, ChainError> {
        let n = records.len();
        let mut done: Vec<Option<ChainOutcome>> = vec![None; n];
        let mut live: Vec<usize> = (0..n).collect();
        let mut batch = packed::encode_batch(&records);
        drop(records);
        let mut last: Option<(String, String)> = None;
        for step in &mut self.steps {
            if live.is_empty() {
                break;
            }
            let err = |error: TaskError| chain_error(&step.alias, &step.class, error);
            let out = self
                .retry
                .run(|| step.transform.apply_packed(&batch))
                .map_err(err)?;
            let (next, outcomes) = packed::rebatch(&out, live.len()).map_err(|e| {
                err(TaskError::Fatal(format!(
                    "transform plugin returned malformed output: {e}"
                )))
            })?;
            let mut kept = Vec::with_capacity(live.len());
            for (i, o) in live.into_iter().zip(outcomes) {
                match o {
                    StepOutcome::Keep => kept.push(i),
                    StepOutcome::Drop => done[i] = Some(ChainOutcome::Drop),
                    StepOutcome::Fail(message) => {
                        done[i] = Some(ChainOutcome::Fail {
                            class: step.class.clone(),
                            message,
                        })
                    }
                }
            }
            live = kept;
            batch = next;
            last = Some((step.alias.clone(), step.class.clone()));
        }
        if !live.is_empty() {
            // `rebatch` checked every kept record, so this only fails on a host bug; blame the
            // step whose output it is.
            let kept = packed::decode_batch(&batch).map_err(|e| {
                let (alias, class) = last.clone().unwrap_or_default();
                let error =
                    TaskError::Fatal(format!("transform plugin returned malformed output: {e}"));
                chain_error(&alias, &class, error)
            })?;
            for (i, r) in live.into_iter().zip(kept) {
                done[i] = Some(ChainOutcome::Keep(r));
            }
        }
        Ok(finished(done))
    }
}

/// A step's failure as the chain reports it.
fn chain_error(alias: &str, class: &str, error: TaskError) -> ChainError {
    ChainError {
        alias: alias.to_string(),
        class: class.to_string(),
        error,
    }
}

/// Every record's outcome, in input order (the chain sets each one; an unset one would read
/// as dropped).
fn finished(done: Vec<Option<ChainOutcome>>) -> Vec<ChainOutcome> {
    done.into_iter()
        .map(|o| o.unwrap_or(ChainOutcome::Drop))
        .collect()
}

fn merge(
    a: Vec<(usize, ConnectRecord)>,
    b: Vec<(usize, ConnectRecord)>,
) -> Vec<(usize, ConnectRecord)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 < y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
#[path = "transforms_tests.rs"]
mod tests;
