//! Chain tests with native transform and predicate doubles.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::*;
use crate::data::{Data, Value};
use crate::runtime::test_doubles::{cfg, smt_catalog as catalog};

fn rec(v: &str) -> ConnectRecord {
    ConnectRecord::new(
        "t",
        Data::schemaless(Value::Null),
        Data::schemaless(Value::String(v.into())),
    )
}

fn id() -> TaskId {
    TaskId {
        connector: "c".into(),
        task: 0,
    }
}

fn values(out: &[ChainOutcome]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            ChainOutcome::Keep(r) => match &r.value.value {
                Value::String(s) => s.clone(),
                v => format!("{v:?}"),
            },
            ChainOutcome::Drop => "<drop>".into(),
            ChainOutcome::Fail { class, message } => format!("<fail {class}: {message}>"),
        })
        .collect()
}

#[test]
fn chain_applies_in_order_with_predicate_negate_and_one_call_per_batch() {
    let calls = Arc::default();
    let cat = catalog(&calls);
    let spec = ChainSpec::resolve(
        &cfg(&[
            ("transforms", "a, dropB ,c"),
            ("transforms.a.type", "x.Suffix"),
            ("transforms.a.suffix", "-1"),
            ("transforms.dropB.type", "x.Drop"),
            ("transforms.dropB.predicate", "isB"),
            ("transforms.c.type", "x.Suffix"),
            ("transforms.c.suffix", "-2"),
            ("transforms.c.predicate", "isA"),
            ("transforms.c.negate", "true"),
            ("predicates", "isB,isA"),
            ("predicates.isB.type", "x.Equals"),
            ("predicates.isB.equals", "b-1"),
            ("predicates.isA.type", "x.Equals"),
            ("predicates.isA.equals", "a-1"),
        ]),
        &cat,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let mut chain = spec.open(&id(), RetryPolicy::none()).unwrap();
    let out = chain
        .apply(vec![rec("a"), rec("b"), rec("fail"), rec("c"), rec("b")])
        .unwrap();
    assert_eq!(
        values(&out),
        vec![
            "a-1",
            "<drop>",
            "<fail x.Suffix: cannot suffix 'fail'>",
            "c-1-2",
            "<drop>"
        ]
    );
    // a: 5 records; isB: 4 live; dropB: the 2 b's; isA: 2 live; c: the one not equal to a-1.
    assert_eq!(
        *calls.lock(),
        vec![
            ("suffix".to_string(), 5),
            ("equals".to_string(), 4),
            ("drop".to_string(), 2),
            ("equals".to_string(), 2),
            ("suffix".to_string(), 1),
        ]
    );
}

#[test]
fn empty_chain_keeps_everything() {
    let calls = Arc::default();
    let spec = ChainSpec::resolve(&cfg(&[]), &catalog(&calls)).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(spec.is_empty());
    let out = spec
        .open(&id(), RetryPolicy::none())
        .unwrap()
        .apply(vec![rec("a")])
        .unwrap();
    assert_eq!(values(&out), vec!["a"]);
}

#[test]
fn config_errors_use_kafka_wording_and_are_all_reported() {
    let calls = Arc::default();
    let problems = ChainSpec::resolve(
        &cfg(&[
            ("transforms", "a,a,b,c,d"),
            ("transforms.a.type", "x.Missing"),
            ("transforms.b.type", "x.Suffix"),
            ("transforms.b.negate", "true"),
            ("transforms.c.type", "x.Drop"),
            ("transforms.c.predicate", "nope"),
            ("transforms.d.type", "x.SomeSinkConnector"),
        ]),
        &catalog(&calls),
    )
    .err()
    .unwrap();
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(has("transforms: Invalid value a,a,b,c,d for configuration transforms: Duplicate alias provided."), "{text:#?}");
    assert!(has("Invalid value x.Missing for configuration transforms.a.type: Class x.Missing could not be found; available transformations are: x.Drop, x.Suffix"), "{text:#?}");
    assert!(has("transforms.b.negate: Invalid value true for configuration transforms.b.negate: negate can only be used together with a predicate"), "{text:#?}");
    assert!(
        has("Missing required configuration \"transforms.b.suffix\""),
        "{text:#?}"
    );
    assert!(has("transforms.c.predicate: Invalid value nope for configuration transforms.c.predicate: Predicate 'nope' is not defined"), "{text:#?}");
    assert!(has("transforms.d.type: Invalid value x.SomeSinkConnector for configuration transforms.d.type: x.SomeSinkConnector is a sink"), "{text:#?}");
}

#[test]
fn retriable_failures_are_retried_within_the_timeout() {
    let policy = RetryPolicy {
        timeout: Some(Duration::from_secs(5)),
        max_delay: Duration::from_millis(400),
        stop: Arc::default(),
    };
    let mut n = 0;
    let start = Instant::now();
    let r = policy.run(|| {
        n += 1;
        if n < 3 {
            Err(TaskError::Retriable("busy".into()))
        } else {
            Ok(n)
        }
    });
    assert_eq!(r, Ok(3));
    // 300 ms then 400 ms (capped).
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "{:?}",
        start.elapsed()
    );
    let none =
        RetryPolicy::none().run(|| -> Result<(), _> { Err(TaskError::Retriable("x".into())) });
    assert_eq!(none, Err(TaskError::Retriable("x".into())));
}
