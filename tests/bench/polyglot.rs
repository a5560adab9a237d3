//! `sluice-bench --polyglot`: the same plugins in Rust, JavaScript and Python, in one run.
//!
//! - **Transform**: mask-upper (`examples/<lang>-mask-upper`) over the same 20 000 struct
//!   records by `sluice transform`, batches of 500; the cost per record is the
//!   `chain_ns_per_record` it reports (time inside the chain only), the median of `--runs`
//!   rounds that each run the three languages, rotating which goes first. The outputs of the
//!   three must be byte-identical, or the benchmark fails.
//! - **Sink**: a topic filled by datagen (users, JsonConverter with schemas: struct values),
//!   then one worker per language with one sink connector that reads it all: the Rust file
//!   sink (FileStreamSink), `js-jsonl-sink`, `python-jsonl-sink`. Records/s from the connector
//!   and its task RUNNING to the committed offset reaching the last record.
//! - **Source**: one worker per language writing `--records` records to a fresh topic: the
//!   Rust file source (FileStreamSource over as many lines), `js-greetings-source`,
//!   `python-greetings-source` (when built). Records/s from RUNNING to the last record in the
//!   topic, counted by consuming.
//!
//! The components are `cargo xtask examples`' output (row "this build"); each `--set
//! LABEL=DIR` adds a set of the same example components built another way (with the SDKs
//! before a change, or JavaScript compiled ahead of time), measured in the same run, so sets
//! are compared on the same machine state. Sets run one after the other, each against its
//! own Rust row.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sluice_tests::Broker;

use super::metrics::median;
use super::{
    check_alive, generate_input, rate, start_with, stop, wait_committed, wait_running, Args,
    System, WorkerSetup,
};

const TRANSFORM_RECORDS: usize = 20_000;
const LANGS: [&str; 3] = ["rust", "js", "python"];
const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";

struct Set {
    label: String,
    dir: PathBuf,
}

pub fn run(args: &Args, broker: &Broker, work: &Path) -> Result<String> {
    let target = sluice_tests::target_dir();
    let mut sets: Vec<Set> = args
        .sets
        .iter()
        .map(|(label, dir)| Set {
            label: label.clone(),
            dir: dir.clone(),
        })
        .collect();
    sets.push(Set {
        label: "this build".into(),
        dir: target.join("example-plugins"),
    });
    let mut report = String::new();
    writeln!(
        report,
        "Transform: mask-upper over {TRANSFORM_RECORDS} struct records (4 fields), `sluice transform`, batches of 500, median of {} rounds; µs per record inside the chain.\n",
        args.runs
    )?;
    report.push_str("| SDKs | Rust | JavaScript | Python | JavaScript / Rust | Python / Rust |\n|---|---:|---:|---:|---:|---:|\n");
    for set in &sets {
        let us = transform(args, work, set)?;
        writeln!(
            report,
            "| {} | {:.2} | {:.2} | {:.2} | {:.0}× | {:.0}× |",
            set.label,
            us[0],
            us[1],
            us[2],
            us[1] / us[0],
            us[2] / us[0]
        )?;
    }

    let topic = "polyglot-users";
    broker.create_topic(topic, 1);
    fill(args, broker, work, topic)?;
    writeln!(
        report,
        "\nSink: {} datagen users (JsonConverter with schemas) from one topic; source: {} records into a fresh topic. Records/s from the connector RUNNING to the last record committed (sink) or in the topic (source); ratio to the Rust file plugin of the same set.\n",
        args.records, args.records
    )?;
    report.push_str("| SDKs | pipeline | Rust (file) | JavaScript | Python | JavaScript / Rust | Python / Rust |\n|---|---|---:|---:|---:|---:|---:|\n");
    for set in &sets {
        let sinks = sink_rates(args, broker, work, set, topic)?;
        let sources = source_rates(args, broker, work, set)?;
        for (what, r) in [
            ("datagen → Kafka → sink", sinks),
            ("source → Kafka", sources),
        ] {
            let cell = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.0}"));
            let ratio = |x: Option<f64>| {
                x.map_or("—".to_string(), |v| {
                    format!("{:.2}×", v / r[0].unwrap_or(f64::NAN))
                })
            };
            writeln!(
                report,
                "| {} | {what} | {} | {} | {} | {} | {} |",
                set.label,
                cell(r[0]),
                cell(r[1]),
                cell(r[2]),
                ratio(r[1]),
                ratio(r[2])
            )?;
        }
    }
    report.push_str("\n— : no such example plugin in that set.\n");
    Ok(report)
}

