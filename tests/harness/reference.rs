//! The reference Apache Kafka Connect 3.9 (`connect-standalone`), for tests that compare Sluice
//! with it: installed by the project's `tools/reference-connect/setup.sh` into `$REF_HOME`
//! (default /tmp/reference-connect) once per test binary, and started with its `run.sh`.
//!
//! Design decision: the harness installs the reference itself (the script skips what is already
//! there), and an install that fails is a test failure with the script's output, never a skip,
//! so a CI machine without the reference cannot pass the comparison.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{http_get, workspace_root, Broker, HttpResponse, TestDir};

/// The JVM takes a few seconds to serve REST; far longer on a loaded 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// A running reference `connect-standalone` process; killed on drop.
pub struct ReferenceConnect {
    child: Child,
    /// Its REST listener on loopback.
    pub rest: SocketAddr,
    /// Its combined stdout/stderr.
    pub log: PathBuf,
}

impl ReferenceConnect {
    /// Starts a standalone reference worker on `broker` with StringConverter keys and values,
    /// offsets in `<dir>/reference.offsets`, flushed every `offset.flush.interval.ms=500`
    /// (like [`crate::default_worker_props`]), no connectors, and waits until `GET /`
    /// answers. `extra` is appended to its worker properties.
    pub fn start(dir: &TestDir, broker: &Broker, extra: &str) -> ReferenceConnect {
        let home = install();
        let port = crate::free_port();
        // An empty plugin.path with service loading: FileStreamSource and the converters come
        // from the classpath, as in the benchmark.
        let plugin_dir = dir.join("reference-plugins");
        std::fs::create_dir_all(&plugin_dir).expect("create the reference plugin dir");
        let props = format!(
            "bootstrap.servers={}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.storage.file.filename={}\n\
             offset.flush.interval.ms=500\n\
             plugin.discovery=service_load\n\
             plugin.path={}\n\
             listeners=http://127.0.0.1:{port}\n{extra}\n",
            broker.bootstrap(),
            dir.join("reference.offsets").display(),
            plugin_dir.display(),
        );
        ReferenceConnect::launch(dir, "standalone", &props, port, home)
    }

    /// Starts a reference worker in distributed mode (`connect-distributed`) on `broker`:
    /// StringConverter keys and values, offsets flushed every 500 ms, internal topics with
    /// replication factor 1; `distributed` holds the `group.id` and `*.storage.topic` keys
    /// (and anything else to add). Waits until `GET /` answers.
    pub fn start_distributed(
        dir: &TestDir,
        broker: &Broker,
        distributed: &str,
    ) -> ReferenceConnect {
        let home = install();
        let port = crate::free_port();
        let plugin_dir = dir.join("reference-plugins");
        std::fs::create_dir_all(&plugin_dir).expect("create the reference plugin dir");
        let props = format!(
            "bootstrap.servers={}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.flush.interval.ms=500\n\
             plugin.discovery=service_load\n\
             plugin.path={}\n\
             listeners=http://127.0.0.1:{port}\n\
             rest.advertised.host.name=127.0.0.1\n{distributed}\n",
            broker.bootstrap(),
            plugin_dir.display(),
        );
        ReferenceConnect::launch(dir, "distributed", &props, port, home)
    }

    fn launch(dir: &TestDir, mode: &str, props: &str, port: u16, home: &Path) -> ReferenceConnect {
        // Named by port: several workers of a cluster share one directory.
        let worker_file = dir.write(&format!("reference-{mode}-{port}.properties"), props);
        let log = dir.join(&format!("reference-{mode}-{port}.log"));
        let out = File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new("bash")
            .arg(scripts().join("run.sh"))
            .arg(mode)
            .arg(&worker_file)
            .env("REF_HOME", home)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the reference Kafka Connect: {e}"));
        let mut reference = ReferenceConnect {
            child,
            rest: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        reference.wait_ready();
        reference
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if matches!(http_get(self.rest, "/"), Ok(r) if r.status == 200) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the reference Kafka Connect exited ({status}) before serving REST; log:\n{}",
                    self.log_tail(60)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "the reference Kafka Connect did not serve REST on {} within {START_TIMEOUT:?}; log:\n{}",
                    self.rest,
                    self.log_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The process id: the JVM's (`run.sh` `exec`s java).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the JVM with SIGKILL (a crash: nothing is flushed) and reaps it.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `GET path`, panicking on connection errors.
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.rest, path)
            .unwrap_or_else(|e| panic!("GET {path} from the reference on {}: {e}", self.rest))
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Drop for ReferenceConnect {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- tail of reference log {} ----\n{}\n---- end of reference log ----",
                self.log.display(),
                self.log_tail(60)
            );
        }
        // run.sh `exec`s java, so the child is the JVM itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The project's scripts that install and run the reference.
fn scripts() -> PathBuf {
    workspace_root().join("tools").join("reference-connect")
}

/// Runs `setup.sh` once per test binary and returns the install directory, `$REF_HOME` or
/// /tmp/reference-connect. Panics with the script's output when it fails.
fn install() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = std::env::var_os("REF_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/tmp/reference-connect".into());
        let setup = scripts().join("setup.sh");
        let output = Command::new("bash")
            .arg(&setup)
            .env("REF_HOME", &home)
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", setup.display()));
        assert!(
            output.status.success(),
            "installing the reference Kafka Connect into {} with {} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            home.display(),
            setup.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        home
    })
}
