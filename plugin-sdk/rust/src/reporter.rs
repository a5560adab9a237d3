//! Reporting each record's outcome to the connector's `reporter.*` topics (Kafka Connect's
//! "Connect Reporter", as Confluent's HTTP sink has it), from a sink's `put`.
//!
//! ```no_run
//! use sluice_plugin_sdk::reporter::{self, Report};
//!
//! // Inside `put`: record 0 of the batch was answered with this body.
//! reporter::results(vec![Report::new(0, r#"{"id":17}"#)]);
//! // Record 1 was refused.
//! reporter::errors(vec![Report::new(1, "HTTP 400").header("status_code", "400")]);
//! ```
//!
//! The worker writes the reports once `put` returns, before the batch's offsets can be
//! committed, to `reporter.result.topic.name` and `reporter.error.topic.name` on
//! `reporter.bootstrap.servers`, adding Confluent's `input_record_topic`, `…_partition`,
//! `…_offset` and `…_timestamp` headers itself. Without `reporter.bootstrap.servers` (or with an
//! empty topic name) the reports are dropped, so check the config before building costly ones.
//!
//! Design decision: a record is named by its index in the `put` batch, as in a
//! [`RecordFailure`](crate::RecordFailure); an index outside the batch fails the put.

#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
mod wit {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-reporter;
            world reporter-client {
                import sluice:connect/reporter@0.1.0;
            }
        ",
        world: "sluice:sdk-reporter/reporter-client",
        path: "../../wit",
        generate_all,
    });
}

use self::wit::sluice::connect::reporter as host;

/// One record's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The record's index in the batch of the current `put`.
    pub index: u32,
    /// The reporter record's value (a response body, an error message).
    pub value: String,
    /// Headers written after the worker's `input_record_*` ones.
    pub headers: Vec<(String, String)>,
}

impl Report {
    /// A report without extra headers.
    pub fn new(index: u32, value: impl Into<String>) -> Report {
        Report {
            index,
            value: value.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Report {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn lower(reports: Vec<Report>) -> Vec<host::Report> {
    reports
        .into_iter()
        .map(|r| host::Report {
            index: r.index,
            value: r.value,
            headers: r.headers,
        })
        .collect()
}

/// Records the sink delivered, for `reporter.result.topic.name`.
pub fn results(reports: Vec<Report>) {
    if !reports.is_empty() {
        host::results(&lower(reports));
    }
}

/// Records the sink could not deliver, for `reporter.error.topic.name`.
pub fn errors(reports: Vec<Report>) {
    if !reports.is_empty() {
        host::errors(&lower(reports));
    }
}
