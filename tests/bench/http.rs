//! `sluice-bench --http`: the HTTP sink's throughput into a local HTTP server against a raw
//! HTTP client sending the same bodies to the same server, measured in the same run. Method in
//! docs/benchmarks.md ("HTTP sink").
//!
//! - Input: `--records` ~80-byte JSON lines (200 000 unless given), put into a one-partition
//!   topic by a FileStreamSource before anything is timed.
//! - Server: the test harness's HTTP/1.1 server (`TestHttpServer`, a thread per connection,
//!   every request recorded), answering 200 at once.
//! - Baseline: this process sends the input cut into bodies of [`BATCH`] lines (joined by
//!   newlines, as the sink's `batch.separator` below) as `POST`s on one keep-alive connection,
//!   each answered before the next — the raw rate of the server and the loopback.
//! - Sluice: a worker with one HTTP sink (`batch.max.size` = [`BATCH`], StringConverter), timed
//!   from the connector and its task reporting RUNNING until the committed consumer offset reaches the last record
//!   (the sink's put returns once every request of it is answered, so that is when the last
//!   record was delivered). Peak RSS is the worker's VmHWM then.
//! - Check: the server received every input line exactly once, in order, on each path.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sluice_tests::{Recorded, TestHttpServer};

use super::{publish, render_vs_baseline, sink_input, time_sink, Args, Labels, SinkInput};

const BATCH: usize = 500;
const TOPIC: &str = "bench-http";

pub fn run(args: &Args) -> Result<()> {
    let records = args.records;
    let SinkInput {
        work,
        input,
        bytes,
        broker,
    } = sink_input(args, "bench-http", TOPIC, records)?;

    let server = TestHttpServer::ok();
    let lines: Vec<String> = std::fs::read_to_string(&input)?
        .lines()
        .map(str::to_string)
        .collect();
    let baseline = baseline(&server, &lines)?;
    eprintln!("bench: raw HTTP baseline: {:.2} s", baseline.as_secs_f64());

    let dir = work.join("sink");
    std::fs::create_dir_all(&dir)?;
    let connector = format!(
        "name=bench-http\nconnector.class=io.confluent.connect.http.HttpSinkConnector\n\
         tasks.max=1\ntopics={TOPIC}\nhttp.api.url={}\nbatch.max.size={BATCH}\n\
         batch.separator=\\n\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
         wasm.network.allow=127.0.0.1:{}\n",
        server.url("/sluice"),
        server.port()
    );
    let m = time_sink(
        args,
        &broker,
        &dir,
        "bench-http",
        &connector,
        records,
        baseline,
    )?;

    let requests = server.requests();
    for path in ["/raw", "/sluice"] {
        let got = received(&requests, path);
        if got != lines {
            bail!(
                "the server got {} lines on {path}, not the {} input lines in order",
                got.len(),
                lines.len()
            );
        }
    }
    let labels = Labels {
        target: "into a local HTTP server",
        baseline: "raw HTTP/1.1 client, same bodies on one keep-alive connection (baseline)",
        sluice: "Sluice HTTP sink, Kafka → HTTP, to the last committed offset",
    };
    let note = format!(
        "{records} records ({:.1} MiB); the sink sent {} requests of at most {BATCH} records; one partition, one task.",
        bytes as f64 / 1048576.0,
        requests.iter().filter(|r| r.path == "/sluice").count()
    );
    publish(
        args,
        "http",
        "HTTP sink",
        &render_vs_baseline(&m, &labels, records, bytes, &note),
    )
}

/// `POST /raw` of every body on one keep-alive connection; returns the time of the loop.
fn baseline(server: &TestHttpServer, lines: &[String]) -> Result<Duration> {
    let bodies: Vec<String> = lines.chunks(BATCH).map(|c| c.join("\n")).collect();
    let stream = TcpStream::connect(server.addr()).context("connect to the bench server")?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let t = Instant::now();
    for body in &bodies {
        let head = format!(
            "POST /raw HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n",
            server.addr(),
            body.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(body.as_bytes())?;
        read_response(&mut reader)?;
    }
    Ok(t.elapsed())
}

/// Reads one response (status line, headers, `Content-Length` body); fails unless 2xx.
fn read_response(reader: &mut impl BufRead) -> Result<()> {
    let mut status = String::new();
    reader.read_line(&mut status)?;
    if !status
        .split_whitespace()
        .nth(1)
        .is_some_and(|s| s.starts_with('2'))
    {
        bail!("the bench server answered {status:?}");
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            bail!("the bench server closed the connection");
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().context("Content-Length")?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(())
}

/// The lines of every body sent to `path`, in arrival order.
fn received(requests: &[Recorded], path: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path == path)
        .flat_map(|r| {
            r.body_str()
                .split('\n')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}
