//! A cluster of `sluice distributed` workers for the distributed-mode tests: its own broker,
//! a test directory, a group with its three internal topics (`<group>-configs`, `-offsets`,
//! `-status`) and an output topic, and N workers started on the same worker properties, each
//! with its own REST listener.
//!
//! The design decision to know: every cluster gets its own tansu broker, because the tests
//! kill workers and count rebalances — a group coordinator shared with other tests' groups
//! would make timings, and a coordinator fault, leak between tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{
    default_worker_props, http_get, http_request, unique, wait_until, Broker, HttpResponse,
    TestDir, Worker,
};

/// How long a worker may take to answer REST, and to exit on SIGTERM.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Worker properties of a distributed worker of `group`: [`default_worker_props`] and
/// [`distributed_keys`].
pub fn distributed_props(broker: &Broker, dir: &Path, group: &str) -> String {
    format!(
        "{}{}",
        default_worker_props(Some(broker), dir),
        distributed_keys(group)
    )
}

/// The distributed-mode keys of a worker of `group`, the same for Sluice and the reference
/// Kafka Connect (the benchmark gives both these lines): its internal topics are
/// `<group>-configs`, `<group>-offsets` (3 partitions) and `<group>-status` (2), replication 1,
/// a 500 ms heartbeat and a 6 s session timeout (a killed worker is evicted quickly), and
/// `scheduled.rebalance.max.delay.ms=0` (a departed worker's work moves at once).
pub fn distributed_keys(group: &str) -> String {
    format!(
        "group.id={group}\n\
         config.storage.topic={group}-configs\n\
         offset.storage.topic={group}-offsets\n\
         status.storage.topic={group}-status\n\
         config.storage.replication.factor=1\n\
         offset.storage.replication.factor=1\n\
         offset.storage.partitions=3\n\
         status.storage.replication.factor=1\n\
         status.storage.partitions=2\n\
         heartbeat.interval.ms=500\n\
         session.timeout.ms=6000\n\
         rebalance.timeout.ms=20000\n\
         scheduled.rebalance.max.delay.ms=0\n"
    )
}

/// Starts `sluice distributed` on `props` (plus a `listeners` line) without waiting for it;
/// its worker id is `127.0.0.1:<port>`, the URL the other workers forward to.
pub fn start_distributed_worker(dir: &TestDir, name: &str, props: &str) -> Worker {
    start_distributed_worker_with(crate::sluice_bin(), dir, name, props)
}

