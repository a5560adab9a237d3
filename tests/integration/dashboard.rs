//! The dashboard (`GET /ui`) in a real browser: headless Chromium driven through Debian's
//! `chromedriver` with plain WebDriver requests. The page loads, shows the running connectors
//! and their tasks, records/s, lag, error and DLQ counts, the plugins with the capabilities
//! their sandbox can be granted and what each connector's config grants, and its Pause button
//! pauses a connector through the REST API; a screenshot is kept as a test artifact
//! (`target/sluice-tests/dashboard.png`).
//!
//! Chromium and chromedriver are installed by `cargo xtask test` (apt); when they are missing
//! the test fails and says so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, http_get, target_dir, unique, wait_until, Broker, TestDir, Worker,
};

use crate::{datagen, file_sink, FILE_SINK};

/// `chromedriver` on a free port; killed on drop.
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    fn start() -> Driver {
        let port = sluice_tests::free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run chromedriver ({e}): `cargo xtask test` installs Debian's chromium and chromium-driver")
            });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Owned before waiting, so a driver that never answers is still killed (Drop).
        let driver = Driver { child, addr };
        wait_until(
            "chromedriver to answer /status",
            Duration::from_secs(30),
            || {
                webdriver_http(addr, "GET", "/status", None)
                    .ok()
                    .filter(|(status, _)| *status == 200)
            },
            || "no answer".to_string(),
        );
        driver
    }

    /// One WebDriver command; returns its `value`, panicking on an error status.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// One WebDriver command: its `value`, or the error (e.g. a stale element: the page
    /// re-renders its tables every few seconds).
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let text = body.map(|b| b.to_string());
        let (status, body) =
            webdriver_http(self.addr, method, path, text.as_deref()).map_err(|e| e.to_string())?;
        let v: Value =
            serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {body}"))?;
        if status != 200 {
            return Err(format!("HTTP {status}: {v}"));
        }
        Ok(v["value"].clone())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session on the driver.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl<'d> Session<'d> {
    fn headless(driver: &'d Driver) -> Session<'d> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
            }
        }}});
        let v = driver.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().expect("sessionId").to_string();
        Session { driver, id }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.driver
            .try_call(method, &format!("/session/{}{path}", self.id), body)
    }

    /// The WebDriver id of the first element matching `css`.
    fn find(&self, css: &str) -> Result<String, String> {
        let found = self.try_cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no element {css}"))
    }

    /// The text of the first element matching `css`, if there is one now.
    fn text(&self, css: &str) -> Option<String> {
        let element = self.find(css).ok()?;
        let text = self
            .try_cmd("GET", &format!("/element/{element}/text"), None)
            .ok()?;
        text.as_str().map(str::to_string)
    }

    /// Clicks the first element matching `css`, again if the page re-rendered in between.
    fn click(&self, css: &str) {
        let mut last = String::new();
        for _ in 0..10 {
            let clicked = self.find(css).and_then(|element| {
                self.try_cmd(
                    "POST",
                    &format!("/element/{element}/click"),
                    Some(json!({})),
                )
            });
            match clicked {
                Ok(_) => return,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("cannot click {css}: {last}");
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = webdriver_http(
            self.driver.addr,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

/// One HTTP/1.1 request to chromedriver: (status, body). The body is read by its
/// `Content-Length`: chromedriver answers `Connection: close` but keeps the socket open.
fn webdriver_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let body = json_body.unwrap_or_default();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut buf = vec![0u8; length];
    reader.read_exact(&mut buf)?;
    Ok((status, String::from_utf8_lossy(&buf).into_owned()))
}

#[test]
fn dashboard_shows_connectors_and_pauses_one_in_headless_chromium() {
    let broker = Broker::shared();
    let dir = TestDir::new("dashboard");
    let topic = unique("dashboard");
    broker.create_topic(&topic, 1);
    let name = unique("dash-src");
    let sink = unique("dash-snk");
    let out = dir.join("out.txt");
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[
            (
                "datagen.properties",
                &datagen(&name, &topic, 10_000_000, 200),
            ),
            ("sink.properties", &file_sink(&sink, &out, &topic)),
        ],
    );
    worker.wait_for_state(&name, "RUNNING", Duration::from_secs(120));
    worker.wait_for_state(&sink, "RUNNING", Duration::from_secs(120));

    let driver = Driver::start();
    let session = Session::headless(&driver);
    session.cmd(
        "POST",
        "/url",
        Some(json!({"url": format!("http://{}/ui", worker.rest)})),
    );
    let row = format!("tr[data-connector=\"{name}\"]");
    let state = wait_until(
        "the dashboard to show the connector RUNNING",
        Duration::from_secs(60),
        || {
            session
                .text(&format!("{row} td[data-state]"))
                .filter(|s| s == "RUNNING")
        },
        || format!("{:?}", session.text("body")),
    );
    assert_eq!(state, "RUNNING");
    assert_eq!(
        session
            .text(&format!("{row} [data-task=\"0\"] .state"))
            .as_deref(),
        Some("RUNNING")
    );
    // The plugins table lists the datagen plugin, and the file sink with the capabilities its
    // sandbox can be granted: files, by its `file` key.
    let plugins = session.text("#plugins").unwrap_or_default();
    assert!(
        plugins.contains("datagen") && plugins.contains("source"),
        "{plugins}"
    );
    let capabilities = session
        .text(&format!(
            "tr[data-plugin=\"{FILE_SINK}\"] td[data-capabilities]"
        ))
        .unwrap_or_default();
    assert!(
        capabilities.contains("filesystem (file)") && capabilities.contains("sluice-host"),
        "{capabilities}"
    );
    // What each connector's config grants: the sink its output file, datagen nothing.
    let sink_row = format!("tr[data-connector=\"{sink}\"]");
    assert_eq!(
        session.text(&format!("{sink_row} td[data-grants]")),
        Some(format!("file={}", out.display()))
    );
    assert_eq!(
        session.text(&format!("{row} td[data-grants]")).as_deref(),
        Some("nothing")
    );
    // Records/s from the metrics: both connectors move records (datagen writes 200/s).
    for r in [&row, &sink_row] {
        wait_until(
            &format!("records/s above 0 in {r}"),
            Duration::from_secs(60),
            || {
                let cell = session.text(&format!("{r} td[data-rate]"))?;
                let rate: f64 = cell.split_whitespace().next()?.parse().ok()?;
                (rate > 0.0).then_some(())
            },
            || format!("{:?}", session.text(r)),
        );
    }
    // The sink's lag is a number; no errors and nothing in a dead letter queue.
    let lag = session
        .text(&format!("{sink_row} td[data-lag]"))
        .unwrap_or_default();
    assert!(lag.parse::<f64>().is_ok(), "lag {lag:?}");
    for r in [&row, &sink_row] {
        assert_eq!(
            session.text(&format!("{r} td[data-errors]")).as_deref(),
            Some("0")
        );
        assert_eq!(
            session.text(&format!("{r} td[data-dlq]")).as_deref(),
            Some("0")
        );
    }

    session.click(&format!("{row} button[data-action=\"pause\"]"));
    worker.wait_for_state(&name, "PAUSED", Duration::from_secs(60));
    wait_until(
        "the dashboard to show the connector PAUSED",
        Duration::from_secs(30),
        || {
            session
                .text(&format!("{row} td[data-state]"))
                .filter(|s| s == "PAUSED")
        },
        || format!("{:?}", session.text(&row)),
    );
    let shot = session.cmd("GET", "/screenshot", None);
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot.as_str().expect("base64 screenshot"))
        .expect("decode the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let artifacts = target_dir().join("sluice-tests");
    std::fs::create_dir_all(&artifacts).expect("create the artifact directory");
    std::fs::write(artifacts.join("dashboard.png"), &png).expect("write the screenshot");

    // Resume through the page too: the connector runs again.
    session.click(&format!("{row} button[data-action=\"resume\"]"));
    worker.wait_for_state(&name, "RUNNING", Duration::from_secs(60));
    let status = http_get(worker.rest, &format!("/connectors/{name}/status")).expect("status");
    assert_eq!(status.json()["connector"]["state"], "RUNNING");
}
