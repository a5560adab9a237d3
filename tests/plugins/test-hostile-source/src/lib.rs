//! Test-only source `test-hostile-source`: one plugin, several attacks on the sandbox, picked
//! by `hostile.mode`, so the sandbox tests (tests/integration/sandbox.rs) can check that each
//! one is stopped or contained while a healthy connector keeps running.
//!
//! Design decision: the probes that the sandbox should *contain* rather than kill (`files`,
//! `connect`) report what happened as string records (`<probe>: ok …` / `<probe>: denied: …`)
//! on their first poll and stay idle afterwards, so a test can tell "denied" from "not tried".
//!
//! Modes: `loop` (busy loop in poll), `memory` (allocates until it dies), `panic` (panics in
//! poll), `files` (reads `/etc/passwd`, `<dir>/../outside.txt` and `<dir>/inside.txt`),
//! `connect` (TCP connect to `connect.host`:`connect.port`; a host name goes through
//! `wasi:sockets/ip-name-lookup`), `huge-batch` (returns `batch.records` records of
//! `batch.value.bytes` bytes each, ignoring max_records), `stdout` (writes `stdout.bytes` bytes
//! to stdout on every poll — one endless line, then many short ones — and returns one record),
//! `http` (one request with the SDK's `http` client to `http.url`: `http.method`, a body of
//! `http.body.bytes` bytes, an extra `http.header` `Name: value`, up to `http.redirects`
//! redirects followed; reported as `http <url>: ok <status> <n> bytes: <body>` or
//! `http <url>: error: <error>`).

use std::io::Write;

use sluice_plugin_sdk::{
    Config, ConfigDef, FileAccess, OffsetMap, PluginSpec, Record, Schema, SchemaRef, Source,
    SourcePosition, SourceRecord, TaskError,
};

/// The hostile source task.
pub struct HostileSource {
    topic: String,
    mode: String,
    dir: Option<String>,
    host: String,
    port: i64,
    batch_records: u64,
    value_bytes: usize,
    stdout_bytes: usize,
    polls: u64,
    schema: SchemaRef,
    http: HttpProbe,
}

/// The `http` mode's request.
struct HttpProbe {
    url: String,
    method: String,
    body_bytes: usize,
    header: Option<(String, String)>,
    redirects: u32,
}

impl HostileSource {
    fn record(&self, n: u64, value: String) -> SourceRecord {
        SourceRecord::new(
            OffsetMap::new().with("test-hostile-source", self.topic.as_str()),
            OffsetMap::new().with("n", n as i64),
            Record::new(self.topic.as_str()).with_value(Some(self.schema.clone()), value),
        )
    }

    fn probe_files(&self) -> Vec<String> {
        let mut paths = vec!["/etc/passwd".to_string()];
        if let Some(dir) = &self.dir {
            paths.push(format!("{dir}/../outside.txt"));
            paths.push(format!("{dir}/inside.txt"));
        }
        paths
            .into_iter()
            .map(|p| match std::fs::read(&p) {
                Ok(bytes) => format!("{p}: ok {} bytes", bytes.len()),
                Err(e) => format!("{p}: denied: {e}"),
            })
            .collect()
    }

    fn probe_connect(&self) -> String {
        let host = self.host.as_str();
        let Ok(port) = u16::try_from(self.port) else {
            return format!("connect {host}:{}: denied: bad port", self.port);
        };
        match std::net::TcpStream::connect((host, port)) {
            Ok(mut s) => {
                let _ = s.write_all(b"hello from the sandbox\n");
                format!("connect {host}:{port}: ok")
            }
            Err(e) => format!("connect {host}:{port}: denied: {e}"),
        }
    }

    fn probe_http(&self) -> String {
        let p = &self.http;
        let mut request = sluice_plugin_sdk::http::Request::new(&p.method, &p.url)
            .body(vec![b'x'; p.body_bytes])
            .max_redirects(p.redirects);
        if let Some((name, value)) = &p.header {
            request = request.header(name, value);
        }
        match request.send() {
            Ok(r) => {
                let text = r.text();
                let shown: String = text.chars().take(200).collect();
                format!(
                    "http {}: ok {} {} bytes: {shown}",
                    p.url,
                    r.status,
                    r.body.len()
                )
            }
            Err(e) => format!("http {}: error: {e}", p.url),
        }
    }
}

