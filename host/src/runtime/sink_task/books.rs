//! A sink task's books: the plugin instance, the offsets `put` accepted that are not committed
//! yet, and the `flush`-then-commit that settles them.
//!
//! Design decision: the plugin and the books are shared with the consumer's rebalance
//! callback, each behind its own mutex. Two mutexes, not one: the put thread holds the
//! plugin's for a whole `put`, and the consume thread must not wait for that just to record
//! offsets or check for a failure — with one lock the two stages ran in turn. Offsets advance
//! only after `put` returned (never back), and are committed only after `flush` succeeded.

use std::collections::{BTreeMap, HashSet};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::rebalance::SinkContext;
use crate::backoff::WarnThrottle;
use crate::kafka::fetch::Fetched;
use crate::runtime::task::{SinkTask, TaskError, TopicPartitionOffset};

/// The plugin, and the offsets it has been given but that are not committed yet.
pub(super) struct SinkShared {
    /// Held for each call into the plugin (a whole `put` on the put thread).
    pub(super) task: Mutex<Box<dyn SinkTask>>,
    /// Held only briefly; never while waiting for `task` (see `flush_and_commit`).
    pub(super) books: Mutex<Books>,
}

/// The consumer's side of the bookkeeping.
pub(super) struct Books {
    /// Next offset to read per (topic, partition), for records `put` accepted.
    pub(super) uncommitted: BTreeMap<(String, i32), i64>,
    pub(super) assigned: HashSet<(String, i32)>,
    /// A failure found inside a callback, picked up by the loop.
    pub(super) failure: Option<String>,
    throttle: WarnThrottle,
}

impl Books {
    pub(super) fn new() -> Books {
        Books {
            uncommitted: BTreeMap::new(),
            assigned: HashSet::new(),
            failure: None,
            throttle: WarnThrottle::default(),
        }
    }

    /// Counts every message of a batch whose `put` returned as processed: each partition's
    /// next offset to commit moves past its last message in the batch.
    pub(super) fn advance_batch(&mut self, msgs: &[Fetched<'_>]) {
        // A batch is runs of messages from one partition: look the partition up once per run,
        // not once per message (an owned key and two hash/tree lookups each).
        let mut run: Option<(&str, i32, i64)> = None;
        for msg in msgs {
            let (topic, partition, next) = (msg.topic(), msg.partition(), msg.offset() + 1);
            match &mut run {
                Some((t, p, n)) if *t == topic && *p == partition => *n = (*n).max(next),
                _ => {
                    if let Some(done) = run.replace((topic, partition, next)) {
                        self.advance(done);
                    }
                }
            }
        }
        if let Some(done) = run {
            self.advance(done);
        }
    }

    /// Moves a partition's next offset to commit forward to `next` (never back).
    fn advance(&mut self, (topic, partition, next): (&str, i32, i64)) {
        let tp = (topic.to_string(), partition);
        // A partition revoked while this batch was in flight belongs to another task now.
        if self.assigned.contains(&tp) {
            let at = self.uncommitted.entry(tp).or_insert(next);
            *at = (*at).max(next);
        }
    }
}

impl SinkShared {
    /// `flush` the sink, then commit synchronously. A failed commit keeps the offsets for the
    /// next attempt; a fatal flush error fails the task; nothing uncommitted is dropped
    /// unless its partition was revoked (then the next owner re-reads it: at-least-once).
    ///
    /// Runs on the consumer's thread (the loop, or the rebalance callback inside `poll`), the
    /// only thread that advances offsets, so the offsets read here cannot move until it
    /// returns; all of them belong to `put`s that returned, which `flush` covers.
    pub(super) fn flush_and_commit(&self, consumer: &BaseConsumer<SinkContext>) {
        let offsets: Vec<TopicPartitionOffset> = {
            let books = self.books.lock();
            if books.uncommitted.is_empty() {
                return;
            }
            books
                .uncommitted
                .iter()
                .map(|((topic, partition), offset)| TopicPartitionOffset {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: *offset,
                })
                .collect()
        };
        // Waits for a `put` in progress on the put thread.
        let flushed = self.task.lock().flush(&offsets);
        match flushed {
            Ok(()) => {}
            Err(TaskError::Retriable(m)) => {
                tracing::warn!("flush failed (will retry at the next commit): {m}");
                return;
            }
            Err(e) => {
                self.books
                    .lock()
                    .failure
                    .get_or_insert(format!("flush failed: {e}"));
                return;
            }
        }
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for o in &offsets {
            if let Err(e) =
                tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))
            {
                tracing::warn!(
                    "cannot commit {}-{} at {}: {e}",
                    o.topic,
                    o.partition,
                    o.offset
                );
            }
        }
        let committed = consumer.commit(&tpl, CommitMode::Sync);
        let mut books = self.books.lock();
        match committed {
            Ok(()) => {
                tracing::debug!(partitions = offsets.len(), "committed consumer offsets");
                books.uncommitted.clear();
            }
            Err(e) => {
                if let Some(n) = books.throttle.allow() {
                    tracing::warn!(
                        suppressed = n,
                        "cannot commit consumer offsets (will retry): {e}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A batch that finished after its partition was revoked must not record an offset for
    /// it (the new owner commits from where it starts reading), and a late, lower run never
    /// moves an offset back.
    #[test]
    fn offsets_only_advance_and_only_for_assigned_partitions() {
        let mut s = Books::new();
        s.assigned = HashSet::from([("a".to_string(), 0), ("a".to_string(), 1)]);
        s.advance(("a", 0, 10));
        s.advance(("a", 0, 7));
        s.advance(("a", 1, 3));
        s.advance(("b", 0, 99)); // revoked while its batch was in flight
        let got: Vec<_> = s.uncommitted.into_iter().collect();
        assert_eq!(
            got,
            vec![(("a".to_string(), 0), 10), (("a".to_string(), 1), 3)]
        );
    }
}
