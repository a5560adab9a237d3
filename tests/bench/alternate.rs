//! Two variants of the throughput benchmark's file pipelines (file → Kafka, Kafka → file; same
//! input, same broker, Sluice only), run back to back in `--runs N` pairs, alternating which
//! goes first: what `--metrics` (metrics on / off) and `--avro` (Avro / JSON with schemas)
//! compare. A variant is a change to the run's [`Args`] (worker or connector lines); each run
//! gets its own topic, connector names and offsets (`run_tag`), so runs never read each
//! other's records.

use std::path::Path;

use anyhow::Result;
use sluice_tests::Broker;

use super::metrics::median;
use super::{rate, run_system, Args, System, SystemResult};

/// One side of a pair.
pub(super) struct Variant<'a> {
    /// In the progress lines and the run tag (no spaces).
    pub tag: &'a str,
    /// Sets this variant's lines on a copy of the arguments, once per run.
    pub configure: &'a dyn Fn(&mut Args),
}

/// The results of one pair, in the order the variants were given.
pub(super) struct Pair {
    pub a: SystemResult,
    pub b: SystemResult,
    /// Whether variant `a` ran first.
    pub a_first: bool,
}

impl Pair {
    /// Records/s of `a` and `b`: (file → Kafka, Kafka → file) each.
    pub fn rates(&self, records: usize) -> [(f64, f64); 2] {
        [&self.a, &self.b].map(|r| (rate(records, r.source.active), rate(records, r.sink.active)))
    }
}

pub(super) fn run_pairs(
    args: &Args,
    broker: &Broker,
    work: &Path,
    input: &Path,
    variants: [&Variant<'_>; 2],
) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for i in 0..args.runs {
        let a_first = i % 2 == 0;
        let order = if a_first { [0, 1] } else { [1, 0] };
        let mut results: [Option<SystemResult>; 2] = [None, None];
        for k in order {
            let variant = variants[k];
            let mut a = args.clone();
            a.run_tag = format!("-{i}-{}", variant.tag);
            (variant.configure)(&mut a);
            let r = run_system(System::Sluice, &a, broker, work, input)?;
            eprintln!(
                "bench: pair {i} {}: {:.0} / {:.0} records/s",
                variant.tag,
                rate(args.records, r.source.active),
                rate(args.records, r.sink.active)
            );
            results[k] = Some(r);
        }
        let [Some(a), Some(b)] = results else {
            unreachable!("both variants of pair {i} ran");
        };
        pairs.push(Pair { a, b, a_first });
    }
    Ok(pairs)
}

/// `median (range min–max)` of `v`, three decimals.
pub(super) fn spread(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    format!("{:.3} (range {min:.3}–{max:.3})", median(v.to_vec()))
}
