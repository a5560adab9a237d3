//! Incremental cooperative rebalancing (KIP-415; `connect.protocol=sessioned`, the default) with
//! several `sluice distributed` processes on one tansu broker: a rebalance stops only the
//! connectors and tasks that move. A killed worker's work waits
//! `scheduled.rebalance.max.delay.ms`, then runs on the survivors while what the survivors
//! ran keeps running (not one of their tasks stopped); in a rolling restart each restarted
//! worker gets its predecessor's work back and the others stop nothing.
//!
//! Assertions are on where each connector and task runs (every worker's status API), on the
//! data that came out (every datagen sequence number, every file line) and on the workers'
//! logs (which tasks stopped, what the leader decided). Waits are generous deadlines for
//! convergence, never timings.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use sluice_tests::{
    assert_all_seqs, log_tails, seqs, start_distributed_worker, unique, Cluster, Worker,
};

use crate::distributed::{
    append_lines, assert_each_once, create_file_sources, lines_of, write, TIMEOUT,
};
use crate::{JSON_CONVERTER, STRING_CONVERTER};

/// Records each datagen connector produces (its two tasks together).
const COUNT: i64 = 1200;

/// A datagen connector with two tasks writing users `{"seq":…}` to `topic`, 10 records/s per
/// task (so production outlasts the failover).
fn datagen_config(topic: &str) -> serde_json::Value {
    json!({
        "connector.class": "datagen",
        "tasks.max": "2",
        "topic": topic,
        "quickstart": "users",
        "count": COUNT.to_string(),
        "rate": "10",
        "seed": "42",
        "key.converter": STRING_CONVERTER,
        "value.converter": JSON_CONVERTER,
        "value.converter.schemas.enable": "false",
    })
}

/// Waits until every worker of `workers` reports the same placement, everything RUNNING on
/// one of `workers`, and it stayed so over three reads a second apart (the group settled).
fn settled_placement(
    workers: &[Worker],
    names: &[String],
    tasks: usize,
) -> BTreeMap<String, String> {
    let rests: Vec<_> = workers.iter().map(|w| w.rest).collect();
    sluice_tests::settled_placement(&rests, names, tasks, Duration::from_secs(240), || {
        log_tails(workers, 15)
    })
}

/// Log lines of `log` after byte `from` that say a task or a connector stopped here.
fn stops_after(log: &str, from: usize) -> Vec<String> {
    log.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("task stopped") || l.contains("connector stopped here"))
        .map(str::to_string)
        .collect()
}

/// Whether the last rebalance `w` completed made it the leader.
fn leads(w: &Worker) -> bool {
    w.log_text()
        .lines()
        .rfind(|l| l.contains("rebalance complete"))
        .is_some_and(|l| l.contains("is_leader=true"))
}

/// The layout: three workers, six datagen connectors with two tasks each spread over
/// all three. A follower is killed with SIGKILL. The leader holds its connectors and tasks for
/// `scheduled.rebalance.max.delay.ms` (3 s here), then hands them to the two survivors; not one
/// task or connector the survivors ran stops or moves, and every connector delivers every
/// sequence number (duplicates only from the dead worker's records produced after its last
/// offset flush, which its successor produces again: at-least-once).
#[test]
fn a_killed_workers_tasks_move_after_the_delay_and_the_survivors_keep_theirs() {
    // The leader keeps its memory of the last round; the other path, a new leader, is
    // `a_killed_leaders_tasks_move_after_the_delay_and_the_survivors_keep_theirs`.
    kill_one_of_three("coopkill", "a follower", |w| !leads(w));
}

/// As [`a_killed_workers_tasks_move_after_the_delay_and_the_survivors_keep_theirs`], but the
/// worker killed is the group's leader. The coordinator makes a survivor the new leader, which
/// has no memory of the last round: it knows the dead worker's connectors and tasks are lost
/// from the status topic (they are named as running on a worker that is no member any more),
/// holds them for the delay, then hands them to the two survivors.
#[test]
fn a_killed_leaders_tasks_move_after_the_delay_and_the_survivors_keep_theirs() {
    kill_one_of_three("coopkillleader", "the leader", leads);
}

