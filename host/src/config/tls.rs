//! The rustls server configuration of an `https://` listener, built from its settings with
//! the files read: the config layer builds it while it checks a worker config (so a bad
//! certificate is reported with every other problem at start-up), and `listen::tls` serves
//! with it.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::rest_security::{ClientAuth, PemSource, TlsSettings, CONVERT_HINT};

/// Builds the rustls server configuration; the error names the key and file at fault.
pub fn server_config(
    settings: &TlsSettings,
) -> Result<Arc<rustls::ServerConfig>, (&'static str, String)> {
    let fail = |source: &PemSource, message: String| (source.key(), message);
    let chain_pem = settings
        .certificate_chain
        .read()
        .map_err(|m| fail(&settings.certificate_chain, m))?;
    let chain = certificates(&chain_pem).map_err(|m| {
        fail(
            &settings.certificate_chain,
            format!("{}: {m}", settings.certificate_chain.describe()),
        )
    })?;
    if chain.is_empty() {
        return Err(fail(
            &settings.certificate_chain,
            format!(
                "{}: no certificate (expected a -----BEGIN CERTIFICATE----- block, the \
                 server's certificate first, then its intermediates). {CONVERT_HINT}",
                settings.certificate_chain.describe()
            ),
        ));
    }
    let key_pem = settings
        .private_key
        .read()
        .map_err(|m| fail(&settings.private_key, m))?;
    let key = private_key(&key_pem).map_err(|m| {
        fail(
            &settings.private_key,
            format!("{}: {m}", settings.private_key.describe()),
        )
    })?;

    #[allow(deprecated)] // ring lacks post-quantum key exchange only; as the host's HTTP client
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| (settings.certificate_chain.key(), format!("TLS setup: {e}")))?;
    let builder = match (&settings.truststore, settings.client_auth) {
        (Some(trust), auth) if auth != ClientAuth::None => {
            let pem = trust.read().map_err(|m| fail(trust, m))?;
            let cas = certificates(&pem)
                .map_err(|m| fail(trust, format!("{}: {m}", trust.describe())))?;
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots.add(ca).map_err(|e| {
                    fail(
                        trust,
                        format!("{}: a CA certificate is not usable: {e}", trust.describe()),
                    )
                })?;
            }
            if roots.is_empty() {
                return Err(fail(
                    trust,
                    format!(
                        "{}: no CA certificate (expected -----BEGIN CERTIFICATE----- blocks)",
                        trust.describe()
                    ),
                ));
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| fail(trust, format!("{}: {e}", trust.describe())))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        fail(
            &settings.private_key,
            format!(
                "{}: the private key does not fit the certificate, or the certificate is not \
                 usable: {e}",
                settings.private_key.describe()
            ),
        )
    })?;
    // The REST API and the Schema Registry speak HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not valid PEM: {e}"))
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(
            "the private key is encrypted, which is not supported: decrypt it \
                    (`openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem`) into a file \
                    only the worker can read"
                .to_string(),
        );
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => "no private key (expected a -----BEGIN \
             PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY block)"
            .to_string(),
        other => format!("not valid PEM: {other}"),
    })
}
