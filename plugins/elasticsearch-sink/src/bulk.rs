//! Bulk requests: operations grouped by `batch.size` and `bulk.size.bytes`, sent to `_bulk`
//! with retries, and each item of the answer handled as Confluent's `ElasticsearchClient`
//! does.
//!
//! Per item: success; a version conflict on an externally versioned operation (a replayed
//! or older record: ignored, the newer document stays); a malformed document
//! (`mapper_parsing_exception` and the like) reported to the dead letter queue and skipped,
//! or failing the task, as `behavior.on.malformed.documents` says; any other error reported
//! and failing the task. Sluice also retries items rejected with 429 (Elasticsearch's write
//! queue was full), `max.retries` times, where Confluent's client fails the task.
//! A whole request that failed below HTTP, with 5xx or 429, is retried `max.retries` times with
//! a backoff doubling from `retry.backoff.ms`, then fails the task; other statuses fail it
//! at once.

use serde_json::Value as Json;
use sluice_plugin_sdk::log;

use crate::config::{EsConfig, Malformed};
use crate::document::BulkOp;
use sluice_plugin_sdk::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// Errors Confluent counts as malformed documents.
const MALFORMED_DOC_ERRORS: [&str; 5] = [
    "strict_dynamic_mapping_exception",
    "mapper_parsing_exception",
    "illegal_argument_exception",
    "action_request_validation_exception",
    "document_parsing_exception",
];
const VERSION_CONFLICT: &str = "version_conflict_engine_exception";

/// What became of one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Not written; report the record (dead letter queue) and go on.
    Report(String),
    /// Not written, and the task must fail.
    Fail(String),
}

/// Waiting between retries, injected so tests need no real time.
pub trait Sleep {
    fn sleep_ms(&self, ms: u64);
}

pub struct RealSleep;

impl Sleep for RealSleep {
    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Splits `ops` into bulk requests of at most `batch.size` operations and `bulk.size.bytes`
/// bytes (an operation larger than the byte limit goes alone). Returns index ranges.
pub fn batches(ops: &[&BulkOp], config: &EsConfig) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, op) in ops.iter().enumerate() {
        let full = i - start >= config.batch_size
            || config
                .bulk_size_bytes
                .is_some_and(|limit| i > start && bytes + op.lines.len() > limit);
        if full {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += op.lines.len();
    }
    if start < ops.len() {
        out.push(start..ops.len());
    }
    out
}

/// Sends requests to the configured URLs with the retry policy.
pub struct Client<T, S> {
    transport: T,
    sleep: S,
    config: EsConfig,
    /// Which URL is used now; the next one after a failure below HTTP.
    url: usize,
}

enum Failure {
    Transient(String),
    Final(String),
}

impl<T: Transport, S: Sleep> Client<T, S> {
    pub fn new(transport: T, sleep: S, config: EsConfig) -> Self {
        Client {
            transport,
            sleep,
            config,
            url: 0,
        }
    }

