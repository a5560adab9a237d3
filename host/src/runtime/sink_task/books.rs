//! A sink task's books: the plugin instance, the offsets `put` accepted that are not committed
//! yet, and the `pre_commit`-then-commit that settles them (Kafka Connect's preCommit: the
//! sink says which offsets are durable; by default it flushes and all are).
//!
//! Design decision: the plugin and the books are shared with the consumer's rebalance
//! callback, each behind its own mutex. Two mutexes, not one: the put thread holds the
//! plugin's for a whole `put`, and the consume thread must not wait for that just to record
//! offsets or check for a failure — with one lock the two stages ran in turn. Offsets advance
//! only after `put` returned (never back), and only what the sink's `pre_commit` answered
//! (after its `flush`, by default) is committed.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::rebalance::SinkContext;
use crate::backoff::WarnThrottle;
use crate::kafka::fetch::Fetched;
use crate::metrics::TaskMetrics;
use crate::runtime::task::{SinkTask, TaskError, TopicPartitionOffset};

/// The plugin, and the offsets it has been given but that are not committed yet.
pub(super) struct SinkShared {
    /// Held for each call into the plugin (a whole `put` on the put thread).
    pub(super) task: Mutex<Box<dyn SinkTask>>,
    /// Held only briefly; never while waiting for `task` (see `commit_offsets`).
    pub(super) books: Mutex<Books>,
    /// Counts each commit (Kafka's `offset-commit-*` metrics of the sink task).
    pub(super) metrics: Arc<TaskMetrics>,
}

/// The consumer's side of the bookkeeping.
pub(super) struct Books {
    /// Next offset to read per (topic, partition), for records `put` accepted.
    /// Offered to `pre_commit` at each commit until it is committed.
    pub(super) uncommitted: BTreeMap<(String, i32), i64>,
    /// What this task last committed per partition (not committed again).
    pub(super) committed: BTreeMap<(String, i32), i64>,
    pub(super) assigned: HashSet<(String, i32)>,
    /// A failure found inside a callback, picked up by the loop.
    pub(super) failure: Option<String>,
    throttle: WarnThrottle,
}

