//! `sluice-bench`: Sluice against the reference Kafka Connect on the same tansu broker and the
//! same 1 000 000 ~80-byte JSON lines. Run it through `cargo xtask bench`, which builds the release
//! binary and the plugins and installs the reference first; the method is in docs/benchmarks.md.
//!
//! For each system, two phases, each in a fresh worker process with one connector:
//! - file → Kafka (FileStreamSource): from the worker's REST API answering (start-up done) to the
//!   last record in the topic, counted by consuming (tansu's high watermarks can under-report);
//! - Kafka → file (FileStreamSink): from REST up to the last line in the output file, then the
//!   output is compared with the input byte for byte.
//!
//! Peak RSS is the worker process's VmHWM at the end of each phase.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;

use sluice_tests::{free_port, http_get, Broker};

mod alternate;
mod avro;
mod cdc;
mod distributed;
mod http;
mod jdbc_sink;
mod metrics;
mod polyglot;
mod s3;
mod startup;

const PHASE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Clone)]
struct Args {
    sluice: PathBuf,
    reference: Option<PathBuf>,
    out: Option<PathBuf>,
    records: usize,
    /// `--startup`: the start-up benchmark instead of the throughput one.
    startup: bool,
    /// Timed start-ups per system and cache state (`--runs`).
    runs: usize,
    /// `--cdc`: the PostgreSQL change data capture benchmark (Sluice against Debezium).
    cdc: bool,
    /// `--jdbc-sink`: the JDBC sink upsert benchmark (against a plain psql baseline).
    jdbc_sink: bool,
    /// `--s3`: the S3 sink benchmark (into moto, against boto3's raw upload rate).
    s3: bool,
    /// `--http`: the HTTP sink benchmark (into a local server, against a raw HTTP client).
    http: bool,
    /// `--metrics`: the file pipelines with metrics on and off (`metrics.enable`), alternated.
    metrics: bool,
    /// `--polyglot`: plugins in Rust, JavaScript and Python (transform, sink, source).
    polyglot: bool,
    /// `--avro`: the file pipelines with the AvroConverter and the embedded Schema Registry
    /// against the same with JsonConverter and inline schemas, alternated.
    avro: bool,
    /// `--distributed`: distributed mode, Sluice against the reference (failover, memory per
    /// worker, scale-out over 1 to 3 workers).
    distributed: bool,
    /// `--failover-timeout SECS`: how long the distributed benchmark waits for a killed
    /// worker's connectors and tasks to run elsewhere before it records that they did not.
    failover_timeout: Duration,
    /// `--set LABEL=DIR` (repeatable): more sets of example components the polyglot
    /// benchmark measures in the same run.
    sets: Vec<(String, PathBuf)>,
    /// Lines added to a Sluice worker's properties (the metrics benchmark's switch).
    sluice_worker_extra: String,
    /// Lines added to both connectors of a throughput run (the converter benchmark's switch:
    /// a connector's own `value.converter` overrides the worker's).
    connector_extra: String,
    /// Appended to the topic, connector and directory names of a throughput run, so several
    /// runs share one broker without reading each other's records or committed offsets.
    run_tag: String,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        sluice: sluice_tests::target_dir().join("release/sluice"),
        reference: None,
        out: None,
        records: 1_000_000,
        startup: false,
        runs: 5,
        cdc: false,
        jdbc_sink: false,
        s3: false,
        http: false,
        metrics: false,
        polyglot: false,
        avro: false,
        distributed: false,
        failover_timeout: Duration::from_secs(120),
        sets: Vec::new(),
        sluice_worker_extra: String::new(),
        connector_extra: String::new(),
        run_tag: String::new(),
    };
    let mut records_given = false;
    let mut runs_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--sluice" => args.sluice = std::path::absolute(value()?)?,
            "--reference" => args.reference = Some(std::path::absolute(value()?)?),
            "--out" => args.out = Some(value()?.into()),
            "--records" => {
                args.records = value()?.parse().context("--records takes a number")?;
                records_given = true;
            }
            "--s3" => args.s3 = true,
            "--http" => args.http = true,
            "--metrics" => args.metrics = true,
            "--polyglot" => args.polyglot = true,
            "--avro" => args.avro = true,
            "--distributed" => args.distributed = true,
            "--failover-timeout" => {
                args.failover_timeout = Duration::from_secs(
                    value()?
                        .parse()
                        .context("--failover-timeout takes a number of seconds")?,
                );
            }
            "--set" => {
                let v = value()?;
                let (label, dir) = v
                    .split_once('=')
                    .with_context(|| format!("--set takes LABEL=DIR, got {v}"))?;
                args.sets
                    .push((label.to_string(), std::path::absolute(dir)?));
            }
            "--startup" => args.startup = true,
            "--cdc" => args.cdc = true,
            "--jdbc-sink" => args.jdbc_sink = true,
            "--runs" => {
                runs_given = true;
                args.runs = value()?.parse().context("--runs takes a number")?;
                if args.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            other => bail!("unknown argument {other}; expected --sluice PATH, --reference DIR, --out FILE, --records N, --startup, --runs N, --cdc, --jdbc-sink, --s3, --http, --metrics, --polyglot [--set LABEL=DIR]…, --avro, --distributed [--failover-timeout SECS]"),
        }
    }
    if (args.s3 || args.http) && !records_given {
        args.records = 200_000;
    }
    if args.polyglot && !records_given {
        args.records = 20_000;
    }
    if args.distributed && !records_given {
        args.records = 300_000;
    }
    if (args.polyglot || args.avro || args.distributed) && !runs_given {
        args.runs = 3;
    }
    Ok(args)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum System {
    Sluice,
    Reference,
}

