//! Transform and predicate component resources as runtime [`Transform`] / [`Predicate`].
//!
//! Design decision: when a transform over `packed-transforms` gives struct plans
//! (`transform-plans`), the host applies them: [`WasmTransform`]'s `apply` rewrites the
//! records a plan fits in host form and hands the plugin only the rest. Consecutive packed
//! transforms of a chain are joined into one segment (`packed::fused`), which also composes
//! their plans and passes the records from step to step packed.

use wasmtime::component::ResourceAny;

use super::bindings::{packed_transforms, predicates, transform_plans, transforms};
use super::instance::PluginInstance;
use super::packed::codec;
use super::packed::plan::PlanSide;
use super::packed::planner::Planner;
use super::{lift, lower};
use crate::data::ConnectRecord;
use crate::runtime::task::{Outcome, Predicate, TaskError, Transform};

enum TransformGuest {
    Structured(transforms::Guest),
    Packed(packed_transforms::Guest),
}

/// The calls into one transformer resource, over the structured `transforms` interface or,
/// when the component exports it, `packed-transforms`.
pub(crate) struct Transformer {
    inst: PluginInstance,
    guest: TransformGuest,
    resource: ResourceAny,
    /// `transform-plans`, when the component exports it (with `packed-transforms` only).
    plans: Option<transform_plans::Guest>,
}

impl Transformer {
    /// Whether the component exports `packed-transforms` (then [`Self::apply_packed`] works).
    pub(super) fn is_packed(&self) -> bool {
        matches!(self.guest, TransformGuest::Packed(_))
    }

    /// `apply` over a batch in the packed encoding, returning the packed transform output.
    pub(super) fn apply_packed(&mut self, batch: &[u8]) -> Result<Vec<u8>, TaskError> {
        let TransformGuest::Packed(g) = &self.guest else {
            return Err(TaskError::Fatal(
                "this transform plugin does not export packed-transforms".into(),
            ));
        };
        let t = self.resource;
        self.inst.call_as("apply", |store, _| {
            g.packed_transformer().call_apply(store, t, batch)
        })
    }

    /// The side whose struct plans this transform gives (`transform-plans`), if any.
    fn plan_side(&mut self) -> Result<Option<PlanSide>, TaskError> {
        let Some(g) = &self.plans else {
            return Ok(None);
        };
        let t = self.resource;
        let side = self
            .inst
            .call_as("plan-side", |store, _| g.call_plan_side(store, t))?;
        Ok(side.map(|s| match s {
            transform_plans::Side::Key => PlanSide::Key,
            transform_plans::Side::Value => PlanSide::Value,
        }))
    }

    /// The struct plan for struct schema `input` (`plan::encode_input`), if the transform
    /// has one.
    pub(super) fn struct_plan(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>, TaskError> {
        let Some(g) = &self.plans else {
            return Ok(None);
        };
        let t = self.resource;
        self.inst.call_as("struct-plan", |store, _| {
            g.call_struct_plan(store, t, input)
        })
    }
}

/// The plugin's own `apply`, every record through the component.
impl Transform for Transformer {
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError> {
        let count = records.len();
        let t = self.resource;
        let guest = match &self.guest {
            TransformGuest::Structured(g) => g,
            TransformGuest::Packed(g) => {
                let bytes = codec::encode_batch(&records);
                drop(records);
                let out = self.inst.call_as("apply", |store, _| {
                    g.packed_transformer().call_apply(store, t, &bytes)
                })?;
                return codec::decode_transform_output(&out, count).map_err(|e| {
                    TaskError::Fatal(format!("transform plugin returned malformed output: {e}"))
                });
            }
        };
        let batch = lower::batch(records);
        let out = self.inst.call_as("apply", |store, _| {
            guest.transformer().call_apply(store, t, &batch)
        })?;
        lift::transform_output(out, count).map_err(|e| {
            TaskError::Fatal(format!("transform plugin returned malformed output: {e}"))
        })
    }
}

/// A transform component: its transformer, and its struct plans when it gives them.
pub(crate) struct WasmTransform {
    pub(super) transformer: Transformer,
    pub(super) planner: Option<Planner>,
}

impl WasmTransform {
    pub fn new(inst: PluginInstance, guest: transforms::Guest, resource: ResourceAny) -> Self {
        WasmTransform {
            transformer: Transformer {
                inst,
                guest: TransformGuest::Structured(guest),
                resource,
                plans: None,
            },
            planner: None,
        }
    }

    /// A transformer over `packed-transforms`; with `plans`, asks once for its plan side.
    /// `class` names it in the warnings about refused plans.
    pub fn packed(
        inst: PluginInstance,
        guest: packed_transforms::Guest,
        resource: ResourceAny,
        plans: Option<transform_plans::Guest>,
        class: &str,
    ) -> Result<Self, TaskError> {
        let mut transformer = Transformer {
            inst,
            guest: TransformGuest::Packed(guest),
            resource,
            plans,
        };
        let planner = transformer
            .plan_side()?
            .map(|side| Planner::new(side, class));
        Ok(WasmTransform {
            transformer,
            planner,
        })
    }

    pub(super) fn is_packed(&self) -> bool {
        self.transformer.is_packed()
    }
}

impl Transform for WasmTransform {
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError> {
        let Some(planner) = &mut self.planner else {
            return self.transformer.apply(records);
        };
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(records.len());
        let (mut rest_idx, mut rest) = (Vec::new(), Vec::new());
        for (i, mut r) in records.into_iter().enumerate() {
            if planner.rewrite(&mut self.transformer, &mut r)? {
                outcomes.push(Some(Outcome::Keep(r)));
            } else {
                outcomes.push(None);
                rest_idx.push(i);
                rest.push(r);
            }
        }
        if rest.len() == outcomes.len() {
            return self.transformer.apply(rest);
        }
        if !rest.is_empty() {
            for (i, o) in rest_idx.into_iter().zip(self.transformer.apply(rest)?) {
                outcomes[i] = Some(o);
            }
        }
        // The plugin returned one outcome per record it was given (checked when decoding).
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Drop))
            .collect())
    }
}

pub(crate) struct WasmPredicate {
    inst: PluginInstance,
    guest: predicates::Guest,
    tester: ResourceAny,
}

impl WasmPredicate {
    pub fn new(inst: PluginInstance, guest: predicates::Guest, tester: ResourceAny) -> Self {
        WasmPredicate {
            inst,
            guest,
            tester,
        }
    }
}

impl Predicate for WasmPredicate {
    fn test(&mut self, records: &[ConnectRecord]) -> Result<Vec<Result<bool, String>>, TaskError> {
        // The trait lends the records (the transform that follows needs them), so this
        // lowering copies; predicates are rare enough on the data path for that to be fine.
        let batch = lower::batch(records.to_vec());
        let (guest, t) = (&self.guest, self.tester);
        let answers = self.inst.call_as("test", |store, _| {
            guest.tester().call_test(store, t, &batch)
        })?;
        if answers.len() != records.len() {
            return Err(TaskError::Fatal(format!(
                "predicate plugin returned {} answers for {} records",
                answers.len(),
                records.len()
            )));
        }
        Ok(answers)
    }
}