    /// One request to `path`, retried on failures below HTTP, 5xx and 429; `ok` lists the
    /// non-2xx statuses that count as an answer (404 for an index lookup).
    fn call(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: &[u8],
        ok: &[u16],
    ) -> Result<HttpResponse, String> {
        let mut attempt = 0;
        loop {
            let base = &self.config.urls[self.url % self.config.urls.len()];
            let mut headers = Vec::new();
            if !body.is_empty() {
                let ty = if path.ends_with("_bulk") {
                    "application/x-ndjson"
                } else {
                    "application/json"
                };
                headers.push(("content-type".to_string(), ty.to_string()));
            }
            if let Some(auth) = &self.config.basic_auth {
                headers.push(("authorization".to_string(), auth.clone()));
            }
            let request = HttpRequest {
                method: method.into(),
                url: format!("{base}{path}"),
                headers,
                body: body.to_vec(),
            };
            let failure = match self.transport.send(&request) {
                Ok(r) if (200..300).contains(&r.status) || ok.contains(&r.status) => return Ok(r),
                Ok(r) => {
                    let detail = format!(
                        "HTTP {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
                    );
                    if r.status >= 500 || r.status == 429 {
                        Failure::Transient(detail)
                    } else {
                        Failure::Final(detail)
                    }
                }
                Err(TransportError::Failed(e)) => {
                    self.url += 1;
                    Failure::Transient(e)
                }
                Err(TransportError::Refused(e)) => Failure::Final(e),
            };
            match failure {
                Failure::Final(m) => return Err(format!("{what} failed: {m}")),
                Failure::Transient(m) if attempt >= self.config.max_retries => {
                    return Err(format!(
                        "{what} failed after {} retries: {m}",
                        self.config.max_retries
                    ))
                }
                Failure::Transient(m) => {
                    log::warn!("elasticsearch-sink: {what} failed (retrying): {m}");
                    self.backoff(attempt);
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) {
        let ms = self
            .config
            .retry_backoff_ms
            .saturating_mul(1u64 << attempt.min(16));
        self.sleep.sleep_ms(ms.min(60_000));
    }

    /// Creates `index` unless it exists (Confluent's `createIndexOrDataStream`).
    pub fn ensure_index(&mut self, index: &str) -> Result<(), String> {
        let path = format!("/{}", encode_path(index));
        let r = self.call(
            &format!("checking index {index}"),
            "HEAD",
            &path,
            &[],
            &[404],
        )?;
        if r.status != 404 {
            return Ok(());
        }
        let r = self.call(
            &format!("creating index {index}"),
            "PUT",
            &path,
            &[],
            &[400],
        )?;
        if r.status == 400
            && !String::from_utf8_lossy(&r.body).contains("resource_already_exists_exception")
        {
            return Err(format!(
                "creating index {index} failed: HTTP 400: {}",
                String::from_utf8_lossy(&r.body)
            ));
        }
        Ok(())
    }

    /// Sends `ops` as bulk requests; one outcome per op, in order.
    pub fn send(&mut self, ops: &[&BulkOp]) -> Result<Vec<Outcome>, String> {
        let mut outcomes = Vec::with_capacity(ops.len());
        for range in batches(ops, &self.config) {
            outcomes.extend(self.send_batch(&ops[range])?);
        }
        Ok(outcomes)
    }

    fn send_batch(&mut self, ops: &[&BulkOp]) -> Result<Vec<Outcome>, String> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; ops.len()];
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        let mut attempt = 0;
        loop {
            let body: Vec<u8> = pending
                .iter()
                .flat_map(|&i| ops[i].lines.iter().copied())
                .collect();
            let r = self.call("bulk request", "POST", "/_bulk", &body, &[])?;
            let json: Json = serde_json::from_slice(&r.body)
                .map_err(|e| format!("bulk request: the answer is not JSON: {e}"))?;
            let items = json
                .get("items")
                .and_then(Json::as_array)
                .filter(|items| items.len() == pending.len())
                .ok_or_else(|| {
                    format!(
                        "bulk request: the answer has no item per operation ({} sent): {}",
                        pending.len(),
                        String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
                    )
                })?;
            let mut retry = Vec::new();
            for (&i, item) in pending.iter().zip(items) {
                match classify(item, ops[i].external_version, self.config.malformed) {
                    Item::Retry(m) if attempt < self.config.max_retries => {
                        log::warn!("elasticsearch-sink: document rejected (retrying): {m}");
                        retry.push(i);
                    }
                    Item::Retry(m) => {
                        outcomes[i] = Some(Outcome::Fail(format!(
                            "Indexing record failed after {} retries: {m}",
                            self.config.max_retries
                        )))
                    }
                    Item::Outcome(o) => outcomes[i] = Some(o),
                }
            }
            if retry.is_empty() {
                return Ok(outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or(Outcome::Done))
                    .collect());
            }
            self.backoff(attempt);
            attempt += 1;
            pending = retry;
        }
    }
}

enum Item {
    Outcome(Outcome),
    Retry(String),
}

fn classify(item: &Json, external_version: bool, malformed: Malformed) -> Item {
    let Some((action, result)) = item.as_object().and_then(|o| o.iter().next()) else {
        return Item::Outcome(Outcome::Fail(format!(
            "bulk answer item is not an object: {item}"
        )));
    };
    let Some(error) = result.get("error") else {
        return Item::Outcome(Outcome::Done);
    };
    let text = |k: &str| {
        error
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let message = format!("{}: {}", text("type"), text("reason"));
    let id = result.get("_id").and_then(Json::as_str).unwrap_or("");
    let index = result.get("_index").and_then(Json::as_str).unwrap_or("");
    let status = result.get("status").and_then(Json::as_u64).unwrap_or(0);
    if status == 429 {
        return Item::Retry(message);
    }
    if MALFORMED_DOC_ERRORS.iter().any(|e| message.contains(e)) {
        let m = format!("Indexing failed: {message}");
        return Item::Outcome(match malformed {
            Malformed::Ignore => Outcome::Report(m),
            Malformed::Warn => {
                log::warn!("elasticsearch-sink: Encountered an illegal document error. Ignoring and will not index record: {message}");
                Outcome::Report(m)
            }
            Malformed::Fail => Outcome::Fail(format!(
                "Indexing record failed (document '{id}' of index '{index}'): {message}. To ignore \
                 records like this, change the configuration 'behavior.on.malformed.documents' to \
                 'ignore'"
            )),
        });
    }
    if message.contains(VERSION_CONFLICT) {
        if external_version {
            // A replayed or older record: the newer document stays.
            return Item::Outcome(Outcome::Done);
        }
        log::warn!("elasticsearch-sink: Version conflict for operation {action} on document '{id}' in index '{index}'.");
        return Item::Outcome(Outcome::Report(format!("Indexing failed: {message}")));
    }
    Item::Outcome(Outcome::Fail(format!(
        "Indexing record failed (document '{id}' of index '{index}'): {message}"
    )))
}

fn encode_path(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'+' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