impl System {
    fn label(self) -> &'static str {
        match self {
            System::Sluice => "Sluice",
            System::Reference => "Kafka Connect 3.9",
        }
    }
}

struct Phase {
    /// REST API up (the worker has started) to last record.
    active: Duration,
    /// Process start to last record (includes start-up).
    wall: Duration,
    peak_rss_kib: u64,
}

struct SystemResult {
    system: System,
    source: Phase,
    sink: Phase,
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if args.startup {
        return startup::run(&args);
    }
    if args.s3 {
        return s3::run(&args);
    }
    if args.http {
        return http::run(&args);
    }
    if args.distributed {
        let report = distributed::run(&args)?;
        return publish(&args, "distributed", "Distributed mode", &report);
    }
    let work = sluice_tests::target_dir().join("bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.jsonl");
    let bytes = generate_input(&input, args.records)?;
    eprintln!(
        "bench: {} records, {:.1} MiB in {}",
        args.records,
        bytes as f64 / 1048576.0,
        input.display()
    );

    let broker = Broker::start();
    if args.polyglot {
        let report = polyglot::run(&args, &broker, &work)?;
        return publish(
            &args,
            "polyglot",
            "Plugins in other languages: the polyglot benchmark",
            &report,
        );
    }
    if args.metrics {
        warm_plugin_cache(&args, &broker, &work)?;
        let report = metrics::run(&args, &broker, &work, &input)?;
        return publish(&args, "metrics", "Metrics on and off", &report);
    }
    if args.avro {
        warm_plugin_cache(&args, &broker, &work)?;
        let report = avro::run(&args, &broker, &work, &input)?;
        return publish(&args, "avro", "Avro against JSON with schemas", &report);
    }
    if args.cdc {
        let report = cdc::run(&args, &broker, &work)?;
        return publish(&args, "cdc", "PostgreSQL change data capture", &report);
    }
    if args.jdbc_sink {
        let report = jdbc_sink::run(&args, &broker, &work)?;
        return publish(&args, "jdbc-sink", "JDBC sink", &report);
    }
    let mut results = Vec::new();
    let mut systems = vec![System::Sluice];
    if args.reference.is_some() {
        systems.push(System::Reference);
    }
    for system in systems {
        if system == System::Sluice {
            warm_plugin_cache(&args, &broker, &work)?;
        }
        results.push(run_system(system, &args, &broker, &work, &input)?);
    }
    let ceiling = consumer_ceiling(&broker, "bench-sluice", args.records)?;
    let report = render(&results, args.records, ceiling);
    publish(&args, "results", "Results", &report)
}

