//! A cluster of `sluice distributed` workers for the distributed-mode tests: its own broker,
//! a test directory, a group with its three internal topics (`<group>-configs`, `-offsets`,
//! `-status`) and an output topic, and N workers started on the same worker properties, each
//! with its own REST listener.
//!
//! The design decision to know: every cluster gets its own tansu broker, because the tests
//! kill workers and count rebalances — a group coordinator shared with other tests' groups
//! would make timings, and a coordinator fault, leak between tests.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::{default_worker_props, unique, Broker, TestDir, Worker};

/// How long a worker may take to answer REST, and to exit on SIGTERM.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Worker properties of a distributed worker of `group`: its internal topics are
/// `<group>-configs`, `<group>-offsets` (3 partitions) and `<group>-status` (2), replication 1,
/// a 500 ms heartbeat and a 6 s session timeout (a killed worker is evicted quickly), and
/// `scheduled.rebalance.max.delay.ms=0` (a departed worker's work moves at once).
pub fn distributed_props(broker: &Broker, dir: &Path, group: &str) -> String {
    format!(
        "{}group.id={group}\n\
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
         scheduled.rebalance.max.delay.ms=0\n",
        default_worker_props(Some(broker), dir)
    )
}

/// Starts `sluice distributed` on `props` (plus a `listeners` line) without waiting for it;
/// its worker id is `127.0.0.1:<port>`, the URL the other workers forward to.
pub fn start_distributed_worker(dir: &TestDir, name: &str, props: &str) -> Worker {
    let port = crate::free_port();
    let file = dir.write(
        &format!("{name}.properties"),
        format!("{props}listeners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n"),
    );
    Worker::launch_mode(
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
