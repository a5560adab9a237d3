//! Helpers for testing plugins natively (`cargo test`), without a host.

use crate::config::Config;
use crate::packed::{self, NoPlans, PlanCache, WithPlans};
use crate::plan::StructPlans;
use crate::record::Record;
use crate::transform::Outcome;

/// Runs `records` through a transform's packed interface twice, once with its
/// [`struct_plan`](StructPlans::struct_plan)s and once with every record going through
/// [`apply`](crate::Transform::apply), and panics unless both give the same outcomes. Returns the
/// outcomes and how many records a plan rewrote, so a test can also check that the plans
/// were used at all.
///
/// `class` and `config` are what [`Transform::create`](crate::Transform::create) gets.
pub fn check_struct_plans<T: StructPlans>(
    class: &str,
    config: &Config,
    records: &[Record],
) -> (Vec<Outcome>, usize) {
    let batch = packed::encode_batch(records);
    let create = || T::create(class, config.clone()).unwrap_or_else(|e| panic!("create: {e}"));

    let mut cache = PlanCache::default();
    let planned = packed::apply_transform::<T, WithPlans>(&mut create(), &batch, &mut cache)
        .unwrap_or_else(|e| panic!("planned apply: {e}"));
    let planned = packed::decode_outcomes(&planned)
        .unwrap_or_else(|e| panic!("planned output does not decode: {e}"));

    // The record path, through the same encoding both ways.
    let expected =
        packed::apply_transform::<T, NoPlans>(&mut create(), &batch, &mut PlanCache::default())
            .unwrap_or_else(|e| panic!("apply: {e}"));
    let expected = packed::decode_outcomes(&expected)
        .unwrap_or_else(|e| panic!("apply output does not decode: {e}"));
    assert_eq!(
        planned.len(),
        expected.len(),
        "one outcome per input record"
    );
    for (i, (got, want)) in planned.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "record {i}: the plan and `apply` disagree");
    }
    (planned, cache.planned)
}

/// Records for [`check_struct_plans`]: the same payment struct as value and as key, with
/// nulls, a null in a field with a default, optional and logical-typed fields, a nested
/// array and map, headers, a struct default; a record without partition, offset or
/// timestamp (a source record); a tombstone; a schemaless map; a plain string value.
///
/// The value struct has the fields `id` (int64), `name` (string), `ssn` and `credit_card`
/// (optional strings), `cust_id` (int64), `amt` (float64), `internal_note` (optional
/// string, default `"n/a"`), `currency` (string), `when` (optional Timestamp), `price`
/// (optional Decimal, scale 2), `tags` (optional array of strings), `attrs` (optional map
/// string → int32), `flag` (optional boolean), `small` (optional int8).
pub fn payment_records() -> Vec<Record> {
    use crate::schema::Schema;
    use crate::value::{Struct, Value};
    let schema = Schema::struct_builder()
        .name("com.example.Payment")
        .field("id", Schema::int64())
        .field("name", Schema::string())
        .field("ssn", Schema::string().optional())
        .field("credit_card", Schema::string().optional())
        .field("cust_id", Schema::int64())
        .field("amt", Schema::float64())
        .field(
            "internal_note",
            Schema::string().optional().with_default("n/a"),
        )
        .field("currency", Schema::string())
        .field("when", Schema::timestamp().optional())
        .field("price", Schema::decimal(2).optional())
        .field("tags", Schema::array(Schema::string()).optional())
        .field(
            "attrs",
            Schema::map(Schema::string(), Schema::int32()).optional(),
        )
        .field("flag", Schema::boolean().optional())
        .field("small", Schema::int8().optional())
        .build_ref();
    let payment = |i: i64, nulls: bool| {
        let opt = |v: Value| if nulls { Value::Null } else { v };
        let values = vec![
            Value::Int64(i),
            Value::from(format!("user {i}")),
            opt(Value::from(format!("123-45-{i:04}"))),
            opt(Value::from(format!("4111 1111 1111 {i:04}"))),
            Value::Int64(i % 977),
            Value::Float64(i as f64 * 0.25),
            opt(Value::from(format!("note {i}"))),
            Value::from("EUR"),
            opt(Value::Int64(1_700_000_000_000 + i)),
            opt(Value::decimal(i128::from(i) * 100 + 5)),
            opt(Value::Array(vec![Value::from("a"), Value::from("b")])),
            opt(Value::Map(vec![(Value::from("k"), Value::Int32(-1))])),
            opt(Value::Boolean(true)),
            opt(Value::Int8(-3)),
        ];
        Value::Struct(Struct::from_values(schema.clone(), values).unwrap_or_else(|e| panic!("{e}")))
    };
    let sink = |r: Record, offset: i64| {
        let mut r = r
            .with_partition(3)
            .with_timestamp(1_700_000_000_000 + offset);
        r.offset = Some(offset);
        r
    };
    vec![
        sink(
            Record::new("payments").with_value(Some(schema.clone()), payment(1, false)),
            10,
        ),
        sink(
            Record::new("payments")
                .with_value(Some(schema.clone()), payment(2, true))
                .with_header("h", Some(Schema::string().into_ref()), "v")
                .with_header("n", None, Value::Null),
            11,
        ),
        // A source record: no partition, offset or timestamp.
        Record::new("payments").with_value(Some(schema.clone()), payment(3, false)),
        sink(
            Record::new("payments")
                .with_key(Some(schema.clone()), payment(4, false))
                .with_value(None, "plain"),
            12,
        ),
        sink(
            Record::new("payments").with_key(Some(schema.clone()), payment(5, true)),
            13,
        ),
        sink(
            Record::new("payments").with_value(Some(schema.clone()), Value::Null),
            14,
        ),
        sink(
            Record::new("payments").with_value(
                None,
                Value::Map(vec![
                    (Value::from("ssn"), Value::from("x")),
                    (Value::from("cust_id"), Value::Int64(1)),
                ]),
            ),
            15,
        ),
        sink(
            Record::new("other").with_value(Some(schema.clone()), payment(6, false)),
            16,
        ),
    ]
}
