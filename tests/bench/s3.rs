//! `sluice-bench --s3`: the S3 sink's throughput into a real S3-compatible server (moto, the
//! same server the tests use) against the raw upload rate of that server, measured in the same
//! run. Method in docs/benchmarks.md ("S3 sink").
//!
//! - Input: `--records` ~80-byte JSON lines (200 000 unless given; rounded down to whole
//!   objects), put into a one-partition topic by a FileStreamSource before anything is timed.
//! - Baseline: boto3 (one Python process, one connection) PUTs exactly the objects the sink
//!   will write — the input cut into `flush.size` = 10 000 lines — timed around the upload loop.
//! - Sluice: a worker with one S3 sink connector (ByteArrayConverter and ByteArrayFormat, so an
//!   object holds its records' bytes as they are, one per line), timed from the connector and
//!   its task reporting RUNNING until the committed consumer offset reaches the last record —
//!   the sink commits only offsets of uploaded objects, so that is when the last object is
//!   complete. Peak RSS is the worker's VmHWM then.
//! - Check: each object of the sink's bucket has the ETag (MD5) of the baseline's object of the
//!   same name, and there are as many.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sluice_tests::{s3_python, S3Server, S3_ACCESS_KEY, S3_SECRET_KEY};

use super::{publish, render_vs_baseline, sink_input, time_sink, Args, Labels, SinkInput};

const FLUSH_SIZE: usize = 10_000;
const TOPIC: &str = "bench-s3";

pub fn run(args: &Args) -> Result<()> {
    let records = args.records / FLUSH_SIZE * FLUSH_SIZE;
    if records == 0 {
        bail!("--records must be at least {FLUSH_SIZE} (one object) for --s3");
    }
    let SinkInput {
        work,
        input,
        bytes,
        broker,
    } = sink_input(args, "bench-s3", TOPIC, records)?;

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
    let m = time_sink(
        args, &broker, &dir, "bench-s3", &connector, records, baseline,
    )?;

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
    let labels = Labels {
        target: "into moto (S3 server)",
        baseline: "boto3 `put_object` of the same objects (raw upload rate, baseline)",
        sluice: "Sluice S3 sink, Kafka → S3, to the last committed offset",
    };
    let note = format!(
        "{records} records ({:.1} MiB) in {} objects of {FLUSH_SIZE} records; one partition, one task.",
        bytes as f64 / 1048576.0,
        raw.len()
    );
    publish(
        args,
        "s3",
        "S3 sink",
        &render_vs_baseline(&m, &labels, records, bytes, &note),
    )
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
