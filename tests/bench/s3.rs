//! `sluice-bench --s3`: the S3 sink's throughput into a real S3-compatible server (moto, the
//! same server the tests use) against the raw upload rate of that server, measured in the same
//! run. Method in docs/benchmarks.md ("S3 sink").
//!
//! - Input: `--records` ~80-byte JSON lines (200 000 unless given; rounded down to whole
//!   objects), put into a one-partition topic by a FileStreamSource before anything is timed.
//! - Baseline: boto3 (one Python process, one connection) PUTs exactly the objects the sink
//!   will write — the input cut into `flush.size` = 10 000 lines — timed around the upload loop.
//! - Sluice: a worker with one S3 sink connector (ByteArrayConverter and ByteArrayFormat, so an
//!   object holds its records' bytes as they are, one per line), timed from the REST API
//!   answering until the committed consumer offset reaches the last record — the sink commits
//!   only offsets of uploaded objects, so that is when the last object is complete. Peak RSS is
//!   the worker's VmHWM then.
//! - Check: each object of the sink's bucket has the ETag (MD5) of the baseline's object of the
//!   same name, and there are as many.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sluice_tests::{http_get, s3_python, Broker, S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};

use super::{
    check_alive, command_output, generate_input, peak_rss_kib, rate, start, stop, wait_rest, Args,
    System,
};

const FLUSH_SIZE: usize = 10_000;
const TOPIC: &str = "bench-s3";

struct Measured {
    baseline: Duration,
    sluice: Duration,
    sluice_wall: Duration,
    peak_rss_kib: u64,
    objects: usize,
}

pub fn run(args: &Args) -> Result<()> {
    let records = args.records / FLUSH_SIZE * FLUSH_SIZE;
    if records == 0 {
        bail!("--records must be at least {FLUSH_SIZE} (one object) for --s3");
    }
    let work = sluice_tests::target_dir().join("bench-s3");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.jsonl");
    let bytes = generate_input(&input, records)?;
    eprintln!(
        "bench: --s3 with {records} records, {:.1} MiB",
        bytes as f64 / 1048576.0
    );
    let broker = Broker::start();
    broker.create_topic(TOPIC, 1);
    fill_topic(args, &broker, &work, &input, records)?;

    let s3 = S3Server::start();
    s3.create_bucket("bench-raw");
    s3.create_bucket("bench-sluice");
    let baseline = baseline(&s3, &input)?;
    eprintln!("bench: boto3 baseline: {:.2} s", baseline.as_secs_f64());

    let dir = work.join("sink");
    std::fs::create_dir_all(&dir)?;
    let connector = format!(
        "name=bench-s3\nconnector.class=io.confluent.connect.s3.S3SinkConnector\ntasks.max=1\n\
         topics={TOPIC}\ns3.bucket.name=bench-sluice\ns3.region=us-east-1\nstore.url={}\n\
         aws.access.key.id={S3_ACCESS_KEY}\naws.secret.access.key={S3_SECRET_KEY}\n\
         format.class=io.confluent.connect.s3.format.bytearray.ByteArrayFormat\n\
         flush.size={FLUSH_SIZE}\n\
         value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n\
         wasm.network.allow=127.0.0.1:{}\n",
        s3.url(),
        s3.port()
    );
    let started = Instant::now();
    let (mut worker, rest) = start(System::Sluice, args, &broker, &dir, "s3-sink", &connector)?;
    let ready = wait_rest(&mut worker, rest, &dir, started)?;
    loop {
        let committed = http_get(rest, "/connectors/bench-s3/offsets")
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json()["offsets"][0]["offset"]["kafka_offset"].as_u64());
        if committed == Some(records as u64) {
            break;
        }
        check_alive(&mut worker, &dir, started)?;
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = Instant::now();
    let peak = peak_rss_kib(worker.id());
    stop(worker);
    eprintln!(
        "bench: Sluice S3 sink: {:.2} s",
        (done - ready).as_secs_f64()
    );

    let raw = etags(&s3, "bench-raw")?;
    let sunk = etags(&s3, "bench-sluice")?;
    if raw != sunk || raw.len() != records / FLUSH_SIZE {
        bail!(
            "the sink's objects differ from the baseline's: {} vs {} objects (expected {})",
            sunk.len(),
            raw.len(),
            records / FLUSH_SIZE
        );
    }
    let m = Measured {
        baseline,
        sluice: done - ready,
        sluice_wall: done - started,
        peak_rss_kib: peak,
        objects: raw.len(),
    };
    let table = render(&m, records, bytes);
    println!("{table}");
    if let Some(out) = &args.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, update_docs(&existing, &table))
            .with_context(|| format!("write {}", out.display()))?;
        eprintln!("bench: wrote {}", out.display());
    }
    Ok(())
}

