//! Outgoing `wasi:http` for plugins: wasmtime-wasi-http's `outgoing-handler` with our own
//! `send_request` ([`HttpHooks`]), which applies the connector's `wasm.network.allow` and the
//! `wasm.http.*` limits to every request.
//!
//! Design decisions:
//! * **Granted by the TCP allow-list.** A request to `host:port` is allowed exactly when a TCP
//!   connect to it would be: the host resolves the URL's host itself (only names some
//!   host-name entry matches, as for `ip-name-lookup`), records what it resolved in the
//!   store's [`Guard`], and connects only to an address the policy grants — so the special
//!   ranges need an IP/CIDR entry or `localhost`, whatever DNS answers, and the address
//!   checked is the address connected to (no second lookup in between).
//! * **The URL's authority is the only target.** The `Host` header is wasmtime-wasi-http's
//!   forbidden-header list (a guest cannot set it), and is checked again here to equal the
//!   authority; user info in the authority and absolute-form paths are refused.
//! * **No redirects in the host.** hyper's client connection never follows one: the guest
//!   sees the 3xx, and a guest (or SDK) that follows it sends a new request, checked like
//!   any other.
//! * **Bounded.** One deadline (`wasm.http.timeout.ms`) covers lookup, connect, TLS, the
//!   response head and the whole response body; request and response bodies are capped
//!   (`wasm.http.request.max.bytes`, `wasm.http.response.max.bytes`, checked on
//!   `Content-Length` up front and on the bytes actually streamed); at most
//!   `wasm.http.max.concurrent` requests of one task are open at once (a request over the
//!   cap fails at once with `connection-limit-reached`, it does not queue).
//! * **TLS verified** against the Mozilla roots compiled in (webpki-roots, as
//!   wasmtime-wasi-http's default); `wasm.http.tls.insecure=true` switches verification off
//!   for self-signed test servers (off by default).
//! * Refusals and limit breaches are logged through the store's rate-limited denial log
//!   (scheme and authority only: a path or query may carry secrets) and fail the request in
//!   the guest with a `wasi:http` error code (`HTTP-request-denied`, `HTTP-request-body-size`,
//!   …). wasmtime-wasi-http's own unthrottled warnings are replaced by these.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant, Sleep};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::guard::Guard;
use super::policy::special_block;
use super::NETWORK_KEY;

/// Time limit of one request: lookup, connect, TLS, response head and body, in ms.
pub const HTTP_TIMEOUT_KEY: &str = "wasm.http.timeout.ms";
/// Maximum request body, in bytes.
pub const HTTP_REQUEST_MAX_KEY: &str = "wasm.http.request.max.bytes";
/// Maximum response body, in bytes.
pub const HTTP_RESPONSE_MAX_KEY: &str = "wasm.http.response.max.bytes";
/// Maximum number of requests of one task open at once.
pub const HTTP_MAX_CONCURRENT_KEY: &str = "wasm.http.max.concurrent";
/// `true` switches TLS certificate verification off (self-signed test servers only).
pub const HTTP_TLS_INSECURE_KEY: &str = "wasm.http.tls.insecure";

/// The `wasm.http.*` limits of one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    pub timeout: Duration,
    pub request_max_bytes: u64,
    pub response_max_bytes: u64,
    pub max_concurrent: usize,
    pub tls_insecure: bool,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout: Duration::from_secs(30),
            request_max_bytes: 16 << 20,
            response_max_bytes: 16 << 20,
            max_concurrent: 8,
            tls_insecure: false,
        }
    }
}

/// One store's `wasi:http` hooks: its network guard, its limits and its open-request cap.
pub(crate) struct HttpHooks {
    guard: Arc<Guard>,
    limits: HttpLimits,
    open: Arc<Semaphore>,
}

impl HttpHooks {
    /// `guard` is the store's network guard (one with an empty policy if it has no network).
    pub fn new(guard: Arc<Guard>, limits: HttpLimits) -> HttpHooks {
        let open = Arc::new(Semaphore::new(limits.max_concurrent.max(1)));
        HttpHooks {
            guard,
            limits,
            open,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        let guard = Arc::clone(&self.guard);
        let limits = self.limits.clone();
        let open = Arc::clone(&self.open);
        Box::new(async move {
            let (response, io) = send(&guard, &limits, open, request, options).await?;
            Ok((response, Box::new(io) as IoFuture))
        })
    }

    // The defaults log every failure with an unthrottled warning; `send` logs what matters
    // through the store's rate-limited denial log instead.
    fn p2_error_from_hyper(&mut self, err: &hyper::Error) -> ErrorCode {
        if err.is_timeout() {
            ErrorCode::HttpResponseTimeout
        } else if err.is_incomplete_message() {
            ErrorCode::HttpResponseIncomplete
        } else {
            ErrorCode::HttpProtocolError
        }
    }

    fn p2_error_from_connect(&mut self, err: &io::Error) -> ErrorCode {
        match err.kind() {
            io::ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                ErrorCode::ConnectionTerminated
            }
            _ => ErrorCode::ConnectionRefused,
        }
    }

