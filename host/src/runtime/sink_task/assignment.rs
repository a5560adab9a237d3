//! A sink task that assigns itself its partitions (standalone workers, see
//! [`SinkAssignment`](crate::kafka::SinkAssignment)): its share of the selected topics'
//! partitions, followed as the topic metadata changes (`topics.regex`, added partitions,
//! deleted topics). Offsets are committed to the connector's group as before, outside any
//! generation.
//!
//! Design decision: partition `p` of topic `t` belongs to task `(fnv1a(t) + p) % tasks`. Every
//! task computes the same split without talking to the others; consecutive partitions of a
//! topic go to different tasks; and a partition keeps its task when other topics appear or
//! disappear (only a new task count moves partitions, and that restarts every task).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::TopicPartitionList;

use super::rebalance::SinkContext;
use crate::backoff::WarnThrottle;
use crate::kafka::sink_topics::SinkTopics;

/// How soon the metadata is read again while a listed topic is missing, nothing matches yet,
/// or the broker did not answer.
const RETRY: Duration = Duration::from_secs(1);
/// The metadata request blocks the task's loop: kept short, it is retried anyway.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
/// librdkafka's (and the Java consumer's) default metadata refresh interval.
const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// One task's own assignment.
pub(super) struct OwnAssignment {
    topics: SinkTopics,
    task: u32,
    tasks: u32,
    /// How often the metadata is read again once the selection is complete: the consumer's
    /// `topic.metadata.refresh.interval.ms`, as for a subscription.
    refresh: Duration,
    next_refresh: Instant,
    owned: BTreeSet<(String, i32)>,
    throttle: WarnThrottle,
}

impl OwnAssignment {
    pub(super) fn new(
        topics: SinkTopics,
        task: u32,
        tasks: u32,
        refresh_interval_ms: Option<&str>,
    ) -> Self {
        let refresh = refresh_interval_ms
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_REFRESH, Duration::from_millis);
        OwnAssignment {
            topics,
            task,
            tasks: tasks.max(1),
            refresh,
            next_refresh: Instant::now(),
            owned: BTreeSet::new(),
            throttle: WarnThrottle::default(),
        }
    }

    /// When due, reads the topic metadata and takes the partitions that became this task's,
    /// and gives up those whose topic is gone or no longer selected. The first call assigns
    /// the task's partitions, which start at the group's committed offsets.
    pub(super) fn refresh_if_due(&mut self, consumer: &BaseConsumer<SinkContext>) {
        let now = Instant::now();
        if now < self.next_refresh {
            return;
        }
        let metadata = match consumer.fetch_metadata(None, METADATA_TIMEOUT) {
            Ok(m) => m,
            Err(e) => {
                if let Some(n) = self.throttle.allow() {
                    tracing::warn!(
                        suppressed = n,
                        "cannot read the topic metadata to assign partitions (will retry): {e}"
                    );
                }
                self.next_refresh = now + RETRY;
                return;
            }
        };
        let selected = self.topics.partitions(&metadata);
        let missing = self.topics.missing(&metadata);
        self.next_refresh = now
            + if selected.is_empty() || !missing.is_empty() {
                RETRY
            } else {
                self.refresh
            };
        // A topic the broker reports with an error (leader election after a broker restart)
        // is not gone: its partitions stay where they are until it answers again.
        let unsettled: HashSet<&str> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_some())
            .map(|t| t.name())
            .collect();
        let wanted: BTreeSet<(String, i32)> = selected
            .into_iter()
            .filter(|(t, p)| owner(t, *p, self.tasks) == self.task)
            .collect();
        let gone: Vec<(String, i32)> = self
            .owned
            .difference(&wanted)
            .filter(|(t, _)| !unsettled.contains(t.as_str()))
            .cloned()
            .collect();
        let new: Vec<(String, i32)> = wanted.difference(&self.owned).cloned().collect();
        if !gone.is_empty() {
            consumer.context().give_up(consumer, &list(&gone), true);
            for tp in &gone {
                self.owned.remove(tp);
            }
        }
        if !new.is_empty() {
            consumer.context().take(consumer, &mut list(&new), true);
            self.owned.extend(new);
        }
    }
}

fn list(partitions: &[(String, i32)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for (t, p) in partitions {
        tpl.add_partition(t, *p);
    }
    tpl
}

/// The task (of `tasks`) that reads `partition` of `topic`.
fn owner(topic: &str, partition: i32, tasks: u32) -> u32 {
    // FNV-1a: stable across processes and Rust releases, unlike `DefaultHasher`.
    let hash = topic.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let slot = hash.wrapping_add(u64::from(partition.unsigned_abs())) % u64::from(tasks.max(1));
    // `slot < tasks`, a u32.
    slot as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_has_exactly_one_task_and_a_topics_partitions_are_spread() {
        for tasks in 1..=5u32 {
            for topic in ["orders", "payments", "a"] {
                let mut per_task = vec![0usize; tasks as usize];
                for p in 0..20 {
                    let t = owner(topic, p, tasks);
                    assert!(t < tasks);
                    per_task[t as usize] += 1;
                }
                // 20 consecutive partitions: each task gets 20 / tasks, rounded either way.
                let (min, max) = (per_task.iter().min(), per_task.iter().max());
                assert!(
                    max.zip(min).is_some_and(|(a, b)| a - b <= 1),
                    "{per_task:?}"
                );
            }
        }
        // FNV-1a of "a" is 0xaf63dc4c8601ec8c: pinned, so the split never changes between
        // releases (a restarted worker must find each partition where its offsets are).
        assert_eq!(
            owner("a", 0, 1000),
            (0xaf63_dc4c_8601_ec8c_u64 % 1000) as u32
        );
        assert_eq!(
            owner("a", 1, 1000),
            (0xaf63_dc4c_8601_ec8d_u64 % 1000) as u32
        );
    }
}
