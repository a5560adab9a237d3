//! One HTTP exchange behind a trait, for plugins whose protocol logic (S3, Elasticsearch bulk,
//! …) is unit-tested on the host target through scripted doubles and sends through
//! `wasi:http` in the component. Pure types: no feature, no `wasi:http` import.

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

/// A transport that refuses every request: for a plugin whose `wasi:http` wiring is not enabled
/// yet, so it fails with a clear message instead of pretending to send.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl Transport for Unavailable {
    fn send(&mut self, _request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Refused(
            "outgoing HTTP is not available in this build of the plugin".into(),
        ))
    }
}