    fn p2_error_from_tls(&mut self, _err: &io::Error) -> ErrorCode {
        ErrorCode::TlsProtocolError
    }
}

/// What a refused request is told and logged.
fn denied(guard: &Guard, target: &str, why: &str) -> Error {
    guard.log_http(&format!(
        "plugin network access denied: HTTP request to {target}: {why}"
    ));
    Error::HttpRequestDenied
}

fn not_granted(guard: &Guard, ips: &[IpAddr]) -> String {
    if !guard.grants_any_tcp() {
        return format!(
            "not allowed: the connector sets no {NETWORK_KEY} (HTTP requests are granted by its entries)"
        );
    }
    let shown: Vec<String> = ips.iter().take(4).map(IpAddr::to_string).collect();
    let special = ips
        .iter()
        .any(|ip| special_block(ip.to_canonical()).is_some());
    format!(
        "not allowed by {NETWORK_KEY} (address {}){}",
        shown.join(", "),
        if special {
            "; loopback, private and link-local addresses need an IP or CIDR entry that names them, or `localhost`"
        } else {
            ""
        }
    )
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn send(
    guard: &Guard,
    limits: &HttpLimits,
    open: Arc<Semaphore>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<
    (
        http::Response<WasiBody>,
        impl Future<Output = Result<(), Error>> + Send,
    ),
    Error,
> {
    let start = Instant::now();
    let deadline = start + limits.timeout;
    let within = |d: Option<Duration>| d.map_or(deadline, |d| deadline.min(Instant::now() + d));
    let uri = request.uri().clone();
    let tls = match uri.scheme() {
        Some(s) if *s == Scheme::HTTPS => true,
        Some(s) if *s == Scheme::HTTP => false,
        _ => return Err(Error::HttpRequestUriInvalid),
    };
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?.clone();
    let target = format!("{}://{authority}", if tls { "https" } else { "http" });
    if authority.as_str().contains('@') {
        return Err(denied(
            guard,
            &target,
            "user info in the URL is not allowed",
        ));
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if !path.starts_with('/') && path != "*" {
        return Err(Error::HttpRequestUriInvalid);
    }
    let host_ok = {
        let mut hosts = request.headers().get_all(http::header::HOST).iter();
        let first = hosts.next();
        hosts.next().is_none()
            && first.is_none_or(|h| h.as_bytes() == authority.as_str().as_bytes())
    };
    if !host_ok {
        return Err(denied(
            guard,
            &target,
            "the Host header must name the URL's host and port",
        ));
    }
    let host = authority.host();
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);

    // Resolve (only names an entry matches) and keep the addresses the policy grants.
    let candidates: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let Some(entries) = guard.lookup(literal) else {
                let why = if guard.grants_any_tcp() {
                    format!("no host-name entry in {NETWORK_KEY} matches `{literal}`")
                } else {
                    not_granted(guard, &[])
                };
                return Err(denied(guard, &target, &why));
            };
            let found = timeout_at(deadline, tokio::net::lookup_host((literal, port)))
                .await
                .map_err(|_| Error::DnsTimeout)?
                .map_err(|e| Error::DnsError {
                    rcode: Some(e.to_string()),
                    info_code: None,
                })?;
            let ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
            for ip in &ips {
                guard.record(*ip, &entries);
            }
            ips
        }
    };
    let allowed: Vec<SocketAddr> = candidates
        .iter()
        .filter(|ip| guard.permits_tcp(**ip, port))
        .map(|ip| SocketAddr::new(*ip, port))
        .collect();
    if allowed.is_empty() {
        return Err(denied(guard, &target, &not_granted(guard, &candidates)));
    }

    let permit = open.try_acquire_owned().map_err(|_| {
        guard.log_http(&format!(
            "plugin HTTP request to {target} refused: {HTTP_MAX_CONCURRENT_KEY}={} requests of this task are already open",
            limits.max_concurrent
        ));
        Error::ConnectionLimitReached
    })?;
    let permit = Arc::new(permit);

    if let Some(len) = content_length(request.headers()) {
        if len > limits.request_max_bytes {
            guard.log_http(&format!(
                "plugin HTTP request to {target} refused: its body of {len} bytes exceeds {HTTP_REQUEST_MAX_KEY}={}",
                limits.request_max_bytes
            ));
            return Err(Error::HttpRequestBodySize(Some(len)));
        }
    }

    // Connect to a granted address, the one checked.
    let connect_deadline = within(options.and_then(|o| o.connect_timeout));
    let mut last = None;
    let mut stream = None;
    for addr in &allowed {
        match timeout_at(connect_deadline, TcpStream::connect(*addr)).await {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = Some(e),
        }
    }
    let stream = match stream {
        Some(s) => s,
        None => {
            return Err(Error::Connect(
                last.unwrap_or_else(|| io::Error::other("no address to connect to")),
            ))
        }
    };
    let stream: Box<dyn Stream> = if tls {
        let name = rustls::pki_types::ServerName::try_from(literal.to_owned())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let connector = tokio_rustls::TlsConnector::from(tls_config(limits.tls_insecure));
        match timeout_at(connect_deadline, connector.connect(name, stream)).await {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Ok(s)) => Box::new(s),
            Ok(Err(e)) => {
                let certificate = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
                return Err(if certificate {
                    guard.log_http(&format!(
                        "plugin HTTP request to {target} failed: its TLS certificate is not valid ({e}); \
                         for a self-signed test server set {HTTP_TLS_INSECURE_KEY}=true"
                    ));
                    Error::TlsCertificateError
                } else {
                    Error::Tls(e)
                });
            }
        }
    } else {
        Box::new(stream)
    };
    let (mut sender, conn) = timeout_at(
        connect_deadline,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // The request line carries the path only (origin form); the authority is in `Host`.
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    let request = request.map(|body| {
        Capped {
            inner: body,
            seen: 0,
            max: limits.request_max_bytes,
            over: Error::HttpRequestBodySize,
            deadline: None,
            _permit: None,
        }
        .boxed_unsync()
    });

    let first_byte = within(options.and_then(|o| o.first_byte_timeout));
    let mut conn = Box::pin(conn);
    let mut conn_done = false;
    let sending = timeout_at(first_byte, sender.send_request(request));
    tokio::pin!(sending);
    let response = loop {
        tokio::select! {
            response = &mut sending => break response,
            done = &mut conn, if !conn_done => {
                conn_done = true;
                done?;
            }
        }
    };
    let response = response
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(Error::from)?;
    let (parts, body) = response.into_parts();
    if let Some(len) = content_length(&parts.headers) {
        if len > limits.response_max_bytes {
            guard.log_http(&format!(
                "plugin HTTP request to {target} failed: the response body of {len} bytes exceeds {HTTP_RESPONSE_MAX_KEY}={}",
                limits.response_max_bytes
            ));
            return Err(Error::HttpResponseBodySize(Some(len)));
        }
    }
    let body = Capped {
        inner: body.map_err(Error::from),
        seen: 0,
        max: limits.response_max_bytes,
        over: Error::HttpResponseBodySize,
        deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
        _permit: Some(Arc::clone(&permit)),
    }
    .boxed_unsync();
    let io = async move {
        let _permit = permit;
        if conn_done {
            return Ok(());
        }
        match timeout_at(deadline, conn).await {
            Err(_) => Err(Error::HttpResponseTimeout),
            Ok(r) => r.map_err(Error::from),
        }
    };
    Ok((http::Response::from_parts(parts, body), io))
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A body cut off (with an error) past `max` bytes or its deadline; keeps the request's
/// slot of the open-request cap until it is dropped.
struct Capped<B> {
    inner: B,
    seen: u64,
    max: u64,
    over: fn(Option<u64>) -> Error,
    deadline: Option<Pin<Box<Sleep>>>,
    _permit: Option<Arc<OwnedSemaphorePermit>>,
}

impl<B> Body for Capped<B>
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.max {
                        return Poll::Ready(Some(Err((this.over)(Some(this.seen)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if let Some(sleep) = this.deadline.as_mut() {
                    if sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
                    }
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The rustls client configuration: verified against the webpki roots, or (insecure) not at
/// all. Built once per process each.
fn tls_config(insecure: bool) -> Arc<rustls::ClientConfig> {
    static VERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static INSECURE: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let cell = if insecure { &INSECURE } else { &VERIFIED };
    Arc::clone(cell.get_or_init(|| {
        // Deprecated in rustls 0.23.4x only for lacking post-quantum key exchange (which needs
        // aws-lc-rs and a C/CMake build); classic ECDHE is what HTTPS APIs offer today.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("ring supports the default TLS versions: {e}"));
        let mut config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                .with_no_client_auth()
        } else {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }))
}

/// `wasm.http.tls.insecure=true`: accepts any certificate (signatures are still checked to
/// be well-formed for the handshake).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::wasm::engine::Owner;
    use crate::wasm::network::{NetworkPolicy, Proto};

    fn hooks(allow: &str, limits: HttpLimits) -> (Arc<Guard>, HttpLimits, Arc<Semaphore>) {
        let mut policy = NetworkPolicy::default();
        policy.add(Proto::Tcp, allow).unwrap();
        let guard = Arc::new(Guard::new(
            policy,
            Owner {
                connector: "c".into(),
                task: "0".into(),
            },
        ));
        let open = Arc::new(Semaphore::new(limits.max_concurrent));
        (guard, limits, open)
    }

    /// A one-shot server answering every connection with `body` (read the request first).
    fn server(body: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    }

    fn request(url: &str, host: Option<&str>) -> http::Request<WasiBody> {
        let authority = url.split('/').nth(2).unwrap().to_string();
        http::Request::builder()
            .uri(url)
            .header(http::header::HOST, host.unwrap_or(&authority))
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .unwrap()
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    async fn get(
        allow: &str,
        limits: HttpLimits,
        url: &str,
        host: Option<&str>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let (guard, limits, open) = hooks(allow, limits);
        let (response, io) = send(&guard, &limits, open, request(url, host), None).await?;
        let io = tokio::spawn(io);
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        io.await.unwrap()?;
        Ok((status, body))
    }

    #[test]
    fn a_granted_request_is_sent_and_answered() {
        let port = server("hello");
        let url = format!("http://127.0.0.1:{port}/x?y=1");
        let (status, body) = run(get(
            &format!("127.0.0.1:{port}"),
            HttpLimits::default(),
            &url,
            None,
        ))
        .unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
    }

    #[test]
    fn loopback_needs_an_entry_that_names_it_and_the_port_must_match() {
        let port = server("hello");
        let url = format!("http://127.0.0.1:{port}/");
        for allow in ["*:*", "0.0.0.0/0:*", "", &format!("127.0.0.1:{}", port ^ 1)] {
            let err = run(get(allow, HttpLimits::default(), &url, None)).unwrap_err();
            assert!(matches!(err, Error::HttpRequestDenied), "{allow}: {err}");
        }
        // A name that no entry lists is not even looked up.
        let err = run(get(
            &format!("127.0.0.1:{port}"),
            HttpLimits::default(),
            &format!("http://localhost:{port}/"),
            None,
        ))
        .unwrap_err();
        assert!(matches!(err, Error::HttpRequestDenied), "{err}");
    }

    #[test]
    fn the_host_header_must_be_the_urls_authority_and_user_info_is_refused() {
        let port = server("hello");
        let allow = format!("127.0.0.1:{port}");
        let url = format!("http://127.0.0.1:{port}/");
        let err = run(get(
            &allow,
            HttpLimits::default(),
            &url,
            Some("internal.example:80"),
        ))
        .unwrap_err();
        assert!(matches!(err, Error::HttpRequestDenied), "{err}");
        let url = format!("http://user@127.0.0.1:{port}/");
        let err = run(get(&allow, HttpLimits::default(), &url, None)).unwrap_err();
        assert!(matches!(err, Error::HttpRequestDenied), "{err}");
    }

    #[test]
    fn response_bodies_over_the_limit_fail() {
        let port = server("0123456789abcdef");
        let limits = HttpLimits {
            response_max_bytes: 8,
            ..HttpLimits::default()
        };
        let err = run(get(
            &format!("127.0.0.1:{port}"),
            limits,
            &format!("http://127.0.0.1:{port}/"),
            None,
        ))
        .unwrap_err();
        assert!(
            matches!(err, Error::HttpResponseBodySize(Some(16))),
            "{err}"
        );
    }

    #[test]
    fn open_requests_are_capped_per_task() {
        let port = server("hello");
        let limits = HttpLimits {
            max_concurrent: 1,
            ..HttpLimits::default()
        };
        let url = format!("http://127.0.0.1:{port}/");
        let (guard, limits, open) = hooks(&format!("127.0.0.1:{port}"), limits);
        run(async {
            let first = send(
                &guard,
                &limits,
                Arc::clone(&open),
                request(&url, None),
                None,
            )
            .await
            .unwrap();
            let second = send(
                &guard,
                &limits,
                Arc::clone(&open),
                request(&url, None),
                None,
            )
            .await;
            assert!(matches!(second, Err(Error::ConnectionLimitReached)));
            // Done with the first (its body and connection): the slot is free again.
            drop(first);
            let third = send(
                &guard,
                &limits,
                Arc::clone(&open),
                request(&url, None),
                None,
            )
            .await;
            assert!(third.is_ok());
        });
    }
}
