//! `sluice-bench --metrics`: what counting metrics costs. The throughput benchmark's two file
//! pipelines (file → Kafka, Kafka → file; same input, same broker) run with metrics on (the
//! default) and off (`metrics.enable=false`), alternating which goes first, `--runs N` pairs
//! in one process. Each pair gives the ratio on / off of both pipelines' records/s; the report
//! lists every pair and the median ratios. Method in docs/benchmarks.md ("Metrics on and off").

use std::path::Path;

use anyhow::Result;
use sluice_tests::Broker;

use super::alternate::{run_pairs, spread, Pair, Variant};
use super::Args;

pub fn run(args: &Args, broker: &Broker, work: &Path, input: &Path) -> Result<String> {
    let on = Variant {
        tag: "on",
        configure: &|_| {},
    };
    let off = Variant {
        tag: "off",
        configure: &|a| a.sluice_worker_extra = "metrics.enable=false\n".into(),
    };
    let pairs = run_pairs(args, broker, work, input, [&on, &off])?;
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
        let [(on_src, on_snk), (off_src, off_snk)] = p.rates(records);
        source_ratios.push(on_src / off_src);
        sink_ratios.push(on_snk / off_snk);
        s.push_str(&format!(
            "| {} | {} | {on_src:.0} / {on_snk:.0} | {off_src:.0} / {off_snk:.0} | {:.3} / {:.3} |\n",
            i + 1,
            if p.a_first { "on" } else { "off" },
            on_src / off_src,
            on_snk / off_snk,
        ));
    }
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
