//! The worker's heartbeat thread: it heartbeats the group membership every
//! `heartbeat.interval.ms`, always — also while the member thread stops connectors or is
//! between JoinGroup and SyncGroup — and tells the member thread which generation the
//! coordinator wants rebalanced.
//!
//! Design decision: heartbeats do not wait for the member thread. Stopping the connectors of
//! a worker (each flushing its offsets) can take seconds, and tansu 0.6 evicts a member that
//! did not heartbeat for `session.timeout.ms` even while the group is forming a new
//! generation — and when the evicted one was the leader, it elects another, so the workers
//! ended up with different leaders for overlapping generations. A heartbeat for an older
//! generation keeps the member alive there (tansu updates its last contact before answering
//! REBALANCE_IN_PROGRESS), so heartbeating through a rebalance is what keeps the group stable.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::kafka::group::Heartbeater;

/// No generation asked to rebalance.
const NONE: i32 = i32::MIN;

#[derive(Default)]
struct Shared {
    /// The member id and generation to heartbeat for (no heartbeats while the id is empty).
    membership: Mutex<(String, i32)>,
    /// The members the leader assigned work to in its generation (empty on followers).
    assigned_members: Mutex<Vec<String>>,
    /// The generation a heartbeat (or the leader's member check) found needing a rebalance.
    rebalance: AtomicI32,
    stop: AtomicBool,
}

/// A running heartbeat thread; stopped when dropped.
pub struct HeartbeatThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl HeartbeatThread {
    pub fn start(mut beat: Heartbeater, interval: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            rebalance: AtomicI32::new(NONE),
            ..Shared::default()
        });
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-heartbeat".into())
            .spawn(move || run(&mut beat, &state, interval))?;
        Ok(HeartbeatThread {
            shared,
            thread: Some(thread),
        })
    }

    /// Heartbeats from now on for `member_id` in `generation`; `assigned_members` (leader
    /// only, else empty) are checked against the coordinator's member list.
    pub fn set(&self, member_id: &str, generation: i32, assigned_members: Vec<String>) {
        *self.shared.membership.lock() = (member_id.to_string(), generation);
        *self.shared.assigned_members.lock() = assigned_members;
    }

    /// Whether the coordinator asked for a rebalance of `generation` (or a heartbeat for it
    /// failed, or a member the leader assigned work to is gone).
    pub fn rebalance_needed(&self, generation: i32) -> bool {
        self.shared.rebalance.load(Ordering::Relaxed) == generation
    }
}

impl Drop for HeartbeatThread {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(beat: &mut Heartbeater, shared: &Shared, interval: Duration) {
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        next = Instant::now() + interval;
        let (member_id, generation) = shared.membership.lock().clone();
        if member_id.is_empty() {
            continue;
        }
        let flag = |why: &dyn Fn()| {
            if shared.rebalance.swap(generation, Ordering::Relaxed) != generation {
                why();
            }
        };
        // tansu 0.6 evicts a crashed member without starting a new generation and tells only
        // the member whose heartbeat noticed (docs/distributed.md): the leader also checks
        // that every member it assigned work to is still listed.
        let assigned = shared.assigned_members.lock().clone();
        if !assigned.is_empty() {
            if let Ok(Some(listed)) = beat.stable_members() {
                if let Some(gone) = assigned.iter().find(|m| !listed.contains(m)) {
                    flag(
                        &|| tracing::warn!(member = %gone, generation, "a member this leader assigned work to left the group without a rebalance: rebalancing"),
                    );
                    continue;
                }
            }
        }
        match beat.beat(&member_id, generation) {
            Ok(()) => {}
            Err(e) if e.needs_rejoin() => {
                flag(&|| tracing::info!(generation, "the group is rebalancing: {e}"));
            }
            Err(e) => flag(&|| tracing::warn!(generation, "heartbeat failed: {e}")),
        }
    }
}
