//! Chain tests with native transform and predicate doubles.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::*;
use crate::config::ChainSpec;
use crate::data::{Data, Value};
use crate::runtime::retry::RetryPolicy;
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
    let mut chain = TransformChain::open(&spec, &id(), RetryPolicy::none()).unwrap();
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

/// A plugin that joins consecutive steps gets them as one segment; the steps around it (with
/// predicates, or not joined) still run one by one, and records keep their input order.
#[test]
fn runs_of_steps_without_predicates_are_offered_to_their_plugin_to_join() {
    let calls = Arc::default();
    let cat = catalog(&calls);
    let spec = ChainSpec::resolve(
        &cfg(&[
            ("transforms", "a,b,c,dropIt"),
            ("transforms.a.type", "x.Suffix"),
            ("transforms.a.suffix", "-1"),
            ("transforms.b.type", "x.Suffix"),
            ("transforms.b.suffix", "-2"),
            ("transforms.c.type", "x.Suffix"),
            ("transforms.c.suffix", "-3"),
            ("transforms.dropIt.type", "x.Drop"),
            ("transforms.dropIt.predicate", "isX"),
            ("predicates", "isX"),
            ("predicates.isX.type", "x.Equals"),
            ("predicates.isX.equals", "x-1-2-3"),
        ]),
        &cat,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let mut chain = TransformChain::open(&spec, &id(), RetryPolicy::none()).unwrap();
    let out = chain.apply(vec![rec("a"), rec("fail"), rec("x")]).unwrap();
    assert_eq!(
        values(&out),
        vec!["a-1-2-3", "<fail x.Suffix: cannot suffix 'fail'>", "<drop>"]
    );
    assert_eq!(
        *calls.lock(),
        vec![
            ("suffix-run".to_string(), 3),
            ("equals".to_string(), 2),
            ("drop".to_string(), 1),
        ]
    );
}

#[test]
fn empty_chain_keeps_everything() {
    let calls = Arc::default();
    let spec = ChainSpec::resolve(&cfg(&[]), &catalog(&calls)).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(spec.is_empty());
    let out = TransformChain::open(&spec, &id(), RetryPolicy::none())
        .unwrap()
        .apply(vec![rec("a")])
        .unwrap();
    assert_eq!(values(&out), vec!["a"]);
}
