//! `cargo xtask postgres-cdc [--to jdbc|s3|http]`: builds the plugins and runs one of the
//! Postgres CDC example pipelines on the embedded in-memory broker. All three share the source
//! side of `examples/postgres-cdc` (its worker, its Debezium connector and its reset SQL):
//! PostgreSQL's `public.example_orders` → Debezium change events in
//! `example.public.example_orders` → one sink:
//! - `jdbc` (the default): `examples/postgres-cdc`, the JDBC sink into MariaDB's
//!   `test.example_orders_replica`;
//! - `s3`: `examples/postgres-cdc-s3`, the S3 sink into a local moto server (127.0.0.1:8098,
//!   bucket `example-orders-lake`), started here;
//! - `http`: `examples/postgres-cdc-http`, the HTTP sink posting to the example's
//!   `receiver.py` (127.0.0.1:8099), started here.
//!
//! Each run starts from scratch (the reset SQL drops the slot, publication and tables, and the
//! offsets are cleared). Ctrl-C stops the worker and whatever was started for the sink.

use anyhow::{bail, Context, Result};
use std::process::{Child, Command, Stdio};

use crate::cmd::{cargo, root, run, target_dir};
use crate::plugins;

/// Where the example keeps its offsets (also set in `examples/postgres-cdc/worker.properties`).
pub const OUT_DIR: &str = "/tmp/sluice-postgres-cdc";

/// Where the records go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    Jdbc,
    S3,
    Http,
}

impl Sink {
    fn parse(args: &[String]) -> Result<Sink> {
        match args {
            [] => Ok(Sink::Jdbc),
            [flag, to] if flag == "--to" => match to.as_str() {
                "jdbc" => Ok(Sink::Jdbc),
                "s3" => Ok(Sink::S3),
                "http" => Ok(Sink::Http),
                other => bail!("--to {other}: use jdbc, s3 or http"),
            },
            _ => bail!("usage: cargo xtask postgres-cdc [--to jdbc|s3|http]"),
        }
    }

    /// The sink's connector file.
    fn connector(self) -> &'static str {
        match self {
            Sink::Jdbc => "examples/postgres-cdc/jdbc-sink.properties",
            Sink::S3 => "examples/postgres-cdc-s3/s3-sink.properties",
            Sink::Http => "examples/postgres-cdc-http/http-sink.properties",
        }
    }

    /// How to watch the sink's side.
    fn watch(self) -> &'static str {
        match self {
            Sink::Jdbc => "mysql -h 127.0.0.1 -u root test -e 'SELECT * FROM example_orders_replica'",
            Sink::S3 => "target/s3-toolchain/bin/python -c \"import boto3; s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:8098', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x'); print([o['Key'] for o in s3.list_objects_v2(Bucket='example-orders-lake').get('Contents', [])])\"",
            Sink::Http => "the receiver prints each request it gets, below",
        }
    }
}

/// Runs `program args… < file`, failing with the client's message.
fn run_sql_file(program: &str, args: &[&str], file: &str) -> Result<()> {
    let path = root().join("examples/postgres-cdc").join(file);
    let input =
        std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::from(input))
        .output()
        .with_context(|| format!("running {program} (the database client must be installed)"))?;
    if !out.status.success() {
        bail!(
            "{program} < {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A process started for the example, stopped when the example ends.
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on 127.0.0.1:`port`, or `helper` exited.
fn wait_listening(helper: &mut Helper, port: u16, what: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = helper.0.try_wait()? {
            bail!("{what} exited ({status}) before listening on 127.0.0.1:{port}");
        }
        if std::time::Instant::now() > deadline {
            bail!("{what} did not listen on 127.0.0.1:{port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Ok(())
}

/// Starts what the sink writes to: moto with the example's bucket, or the example's receiver.
fn start_sink_side(sink: Sink) -> Result<Option<Helper>> {
    match sink {
        Sink::Jdbc => Ok(None),
        Sink::S3 => {
            let venv = target_dir().join("s3-toolchain");
            std::fs::create_dir_all(&venv)?;
            let log = venv.join("moto-example.log");
            eprintln!(
                "xtask: starting moto (S3) on 127.0.0.1:8098, installing it into {} on first use; its log: {}",
                venv.display(),
                log.display()
            );
            let out = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            let mut moto = Helper(
                Command::new(root().join("tools/s3-server/moto.sh"))
                    .arg(&venv)
                    .args(["-H", "127.0.0.1", "-p", "8098"])
                    .stdout(out.try_clone()?)
                    .stderr(out)
                    .spawn()
                    .context("starting tools/s3-server/moto.sh")?,
            );
            wait_listening(&mut moto, 8098, "moto (see its log)")?;
            run(Command::new(venv.join("bin/python")).args([
                "-c",
                "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:8098', \
                 region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\
                 .create_bucket(Bucket='example-orders-lake')",
            ]))?;
            Ok(Some(moto))
        }
        Sink::Http => {
            let mut receiver = Helper(
                Command::new("python3")
                    .arg(root().join("examples/postgres-cdc-http/receiver.py"))
                    .args(["--port", "8099"])
                    .spawn()
                    .context("starting examples/postgres-cdc-http/receiver.py (needs python3)")?,
            );
            wait_listening(&mut receiver, 8099, "receiver.py")?;
            Ok(Some(receiver))
        }
    }
}

pub fn run_example(args: &[String]) -> Result<()> {
    let sink = Sink::parse(args)?;
    crate::databases::prepare()?;
    plugins::build_all()?;
    run_sql_file(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ],
        "reset-postgres.sql",
    )?;
    if sink == Sink::Jdbc {
        run_sql_file(
            "mysql",
            &["-h", "127.0.0.1", "-u", "root", "test"],
            "reset-mariadb.sql",
        )?;
    }
    match std::fs::remove_dir_all(OUT_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot clear {OUT_DIR}")),
    }
    std::fs::create_dir_all(OUT_DIR).with_context(|| format!("cannot create {OUT_DIR}"))?;
    let _sink_side = start_sink_side(sink)?;
    eprintln!(
        "xtask: streaming PostgreSQL test.public.example_orders through {};\n\
         xtask: change the source:  psql -h 127.0.0.1 -U postgres -d test -c \"INSERT INTO example_orders VALUES (4, 'dave', 5.25, 'new')\"\n\
         xtask: watch the sink:     {}\n\
         xtask: REST on http://127.0.0.1:8084 (curl localhost:8084/connectors/orders-cdc/status); Ctrl-C stops it",
        sink.connector(),
        sink.watch()
    );
    run(cargo().args([
        "run",
        "-p",
        "sluice",
        "--bin",
        "sluice",
        "--",
        "standalone",
        "examples/postgres-cdc/worker.properties",
        "examples/postgres-cdc/postgres-cdc.properties",
        sink.connector(),
    ]))
}