/// ~80-byte JSON lines, all distinct.
fn generate_input(path: &Path, n: usize) -> Result<u64> {
    let mut w = std::io::BufWriter::new(File::create(path)?);
    let mut bytes = 0u64;
    for i in 0..n {
        let line = format!(
            "{{\"id\":{i},\"name\":\"user_{i:07}\",\"email\":\"user_{i:07}@example.com\",\"score\":0.{:03}}}\n",
            (i * 7919) % 1000
        );
        bytes += line.len() as u64;
        w.write_all(line.as_bytes())?;
    }
    w.flush()?;
    Ok(bytes)
}

fn run_system(
    system: System,
    args: &Args,
    broker: &Broker,
    work: &Path,
    input: &Path,
) -> Result<SystemResult> {
    let tag = match system {
        System::Sluice => format!("sluice{}", args.run_tag),
        System::Reference => format!("reference{}", args.run_tag),
    };
    let dir = work.join(&tag);
    std::fs::create_dir_all(&dir)?;
    let topic = format!("bench-{tag}");
    broker.create_topic(&topic, 1);

    let source = format!(
        "name={tag}-source\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\n\
         tasks.max=1\nfile={}\ntopic={topic}\nbatch.size=2000\n{}",
        input.display(),
        args.connector_extra
    );
    let started = Instant::now();
    let (mut worker, rest) = start(system, args, broker, &dir, "source", &source)?;
    let mut reader = broker.reader(&topic);
    let ready = wait_rest(&mut worker, rest, &dir, started)?;
    let mut seen = 0usize;
    while seen < args.records {
        seen += reader.count_for(Duration::from_millis(50));
        check_alive(&mut worker, &dir, started)?;
    }
    let done = Instant::now();
    let source_phase = Phase {
        active: done - ready,
        wall: done - started,
        peak_rss_kib: peak_rss_kib(worker.id()),
    };
    stop(worker);
    eprintln!(
        "bench: {} file→Kafka: {:.1} s",
        system.label(),
        source_phase.active.as_secs_f64()
    );

    let output = dir.join("output.jsonl");
    let sink = format!(
        "name={tag}-sink\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
         tasks.max=1\nfile={}\ntopics={topic}\n{}",
        output.display(),
        args.connector_extra
    );
    let started = Instant::now();
    let (mut worker, rest) = start(system, args, broker, &dir, "sink", &sink)?;
    let ready = wait_rest(&mut worker, rest, &dir, started)?;
    let mut lines = LineCounter::default();
    while lines.count < args.records {
        std::thread::sleep(Duration::from_millis(50));
        lines.update(&output)?;
        check_alive(&mut worker, &dir, started)?;
    }
    let done = Instant::now();
    let sink_phase = Phase {
        active: done - ready,
        wall: done - started,
        peak_rss_kib: peak_rss_kib(worker.id()),
    };
    stop(worker);
    eprintln!(
        "bench: {} Kafka→file: {:.1} s",
        system.label(),
        sink_phase.active.as_secs_f64()
    );
    if std::fs::read(&output)? != std::fs::read(input)? {
        bail!(
            "{}: the sink output {} differs from the input",
            system.label(),
            output.display()
        );
    }
    Ok(SystemResult {
        system,
        source: source_phase,
        sink: sink_phase,
    })
}

/// Starts Sluice once with no connector, so every plugin is compiled into the component cache
/// before the timed phases: a rebuilt plugin would otherwise be compiled (Cranelift) inside
/// the first phase, skewing its time and peak RSS.
fn warm_plugin_cache(args: &Args, broker: &Broker, work: &Path) -> Result<()> {
    let dir = work.join("warm-up");
    std::fs::create_dir_all(&dir)?;
    // A datagen connector that produces nothing keeps `start` unchanged.
    let (mut worker, rest) = start(
        System::Sluice,
        args,
        broker,
        &dir,
        "warm-up",
        "name=warm-up\nconnector.class=datagen\ntopic=warm-up\ncount=0\n",
    )?;
    wait_rest(&mut worker, rest, &dir, Instant::now())?;
    stop(worker);
    eprintln!("bench: plugin cache warm");
    Ok(())
}

