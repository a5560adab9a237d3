//! A real HTTP/1.1 server on loopback for tests of plugins that make HTTP requests: every
//! request is recorded (method, path, headers, body) and answered by the test's handler, which
//! can script failures (a status, a redirect, closing the connection without an answer).
//!
//! Plain `std::net` with a thread per connection: requests from the worker arrive one
//! connection each (`Connection: close`), bodies with `Content-Length` or chunked. No HTTP crate,
//! so the test crate's dependency tree stays small (see `http.rs`). [`TestHttpServer::start_tls`]
//! serves HTTPS with rustls (the host's TLS library) and the self-signed certificate in
//! `tests/fixtures/tls/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// Header names lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("<not UTF-8>")
    }
}

/// What the handler answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A response with this status, extra headers and body (`Content-Length` is added).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering (a server dying mid-request).
    Close,
}

impl Reply {
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::Respond {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The server; stops (and joins its accept thread) when dropped.
pub struct TestHttpServer {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestHttpServer {
    /// Starts a server on a free loopback port. `handler` gets each request and its index
    /// (0 for the first request the server received).
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        TestHttpServer::start_on(0, handler)
    }

    /// As [`start`](Self::start), on loopback port `port` (a server that comes up where a
    /// connector has been failing to connect).
    pub fn start_on(
        port: u16,
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        TestHttpServer::launch(port, None, handler)
    }

    /// As [`start`](Self::start), serving HTTPS with a self-signed certificate for
    /// `localhost` and `127.0.0.1` (`tests/fixtures/tls/`), which no trust store accepts.
    pub fn start_tls(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        TestHttpServer::launch(0, Some(self_signed_config()), handler)
    }

    fn launch(
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind the test HTTP server to 127.0.0.1:{port}: {e}"));
        let addr = listener.local_addr().expect("test HTTP server address");
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let tls_enabled = tls.is_some();
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::Builder::new()
                .name(format!("test-http-{}", addr.port()))
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let (requests, handler) = (Arc::clone(&requests), Arc::clone(&handler));
                        let tls = tls.clone();
                        std::thread::spawn(move || {
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
                            let _ = stream.set_nodelay(true);
                            match tls {
                                None => serve(stream, &requests, &*handler),
                                Some(config) => {
                                    // A client that refuses the certificate ends the handshake:
                                    // the first read fails and the connection is dropped.
                                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                                        return;
                                    };
                                    let tls = rustls::StreamOwned::new(conn, stream);
                                    serve(tls, &requests, &*handler)
                                }
                            }
                        });
                    }
                })
                .expect("spawn the test HTTP server")
        };
        TestHttpServer {
            addr,
            tls: tls_enabled,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// A server answering every request with `200` and the body `ok`.
    pub fn ok() -> Self {
        TestHttpServer::start(|_, _| Reply::status(200, "ok"))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port><path>` (`https://…` for a [`start_tls`](Self::start_tls) server).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until at least `n` requests arrived; panics with what did arrive after `timeout`.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} HTTP requests at {} within {timeout:?}, got {}: {got:#?}",
                    self.addr,
                    got.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: impl Read + Write, requests: &Mutex<Vec<Recorded>>, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    // Keep-alive: answer requests on this connection until the client closes it.
    while let Some(request) = read_request(&mut reader) {
        let index = {
            let mut all = requests.lock().unwrap_or_else(|p| p.into_inner());
            all.push(request.clone());
            all.len() - 1
        };
        let (status, headers, body) = match handler(&request, index) {
            Reply::Close => return,
            Reply::Respond {
                status,
                headers,
                body,
            } => (status, headers, body),
        };
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (n, v) in &headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        // One write per response: a head and a body in two small writes make a keep-alive
        // client wait for Nagle and its delayed ACK (~40 ms a request), which made this
        // server, not the client under test, the bottleneck of the HTTP sink benchmark.
        let mut response = head.into_bytes();
        response.extend_from_slice(&body);
        let writer = reader.get_mut();
        if writer.write_all(&response).is_err() {
            return;
        }
        let _ = writer.flush();
        if request
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// rustls's server configuration for the fixture certificate (ring, as the host uses).
fn self_signed_config() -> Arc<rustls::ServerConfig> {
    let dir = crate::workspace_root().join("tests/fixtures/tls");
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read the TLS fixture {name}: {e}"))
    };
    let cert = rustls::pki_types::CertificateDer::from(read("self-signed-cert.der"));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(read("self-signed-key.pk8.der").into());
    // Deprecated in rustls 0.23.4x only for lacking post-quantum key exchange, as in the host.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the TLS fixture certificate and key");
    Arc::new(config)
}
