//! `sluice-bench --avro`: the AvroConverter against JsonConverter with inline schemas
//! (`schemas.enable=true`) on the throughput benchmark's two file pipelines — same input, same
//! FileStreamSource / FileStreamSink connectors, same broker — `--runs N` pairs (default 3)
//! run back to back, alternating which converter goes first. Only the connectors'
//! `value.converter` lines differ: every worker of both variants serves the embedded Schema
//! Registry (`schema.registry.listeners`, a fresh port per run), and the Avro connectors point
//! their `value.converter.schema.registry.url` at their own worker's. The source registers the
//! subject's schema, the sink (a fresh worker) looks its id up; the sink's output must equal
//! the input, as in every throughput run. Method in docs/benchmarks.md ("Avro against JSON
//! with schemas").

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use sluice_tests::{free_port, Broker};

use super::alternate::{run_pairs, spread, Pair, Variant};
use super::metrics::median;
use super::Args;

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const AVRO: &str = "io.confluent.connect.avro.AvroConverter";

pub fn run(args: &Args, broker: &Broker, work: &Path, input: &Path) -> Result<String> {
    let json = Variant {
        tag: "json",
        configure: &|a| {
            with_registry(a);
            a.connector_extra =
                format!("value.converter={JSON}\nvalue.converter.schemas.enable=true\n");
        },
    };
    let avro = Variant {
        tag: "avro",
        configure: &|a| {
            let url = with_registry(a);
            a.connector_extra =
                format!("value.converter={AVRO}\nvalue.converter.schema.registry.url={url}\n");
        },
    };
    let pairs = run_pairs(args, broker, work, input, [&json, &avro])?;
    check_formats(broker, pairs.len())?;
    Ok(render(&pairs, args.records))
}

/// That each run wrote what it was meant to measure: the first value of every Avro topic is
/// framed for the registry (magic byte 0, then a schema id), of every JSON topic an envelope.
fn check_formats(broker: &Broker, pairs: usize) -> Result<()> {
    for i in 0..pairs {
        for (tag, ok) in [
            (
                "json",
                (|v: &[u8]| v.starts_with(br#"{"schema":"#)) as fn(&[u8]) -> bool,
            ),
            ("avro", |v: &[u8]| v.len() > 5 && v[0] == 0),
        ] {
            // The topic `run_system` wrote for this run (`bench-sluice<run tag>`).
            let topic = format!("bench-sluice-{i}-{tag}");
            let first = broker.consume_all(&topic, 1, Duration::from_secs(30));
            let value = first
                .first()
                .and_then(|m| m.value.as_deref())
                .unwrap_or_default();
            if !ok(value) {
                bail!(
                    "{topic}: the first value is not {tag}: {:?}",
                    String::from_utf8_lossy(&value[..value.len().min(40)])
                );
            }
        }
    }
    Ok(())
}

/// Adds the embedded Schema Registry on a free port to the run's workers; returns its URL.
fn with_registry(args: &mut Args) -> String {
    let url = format!("http://127.0.0.1:{}", free_port());
    args.sluice_worker_extra = format!("schema.registry.listeners={url}\n");
    url
}

fn render(pairs: &[Pair], records: usize) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut s = format!(
        "{records} records per phase (the throughput benchmark's ~80-byte JSON lines as string \
         values), Sluice only, {} pairs run back to back.\n\n",
        pairs.len()
    );
    s.push_str("| converter | file → Kafka (records/s) | Kafka → file (records/s) | peak RSS source / sink (MiB) |\n");
    s.push_str("|---|---:|---:|---:|\n");
    let mut source_ratios = Vec::new();
    let mut sink_ratios = Vec::new();
    let mut rows = String::new();
    let (mut json_src, mut json_snk, mut avro_src, mut avro_snk) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut json_rss, mut avro_rss) = ((0, 0), (0, 0));
    for (i, p) in pairs.iter().enumerate() {
        let (json, avro) = (&p.a, &p.b);
        let [(js, jk), (av, ak)] = p.rates(records);
        json_src.push(js);
        json_snk.push(jk);
        avro_src.push(av);
        avro_snk.push(ak);
        source_ratios.push(av / js);
        sink_ratios.push(ak / jk);
        json_rss = (
            json_rss.0.max(json.source.peak_rss_kib),
            json_rss.1.max(json.sink.peak_rss_kib),
        );
        avro_rss = (
            avro_rss.0.max(avro.source.peak_rss_kib),
            avro_rss.1.max(avro.sink.peak_rss_kib),
        );
        rows.push_str(&format!(
            "| {} | {} | {js:.0} / {jk:.0} | {av:.0} / {ak:.0} | {:.3} / {:.3} | {:.0} / {:.0} | {:.0} / {:.0} |\n",
            i + 1,
            if p.a_first { "JSON" } else { "Avro" },
            av / js,
            ak / jk,
            mib(json.source.peak_rss_kib),
            mib(json.sink.peak_rss_kib),
            mib(avro.source.peak_rss_kib),
            mib(avro.sink.peak_rss_kib),
        ));
    }
    for (label, src, snk, rss) in [
        (
            "JsonConverter, `schemas.enable=true`",
            &json_src,
            &json_snk,
            json_rss,
        ),
        (
            "AvroConverter, embedded Schema Registry",
            &avro_src,
            &avro_snk,
            avro_rss,
        ),
    ] {
        s.push_str(&format!(
            "| {label} | {:.0} | {:.0} | {:.0} / {:.0} |\n",
            median(src.clone()),
            median(snk.clone()),
            mib(rss.0),
            mib(rss.1)
        ));
    }
    s.push_str(&format!(
        "| ratio Avro / JSON (median of the pairs) | {:.2}× | {:.2}× | {:.2}× / {:.2}× |\n",
        median(source_ratios.clone()),
        median(sink_ratios.clone()),
        avro_rss.0 as f64 / json_rss.0.max(1) as f64,
        avro_rss.1 as f64 / json_rss.1.max(1) as f64,
    ));
    s.push_str(
        "\nRecords/s are medians over the pairs, peak RSS the highest of the runs. Each pair:\n\n",
    );
    s.push_str("| pair | first | JSON: file → Kafka / Kafka → file (records/s) | Avro: file → Kafka / Kafka → file (records/s) | ratio Avro / JSON | JSON peak RSS source / sink (MiB) | Avro peak RSS source / sink (MiB) |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    s.push_str(&rows);
    s.push_str(&format!(
        "\nRatio Avro / JSON: file → Kafka {}, Kafka → file {}.\n",
        spread(&source_ratios),
        spread(&sink_ratios)
    ));
    s
}