/// The input into the topic, with a FileStreamSource in a Sluice worker (not timed).
fn fill_topic(args: &Args, broker: &Broker, work: &Path, input: &Path, n: usize) -> Result<()> {
    let dir = work.join("fill");
    std::fs::create_dir_all(&dir)?;
    let source = format!(
        "name=bench-s3-fill\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\n\
         tasks.max=1\nfile={}\ntopic={TOPIC}\nbatch.size=2000\n",
        input.display()
    );
    let started = Instant::now();
    let mut reader = broker.reader(TOPIC);
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

/// boto3 PUTs the objects the sink will write (same names, same bytes) to `bench-raw`;
/// returns the time of the upload loop.
fn baseline(s3: &S3Server, input: &Path) -> Result<Duration> {
    let script = format!(
        "import sys, time, boto3\n\
         s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='{S3_ACCESS_KEY}', aws_secret_access_key='{S3_SECRET_KEY}')\n\
         lines = open(sys.argv[2], 'rb').read().splitlines(keepends=True)\n\
         n = {FLUSH_SIZE}\n\
         bodies = [(f'topics/{TOPIC}/partition=0/{TOPIC}+0+{{i:010d}}.bin', b''.join(lines[i:i + n])) for i in range(0, len(lines), n)]\n\
         t = time.monotonic()\n\
         for key, body in bodies:\n\
         \x20   s3.put_object(Bucket='bench-raw', Key=key, Body=body)\n\
         print(time.monotonic() - t)\n"
    );
    let out = Command::new(s3_python())
        .arg("-c")
        .arg(&script)
        .arg(s3.url())
        .arg(input)
        .output()
        .context("run the boto3 baseline")?;
    if !out.status.success() {
        bail!(
            "the boto3 baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("the boto3 baseline printed no time")?;
    Ok(Duration::from_secs_f64(secs))
}

/// Key → ETag of every object in `bucket`.
fn etags(s3: &S3Server, bucket: &str) -> Result<Vec<(String, String)>> {
    let script = format!(
        "import sys, json, boto3\n\
         s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='{S3_ACCESS_KEY}', aws_secret_access_key='{S3_SECRET_KEY}')\n\
         out = []\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2]):\n\
         \x20   out += [[o['Key'], o['ETag']] for o in page.get('Contents', [])]\n\
         print(json.dumps(sorted(out)))\n"
    );
    let out = Command::new(s3_python())
        .arg("-c")
        .arg(&script)
        .arg(s3.url())
        .arg(bucket)
        .output()
        .context("list objects with boto3")?;
    if !out.status.success() {
        bail!("listing {bucket}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let pairs: Vec<(String, String)> = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("listing {bucket}: not JSON"))?;
    Ok(pairs)
}

fn render(m: &Measured, records: usize, bytes: u64) -> String {
    let mib = |d: Duration| bytes as f64 / 1048576.0 / d.as_secs_f64().max(1e-9);
    let mut s = String::from(
        "| into moto (S3 server) | records/s | MiB/s | time (s) | peak RSS (MiB) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    s.push_str(&format!(
        "| boto3 `put_object` of the same objects (raw upload rate, baseline) | {:.0} | {:.1} | {:.2} | |\n",
        rate(records, m.baseline),
        mib(m.baseline),
        m.baseline.as_secs_f64()
    ));
    s.push_str(&format!(
        "| Sluice S3 sink, Kafka → S3, to the last committed offset | {:.0} | {:.1} | {:.2} (incl. start-up {:.2}) | {:.0} |\n",
        rate(records, m.sluice),
        mib(m.sluice),
        m.sluice.as_secs_f64(),
        m.sluice_wall.as_secs_f64(),
        m.peak_rss_kib as f64 / 1024.0
    ));
    s.push_str(&format!(
        "| ratio Sluice / baseline | {:.2}× | | | |\n",
        rate(records, m.sluice) / rate(records, m.baseline)
    ));
    s.push_str(&format!(
        "\n{records} records ({:.1} MiB) in {} objects of {FLUSH_SIZE} records; one partition, one task.\n",
        bytes as f64 / 1048576.0,
        m.objects
    ));
    s
}

const BEGIN: &str = "<!-- bench:s3 -->";
const END: &str = "<!-- /bench:s3 -->";

/// Puts the results between the S3 markers of docs/benchmarks.md (other blocks left alone).
fn update_docs(existing: &str, table: &str) -> String {
    let results = format!(
        "{BEGIN}\nMeasured {} ({} cores, {}) with `cargo xtask bench --s3`.\n\n{table}{END}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_output("nproc", &[]),
        command_output("uname", &["-srm"]),
    );
    match (existing.find(BEGIN), existing.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{results}{}", &existing[..b], &existing[e + END.len()..])
        }
        _ => format!("{existing}\n## S3 sink\n\n{results}\n"),
    }
}