/// Median µs per record of each language's mask-upper over the same input, checking that
/// the three outputs are byte-identical.
fn transform(args: &Args, work: &Path, set: &Set) -> Result<[f64; 3]> {
    let dir = work.join(format!("transform-{}", set.label.replace(' ', "_")));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("records.jsonl");
    write_users(&input, TRANSFORM_RECORDS)?;
    let one = dir.join("one.jsonl");
    write_users(&one, 1)?;
    let cache = sluice_tests::target_dir().join("plugin-cache");
    let configs: Vec<PathBuf> = LANGS
        .iter()
        .map(|lang| {
            let file = dir.join(format!("{lang}.properties"));
            std::fs::write(
                &file,
                format!(
                    "name=polyglot-{lang}\ntransforms=m\ntransforms.m.type={lang}-mask-upper\n\
                     transforms.m.mask.fields=email\ntransforms.m.upper.fields=name,region\n"
                ),
            )?;
            Ok(file)
        })
        .collect::<Result<_>>()?;
    let sluice_transform = |config: &Path, input: &Path, out: &Path| -> Result<f64> {
        let output = Command::new(&args.sluice)
            .arg("transform")
            .arg("--plugin-path")
            .arg(&set.dir)
            .arg("--plugin-cache-dir")
            .arg(&cache)
            .arg(config)
            .arg(input)
            .stdout(std::fs::File::create(out)?)
            .output()
            .with_context(|| format!("run {} transform", args.sluice.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!("sluice transform {} failed: {stderr}", config.display());
        }
        let ns = stderr
            .split("chain_ns_per_record=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse::<f64>().ok())
            .with_context(|| format!("no chain_ns_per_record in: {stderr}"))?;
        Ok(ns / 1000.0)
    };
    // Compiles each component into the cache first (tens of seconds for JS and Python).
    for config in &configs {
        sluice_transform(config, &one, &dir.join("warm.out"))?;
    }
    let mut samples: [Vec<f64>; 3] = Default::default();
    for round in 0..args.runs {
        for k in 0..LANGS.len() {
            let i = (round + k) % LANGS.len();
            let us = sluice_transform(&configs[i], &input, &dir.join(format!("{}.out", LANGS[i])))?;
            eprintln!(
                "bench: {} {} mask-upper: {us:.2} µs/record",
                set.label, LANGS[i]
            );
            samples[i].push(us);
        }
    }
    let rust = std::fs::read(dir.join("rust.out"))?;
    for lang in &LANGS[1..] {
        if std::fs::read(dir.join(format!("{lang}.out")))? != rust {
            bail!(
                "{}: the {lang} mask-upper output differs from Rust's (see {})",
                set.label,
                dir.display()
            );
        }
    }
    Ok(samples.map(median))
}

/// `n` JsonConverter records of a 4-field struct (id, name, email, region), one per line, in
/// `sluice transform`'s input format.
fn write_users(path: &Path, n: usize) -> Result<()> {
    const REGIONS: [&str; 4] = ["eu-west", "us-east", "ap-south", "sa-east"];
    let schema = r#"{"type":"struct","name":"users","optional":false,"fields":[{"field":"id","type":"int64","optional":false},{"field":"name","type":"string","optional":false},{"field":"email","type":"string","optional":true},{"field":"region","type":"string","optional":true}]}"#;
    let mut s = String::new();
    for i in 0..n {
        writeln!(
            s,
            r#"{{"topic":"users","partition":0,"timestamp":{},"key":null,"value":{{"schema":{schema},"payload":{{"id":{i},"name":"user_{i:06}","email":"user_{i:06}@example.com","region":"{}"}}}}}}"#,
            1_700_000_000_000u64 + i as u64,
            REGIONS[i % REGIONS.len()]
        )?;
    }
    std::fs::write(path, s)?;
    Ok(())
}

/// A worker whose plugin path is the built-in plugins plus `examples`.
fn setup(examples: &Path, phase: &str, connector: String) -> WorkerSetup {
    let target = sluice_tests::target_dir();
    WorkerSetup {
        // plugin.path takes a comma-separated list; the worker file writes this as it is.
        plugin_path: PathBuf::from(format!(
            "{},{}",
            target.join("plugin-path").display(),
            examples.display()
        )),
        cache_dir: target.join("plugin-cache"),
        connectors: vec![(phase.to_string(), connector)],
    }
}

/// `--records` datagen users into `topic` (not timed).
fn fill(args: &Args, broker: &Broker, work: &Path, topic: &str) -> Result<()> {
    let dir = work.join("polyglot-fill");
    std::fs::create_dir_all(&dir)?;
    let connector = format!(
        "name=polyglot-fill\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=users\n\
         count={}\nrate=0\nseed=42\nvalue.converter={JSON}\nvalue.converter.schemas.enable=true\n",
        args.records
    );
    let examples = sluice_tests::target_dir().join("plugin-path");
    let started = Instant::now();
    let mut reader = broker.reader(topic);
    let (mut worker, _) = start_with(
        System::Sluice,
        args,
        broker,
        &dir,
        "fill",
        &setup(&examples, "fill", connector),
    )?;
    let mut seen = 0;
    while seen < args.records {
        seen += reader.count_for(Duration::from_millis(50));
        check_alive(&mut worker, &dir, started)?;
    }
    stop(worker);
    Ok(())
}

/// Records/s of each language's sink over the filled topic (None: no such plugin).
fn sink_rates(
    args: &Args,
    broker: &Broker,
    work: &Path,
    set: &Set,
    topic: &str,
) -> Result<[Option<f64>; 3]> {
    let mut out = [None; 3];
    for (i, lang) in LANGS.iter().enumerate() {
        let class = match *lang {
            "rust" => "org.apache.kafka.connect.file.FileStreamSinkConnector".to_string(),
            other => format!("{other}-jsonl-sink"),
        };
        if *lang != "rust" && !set.dir.join(format!("{class}.wasm")).is_file() {
            continue;
        }
        let name = format!("polyglot-sink-{lang}-{}", set.label.replace(' ', "_"));
        let dir = work.join(&name);
        std::fs::create_dir_all(&dir)?;
        let connector = format!(
            "name={name}\nconnector.class={class}\ntasks.max=1\ntopics={topic}\nfile={}\n\
             value.converter={JSON}\nvalue.converter.schemas.enable=true\n",
            dir.join("out.jsonl").display()
        );
        let started = Instant::now();
        let (mut worker, rest) = start_with(
            System::Sluice,
            args,
            broker,
            &dir,
            "sink",
            &setup(&set.dir, &name, connector),
        )?;
        let ready = wait_running(&mut worker, rest, &name, &dir, started)?;
        let done = wait_committed(&mut worker, rest, &name, args.records, &dir, started)?;
        stop(worker);
        let r = rate(args.records, done - ready);
        eprintln!("bench: {} {lang} sink: {r:.0} records/s", set.label);
        out[i] = Some(r);
    }
    Ok(out)
}

/// Records/s of each language's source into a fresh topic (None: no such plugin).
fn source_rates(args: &Args, broker: &Broker, work: &Path, set: &Set) -> Result<[Option<f64>; 3]> {
    let mut out = [None; 3];
    let lines = work.join("polyglot-source.jsonl");
    if !lines.is_file() {
        generate_input(&lines, args.records)?;
    }
    for (i, lang) in LANGS.iter().enumerate() {
        let name = format!("polyglot-source-{lang}-{}", set.label.replace(' ', "_"));
        let topic = name.clone();
        let class = match *lang {
            "rust" => "org.apache.kafka.connect.file.FileStreamSourceConnector".to_string(),
            other => format!("{other}-greetings-source"),
        };
        if *lang != "rust" && !set.dir.join(format!("{class}.wasm")).is_file() {
            continue;
        }
        broker.create_topic(&topic, 1);
        let dir = work.join(&name);
        std::fs::create_dir_all(&dir)?;
        let settings = match *lang {
            "rust" => format!("file={}\nbatch.size=2000", lines.display()),
            _ => format!("count={}", args.records),
        };
        let connector = format!(
            "name={name}\nconnector.class={class}\ntasks.max=1\ntopic={topic}\n{settings}\n\
             value.converter={JSON}\nvalue.converter.schemas.enable=true\n"
        );
        let started = Instant::now();
        let mut reader = broker.reader(&topic);
        let (mut worker, rest) = start_with(
            System::Sluice,
            args,
            broker,
            &dir,
            "source",
            &setup(&set.dir, &name, connector),
        )?;
        let ready = wait_running(&mut worker, rest, &name, &dir, started)?;
        let mut seen = 0;
        while seen < args.records {
            seen += reader.count_for(Duration::from_millis(20));
            check_alive(&mut worker, &dir, started)?;
        }
        let done = Instant::now();
        stop(worker);
        let r = rate(args.records, done - ready);
        eprintln!("bench: {} {lang} source: {r:.0} records/s", set.label);
        out[i] = Some(r);
    }
    Ok(out)
}
