//! A transform over a packed batch: each record a struct plan fits is rewritten byte for
//! byte (head, other side and headers copied through, the struct assembled from slices of
//! the input); every other record is decoded, given to `apply` and encoded.

use std::rc::Rc;

use sluice_packed::{outcome_tag, scan, tag, Error, Reader};

use super::decode::{next_record, read_table};
use super::encode::Encoder;
use super::plan::{CompiledPlan, Op, PlanCache, PlanSource};
use crate::record::Side;
use crate::schema::{SchemaRef, SchemaType};
use crate::transform::{Outcome, Transform};
use crate::value::DataError;

/// Applies a transform to a packed batch and returns the packed outcomes.
///
/// When `P` has plans for the transform (see [`PlanSource`]), each record whose side is a
/// struct with a plan is rewritten byte for byte; every other record is decoded, given to
/// [`Transform::apply`] and encoded, as a transform without plans has all its records.
pub(crate) fn apply_transform<T: Transform, P: PlanSource<T>>(
    t: &mut T,
    bytes: &[u8],
    cache: &mut PlanCache,
) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let table_start = r.position();
    let schemas = read_table(&mut r, n)?;
    // The output table starts with the input's entries, so planned records can keep their
    // other side's and their headers' schema indices.
    let table = r.since(table_start);
    let seeds: Vec<Option<SchemaRef>> = schemas.iter().map(|s| s.as_ref().ok().cloned()).collect();
    let mut rw = Rewriter {
        bytes,
        enc: Encoder::with_table(count, table, &seeds),
        plans: vec![None; schemas.len()],
        spans: Vec::new(),
    };
    let side = P::side(t);
    for _ in 0..count {
        if let Some(side) = side {
            let mark = rw.enc.body.buf.len();
            if let Some(after) = rw.planned::<T, P>(t, cache, &schemas, r.clone(), side) {
                r = after;
                rw.enc.count += 1;
                cache.planned += 1;
                continue;
            }
            rw.enc.body.buf.truncate(mark);
        }
        let outcome = match next_record(&mut r, &schemas)? {
            Ok(record) => t.apply(record),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        rw.enc.outcome(&outcome);
    }
    r.finish()?;
    Ok(rw.enc.finish())
}

struct Rewriter<'a> {
    bytes: &'a [u8],
    enc: Encoder,
    /// Per input table entry, once looked up: its plan, if any.
    plans: Vec<Option<Option<Rc<CompiledPlan>>>>,
    /// Where each input struct field's bytes are, for the record at hand.
    spans: Vec<(usize, usize)>,
}

