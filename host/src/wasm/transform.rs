//! Transform and predicate component resources as runtime [`Transform`] / [`Predicate`].

use wasmtime::component::ResourceAny;

use super::bindings::{packed_transforms, predicates, transform_plans, transforms};
use super::instance::PluginInstance;
use super::{lift, lower};
use crate::data::packed;
use crate::data::plan::PlanSide;
use crate::data::ConnectRecord;
use crate::runtime::task::{Outcome, Predicate, TaskError, Transform};

enum TransformGuest {
    Structured(transforms::Guest),
    Packed(packed_transforms::Guest),
}

/// A transformer resource over the structured `transforms` interface or, when the component
/// exports it, `packed-transforms`.
pub(crate) struct WasmTransform {
    inst: PluginInstance,
    guest: TransformGuest,
    transformer: ResourceAny,
    /// `transform-plans`, when the component exports it (with `packed-transforms` only).
    plans: Option<transform_plans::Guest>,
}

impl WasmTransform {
    pub fn new(inst: PluginInstance, guest: transforms::Guest, transformer: ResourceAny) -> Self {
        WasmTransform {
            inst,
            guest: TransformGuest::Structured(guest),
            transformer,
            plans: None,
        }
    }

    pub fn packed(
        inst: PluginInstance,
        guest: packed_transforms::Guest,
        transformer: ResourceAny,
        plans: Option<transform_plans::Guest>,
    ) -> Self {
        WasmTransform {
            inst,
            guest: TransformGuest::Packed(guest),
            transformer,
            plans,
        }
    }
}

impl Transform for WasmTransform {
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError> {
        let count = records.len();
        let t = self.transformer;
        let guest = match &self.guest {
            TransformGuest::Structured(g) => g,
            TransformGuest::Packed(g) => {
                let bytes = packed::encode_batch(&records);
                drop(records);
                let out = self.inst.call_as("apply", |store, _| {
                    g.packed_transformer().call_apply(store, t, &bytes)
                })?;
                return packed::decode_transform_output(&out, count).map_err(|e| {
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

    fn has_packed(&self) -> bool {
        matches!(self.guest, TransformGuest::Packed(_))
    }

    fn apply_packed(&mut self, batch: &[u8]) -> Result<Vec<u8>, TaskError> {
        let TransformGuest::Packed(g) = &self.guest else {
            return Err(TaskError::Fatal(
                "this transform plugin does not export packed-transforms".into(),
            ));
        };
        let t = self.transformer;
        self.inst.call_as("apply", |store, _| {
            g.packed_transformer().call_apply(store, t, batch)
        })
    }

    fn plan_side(&mut self) -> Result<Option<PlanSide>, TaskError> {
        let Some(g) = &self.plans else {
            return Ok(None);
        };
        let t = self.transformer;
        let side = self
            .inst
            .call_as("plan-side", |store, _| g.call_plan_side(store, t))?;
        Ok(side.map(|s| match s {
            transform_plans::Side::Key => PlanSide::Key,
            transform_plans::Side::Value => PlanSide::Value,
        }))
    }

    fn struct_plan(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>, TaskError> {
        let Some(g) = &self.plans else {
            return Ok(None);
        };
        let t = self.transformer;
        self.inst.call_as("struct-plan", |store, _| {
            g.call_struct_plan(store, t, input)
        })
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
