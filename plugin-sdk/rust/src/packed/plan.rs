//! Struct plans on the packed path: a plugin's [`StructPlan`] checked against its input
//! schema and compiled into byte operations, cached per input schema, and encoded for the
//! host's `transform-plans.struct-plan`.
//!
//! Which transforms have plans is decided at export time: the adapters are generic over a
//! [`PlanSource`], [`NoPlans`] for a plain [`Transform`] and [`WithPlans`] for one that also
//! implements [`StructPlans`], so the basic trait carries nothing of the fast path.

use std::rc::Rc;
use std::sync::Arc;

use sluice_packed::{plan_source, tag, write_schema, write_value, Error, Reader, Writer};

use super::decode::{read_schema, Failure};
use crate::plan::{FieldSource, StructPlan, StructPlans};
use crate::record::Side;
use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::transform::Transform;
use crate::value::Value;

/// Where a transformer's struct plans come from. Named by the export macros only.
#[doc(hidden)]
pub trait PlanSource<T: Transform>: 'static {
    /// The side the plans rewrite; `None`: no plans, every record goes through `apply`.
    fn side(t: &T) -> Option<Side>;
    /// The plan for records whose side has the struct schema `input`.
    fn plan(t: &mut T, input: &SchemaRef) -> Option<StructPlan>;
}

/// A plain [`Transform`]: no plans.
#[doc(hidden)]
pub struct NoPlans;

impl<T: Transform> PlanSource<T> for NoPlans {
    fn side(_: &T) -> Option<Side> {
        None
    }
    fn plan(_: &mut T, _: &SchemaRef) -> Option<StructPlan> {
        None
    }
}

/// A transform with [`StructPlans`].
#[doc(hidden)]
pub struct WithPlans;

impl<T: StructPlans> PlanSource<T> for WithPlans {
    fn side(t: &T) -> Option<Side> {
        Some(t.plan_side())
    }
    fn plan(t: &mut T, input: &SchemaRef) -> Option<StructPlan> {
        t.struct_plan(input)
    }
}
/// A [`StructPlan`] checked against its input schema, with its constant parts encoded.
pub(super) struct CompiledPlan {
    pub(super) output: SchemaRef,
    /// Per input field: the value tag its schema calls for, and whether it may be null.
    pub(super) checks: Vec<(u8, bool)>,
    pub(super) ops: Vec<Op>,
}

pub(super) enum Op {
    /// Input field `index`: `replace` (when set) stands in for a non-null value, `if_null`
    /// (when set) for a null one; otherwise the input bytes are copied.
    Field {
        index: usize,
        replace: Option<Vec<u8>>,
        if_null: Option<Vec<u8>>,
    },
    Topic,
    Partition,
    Offset,
    Timestamp,
    Bytes(Vec<u8>),
}

/// The value tag of a schema type.
fn value_tag(ty: SchemaType) -> u8 {
    match ty {
        SchemaType::Int8 => tag::INT8,
        SchemaType::Int16 => tag::INT16,
        SchemaType::Int32 => tag::INT32,
        SchemaType::Int64 => tag::INT64,
        SchemaType::Float32 => tag::FLOAT32,
        SchemaType::Float64 => tag::FLOAT64,
        SchemaType::Boolean => tag::BOOLEAN,
        SchemaType::String => tag::STRING,
        SchemaType::Bytes => tag::BYTES,
        SchemaType::Array => tag::ARRAY,
        SchemaType::Map => tag::MAP,
        SchemaType::Struct => tag::STRUCT,
    }
}

fn encoded(v: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    write_value(&mut w, v);
    w.finish()
}

