//! Linear memory of the plugin instances (WebAssembly stores) of running tasks, against their
//! `wasm.memory.max.bytes` limits: what `sluice_plugin_memory_bytes` reports.
//!
//! Design decision: a process-wide list of weak handles. The store's memory limiter (in
//! `wasm/`, which the runtime never sees) registers one [`StoreMemory`] per task store and
//! updates it only when a memory grows (rare, never per record); a dropped store drops its
//! handle, so a stopped task disappears from the scrape without any unregistering.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

/// One store's memory.
#[derive(Debug)]
pub struct StoreMemory {
    pub connector: String,
    pub task: u32,
    /// `wasm.memory.max.bytes` (per memory of the store).
    pub limit: u64,
    in_use: AtomicU64,
}

impl StoreMemory {
    /// A memory of the store grew from `current` to `desired` bytes.
    pub fn grew(&self, current: usize, desired: usize) {
        self.in_use
            .fetch_add(desired.saturating_sub(current) as u64, Ordering::Relaxed);
    }
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Relaxed)
    }
}

static STORES: Mutex<Vec<Weak<StoreMemory>>> = Mutex::new(Vec::new());

/// Registers a task's store; it is reported while the returned handle lives.
pub fn register(connector: &str, task: u32, limit: u64) -> Arc<StoreMemory> {
    let m = Arc::new(StoreMemory {
        connector: connector.to_string(),
        task,
        limit,
        in_use: AtomicU64::new(0),
    });
    let mut stores = STORES.lock();
    stores.retain(|w| w.strong_count() > 0);
    stores.push(Arc::downgrade(&m));
    m
}

/// Memory in use and the summed limits of each task's live stores (its plugin and each SMT
/// instance), by (connector, task).
pub fn by_task() -> BTreeMap<(String, u32), (u64, u64)> {
    let mut out: BTreeMap<(String, u32), (u64, u64)> = BTreeMap::new();
    for s in STORES.lock().iter().filter_map(Weak::upgrade) {
        let e = out.entry((s.connector.clone(), s.task)).or_default();
        e.0 += s.in_use();
        e.1 += s.limit;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_sum_per_task_and_vanish_when_dropped() {
        let a = register("mem-test", 0, 100);
        let b = register("mem-test", 0, 100);
        a.grew(0, 10);
        a.grew(10, 30);
        b.grew(0, 5);
        assert_eq!(by_task().get(&("mem-test".into(), 0)), Some(&(35, 200)));
        drop(a);
        drop(b);
        assert_eq!(by_task().get(&("mem-test".into(), 0)), None);
    }
}
