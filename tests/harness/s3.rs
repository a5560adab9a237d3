//! A real S3-compatible server for the S3 sink's tests and benchmark: moto in server mode
//! (`python -m moto.server`) on a free loopback port, and boto3 (an ordinary S3 client) to
//! create buckets and read objects back (fastavro and pyarrow to read Avro and Parquet objects
//! with readers Sluice did not write).
//!
//! They come from PyPI, pinned in `tools/s3-server/requirements.txt`, installed into a venv at
//! `<target>/s3-toolchain/` the first time a test needs them and again only when that file
//! changes (a marker records what was installed), so nothing outside the repository's target
//! directory is used and a fresh clone needs only `python3` with `venv` on PATH.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::python::venv_python;
use crate::{free_port, target_dir};

/// The venv's Python, with moto and boto3 installed (once per process; panics with pip's output
/// when the install fails).
pub fn s3_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("s3-toolchain", "s3-server"))
}

/// A moto S3 server on a free loopback port; killed when dropped.
pub struct S3Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

/// The credentials the tests give the sink and boto3 (moto accepts any unless it checks auth).
pub const S3_ACCESS_KEY: &str = "AKIASLUICETEST000001";
pub const S3_SECRET_KEY: &str = "sluice-test-secret-do-not-log";

impl S3Server {
    /// A server that accepts any credentials (moto's default).
    pub fn start() -> S3Server {
        S3Server::launch(false, free_port())
    }

    /// A server on `port` (an example's fixed address), accepting any credentials.
    pub fn start_on(port: u16) -> S3Server {
        S3Server::launch(false, port)
    }

    /// A server that checks every request's credentials against its (empty) IAM: every key is
    /// unknown, so each request is refused with `403 InvalidAccessKeyId`.
    pub fn start_checking_credentials() -> S3Server {
        S3Server::launch(true, free_port())
    }

