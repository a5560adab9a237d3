//! A run of consecutive transforms over `packed-transforms`, applied as one chain segment
//! ([`ChainSegment`]): the fast path of a WASM transform chain.
//!
//! Design decision: records cross into a plugin only when they must. A step's struct plans
//! (`transform-plans`, see `plan`) are applied by the host to every record they fit, the
//! plans of consecutive planned steps composed into one per input schema, so a chain of
//! InsertField/MaskField/ReplaceField over struct records never enters WASM once each step
//! has its plan. Once no plan helps, the rest of the segment runs packed: the records are
//! encoded once, each step's packed output becomes the next step's input by copying the kept
//! records' bytes (`codec::rebatch`), and they are decoded once at the end.

use std::any::Any;
use std::sync::Arc;

use super::codec::{self, StepOutcome};
use super::plan::{PlanSide, StructPlan};
use super::planner::{struct_schema, BySchema};
use crate::data::{ConnectRecord, SchemaRef, Value};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::task::TaskError;
use crate::runtime::transforms::{
    apply_transform, chain_error, merge, ChainError, ChainOutcome, ChainSegment, JoinStep,
};
use crate::wasm::transform::WasmTransform;

/// Joins the steps at the front of `steps` whose transforms are WASM transforms over
/// `packed-transforms` into one segment (`None` when the first one is not).
pub(crate) fn join(
    steps: &mut Vec<JoinStep>,
    retry: &RetryPolicy,
) -> Result<Option<FusedSteps>, ChainError> {
    let packed = |s: &JoinStep| {
        let any: &dyn Any = &*s.transform;
        any.downcast_ref::<WasmTransform>()
            .is_some_and(WasmTransform::is_packed)
    };
    let n = steps.iter().take_while(|s| packed(s)).count();
    if n == 0 {
        return Ok(None);
    }
    let mut fused = Vec::with_capacity(n);
    for JoinStep {
        alias,
        class,
        transform,
    } in steps.drain(..n)
    {
        let any: Box<dyn Any> = transform;
        let Ok(transform) = any.downcast::<WasmTransform>() else {
            unreachable!("checked above to be a WasmTransform")
        };
        let mut transform = *transform;
        if let Some(planner) = &mut transform.planner {
            planner.rename(&alias);
        }
        fused.push(FusedStep {
            alias,
            class,
            transform,
            packed: 0,
        });
    }
    Ok(Some(FusedSteps::new(fused, retry.clone())))
}

struct FusedStep {
    alias: String,
    class: String,
    transform: WasmTransform,
    /// How many records went through the plugin's packed `apply`.
    packed: u64,
}

/// A run's composed plan for one schema, and how many of the run's steps it covers.
type Composed = Arc<(StructPlan, usize)>;

