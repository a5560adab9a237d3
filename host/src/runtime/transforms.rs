//! The SMT chain of a task: a connector's compiled [`ChainSpec`] (`transforms=a,b` with
//! optional predicates) opened as one [`TransformChain`] per task.
//!
//! Design decision: the chain is batched end to end. Each step makes one call per batch: the
//! predicate (if any) is tested on the whole live batch, then the transform is applied to the
//! records where `negate XOR test` holds, and the results are merged back in input order.
//! Every input record ends as exactly one [`ChainOutcome`] at its input index, so the task
//! loops can advance offsets for dropped and failed records and report failures with the
//! original record's coordinates. A run of consecutive steps without predicates may be
//! applied by the plugin layer as one [`ChainSegment`] (WASM components hand records from
//! step to step in their own encoding there); the chain only sees its outcomes.

use std::collections::VecDeque;
use std::sync::Arc;

use super::plugin::{Plugin, TaskId};
use super::retry::RetryPolicy;
use super::task::{Outcome, Predicate, TaskError, Transform};
use crate::config::ChainSpec;
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

impl TransformChain {
    /// Opens one instance of every transform and predicate of `spec` for task `id`.
    pub fn open(
        spec: &ChainSpec<Arc<dyn Plugin>>,
        id: &TaskId,
        retry: RetryPolicy,
    ) -> Result<TransformChain, String> {
        let mut steps = Vec::with_capacity(spec.steps.len());
        for s in &spec.steps {
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
                plugin: s.plugin.clone(),
                transform,
                predicate,
                negate: s.negate,
            });
        }
        TransformChain::new(steps, retry)
    }
}

struct Step {
    alias: String,
    class: String,
    /// The plugin that opened `transform`, asked to join it with the steps that follow.
    plugin: Arc<dyn Plugin>,
    transform: Box<dyn Transform>,
    predicate: Option<(String, Box<dyn Predicate>)>,
    negate: bool,
}

/// An opened step without a predicate, offered to a plugin to join with the next ones
/// ([`Plugin::join_transforms`]).
pub struct JoinStep {
    pub alias: String,
    pub class: String,
    pub transform: Box<dyn Transform>,
}

/// Consecutive steps without predicates that a plugin implementation applies together
/// ([`Plugin::join_transforms`]), e.g. handing the records from one step to the next without
/// converting them. It retries its own calls and names the step behind every failure, as the
/// chain does for a single step.
///
/// A segment works on the chain's own live list — each record with its input index — and
/// records the outcome of every record it drops or fails in `done`, so handing records to a
/// segment and back moves nothing: a per-batch outcome list in between cost ~100 ns a
/// record on the SMT-chain benchmark (three planned steps, ~135 ns in all without it).
pub trait ChainSegment: Send {
    /// The segment over `live` (input index, record; in input order): sets `done[index]`
    /// for every record it drops or fails and returns the records it keeps, in input order.
    fn apply(
        &mut self,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError>;
}

enum Stage {
    /// One configured step, applied by the chain.
    Step(Step),
    /// Several configured steps, applied by the plugin layer.
    Segment(Box<dyn ChainSegment>),
}

/// One task's chain instances.
pub struct TransformChain {
    stages: Vec<Stage>,
    retry: RetryPolicy,
}

impl TransformChain {
    /// A chain that keeps every record (no `transforms`).
    pub fn empty() -> Self {
        TransformChain {
            stages: Vec::new(),
            retry: RetryPolicy::none(),
        }
    }

