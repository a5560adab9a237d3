//! A small blocking HTTP client on `wasi:http/outgoing-handler` (feature `http`).
//!
//! ```no_run
//! use sluice_plugin_sdk::http::Request;
//!
//! let response = Request::post("https://api.example.com/v1/events")
//!     .header("Content-Type", "application/json")
//!     .body(r#"{"id":1}"#)
//!     .send()
//!     .map_err(|e| e.to_string())?;
//! if response.status >= 300 {
//!     return Err(format!("HTTP {}: {}", response.status, response.text()));
//! }
//! # Ok::<(), String>(())
//! ```
//!
//! What a plugin may reach is decided by the host: its connector's `wasm.network.allow`
//! grants `host:port` entries (a request is allowed exactly where a TCP connect would be) and
//! the `wasm.http.*` keys limit body sizes, time and concurrent requests. A refused request
//! fails with [`Error::Denied`]; the worker log says why and names the key.
//!
//! Design decisions: the whole request body is sent and the whole response body is read into
//! memory (the host caps both), so the API is plain values; redirects are followed for `GET`
//! and `HEAD` (up to [`Request::max_redirects`], 5 by default), each as a new request the host
//! checks on its own — a redirect to a host the allow-list does not name fails as denied.
//! `Host`, `Connection`, `Transfer-Encoding` and other hop-by-hop headers are the host's
//! (setting one is an [`Error::Header`]).

use std::fmt;
use std::time::Duration;

#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
mod wasi {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-http;
            world http-client {
                import wasi:http/outgoing-handler@0.2.12;
            }
        ",
        world: "sluice:sdk-http/http-client",
        path: "../../wit",
        generate_all,
    });
}

use self::wasi::wasi::http::outgoing_handler;
use self::wasi::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use self::wasi::wasi::io::streams::StreamError;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The URL is not `http://host[:port][/path][?query]` or `https://…`.
    Url(String),
    /// A header the host does not accept from a plugin (`Host`, `Connection`, …) or a
    /// malformed one.
    Header(String),
    /// The host refused the request: its connector's `wasm.network.allow` does not grant the
    /// target (the worker log names the target and the key).
    Denied(String),
    /// The request failed (connection refused, timed out, TLS, a body over its limit, …); the
    /// text is the `wasi:http` error code.
    Failed(String),
    /// More redirects than [`Request::max_redirects`].
    TooManyRedirects(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(m) => write!(f, "invalid URL: {m}"),
            Error::Header(m) => write!(f, "invalid header: {m}"),
            Error::Denied(target) => write!(
                f,
                "HTTP request to {target} denied by the host: not granted by the connector's wasm.network.allow (see the worker log)"
            ),
            Error::Failed(m) => write!(f, "HTTP request failed: {m}"),
            Error::TooManyRedirects(m) => write!(f, "too many redirects: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// An HTTP request, built step by step and sent with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    max_redirects: u32,
}

/// A response: status, headers (in order, names lower case) and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Request {
    /// A request with any method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`, …).
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_redirects: 5,
        }
    }

    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    pub fn put(url: &str) -> Request {
        Request::new("PUT", url)
    }

    /// Adds a header (repeat a name for several values).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The request body (sent with its `Content-Length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// A time limit for connecting and for the first byte of the response (the host's
    /// `wasm.http.timeout.ms` bounds the whole request in any case).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// How many redirects of a `GET`/`HEAD` to follow (0: return the 3xx response).
    pub fn max_redirects(mut self, n: u32) -> Request {
        self.max_redirects = n;
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(&self) -> Result<Response, Error> {
        let mut url = Url::parse(&self.url)?;
        let follows = matches!(self.method.as_str(), "GET" | "HEAD");
        let mut left = self.max_redirects;
        loop {
            let response = self.send_once(&url)?;
            let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
            if !(follows && redirect) {
                return Ok(response);
            }
            let Some(location) = response.header("location") else {
                return Ok(response);
            };
            if left == 0 {
                return Err(Error::TooManyRedirects(format!(
                    "{} redirected again to {location}",
                    url.display()
                )));
            }
            left -= 1;
            url = url.join(location)?;
        }
    }

    fn send_once(&self, url: &Url) -> Result<Response, Error> {
        let mut headers: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let sends_body =
            !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if sends_body && !headers.iter().any(|(n, _)| n == "content-length") {
            headers.push((
                "content-length".into(),
                self.body.len().to_string().into_bytes(),
            ));
        }
        let fields = Fields::from_list(&headers).map_err(|e| {
            Error::Header(format!("{e:?} (names: {:?})", header_names(&self.headers)))
        })?;
        let request = OutgoingRequest::new(fields);
        let method = match self.method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        };
        let invalid = |what: &str| Error::Url(format!("{what} rejected: {}", url.display()));
        request
            .set_method(&method)
            .map_err(|()| invalid("method"))?;
        request
            .set_scheme(Some(&if url.https {
                Scheme::Https
            } else {
                Scheme::Http
            }))
            .map_err(|()| invalid("scheme"))?;
        request
            .set_authority(Some(&url.authority))
            .map_err(|()| invalid("authority"))?;
        request
            .set_path_with_query(Some(&url.path))
            .map_err(|()| invalid("path"))?;
        let body = request
            .body()
            .map_err(|()| Error::Failed("the request body was taken twice".into()))?;
        let options = self.timeout.map(|t| {
            let o = RequestOptions::new();
            let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            let _ = o.set_connect_timeout(Some(nanos));
            let _ = o.set_first_byte_timeout(Some(nanos));
            o
        });
        let target = url.origin();
        let future = outgoing_handler::handle(request, options).map_err(|e| failure(&target, e))?;

        // Stream the body; a write fails when the host gave up on the request (refused, over
        // a limit): the response future then says why.
        let mut written = Ok(());
        if sends_body {
            if let Ok(stream) = body.write() {
                for chunk in self.body.chunks(4096) {
                    if stream.blocking_write_and_flush(chunk).is_err() {
                        written = Err(());
                        break;
                    }
                }
            }
        }
        let finished = OutgoingBody::finish(body, None);

        let response = loop {
            match future.get() {
                Some(r) => break r,
                None => future.subscribe().block(),
            }
        };
        let response = match response {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(failure(&target, e)),
            Err(()) => return Err(Error::Failed("the response was taken twice".into())),
        };
        if let Err(e) = finished {
            return Err(failure(&target, e));
        }
        if written.is_err() {
            return Err(Error::Failed(
                "the host stopped reading the request body".into(),
            ));
        }
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| Error::Failed("the response body was taken twice".into()))?;
        let mut data = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|()| Error::Failed("the response body stream was taken twice".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => data.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        let code = self::wasi::wasi::http::types::http_error_code(&e);
                        return Err(match code {
                            Some(code) => failure(&target, code),
                            None => Error::Failed(format!(
                                "reading the response body from {target}: {}",
                                e.to_debug_string()
                            )),
                        });
                    }
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            headers,
            body: data,
        })
    }
}

