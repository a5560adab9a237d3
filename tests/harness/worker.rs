//! A `sluice standalone` worker process under test: config files written into the test's
//! directory, output captured to a log file, REST helpers, signals.
//!
//! Design decision: the worker's stdout and stderr go to one file per start (not a pipe), so a
//! chatty worker can never block on a full pipe, and the file survives for a post-mortem. When
//! the test panics, `Drop` prints the log's tail into the test's output.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::broker::send_signal;
use crate::{http_get, plugins, sluice_bin, Broker, HttpResponse, TestDir};

/// How long a worker may take to serve REST after it starts. The first start of a test run
/// compiles every plugin (cached afterwards), on a 2-core machine shared with other tests.
const START_TIMEOUT: Duration = Duration::from_secs(240);

/// Worker properties for a test: the given broker (`None`: the embedded dev broker),
/// StringConverter for keys and values, offsets in `<dir>/offsets.json` flushed every 500 ms, the
/// built plugins and a plugin cache shared by the test run. Tests append or override keys
/// (in `.properties` the last occurrence wins).
pub fn default_worker_props(broker: Option<&Broker>, dir: &Path) -> String {
    let p = plugins();
    let mut props = String::new();
    if let Some(b) = broker {
        props.push_str(&format!("bootstrap.servers={}\n", b.bootstrap()));
    }
    props.push_str(&format!(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.storage.file.filename={}\n\
         offset.flush.interval.ms=500\n\
         plugin.path={}\n\
         plugin.cache.dir={}\n",
        dir.join("offsets.json").display(),
        p.plugin_path.display(),
        p.cache_dir.display(),
    ));
    props
}

