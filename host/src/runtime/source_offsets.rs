//! Source offsets: which ones may be committed, and where they are stored.
//!
//! Design decision: a source offset is committed only when the producer acknowledged its
//! record **and every earlier record of the same source partition** (in send order). Records
//! acked out of order (1 and 3 but not 2) commit only 1; a failed delivery blocks its
//! partition for good, so nothing past an undelivered record is ever committed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::data::{OffsetMap, SourcePosition};
use crate::offsets::FileOffsetStore;

/// Where source offsets go. [`FileOffsetStore`] in standalone mode; tests use a double.
pub trait SourceOffsetStore: Send + Sync {
    fn positions(&self, connector: &str) -> Vec<SourcePosition>;
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>);
    /// Makes staged offsets durable; the error text names the file.
    fn flush(&self) -> Result<(), String>;
}

impl SourceOffsetStore for FileOffsetStore {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        FileOffsetStore::positions(self, connector)
    }
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        FileOffsetStore::stage(self, connector, offsets)
    }
    fn flush(&self) -> Result<(), String> {
        FileOffsetStore::flush(self).map_err(|e| e.to_string())
    }
}

impl<T: SourceOffsetStore + ?Sized> SourceOffsetStore for Arc<T> {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        (**self).positions(connector)
    }
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        (**self).stage(connector, offsets)
    }
    fn flush(&self) -> Result<(), String> {
        (**self).flush()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Pending,
    Acked,
    Failed,
}

struct PartitionQueue {
    partition: OffsetMap,
    /// (sequence number, offset, delivery) in send order.
    queue: VecDeque<(u64, OffsetMap, Delivery)>,
}

/// Tracks records in flight per source partition and yields what may be committed.
#[derive(Default)]
pub struct OffsetTracker {
    next_seq: u64,
    partitions: Vec<PartitionQueue>,
    /// Canonical JSON of a source partition -> index into `partitions`.
    index: HashMap<String, usize>,
    /// Sequence number -> partition index, for records still in a queue.
    owner: HashMap<u64, usize>,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a record about to be sent; its sequence number is the delivery opaque.
    /// Records without a source partition and offset are not tracked (as in Kafka Connect).
    pub fn submit(&mut self, partition: &OffsetMap, offset: &OffsetMap) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if partition.is_empty() && offset.is_empty() {
            return seq;
        }
        let key = serde_json::to_string(partition).unwrap_or_default();
        let idx = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.partitions.push(PartitionQueue {
                    partition: partition.clone(),
                    queue: VecDeque::new(),
                });
                self.index.insert(key, self.partitions.len() - 1);
                self.partitions.len() - 1
            }
        };
        self.partitions[idx]
            .queue
            .push_back((seq, offset.clone(), Delivery::Pending));
        self.owner.insert(seq, idx);
        seq
    }

    /// A record could not be enqueued after all: forget it (it was never sent).
    pub fn withdraw(&mut self, seq: u64) {
        if let Some(idx) = self.owner.remove(&seq) {
            self.partitions[idx].queue.retain(|(s, _, _)| *s != seq);
        }
    }

    pub fn ack(&mut self, seq: u64) {
        self.mark(seq, Delivery::Acked);
    }

    /// The record was not delivered: its partition's offsets never advance past it.
    pub fn fail(&mut self, seq: u64) {
        self.mark(seq, Delivery::Failed);
    }

    fn mark(&mut self, seq: u64, d: Delivery) {
        let Some(&idx) = self.owner.get(&seq) else {
            return;
        };
        let q = &mut self.partitions[idx].queue;
        // Sequence numbers grow in send order, so each queue is sorted.
        if let Ok(pos) = q.binary_search_by_key(&seq, |(s, _, _)| *s) {
            q[pos].2 = d;
        }
    }

    /// For each source partition, the offset of the last record such that it and every
    /// earlier record of that partition were acked; those records are forgotten.
    pub fn take_committable(&mut self) -> Vec<(OffsetMap, OffsetMap)> {
        let mut out = Vec::new();
        for p in &mut self.partitions {
            let mut last = None;
            while p
                .queue
                .front()
                .is_some_and(|(_, _, d)| *d == Delivery::Acked)
            {
                if let Some((seq, offset, _)) = p.queue.pop_front() {
                    self.owner.remove(&seq);
                    last = Some(offset);
                }
            }
            if let Some(offset) = last {
                out.push((p.partition.clone(), offset));
            }
        }
        out
    }

    /// Records sent but neither acked nor failed.
    pub fn pending(&self) -> usize {
        self.partitions
            .iter()
            .flat_map(|p| &p.queue)
            .filter(|(_, _, d)| *d == Delivery::Pending)
            .count()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(k: &str, v: serde_json::Value) -> OffsetMap {
        [(k.to_string(), v)].into_iter().collect()
    }

    #[test]
    fn commits_only_the_in_order_acked_prefix_per_partition() {
        let mut t = OffsetTracker::new();
        let file = m("file", json!("a"));
        let s1 = t.submit(&file, &m("pos", json!(1)));
        let s2 = t.submit(&file, &m("pos", json!(2)));
        let s3 = t.submit(&file, &m("pos", json!(3)));
        t.ack(s1);
        t.ack(s3);
        assert_eq!(
            t.take_committable(),
            vec![(file.clone(), m("pos", json!(1)))]
        );
        assert_eq!(t.take_committable(), vec![], "nothing new until 2 is acked");
        t.ack(s2);
        assert_eq!(t.take_committable(), vec![(file, m("pos", json!(3)))]);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn partitions_are_independent_and_a_failure_blocks_only_its_partition() {
        let mut t = OffsetTracker::new();
        let a = m("file", json!("a"));
        let b = m("file", json!("b"));
        let a1 = t.submit(&a, &m("pos", json!(1)));
        let b1 = t.submit(&b, &m("pos", json!(10)));
        let a2 = t.submit(&a, &m("pos", json!(2)));
        let b2 = t.submit(&b, &m("pos", json!(11)));
        t.fail(a1);
        t.ack(a2);
        t.ack(b1);
        t.ack(b2);
        assert_eq!(t.take_committable(), vec![(b, m("pos", json!(11)))]);
    }

    #[test]
    fn untracked_and_withdrawn_records_do_not_block() {
        let mut t = OffsetTracker::new();
        let a = m("file", json!("a"));
        let none = t.submit(&OffsetMap::new(), &OffsetMap::new());
        let w = t.submit(&a, &m("pos", json!(1)));
        t.withdraw(w);
        let a2 = t.submit(&a, &m("pos", json!(2)));
        t.ack(none);
        t.ack(a2);
        assert_eq!(t.take_committable(), vec![(a, m("pos", json!(2)))]);
    }
}
