//! `cargo xtask bench --distributed`: Sluice's distributed mode against the reference Kafka
//! Connect 3.9 in distributed mode (`connect-distributed`), on the same tansu broker, with the
//! same group settings: both systems' workers get the same [`distributed_keys`] lines
//! (`heartbeat.interval.ms=500`, `session.timeout.ms=6000`, `rebalance.timeout.ms=20000`,
//! `scheduled.rebalance.max.delay.ms=0`) and [`SHARED`] (`connect.protocol=sessioned`,
//! `offset.flush.interval.ms=500`, the sink consumers' fetch wait).
//!
//! - **Failover** (`--runs` runs per system, each on a fresh broker and group): three workers,
//!   [`CONNECTORS`] FileStreamSource connectors (one task each) created through them in turn,
//!   until every worker reports the same placement three reads in a row; then a worker other
//!   than the first (the first to join leads the group) that runs work is killed with SIGKILL,
//!   and the clock runs from the kill until a survivor's `GET /connectors/{n}/status` shows
//!   every connector and task RUNNING on a survivor. A system that does not get there within
//!   `--failover-timeout` seconds (default 120) is recorded as such, not as an error; so is a
//!   layout that never settles (then the system's remaining runs are skipped).
//! - **Memory**: VmRSS and VmHWM (/proc) of each of the three workers of the last failover run,
//!   read before the kill (the JVM itself for the reference: `run.sh` `exec`s java).
//! - **Scale-out**: one broker, a 6-partition topic pre-filled with `--records` ~80-byte lines
//!   (default 300 000); for 1, 2 and 3 fresh workers (REST up on all, then 5 s for the group to
//!   form), a FileStreamSink with `tasks.max=6` is created, and the clock runs from its creation
//!   (the 201) until its consumer group `connect-<name>` committed every partition's end, read
//!   from the broker. One measurement per system and cluster size.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use sluice_tests::{
    default_worker_props, distributed_keys, placement, start_distributed_worker_with,
    try_settled_placement, unique, write_retrying, Broker, ReferenceConnect, TestDir, Worker,
};

use super::{peak_rss_kib, rate, vm_rss_kib, Args, System, FETCH_MAX_WAIT_MS};

/// FileStreamSource connectors in the failover layout (one task each: 12 units on 3 workers).
const CONNECTORS: usize = 6;
/// Partitions of the scale-out topic, and the sink's `tasks.max`.
const PARTITIONS: i32 = 6;
/// Time for a fresh cluster to serve REST, and for its connectors to settle.
const SETUP_TIMEOUT: Duration = Duration::from_secs(180);
/// The longest a scale-out measurement may take.
const SCALE_TIMEOUT: Duration = Duration::from_secs(300);
/// After every worker of a scale-out cluster serves REST: time for the group to form, so the
/// sink's tasks are spread over all of them from the start.
const FORM_WAIT: Duration = Duration::from_secs(5);

/// Worker keys both systems get besides [`distributed_keys`].
fn shared() -> String {
    format!(
        "connect.protocol=sessioned\noffset.flush.interval.ms=500\n\
         consumer.fetch.max.wait.ms={FETCH_MAX_WAIT_MS}\n"
    )
}

/// What the results block says the settings were.
const SHARED: &str = "`heartbeat.interval.ms=500`, `session.timeout.ms=6000`, \
    `rebalance.timeout.ms=20000`, `scheduled.rebalance.max.delay.ms=0`, \
    `connect.protocol=sessioned`, `offset.flush.interval.ms=500`";

/// A worker of either system.
enum Node {
    Sluice(Worker),
    Reference(ReferenceConnect),
}

impl Node {
    fn rest(&self) -> SocketAddr {
        match self {
            Node::Sluice(w) => w.rest,
            Node::Reference(r) => r.rest,
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Node::Sluice(w) => w.pid(),
            Node::Reference(r) => r.pid(),
        }
    }