impl Source for HostileSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-hostile-source", "0.1.0")
            .description("Test only: attacks the sandbox in the way `hostile.mode` names.")
            .config(
                ConfigDef::string("topic")
                    .required()
                    .doc("Topic to write to."),
            )
            .config(
                ConfigDef::string("hostile.mode")
                    .required()
                    .recommended([
                        "loop",
                        "memory",
                        "panic",
                        "files",
                        "connect",
                        "huge-batch",
                        "stdout",
                        "http",
                    ])
                    .doc("The attack."),
            )
            .config(
                ConfigDef::string("dir")
                    .file_access(FileAccess::ReadDir)
                    .doc("The one directory the plugin is granted (files mode)."),
            )
            .config(
                ConfigDef::string("connect.host")
                    .default("127.0.0.1")
                    .doc("Host (name or IP) to connect to (connect mode)."),
            )
            .config(
                ConfigDef::int("connect.port")
                    .default(0)
                    .doc("Port to connect to."),
            )
            .config(
                ConfigDef::long("batch.records")
                    .default(100_000)
                    .doc("huge-batch size."),
            )
            .config(
                ConfigDef::long("batch.value.bytes")
                    .default(16)
                    .doc("huge-batch value size."),
            )
            .config(
                ConfigDef::long("stdout.bytes")
                    .default(4 << 20)
                    .doc("stdout per poll."),
            )
            .config(
                ConfigDef::string("http.url")
                    .default("")
                    .doc("URL to request (http mode)."),
            )
            .config(
                ConfigDef::string("http.method")
                    .default("GET")
                    .doc("HTTP method."),
            )
            .config(
                ConfigDef::long("http.body.bytes")
                    .default(0)
                    .doc("Request body size."),
            )
            .config(
                ConfigDef::string("http.header")
                    .default("")
                    .doc("An extra header `Name: value`."),
            )
            .config(
                ConfigDef::int("http.redirects")
                    .default(5)
                    .doc("Redirects to follow."),
            )
    }

    fn open(config: Config, _committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let number = |key: &str| -> Result<u64, TaskError> {
            u64::try_from(config.required_int(key)?)
                .map_err(|_| TaskError::fatal(format!("config `{key}`: use a non-negative number")))
        };
        Ok(HostileSource {
            topic: config.required_str("topic")?.to_string(),
            mode: config.required_str("hostile.mode")?.to_string(),
            dir: config.optional_str("dir").map(str::to_string),
            host: config.required_str("connect.host")?.to_string(),
            port: config.required_int("connect.port")?,
            batch_records: number("batch.records")?,
            value_bytes: number("batch.value.bytes")? as usize,
            stdout_bytes: number("stdout.bytes")? as usize,
            polls: 0,
            schema: Schema::string().into_ref(),
            http: HttpProbe {
                url: config.required_str("http.url")?.to_string(),
                method: config.required_str("http.method")?.to_string(),
                body_bytes: number("http.body.bytes")? as usize,
                header: config
                    .required_str("http.header")?
                    .split_once(':')
                    .map(|(n, v)| (n.trim().to_string(), v.trim().to_string())),
                redirects: u32::try_from(config.required_int("http.redirects")?).unwrap_or(0),
            },
        })
    }

    fn poll(&mut self, _max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        self.polls += 1;
        match self.mode.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Touch every page so the memory is really committed.
                    hoard.push(std::hint::black_box(vec![0xA5u8; 1 << 20]));
                }
            }
            "panic" => panic!("test-hostile-source panics on purpose in poll"),
            "files" if self.polls == 1 => Ok(self
                .probe_files()
                .into_iter()
                .enumerate()
                .map(|(i, v)| self.record(i as u64, v))
                .collect()),
            "connect" if self.polls == 1 => Ok(vec![self.record(0, self.probe_connect())]),
            "http" if self.polls == 1 => Ok(vec![self.record(0, self.probe_http())]),
            "huge-batch" => {
                let value = "x".repeat(self.value_bytes);
                Ok((0..self.batch_records)
                    .map(|n| self.record(n, value.clone()))
                    .collect())
            }
            "stdout" => {
                let mut out = std::io::stdout().lock();
                // Half of it as one enormous line, then the other half as many short ones.
                let _ = out.write_all(b"endless ");
                let _ = out.write_all("y".repeat(self.stdout_bytes / 2).as_bytes());
                let _ = out.write_all(b"\n");
                let line = format!("{}\n", "chatty ".repeat(14));
                let mut written = 0;
                while written < self.stdout_bytes / 2 {
                    let _ = out.write_all(line.as_bytes());
                    written += line.len();
                }
                let _ = out.flush();
                Ok(vec![self.record(
                    self.polls,
                    format!("poll {} wrote {} bytes", self.polls, self.stdout_bytes),
                )])
            }
            "files" | "connect" | "http" => Ok(Vec::new()),
            other => Err(TaskError::fatal(format!("unknown hostile.mode `{other}`"))),
        }
    }
}

sluice_plugin_sdk::export_source!(HostileSource);
