//! One HTTP exchange behind a trait, for plugins whose protocol logic (S3, Elasticsearch bulk,
//! …) is unit-tested on the host target through scripted doubles and sends through
//! `wasi:http` in the component (`WasiHttp`, feature `http`). The types and the trait need
//! no feature and import nothing.

/// One HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// Connection refused or reset, a timeout, a body over the host's limit: worth retrying.
    Failed(String),
    /// The request can never succeed as configured: the sandbox does not grant the target
    /// (`wasm.network.allow`), or the URL or a header is not acceptable.
    Refused(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Failed(m) | TransportError::Refused(m) => f.write_str(m),
        }
    }
}

/// Sends a request and waits for the whole response.
pub trait Transport {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A [`Transport`] over the SDK's `wasi:http` client ([`crate::http`], feature `http`): what
/// the S3 and Elasticsearch sinks send with in the component. Redirects are returned, not
/// followed (a protocol client decides); what the plugin may reach, body sizes and time are
/// the host's (`wasm.network.allow`, `wasm.http.*`).
#[cfg(feature = "http")]
#[derive(Debug, Default, Clone, Copy)]
pub struct WasiHttp {
    /// Time to connect and to the first byte of the response (`None`: the host's limit).
    pub timeout: Option<std::time::Duration>,
}

#[cfg(feature = "http")]
impl Transport for WasiHttp {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        use crate::http::{Error, Request};
        let mut r = Request::new(&request.method, &request.url)
            .max_redirects(0)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            r = r.header(name, value);
        }
        if let Some(t) = self.timeout {
            r = r.timeout(t);
        }
        match r.send() {
            Ok(response) => Ok(HttpResponse {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }),
            Err(e @ (Error::Url(_) | Error::Header(_) | Error::Denied(_))) => {
                Err(TransportError::Refused(e.to_string()))
            }
            Err(e @ (Error::Failed(_) | Error::TooManyRedirects(_))) => {
                Err(TransportError::Failed(e.to_string()))
            }
        }
    }
}
