//! Delivering a put's records: grouped into requests, sent with retries, and each request's
//! fate turned into per-record failures or a task failure.
//!
//! Design decision: records are grouped in order — consecutive records for the same URL, at
//! most `batch.max.size` per request — and every request of a put is answered before the put
//! returns, so when the host commits an offset the record's fate is known and `flush` has
//! nothing to do. A status in `retry.on.status.codes` and a request without an answer
//! (refused, reset, timed out, a server that closed mid-request) are retried `max.retries`
//! times, `retry.backoff.ms` apart, resending the identical body. After that, or for any other
//! status of 300 and more:
//!
//! | what | `behavior.on.error=fail` | `log` | `ignore` |
//! |---|---|---|---|
//! | a status not retried (a 4xx by default) | the request's records fail (DLQ with `errors.tolerance=all`) | logged | skipped |
//! | a retried status, still failing | the task fails | logged | skipped |
//! | no answer, still failing | the task fails | the task fails | the task fails |
//! | refused by the sandbox (`wasm.network.allow`) | the task fails at once | the same | the same |
//!
//! With `reporter.bootstrap.servers` set, every request's outcome is also reported for each of
//! its records, as Confluent's HTTP sink does: a delivered record with the response body (the
//! result topic), a record whose request got a status of 300 or more with Confluent's error
//! headers (the error topic). The worker writes them ([`sluice_plugin_sdk::reporter`]).
//!
//! No message here carries a request header: the `Authorization` value never reaches a log
//! or an error.

use sluice_plugin_sdk::log;
use sluice_plugin_sdk::reporter::Report;
use sluice_plugin_sdk::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use sluice_plugin_sdk::{Record, RecordFailure, TaskError};

use crate::body::{batch_body, record_url, render_value};
use crate::config::{HttpSinkConfig, OnError, OnNull};

/// Waiting between retries, injected so unit tests need no real time.
pub trait Sleep {
    fn sleep_ms(&self, ms: u64);
}

pub struct RealSleep;

impl Sleep for RealSleep {
    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// What became of one request after its retries.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    Delivered(HttpResponse),
    /// A status that is not retried.
    Rejected(String, HttpResponse),
    /// A retried status, still failing after `max.retries`.
    GaveUp(String, HttpResponse),
    /// No answer after `max.retries`, or refused by the sandbox.
    Unreachable(String),
}

/// The reports of one put, for the worker's reporter topics.
#[derive(Debug, Default, PartialEq)]
pub struct Reports {
    pub results: Vec<Report>,
    pub errors: Vec<Report>,
}

/// One request to make: the records (indices into the put's batch) it carries.
struct Pending {
    method: &'static str,
    url: String,
    indices: Vec<usize>,
    values: Vec<Vec<u8>>,
}

/// Sends records as the configuration says.
pub struct Delivery<T, S> {
    transport: T,
    sleep: S,
    config: HttpSinkConfig,
    reports: Reports,
}

impl<T: Transport, S: Sleep> Delivery<T, S> {
    pub fn new(transport: T, sleep: S, config: HttpSinkConfig) -> Self {
        Delivery {
            transport,
            sleep,
            config,
            reports: Reports::default(),
        }
    }

    /// The reports of the last put (empty unless `reporter.*` is configured).
    pub fn take_reports(&mut self) -> Reports {
        std::mem::take(&mut self.reports)
    }

