//! The sink consumer's context: where newly assigned partitions start, splitting their fetch
//! queues, and settling the books (commit, then the sink's `close`) when partitions are
//! revoked.
//!
//! Design decision: the rebalance callback runs on the consumer's thread inside
//! `consumer.poll`, so on revocation it can commit synchronously (the sink's `pre_commit`) and
//! `close` the partitions before they move to another task (waiting for a `put` in progress
//! on the put thread).
//! The rebalance itself is rust-rdkafka's, plus explicit start positions (see
//! [`SinkContext::start_positions`]) and the fetch-queue split before each assign. A task that
//! assigns its partitions itself (`assignment`) takes and gives them up through the same
//! [`SinkContext::take`] and [`SinkContext::give_up`].

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::books::SinkShared;
use crate::backoff::WarnThrottle;
use crate::kafka::fetch::FetchQueues;

pub(super) struct SinkContext {
    pub(super) shared: Arc<SinkShared>,
    pub(super) throttle: Mutex<WarnThrottle>,
    /// Where a partition with no committed offset starts (`auto.offset.reset`), when the
    /// consumer's setting names a position; see [`SinkContext::start_positions`].
    pub(super) reset: Option<Offset>,
    /// The assigned partitions' fetch queues, read in batches (split before each assign).
    pub(super) fetch: Mutex<FetchQueues>,
}

impl SinkContext {
    /// The position `auto.offset.reset` names: librdkafka's spellings, as it accepts them.
    pub(super) fn reset_position(value: Option<&str>) -> Option<Offset> {
        match value? {
            "smallest" | "earliest" | "beginning" => Some(Offset::Beginning),
            "largest" | "latest" | "end" => Some(Offset::End),
            _ => None, // `error`: librdkafka reports the missing offset itself
        }
    }

    /// Fills in where each newly assigned partition starts: its committed offset, or the
    /// `auto.offset.reset` position when the group has none.
    ///
    /// Design decision: librdkafka does the same lookup itself, but for a partition with no
    /// committed offset it applies the reset policy on a fixed 100 ms back-off timer (its
    /// `rd_kafka_offset_reset` with an error code), so every fresh sink connector started
    /// ~100 ms late. Assigning explicit positions skips that timer. If the lookup fails, the
    /// partitions are assigned as they are and librdkafka looks the offsets up as before.
    fn start_positions(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let Some(reset) = self.reset else { return };
        let committed = match consumer.committed_offsets(tpl.clone(), Duration::from_secs(10)) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("looking up committed offsets failed, librdkafka will: {e}");
                return;
            }
        };
        for e in committed.elements() {
            let at = match e.offset() {
                Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                Offset::Invalid | Offset::Stored => reset,
                _ => continue,
            };
            if let Err(err) = tpl.set_partition_offset(e.topic(), e.partition(), at) {
                tracing::debug!(
                    "cannot set the start of {}-{}: {err}",
                    e.topic(),
                    e.partition()
                );
            }
        }
    }
}

impl ClientContext for SinkContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if let Some(n) = self.throttle.lock().allow() {
            tracing::warn!(suppressed = n, "consumer: {error}: {reason}");
        }
    }
}

impl SinkContext {
    /// Takes over `tpl`'s partitions: their start positions, their own fetch queues (split
    /// before the assign, so no message of theirs reaches the consumer queue), then the assign
    /// (added to the current assignment when `incremental`, replacing it otherwise).
    pub(super) fn take(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
        incremental: bool,
    ) {
        self.start_positions(consumer, tpl);
        {
            let mut fetch = self.fetch.lock();
            for e in tpl.elements() {
                if !fetch.split(consumer, e.topic(), e.partition()) {
                    tracing::debug!(
                        "{}-{} is read through poll: its fetch queue could not be split",
                        e.topic(),
                        e.partition()
                    );
                }
            }
        }
        let done = if incremental {
            consumer.incremental_assign(tpl)
        } else {
            consumer.assign(tpl)
        };
        if let Err(e) = done {
            tracing::warn!("changing the partition assignment failed: {e}");
        }
        let mut books = self.shared.books.lock();
        for e in tpl.elements() {
            books
                .assigned
                .insert((e.topic().to_string(), e.partition()));
        }
        tracing::info!(partitions = tpl.count(), "partitions assigned");
    }

    /// Gives `tpl`'s partitions up, in Kafka Connect's order: commit what the sink says is
    /// durable, `close` them, then unassign them (only them when `incremental`, the whole
    /// assignment otherwise) and release their fetch queues.
    pub(super) fn give_up(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &TopicPartitionList,
        incremental: bool,
    ) {
        self.shared.commit_offsets(consumer);
        let revoked: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        self.shared.close_partitions(&revoked);
        tracing::info!(partitions = tpl.count(), "partitions revoked");
        unassign(consumer, tpl, incremental);
        let mut fetch = self.fetch.lock();
        if incremental {
            for e in tpl.elements() {
                fetch.release(e.topic(), e.partition());
            }
        } else {
            fetch.release_all();
        }
    }
}

impl ConsumerContext for SinkContext {
    /// rust-rdkafka's own rebalance, with explicit start positions for assigned partitions.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.take(consumer, tpl, cooperative)
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.give_up(consumer, tpl, cooperative)
            }
            // As rust-rdkafka does: report it and drop the assignment.
            _ => {
                tracing::warn!("rebalance error: {}", KafkaError::Rebalance(err.into()));
                unassign(consumer, tpl, cooperative);
                self.fetch.lock().release_all();
            }
        }
    }
}

/// Drops `tpl`'s partitions from the assignment (`incremental`), or the whole assignment.
fn unassign(consumer: &BaseConsumer<SinkContext>, tpl: &TopicPartitionList, incremental: bool) {
    let done = if incremental {
        consumer.incremental_unassign(tpl)
    } else {
        consumer.unassign()
    };
    if let Err(e) = done {
        tracing::warn!("changing the partition assignment failed: {e}");
    }
}

/// Owns the consumer; releases its split fetch queues before it is dropped (see
/// [`FetchQueues`]: the consumer's handle is destroyed before its context).
pub(super) struct ReleaseQueuesFirst(pub(super) BaseConsumer<SinkContext>);

impl Drop for ReleaseQueuesFirst {
    fn drop(&mut self) {
        self.0.context().fetch.lock().release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_offset_reset_names_a_start_position_in_each_librdkafka_spelling() {
        for v in ["smallest", "earliest", "beginning"] {
            assert_eq!(
                SinkContext::reset_position(Some(v)),
                Some(Offset::Beginning),
                "{v}"
            );
        }
        for v in ["largest", "latest", "end"] {
            assert_eq!(
                SinkContext::reset_position(Some(v)),
                Some(Offset::End),
                "{v}"
            );
        }
        // `error` (and anything librdkafka would reject) leaves the start to librdkafka.
        assert_eq!(SinkContext::reset_position(Some("error")), None);
        assert_eq!(SinkContext::reset_position(None), None);
    }
}
