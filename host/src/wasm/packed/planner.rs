//! One transform's struct plans (`transform-plans`), by input schema, and their use on
//! records in host form.
//!
//! Design decision: a plan is asked for once per input schema, and the plugin's answer (a
//! plan, none, or one the host refused) is kept for the last [`BySchema::SIZE`] schemas, so
//! a transform with plans never crosses into WASM for the records its plans fit once it has
//! answered for their schema.

use std::sync::Arc;

use super::plan::{self, PlanSide, StructPlan};
use crate::data::{ConnectRecord, SchemaRef, SchemaType};
use crate::runtime::task::TaskError;
use crate::wasm::transform::Transformer;

/// Values kept per struct schema, for the last [`BySchema::SIZE`] schemas (as Kafka's SMTs
/// keep 16 updated schemas).
pub(in crate::wasm) struct BySchema<T> {
    entries: Vec<(SchemaRef, T)>,
}

impl<T> Default for BySchema<T> {
    fn default() -> Self {
        BySchema {
            entries: Vec::new(),
        }
    }
}

impl<T> BySchema<T> {
    const SIZE: usize = 16;

    /// The entry for `schema`. Records of one batch nearly always share one schema `Arc`
    /// (converters and plans hand out one per schema), so the pointer test usually answers.
    pub(in crate::wasm) fn find(&self, schema: &SchemaRef) -> Option<usize> {
        self.entries
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, schema))
            .or_else(|| self.entries.iter().position(|(s, _)| **s == **schema))
    }

    /// Adds an entry, dropping the oldest when full; returns its index.
    pub(in crate::wasm) fn insert(&mut self, schema: SchemaRef, value: T) -> usize {
        if self.entries.len() == Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((schema, value));
        self.entries.len() - 1
    }

    pub(in crate::wasm) fn get(&self, i: usize) -> &T {
        &self.entries[i].1
    }
}

/// One transform's struct plans, kept across batches.
pub(in crate::wasm) struct Planner {
    /// The side of the records its plans rewrite.
    pub(in crate::wasm) side: PlanSide,
    /// What the warnings about refused plans call the transform.
    name: String,
    plans: BySchema<Option<StructPlan>>,
    /// How many records plans rewrote.
    pub(in crate::wasm) planned: u64,
}

impl Planner {
    pub(in crate::wasm) fn new(side: PlanSide, name: &str) -> Planner {
        Planner {
            side,
            name: name.to_string(),
            plans: BySchema::default(),
            planned: 0,
        }
    }

    /// Names the transform in warnings by its chain alias.
    pub(in crate::wasm) fn rename(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    /// The cache entry for `record`'s planned side, asking the plugin on a new schema.
    fn lookup(
        &mut self,
        transformer: &mut Transformer,
        record: &ConnectRecord,
    ) -> Result<Option<usize>, TaskError> {
        match struct_schema(record, self.side) {
            None => Ok(None),
            Some(schema) => self.entry(transformer, schema).map(Some),
        }
    }

    /// The cache entry for struct schema `schema`, asking the plugin when it is new.
    fn entry(
        &mut self,
        transformer: &mut Transformer,
        schema: &SchemaRef,
    ) -> Result<usize, TaskError> {
        if let Some(i) = self.plans.find(schema) {
            return Ok(i);
        }
        let plan = match transformer.struct_plan(&plan::encode_input(schema))? {
            None => None,
            Some(bytes) => match StructPlan::new(&bytes, schema) {
                Ok(p) => Some(p),
                Err(why) => {
                    // Not fatal: the records this plan was for go through `apply`, which
                    // gives the same result, only slower.
                    tracing::warn!(
                        transform = self.name,
                        "struct plan refused, using the plugin's apply instead: {why}"
                    );
                    None
                }
            },
        };
        Ok(self.plans.insert(schema.clone(), plan))
    }

    /// The plan for struct schema `schema`, asking the plugin when the schema is new.
    pub(in crate::wasm) fn plan_for(
        &mut self,
        transformer: &mut Transformer,
        schema: &SchemaRef,
    ) -> Result<Option<&StructPlan>, TaskError> {
        let i = self.entry(transformer, schema)?;
        Ok(self.plans.get(i).as_ref())
    }

    /// Rewrites `record` when a plan fits it; `false` leaves it untouched for `apply`.
    pub(in crate::wasm) fn rewrite(
        &mut self,
        transformer: &mut Transformer,
        record: &mut ConnectRecord,
    ) -> Result<bool, TaskError> {
        let Some(i) = self.lookup(transformer, record)? else {
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
    pub(in crate::wasm) fn fits_any(
        &mut self,
        transformer: &mut Transformer,
        live: &[(usize, ConnectRecord)],
    ) -> Result<bool, TaskError> {
        for (_, r) in live {
            if let Some(i) = self.lookup(transformer, r)? {
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
pub(in crate::wasm) fn struct_schema(record: &ConnectRecord, side: PlanSide) -> Option<&SchemaRef> {
    let data = match side {
        PlanSide::Key => &record.key,
        PlanSide::Value => &record.value,
    };
    data.schema.as_ref().filter(|s| s.ty == SchemaType::Struct)
}
