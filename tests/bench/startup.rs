//! `sluice-bench --startup`: worker start to all connectors RUNNING, with 20 plugins in
//! `plugin.path`, cold (empty compiled-component cache) and warm, and the reference Kafka
//! Connect on the same connectors with a tiny plugin path. Method in docs/benchmarks.md
//! ("Start-up").
//!
//! Each timed run is a fresh worker process started with two connector files (a
//! FileStreamSource on a 10-line file and a FileStreamSink on a topic). The clock starts just
//! before the process is spawned; the bench polls `GET /` (REST ready) and then each
//! connector's status every 5 ms until the connector and every task are RUNNING.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sluice_tests::{http_get, Broker};

use super::{
    all_running, check_alive, command_output, start_with, stop, Args, System, WorkerSetup,
};

/// How many distinct components the Sluice worker's `plugin.path` holds.
const PLUGINS: usize = 20;
const CONNECTORS: [&str; 2] = ["startup-source", "startup-sink"];
const POLL: Duration = Duration::from_millis(5);

struct Timing {
    rest: Duration,
    running: Duration,
}

struct Series {
    label: String,
    runs: Vec<Timing>,
}

pub fn run(args: &Args) -> Result<()> {
    let target = sluice_tests::target_dir();
    let work = target.join("bench-startup");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let (plugin_path, composition) = assemble_plugins(&target, &work)?;
    eprintln!("bench: start-up with {PLUGINS} plugins: {composition}");

    let broker = Broker::start();
    let topic = "bench-startup";
    broker.create_topic(topic, 1);
    let input = work.join("input.txt");
    std::fs::write(
        &input,
        (0..10).map(|i| format!("line {i}\n")).collect::<String>(),
    )?;
    let connectors = |dir: &Path| -> Vec<(String, String)> {
        vec![
            (
                CONNECTORS[0].to_string(),
                format!(
                    "name={}\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\n\
                     tasks.max=1\nfile={}\ntopic={topic}\n",
                    CONNECTORS[0],
                    input.display()
                ),
            ),
            (
                CONNECTORS[1].to_string(),
                format!(
                    "name={}\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
                     tasks.max=1\nfile={}\ntopics={topic}\n",
                    CONNECTORS[1],
                    dir.join("sink-output.txt").display()
                ),
            ),
        ]
    };

    let mut series = Vec::new();
    // Cold: every run gets a new, empty cache directory (so every component is compiled).
    let mut cold = Vec::new();
    for i in 0..args.runs {
        let dir = work.join(format!("sluice-cold-{i}"));
        std::fs::create_dir_all(&dir)?;
        let setup = WorkerSetup {
            plugin_path: plugin_path.clone(),
            cache_dir: dir.join("cache"),
            connectors: connectors(&dir),
        };
        cold.push(time_start(System::Sluice, args, &broker, &dir, &setup)?);
    }
    series.push(Series {
        label: "Sluice, cold cache".into(),
        runs: cold,
    });

    // Warm: one untimed start fills the cache, then every run reuses it.
    let warm_cache = work.join("warm-cache");
    let mut warm = Vec::new();
    for i in 0..=args.runs {
        let dir = work.join(format!("sluice-warm-{i}"));
        std::fs::create_dir_all(&dir)?;
        let setup = WorkerSetup {
            plugin_path: plugin_path.clone(),
            cache_dir: warm_cache.clone(),
            connectors: connectors(&dir),
        };
        let t = time_start(System::Sluice, args, &broker, &dir, &setup)?;
        if i > 0 {
            warm.push(t);
        }
    }
    series.push(Series {
        label: "Sluice, warm cache".into(),
        runs: warm,
    });

    if args.reference.is_some() {
        let mut reference = Vec::new();
        for i in 0..args.runs {
            let dir = work.join(format!("reference-{i}"));
            std::fs::create_dir_all(&dir)?;
            let setup = WorkerSetup {
                plugin_path: PathBuf::new(),
                cache_dir: PathBuf::new(),
                connectors: connectors(&dir),
            };
            reference.push(time_start(System::Reference, args, &broker, &dir, &setup)?);
        }
        series.push(Series {
            label: "Kafka Connect 3.9 (tiny plugin path)".into(),
            runs: reference,
        });
    }

    let table = render(&series, args.runs);
    println!("{composition}\n\n{table}");
    if let Some(out) = &args.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, update_docs(&existing, &composition, &table))
            .with_context(|| format!("write {}", out.display()))?;
        eprintln!("bench: wrote {}", out.display());
    }
    Ok(())
}