fn header_names(headers: &[(String, String)]) -> Vec<&str> {
    headers.iter().map(|(n, _)| n.as_str()).collect()
}

fn failure(target: &str, code: ErrorCode) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => Error::Denied(target.to_string()),
        other => Error::Failed(format!("{target}: {other:?}")),
    }
}

/// A parsed `http(s)://authority/path?query` URL (the fragment dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    https: bool,
    authority: String,
    path: String,
}

impl Url {
    fn parse(url: &str) -> Result<Url, Error> {
        let (https, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (false, rest)
        } else {
            return Err(Error::Url(format!(
                "`{url}`: only http:// and https:// URLs are supported"
            )));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(Error::Url(format!("`{url}` has no host")));
        }
        let tail = tail.split('#').next().unwrap_or_default();
        let path = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        Ok(Url {
            https,
            authority: authority.to_string(),
            path,
        })
    }

    /// Resolves a `Location` header against this URL.
    fn join(&self, location: &str) -> Result<Url, Error> {
        if location.contains("://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            let scheme = if self.https { "https://" } else { "http://" };
            return Url::parse(&format!("{scheme}{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Url {
            https: self.https,
            authority: self.authority.clone(),
            path,
        })
    }

    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }

    fn display(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_origin_form_path() {
        let u = Url::parse("HTTPS://api.example.com:8443/v1/x?a=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
                https: true,
                authority: "api.example.com:8443".into(),
                path: "/v1/x?a=1".into()
            }
        );
        assert_eq!(Url::parse("http://h").unwrap().path, "/");
        assert_eq!(Url::parse("http://h?q=1").unwrap().path, "/?q=1");
        assert_eq!(
            Url::parse("http://[::1]:80/").unwrap().authority,
            "[::1]:80"
        );
        assert!(matches!(Url::parse("ftp://h/"), Err(Error::Url(_))));
        assert!(matches!(Url::parse("http:///x"), Err(Error::Url(_))));
    }

    #[test]
    fn redirect_locations_resolve_against_the_request_url() {
        let base = Url::parse("http://a:1/dir/page?x=1").unwrap();
        assert_eq!(base.join("/root").unwrap().display(), "http://a:1/root");
        assert_eq!(base.join("next").unwrap().display(), "http://a:1/dir/next");
        assert_eq!(base.join("//b:2/p").unwrap().display(), "http://b:2/p");
        assert_eq!(base.join("https://c/q").unwrap().display(), "https://c/q");
    }
}
