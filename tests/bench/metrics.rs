//! `sluice-bench --metrics`: what counting metrics costs. The throughput benchmark's two file
//! pipelines (file → Kafka, Kafka → file; same input, same broker) run with metrics on (the
//! default) and off (`metrics.enable=false`), alternating which goes first, `--runs N` pairs
//! in one process. Each pair gives the ratio on / off of both pipelines' records/s; the report
//! lists every pair and the median ratios. Method in docs/benchmarks.md ("Metrics on and off").

use std::path::Path;

use anyhow::Result;
use sluice_tests::Broker;

use super::{rate, run_system, Args, System, SystemResult};

struct Pair {
    on: SystemResult,
    off: SystemResult,
    on_first: bool,
}

pub fn run(args: &Args, broker: &Broker, work: &Path, input: &Path) -> Result<String> {
    let mut pairs = Vec::new();
    for i in 0..args.runs {
        let on_first = i % 2 == 0;
        let mut results: Vec<(bool, SystemResult)> = Vec::new();
        for on in [on_first, !on_first] {
            let mut a = args.clone();
            a.run_tag = format!("-{i}-{}", if on { "on" } else { "off" });
            if !on {
                a.sluice_worker_extra = "metrics.enable=false\n".into();
            }
            let r = run_system(System::Sluice, &a, broker, work, input)?;
            eprintln!(
                "bench: pair {i} metrics {}: {:.0} / {:.0} records/s",
                if on { "on" } else { "off" },
                rate(args.records, r.source.active),
                rate(args.records, r.sink.active)
            );
            results.push((on, r));
        }
        let (a, b) = (results.remove(0), results.remove(0));
        let (on, off) = if a.0 { (a.1, b.1) } else { (b.1, a.1) };
        pairs.push(Pair { on, off, on_first });
    }
    Ok(render(&pairs, args.records))
}

fn render(pairs: &[Pair], records: usize) -> String {
    let mut s = format!(
        "{records} records per phase, Sluice only; each row is one pair run back to back.\n\n"
    );
    s.push_str("| pair | first | on: file → Kafka / Kafka → file (records/s) | off: file → Kafka / Kafka → file (records/s) | ratio on / off |\n");
    s.push_str("|---|---|---:|---:|---:|\n");
    let mut source_ratios = Vec::new();
    let mut sink_ratios = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        let (on_src, on_snk) = (
            rate(records, p.on.source.active),
            rate(records, p.on.sink.active),
        );
        let (off_src, off_snk) = (
            rate(records, p.off.source.active),
            rate(records, p.off.sink.active),
        );
        source_ratios.push(on_src / off_src);
        sink_ratios.push(on_snk / off_snk);
        s.push_str(&format!(
            "| {} | {} | {on_src:.0} / {on_snk:.0} | {off_src:.0} / {off_snk:.0} | {:.3} / {:.3} |\n",
            i + 1,
            if p.on_first { "on" } else { "off" },
            on_src / off_src,
            on_snk / off_snk,
        ));
    }
    let spread = |v: &[f64]| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("{:.3} (range {min:.3}–{max:.3})", median(v.to_vec()))
    };
    s.push_str(&format!(
        "\nMedian ratio on / off: file → Kafka {}, Kafka → file {}.\n",
        spread(&source_ratios),
        spread(&sink_ratios)
    ));
    s
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