    /// Offers every run of consecutive steps without predicates to the plugin of its first
    /// step to join ([`Plugin::join_transforms`]); the steps no plugin joins stay single.
    fn new(steps: Vec<Step>, retry: RetryPolicy) -> Result<Self, String> {
        let mut stages = Vec::with_capacity(steps.len());
        let mut run: Vec<(Arc<dyn Plugin>, JoinStep)> = Vec::new();
        for step in steps {
            if step.predicate.is_none() {
                let join = JoinStep {
                    alias: step.alias,
                    class: step.class,
                    transform: step.transform,
                };
                run.push((step.plugin, join));
                continue;
            }
            join_run(&mut run, &retry, &mut stages)?;
            stages.push(Stage::Step(step));
        }
        join_run(&mut run, &retry, &mut stages)?;
        Ok(TransformChain { stages, retry })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// One outcome per input record, in input order.
    pub fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<ChainOutcome>, ChainError> {
        let n = records.len();
        let mut done: Vec<Option<ChainOutcome>> = vec![None; n];
        let mut live: Vec<(usize, ConnectRecord)> = records.into_iter().enumerate().collect();
        for stage in &mut self.stages {
            if live.is_empty() {
                break;
            }
            live = match stage {
                Stage::Step(step) => apply_step(step, &self.retry, live, &mut done)?,
                Stage::Segment(segment) => segment.apply(live, &mut done)?,
            };
        }
        for (i, r) in live {
            done[i] = Some(ChainOutcome::Keep(r));
        }
        Ok(finished(done))
    }
}

/// Turns `run` (consecutive steps without predicates, with the plugins that opened them) into
/// stages: the plugin of the first step left joins what it can from the front; a step its
/// plugin does not join stays single.
fn join_run(
    run: &mut Vec<(Arc<dyn Plugin>, JoinStep)>,
    retry: &RetryPolicy,
    stages: &mut Vec<Stage>,
) -> Result<(), String> {
    let (plugins, mut steps): (VecDeque<_>, Vec<_>) = run.drain(..).unzip();
    let mut plugins = plugins;
    while let Some(plugin) = plugins.front().cloned() {
        let before = steps.len();
        let segment = plugin.join_transforms(&mut steps, retry).map_err(|e| {
            format!(
                "cannot start transform {:?} ({}): {}",
                e.alias, e.class, e.error
            )
        })?;
        let joined = before - steps.len();
        match segment {
            Some(segment) if joined > 0 => {
                stages.push(Stage::Segment(segment));
                plugins.drain(..joined);
            }
            _ => {
                let JoinStep {
                    alias,
                    class,
                    transform,
                } = steps.remove(0);
                plugins.pop_front();
                stages.push(Stage::Step(Step {
                    alias,
                    class,
                    plugin,
                    transform,
                    predicate: None,
                    negate: false,
                }));
            }
        }
    }
    Ok(())
}

/// Step `step` over the live records: its predicate, then its transform for the records the
/// predicate selects. Returns the kept records, in input order.
fn apply_step(
    step: &mut Step,
    retry: &RetryPolicy,
    mut live: Vec<(usize, ConnectRecord)>,
    done: &mut [Option<ChainOutcome>],
) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
    let err = |error: TaskError| chain_error(&step.alias, &step.class, error);
    // Which live records this step applies to.
    let applies: Vec<bool> = match &mut step.predicate {
        None => vec![true; live.len()],
        Some((pclass, p)) => {
            let batch: Vec<ConnectRecord> = live.iter().map(|(_, r)| r.clone()).collect();
            let answers = retry.run(|| p.test(&batch)).map_err(|e| ChainError {
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
    let applied = apply_transform(
        step.transform.as_mut(),
        (&step.alias, &step.class),
        input_idx,
        input,
        retry,
        done,
    )?;
    // Merge back in input order (each list is already ordered by index).
    Ok(merge(passing, applied))
}

/// `transform` (named `alias`, `class`) over `input`, the records at indices `index`, its
/// calls retried as `retry` says. Returns the kept records in order; dropped and failed ones
/// are recorded in `done`.
pub(crate) fn apply_transform(
    transform: &mut dyn Transform,
    (alias, class): (&str, &str),
    index: Vec<usize>,
    input: Vec<ConnectRecord>,
    retry: &RetryPolicy,
    done: &mut [Option<ChainOutcome>],
) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let err = |error: TaskError| chain_error(alias, class, error);
    let count = input.len();
    let outcomes = if retry.enabled() {
        // `apply` consumes its input; keep a copy for a retry.
        retry.run(|| transform.apply(input.clone()))
    } else {
        transform.apply(input)
    }
    .map_err(err)?;
    if outcomes.len() != count {
        return Err(err(TaskError::Fatal(format!(
            "transform returned {} outcomes for {count} records",
            outcomes.len()
        ))));
    }
    let mut kept = Vec::with_capacity(count);
    for (i, o) in index.into_iter().zip(outcomes) {
        match o {
            Outcome::Keep(r) => kept.push((i, r)),
            Outcome::Drop => done[i] = Some(ChainOutcome::Drop),
            Outcome::Fail(message) => {
                done[i] = Some(ChainOutcome::Fail {
                    class: class.to_string(),
                    message,
                })
            }
        }
    }
    Ok(kept)
}

/// A step's failure as the chain reports it.
pub(crate) fn chain_error(alias: &str, class: &str, error: TaskError) -> ChainError {
    ChainError {
        alias: alias.to_string(),
        class: class.to_string(),
        error,
    }
}

/// Every record's outcome, in input order (the chain sets each one; an unset one would read
/// as dropped).
pub(crate) fn finished(done: Vec<Option<ChainOutcome>>) -> Vec<ChainOutcome> {
    done.into_iter()
        .map(|o| o.unwrap_or(ChainOutcome::Drop))
        .collect()
}

/// Two lists of records ordered by input index, as one.
pub(crate) fn merge(
    a: Vec<(usize, ConnectRecord)>,
    b: Vec<(usize, ConnectRecord)>,
) -> Vec<(usize, ConnectRecord)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
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
