//! A real Kafka-protocol broker for the tests: tansu (in-memory storage) on a free loopback port,
//! and the client side a test needs (create topics, produce, consume by reading).
//!
//! Design decisions:
//! - tansu runs under a tiny `sh` guard that kills it when the guard's stdin (a pipe from this
//!   process) closes. The shared broker lives in a `static` whose destructor never runs, and a test
//!   binary can be killed; the pipe closes in every case, so no broker outlives its tests.
//! - Records are counted by consuming (assign all partitions from the beginning, no consumer
//!   group), never from high watermarks: tansu's can under-report.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message as _, Offset, TopicPartitionList};

const TANSU_MISSING: &str = "tansu not found on PATH: run `cargo xtask test` (installs it) or \
     `cargo install tansu --version 0.6.0 --locked --features dynostore`";

/// A running tansu broker. Dropping it stops the broker (its data is in memory and lost).
pub struct Broker {
    port: u16,
    tansu_pid: u32,
    guard: Mutex<Option<(Child, ChildStdin)>>,
    log: PathBuf,
}

impl Broker {
    /// The broker shared by every test in this binary. Tests keep to their own topics
    /// ([`crate::unique`]); a test that stops or pauses the broker starts its own instead.
    pub fn shared() -> &'static Broker {
        static SHARED: OnceLock<Broker> = OnceLock::new();
        SHARED.get_or_init(Broker::start)
    }

    /// Starts a broker on a free port.
    pub fn start() -> Broker {
        Broker::start_on(crate::free_port())
    }

    /// Starts a broker on `port` (a test that starts a worker before its broker picks the port
    /// first) and waits until it answers a metadata request.
    pub fn start_on(port: u16) -> Broker {
        match Command::new("tansu").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            _ => panic!("{TANSU_MISSING}"),
        }
        let dir = crate::artifacts::target_dir().join("sluice-tests");
        std::fs::create_dir_all(&dir).expect("create target/sluice-tests");
        let log = dir.join(format!("tansu-{port}.log"));
        let url = format!("tcp://127.0.0.1:{port}");
        // The guard prints tansu's pid (for SIGSTOP/SIGCONT), then waits for its stdin to close.
        let script = r#"tansu broker "$@" >"$LOG" 2>&1 & pid=$!; echo $pid; read _ignored; kill $pid 2>/dev/null; kill -CONT $pid 2>/dev/null; wait $pid"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .env("LOG", &log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run sh to start tansu: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first)
            .expect("read tansu pid");
        let tansu_pid: u32 = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("tansu guard printed {first:?}"));
        let broker = Broker {
            port,
            tansu_pid,
            guard: Mutex::new(Some((child, stdin))),
            log,
        };
        broker.wait_ready(Duration::from_secs(60));
        broker
    }

    /// `bootstrap.servers` for this broker.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Freezes the broker process (SIGSTOP): connections stay open but nothing answers, like a
    /// hung or partitioned broker.
    pub fn pause(&self) {
        signal(self.tansu_pid, "STOP");
    }

    /// Resumes a paused broker (SIGCONT).
    pub fn resume(&self) {
        signal(self.tansu_pid, "CONT");
    }

    fn wait_ready(&self, timeout: Duration) {
        let client: BaseConsumer = self
            .client_config()
            .create()
            .expect("create metadata client");
        let deadline = Instant::now() + timeout;
        loop {
            match client.fetch_metadata(None, Duration::from_secs(2)) {
                Ok(md) if !md.brokers().is_empty() => return,
                other => {
                    if Instant::now() >= deadline {
                        panic!(
                            "tansu on port {} did not answer metadata within {timeout:?} ({:?}); its log:\n{}",
                            self.port,
                            other.err(),
                            std::fs::read_to_string(&self.log).unwrap_or_default()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.bootstrap())
            .set("log_level", "3");
        config
    }

    /// Creates `topic` with `partitions` partitions (tansu does not auto-create topics) and
    /// waits until its metadata shows them. An existing topic is accepted.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.client_config().create().expect("create admin client");
        let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let results = runtime
            .block_on(admin.create_topics(
                [&new_topic],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
            ))
            .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => panic!("create topic {name}: {code}"),
            }
        }
        let client: BaseConsumer = self
            .client_config()
            .create()
            .expect("create metadata client");
        crate::wait_until(
            &format!("topic {topic} to show {partitions} partitions"),
            Duration::from_secs(30),
            || {
                let md = client
                    .fetch_metadata(Some(topic), Duration::from_secs(2))
                    .ok()?;
                let t = md.topics().iter().find(|t| t.name() == topic)?;
                (t.error().is_none() && t.partitions().len() == partitions as usize).then_some(())
            },
            || {
                format!(
                    "{:?}",
                    client
                        .fetch_metadata(Some(topic), Duration::from_secs(2))
                        .map(|m| m.topics().len())
                )
            },
        );
    }

    /// Produces `values` (no key) to partition 0 of `topic`, in order, and waits for the acks.
    pub fn produce<V: AsRef<[u8]>>(&self, topic: &str, values: &[V]) {
        self.produce_to(topic, 0, values)
    }

    /// Produces `(key, value)` records to partition 0 of `topic`, in order (a `None` value is
    /// a tombstone), and waits for the acks.
    pub fn produce_keyed(&self, topic: &str, records: &[(Option<&str>, Option<&str>)]) {
        let producer: BaseProducer = self
            .client_config()
            .set("linger.ms", "5")
            .create()
            .expect("create producer");
        for (key, value) in records {
            let mut record = BaseRecord::<str, str>::to(topic).partition(0);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(v) = value {
                record = record.payload(v);
            }
            producer
                .send(record)
                .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("flush producer for {topic}: {e}"));
    }

    /// Produces `values` (no key) to `partition` of `topic`, in order, and waits for the acks.
    pub fn produce_to<V: AsRef<[u8]>>(&self, topic: &str, partition: i32, values: &[V]) {
        let producer: BaseProducer = self
            .client_config()
            .set("linger.ms", "5")
            .create()
            .expect("create producer");
        for value in values {
            let mut record = BaseRecord::<(), [u8]>::to(topic)
                .payload(value.as_ref())
                .partition(partition);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((e, r)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                        producer.poll(Duration::from_millis(50));
                        record = r;
                    }
                    Err((e, _)) => panic!("produce to {topic}: {e}"),
                }
            }
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("flush producer for {topic}: {e}"));
    }

    /// A reader of every partition of `topic` from the beginning.
    pub fn reader(&self, topic: &str) -> TopicReader {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", crate::unique("sluice-tests-reader"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            // tansu 0.6.0 holds each fetch response for about half of the max wait even when
            // it has data; the default 500 ms paced this reader (and the benchmark's
            // file → Kafka clock, which stops when the reader has seen every record) at
            // ~5 MiB per ~300 ms. With a short wait, the prefetch queue is what fills up:
            // refetch 10 ms after it drains (librdkafka's default is 1 s).
            .set("fetch.wait.max.ms", "10")
            .set("fetch.queue.backoff.ms", "10")
            .create()
            .expect("create consumer");
        let partitions = crate::wait_until(
            &format!("metadata for topic {topic}"),
            Duration::from_secs(30),
            || {
                let md = consumer
                    .fetch_metadata(Some(topic), Duration::from_secs(2))
                    .ok()?;
                let t = md.topics().iter().find(|t| t.name() == topic)?;
                (t.error().is_none() && !t.partitions().is_empty()).then(|| t.partitions().len())
            },
            || "no metadata (does the topic exist? tansu does not auto-create topics)".into(),
        );
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("add partition");
        }
        consumer
            .assign(&tpl)
            .unwrap_or_else(|e| panic!("assign {topic}: {e}"));
        TopicReader {
            topic: topic.to_string(),
            consumer,
            messages: Vec::new(),
        }
    }

    /// The offsets consumer group `group` committed for partitions `0..partitions` of
    /// `topic` (`None`: nothing committed), read without joining the group.
    pub fn committed_offsets(&self, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("create consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("committed offsets of {group}: {e}"));
        (0..partitions)
            .map(
                |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => Some(o),
                    _ => None,
                },
            )
            .collect()
    }

    /// Reads `topic` until at least `expected` records arrived; panics after `timeout` saying
    /// how many did.
    pub fn consume_all(&self, topic: &str, expected: usize, timeout: Duration) -> Vec<Message> {
        let mut reader = self.reader(topic);
        reader.read_until(expected, timeout);
        reader.messages
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.guard.lock() {
            if let Some((mut child, stdin)) = guard.take() {
                drop(stdin); // the guard script kills tansu when its stdin closes
                let _ = child.wait();
            }
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap_or_else(|e| panic!("run kill -{sig} {pid}: {e}"));
    assert!(status.success(), "kill -{sig} {pid} failed: {status}");
}

pub(crate) fn send_signal(pid: u32, sig: &str) {
    signal(pid, sig)
}

/// One consumed record.
#[derive(Debug, Clone)]
pub struct Message {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The record's headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Message {
    /// The value of header `key` as UTF-8 (`None` when absent; panics when repeated).
    pub fn header_str(&self, key: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(k, _)| k == key);
        let first = found.next()?;
        assert!(
            found.next().is_none(),
            "header {key} repeated: {:?}",
            self.headers
        );
        Some(
            std::str::from_utf8(first.1.as_deref().unwrap_or_default())
                .unwrap_or_else(|e| panic!("header {key} is not UTF-8: {e}")),
        )
    }

    /// The value as UTF-8 (panics naming the offset when it is not).
    pub fn value_str(&self) -> &str {
        let bytes = self.value.as_deref().unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_else(|e| {
            panic!(
                "value at {}/{} is not UTF-8: {e}",
                self.partition, self.offset
            )
        })
    }

    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .map(|k| std::str::from_utf8(k).expect("key is UTF-8"))
    }
}