    /// Delivers `records`; returns those that failed (by index).
    pub fn put(&mut self, records: &[Record]) -> Result<Vec<RecordFailure>, TaskError> {
        let mut failures = Vec::new();
        let mut current: Option<Pending> = None;
        for (i, record) in records.iter().enumerate() {
            if record.value.is_null() {
                match self.config.on_null {
                    OnNull::Ignore => {}
                    OnNull::Log => log::info!(
                        "http-sink: skipped the null value of {}",
                        coordinates(record)
                    ),
                    OnNull::Fail => failures.push(RecordFailure {
                        index: i as u32,
                        message: "the record's value is null (behavior.on.null.values=fail)".into(),
                    }),
                    OnNull::Delete => {
                        if let Some(p) = current.take() {
                            self.send(p, &mut failures)?;
                        }
                        self.send(
                            Pending {
                                method: "DELETE",
                                url: record_url(&self.config.url, record),
                                indices: vec![i],
                                values: Vec::new(),
                            },
                            &mut failures,
                        )?;
                    }
                }
                continue;
            }
            let value = match render_value(record, self.config.body_format) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(RecordFailure {
                        index: i as u32,
                        message: format!("the value cannot be written as JSON: {e}"),
                    });
                    continue;
                }
            };
            let url = record_url(&self.config.url, record);
            let full = current
                .as_ref()
                .is_some_and(|p| p.url != url || p.indices.len() >= self.config.batch_max_size);
            if full {
                if let Some(p) = current.take() {
                    self.send(p, &mut failures)?;
                }
            }
            let p = current.get_or_insert_with(|| Pending {
                method: "",
                url,
                indices: Vec::new(),
                values: Vec::new(),
            });
            p.indices.push(i);
            p.values.push(value);
        }
        if let Some(p) = current.take() {
            self.send(p, &mut failures)?;
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }

    /// Sends one request and applies `behavior.on.error` to its outcome.
    fn send(&mut self, p: Pending, failures: &mut Vec<RecordFailure>) -> Result<(), TaskError> {
        let method = if p.method.is_empty() {
            self.config.method.clone()
        } else {
            p.method.to_string()
        };
        let mut headers = self.config.headers.clone();
        let has_body = method != "DELETE";
        if has_body
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            let ty = match self.config.body_format {
                crate::config::BodyFormat::Json => "application/json",
                crate::config::BodyFormat::String => "text/plain; charset=utf-8",
            };
            headers.push(("Content-Type".into(), ty.into()));
        }
        let request = HttpRequest {
            method,
            url: p.url,
            headers,
            body: if has_body {
                batch_body(&p.values, &self.config)
            } else {
                Vec::new()
            },
        };
        let what = format!(
            "{} {} ({} record{})",
            request.method,
            shown_url(&request.url),
            p.indices.len(),
            if p.indices.len() == 1 { "" } else { "s" }
        );
        let sent = self.send_with_retries(&request, &what);
        self.report(&p.indices, &request, &sent);
        match sent {
            Sent::Delivered(_) => Ok(()),
            Sent::Rejected(m, _) => match self.config.on_error {
                OnError::Fail => {
                    failures.extend(p.indices.iter().map(|&i| RecordFailure {
                        index: i as u32,
                        message: m.clone(),
                    }));
                    Ok(())
                }
                OnError::Log => {
                    log::warn!("http-sink: {m} (behavior.on.error=log: going on)");
                    Ok(())
                }
                OnError::Ignore => Ok(()),
            },
            Sent::GaveUp(m, _) => match self.config.on_error {
                OnError::Fail => Err(TaskError::fatal(m)),
                OnError::Log => {
                    log::warn!("http-sink: {m} (behavior.on.error=log: going on)");
                    Ok(())
                }
                OnError::Ignore => Ok(()),
            },
            Sent::Unreachable(m) => Err(TaskError::fatal(m)),
        }
    }

    /// Reports a request's outcome for each of its records, in Confluent's shapes.
    fn report(&mut self, indices: &[usize], request: &HttpRequest, sent: &Sent) {
        match sent {
            Sent::Delivered(r) if self.config.report_results => {
                let body = String::from_utf8_lossy(&r.body);
                self.reports.results.extend(
                    indices
                        .iter()
                        .map(|&i| Report::new(i as u32, body.as_ref())),
                );
            }
            Sent::Rejected(_, r) | Sent::GaveUp(_, r) if self.config.report_errors => {
                let lead = if matches!(sent, Sent::GaveUp(..)) {
                    "Retry time lapsed, unable"
                } else {
                    "Unable"
                };
                // Without the query, which may carry an API key. wasi:http has no reason
                // phrase, so that field is empty.
                let url = shown_url(&request.url);
                let content = String::from_utf8_lossy(&r.body);
                let payload = String::from_utf8_lossy(&request.body);
                let value = format!(
                    "{lead} to process HTTP request. HTTP Response code: {}, Reason phrase: , \
                     Url: {url}, Response content: {content}, Exception: null, Error message: null",
                    r.status
                );
                self.reports.errors.extend(indices.iter().map(|&i| {
                    Report::new(i as u32, value.as_str())
                        .header("error_message", "null")
                        .header("exception", "null")
                        .header("response_content", content.as_ref())
                        .header("status_code", r.status.to_string())
                        .header("payload", payload.as_ref())
                        .header("reason_phrase", "")
                        .header("url", url.as_str())
                }));
            }
            _ => {}
        }
    }

    fn send_with_retries(&mut self, request: &HttpRequest, what: &str) -> Sent {
        let max = self.config.max_retries;
        let mut attempt = 0u32;
        loop {
            // The last answer, when there was one (a status that is retried).
            let (message, answer) = match self.transport.send(request) {
                Ok(r) if (200..300).contains(&r.status) => return Sent::Delivered(r),
                Ok(r) => {
                    let m = format!("{what} got {}", describe(&r));
                    if !self.config.retries_status(r.status) {
                        return Sent::Rejected(m, r);
                    }
                    (m, Some(r))
                }
                Err(TransportError::Refused(e)) => {
                    return Sent::Unreachable(format!("{what} cannot be sent: {e}"))
                }
                Err(TransportError::Failed(e)) => (format!("{what} got no answer: {e}"), None),
            };
            if attempt >= max {
                let m = format!("{message}; gave up after {max} retries (max.retries)");
                return match answer {
                    Some(r) => Sent::GaveUp(m, r),
                    None => Sent::Unreachable(m),
                };
            }
            attempt += 1;
            log::warn!(
                "http-sink: {message}; retry {attempt} of {max} in {} ms",
                self.config.retry_backoff_ms
            );
            self.sleep.sleep_ms(self.config.retry_backoff_ms);
        }
    }
}

/// `HTTP 400 Bad Request: <start of the body>`.
fn describe(r: &HttpResponse) -> String {
    let body = String::from_utf8_lossy(&r.body[..r.body.len().min(300)]);
    let body = body.trim();
    if body.is_empty() {
        format!("HTTP {}", r.status)
    } else {
        format!("HTTP {}: {body}", r.status)
    }
}

/// A URL for messages: without its query, which may carry an API key.
pub fn shown_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

fn coordinates(r: &Record) -> String {
    format!(
        "{}-{} offset {}",
        r.topic,
        r.partition.unwrap_or(-1),
        r.offset.unwrap_or(-1)
    )
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
