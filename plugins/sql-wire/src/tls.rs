//! TLS for both protocols: the `sslmode` a URL asks for, and the stream that carries a
//! connection, plain or encrypted, once the protocol's own TLS request has been answered
//! (PostgreSQL's `SSLRequest`, MySQL's `SSL_REQUEST` packet).
//!
//! Design decision: rustls with the pure-Rust `rustls-rustcrypto` provider, inside the plugin,
//! because it builds for `wasm32-wasip2` without a C toolchain (`ring` and `aws-lc-rs` need clang
//! for wasm32) and keeps the connector a single component that needs nothing from the host but
//! `wasi:sockets`. The provider is pre-1.0 and unaudited, but the primitives it wires together
//! are the RustCrypto organisation's widely used ones; the sql-wire README weighs this against
//! the host-side route (`wasi:tls`). The trusted roots are the `sslrootcert` file when one is
//! given, else Mozilla's list (`webpki-roots`), because a plugin cannot read the system's store.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, StreamOwned,
};

use crate::{Error, Result};

/// How much TLS a connection wants, in libpq's/pgjdbc's words (MySQL's `sslMode` values map onto
/// them: `DISABLED` → disable, `PREFERRED` → prefer, `REQUIRED`/`TRUST` → require,
/// `VERIFY_CA` → verify-ca, `VERIFY_IDENTITY`/`VERIFY_FULL` → verify-full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plain text; TLS only if the server insists (here: plain text, like `disable`, and the
    /// server's refusal is passed on).
    Allow,
    /// TLS when the server offers it, without checking its certificate; plain text otherwise.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS, and the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS, the certificate must chain to a trusted root and name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// A PostgreSQL `sslmode` value.
    pub fn parse_pg(s: &str) -> Option<SslMode> {
        Some(match s.trim() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// A MySQL Connector/J or MariaDB Connector/J `sslMode` value (case and `-`/`_` ignored).
    pub fn parse_mysql(s: &str) -> Option<SslMode> {
        Some(
            match s.trim().to_ascii_uppercase().replace('-', "_").as_str() {
                "DISABLED" | "DISABLE" => SslMode::Disable,
                "PREFERRED" => SslMode::Prefer,
                "REQUIRED" | "TRUST" => SslMode::Require,
                "VERIFY_CA" => SslMode::VerifyCa,
                "VERIFY_IDENTITY" | "VERIFY_FULL" => SslMode::VerifyFull,
                _ => return None,
            },
        )
    }

    /// Whether to ask the server for TLS at all.
    pub fn asks(self) -> bool {
        !matches!(self, SslMode::Disable | SslMode::Allow)
    }

    /// Whether a server without TLS must be refused.
    pub fn requires(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    /// The libpq name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What a connection wants of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    pub mode: SslMode,
    /// A file of PEM certificates to trust instead of Mozilla's roots (`sslrootcert`); read
    /// when connecting (inside a plugin only a file named by a config key the worker grants is
    /// readable).
    pub root_cert: Option<String>,
}

impl TlsParams {
    /// No TLS.
    pub fn disabled() -> TlsParams {
        TlsParams {
            mode: SslMode::Disable,
            root_cert: None,
        }
    }

    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        let Some(path) = self.root_cert.as_deref() else {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(roots);
        };
        let pem = std::fs::read(path).map_err(|e| {
            Error::Tls(format!(
                "cannot read the trusted root certificate file {path} ({e}); inside a plugin only a file named by a config key the worker grants is readable (connection.sslrootcert, database.sslrootcert)"
            ))
        })?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert
                .map_err(|e| Error::Tls(format!("{path} holds no valid PEM certificate: {e}")))?;
            roots.add(cert).map_err(|e| {
                Error::Tls(format!(
                    "{path}: a certificate cannot be trusted as a root: {e}"
                ))
            })?;
        }
        if roots.is_empty() {
            return Err(Error::Tls(format!(
                "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )));
        }
        Ok(roots)
    }

    /// Where the trusted roots come from, for messages.
    fn roots_source(&self) -> String {
        match &self.root_cert {
            Some(path) => format!("the certificates in {path}"),
            None => "Mozilla's root certificates (set sslrootcert to trust others)".into(),
        }
    }

    fn client_config(&self) -> Result<ClientConfig> {
        let provider = Arc::new(rustls_rustcrypto::provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?;
        let chain = match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let webpki = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.roots()?),
                    provider.clone(),
                )
                .build()
                .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?;
                Some((webpki, self.mode == SslMode::VerifyFull))
            }
            _ => None,
        };
        let verifier = Arc::new(Verifier { provider, chain });
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

/// A connection's byte stream: the socket itself, or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// The socket underneath (timeouts, non-blocking mode, shutdown).
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    /// Runs the TLS handshake on `tcp` (after the protocol's TLS request was accepted) for
    /// `what` at `host`/`address`; fails with what went wrong in the words of `params.mode`.
    pub(crate) fn handshake(
        mut tcp: TcpStream,
        params: &TlsParams,
        host: &str,
        what: &str,
        address: &str,
    ) -> Result<Stream> {
        let config = params.client_config()?;
        // The name is checked only with verify-full; it is also sent as SNI when it is one.
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| Error::Tls(format!("`{host}` is not a valid host name for TLS")))?;
        let mut conn = ClientConnection::new(Arc::new(config), name)
            .map_err(|e| Error::Tls(format!("TLS setup: {e}")))?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                return Err(handshake_error(e, params, what, address));
            }
        }
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }
}