    fn sigkill(&mut self) {
        match self {
            Node::Sluice(w) => {
                w.sigkill();
            }
            Node::Reference(r) => r.sigkill(),
        }
    }

    fn log_tail(&self, n: usize) -> String {
        match self {
            Node::Sluice(w) => w.log_tail(n),
            Node::Reference(r) => r.log_tail(n),
        }
    }
}

fn tails(nodes: &[Node], n: usize) -> String {
    nodes
        .iter()
        .map(|w| format!("{}:\n{}", w.rest(), w.log_tail(n)))
        .collect::<Vec<_>>()
        .join("\n----\n")
}

/// Starts `n` workers of `system` in group `group` on `broker`, and waits until each serves
/// REST (dropping a [`Node`] kills it).
fn start_workers(
    system: System,
    args: &Args,
    broker: &Broker,
    dir: &TestDir,
    group: &str,
    n: usize,
) -> Vec<Node> {
    let keys = format!("{}{}", distributed_keys(group), shared());
    match system {
        System::Sluice => {
            let props = format!("{}{keys}", default_worker_props(Some(broker), dir.path()));
            let mut workers: Vec<Worker> = (1..=n)
                .map(|i| start_distributed_worker_with(&args.sluice, dir, &format!("w{i}"), &props))
                .collect();
            for w in &mut workers {
                w.wait_rest_ready(SETUP_TIMEOUT);
            }
            workers.into_iter().map(Node::Sluice).collect()
        }
        // The reference waits for its REST API as it starts each worker.
        System::Reference => (0..n)
            .map(|_| Node::Reference(ReferenceConnect::start_distributed(dir, broker, &keys)))
            .collect(),
    }
}

/// One failover run.
struct Failover {
    /// Kill to everything RUNNING on a survivor; `None`: not within the timeout.
    recovered: Option<Duration>,
    /// Connectors and tasks the killed worker ran.
    moved: usize,
    /// (VmRSS, VmHWM) in KiB of each worker, before the kill.
    memory: Vec<(u64, u64)>,
}

/// What one system measured.
struct SystemRuns {
    system: System,
    failovers: Vec<Failover>,
    /// Runs whose layout never settled before the kill (`SETUP_TIMEOUT`): nothing measured.
    unsettled: usize,
    /// Records/s for 1, 2, 3 workers (`None`: not within `SCALE_TIMEOUT`) and on how many
    /// workers the sink's tasks ran at the end.
    scale: Vec<(Option<Duration>, usize)>,
}

pub fn run(args: &Args) -> Result<String> {
    let mut systems = vec![System::Sluice];
    if args.reference.is_some() {
        systems.push(System::Reference);
    }
    warm_plugin_cache(args)?;
    let scale_broker = Broker::start();
    let topic = unique("bench-scale");
    let per_partition = args.records.div_ceil(PARTITIONS as usize);
    let records = per_partition * PARTITIONS as usize;
    fill(&scale_broker, &topic, per_partition);
    eprintln!("bench: {records} records in {topic} ({PARTITIONS} partitions)");

    let mut results = Vec::new();
    for system in systems {
        let mut runs = SystemRuns {
            system,
            failovers: Vec::new(),
            unsettled: 0,
            scale: Vec::new(),
        };
        for run in 1..=args.runs {
            match failover(system, args)? {
                Some(f) => {
                    eprintln!(
                        "bench: {} failover run {run}: {} ({} units moved)",
                        system.label(),
                        f.recovered.map_or_else(
                            || format!("did not recover within {:?}", args.failover_timeout),
                            |d| format!("{:.1} s", d.as_secs_f64())
                        ),
                        f.moved
                    );
                    runs.failovers.push(f);
                }
                None => {
                    // A layout that never settles will not settle in the next run either;
                    // each try costs SETUP_TIMEOUT.
                    runs.unsettled += 1;
                    eprintln!(
                        "bench: {}: no failover measured; the remaining runs are skipped",
                        system.label()
                    );
                    break;
                }
            }
        }
        for n in 1..=3 {
            let m = scale_out(system, args, &scale_broker, &topic, records, n)?;
            eprintln!(
                "bench: {} scale-out, {n} worker(s): {}",
                system.label(),
                m.0.map_or_else(
                    || format!("not done within {SCALE_TIMEOUT:?}"),
                    |d| format!("{:.0} records/s", rate(records, d))
                )
            );
            runs.scale.push(m);
        }
        results.push(runs);
    }
    Ok(render(&results, args, records))
}

