//! A minimal blocking HTTP/1.1 GET client for the worker's REST API.
//!
//! Raw HTTP over `TcpStream` rather than an HTTP crate: the tests only ever GET small JSON
//! documents from loopback with `Connection: close`, and this keeps the test crate's dependency
//! tree (and its build time on a 2-core CI machine) small.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status code and body text.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// The status line and headers, as received.
    pub head: String,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "response (HTTP {}) is not JSON ({e}): {:?}",
                self.status, self.body
            )
        })
    }
}

/// `GET path` from `addr`. Errors are I/O errors (connection refused while the worker starts).
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).map_err(|m| std::io::Error::new(std::io::ErrorKind::InvalidData, m))
}

/// `METHOD path` to `addr` with an optional JSON body (sent with `Content-Type:
/// application/json` and a `Content-Length`, even when empty, as curl does for `-X PUT`).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let body = json_body.unwrap_or_default();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    // Kafka Connect answers a slow herder call after its own 90 s timeout.
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let content_type = if json_body.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).map_err(|m| std::io::Error::new(std::io::ErrorKind::InvalidData, m))
}

/// `METHOD path` with extra request headers (e.g. `Authorization`) and an optional JSON body,
/// over `stream` (plain TCP or TLS): the request is written, the answer read to the end.
pub fn http_exchange(
    mut stream: impl Read + Write,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let body = json_body.unwrap_or_default();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n");
    if json_body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        // rustls reports a peer that closes without close_notify (hyper does) as an error
        // after the whole answer has arrived.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse_response(&raw).map_err(|m| std::io::Error::new(std::io::ErrorKind::InvalidData, m))
}

/// [`http_exchange`] over a new plain TCP connection to `addr`.
pub fn http_request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    http_exchange(stream, &addr.to_string(), method, path, headers, json_body)
}

/// An HTTPS client for tests: trusts the given PEM CA certificates and presents a client
/// certificate when given one (rustls, as the host uses).
pub struct TlsClient {
    config: std::sync::Arc<rustls::ClientConfig>,
}

impl TlsClient {
    /// `ca`: PEM file of trusted CAs; `client`: (certificate PEM, key PEM) files.
    pub fn new(
        ca: &std::path::Path,
        client: Option<(&std::path::Path, &std::path::Path)>,
    ) -> TlsClient {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = |p: &std::path::Path| -> Vec<CertificateDer<'static>> {
            CertificateDer::pem_file_iter(p)
                .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("PEM in {}: {e}", p.display()))
        };
        let mut roots = rustls::RootCertStore::empty();
        for c in certs(ca) {
            roots.add(c).expect("a usable CA certificate");
        }
        #[allow(deprecated)] // as the host: ring lacks post-quantum key exchange only
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("rustls protocol versions")
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let key = PrivateKeyDer::from_pem_file(key)
                    .unwrap_or_else(|e| panic!("key {}: {e}", key.display()));
                builder
                    .with_client_auth_cert(certs(cert), key)
                    .expect("client certificate and key")
            }
        };
        TlsClient {
            config: std::sync::Arc::new(config),
        }
    }

    /// `METHOD path` over TLS to `addr` (certificate name `localhost`). A refused handshake is
    /// an I/O error.
    pub fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json_body: Option<&str>,
    ) -> std::io::Result<HttpResponse> {
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
        let conn = rustls::ClientConnection::new(self.config.clone(), name)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        tcp.set_read_timeout(Some(Duration::from_secs(120)))?;
        let stream = rustls::StreamOwned::new(conn, tcp);
        http_exchange(
            stream,
            &format!("localhost:{}", addr.port()),
            method,
            path,
            headers,
            json_body,
        )
    }
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        head,
    })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line without CRLF")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked_bodies() {
        let plain = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]")
            .expect("plain response");
        assert_eq!((plain.status, plain.body.as_str()), (200, "[]"));
        let chunked = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n",
        )
        .expect("chunked response");
        assert_eq!((chunked.status, chunked.body.as_str()), (404, "{\"a\":1}"));
    }
}