fn handshake_error(e: io::Error, params: &TlsParams, what: &str, address: &str) -> Error {
    let mode = params.mode.name();
    let tls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls_error {
        Some(rustls::Error::InvalidCertificate(cert)) => Error::Tls(format!(
            "{what} at {address}: the server's certificate is not trusted with sslmode={mode}: {} (trusted: {})",
            describe_certificate_error(cert),
            params.roots_source()
        )),
        Some(other) => Error::Tls(format!(
            "TLS handshake with {what} at {address} failed: {other}"
        )),
        None => Error::io(format!("TLS handshake with {what} at {address}"), e),
    }
}

fn describe_certificate_error(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "it is not signed by a trusted root certificate (unknown issuer)".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "it is not valid for the host name connected to ({e}); verify-ca skips this check"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("it has expired ({e})")
        }
        other => format!("{other}"),
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The certificate check of each mode. `prefer` and `require` (`chain: None`) encrypt without
/// checking who the server is, as pgjdbc and libpq do for these modes; `verify-ca` and
/// `verify-full` check the chain with WebPKI, and `verify-ca` forgives only a certificate that
/// does not name the host. The handshake signatures are verified in every mode, so the session
/// keys belong to whoever holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// The chain verifier, and whether the host name must match.
    chain: Option<(Arc<WebPkiServerVerifier>, bool)>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some((webpki, check_name)) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_in_each_drivers_words() {
        assert_eq!(SslMode::parse_pg("verify-full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse_pg("VERIFY-FULL"), None);
        assert_eq!(
            SslMode::parse_mysql("verify_identity"),
            Some(SslMode::VerifyFull)
        );
        assert_eq!(SslMode::parse_mysql("VERIFY-CA"), Some(SslMode::VerifyCa));
        assert_eq!(SslMode::parse_mysql("trust"), Some(SslMode::Require));
        assert_eq!(SslMode::parse_mysql("sometimes"), None);
        assert!(SslMode::Prefer.asks() && !SslMode::Prefer.requires());
        assert!(!SslMode::Allow.asks());
        assert!(SslMode::VerifyCa.requires());
    }

    #[test]
    fn a_root_file_without_certificates_is_refused_clearly() {
        let dir = std::env::temp_dir().join(format!("sql-wire-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let params = |path: &str| TlsParams {
            mode: SslMode::VerifyFull,
            root_cert: Some(path.into()),
        };
        let e = params(file.to_str().unwrap()).roots().unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
        let e = params("/nonexistent/root.crt").roots().unwrap_err();
        assert!(
            e.to_string()
                .contains("cannot read the trusted root certificate file /nonexistent/root.crt"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
