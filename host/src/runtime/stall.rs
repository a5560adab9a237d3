//! Reports a broker that stopped acknowledging: a source task whose records have waited for
//! acknowledgements longer than [`STALL_AFTER`] logs a WARN (throttled), and an INFO once
//! they flow again.
//!
//! Design decision: a broker that hangs (frozen process, network partition) keeps its TCP
//! connections open, so librdkafka reports nothing until `socket.timeout.ms` (60 s) passes,
//! and a produce that never times out (`message.timeout.ms=0`) never fails. The task keeps
//! waiting — an outage is not a task failure, as in Kafka Connect — but says so.

use std::time::{Duration, Instant};

use crate::backoff::WarnThrottle;

/// How long records may wait for an acknowledgement before the task reports it.
pub const STALL_AFTER: Duration = Duration::from_secs(10);

/// Watches a producer's acknowledgements.
#[derive(Debug)]
pub struct AckWatch {
    after: Duration,
    /// Since when records have waited without any acknowledgement.
    waiting_since: Option<Instant>,
    reported: bool,
    throttle: WarnThrottle,
}

impl Default for AckWatch {
    fn default() -> Self {
        AckWatch::new(STALL_AFTER)
    }
}

impl AckWatch {
    pub fn new(after: Duration) -> Self {
        AckWatch {
            after,
            waiting_since: None,
            reported: false,
            throttle: WarnThrottle::new(after),
        }
    }

    /// After delivery reports were served: `acked` records were acknowledged since the last
    /// call and `waiting` still wait. Returns whether a stall is being reported.
    pub fn observe(&mut self, acked: usize, waiting: usize) -> bool {
        let now = Instant::now();
        if acked > 0 || waiting == 0 {
            if self.reported {
                let since = self.waiting_since.map_or(Duration::ZERO, |s| now - s);
                tracing::info!(
                    "the broker acknowledges records again, after {} s without",
                    since.as_secs()
                );
            }
            self.reported = false;
            self.waiting_since = (waiting > 0).then_some(now);
            return false;
        }
        let since = *self.waiting_since.get_or_insert(now);
        if now - since < self.after {
            return false;
        }
        if let Some(n) = self.throttle.allow() {
            tracing::warn!(
                suppressed = n,
                waiting,
                "no acknowledgement from the broker for {} s: {waiting} records wait (the producer keeps retrying; is the broker reachable?)",
                (now - since).as_secs()
            );
        }
        self.reported = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_only_when_records_wait_without_acknowledgements_long_enough() {
        let mut w = AckWatch::new(Duration::from_millis(30));
        assert!(!w.observe(0, 0), "nothing waits");
        assert!(!w.observe(0, 5), "just started waiting");
        std::thread::sleep(Duration::from_millis(40));
        assert!(w.observe(0, 5), "waited past the limit without an ack");
        assert!(!w.observe(1, 4), "an ack ends the stall");
        assert!(!w.observe(0, 4), "the clock restarted at the ack");
        std::thread::sleep(Duration::from_millis(40));
        assert!(w.observe(0, 4));
        assert!(!w.observe(0, 0), "nothing left to wait for");
    }
}