/// Like [`start_distributed_worker`] with the `sluice` binary `program` (the benchmark's
/// release build) instead of the tests' debug build.
pub fn start_distributed_worker_with(
    program: &Path,
    dir: &TestDir,
    name: &str,
    props: &str,
) -> Worker {
    let port = crate::free_port();
    let file = dir.write(
        &format!("{name}.properties"),
        format!("{props}listeners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n"),
    );
    Worker::launch_program(
        program,
        "distributed",
        dir.path(),
        &[file],
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

/// The last `n` log lines of each of `workers`, for failure messages.
pub fn log_tails(workers: &[Worker], n: usize) -> String {
    workers
        .iter()
        .map(|w| format!("{}:\n{}", w.rest, w.log_tail(n)))
        .collect::<Vec<_>>()
        .join("\n----\n")
}

/// Where each connector (`<name>`) and task (`<name>-<n>`) runs (its `worker_id`) by the
/// status API on `rest` (a Sluice or a Kafka Connect worker); `None` until each of `names` and
/// its `tasks` tasks is RUNNING.
pub fn placement(
    rest: SocketAddr,
    names: &[String],
    tasks: usize,
) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for name in names {
        let r = http_get(rest, &format!("/connectors/{name}/status")).ok()?;
        if r.status != 200 {
            return None;
        }
        let s = r.json();
        if s["connector"]["state"] != "RUNNING" {
            return None;
        }
        out.insert(
            name.clone(),
            s["connector"]["worker_id"].as_str()?.to_string(),
        );
        let list = s["tasks"].as_array()?;
        if list.len() != tasks {
            return None;
        }
        for t in list {
            if t["state"] != "RUNNING" {
                return None;
            }
            out.insert(
                format!("{name}-{}", t["id"]),
                t["worker_id"].as_str()?.to_string(),
            );
        }
    }
    Some(out)
}

/// Waits until every worker of `rests` reports the same [`placement`], everything RUNNING on
/// one of them, and it stayed so over three reads a second apart (the group settled); panics
/// after `timeout` with `describe`'s text (the workers' log tails).
pub fn settled_placement(
    rests: &[SocketAddr],
    names: &[String],
    tasks: usize,
    timeout: Duration,
    mut describe: impl FnMut() -> String,
) -> BTreeMap<String, String> {
    try_settled_placement(rests, names, tasks, timeout).unwrap_or_else(|| {
        panic!(
            "timed out after {timeout:?} waiting for the same placement on every worker, all \
             RUNNING, unchanged for three reads; {}",
            describe()
        )
    })
}

/// Like [`settled_placement`], `None` after `timeout` (the benchmark records a cluster that
/// never settles instead of stopping).
pub fn try_settled_placement(
    rests: &[SocketAddr],
    names: &[String],
    tasks: usize,
    timeout: Duration,
) -> Option<BTreeMap<String, String>> {
    let ids: BTreeSet<String> = rests.iter().map(|r| r.to_string()).collect();
    let deadline = Instant::now() + timeout;
    let mut last: Option<BTreeMap<String, String>> = None;
    let mut same = 0;
    while Instant::now() < deadline {
        let seen: Vec<Option<BTreeMap<String, String>>> =
            rests.iter().map(|r| placement(*r, names, tasks)).collect();
        let now = seen[0]
            .clone()
            .filter(|p| seen.iter().all(|s| s.as_ref() == Some(p)))
            .filter(|p| p.values().all(|id| ids.contains(id)));
        if now.is_some() && now == last {
            same += 1;
        } else {
            same = 0;
        }
        last = now.clone();
        if same >= 3 {
            return now;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    None
}

/// Kafka Connect's 409 messages for a write that arrived during a rebalance.
const REBALANCE_409: [&str; 3] = [
    "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)",
    "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.",
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
];

/// A write through the worker on `rest`, repeated while the cluster answers 409 because it
/// rebalances (what a Kafka Connect client does); every 409 must be one of Kafka's rebalance
/// answers. Panics after `timeout` with `describe`'s text.
pub fn write_retrying(
    rest: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
    describe: impl FnMut() -> String,
) -> HttpResponse {
    wait_until(
        &format!("{method} {path} accepted by {rest}"),
        timeout,
        || {
            let r = http_request(rest, method, path, body)
                .unwrap_or_else(|e| panic!("{method} {path} to {rest}: {e}"));
            if r.status != 409 {
                return Some(r);
            }
            let message = r.json()["message"].as_str().unwrap_or_default().to_string();
            if REBALANCE_409.contains(&message.as_str()) {
                std::thread::sleep(Duration::from_millis(200));
                None
            } else {
                Some(r)
            }
        },
        describe,
    )
}

/// A running cluster of distributed workers (see the module docs).
pub struct Cluster {
    pub broker: Broker,
    pub dir: TestDir,
    pub group: String,
    /// The workers' common properties (without `listeners`).
    pub props: String,
    /// An output topic with one partition, for the connectors under test.
    pub topic: String,
    pub workers: Vec<Worker>,
}

impl Cluster {
    /// A broker, `workers` workers named `w1`… whose REST APIs answer, and the output topic;
    /// `name` prefixes the directory, group and topic.
    pub fn start(name: &str, workers: usize) -> Cluster {
        Cluster::start_with(name, workers, "")
    }

    /// Like [`Cluster::start`], with `extra` appended to the worker properties.
    pub fn start_with(name: &str, workers: usize, extra: &str) -> Cluster {
        let broker = Broker::start();
        let dir = TestDir::new(name);
        let group = unique(name);
        let props = format!("{}{extra}", distributed_props(&broker, dir.path(), &group));
        let topic = unique(&format!("{name}-lines"));
        broker.create_topic(&topic, 1);
        let mut cluster = Cluster {
            broker,
            dir,
            group,
            props,
            topic,
            workers: Vec::new(),
        };
        for i in 1..=workers {
            cluster.workers.push(cluster.spawn(&format!("w{i}")));
        }
        for w in &mut cluster.workers {
            w.wait_rest_ready(TIMEOUT);
        }
        cluster
    }

    /// Starts one more worker on the cluster's properties (not added to `workers`, not
    /// waited for).
    pub fn spawn(&self, name: &str) -> Worker {
        start_distributed_worker(&self.dir, name, &self.props)
    }

    /// The last `n` log lines of every worker, for failure messages.
    pub fn log_tails(&self, n: usize) -> String {
        log_tails(&self.workers, n)
    }

    /// The index of the worker whose REST address is `worker_id` (as statuses name it).
    pub fn index_of(&self, worker_id: &str) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.rest.to_string() == worker_id)
    }

    /// Stops every worker with SIGTERM and asserts that each exits cleanly.
    pub fn stop(mut self) {
        for w in &self.workers {
            w.sigterm();
        }
        for w in &mut self.workers {
            let status = w.wait_exit(TIMEOUT);
            assert!(status.success(), "{status}: {}", w.log_tail(20));
        }
    }
}