impl Rewriter<'_> {
    /// Writes the `keep` outcome of the record at `r` by its plan and returns the reader
    /// past the record; `None` when the record does not fit a plan (the caller then drops
    /// what was written and takes the record path, which also reports broken bytes).
    ///
    /// Uses the position-based [`scan`] functions: the host checks every byte of the output
    /// (UTF-8 included) before it goes anywhere, so this side only needs to find boundaries.
    fn planned<'b, T: Transform, P: PlanSource<T>>(
        &mut self,
        t: &mut T,
        cache: &mut PlanCache,
        schemas: &[Result<SchemaRef, DataError>],
        mut r: Reader<'b>,
        side: Side,
    ) -> Option<Reader<'b>> {
        let b = self.bytes;
        let n = schemas.len();
        let start = r.position();
        let topic = scan::bytes(b, start)?;
        let (partition, p) = scan::opt_svar(b, topic.1)?;
        let (offset, p) = scan::opt_svar(b, p)?;
        let (timestamp, p) = scan::opt_svar(b, p)?;
        if *b.get(p)? > 2 {
            return None;
        }
        let head = Head {
            topic,
            partition,
            offset,
            timestamp,
        };
        let mut p = p + 1;
        if side == Side::Value {
            p = scan::data(b, p, n)?.1;
        }
        self.enc.body.u8(outcome_tag::KEEP);
        self.enc.body.buf.extend_from_slice(&b[start..p]);
        let rest = self.rewrite::<T, P>(t, cache, schemas, p, &head)?;
        let mut p = rest;
        if side == Side::Key {
            p = scan::data(b, p, n)?.1;
        }
        let (headers, mut p) = scan::uvar(b, p)?;
        for _ in 0..headers {
            p = scan::bytes(b, p)?.1;
            p = scan::data(b, p, n)?.1;
        }
        self.enc.body.buf.extend_from_slice(&b[rest..p]);
        r.advance_to(p).ok()?;
        Some(r)
    }

    /// Writes the struct at `pos` rewritten by the plan for its schema; returns the position
    /// after the input struct.
    fn rewrite<T: Transform, P: PlanSource<T>>(
        &mut self,
        t: &mut T,
        cache: &mut PlanCache,
        schemas: &[Result<SchemaRef, DataError>],
        pos: usize,
        head: &Head,
    ) -> Option<usize> {
        let b = self.bytes;
        let (index, p) = scan::uvar(b, pos)?;
        let index = usize::try_from(index).ok()?.checked_sub(1)?;
        let slot = self.plans.get_mut(index)?;
        if slot.is_none() {
            *slot = Some(match schemas.get(index)? {
                Ok(s) if s.ty == SchemaType::Struct => cache.get::<T, P>(t, s),
                _ => None,
            });
        }
        let plan = slot.clone()??;
        if *b.get(p)? != tag::STRUCT {
            return None;
        }
        let (fields, mut p) = scan::uvar(b, p + 1)?;
        if fields != plan.checks.len() as u64 {
            return None;
        }
        self.spans.clear();
        for &(expected, optional) in &plan.checks {
            let found = *b.get(p)?;
            if found != expected && !(found == tag::NULL && optional) {
                return None;
            }
            let end = scan::value_end(b, p, 1)?;
            self.spans.push((p, end));
            p = end;
        }
        let out = self.enc.intern(&plan.output);
        let w = &mut self.enc.body;
        w.schema_ref(Some(out));
        w.u8(tag::STRUCT);
        w.len(plan.ops.len());
        for op in &plan.ops {
            match op {
                Op::Field {
                    index,
                    replace,
                    if_null,
                } => {
                    let (from, to) = self.spans[*index];
                    let input = &b[from..to];
                    let bytes = match (input[0] == tag::NULL, replace, if_null) {
                        (true, _, Some(b)) => b.as_slice(),
                        (true, _, None) => input,
                        (false, Some(b), _) => b.as_slice(),
                        (false, None, _) => input,
                    };
                    w.buf.extend_from_slice(bytes);
                }
                Op::Topic => {
                    let (from, to) = head.topic;
                    std::str::from_utf8(&b[from..to]).ok()?;
                    w.u8(tag::STRING);
                    w.len(to - from);
                    w.buf.extend_from_slice(&b[from..to]);
                }
                Op::Partition => {
                    w.u8(tag::INT32);
                    w.svar(i64::from(i32::try_from(head.partition?).ok()?));
                }
                Op::Offset => {
                    w.u8(tag::INT64);
                    w.svar(head.offset?);
                }
                Op::Timestamp => {
                    w.u8(tag::INT64);
                    w.svar(head.timestamp?);
                }
                Op::Bytes(b) => w.buf.extend_from_slice(b),
            }
        }
        Some(p)
    }
}

/// What a plan reads from a record head: where the topic's bytes are, and the metadata.
struct Head {
    topic: (usize, usize),
    partition: Option<i64>,
    offset: Option<i64>,
    timestamp: Option<i64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::packed::decode::decode_outcomes;
    use crate::packed::decode::tests::{user, user_schema};
    use crate::packed::encode::encode_batch;
    use crate::packed::plan::WithPlans;
    use crate::plan::{FieldSource, StructPlan, StructPlans};
    use crate::record::Record;
    use crate::schema::{Field, Schema};
    use crate::value::{Struct, Value};

