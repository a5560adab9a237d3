//! Where completed objects go: the [`Store`] trait (single-request puts and multipart
//! uploads), and [`S3Client`], its implementation for S3 and S3-compatible servers over a
//! [`Transport`], signed with SigV4.
//!
//! Design decision: every request is retried here, `s3.part.retries` times with exponential
//! backoff from `s3.retry.backoff.ms`, when it failed below HTTP, or with 5xx / 429 — the
//! answers S3 documents as transient. Any other status is final and reported with S3's own
//! error code and message. A completed upload is addressed by a deterministic key, so a
//! request retried after an unseen success just writes the same object again.

use crate::sigv4::{self, Credentials};
use sluice_plugin_sdk::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// Transient (network, 5xx, 429) after the configured retries: try again later.
    Retriable(String),
    /// Will not succeed by retrying (access denied, no such bucket, a malformed request).
    Fatal(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Retriable(m) | StoreError::Fatal(m) => f.write_str(m),
        }
    }
}

/// Object storage as the S3 sink uses it.
pub trait Store {
    /// Writes a whole object in one request.
    fn put_object(&mut self, key: &str, body: &[u8]) -> Result<(), StoreError>;
    /// Starts a multipart upload; returns its upload id.
    fn create_multipart(&mut self, key: &str) -> Result<String, StoreError>;
    /// Uploads part `part` (from 1); returns its ETag.
    fn upload_part(
        &mut self,
        key: &str,
        upload_id: &str,
        part: u32,
        body: &[u8],
    ) -> Result<String, StoreError>;
    /// Completes an upload from its parts (number, ETag): the object appears now.
    fn complete_multipart(
        &mut self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StoreError>;
    /// Abandons an upload (its parts are deleted, no object appears).
    fn abort_multipart(&mut self, key: &str, upload_id: &str) -> Result<(), StoreError>;
}

/// Wall-clock time and waiting, injected so tests need no real time.
pub trait Clock {
    fn now_ms(&self) -> i64;
    fn sleep_ms(&self, ms: u64);
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]` of the service (`s3.<region>.amazonaws.com` or `store.url`'s).
    pub authority: String,
    /// A path prefix from `store.url` (usually empty), without a trailing slash.
    pub base_path: String,
    pub bucket: String,
    pub region: String,
    /// `s3.path.style.access.enabled`: `/<bucket>/<key>` instead of `<bucket>.<host>/<key>`.
    pub path_style: bool,
}

impl Endpoint {
    /// The authority and path of `key` (path already encoded).
    fn locate(&self, key: &str) -> (String, String) {
        let key = sigv4::uri_encode(key, true);
        if self.path_style {
            (
                self.authority.clone(),
                format!(
                    "{}/{}/{key}",
                    self.base_path,
                    sigv4::uri_encode(&self.bucket, false)
                ),
            )
        } else {
            (
                format!("{}.{}", self.bucket, self.authority),
                format!("{}/{key}", self.base_path),
            )
        }
    }
}

/// Retry settings (`s3.part.retries`, `s3.retry.backoff.ms`).
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub retries: u32,
    pub backoff_ms: u64,
}

/// An S3 client over a [`Transport`].
pub struct S3Client<T, C> {
    transport: T,
    clock: C,
    endpoint: Endpoint,
    credentials: Credentials,
    retries: Retries,
}

impl<T: Transport, C: Clock> S3Client<T, C> {
    pub fn new(
        transport: T,
        clock: C,
        endpoint: Endpoint,
        credentials: Credentials,
        retries: Retries,
    ) -> Self {
        S3Client {
            transport,
            clock,
            endpoint,
            credentials,
            retries,
        }
    }

    /// Sends one signed request, retrying transient failures; returns the final response
    /// (2xx) or the reason.
    fn call(
        &mut self,
        what: &str,
        method: &str,
        key: &str,
        query: &[(String, String)],
        body: &[u8],
    ) -> Result<HttpResponse, StoreError> {
        let mut attempt = 0u32;
        loop {
            let request = self.sign(method, key, query, body);
            let failure = match self.transport.send(&request) {
                Ok(r) if (200..300).contains(&r.status) => {
                    // S3 may answer a CompleteMultipartUpload with 200 and an error body.
                    match s3_error(&r.body) {
                        None => return Ok(r),
                        Some((code, message)) => Failure::Transient(format!("{code}: {message}")),
                    }
                }
                Ok(r) => classify(&r),
                Err(TransportError::Failed(e)) => Failure::Transient(e),
                Err(TransportError::Refused(e)) => Failure::Final(e),
            };
            let message = |m: &str| {
                format!(
                    "S3 {what} of s3://{}/{key} failed: {m}",
                    self.endpoint.bucket
                )
            };
            match failure {
                Failure::Final(m) => return Err(StoreError::Fatal(message(&m))),
                Failure::Transient(m) if attempt >= self.retries.retries => {
                    return Err(StoreError::Retriable(message(&format!(
                        "{m} (after {} retries)",
                        self.retries.retries
                    ))));
                }
                Failure::Transient(_) => {
                    let backoff = self
                        .retries
                        .backoff_ms
                        .saturating_mul(1u64 << attempt.min(16));
                    self.clock.sleep_ms(backoff.min(60_000));
                    attempt += 1;
                }
            }
        }
    }

    fn sign(
        &self,
        method: &str,
        key: &str,
        query: &[(String, String)],
        body: &[u8],
    ) -> HttpRequest {
        let (authority, path) = self.endpoint.locate(key);
        let payload = sigv4::sha256_hex(body);
        let date = sigv4::amz_date(self.clock.now_ms());
        let mut headers = vec![
            ("x-amz-content-sha256".to_string(), payload.clone()),
            ("x-amz-date".to_string(), date.clone()),
        ];
        let mut signed = headers.clone();
        signed.push(("host".to_string(), authority.clone()));
        let authorization = sigv4::authorization(
            &self.credentials,
            &sigv4::Request {
                method,
                path: &path,
                query,
                headers: &signed,
                payload_sha256: &payload,
            },
            &date,
            &self.endpoint.region,
            "s3",
        );
        headers.push(("authorization".to_string(), authorization));
        let query_text = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    sigv4::uri_encode(k, false)
                } else {
                    format!(
                        "{}={}",
                        sigv4::uri_encode(k, false),
                        sigv4::uri_encode(v, false)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        let url = if query_text.is_empty() {
            format!("{}://{authority}{path}", self.endpoint.scheme)
        } else {
            format!("{}://{authority}{path}?{query_text}", self.endpoint.scheme)
        };
        HttpRequest {
            method: method.to_string(),
            url,
            headers,
            body: body.to_vec(),
        }
    }
}

enum Failure {
    Transient(String),
    Final(String),
}

/// 5xx and 429 are transient (S3's `SlowDown`, `InternalError`, `ServiceUnavailable`); any
/// other non-2xx is final.
fn classify(r: &HttpResponse) -> Failure {
    let detail = match s3_error(&r.body) {
        Some((code, message)) => format!("HTTP {} {code}: {message}", r.status),
        None => format!("HTTP {}", r.status),
    };
    if r.status >= 500 || r.status == 429 {
        Failure::Transient(detail)
    } else {
        let hint = match r.status {
            401 | 403 => {
                " (check aws.access.key.id, aws.secret.access.key and the bucket's permissions)"
            }
            404 => " (check s3.bucket.name, s3.region and store.url)",
            _ => "",
        };
        Failure::Final(format!("{detail}{hint}"))
    }
}

/// S3's `<Error><Code>…</Code><Message>…</Message></Error>` body, if that is what `body` is.
fn s3_error(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("<Error>") {
        return None;
    }
    let code = xml_text(text, "Code").unwrap_or_default();
    let message = xml_text(text, "Message").unwrap_or_default();
    Some((code, message))
}

/// The text of the first `<tag>…</tag>` in `xml`, entities decoded.
pub(crate) fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl<T: Transport, C: Clock> Store for S3Client<T, C> {
    fn put_object(&mut self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        self.call("PutObject", "PUT", key, &[], body).map(drop)
    }

    fn create_multipart(&mut self, key: &str) -> Result<String, StoreError> {
        let query = [("uploads".to_string(), String::new())];
        let r = self.call("CreateMultipartUpload", "POST", key, &query, &[])?;
        let body = String::from_utf8_lossy(&r.body);
        xml_text(&body, "UploadId").ok_or_else(|| {
            StoreError::Fatal(format!(
                "S3 CreateMultipartUpload of {key}: no UploadId in the answer: {body}"
            ))
        })
    }

    fn upload_part(
        &mut self,
        key: &str,
        upload_id: &str,
        part: u32,
        body: &[u8],
    ) -> Result<String, StoreError> {
        let query = [
            ("partNumber".to_string(), part.to_string()),
            ("uploadId".to_string(), upload_id.to_string()),
        ];
        let r = self.call("UploadPart", "PUT", key, &query, body)?;
        r.header("etag").map(str::to_string).ok_or_else(|| {
            StoreError::Fatal(format!(
                "S3 UploadPart {part} of {key}: no ETag in the answer"
            ))
        })
    }

    fn complete_multipart(
        &mut self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StoreError> {
        let query = [("uploadId".to_string(), upload_id.to_string())];
        let mut body = String::from("<CompleteMultipartUpload>");
        for (n, etag) in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                xml_escape(etag)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        self.call(
            "CompleteMultipartUpload",
            "POST",
            key,
            &query,
            body.as_bytes(),
        )
        .map(drop)
    }

    fn abort_multipart(&mut self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let query = [("uploadId".to_string(), upload_id.to_string())];
        self.call("AbortMultipartUpload", "DELETE", key, &query, &[])
            .map(drop)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Answers requests from a script and records them.
    #[derive(Default, Clone)]
    struct Scripted {
        answers: Rc<RefCell<Vec<Result<HttpResponse, TransportError>>>>,
        seen: Rc<RefCell<Vec<HttpRequest>>>,
    }

    impl Transport for Scripted {
        fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
            self.seen.borrow_mut().push(request.clone());
            self.answers.borrow_mut().remove(0)
        }
    }

    #[derive(Default, Clone)]
    struct FakeClock {
        slept: Rc<RefCell<Vec<u64>>>,
    }

    impl Clock for FakeClock {
        fn now_ms(&self) -> i64 {
            1_369_353_600_000
        }
        fn sleep_ms(&self, ms: u64) {
            self.slept.borrow_mut().push(ms);
        }
    }

    fn ok(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    fn client(
        answers: Vec<Result<HttpResponse, TransportError>>,
        path_style: bool,
    ) -> (S3Client<Scripted, FakeClock>, Scripted, FakeClock) {
        let t = Scripted::default();
        *t.answers.borrow_mut() = answers;
        let clock = FakeClock::default();
        let c = S3Client::new(
            t.clone(),
            clock.clone(),
            Endpoint {
                scheme: "http".into(),
                authority: "127.0.0.1:9000".into(),
                base_path: String::new(),
                bucket: "bkt".into(),
                region: "us-east-1".into(),
                path_style,
            },
            Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "SECRET".into(),
            },
            Retries {
                retries: 2,
                backoff_ms: 100,
            },
        );
        (c, t, clock)
    }

    #[test]
    fn put_object_is_signed_and_addressed_path_style() {
        let (mut c, t, _) = client(vec![ok(200, &[], "")], true);
        c.put_object("topics/t/partition=0/t+0+0000000000.json", b"{}\n")
            .unwrap();
        let seen = t.seen.borrow();
        let r = &seen[0];
        assert_eq!(r.method, "PUT");
        assert_eq!(
            r.url,
            "http://127.0.0.1:9000/bkt/topics/t/partition%3D0/t%2B0%2B0000000000.json"
        );
        assert_eq!(r.body, b"{}\n");
        let header = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("x-amz-content-sha256"), sigv4::sha256_hex(b"{}\n"));
        assert_eq!(header("x-amz-date"), "20130524T000000Z");
        let auth = header("authorization");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature="),
            "{auth}"
        );
        assert!(!auth.contains("SECRET"));
    }

    #[test]
    fn virtual_hosted_style_puts_the_bucket_in_the_host() {
        let (mut c, t, _) = client(vec![ok(200, &[], "")], false);
        c.put_object("a/b", b"").unwrap();
        assert_eq!(t.seen.borrow()[0].url, "http://bkt.127.0.0.1:9000/a/b");
    }

    #[test]
    fn multipart_upload_requests() {
        let (mut c, t, _) = client(
            vec![
                ok(
                    200,
                    &[],
                    "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>",
                ),
                ok(200, &[("ETag", "\"e1\"")], ""),
                ok(200, &[], "<CompleteMultipartUploadResult/>"),
            ],
            true,
        );
        let id = c.create_multipart("k").unwrap();
        assert_eq!(id, "up-1");
        let etag = c.upload_part("k", &id, 1, b"part").unwrap();
        assert_eq!(etag, "\"e1\"");
        c.complete_multipart("k", &id, &[(1, etag)]).unwrap();
        let seen = t.seen.borrow();
        assert_eq!(
            (seen[0].method.as_str(), seen[0].url.as_str()),
            ("POST", "http://127.0.0.1:9000/bkt/k?uploads")
        );
        assert_eq!(
            seen[1].url,
            "http://127.0.0.1:9000/bkt/k?partNumber=1&uploadId=up-1"
        );
        assert_eq!(seen[2].url, "http://127.0.0.1:9000/bkt/k?uploadId=up-1");
        assert_eq!(
            String::from_utf8(seen[2].body.clone()).unwrap(),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part></CompleteMultipartUpload>"
        );
    }

    #[test]
    fn transient_failures_are_retried_with_backoff_then_reported_retriable() {
        let (mut c, t, clock) = client(
            vec![
                Err(TransportError::Failed("connection refused".into())),
                ok(503, &[], "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"),
                ok(200, &[], ""),
            ],
            true,
        );
        c.put_object("k", b"x").unwrap();
        assert_eq!(t.seen.borrow().len(), 3);
        assert_eq!(*clock.slept.borrow(), vec![100, 200]);

        let (mut c, _, _) = client(
            vec![
                ok(500, &[], ""),
                ok(500, &[], ""),
                ok(
                    500,
                    &[],
                    "<Error><Code>InternalError</Code><Message>boom</Message></Error>",
                ),
            ],
            true,
        );
        let e = c.put_object("k", b"x").unwrap_err();
        assert_eq!(
            e,
            StoreError::Retriable(
                "S3 PutObject of s3://bkt/k failed: HTTP 500 InternalError: boom (after 2 retries)"
                    .into()
            )
        );
    }

    #[test]
    fn client_errors_are_final_with_s3s_code_and_a_hint() {
        let (mut c, t, _) = client(
            vec![ok(
                403,
                &[],
                "<Error><Code>SignatureDoesNotMatch</Code><Message>nope</Message></Error>",
            )],
            true,
        );
        let e = c.put_object("k", b"x").unwrap_err();
        assert_eq!(t.seen.borrow().len(), 1);
        match e {
            StoreError::Fatal(m) => {
                assert!(m.contains("HTTP 403 SignatureDoesNotMatch: nope"), "{m}");
                assert!(m.contains("aws.secret.access.key"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_the_sandbox_refuses_is_final() {
        let (mut c, t, _) = client(
            vec![Err(TransportError::Refused(
                "denied: not granted by wasm.network.allow".into(),
            ))],
            true,
        );
        match c.put_object("k", b"x").unwrap_err() {
            StoreError::Fatal(m) => assert!(m.contains("wasm.network.allow"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.seen.borrow().len(), 1);
    }

    #[test]
    fn an_error_inside_a_200_complete_answer_is_retried() {
        let (mut c, t, _) = client(
            vec![
                ok(
                    200,
                    &[],
                    "<Error><Code>InternalError</Code><Message>x</Message></Error>",
                ),
                ok(200, &[], "<CompleteMultipartUploadResult/>"),
            ],
            true,
        );
        c.complete_multipart("k", "u", &[(1, "e".into())]).unwrap();
        assert_eq!(t.seen.borrow().len(), 2);
    }
}
