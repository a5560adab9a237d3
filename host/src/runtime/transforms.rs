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
use crate::data::plan::{self, PlanSide, StructPlan};
use crate::data::{ConnectRecord, SchemaRef};

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
            let mut transform = transform;
            let planner = transform
                .plan_side()
                .map_err(|e| format!("cannot start transform {:?} ({}): {e}", s.alias, s.class))?
                .map(Planner::new);
            steps.push(Step {
                alias: s.alias.clone(),
                class: s.class.clone(),
                transform,
                predicate,
                negate: s.negate,
                planner,
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
    /// The transform's struct plans, when it gives them (`data::plan`).
    planner: Option<Planner>,
}

/// One step's struct plans, by input schema, kept across batches.
///
/// Design decision: the chain applies a plan to every record it fits in host form and gives
/// the plugin only the rest, so a chain of InsertField/MaskField/ReplaceField over struct
/// records never crosses into WASM once each step has its plan. Plans are asked for once
/// per input schema (the plugin's answer, a plan or none, is kept for the last
/// [`Planner::SIZE`] schemas, as Kafka's SMTs keep 16 updated schemas).
struct Planner {
    side: PlanSide,
    entries: Vec<(SchemaRef, Option<StructPlan>)>,
    /// How many records plans rewrote (for tests and the benchmark).
    planned: u64,
}

impl Planner {
    const SIZE: usize = 16;

    fn new(side: PlanSide) -> Planner {
        Planner {
            side,
            entries: Vec::new(),
            planned: 0,
        }
    }

    /// The cache entry for `record`'s planned side, asking the plugin on a new schema.
    fn lookup(
        &mut self,
        transform: &mut dyn Transform,
        alias: &str,
        record: &ConnectRecord,
    ) -> Result<Option<usize>, TaskError> {
        let data = match self.side {
            PlanSide::Key => &record.key,
            PlanSide::Value => &record.value,
        };
        let Some(schema) = &data.schema else {
            return Ok(None);
        };
        if schema.ty != crate::data::SchemaType::Struct {
            return Ok(None);
        }
        // Records of one batch nearly always share one schema `Arc` (converters and plans
        // hand out one per schema), so the pointer test is what usually answers.
        if let Some(i) = self
            .entries
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, schema))
            .or_else(|| self.entries.iter().position(|(s, _)| **s == **schema))
        {
            return Ok(Some(i));
        }
        let plan = match transform.struct_plan(&plan::encode_input(schema))? {
            None => None,
            Some(bytes) => match StructPlan::new(&bytes, schema) {
                Ok(p) => Some(p),
                Err(why) => {
                    // Not fatal: the records this plan was for go through `apply`, which
                    // gives the same result, only slower.
                    tracing::warn!(
                        transform = alias,
                        "struct plan refused, using the plugin's apply instead: {why}"
                    );
                    None
                }
            },
        };
        if self.entries.len() == Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((schema.clone(), plan));
        Ok(Some(self.entries.len() - 1))
    }

    /// Rewrites `record` when a plan fits it; `false` leaves it untouched for `apply`.
    fn rewrite(
        &mut self,
        transform: &mut dyn Transform,
        alias: &str,
        record: &mut ConnectRecord,
    ) -> Result<bool, TaskError> {
        let Some(i) = self.lookup(transform, alias, record)? else {
            return Ok(false);
        };
        match &self.entries[i].1 {
            Some(plan) if plan.fits(record, self.side) => {
                plan.rewrite(record, self.side);
                self.planned += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Whether a plan fits at least one of `live`.
    fn fits_any(
        &mut self,
        transform: &mut dyn Transform,
        alias: &str,
        live: &[(usize, ConnectRecord)],
    ) -> Result<bool, TaskError> {
        for (_, r) in live {
            if let Some(i) = self.lookup(transform, alias, r)? {
                if self.entries[i]
                    .1
                    .as_ref()
                    .is_some_and(|p| p.fits(r, self.side))
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
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
        let n = records.len();
        let mut done: Vec<Option<ChainOutcome>> = vec![None; n];
        let mut live: Vec<(usize, ConnectRecord)> = records.into_iter().enumerate().collect();
        for k in 0..self.steps.len() {
            if live.is_empty() {
                break;
            }
            // Once no plan helps, the rest of the chain runs packed when it can: encoded
            // once, decoded once, instead of once per step.
            if self.packed_from(k) && !self.plans_fit(k, &live)? {
                live = self.apply_packed(k, live, &mut done)?;
                break;
            }
            live = self.apply_step(k, live, &mut done)?;
        }
        for (i, r) in live {
            done[i] = Some(ChainOutcome::Keep(r));
        }
        Ok(finished(done))
    }

    /// How many records struct plans rewrote, per step (for tests and the benchmark).
    pub fn planned(&self) -> Vec<u64> {
        self.steps
            .iter()
            .map(|s| s.planner.as_ref().map_or(0, |p| p.planned))
            .collect()
    }

    /// Step `k` over the live records: its predicate, then its plans for the records they
    /// fit and the transform's `apply` for the rest. Returns the kept records, in order.
    fn apply_step(
        &mut self,
        k: usize,
        mut live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        let step = &mut self.steps[k];
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
        let mut planned: Vec<(usize, ConnectRecord)> = Vec::new();
        let mut input_idx: Vec<usize> = Vec::new();
        let mut input: Vec<ConnectRecord> = Vec::new();
        for ((i, mut r), a) in live.drain(..).zip(applies) {
            if done[i].is_some() {
                continue; // the predicate failed it
            }
            if !a {
                passing.push((i, r));
                continue;
            }
            if let Some(planner) = &mut step.planner {
                if planner
                    .rewrite(&mut *step.transform, &step.alias, &mut r)
                    .map_err(err)?
                {
                    planned.push((i, r));
                    continue;
                }
            }
            input_idx.push(i);
            input.push(r);
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
        // Merge back in input order (each list is already ordered by index).
        let applied = if planned.is_empty() {
            applied
        } else {
            merge(planned, applied)
        };
        Ok(merge(passing, applied))
    }

    /// Steps `k..` are all transforms with a packed form and no predicate.
    fn packed_from(&self, k: usize) -> bool {
        self.steps[k..]
            .iter()
            .all(|s| s.predicate.is_none() && s.transform.has_packed())
    }

    /// Whether step `k` has a plan that fits one of `live` (asking for plans as needed).
    fn plans_fit(&mut self, k: usize, live: &[(usize, ConnectRecord)]) -> Result<bool, ChainError> {
        let step = &mut self.steps[k];
        match &mut step.planner {
            None => Ok(false),
            Some(p) => p
                .fits_any(&mut *step.transform, &step.alias, live)
                .map_err(|e| chain_error(&step.alias, &step.class, e)),
        }
    }

    /// Steps `k..` over the live records with the records encoded once and decoded once:
    /// each step's packed output becomes the next step's input by copying the kept
    /// records' bytes (`packed::rebatch`), instead of decoding into host records and
    /// encoding again. Returns the records kept by the last step.
    fn apply_packed(
        &mut self,
        k: usize,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        let (mut live, records): (Vec<usize>, Vec<ConnectRecord>) = live.into_iter().unzip();
        let mut batch = packed::encode_batch(&records);
        drop(records);
        let mut last: Option<(String, String)> = None;
        for step in &mut self.steps[k..] {
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
        if live.is_empty() {
            return Ok(Vec::new());
        }
        // `rebatch` checked every kept record, so this only fails on a host bug; blame the
        // step whose output it is.
        let kept = packed::decode_batch(&batch).map_err(|e| {
            let (alias, class) = last.clone().unwrap_or_default();
            let error =
                TaskError::Fatal(format!("transform plugin returned malformed output: {e}"));
            chain_error(&alias, &class, error)
        })?;
        Ok(live.into_iter().zip(kept).collect())
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