    fn launch(check_auth: bool, port: u16) -> S3Server {
        let python = s3_python();
        let log = target_dir()
            .join("sluice-tests")
            .join(format!("moto-{}-{port}.log", std::process::id()));
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).expect("create the moto log directory");
        }
        let out = std::fs::File::create(&log).expect("create the moto log");
        let err = out.try_clone().expect("clone the moto log handle");
        let mut cmd = Command::new(python);
        cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if check_auth {
            // moto's switch for IAM checks: after this many unchecked requests, check all.
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto ({}): {e}", python.display()));
        let mut server = S3Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "moto exited ({status}) before listening:\n{}",
                    server.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto did not listen on 127.0.0.1:{port} within 60 s:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: the sink's `store.url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto printed (one line per request).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Creates `bucket` with boto3.
    pub fn create_bucket(&self, bucket: &str) {
        self.boto3(
            "s3.create_bucket(Bucket=bucket)\nprint('{}')",
            bucket,
            "create bucket",
        );
    }

    /// Every object of `bucket` (key → content as UTF-8), read with boto3.
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, String> {
        let out = self.boto3(
            "out = {}\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       out[o['Key']] = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read().decode('utf-8')\n\
             print(json.dumps(out))",
            bucket,
            "list and read objects",
        );
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("boto3 printed no JSON ({e}): {out}"))
    }

    /// Every object of `bucket` read as an Avro Object Container File with fastavro (PyPI):
    /// key → `{"schema": <writer schema>, "codec": <avro.codec>, "records": [...]}`. Logical
    /// types come back as fastavro converts them, printed as text: Decimals as their decimal
    /// string, dates and timestamps in ISO 8601; bytes as hex.
    pub fn avro_objects(&self, bucket: &str) -> BTreeMap<String, serde_json::Value> {
        let out = self.boto3(
            "import io, datetime, decimal, fastavro\n\
             def text(v):\n\
             \x20   if isinstance(v, (datetime.date, datetime.datetime, datetime.time)):\n\
             \x20       return v.isoformat()\n\
             \x20   if isinstance(v, bytes):\n\
             \x20       return v.hex()\n\
             \x20   return str(v)\n\
             out = {}\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()\n\
             \x20       r = fastavro.reader(io.BytesIO(body))\n\
             \x20       out[o['Key']] = {'schema': json.loads(r.metadata['avro.schema']), \
             'codec': r.codec, 'records': list(r)}\n\
             print(json.dumps(out, default=text))",
            bucket,
            "read Avro objects with fastavro",
        );
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("fastavro printed no JSON ({e}): {out}"))
    }

    /// Every object of `bucket` read as a Parquet file with pyarrow (PyPI): key →
    /// `{"columns": {<name>: <Arrow type>}, "codec": <compression of the first column chunk>,
    /// "row_groups": n, "avro_schema": <parquet.avro.schema>, "rows": [...]}`. Rows as pyarrow
    /// gives them (`to_pylist`, maps as dicts), printed like [`S3Server::avro_objects`]'s:
    /// Decimals as their decimal string, dates and timestamps in ISO 8601, bytes as hex.
    pub fn parquet_objects(&self, bucket: &str) -> BTreeMap<String, serde_json::Value> {
        let out = self.boto3(
            "import io, datetime, decimal, pyarrow.parquet as pq\n\
             def text(v):\n\
             \x20   if isinstance(v, (datetime.date, datetime.datetime, datetime.time)):\n\
             \x20       return v.isoformat()\n\
             \x20   if isinstance(v, bytes):\n\
             \x20       return v.hex()\n\
             \x20   return str(v)\n\
             out = {}\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()\n\
             \x20       f = pq.ParquetFile(io.BytesIO(body))\n\
             \x20       meta = f.metadata\n\
             \x20       out[o['Key']] = {\n\
             \x20           'columns': {fl.name: str(fl.type) for fl in f.schema_arrow},\n\
             \x20           'codec': meta.row_group(0).column(0).compression,\n\
             \x20           'row_groups': meta.num_row_groups,\n\
             \x20           'avro_schema': json.loads(meta.metadata[b'parquet.avro.schema']),\n\
             \x20           'rows': f.read().to_pylist(maps_as_pydicts='strict')}\n\
             print(json.dumps(out, default=text))",
            bucket,
            "read Parquet objects with pyarrow",
        );
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("pyarrow printed no JSON ({e}): {out}"))
    }

    /// The ETag of `bucket`/`key` (quotes removed), read with boto3: S3 gives an object
    /// written by a multipart upload of N parts an ETag ending in `-N`.
    pub fn etag(&self, bucket: &str, key: &str) -> String {
        let out = self.boto3(
            &format!(
                "print(s3.head_object(Bucket=bucket, Key={})['ETag'].strip('\"'))",
                serde_json::Value::String(key.to_string())
            ),
            bucket,
            "head object",
        );
        out.trim().to_string()
    }

    /// Multipart uploads started and neither completed nor aborted, as `key` list.
    pub fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let out = self.boto3(
            "r = s3.list_multipart_uploads(Bucket=bucket)\n\
             print(json.dumps([u['Key'] for u in r.get('Uploads', [])]))",
            bucket,
            "list multipart uploads",
        );
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("boto3 printed no JSON ({e}): {out}"))
    }

    fn boto3(&self, body: &str, bucket: &str, what: &str) -> String {
        let script = format!(
            "import json, sys, boto3\n\
             bucket = sys.argv[2]\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
             aws_access_key_id='{S3_ACCESS_KEY}', aws_secret_access_key='{S3_SECRET_KEY}')\n\
             {body}\n"
        );
        let out = Command::new(s3_python())
            .arg("-c")
            .arg(&script)
            .arg(self.url())
            .arg(bucket)
            .output()
            .unwrap_or_else(|e| panic!("boto3 {what}: cannot run python: {e}"));
        assert!(
            out.status.success(),
            "boto3 {what} on {} failed:\n{}",
            self.url(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