/// The composed plans of one run of planned steps (see [`FusedSteps::apply_from`]), by
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
        steps: &mut [FusedStep],
        schema: &SchemaRef,
    ) -> Result<Option<Composed>, ChainError> {
        if let Some(i) = self.plans.find(schema) {
            return Ok(self.plans.get(i).clone());
        }
        let mut composed: Option<StructPlan> = None;
        let mut covered = 0;
        let mut current = schema.clone();
        for step in steps {
            let WasmTransform {
                transformer,
                planner: Some(planner),
            } = &mut step.transform
            else {
                break;
            };
            let Some(plan) = planner
                .plan_for(transformer, &current)
                .map_err(|e| chain_error(&step.alias, &step.class, e))?
            else {
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

/// Consecutive packed transforms of one task's chain.
pub(crate) struct FusedSteps {
    steps: Vec<FusedStep>,
    retry: RetryPolicy,
    /// Per step: the end (exclusive) of the run of planned steps it starts, that is of the
    /// consecutive steps from it that have plans for the same side; the step itself when it
    /// has no plans.
    run_end: Vec<usize>,
    /// Per step: the composed plans of the run it starts.
    runs: Vec<RunPlans>,
    /// Reused for every planned rewrite (`StructPlan::rewrite_with`).
    scratch: Vec<Value>,
}

/// How much of the work the fast path did, for whoever tunes a chain.
impl Drop for FusedSteps {
    fn drop(&mut self) {
        let aliases: Vec<&str> = self.steps.iter().map(|s| s.alias.as_str()).collect();
        tracing::debug!(
            steps = ?aliases,
            planned = ?self.planned(),
            packed = ?self.packed(),
            "transform chain segment closed"
        );
    }
}

impl ChainSegment for FusedSteps {
    fn apply(
        &mut self,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        self.apply_from(0, live, done)
    }
}

impl FusedSteps {
    fn new(steps: Vec<FusedStep>, retry: RetryPolicy) -> Self {
        let mut run_end: Vec<usize> = (0..steps.len()).collect();
        for k in (0..steps.len()).rev() {
            let side_of = |s: &FusedStep| s.transform.planner.as_ref().map(|p| p.side);
            let Some(side) = side_of(&steps[k]) else {
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
        FusedSteps {
            runs: steps.iter().map(|_| RunPlans::default()).collect(),
            steps,
            retry,
            run_end,
            scratch: Vec::new(),
        }
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
            // Once no plan helps, the rest of the segment runs packed: encoded once, decoded
            // once, instead of once per step.
            if !self.plans_fit(k, &live)? {
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
            .transform
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
            .transform
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
            if let Some(planner) = &mut step.transform.planner {
                planner.planned += records.len() as u64;
            }
        }
    }

    /// How many records struct plans rewrote, per step.
    pub(crate) fn planned(&self) -> Vec<u64> {
        self.steps
            .iter()
            .map(|s| s.transform.planner.as_ref().map_or(0, |p| p.planned))
            .collect()
    }

    /// How many records went through the plugins' packed `apply`, per step.
    pub(crate) fn packed(&self) -> Vec<u64> {
        self.steps.iter().map(|s| s.packed).collect()
    }

    /// Step `k` over the live records: its plans for the records they fit and the
    /// transform's `apply` for the rest. Returns the kept records, in order.
    fn apply_step(
        &mut self,
        k: usize,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        let step = &mut self.steps[k];
        let err = |error: TaskError| chain_error(&step.alias, &step.class, error);
        let mut planned: Vec<(usize, ConnectRecord)> = Vec::new();
        let mut input_idx: Vec<usize> = Vec::new();
        let mut input: Vec<ConnectRecord> = Vec::new();
        for (i, mut r) in live {
            if let Some(planner) = &mut step.transform.planner {
                if planner
                    .rewrite(&mut step.transform.transformer, &mut r)
                    .map_err(err)?
                {
                    planned.push((i, r));
                    continue;
                }
            }
            input_idx.push(i);
            input.push(r);
        }
        let applied = apply_transform(
            &mut step.transform.transformer,
            (&step.alias, &step.class),
            input_idx,
            input,
            &self.retry,
            done,
        )?;
        // Merge back in input order (each list is already ordered by index).
        Ok(merge(planned, applied))
    }

    /// Whether step `k` has a plan that fits one of `live` (asking for plans as needed).
    fn plans_fit(&mut self, k: usize, live: &[(usize, ConnectRecord)]) -> Result<bool, ChainError> {
        let step = &mut self.steps[k];
        match &mut step.transform.planner {
            None => Ok(false),
            Some(p) => p
                .fits_any(&mut step.transform.transformer, live)
                .map_err(|e| chain_error(&step.alias, &step.class, e)),
        }
    }

    /// Steps `k..` over the live records with the records encoded once and decoded once:
    /// each step's packed output becomes the next step's input by copying the kept
    /// records' bytes (`codec::rebatch`), instead of decoding into host records and
    /// encoding again. Returns the records kept by the last step.
    fn apply_packed(
        &mut self,
        k: usize,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        let (mut live, records): (Vec<usize>, Vec<ConnectRecord>) = live.into_iter().unzip();
        let mut batch = codec::encode_batch(&records);
        drop(records);
        let mut last: Option<(String, String)> = None;
        for step in &mut self.steps[k..] {
            if live.is_empty() {
                break;
            }
            let err = |error: TaskError| chain_error(&step.alias, &step.class, error);
            step.packed += live.len() as u64;
            let out = self
                .retry
                .run(|| step.transform.transformer.apply_packed(&batch))
                .map_err(err)?;
            let (next, outcomes) = codec::rebatch(&out, live.len()).map_err(|e| {
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
        let kept = codec::decode_batch(&batch).map_err(|e| {
            let (alias, class) = last.clone().unwrap_or_default();
            let error =
                TaskError::Fatal(format!("transform plugin returned malformed output: {e}"));
            chain_error(&alias, &class, error)
        })?;
        Ok(live.into_iter().zip(kept).collect())
    }
}