/// Starts a worker of `system` with one connector; its output goes to `<dir>/<phase>.log`.
fn start(
    system: System,
    args: &Args,
    broker: &Broker,
    dir: &Path,
    phase: &str,
    connector: &str,
) -> Result<(Child, SocketAddr)> {
    let target = sluice_tests::target_dir();
    // SLUICE_BENCH_PLUGIN_PATH: another plugin directory, to compare two builds of the
    // plugins (say, with and without the packed interfaces) on the same host binary.
    let plugin_path = std::env::var_os("SLUICE_BENCH_PLUGIN_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("plugin-path"));
    let setup = WorkerSetup {
        plugin_path,
        cache_dir: target.join("plugin-cache"),
        connectors: vec![(phase.to_string(), connector.to_string())],
    };
    start_with(system, args, broker, dir, phase, &setup)
}

/// Both systems' sink consumers (worker `consumer.fetch.max.wait.ms`, the Java name; Sluice maps
/// it to librdkafka's `fetch.wait.max.ms`). tansu 0.6.0 holds every fetch response for about
/// half of the requested max wait even when it has data (storage/src/service/fetch.rs sleeps
/// after each pass), so with the 500 ms default both systems' sinks were paced by the broker
/// at ~5 MiB per ~300 ms, not by their own work.
const FETCH_MAX_WAIT_MS: u32 = 10;

/// Where a Sluice worker finds its plugins, and the connector files to start it with.
struct WorkerSetup {
    plugin_path: PathBuf,
    cache_dir: PathBuf,
    /// (file stem, `.properties` contents)
    connectors: Vec<(String, String)>,
}

/// Starts a worker of `system` with `setup`'s connectors; output goes to `<dir>/<phase>.log`.
fn start_with(
    system: System,
    args: &Args,
    broker: &Broker,
    dir: &Path,
    phase: &str,
    setup: &WorkerSetup,
) -> Result<(Child, SocketAddr)> {
    let port = free_port();
    let common = format!(
        "bootstrap.servers={}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.flush.interval.ms=1000\n\
         consumer.fetch.max.wait.ms={FETCH_MAX_WAIT_MS}\n\
         listeners=http://127.0.0.1:{port}\n",
        broker.bootstrap()
    );
    let worker_props = match system {
        System::Sluice => format!(
            "{common}offset.storage.file.filename={}\nplugin.path={}\nplugin.cache.dir={}\n{}",
            dir.join(format!("{phase}.offsets.json")).display(),
            setup.plugin_path.display(),
            setup.cache_dir.display(),
            args.sluice_worker_extra
        ),
        System::Reference => {
            let empty = dir.join("empty-plugin-path");
            std::fs::create_dir_all(&empty)?;
            format!(
                "{common}offset.storage.file.filename={}\nplugin.discovery=service_load\nplugin.path={}\n",
                dir.join(format!("{phase}.offsets.dat")).display(),
                empty.display()
            )
        }
    };
    let worker_file = dir.join(format!("{phase}-worker.properties"));
    std::fs::write(&worker_file, worker_props)?;
    let mut connector_files = Vec::new();
    for (stem, contents) in &setup.connectors {
        let file = dir.join(format!("{stem}.properties"));
        std::fs::write(&file, contents)?;
        connector_files.push(file);
    }
    let log = File::create(dir.join(format!("{phase}.log")))?;
    let mut cmd = match system {
        System::Sluice => Command::new(&args.sluice),
        System::Reference => {
            let mut c = Command::new("bash");
            c.arg(
                args.reference
                    .as_ref()
                    .context("no --reference")?
                    .join("run.sh"),
            );
            c
        }
    };
    cmd.arg("standalone")
        .arg(&worker_file)
        .args(&connector_files)
        .current_dir(dir);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {}", system.label()))?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

/// Waits until the worker's REST API answers `GET /`; returns when it did.
fn wait_rest(
    worker: &mut Child,
    rest: SocketAddr,
    dir: &Path,
    started: Instant,
) -> Result<Instant> {
    loop {
        if matches!(http_get(rest, "/"), Ok(r) if r.status == 200) {
            return Ok(Instant::now());
        }
        check_alive(worker, dir, started)?;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until connector `name` and all its tasks report RUNNING on the worker's REST API;
/// returns when they did. The throughput clocks start here, so neither system's start-up
/// (JVM, plugin compilation, connecting to the database) counts as work on the records.
fn wait_running(
    worker: &mut Child,
    rest: SocketAddr,
    name: &str,
    dir: &Path,
    started: Instant,
) -> Result<Instant> {
    loop {
        if all_running(rest, name) {
            return Ok(Instant::now());
        }
        check_alive(worker, dir, started)?;
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether connector `name` and every one of its tasks (at least one) are RUNNING.
fn all_running(rest: SocketAddr, name: &str) -> bool {
    let Ok(r) = http_get(rest, &format!("/connectors/{name}/status")) else {
        return false;
    };
    if r.status != 200 {
        return false;
    }
    let s = r.json();
    let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
    s["connector"]["state"] == "RUNNING"
        && !tasks.is_empty()
        && tasks.iter().all(|t| t["state"] == "RUNNING")
}

/// What a sink benchmark starts from: a fresh `<target>/<name>/`, `records` input lines in it,
/// and a broker whose one-partition `topic` holds them.
struct SinkInput {
    work: PathBuf,
    input: PathBuf,
    bytes: u64,
    broker: Broker,
}

fn sink_input(args: &Args, name: &str, topic: &str, records: usize) -> Result<SinkInput> {
    let work = sluice_tests::target_dir().join(name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.jsonl");
    let bytes = generate_input(&input, records)?;
    eprintln!(
        "bench: {name} with {records} records, {:.1} MiB",
        bytes as f64 / 1048576.0
    );
    let broker = Broker::start();
    broker.create_topic(topic, 1);
    fill_topic(args, &broker, &work, &input, topic, records)?;
    Ok(SinkInput {
        work,
        input,
        bytes,
        broker,
    })
}

/// The input into `topic`, with a FileStreamSource in a Sluice worker (not timed): the sink
/// benchmarks start from a full topic.
fn fill_topic(
    args: &Args,
    broker: &Broker,
    work: &Path,
    input: &Path,
    topic: &str,
    n: usize,
) -> Result<()> {
    let dir = work.join("fill");
    std::fs::create_dir_all(&dir)?;
    let source = format!(
        "name=bench-fill\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\n\
         tasks.max=1\nfile={}\ntopic={topic}\nbatch.size=2000\n",
        input.display()
    );
    let started = Instant::now();
    let mut reader = broker.reader(topic);
    let (mut worker, rest) = start(System::Sluice, args, broker, &dir, "fill", &source)?;
    wait_rest(&mut worker, rest, &dir, started)?;
    let mut seen = 0usize;
    while seen < n {
        seen += reader.count_for(Duration::from_millis(50));
        check_alive(&mut worker, &dir, started)?;
    }
    stop(worker);
    Ok(())
}

/// Waits until sink `connector`'s committed offset (one partition) reaches `records`; returns
/// when it did. A sink commits only what it finished, so that is when the last record is out.
fn wait_committed(
    worker: &mut Child,
    rest: SocketAddr,
    connector: &str,
    records: usize,
    dir: &Path,
    started: Instant,
) -> Result<Instant> {
    let path = format!("/connectors/{connector}/offsets");
    loop {
        let committed = http_get(rest, &path)
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json()["offsets"][0]["offset"]["kafka_offset"].as_u64());
        if committed == Some(records as u64) {
            return Ok(Instant::now());
        }
        check_alive(worker, dir, started)?;
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_alive(worker: &mut Child, dir: &Path, started: Instant) -> Result<()> {
    if let Some(status) = worker.try_wait()? {
        bail!(
            "the worker exited ({status}); see the logs in {}",
            dir.display()
        );
    }
    if started.elapsed() > PHASE_TIMEOUT {
        bail!(
            "the phase did not finish within {PHASE_TIMEOUT:?}; see the logs in {}",
            dir.display()
        );
    }
    Ok(())
}

fn stop(mut worker: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(worker.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = worker.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = worker.kill();
    let _ = worker.wait();
}

/// VmHWM (peak resident set) of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

/// VmRSS (resident set now) of a live process, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The `key` line (e.g. `VmHWM:`) of /proc/PID/status, in KiB; 0 when unreadable.
fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Counts newlines in a growing file, reading only what was appended since the last call.
#[derive(Default)]
struct LineCounter {
    offset: u64,
    count: usize,
}

impl LineCounter {
    fn update(&mut self, path: &Path) -> Result<()> {
        let Ok(mut f) = File::open(path) else {
            return Ok(());
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.count += buf.iter().filter(|&&b| b == b'\n').count();
        Ok(())
    }
}

/// How fast a bare librdkafka consumer (no conversion, no sink; the reader the source phase
/// uses as its clock) reads the whole benchmark topic from this broker on this machine: the
/// most any Kafka → file sink can reach in the same run.
fn consumer_ceiling(broker: &Broker, topic: &str, records: usize) -> Result<Duration> {
    let started = Instant::now();
    let mut reader = broker.reader(topic);
    let mut seen = 0usize;
    while seen < records {
        seen += reader.count_for(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the bare consumer read only {seen} of {records} records of {topic} in 300 s");
        }
    }
    let took = started.elapsed();
    eprintln!(
        "bench: bare consumer read {topic}: {:.1} s",
        took.as_secs_f64()
    );
    Ok(took)
}

/// Runs sink connector `name` (properties `connector`) alone in a Sluice worker in `dir` until
/// it committed all `records` of its one-partition topic, timed from the connector and its task
/// reporting RUNNING (see [`VsBaseline`]); `baseline` is the raw client's time for the same work.
fn time_sink(
    args: &Args,
    broker: &Broker,
    dir: &Path,
    name: &str,
    connector: &str,
    records: usize,
    baseline: Duration,
) -> Result<VsBaseline> {
    let started = Instant::now();
    let (mut worker, rest) = start(System::Sluice, args, broker, dir, name, connector)?;
    let ready = wait_running(&mut worker, rest, name, dir, started)?;
    let done = wait_committed(&mut worker, rest, name, records, dir, started)?;
    let peak = peak_rss_kib(worker.id());
    stop(worker);
    eprintln!(
        "bench: Sluice {name}: {:.2} s",
        (done - ready).as_secs_f64()
    );
    Ok(VsBaseline {
        baseline,
        sluice: done - ready,
        sluice_wall: done - started,
        peak_rss_kib: peak,
    })
}

/// What a sink benchmark against a baseline of its own measured (`--s3`, `--http`).
struct VsBaseline {
    baseline: Duration,
    /// The connector and its task RUNNING up to the last record committed.
    sluice: Duration,
    /// Process start to the last record committed.
    sluice_wall: Duration,
    peak_rss_kib: u64,
}

/// The rows naming what was measured, for [`render_vs_baseline`].
struct Labels<'a> {
    /// The first column's heading (where the records go).
    target: &'a str,
    baseline: &'a str,
    sluice: &'a str,
}

/// The table of a [`VsBaseline`] run, then `note`.
fn render_vs_baseline(
    m: &VsBaseline,
    labels: &Labels<'_>,
    records: usize,
    bytes: u64,
    note: &str,
) -> String {
    let mib = |d: Duration| bytes as f64 / 1048576.0 / d.as_secs_f64().max(1e-9);
    let mut s = format!(
        "| {} | records/s | MiB/s | time (s) | peak RSS (MiB) |\n|---|---:|---:|---:|---:|\n",
        labels.target
    );
    s.push_str(&format!(
        "| {} | {:.0} | {:.1} | {:.2} | |\n",
        labels.baseline,
        rate(records, m.baseline),
        mib(m.baseline),
        m.baseline.as_secs_f64()
    ));
    s.push_str(&format!(
        "| {} | {:.0} | {:.1} | {:.2} (incl. start-up {:.2}) | {:.0} |\n",
        labels.sluice,
        rate(records, m.sluice),
        mib(m.sluice),
        m.sluice.as_secs_f64(),
        m.sluice_wall.as_secs_f64(),
        m.peak_rss_kib as f64 / 1024.0
    ));
    s.push_str(&format!(
        "| ratio Sluice / baseline | {:.2}× | | | |\n\n{note}\n",
        rate(records, m.sluice) / rate(records, m.baseline)
    ));
    s
}

fn rate(records: usize, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64().max(1e-9)
}

fn render(results: &[SystemResult], records: usize, ceiling: Duration) -> String {
    let mut s = String::new();
    s.push_str("| system | file → Kafka (records/s) | Kafka → file (records/s) | file → Kafka incl. start-up (s) | Kafka → file incl. start-up (s) | peak RSS source / sink (MiB) |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} / {:.0} |\n",
            r.system.label(),
            rate(records, r.source.active),
            rate(records, r.sink.active),
            r.source.wall.as_secs_f64(),
            r.sink.wall.as_secs_f64(),
            r.source.peak_rss_kib as f64 / 1024.0,
            r.sink.peak_rss_kib as f64 / 1024.0,
        ));
    }
    if let [sluice, reference] = results {
        s.push_str(&format!(
            "| ratio Sluice / reference | {:.2}× | {:.2}× | | | {:.2}× / {:.2}× |\n",
            rate(records, sluice.source.active) / rate(records, reference.source.active),
            rate(records, sluice.sink.active) / rate(records, reference.sink.active),
            sluice.source.peak_rss_kib as f64 / reference.source.peak_rss_kib.max(1) as f64,
            sluice.sink.peak_rss_kib as f64 / reference.sink.peak_rss_kib.max(1) as f64,
        ));
    }
    s.push_str(&format!(
        "| bare librdkafka consumer, no sink work (broker ceiling) | | {:.0} | | | |\n",
        rate(records, ceiling)
    ));
    s
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Prints `table` and, with `--out`, puts it into its block of docs/benchmarks.md.
fn publish(args: &Args, section: &str, title: &str, table: &str) -> Result<()> {
    println!("{table}");
    if let Some(out) = &args.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, update_block(&existing, section, title, table))
            .with_context(|| format!("write {}", out.display()))?;
        eprintln!("bench: wrote {}", out.display());
    }
    Ok(())
}

/// Puts `table` between the `<!-- bench:{section} -->` markers of docs/benchmarks.md, saying
/// when, where and by which command it was measured (other blocks left alone); appends a
/// `## {title}` section when the markers are missing. `results` is the throughput block of a
/// plain `cargo xtask bench`; every other section is that benchmark's flag.
fn update_block(existing: &str, section: &str, title: &str, table: &str) -> String {
    let (begin, end) = (
        format!("<!-- bench:{section} -->"),
        format!("<!-- /bench:{section} -->"),
    );
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let flag = match section {
        "results" => String::new(),
        other => format!(" --{other}"),
    };
    let results = format!(
        "{begin}\nMeasured {} on {cpu} ({} cores, {}) with `cargo xtask bench{flag}`.\n\n{table}{end}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_output("nproc", &[]),
        command_output("uname", &["-srm"]),
    );
    match (existing.find(&begin), existing.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{results}{}", &existing[..b], &existing[e + end.len()..])
        }
        _ if existing.is_empty() => format!("# Benchmarks\n\n## {title}\n\n{results}\n"),
        _ => format!("{existing}\n## {title}\n\n{results}\n"),
    }
}
