//! The SMT chain of a task: a connector's compiled [`ChainSpec`] (`transforms=a,b` with
//! optional predicates) opened as one [`TransformChain`] per task.
//!
//! Design decision: the chain is batched end to end. Each step makes one call per batch: the
//! predicate (if any) is tested on the whole live batch, then the transform is applied to the
//! records where `negate XOR test` holds, and the results are merged back in input order.
//! Every input record ends as exactly one [`ChainOutcome`] at its input index, so the task
//! loops can advance offsets for dropped and failed records and report failures with the
//! original record's coordinates.

use std::sync::Arc;

use super::plugin::{Plugin, TaskId};
use super::retry::RetryPolicy;
use super::task::{Outcome, Predicate, TaskError, Transform};
use crate::config::ChainSpec;
use crate::data::packed::{self, StepOutcome};
use crate::data::plan::{self, PlanSide, StructPlan};
use crate::data::{ConnectRecord, SchemaRef, Value};

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
        Ok(TransformChain::new(steps, retry))
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

/// Values kept per struct schema, for the last [`BySchema::SIZE`] schemas (as Kafka's SMTs
/// keep 16 updated schemas).
#[derive(Default)]
struct BySchema<T> {
    entries: Vec<(SchemaRef, T)>,
}

impl<T> BySchema<T> {
    const SIZE: usize = 16;

    /// The entry for `schema`. Records of one batch nearly always share one schema `Arc`
    /// (converters and plans hand out one per schema), so the pointer test usually answers.
    fn find(&self, schema: &SchemaRef) -> Option<usize> {
        self.entries
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, schema))
            .or_else(|| self.entries.iter().position(|(s, _)| **s == **schema))
    }

    /// Adds an entry, dropping the oldest when full; returns its index.
    fn insert(&mut self, schema: SchemaRef, value: T) -> usize {
        if self.entries.len() == Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((schema, value));
        self.entries.len() - 1
    }

    fn get(&self, i: usize) -> &T {
        &self.entries[i].1
    }
}

/// One step's struct plans, by input schema, kept across batches.
///
/// Design decision: the chain applies a plan to every record it fits in host form and gives
/// the plugin only the rest, so a chain of InsertField/MaskField/ReplaceField over struct
/// records never crosses into WASM once each step has its plan. Plans are asked for once
/// per input schema (the plugin's answer, a plan or none, is kept for the last
/// [`BySchema::SIZE`] schemas).
struct Planner {
    side: PlanSide,
    plans: BySchema<Option<StructPlan>>,
    /// How many records plans rewrote (for tests and the benchmark).
    planned: u64,
}

