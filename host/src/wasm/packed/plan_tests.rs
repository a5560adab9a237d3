use sluice_packed::{plan_source, write_schema, write_value, Writer};

use super::*;
use crate::data::{Data, Field};

fn field(name: &str, schema: Schema) -> Field {
    Field {
        name: name.into(),
        schema: schema.into_ref(),
    }
}

/// An optional string field whose null reads as "none".
fn note() -> Field {
    field(
        "note",
        Schema::new(SchemaType::String)
            .optional()
            .with_default(Value::from("none")),
    )
}

fn input() -> SchemaRef {
    Schema::structure(vec![
        field("id", Schema::new(SchemaType::Int64)),
        field("ssn", Schema::new(SchemaType::String).optional()),
        note(),
    ])
    .into_ref()
}

enum Src {
    Input(usize, bool),
    Replaced(usize, bool, Value),
    Timestamp,
    Constant(Value),
}

/// Encodes a plan as the SDK does (`encode_plan`).
fn plan_bytes(output: &Schema, sources: &[Src]) -> Vec<u8> {
    let mut w = Writer::with_capacity(64);
    write_schema(&mut w, output);
    w.len(sources.len());
    for s in sources {
        match s {
            Src::Input(i, d) => {
                w.u8(plan_source::INPUT);
                w.len(*i);
                w.bool(*d);
            }
            Src::Replaced(i, d, v) => {
                w.u8(plan_source::REPLACED);
                w.len(*i);
                w.bool(*d);
                write_value(&mut w, v);
            }
            Src::Timestamp => w.u8(plan_source::TIMESTAMP),
            Src::Constant(v) => {
                w.u8(plan_source::CONSTANT);
                write_value(&mut w, v);
            }
        }
    }
    w.finish()
}

fn record(values: Vec<Value>, timestamp: Option<i64>) -> ConnectRecord {
    let mut r = ConnectRecord::new(
        "t",
        Data::NULL,
        Data::new(Some(input()), Value::Struct(values)),
    );
    r.timestamp = timestamp;
    r
}

/// Masks `ssn`, keeps `note` (null reads as its default), drops `id`, adds the timestamp.
fn masking_plan() -> StructPlan {
    let output = Schema::structure(vec![
        field("ssn", Schema::new(SchemaType::String).optional()),
        note(),
        field("ts", Schema::timestamp().optional()),
    ]);
    let bytes = plan_bytes(
        &output,
        &[
            Src::Replaced(1, true, Value::from("")),
            Src::Input(2, true),
            Src::Timestamp,
        ],
    );
    StructPlan::new(&bytes, &input()).expect("valid plan")
}

#[test]
fn a_plan_rewrites_fields_replaces_non_nulls_and_reads_null_as_the_default() {
    let plan = masking_plan();
    let mut r = record(
        vec![Value::Int64(1), Value::from("123-45"), Value::Null],
        Some(7),
    );
    assert!(plan.fits(&r, PlanSide::Value));
    plan.rewrite(&mut r, PlanSide::Value);
    assert_eq!(
        r.value.value,
        Value::Struct(vec![Value::from(""), Value::from("none"), Value::Int64(7)])
    );
    assert_eq!(r.value.schema.as_ref().map(|s| s.fields.len()), Some(3));
    // A null without a default stays null, even where non-nulls are replaced.
    let mut r = record(
        vec![Value::Int64(1), Value::Null, Value::from("n")],
        Some(7),
    );
    plan.rewrite(&mut r, PlanSide::Value);
    assert_eq!(
        r.value.value,
        Value::Struct(vec![Value::Null, Value::from("n"), Value::Int64(7)])
    );
}

#[test]
fn records_a_plan_does_not_fit_are_left_for_apply() {
    let plan = masking_plan();
    // No timestamp to insert.
    let r = record(vec![Value::Int64(1), Value::Null, Value::Null], None);
    assert!(!plan.fits(&r, PlanSide::Value));
    // A value of the wrong type, a null in a required field, a wrong field count.
    for values in [
        vec![Value::from("1"), Value::Null, Value::Null],
        vec![Value::Null, Value::Null, Value::Null],
        vec![Value::Int64(1), Value::Null],
    ] {
        assert!(!plan.fits(&record(values, Some(1)), PlanSide::Value));
    }
    // The other side, a schemaless value.
    let r = record(vec![Value::Int64(1), Value::Null, Value::Null], Some(1));
    assert!(!plan.fits(&r, PlanSide::Key));
}