/// The kill scenario of the two tests above: the 6 × 2 layout settles over three workers, the
/// first worker `victim` picks (it is `role`) is killed with SIGKILL, and its work must move
/// to the survivors after `scheduled.rebalance.max.delay.ms` while theirs keeps running, with
/// no datagen sequence number lost.
fn kill_one_of_three(name: &str, role: &str, victim: fn(&Worker) -> bool) {
    let mut cluster = Cluster::start_with(name, 3, "scheduled.rebalance.max.delay.ms=3000\n");
    let names: Vec<String> = (0..6).map(|c| format!("gen-{c}")).collect();
    let topics: Vec<String> = names.iter().map(|n| unique(&format!("coop-{n}"))).collect();
    for (c, (name, topic)) in names.iter().zip(&topics).enumerate() {
        cluster.broker.create_topic(topic, 1);
        let body = json!({"name": name, "config": datagen_config(topic)}).to_string();
        let created = write(&cluster.workers[c % 3], "POST", "/connectors", Some(&body));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let started = std::time::Instant::now();
    let before = settled_placement(&cluster.workers, &names, 2);
    eprintln!("6 × 2 settled after {:?}", started.elapsed());
    let ids: Vec<String> = cluster.workers.iter().map(|w| w.rest.to_string()).collect();
    for id in &ids {
        assert!(
            before.values().any(|w| w == id),
            "work spread over all three workers: {before:#?}"
        );
    }

    let victim = cluster
        .workers
        .iter()
        .position(victim)
        .unwrap_or_else(|| panic!("no worker is {role}: {}", cluster.log_tails(10)));
    let mut dead = cluster.workers.remove(victim);
    eprintln!("killing {role}, {}", dead.rest);
    let dead_id = dead.rest.to_string();
    let marks: Vec<usize> = cluster.workers.iter().map(|w| w.log_text().len()).collect();
    dead.sigkill();
    let killed = std::time::Instant::now();

    let after = settled_placement(&cluster.workers, &names, 2);
    eprintln!(
        "settled on the survivors {:?} after the kill",
        killed.elapsed()
    );
    // The dead worker's work runs on the survivors; what they ran did not move.
    for (item, was) in &before {
        let now = &after[item];
        assert_ne!(*now, dead_id, "{item} still on the dead worker");
        if *was != dead_id {
            assert_eq!(now, was, "{item} moved from a surviving worker");
        }
    }
    // …and did not stop, not even for a moment: the survivors logged no stop since the kill.
    for (w, mark) in cluster.workers.iter().zip(&marks) {
        let stops = stops_after(&w.log_text(), *mark);
        assert!(stops.is_empty(), "{} stopped work: {stops:#?}", w.rest);
    }
    // The leader held the lost work for the delay, then reassigned it.
    let decided = |what: &str| {
        cluster
            .workers
            .iter()
            .zip(&marks)
            .any(|(w, mark)| w.log_text().get(*mark..).unwrap_or_default().contains(what))
    };
    assert!(
        decided("holding a departed worker's connectors and tasks for its return"),
        "{}",
        cluster.log_tails(30)
    );
    assert!(
        decided("scheduled.rebalance.max.delay.ms passed: reassigning"),
        "{}",
        cluster.log_tails(30)
    );

    // Every connector delivers every sequence number.
    for topic in &topics {
        let mut reader = cluster.broker.reader(topic);
        let all = reader.read_while(Duration::from_secs(240), |m| {
            let mut s = seqs(m);
            s.sort_unstable();
            s.dedup();
            (s.len() as i64) < COUNT
        });
        let duplicates = assert_all_seqs(&seqs(all), COUNT);
        eprintln!("{topic}: {} records, {duplicates} duplicates", all.len());
    }
    cluster.stop();
}

/// A rolling restart (each worker stopped with SIGTERM, a new one started before the next
/// goes) with `scheduled.rebalance.max.delay.ms` longer than a restart: each new worker gets
/// exactly its predecessor's connectors and tasks, the other workers stop nothing, every
/// connector RUNNING after each step, every line once, and a bounded number of rebalances.
#[test]
fn a_cooperative_rolling_restart_moves_only_the_restarted_workers_work() {
    let mut cluster =
        Cluster::start_with("cooproll", 3, "scheduled.rebalance.max.delay.ms=60000\n");
    let (dir, topic) = (&cluster.dir, cluster.topic.clone());
    let broker = &cluster.broker;
    let workers = &mut cluster.workers;
    let (inputs, mut expected) = create_file_sources(workers, dir, "roll", &topic, 3);
    let names: Vec<String> = (0..3).map(|c| format!("roll-{c}")).collect();
    let mut reader = broker.reader(&topic);
    reader.read_until(expected.len(), TIMEOUT);
    let mut placed = settled_placement(workers, &names, 1);

    let mut stopped_logs = Vec::new();
    for step in 0..3 {
        let mut old = workers.remove(0);
        let old_id = old.rest.to_string();
        let marks: Vec<usize> = workers.iter().map(|w| w.log_text().len()).collect();
        old.sigterm();
        assert!(old.wait_exit(TIMEOUT).success(), "{}", old.log_tail(20));
        stopped_logs.push(old.log_text());
        let mut fresh =
            start_distributed_worker(dir, &format!("w{}-again", step + 1), &cluster.props);
        fresh.wait_rest_ready(TIMEOUT);
        let fresh_id = fresh.rest.to_string();
        for (w, mark) in workers.iter().zip(&marks) {
            let stops = stops_after(&w.log_text(), *mark);
            assert!(
                stops.is_empty(),
                "step {step}: {} stopped work: {stops:#?}",
                w.rest
            );
        }
        workers.push(fresh);
        let now = settled_placement(workers, &names, 1);
        // The new worker runs exactly what the old one ran; nothing else moved.
        let expected_now: BTreeMap<String, String> = placed
            .iter()
            .map(|(item, id)| {
                let id = if *id == old_id {
                    fresh_id.clone()
                } else {
                    id.clone()
                };
                (item.clone(), id)
            })
            .collect();
        assert_eq!(now, expected_now, "step {step}: placement");
        for (w, mark) in workers.iter().zip(&marks) {
            let stops = stops_after(&w.log_text(), *mark);
            assert!(
                stops.is_empty(),
                "step {step}: {} stopped work: {stops:#?}",
                w.rest
            );
        }
        placed = now;
        expected.extend(append_lines(&inputs, 10 + step..11 + step));
        reader.read_until(expected.len(), TIMEOUT);
    }
    reader.read_for(Duration::from_secs(3));
    assert_each_once(&lines_of(&reader.messages), &expected);

    let rebalances = |log: &str| {
        log.lines()
            .filter(|l| l.contains("rebalance complete"))
            .count()
    };
    let logs: Vec<String> = workers.iter().map(|w| w.log_text()).collect();
    for log in stopped_logs.iter().chain(&logs) {
        let n = rebalances(log);
        eprintln!("rebalances in one worker's life: {n}");
        assert!(n <= 40, "{n} rebalances in one worker's life:\n{log}");
    }
    cluster.stop();
}