/// Starts one Sluice worker and stops it, so every plugin is in the component cache before
/// anything is measured (a compilation would count in the first run's peak RSS).
fn warm_plugin_cache(args: &Args) -> Result<()> {
    let broker = Broker::start();
    let dir = TestDir::new("bench-distributed-warm");
    let nodes = start_workers(
        System::Sluice,
        args,
        &broker,
        &dir,
        &unique("bench-warm"),
        1,
    );
    drop(nodes);
    eprintln!("bench: plugin cache warm");
    Ok(())
}

/// `per_partition` ~80-byte JSON lines into each partition of `topic` (created here).
fn fill(broker: &Broker, topic: &str, per_partition: usize) {
    broker.create_topic(topic, PARTITIONS);
    for p in 0..PARTITIONS {
        let lines: Vec<String> = (0..per_partition)
            .map(|i| {
                let id = p as usize * per_partition + i;
                format!(
                    "{{\"id\":{id},\"name\":\"user_{id:07}\",\"email\":\"user_{id:07}@example.com\",\"score\":0.{:03}}}",
                    (id * 7919) % 1000
                )
            })
            .collect();
        broker.produce_to(topic, p, &lines);
    }
}

/// One failover run on a fresh broker; `None` when the layout did not settle before the kill.
fn failover(system: System, args: &Args) -> Result<Option<Failover>> {
    let broker = Broker::start();
    let dir = TestDir::new("bench-failover");
    let group = unique("bench-failover");
    let topic = unique("bench-failover-lines");
    broker.create_topic(&topic, 1);
    let mut nodes = start_workers(system, args, &broker, &dir, &group, 3);
    let names: Vec<String> = (0..CONNECTORS).map(|c| format!("failover-{c}")).collect();
    for (c, name) in names.iter().enumerate() {
        let input = dir.write(
            &format!("in-{c}.txt"),
            (0..100)
                .map(|n| format!("c{c}-line{n}\n"))
                .collect::<String>(),
        );
        let body = json!({
            "name": name,
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "tasks.max": "1",
                "file": input,
                "topic": topic,
            },
        })
        .to_string();
        create_connector(system, &nodes, nodes[c % nodes.len()].rest(), &body)?;
    }
    let rests: Vec<SocketAddr> = nodes.iter().map(Node::rest).collect();
    let Some(before) = try_settled_placement(&rests, &names, 1, SETUP_TIMEOUT) else {
        eprintln!(
            "bench: {}: the {CONNECTORS} connectors did not settle on 3 workers within {SETUP_TIMEOUT:?}; log tails:\n{}",
            system.label(),
            tails(&nodes, 15)
        );
        return Ok(None);
    };
    let memory = nodes
        .iter()
        .map(|n| (vm_rss_kib(n.pid()), peak_rss_kib(n.pid())))
        .collect();
    let ids: Vec<String> = rests.iter().map(|r| r.to_string()).collect();
    let load = |i: usize| before.values().filter(|w| **w == ids[i]).count();
    // A follower with work (the first worker to join leads the group), else the first.
    let victim = [1, 2]
        .into_iter()
        .filter(|&i| load(i) > 0)
        .max_by_key(|&i| load(i))
        .unwrap_or(0);
    let moved = load(victim);
    let survivors: BTreeSet<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, id)| id.as_str())
        .collect();
    let survivor = rests[if victim == 0 { 1 } else { 0 }];

    nodes[victim].sigkill();
    let killed = Instant::now();
    let recovered = loop {
        let done = placement(survivor, &names, 1)
            .is_some_and(|p| p.values().all(|w| survivors.contains(w.as_str())));
        if done {
            break Some(killed.elapsed());
        }
        if killed.elapsed() > args.failover_timeout {
            eprintln!(
                "bench: {}: not recovered {:?} after the kill of {}; status on {survivor}: {}; log tails:\n{}",
                system.label(),
                args.failover_timeout,
                ids[victim],
                names
                    .iter()
                    .map(|n| sluice_tests::http_get(survivor, &format!("/connectors/{n}/status"))
                        .map(|r| r.body)
                        .unwrap_or_else(|e| e.to_string()))
                    .collect::<Vec<_>>()
                    .join(" "),
                tails(&nodes, 15)
            );
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok(Some(Failover {
        recovered,
        moved,
        memory,
    }))
}

/// Times a FileStreamSink with `tasks.max=6` on `n` fresh workers reading all of `topic`.
fn scale_out(
    system: System,
    args: &Args,
    broker: &Broker,
    topic: &str,
    records: usize,
    n: usize,
) -> Result<(Option<Duration>, usize)> {
    let dir = TestDir::new("bench-scale");
    let nodes = start_workers(system, args, broker, &dir, &unique("bench-scale"), n);
    std::thread::sleep(FORM_WAIT);
    let name = unique("bench-scale-sink");
    let body = json!({
        "name": name,
        "config": {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "tasks.max": PARTITIONS.to_string(),
            "topics": topic,
            "file": dir.join("out.txt"),
        },
    })
    .to_string();
    create_connector(system, &nodes, nodes[0].rest(), &body)?;
    let started = Instant::now();
    let group = format!("connect-{name}");
    let per_partition = (records / PARTITIONS as usize) as i64;
    let took = loop {
        let committed = broker.committed_offsets(&group, topic, PARTITIONS);
        if committed.iter().all(|o| *o == Some(per_partition)) {
            break Some(started.elapsed());
        }
        if started.elapsed() > SCALE_TIMEOUT {
            eprintln!(
                "bench: {} scale-out on {n}: committed {committed:?} after {SCALE_TIMEOUT:?}; log tails:\n{}",
                system.label(),
                tails(&nodes, 15)
            );
            break None;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let on = placement(
        nodes[0].rest(),
        std::slice::from_ref(&name),
        PARTITIONS as usize,
    )
    .map(|p| {
        p.iter()
            .filter(|(k, _)| **k != name)
            .map(|(_, w)| w.clone())
            .collect::<BTreeSet<_>>()
            .len()
    })
    .unwrap_or(0);
    Ok((took, on))
}

/// Creates a connector through the worker at `through` (retrying the 409s of a rebalance).
fn create_connector(system: System, nodes: &[Node], through: SocketAddr, body: &str) -> Result<()> {
    let created = write_retrying(
        through,
        "POST",
        "/connectors",
        Some(body),
        SETUP_TIMEOUT,
        || tails(nodes, 10),
    );
    if created.status != 201 {
        bail!(
            "{}: POST /connectors answered {}: {}",
            system.label(),
            created.status,
            created.body
        );
    }
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

fn render(results: &[SystemRuns], args: &Args, records: usize) -> String {
    let timeout = args.failover_timeout.as_secs();
    let mut s = format!(
        "Both systems: {SHARED}; three workers on one tansu broker.\n\n\
         **Failover**: {CONNECTORS} FileStreamSource connectors (one task each) on three workers; \
         kill -9 of a worker running work; seconds from the kill until a survivor's status API \
         shows every connector and task RUNNING on a survivor.\n\n\
         | system | runs | recovered | min (s) | median (s) | max (s) | connectors + tasks moved |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in results {
        let mut times: Vec<Duration> = r.failovers.iter().filter_map(|f| f.recovered).collect();
        times.sort();
        let runs = r.failovers.len() + r.unsettled;
        let moved = r
            .failovers
            .iter()
            .map(|f| f.moved.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let (min, median, max) = match times.as_slice() {
            [] if r.failovers.is_empty() => ("not measured".into(), String::new(), String::new()),
            [] => (
                format!("did not recover within {timeout} s"),
                String::new(),
                String::new(),
            ),
            t => (secs(t[0]), secs(t[t.len() / 2]), secs(t[t.len() - 1])),
        };
        let mut recovered = format!("{} of {runs}", times.len());
        if times.len() < r.failovers.len() {
            recovered.push_str(&format!(
                " ({} not within {timeout} s)",
                r.failovers.len() - times.len()
            ));
        }
        if r.unsettled > 0 {
            recovered.push_str(&format!(
                " (run {runs}: the connectors were never all RUNNING on the three workers within \
                 {} s, so nothing was killed; later runs skipped)",
                SETUP_TIMEOUT.as_secs()
            ));
        }
        s.push_str(&format!(
            "| {} | {runs} | {recovered} | {min} | {median} | {max} | {moved} |\n",
            r.system.label()
        ));
    }

    s.push_str(
        "\n**Memory per worker** in the failover layout (last run, before the kill): \
         VmRSS / VmHWM (MiB).\n\n\
         | system | worker 1 | worker 2 | worker 3 | mean VmRSS (MiB) |\n|---|---:|---:|---:|---:|\n",
    );
    let mean_rss = |r: &SystemRuns| {
        r.failovers.last().map(|f| {
            f.memory.iter().map(|m| m.0).sum::<u64>() as f64 / f.memory.len().max(1) as f64
        })
    };
    for r in results {
        let Some(f) = r.failovers.last() else {
            s.push_str(&format!("| {} | not measured | | | |\n", r.system.label()));
            continue;
        };
        let cells: Vec<String> = f
            .memory
            .iter()
            .map(|(rss, hwm)| format!("{} / {}", mib(*rss), mib(*hwm)))
            .collect();
        s.push_str(&format!(
            "| {} | {} | {:.0} |\n",
            r.system.label(),
            cells.join(" | "),
            mean_rss(r).unwrap_or(0.0) / 1024.0
        ));
    }
    if let [sluice, reference] = results {
        if let (Some(a), Some(b)) = (mean_rss(sluice), mean_rss(reference)) {
            s.push_str(&format!(
                "| ratio Sluice / reference | | | | {:.2}× |\n",
                a / b.max(1.0)
            ));
        }
    }

    s.push_str(&format!(
        "\n**Scale-out**: {records} records on {PARTITIONS} partitions, a FileStreamSink with \
         `tasks.max={PARTITIONS}`; records/s from the connector's creation until its consumer \
         group committed every partition's end (workers the tasks ran on in parentheses).\n\n\
         | system | 1 worker | 2 workers | 3 workers | 3 workers / 1 |\n|---|---:|---:|---:|---:|\n"
    ));
    for r in results {
        let cells: Vec<String> = r
            .scale
            .iter()
            .map(|(d, on)| match d {
                Some(d) => format!("{:.0} ({on})", rate(records, *d)),
                None => format!("not done in {} s", SCALE_TIMEOUT.as_secs()),
            })
            .collect();
        let shape = match (r.scale.first(), r.scale.last()) {
            (Some((Some(one), _)), Some((Some(three), _))) => {
                format!("{:.2}×", one.as_secs_f64() / three.as_secs_f64().max(1e-9))
            }
            _ => String::new(),
        };
        s.push_str(&format!(
            "| {} | {} | {shape} |\n",
            r.system.label(),
            cells.join(" | ")
        ));
    }
    s
}