impl Planner {
    fn new(side: PlanSide) -> Planner {
        Planner {
            side,
            plans: BySchema::default(),
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
        match struct_schema(record, self.side) {
            None => Ok(None),
            Some(schema) => self.plan_for(transform, alias, schema).map(Some),
        }
    }

    /// The cache entry for struct schema `schema`, asking the plugin when it is new.
    fn plan_for(
        &mut self,
        transform: &mut dyn Transform,
        alias: &str,
        schema: &SchemaRef,
    ) -> Result<usize, TaskError> {
        if let Some(i) = self.plans.find(schema) {
            return Ok(i);
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
        Ok(self.plans.insert(schema.clone(), plan))
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
        match self.plans.get(i) {
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
                if self
                    .plans
                    .get(i)
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

/// `record`'s `side` schema when it is a struct schema (what plans are for).
fn struct_schema(record: &ConnectRecord, side: PlanSide) -> Option<&SchemaRef> {
    let data = match side {
        PlanSide::Key => &record.key,
        PlanSide::Value => &record.value,
    };
    data.schema
        .as_ref()
        .filter(|s| s.ty == crate::data::SchemaType::Struct)
}

/// A run's composed plan for one schema, and how many of the run's steps it covers.
type Composed = Arc<(StructPlan, usize)>;

/// The composed plans of one run of planned steps (see [`TransformChain::apply_from`]), by
/// the input schema of the run's first step.
#[derive(Default)]
struct RunPlans {
    /// Per input schema: the composition of the longest prefix of the run whose steps all
    /// have a plan for it, and how many steps that prefix is; `None` when the first step has
    /// no plan for it.
    plans: BySchema<Option<Composed>>,
}

impl RunPlans {
    /// The composed plan for `schema`, composing it (and asking the steps' plugins for their
    /// plans) when it is new. `steps` are the run's steps, all with a planner.
    fn plan_for(
        &mut self,
        steps: &mut [Step],
        schema: &SchemaRef,
    ) -> Result<Option<Composed>, ChainError> {
        if let Some(i) = self.plans.find(schema) {
            return Ok(self.plans.get(i).clone());
        }
        let mut composed: Option<StructPlan> = None;
        let mut covered = 0;
        let mut current = schema.clone();
        for step in steps {
            let Some(planner) = &mut step.planner else {
                break;
            };
            let i = planner
                .plan_for(&mut *step.transform, &step.alias, &current)
                .map_err(|e| chain_error(&step.alias, &step.class, e))?;
            let Some(plan) = planner.plans.get(i) else {
                break;
            };
            current = plan.output().clone();
            composed = Some(match composed {
                None => plan.clone(),
                Some(before) => before.then(plan),
            });
            covered += 1;
        }
        let entry = composed.map(|p| Arc::new((p, covered)));
        self.plans.insert(schema.clone(), entry.clone());
        Ok(entry)
    }
}

/// One task's chain instances.
pub struct TransformChain {
    steps: Vec<Step>,
    retry: RetryPolicy,
    /// Per step: the end (exclusive) of the run of planned steps it starts, that is of the
    /// consecutive steps from it that have plans for the same side and no predicate; the
    /// step itself when it has no plans.
    run_end: Vec<usize>,
    /// Per step: the composed plans of the run it starts.
    runs: Vec<RunPlans>,
    /// Reused for every planned rewrite (`StructPlan::rewrite_with`).
    scratch: Vec<Value>,
}

impl TransformChain {
    /// A chain that keeps every record (no `transforms`).
    pub fn empty() -> Self {
        TransformChain::new(Vec::new(), RetryPolicy::none())
    }

    fn new(steps: Vec<Step>, retry: RetryPolicy) -> Self {
        let mut run_end: Vec<usize> = (0..steps.len()).collect();
        for k in (0..steps.len()).rev() {
            let side_of = |s: &Step| s.planner.as_ref().map(|p| p.side);
            let Some(side) = side_of(&steps[k]).filter(|_| steps[k].predicate.is_none()) else {
                continue;
            };
            run_end[k] = match steps.get(k + 1) {
                // A later step with plans for the same side continues the run.
                Some(next) if run_end[k + 1] > k + 1 && side_of(next) == Some(side) => {
                    run_end[k + 1]
                }
                _ => k + 1,
            };
        }
        TransformChain {
            runs: steps.iter().map(|_| RunPlans::default()).collect(),
            steps,
            retry,
            run_end,
            scratch: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// One outcome per input record, in input order.
    pub fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<ChainOutcome>, ChainError> {
        let n = records.len();
        let mut done: Vec<Option<ChainOutcome>> = vec![None; n];
        let live: Vec<(usize, ConnectRecord)> = records.into_iter().enumerate().collect();
        for (i, r) in self.apply_from(0, live, &mut done)? {
            done[i] = Some(ChainOutcome::Keep(r));
        }
        Ok(finished(done))
    }

    /// Steps `k..` over the live records; returns the records kept by the last step, in
    /// input order.
    ///
    /// Design decision: where step `k` starts a run of planned steps, each record is
    /// rewritten once by the composition of the run's plans for its schema
    /// ([`StructPlan::then`]), in place, and jumps past the steps it covers. When every
    /// record has the same plan length (the usual batch: one schema) nothing is moved
    /// between vectors; a mixed batch is split by plan length, each part goes on from its
    /// own step, and the parts are merged back in input order.
    fn apply_from(
        &mut self,
        mut k: usize,
        mut live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        while k < self.steps.len() && !live.is_empty() {
            if self.run_end[k] > k {
                let (plans, which) = self.run_plans(k, &live)?;
                let covered = |w: &Option<usize>| w.map_or(0, |p| plans[p].1);
                let first = covered(&which[0]);
                if which.iter().all(|w| covered(w) == first) {
                    if first > 0 {
                        self.rewrite_all(k, &plans, &which, &mut live);
                        k += first;
                        continue;
                    }
                } else {
                    // Split by how many steps each record's plan covers.
                    let mut parts: Vec<Vec<(usize, ConnectRecord)>> =
                        (0..=self.run_end[k] - k).map(|_| Vec::new()).collect();
                    let mut part_which: Vec<Vec<Option<usize>>> =
                        parts.iter().map(|_| Vec::new()).collect();
                    for (r, w) in live.into_iter().zip(which) {
                        let c = covered(&w);
                        parts[c].push(r);
                        part_which[c].push(w);
                    }
                    let mut out = Vec::new();
                    for (c, (mut part, w)) in parts.into_iter().zip(part_which).enumerate() {
                        if part.is_empty() {
                            continue;
                        }
                        let kept = if c > 0 {
                            self.rewrite_all(k, &plans, &w, &mut part);
                            self.apply_from(k + c, part, done)?
                        } else {
                            // Records no plan fits go through step `k` one by one, not
                            // packed: their schema peers suggest the plans of later steps
                            // may fit what `apply` makes of them.
                            let part = self.apply_step(k, part, done)?;
                            self.apply_from(k + 1, part, done)?
                        };
                        out = merge(out, kept);
                    }
                    return Ok(out);
                }
            }
            // Once no plan helps, the rest of the chain runs packed when it can: encoded
            // once, decoded once, instead of once per step.
            if self.packed_from(k) && !self.plans_fit(k, &live)? {
                return self.apply_packed(k, live, done);
            }
            live = self.apply_step(k, live, done)?;
            k += 1;
        }
        Ok(live)
    }

    /// The composed plans of the run starting at step `k` that the live records use, and
    /// per record the one that fits it (an index into the plans), if any.
    fn run_plans(
        &mut self,
        k: usize,
        live: &[(usize, ConnectRecord)],
    ) -> Result<(Vec<Composed>, Vec<Option<usize>>), ChainError> {
        let steps = &mut self.steps[k..self.run_end[k]];
        let side = steps[0]
            .planner
            .as_ref()
            .map_or(PlanSide::Value, |p| p.side);
        let runs = &mut self.runs[k];
        let mut plans: Vec<Composed> = Vec::new();
        let mut which = Vec::with_capacity(live.len());
        // The last schema seen and its plan: batches are runs of one schema.
        let mut last: Option<(*const crate::data::Schema, Option<usize>)> = None;
        for (_, r) in live {
            let Some(schema) = struct_schema(r, side) else {
                which.push(None);
                continue;
            };
            let plan = match last {
                Some((ptr, p)) if std::ptr::eq(ptr, Arc::as_ptr(schema)) => p,
                _ => {
                    let p = runs.plan_for(steps, schema)?.map(|plan| {
                        plans
                            .iter()
                            .position(|q| Arc::ptr_eq(q, &plan))
                            .unwrap_or_else(|| {
                                plans.push(plan);
                                plans.len() - 1
                            })
                    });
                    last = Some((Arc::as_ptr(schema), p));
                    p
                }
            };
            which.push(plan.filter(|&p| plans[p].0.fits(r, side)));
        }
        Ok((plans, which))
    }

    /// Rewrites each of `records` by its plan (`which`, all `Some`) from step `k`, in place.
    fn rewrite_all(
        &mut self,
        k: usize,
        plans: &[Composed],
        which: &[Option<usize>],
        records: &mut [(usize, ConnectRecord)],
    ) {
        let side = self.steps[k]
            .planner
            .as_ref()
            .map_or(PlanSide::Value, |p| p.side);
        for ((_, r), w) in records.iter_mut().zip(which) {
            if let Some(p) = w {
                plans[*p].0.rewrite_with(r, side, &mut self.scratch);
            }
        }
        let covered = which.first().copied().flatten().map_or(0, |p| plans[p].1);
        for step in &mut self.steps[k..k + covered] {
            if let Some(planner) = &mut step.planner {
                planner.planned += records.len() as u64;
            }
        }
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
