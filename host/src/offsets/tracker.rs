//! Which source offsets may be committed: the [`OffsetTracker`] follows every produced record
//! until the producer acknowledged it.
//!
//! Design decision: a source offset is committed only when the producer acknowledged its
//! record **and every earlier record of the same source partition** (in send order), tracked
//! per run of consecutive records rather than per record. Nothing past an unacked record is
//! committed; a failed delivery blocks its partition for good.

use std::collections::{HashMap, VecDeque};

use crate::data::OffsetMap;

/// Records of one source partition submitted back to back, tracked as one unit.
struct Run {
    partition: usize,
    first_seq: u64,
    last_seq: u64,
    /// Records of the run neither acked nor failed yet.
    pending: u32,
    /// A record of the run was not delivered (or withdrawn): the run is never committed.
    failed: bool,
    /// Source offset of the run's last record.
    offset: OffsetMap,
}

/// Longest run: bounds how many records one commit waits for under continuous flow.
const MAX_RUN: u64 = 2048;

/// Tracks records in flight and yields the source offsets that may be committed.
///
/// This runs once per produced record, so it keeps no per-record state: consecutive records
/// of one source partition (the common case: one file, one table) form a *run* that keeps
/// only the offset of its last record and a count of records still in flight. A run is
/// committable once all its records are acked and every earlier run of its partition was
/// committable. Committing at run granularity is still at-least-once; it only means a crash
/// may redeliver up to one run more than strictly necessary. Memory is O(runs in flight), not
/// O(records since the last offset flush) — with Kafka's 60 s default flush interval the
/// per-record approach held gigabytes.
#[derive(Default)]
pub struct OffsetTracker {
    next_seq: u64,
    /// Distinct source partitions seen, by index.
    partitions: Vec<OffsetMap>,
    /// Canonical JSON of a source partition -> index into `partitions`.
    index: HashMap<String, usize>,
    /// Runs in submit order, so their sequence ranges are disjoint and increasing.
    runs: VecDeque<Run>,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn partition_index(&mut self, partition: &OffsetMap) -> usize {
        if let Some(run) = self.runs.back() {
            if self.partitions[run.partition] == *partition {
                return run.partition;
            }
        }
        let key = serde_json::to_string(partition).unwrap_or_default();
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.partitions.push(partition.clone());
        self.index.insert(key, self.partitions.len() - 1);
        self.partitions.len() - 1
    }