    /// Appends a field `extra` to struct values, by `apply` and by a plan whose last field
    /// comes from `source` into a field of schema `extra`.
    struct Append {
        extra: SchemaRef,
        source: FieldSource,
        value: Value,
    }

    impl Transform for Append {
        fn spec() -> crate::config::PluginSpec {
            crate::config::PluginSpec::new("append", "0.1.0")
        }
        fn create(_class: &str, _config: crate::config::Config) -> Result<Self, String> {
            Err("built directly".into())
        }
        fn apply(&mut self, mut record: Record) -> Outcome {
            let extra = self.extra.clone();
            let value = self.value.clone();
            let done = record.update_side(Side::Value, |schema, v| match (schema, v) {
                (Some(s), Value::Struct(st)) => {
                    let out = output_schema(&s, &extra);
                    let (_, mut values) = st.into_parts();
                    values.push(value);
                    Ok((
                        Some(out.clone()),
                        Value::Struct(Struct::from_values(out, values)?),
                    ))
                }
                (schema, v) => Ok::<_, DataError>((schema, v)),
            });
            match done {
                Ok(()) => Outcome::Keep(record),
                Err(e) => Outcome::Fail(e.to_string()),
            }
        }
    }

    impl StructPlans for Append {
        fn plan_side(&self) -> Side {
            Side::Value
        }
        fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
            let mut fields: Vec<FieldSource> = (0..input.fields.len())
                .map(|index| FieldSource::Input {
                    index,
                    null_as_default: false,
                })
                .collect();
            fields.push(self.source.clone());
            Some(StructPlan::new(output_schema(input, &self.extra), fields))
        }
    }

    fn output_schema(input: &SchemaRef, extra: &SchemaRef) -> SchemaRef {
        let mut out = (**input).clone();
        out.fields.push(Field {
            name: "extra".into(),
            schema: extra.clone(),
        });
        Arc::new(out)
    }

    /// Runs `t` over a batch of user records through the packed path and returns the
    /// outcomes and how many records a plan rewrote.
    fn run_planned(t: &mut Append) -> (Vec<Outcome>, usize) {
        let schema = user_schema();
        let records: Vec<Record> = (0..3).map(|i| user(&schema, i).with_timestamp(i)).collect();
        let mut cache = PlanCache::default();
        let out = apply_transform::<_, WithPlans>(t, &encode_batch(&records), &mut cache).unwrap();
        (decode_outcomes(&out).unwrap(), cache.planned)
    }

    #[test]
    fn a_plan_is_used_only_when_its_output_schema_can_hold_its_sources() {
        let ts = Schema::timestamp().into_ref();
        let mut ok = Append {
            extra: ts.clone(),
            source: FieldSource::Timestamp,
            value: Value::Null,
        };
        let (outcomes, planned) = run_planned(&mut ok);
        assert_eq!(planned, 3);
        let Outcome::Keep(r) = &outcomes[2] else {
            panic!("{outcomes:?}")
        };
        let Value::Struct(s) = &r.value else {
            panic!("{r:?}")
        };
        assert_eq!(s.values().last(), Some(&Value::Int64(2)));

        // A string constant into an int64 field, a topic into a timestamp, a null into a
        // required field: no plan, so `apply` decides (here it keeps the value as given).
        for (source, value) in [
            (FieldSource::Constant(Value::from("x")), Value::from("x")),
            (FieldSource::Topic, Value::from("users")),
            (FieldSource::Constant(Value::Null), Value::Null),
        ] {
            let mut bad = Append {
                extra: ts.clone(),
                source,
                value,
            };
            let (outcomes, planned) = run_planned(&mut bad);
            assert_eq!(planned, 0);
            assert!(matches!(outcomes[0], Outcome::Keep(_)), "{outcomes:?}");
        }
    }
}