impl CompiledPlan {
    /// `None` when the plan does not fit `input` (an index past its fields, an output
    /// schema whose field count differs): those records then take the record path.
    fn new(plan: StructPlan, input: &Schema) -> Option<CompiledPlan> {
        if input.ty != SchemaType::Struct
            || plan.schema.ty != SchemaType::Struct
            || plan.schema.fields.len() != plan.fields.len()
        {
            return None;
        }
        let default_of = |index: usize, null_as_default: bool| -> Option<Vec<u8>> {
            let d = input.fields[index].schema.default.as_ref()?;
            null_as_default.then(|| encoded(d))
        };
        let mut ops = Vec::with_capacity(plan.fields.len());
        for f in plan.fields {
            ops.push(match f {
                FieldSource::Input {
                    index,
                    null_as_default,
                } if index < input.fields.len() => Op::Field {
                    index,
                    replace: None,
                    if_null: default_of(index, null_as_default),
                },
                FieldSource::Replaced {
                    index,
                    with,
                    null_as_default,
                } if index < input.fields.len() => {
                    let with = encoded(&with);
                    Op::Field {
                        index,
                        if_null: default_of(index, null_as_default).map(|_| with.clone()),
                        replace: Some(with),
                    }
                }
                FieldSource::Input { .. } | FieldSource::Replaced { .. } => return None,
                FieldSource::Topic => Op::Topic,
                FieldSource::Partition => Op::Partition,
                FieldSource::Offset => Op::Offset,
                FieldSource::Timestamp => Op::Timestamp,
                FieldSource::Constant(v) => Op::Bytes(encoded(&v)),
            });
        }
        // Each output field must be able to hold what its source gives, so a plan cannot
        // send the host values its output schema does not describe.
        for (op, field) in ops.iter().zip(&plan.schema.fields) {
            let out = &field.schema;
            let fits = |bytes: &[u8]| {
                bytes[0] == value_tag(out.ty) || (bytes[0] == tag::NULL && out.optional)
            };
            let ok = match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                } => {
                    let input = &input.fields[*index].schema;
                    replace.as_deref().map_or(input.ty == out.ty, fits)
                        && if_null.as_deref().is_none_or(fits)
                        && (out.optional || !input.optional || if_null.is_some())
                }
                Op::Topic => out.ty == SchemaType::String,
                Op::Partition => out.ty == SchemaType::Int32,
                Op::Offset | Op::Timestamp => out.ty == SchemaType::Int64,
                Op::Bytes(b) => fits(b),
            };
            if !ok {
                return None;
            }
        }
        Some(CompiledPlan {
            output: plan.schema,
            checks: input
                .fields
                .iter()
                .map(|f| (value_tag(f.schema.ty), f.schema.optional))
                .collect(),
            ops,
        })
    }
}

/// The compiled plans of the last few input schemas, kept across batches (Kafka keeps 16
/// updated schemas per transform; so do we).
#[doc(hidden)]
#[derive(Default)]
pub struct PlanCache {
    entries: Vec<(SchemaRef, Option<Rc<CompiledPlan>>)>,
    /// How many records were rewritten by a plan (for tests).
    pub(crate) planned: usize,
}

impl PlanCache {
    const SIZE: usize = 16;

    /// The compiled plan for `input`, asking `P` on a miss.
    pub(super) fn get<T: Transform, P: PlanSource<T>>(
        &mut self,
        t: &mut T,
        input: &SchemaRef,
    ) -> Option<Rc<CompiledPlan>> {
        let hit = self
            .entries
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, input))
            .or_else(|| self.entries.iter().position(|(s, _)| **s == **input));
        if let Some(i) = hit {
            return self.entries[i].1.clone();
        }
        let plan = P::plan(t, input)
            .and_then(|p| CompiledPlan::new(p, input))
            .map(Rc::new);
        if self.entries.len() == Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((input.clone(), plan.clone()));
        plan
    }
}

/// `transform-plans.struct-plan`: reads the input schema the host sends, asks the transform
/// for its plan and returns it encoded, or `None` when there is none or it does not fit the
/// schema (the host would refuse it; those records then go through `apply`).
pub(crate) fn struct_plan<T: Transform, P: PlanSource<T>>(
    t: &mut T,
    input: &[u8],
) -> Result<Option<Vec<u8>>, Error> {
    let mut r = Reader::new(input)?;
    let schema = match read_schema(&mut r, 0) {
        Ok(s) => s,
        Err(Failure::Bytes(e)) => return Err(e),
        // A schema the SDK cannot represent (a bad default, say) has no plan.
        Err(Failure::Data(_)) => return Ok(None),
    };
    r.finish()?;
    if schema.ty != SchemaType::Struct {
        return Ok(None);
    }
    let Some(plan) = P::plan(t, &schema) else {
        return Ok(None);
    };
    if CompiledPlan::new(plan.clone(), &schema).is_none() {
        return Ok(None);
    }
    Ok(Some(encode_plan(&plan)))
}

/// A plan as `transform-plans.struct-plan` returns it: the output schema, then each field's
/// source.
fn encode_plan(plan: &StructPlan) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    write_schema(&mut w, &*plan.schema);
    w.len(plan.fields.len());
    for f in &plan.fields {
        match f {
            FieldSource::Input {
                index,
                null_as_default,
            } => {
                w.u8(plan_source::INPUT);
                w.len(*index);
                w.bool(*null_as_default);
            }
            FieldSource::Replaced {
                index,
                with,
                null_as_default,
            } => {
                w.u8(plan_source::REPLACED);
                w.len(*index);
                w.bool(*null_as_default);
                write_value(&mut w, with);
            }
            FieldSource::Topic => w.u8(plan_source::TOPIC),
            FieldSource::Partition => w.u8(plan_source::PARTITION),
            FieldSource::Offset => w.u8(plan_source::OFFSET),
            FieldSource::Timestamp => w.u8(plan_source::TIMESTAMP),
            FieldSource::Constant(v) => {
                w.u8(plan_source::CONSTANT);
                write_value(&mut w, v);
            }
        }
    }
    w.finish()
}