    /// Registers a record about to be sent; its sequence number is the delivery opaque.
    /// Records without a source partition and offset are not tracked (as in Kafka Connect).
    pub fn submit(&mut self, partition: &OffsetMap, offset: OffsetMap) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if partition.is_empty() && offset.is_empty() {
            return seq;
        }
        let idx = self.partition_index(partition);
        if let Some(run) = self.runs.back_mut() {
            // Extend only a run that ends right before this record, so runs never contain
            // sequence numbers of untracked records or of other partitions.
            if run.partition == idx
                && run.last_seq + 1 == seq
                && !run.failed
                && seq - run.first_seq < MAX_RUN
            {
                run.last_seq = seq;
                run.pending += 1;
                run.offset = offset;
                return seq;
            }
        }
        self.runs.push_back(Run {
            partition: idx,
            first_seq: seq,
            last_seq: seq,
            pending: 1,
            failed: false,
            offset,
        });
        seq
    }

    fn run_of(&mut self, seq: u64) -> Option<&mut Run> {
        let pos = self.runs.partition_point(|r| r.last_seq < seq);
        self.runs.get_mut(pos).filter(|r| r.first_seq <= seq)
    }

    /// A record could not be enqueued after all (it was never sent): its run must not be
    /// committed, since the run's offset may be this record's.
    pub fn withdraw(&mut self, seq: u64) {
        self.fail(seq);
    }

    pub fn ack(&mut self, seq: u64) {
        if let Some(run) = self.run_of(seq) {
            run.pending = run.pending.saturating_sub(1);
        }
    }

    /// The record was not delivered: its partition's offsets never advance past it.
    pub fn fail(&mut self, seq: u64) {
        if let Some(run) = self.run_of(seq) {
            run.pending = run.pending.saturating_sub(1);
            run.failed = true;
        }
    }

    /// For each source partition, the offset of the last run such that it and every earlier
    /// run of that partition were fully acked; those runs are forgotten.
    pub fn take_committable(&mut self) -> Vec<(OffsetMap, OffsetMap)> {
        let mut blocked = vec![false; self.partitions.len()];
        let mut latest: Vec<Option<OffsetMap>> = vec![None; self.partitions.len()];
        let mut kept = VecDeque::with_capacity(self.runs.len());
        for run in self.runs.drain(..) {
            if !blocked[run.partition] && run.pending == 0 && !run.failed {
                latest[run.partition] = Some(run.offset);
            } else {
                blocked[run.partition] = true;
                kept.push_back(run);
            }
        }
        self.runs = kept;
        latest
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| o.map(|o| (self.partitions[i].clone(), o)))
            .collect()
    }

    /// Records sent but neither acked nor failed.
    pub fn pending(&self) -> usize {
        self.runs.iter().map(|r| r.pending as usize).sum()
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
    fn commits_only_fully_acked_runs_in_order_per_partition() {
        let mut t = OffsetTracker::new();
        let file = m("file", json!("a"));
        let s1 = t.submit(&file, m("pos", json!(1)));
        let s2 = t.submit(&file, m("pos", json!(2)));
        let s3 = t.submit(&file, m("pos", json!(3)));
        t.ack(s1);
        t.ack(s3);
        assert_eq!(
            t.take_committable(),
            vec![],
            "nothing past the unacked record 2 (1..3 form one run)"
        );
        t.ack(s2);
        assert_eq!(
            t.take_committable(),
            vec![(file.clone(), m("pos", json!(3)))]
        );
        // A later run commits on its own once acked.
        let s4 = t.submit(&file, m("pos", json!(4)));
        assert_eq!(t.take_committable(), vec![]);
        t.ack(s4);
        assert_eq!(t.take_committable(), vec![(file, m("pos", json!(4)))]);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn partitions_are_independent_and_a_failure_blocks_only_its_partition() {
        let mut t = OffsetTracker::new();
        let a = m("file", json!("a"));
        let b = m("file", json!("b"));
        let a1 = t.submit(&a, m("pos", json!(1)));
        let b1 = t.submit(&b, m("pos", json!(10)));
        let a2 = t.submit(&a, m("pos", json!(2)));
        let b2 = t.submit(&b, m("pos", json!(11)));
        t.fail(a1);
        t.ack(a2);
        t.ack(b1);
        t.ack(b2);
        assert_eq!(t.take_committable(), vec![(b, m("pos", json!(11)))]);
    }

    #[test]
    fn untracked_records_do_not_block_and_a_withdrawn_record_is_never_committed() {
        let mut t = OffsetTracker::new();
        let a = m("file", json!("a"));
        let a1 = t.submit(&a, m("pos", json!(1)));
        let none = t.submit(&OffsetMap::new(), OffsetMap::new());
        let a2 = t.submit(&a, m("pos", json!(2)));
        t.ack(none);
        t.ack(a1);
        t.ack(a2);
        assert_eq!(t.take_committable(), vec![(a.clone(), m("pos", json!(2)))]);
        let w = t.submit(&a, m("pos", json!(3)));
        t.withdraw(w);
        assert_eq!(
            t.take_committable(),
            vec![],
            "a withdrawn record was never sent"
        );
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn memory_is_per_run_not_per_record() {
        let mut t = OffsetTracker::new();
        let a = m("file", json!("a"));
        let seqs: Vec<u64> = (0..10_000)
            .map(|i| t.submit(&a, m("pos", json!(i))))
            .collect();
        assert_eq!(t.runs.len(), 5, "10 000 records in runs of at most 2048");
        for s in &seqs[..5000] {
            t.ack(*s);
        }
        // Runs 0 and 1 (records 0..4095) are complete; run 2 is only partly acked.
        assert_eq!(
            t.take_committable(),
            vec![(a.clone(), m("pos", json!(4095)))]
        );
        for s in &seqs[5000..] {
            t.ack(*s);
        }
        assert_eq!(t.take_committable(), vec![(a, m("pos", json!(9999)))]);
        assert_eq!(t.pending(), 0);
        assert!(t.runs.is_empty());
    }
}