/// A running (or exited) `sluice standalone` process.
pub struct Worker {
    child: Option<Child>,
    /// The REST listener (`http://127.0.0.1:<free port>`, chosen by the harness).
    pub rest: SocketAddr,
    /// This start's combined stdout/stderr.
    pub log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Worker {
    /// Writes `worker.properties` (the given text plus a `listeners` line) and each connector file
    /// (`(file name, contents)`; the extension picks the format) into `dir`, starts the worker on
    /// them in this order, and waits until its REST API answers `GET /`.
    pub fn start(dir: &TestDir, worker_props: &str, connectors: &[(&str, &str)]) -> Worker {
        let mut worker = Worker::spawn(dir, worker_props, connectors);
        worker.wait_rest_ready(START_TIMEOUT);
        worker
    }

    /// Like [`Worker::start`] without waiting for REST (for workers expected to exit, or to wait
    /// for a broker that is not up yet).
    pub fn spawn(dir: &TestDir, worker_props: &str, connectors: &[(&str, &str)]) -> Worker {
        Worker::spawn_with_scheme(dir, worker_props, connectors, "http")
    }

    /// Like [`Worker::spawn`] with a `listeners=<scheme>://127.0.0.1:<port>` line (`https` for
    /// the TLS tests, whose worker properties carry the `listeners.https.ssl.*` keys).
    pub fn spawn_with_scheme(
        dir: &TestDir,
        worker_props: &str,
        connectors: &[(&str, &str)],
        scheme: &str,
    ) -> Worker {
        let port = crate::free_port();
        let worker_file = dir.write(
            "worker.properties",
            format!("{worker_props}\nlisteners={scheme}://127.0.0.1:{port}\n"),
        );
        let mut args = vec![worker_file];
        for (name, contents) in connectors {
            args.push(dir.write(name, contents));
        }
        Worker::launch(dir.path(), &args, SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Runs `sluice standalone ARGS…` in `cwd`, expecting REST on `rest`. The log goes to a new
    /// `worker-<port>-<n>.log` in `cwd` when that is a test directory, else (the quickstart test
    /// runs in the repository root) in `target/sluice-tests`.
    pub fn launch(cwd: &Path, args: &[PathBuf], rest: SocketAddr) -> Worker {
        Worker::launch_mode("standalone", cwd, args, rest)
    }

    /// Runs `sluice MODE ARGS…` (`standalone` or `distributed`), as [`Worker::launch`] does.
    pub fn launch_mode(mode: &str, cwd: &Path, args: &[PathBuf], rest: SocketAddr) -> Worker {
        Worker::launch_program(sluice_bin(), mode, cwd, args, rest)
    }

    /// Like [`Worker::launch_mode`] with the `sluice` binary `program` (the benchmark runs its
    /// release build).
    pub fn launch_program(
        program: &Path,
        mode: &str,
        cwd: &Path,
        args: &[PathBuf],
        rest: SocketAddr,
    ) -> Worker {
        let log_dir = if cwd.starts_with(crate::artifacts::target_dir()) {
            cwd.to_path_buf()
        } else {
            crate::artifacts::target_dir().join("sluice-tests")
        };
        let log = (0..)
            .map(|n| log_dir.join(format!("worker-{}-{n}.log", rest.port())))
            .find(|p| !p.exists())
            .expect("some free log name");
        let out = File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new(program)
            .arg(mode)
            .args(args)
            .current_dir(cwd)
            // Plain log lines: tests search them, and people read them in a failed test's output.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Worker {
            child: Some(child),
            rest,
            log,
            exit: None,
        }
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("worker process present")
    }

    /// Waits until `GET /` answers 200 and `GET /connectors` anything but 503 (a distributed
    /// worker answers 503 there until it reached its Kafka cluster); panics (with the log) if
    /// the worker exits first.
    pub fn wait_rest_ready(&mut self, timeout: Duration) {
        let rest = self.rest;
        self.wait_ready_with(timeout, || {
            http_get(rest, "/").is_ok_and(|r| r.status == 200)
                && http_get(rest, "/connectors").is_ok_and(|r| r.status != 503)
        });
    }

    /// Waits until `probe` says the REST API is up (e.g. a `GET /` over TLS); panics (with the
    /// log) if the worker exits first or `timeout` passes.
    pub fn wait_ready_with(&mut self, timeout: Duration, probe: impl Fn() -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if probe() {
                return;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "worker exited ({status}) before its REST API came up; log:\n{}",
                    self.log_tail(80)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "worker REST API on {} not ready after {timeout:?}; log:\n{}",
                    self.rest,
                    self.log_tail(80)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `GET path`, panicking on connection errors.
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.rest, path).unwrap_or_else(|e| panic!("GET {path} from {}: {e}", self.rest))
    }

    /// `GET /connectors/{name}/status`: `None` on 404.
    pub fn status(&self, name: &str) -> Option<Value> {
        let r = self.get(&format!("/connectors/{name}/status"));
        match r.status {
            200 => Some(r.json()),
            404 => None,
            other => panic!("GET /connectors/{name}/status: HTTP {other}: {}", r.body),
        }
    }

    /// Waits until connector `name` and all of its (at least one) tasks are in `state`; returns
    /// the status document.
    pub fn wait_for_state(&self, name: &str, state: &str, timeout: Duration) -> Value {
        crate::wait_until(
            &format!("connector {name} and its tasks to be {state}"),
            timeout,
            || {
                let s = self.status(name)?;
                let connector_ok = s["connector"]["state"] == state;
                let tasks = s["tasks"].as_array()?;
                let tasks_ok = !tasks.is_empty() && tasks.iter().all(|t| t["state"] == state);
                (connector_ok && tasks_ok).then_some(s)
            },
            || format!("{:?}", self.status(name)),
        )
    }

    /// Waits until task `task` of connector `name` is in `state`; returns the task's status.
    pub fn wait_for_task_state(
        &self,
        name: &str,
        task: u64,
        state: &str,
        timeout: Duration,
    ) -> Value {
        crate::wait_until(
            &format!("task {name}-{task} to be {state}"),
            timeout,
            || {
                let s = self.status(name)?;
                let t = s["tasks"]
                    .as_array()?
                    .iter()
                    .find(|t| t["id"] == task)?
                    .clone();
                (t["state"] == state).then_some(t)
            },
            || format!("{:?}; log tail:\n{}", self.status(name), self.log_tail(20)),
        )
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Waits until `file` has at least `n` lines; panics after `timeout` with the count and
    /// the log's last 30 lines.
    pub fn wait_for_lines(&self, file: &Path, n: usize, timeout: Duration) {
        crate::wait_until(
            &format!("{n} lines in {}", file.display()),
            timeout,
            || (crate::count_lines(file) >= n).then_some(()),
            || {
                format!(
                    "{} lines; log:\n{}",
                    crate::count_lines(file),
                    self.log_tail(30)
                )
            },
        )
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until a log line satisfies `matches`; returns that line.
    pub fn wait_for_log_line(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        crate::wait_until(
            what,
            timeout,
            || {
                self.log_text()
                    .lines()
                    .find(|l| matches(l))
                    .map(str::to_string)
            },
            || format!("no such line; log tail:\n{}", self.log_tail(40)),
        )
    }

    /// Sends SIGTERM (graceful stop).
    pub fn sigterm(&self) {
        send_signal(self.pid(), "TERM");
    }

    /// Sends SIGINT (Ctrl-C).
    pub fn sigint(&self) {
        send_signal(self.pid(), "INT");
    }

    /// Kills the worker with SIGKILL (a crash: nothing is flushed) and reaps it.
    pub fn sigkill(&mut self) -> ExitStatus {
        send_signal(self.pid(), "KILL");
        self.wait_exit(Duration::from_secs(30))
    }

    /// The exit status, if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.exit = child.try_wait().ok().flatten();
            }
        }
        self.exit
    }

    /// Waits for the process to exit; panics (with the log) after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "worker did not exit within {timeout:?}; log tail:\n{}",
                    self.log_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- tail of worker log {} ----\n{}\n---- end of worker log ----",
                self.log.display(),
                self.log_tail(80)
            );
        }
        if self.try_exit().is_none() {
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