#[test]
fn a_plan_whose_output_cannot_hold_its_sources_is_refused_with_the_field_named() {
    let required = |ty| Schema::structure(vec![field("out", Schema::new(ty))]);
    let cases = [
        // An index past the input's fields.
        (
            required(SchemaType::Int64),
            Src::Input(3, false),
            "input field 3",
        ),
        // Another type than the input field's.
        (
            required(SchemaType::String),
            Src::Input(0, false),
            "cannot hold",
        ),
        // An optional input without a default into a required field.
        (
            required(SchemaType::String),
            Src::Input(1, false),
            "cannot hold",
        ),
        // A replacement or a constant of the wrong type.
        (
            required(SchemaType::String),
            Src::Replaced(1, false, Value::Int32(0)),
            "cannot hold",
        ),
        (
            required(SchemaType::Int64),
            Src::Constant(Value::Null),
            "cannot hold",
        ),
        (required(SchemaType::String), Src::Timestamp, "cannot hold"),
    ];
    for (output, source, want) in cases {
        let err = StructPlan::new(&plan_bytes(&output, &[source]), &input()).expect_err("refused");
        assert!(err.contains(want), "{err}");
    }
    let err = StructPlan::new(&[1, 200], &input()).expect_err("unreadable");
    assert!(err.starts_with("unreadable plan"), "{err}");
    let one = Schema::structure(vec![field("a", Schema::new(SchemaType::Int64))]);
    let sources = [Src::Input(0, false), Src::Input(0, false)];
    let err = StructPlan::new(&plan_bytes(&one, &sources), &input()).expect_err("count");
    assert!(err.contains("1 fields but the plan gives 2"), "{err}");
}

#[test]
fn a_field_read_twice_is_cloned_then_moved() {
    let output = Schema::structure(vec![
        field("a", Schema::new(SchemaType::Int64)),
        field("b", Schema::new(SchemaType::Int64)),
    ]);
    let plan = StructPlan::new(
        &plan_bytes(&output, &[Src::Input(0, false), Src::Input(0, false)]),
        &input(),
    )
    .expect("valid");
    let mut r = record(vec![Value::Int64(5), Value::Null, Value::Null], None);
    assert!(plan.fits(&r, PlanSide::Value));
    plan.rewrite(&mut r, PlanSide::Value);
    assert_eq!(
        r.value.value,
        Value::Struct(vec![Value::Int64(5), Value::Int64(5)])
    );
}

#[test]
fn a_composed_plan_rewrites_as_its_plans_one_after_the_other() {
    let first = masking_plan();
    // On `first`'s output (ssn, note, ts): masks ssn again, reads note's null as its
    // default, replaces the inserted timestamp, keeps it once more, adds a constant.
    let mid = first.output().clone();
    let output = Schema::structure(vec![
        field("ssn2", Schema::new(SchemaType::String).optional()),
        note(),
        field("ts0", Schema::timestamp().optional()),
        field("ts", Schema::timestamp().optional()),
        field("k", Schema::new(SchemaType::Int32)),
    ]);
    let bytes = plan_bytes(
        &output,
        &[
            Src::Replaced(0, false, Value::from("***")),
            Src::Input(1, true),
            Src::Replaced(2, false, Value::Int64(0)),
            Src::Input(2, false),
            Src::Constant(Value::Int32(9)),
        ],
    );
    let second = StructPlan::new(&bytes, &mid).expect("valid plan");
    let both = first.then(&second);
    assert!(Arc::ptr_eq(both.output(), second.output()));
    for (values, ts) in [
        (
            vec![Value::Int64(1), Value::from("123"), Value::Null],
            Some(5),
        ),
        (
            vec![Value::Int64(2), Value::Null, Value::from("n")],
            Some(6),
        ),
        (vec![Value::Int64(3), Value::Null, Value::Null], Some(7)),
    ] {
        let mut stepwise = record(values.clone(), ts);
        assert!(first.fits(&stepwise, PlanSide::Value));
        first.rewrite(&mut stepwise, PlanSide::Value);
        assert!(second.fits(&stepwise, PlanSide::Value));
        second.rewrite(&mut stepwise, PlanSide::Value);
        let mut composed = record(values, ts);
        assert!(both.fits(&composed, PlanSide::Value));
        let mut scratch = Vec::new();
        both.rewrite_with(&mut composed, PlanSide::Value, &mut scratch);
        assert_eq!(composed, stepwise);
        assert!(scratch.is_empty());
    }
    // A record without the timestamp `first` inserts fits neither.
    let r = record(vec![Value::Int64(1), Value::Null, Value::Null], None);
    assert!(!first.fits(&r, PlanSide::Value) && !both.fits(&r, PlanSide::Value));
}