/// Reads a topic incrementally: tests watch a stream grow (e.g. to SIGKILL a worker mid-stream).
pub struct TopicReader {
    topic: String,
    consumer: BaseConsumer,
    pub messages: Vec<Message>,
}

impl TopicReader {
    /// Polls for up to `duration` and returns how many records arrived, without keeping them:
    /// the benchmark's clock, whose own work must take as little of the machine as possible.
    pub fn count_for(&mut self, duration: Duration) -> usize {
        let deadline = Instant::now() + duration;
        let mut count = 0;
        while Instant::now() < deadline {
            let wait =
                Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now()));
            self.poll_each(wait, |_| count += 1);
        }
        count
    }

    /// Polls for up to `duration`, appending what arrives; returns how many records are held.
    pub fn read_for(&mut self, duration: Duration) -> usize {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.poll_once(Duration::from_millis(100));
        }
        self.messages.len()
    }

    /// Polls until at least `count` records are held; panics after `timeout` saying how many.
    pub fn read_until(&mut self, count: usize, timeout: Duration) -> &[Message] {
        let deadline = Instant::now() + timeout;
        while self.messages.len() < count {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?}: {} of {count} records arrived in topic {}; last: {:?}",
                    self.messages.len(),
                    self.topic,
                    self.messages.last().map(|m| String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned())
                );
            }
            self.poll_once(Duration::from_millis(200));
        }
        &self.messages
    }

    /// Polls while `more(messages)` holds; panics after `timeout`.
    pub fn read_while(
        &mut self,
        timeout: Duration,
        mut more: impl FnMut(&[Message]) -> bool,
    ) -> &[Message] {
        let deadline = Instant::now() + timeout;
        while more(&self.messages) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} reading topic {}: {} records held",
                    self.topic,
                    self.messages.len()
                );
            }
            self.poll_once(Duration::from_millis(200));
        }
        &self.messages
    }

    fn poll_once(&mut self, timeout: Duration) {
        let mut messages = std::mem::take(&mut self.messages);
        self.poll_each(timeout, |m| {
            messages.push(Message {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        });
        self.messages = messages;
    }

    /// Hands every record already fetched to `each`, blocking only on the first poll (for up
    /// to `timeout`).
    fn poll_each(&self, timeout: Duration, mut each: impl FnMut(&BorrowedMessage<'_>)) {
        let mut wait = timeout;
        while let Some(result) = self.consumer.poll(wait) {
            wait = Duration::ZERO;
            match result {
                Ok(m) => each(&m),
                // Transient errors (broker paused, leader moving) are retried by librdkafka.
                Err(e) => eprintln!("reader of {}: {e}", self.topic),
            }
        }
    }
}