impl Books {
    pub(super) fn new() -> Books {
        Books {
            uncommitted: BTreeMap::new(),
            committed: BTreeMap::new(),
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
    /// Kafka Connect's commit: offers the uncommitted offsets to the sink's `pre_commit`
    /// (which, by default, flushes and accepts them all), then commits synchronously what it
    /// answered. A failed commit keeps the offsets for the next attempt; a fatal `pre_commit`
    /// error fails the task; nothing uncommitted is dropped unless its partition was revoked
    /// (then the next owner re-reads it: at-least-once). A partition the sink left out, or
    /// answered below what it was offered, stays uncommitted and is offered again next time.
    ///
    /// Runs on the consumer's thread (the loop, or the rebalance callback inside `poll`), the
    /// only thread that advances offsets, so the offsets read here cannot move until it
    /// returns; all of them belong to `put`s that returned, which `pre_commit` covers.
    ///
    /// Counted as Kafka Connect's `WorkerSinkTask` counts its commits: every call is one
    /// attempt (`offset-commit-seq-no`); one with nothing new to commit completes at once
    /// (Kafka's "no change since last commit" also records a success); a failed `pre_commit`
    /// or consumer commit is a failure. Kafka's skips are answers to an asynchronous commit
    /// that a newer one overtook; these commits are synchronous, so none is ever skipped.
    pub(super) fn commit_offsets(&self, consumer: &BaseConsumer<SinkContext>) {
        let started = Instant::now();
        self.metrics.sink_commit_started();
        let offered: Vec<TopicPartitionOffset> = {
            let books = self.books.lock();
            if books.uncommitted.is_empty() {
                self.metrics.sink_commit_finished(Some(started.elapsed()));
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
        let answered = self.task.lock().pre_commit(&offered);
        let answered = match answered {
            Ok(a) => a,
            Err(TaskError::Retriable(m)) => {
                self.metrics.sink_commit_finished(None);
                tracing::warn!("pre-commit failed (will retry at the next commit): {m}");
                return;
            }
            Err(e) => {
                self.metrics.sink_commit_finished(None);
                self.books
                    .lock()
                    .failure
                    .get_or_insert(format!("pre-commit failed: {e}"));
                return;
            }
        };
        let to_commit = {
            let books = self.books.lock();
            let (to_commit, ignored) = settle(&offered, answered, &books.committed);
            for i in ignored {
                tracing::warn!("{i}");
            }
            to_commit
        };
        if to_commit.is_empty() {
            self.metrics.sink_commit_finished(Some(started.elapsed()));
            tracing::debug!(
                partitions = offered.len(),
                "the sink has nothing new to commit yet"
            );
            return;
        }
        let mut tpl = TopicPartitionList::with_capacity(to_commit.len());
        for o in &to_commit {
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
        self.metrics
            .sink_commit_finished(committed.is_ok().then(|| started.elapsed()));
        let mut books = self.books.lock();
        match committed {
            Ok(()) => {
                tracing::debug!(partitions = to_commit.len(), "committed consumer offsets");
                for o in to_commit {
                    let tp = (o.topic, o.partition);
                    // Settled when everything `put` accepted is committed; else offered again.
                    if books.uncommitted.get(&tp) == Some(&o.offset) {
                        books.uncommitted.remove(&tp);
                    }
                    books.committed.insert(tp, o.offset);
                }
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

    /// Kafka Connect's `close` of revoked (or, at stop, all) partitions, after their last
    /// commit: the sink drops what it buffers for them, and the books forget them (their
    /// records after the committed offset are the next owner's to read).
    pub(super) fn close_partitions(&self, partitions: &[(String, i32)]) {
        let owned: Vec<(String, i32)> = {
            let mut books = self.books.lock();
            let owned: Vec<(String, i32)> = partitions
                .iter()
                .filter(|tp| books.assigned.contains(*tp))
                .cloned()
                .collect();
            for tp in partitions {
                books.assigned.remove(tp);
                books.uncommitted.remove(tp);
                books.committed.remove(tp);
            }
            owned
        };
        if !owned.is_empty() {
            self.task.lock().close(&owned);
        }
    }
}

/// What to commit of a sink's `pre_commit` answer to `offered`, as Kafka Connect's
/// `WorkerSinkTask.commitOffsets` decides: an answer for a partition that was not offered, or
/// above the offered offset (records not consumed yet), is ignored with a warning (returned);
/// an answer equal to what this task already committed is not committed again.
pub(super) fn settle(
    offered: &[TopicPartitionOffset],
    answered: Vec<TopicPartitionOffset>,
    committed: &BTreeMap<(String, i32), i64>,
) -> (Vec<TopicPartitionOffset>, Vec<String>) {
    let mut to_commit: Vec<TopicPartitionOffset> = Vec::with_capacity(answered.len());
    let mut ignored = Vec::new();
    for a in answered {
        let Some(o) = offered
            .iter()
            .find(|o| o.topic == a.topic && o.partition == a.partition)
        else {
            ignored.push(format!(
                "ignoring the sink's pre-commit offset {} for {}-{}: the partition was not offered (not assigned or nothing new)",
                a.offset, a.topic, a.partition
            ));
            continue;
        };
        if a.offset > o.offset {
            ignored.push(format!(
                "ignoring the sink's pre-commit offset {} for {}-{}: above the offered {} (records not consumed yet)",
                a.offset, a.topic, a.partition, o.offset
            ));
            continue;
        }
        if a.offset < 0 {
            ignored.push(format!(
                "ignoring the sink's pre-commit offset {} for {}-{}: offsets are not negative",
                a.offset, a.topic, a.partition
            ));
            continue;
        }
        if committed.get(&(a.topic.clone(), a.partition)) == Some(&a.offset) {
            continue;
        }
        // A partition answered twice: the later answer wins.
        to_commit.retain(|c| !(c.topic == a.topic && c.partition == a.partition));
        to_commit.push(a);
    }
    (to_commit, ignored)
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

    fn tpo(topic: &str, partition: i32, offset: i64) -> TopicPartitionOffset {
        TopicPartitionOffset {
            topic: topic.into(),
            partition,
            offset,
        }
    }

    /// Kafka Connect's preCommit rules: what the sink answers is committed, except answers
    /// for partitions not offered or above the offered offset (warned), and answers equal to
    /// what was committed already; a partition left out is not committed.
    #[test]
    fn only_what_pre_commit_answers_within_the_offer_is_committed() {
        let offered = vec![
            tpo("a", 0, 10),
            tpo("a", 1, 5),
            tpo("a", 2, 7),
            tpo("b", 0, 3),
        ];
        let committed = BTreeMap::from([(("b".to_string(), 0), 3)]);
        let answered = vec![
            tpo("a", 0, 4),  // an older, completed position: committed
            tpo("a", 1, 6),  // above the offer: ignored
            tpo("c", 0, 1),  // never offered: ignored
            tpo("b", 0, 3),  // already committed: not again
            tpo("a", 2, -1), // negative: ignored
        ];
        let (to_commit, ignored) = settle(&offered, answered, &committed);
        assert_eq!(to_commit, vec![tpo("a", 0, 4)]);
        assert_eq!(ignored.len(), 3, "{ignored:?}");
        assert!(ignored[0].contains("a-1") && ignored[0].contains("above the offered 5"));
        assert!(ignored[1].contains("c-0") && ignored[1].contains("not offered"));
        // Nothing answered: nothing committed (the offer stays for the next commit).
        assert_eq!(settle(&offered, vec![], &committed), (vec![], vec![]));
        // The default preCommit answers the offer itself: all of it is committed.
        let (all, none) = settle(&offered, offered.clone(), &BTreeMap::new());
        assert_eq!((all, none.len()), (offered, 0));
    }
}