/// Fills `<work>/plugins` with [`PLUGINS`] distinct components: the built-in plugins first,
/// then test plugins if there are too few. Copies of one component would share one cache
/// entry (the cache is keyed by content), so they are never used to make up the number.
fn assemble_plugins(target: &Path, work: &Path) -> Result<(PathBuf, String)> {
    let wasm_in = |dir: PathBuf| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("read {} (run `cargo xtask plugins`)", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        v.sort();
        Ok(v)
    };
    let builtin = wasm_in(target.join("plugin-path"))?;
    // Test plugins that load as Sluice plugins (test-not-sluice is rejected by design).
    let test: Vec<PathBuf> = wasm_in(PathBuf::from(env!("SLUICE_TEST_PLUGINS")))?
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("not-sluice"))
        .collect();
    let required = ["file-source.wasm", "file-sink.wasm"];
    for r in required {
        if !builtin.iter().any(|p| p.ends_with(r)) {
            bail!("the built-in plugin {r} is missing: run `cargo xtask plugins`");
        }
    }
    // The two connectors' plugins first, then the others in name order.
    let mut chosen: Vec<PathBuf> = builtin
        .iter()
        .filter(|p| required.iter().any(|r| p.ends_with(r)))
        .cloned()
        .collect();
    let mut seen_content = std::collections::BTreeSet::new();
    for p in &chosen {
        seen_content.insert(std::fs::read(p)?);
    }
    // The two already chosen are skipped by content.
    for p in &builtin {
        if chosen.len() == PLUGINS {
            break;
        }
        if seen_content.insert(std::fs::read(p)?) {
            chosen.push(p.clone());
        }
    }
    let builtin_count = chosen.len();
    for p in &test {
        if chosen.len() == PLUGINS {
            break;
        }
        if seen_content.insert(std::fs::read(p)?) {
            chosen.push(p.clone());
        }
    }
    if chosen.len() < PLUGINS {
        bail!(
            "only {} distinct plugin components are built (need {PLUGINS}); copies of one \
             component would share a cache entry and are not used",
            chosen.len()
        );
    }
    let dir = work.join("plugins");
    std::fs::create_dir_all(&dir)?;
    for p in &chosen {
        let name = p.file_name().context("plugin file name")?;
        std::fs::copy(p, dir.join(name))?;
    }
    let names: Vec<String> = chosen
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let composition = format!(
        "{PLUGINS} distinct components ({builtin_count} built-in, {} test plugins): {}",
        PLUGINS - builtin_count,
        names.join(", ")
    );
    Ok((dir, composition))
}

/// One start: spawn, REST ready, every connector and task RUNNING; then stop the worker.
fn time_start(
    system: System,
    args: &Args,
    broker: &Broker,
    dir: &Path,
    setup: &WorkerSetup,
) -> Result<Timing> {
    let started = Instant::now();
    let (mut worker, rest) = start_with(system, args, broker, dir, "startup", setup)?;
    let rest_ready = loop {
        if matches!(http_get(rest, "/"), Ok(r) if r.status == 200) {
            break started.elapsed();
        }
        check_alive(&mut worker, dir, started)?;
        std::thread::sleep(POLL);
    };
    let mut pending: Vec<&str> = CONNECTORS.to_vec();
    while !pending.is_empty() {
        pending.retain(|name| !all_running(rest, name));
        if pending.is_empty() {
            break;
        }
        check_alive(&mut worker, dir, started)?;
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "{}: connectors {pending:?} not RUNNING after 300 s; see {}",
                system.label(),
                dir.display()
            );
        }
        std::thread::sleep(POLL);
    }
    let running = started.elapsed();
    stop(worker);
    eprintln!(
        "bench: {} start-up: REST {:.3} s, all RUNNING {:.3} s ({})",
        system.label(),
        rest_ready.as_secs_f64(),
        running.as_secs_f64(),
        dir.display()
    );
    Ok(Timing {
        rest: rest_ready,
        running,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn render(series: &[Series], runs: usize) -> String {
    let mut s = String::from(
        "| system | REST ready, median (s) | all connectors RUNNING, median (s) | all RUNNING, min – max (s) |\n\
         |---|---:|---:|---:|\n"
    );
    for x in series {
        let running: Vec<Duration> = x.runs.iter().map(|t| t.running).collect();
        let min = running.iter().min().copied().unwrap_or_default();
        let max = running.iter().max().copied().unwrap_or_default();
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} – {:.3} |\n",
            x.label,
            median(x.runs.iter().map(|t| t.rest).collect()).as_secs_f64(),
            median(running).as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64(),
        ));
    }
    s.push_str(&format!(
        "\n{runs} timed starts per row; 2 connectors (FileStreamSource, FileStreamSink), 1 task each.\n"
    ));
    s
}

const BEGIN: &str = "<!-- bench:startup -->";
const END: &str = "<!-- /bench:startup -->";

/// Puts the results between the start-up markers of docs/benchmarks.md (the throughput
/// results block is left alone).
fn update_docs(existing: &str, composition: &str, table: &str) -> String {
    let results = format!(
        "{BEGIN}\nMeasured {} ({} cores, {}) with `cargo xtask bench --startup`. \
         Plugin path: {composition}.\n\n{table}{END}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_output("nproc", &[]),
        command_output("uname", &["-srm"]),
    );
    match (existing.find(BEGIN), existing.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{results}{}", &existing[..b], &existing[e + END.len()..])
        }
        _ => format!("{existing}\n## Start-up\n\n{results}\n"),
    }
}
