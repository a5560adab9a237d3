//! The `reporter` import (Kafka Connect's "Connect Reporter", Confluent's `reporter.*` keys): a
//! sink reports each record's result or error during `put`; the worker writes them to Kafka
//! (`runtime::reporter`).
//!
//! Design decision: the import only buffers, in the store, against the coordinates of the
//! batch being `put` — no Kafka I/O happens inside a guest call, where it would count against
//! the call's deadline. The sink adapter (`sink.rs`) sets the batch before `put` and takes the
//! reports after it, then hands them to the task's `ConnectReporter`. A report naming a record
//! outside the batch fails the put: it is a plugin bug, not something to write to Kafka.

use super::bindings::reporter;
use super::engine::HostState;
use crate::data::ConnectRecord;
use crate::runtime::reporter::{InputRecord, Outcome, Report};

/// The reports of the `put` in progress (per store).
#[derive(Default)]
pub(crate) struct ReportBuffer {
    /// Whether the task has a reporter; without one, reports are dropped at once.
    enabled: bool,
    batch: Vec<InputRecord>,
    reports: Vec<Report>,
    /// The first report that named no record of the batch.
    misplaced: Option<(u32, usize)>,
}

impl ReportBuffer {
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    /// Remembers the coordinates of the batch about to be `put` (nothing when disabled).
    pub fn begin(&mut self, records: &[ConnectRecord]) {
        self.reports.clear();
        self.misplaced = None;
        self.batch.clear();
        if !self.enabled {
            return;
        }
        self.batch.extend(records.iter().map(|r| InputRecord {
            topic: r.topic.clone(),
            partition: r.kafka_partition.unwrap_or(-1),
            offset: r.kafka_offset.unwrap_or(-1),
            timestamp: r.timestamp,
        }));
    }

    /// The reports of the `put` that just returned, or why they are unusable.
    pub fn take(&mut self) -> Result<Vec<Report>, String> {
        self.batch.clear();
        if let Some((index, len)) = self.misplaced.take() {
            self.reports.clear();
            return Err(format!(
                "the sink reported an outcome for record {index} of a batch of {len}"
            ));
        }
        Ok(std::mem::take(&mut self.reports))
    }

    fn add(&mut self, outcome: Outcome, reports: Vec<reporter::Report>) {
        if !self.enabled {
            return;
        }
        for r in reports {
            let Some(input) = self.batch.get(r.index as usize) else {
                self.misplaced.get_or_insert((r.index, self.batch.len()));
                continue;
            };
            self.reports.push(Report {
                outcome,
                input: input.clone(),
                value: r.value,
                headers: r.headers,
            });
        }
    }
}

impl reporter::Host for HostState {
    fn results(&mut self, reports: Vec<reporter::Report>) {
        self.reports.add(Outcome::Result, reports);
    }

    fn errors(&mut self, reports: Vec<reporter::Report>) {
        self.reports.add(Outcome::Error, reports);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::Data;

    fn report(index: u32, value: &str) -> reporter::Report {
        reporter::Report {
            index,
            value: value.into(),
            headers: vec![("status_code".into(), "200".into())],
        }
    }

    fn batch() -> Vec<ConnectRecord> {
        (0..2)
            .map(|i| {
                let mut r = ConnectRecord::new("t", Data::NULL, Data::NULL);
                r.kafka_partition = Some(1);
                r.kafka_offset = Some(40 + i);
                r.timestamp = Some(1000 + i);
                r
            })
            .collect()
    }

    #[test]
    fn reports_carry_the_coordinates_of_the_record_they_name() {
        let mut b = ReportBuffer::default();
        b.enable();
        b.begin(&batch());
        b.add(Outcome::Result, vec![report(1, "ok")]);
        b.add(Outcome::Error, vec![report(0, "bad")]);
        let got = b.take().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].outcome, got[0].input.offset, got[0].value.as_str()),
            (Outcome::Result, 41, "ok")
        );
        assert_eq!(got[0].input.timestamp, Some(1001));
        assert_eq!(
            (got[1].outcome, got[1].input.offset, got[1].input.partition),
            (Outcome::Error, 40, 1)
        );
        assert!(b.take().unwrap().is_empty(), "taken once");
    }

    #[test]
    fn a_report_outside_the_batch_fails_and_a_disabled_buffer_keeps_nothing() {
        let mut b = ReportBuffer::default();
        b.enable();
        b.begin(&batch());
        b.add(Outcome::Result, vec![report(0, "ok"), report(2, "where?")]);
        assert_eq!(
            b.take().unwrap_err(),
            "the sink reported an outcome for record 2 of a batch of 2"
        );
        let mut off = ReportBuffer::default();
        off.begin(&batch());
        off.add(Outcome::Result, vec![report(7, "ignored")]);
        assert!(off.take().unwrap().is_empty());
    }
}
