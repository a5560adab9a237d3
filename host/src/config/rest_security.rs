//! The REST API's security keys, Kafka Connect's names: TLS for `https://` listeners
//! (`listeners.https.ssl.*`, `admin.listeners.https.ssl.*`, falling back to the top-level
//! `ssl.*`), `admin.listeners`, CORS (`access.control.allow.*`) and Sluice's basic
//! authentication (`rest.auth.basic.file`).
//!
//! Design decisions:
//! - Kafka's "all or nothing" prefix rule: when any `listeners.https.*` key is set, only the
//!   prefixed keys are read; otherwise the top-level `ssl.*` keys are (`valuesWithPrefixAllOrNothing`).
//! - The certificate, key, truststore and password files are read and checked here, with the
//!   other worker keys, so a worker with a bad file refuses to start and says which key, which
//!   file and what it expected. Key material is PEM (Kafka's `ssl.keystore.type=PEM`); JKS and
//!   PKCS12 stores are refused with the command that converts them.

use std::path::PathBuf;
use std::sync::Arc;

use super::worker::list;
use super::{get, Config};

/// One set of Kafka's SSL keys (every key under one prefix), as `&'static str` so problems
/// point at the line of the key the user wrote.
#[derive(Debug)]
pub struct SslKeys {
    pub prefix: &'static str,
    pub keystore_type: &'static str,
    pub keystore_location: &'static str,
    pub keystore_password: &'static str,
    pub keystore_key: &'static str,
    pub keystore_certificate_chain: &'static str,
    pub key_password: &'static str,
    pub truststore_type: &'static str,
    pub truststore_location: &'static str,
    pub truststore_password: &'static str,
    pub truststore_certificates: &'static str,
    pub client_auth: &'static str,
}

macro_rules! ssl_keys {
    ($prefix:literal) => {
        SslKeys {
            prefix: $prefix,
            keystore_type: concat!($prefix, "ssl.keystore.type"),
            keystore_location: concat!($prefix, "ssl.keystore.location"),
            keystore_password: concat!($prefix, "ssl.keystore.password"),
            keystore_key: concat!($prefix, "ssl.keystore.key"),
            keystore_certificate_chain: concat!($prefix, "ssl.keystore.certificate.chain"),
            key_password: concat!($prefix, "ssl.key.password"),
            truststore_type: concat!($prefix, "ssl.truststore.type"),
            truststore_location: concat!($prefix, "ssl.truststore.location"),
            truststore_password: concat!($prefix, "ssl.truststore.password"),
            truststore_certificates: concat!($prefix, "ssl.truststore.certificates"),
            client_auth: concat!($prefix, "ssl.client.auth"),
        }
    };
}

/// `listeners.https.ssl.*`.
pub const REST_SSL: SslKeys = ssl_keys!("listeners.https.");
/// `admin.listeners.https.ssl.*`.
pub const ADMIN_SSL: SslKeys = ssl_keys!("admin.listeners.https.");
/// The top-level `ssl.*` keys, read when no prefixed key is set.
pub const TOP_SSL: SslKeys = ssl_keys!("");

pub const BASIC_AUTH_FILE: &str = "rest.auth.basic.file";
pub const ALLOW_ORIGIN: &str = "access.control.allow.origin";
pub const ALLOW_METHODS: &str = "access.control.allow.methods";
pub const ADMIN_LISTENERS: &str = "admin.listeners";

/// `ssl.client.auth`: whether a client must present a certificate the truststore verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// Asked for; a client without one is let in, a client with an unverifiable one is not.
    Requested,
    Required,
}

/// Where PEM text comes from: a file (`*.location`) or the config value itself (Kafka's
/// `ssl.keystore.key` / `.certificate.chain` / `ssl.truststore.certificates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    File { key: &'static str, path: PathBuf },
    Inline { key: &'static str, text: String },
}

impl PemSource {
    pub fn key(&self) -> &'static str {
        match self {
            PemSource::File { key, .. } | PemSource::Inline { key, .. } => key,
        }
    }

    /// The PEM text, or why it cannot be read (naming the key and the file).
    pub fn read(&self) -> Result<String, String> {
        match self {
            PemSource::Inline { text, .. } => Ok(text.clone()),
            PemSource::File { key, path } => std::fs::read(path)
                .map_err(|e| format!("{key}={}: cannot read the file: {e}", path.display()))
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| {
                        format!(
                            "{key}={}: not a PEM file (binary content; a JKS or PKCS12 store?). \
                             {CONVERT_HINT}",
                            path.display()
                        )
                    })
                }),
        }
    }

    /// How a message names this source: `key=path` or `key`.
    pub fn describe(&self) -> String {
        match self {
            PemSource::File { key, path } => format!("{key}={}", path.display()),
            PemSource::Inline { key, .. } => key.to_string(),
        }
    }
}

/// How to turn a Java keystore into the PEM files Sluice reads.
pub const CONVERT_HINT: &str = "Sluice reads PEM (ssl.keystore.type=PEM): convert a JKS store \
     with `keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 \
     -deststoretype PKCS12`, then a PKCS12 store with `openssl pkcs12 -in store.p12 -nodes \
     -out store.pem`";

/// A listener group's TLS settings, read but not yet loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain and private key: one PEM source holding both, or two.
    pub certificate_chain: PemSource,
    pub private_key: PemSource,
    pub truststore: Option<PemSource>,
    pub client_auth: ClientAuth,
}

/// `access.control.allow.origin` / `.methods`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    /// Origins as given: `*`, exact origins, or patterns with `*` (e.g. `https://*.example.com`).
    pub origins: Vec<String>,
    /// Upper case; Jetty's default (GET, POST, HEAD) when the key is not set.
    pub methods: Vec<String>,
}

/// The REST server's security settings, loaded: TLS configurations are built (files read).
#[derive(Clone, Default)]
pub struct RestSecurity {
    /// For the `https://` entries of `listeners`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// For the `https://` entries of `admin.listeners`.
    pub admin_tls: Option<Arc<rustls::ServerConfig>>,
    pub basic_auth_file: Option<PathBuf>,
    pub cors: Option<CorsSettings>,
    /// `None`: the `/admin` endpoints are served on `listeners`; `Some(empty)`: nowhere.
    pub admin_listeners: Option<Vec<String>>,
}

impl std::fmt::Debug for RestSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSecurity")
            .field("tls", &self.tls.is_some())
            .field("admin_tls", &self.admin_tls.is_some())
            .field("basic_auth_file", &self.basic_auth_file)
            .field("cors", &self.cors)
            .field("admin_listeners", &self.admin_listeners)
            .finish()
    }
}

const KEYSTORE_TYPES: &str = "PEM (JKS and PKCS12 stores can be converted to PEM)";

/// Reads and checks the REST security keys of a worker config whose `listeners` are given;
/// returns the settings and every problem found.
pub fn rest_security(
    raw: &Config,
    listeners: &[String],
) -> (RestSecurity, Vec<(&'static str, String)>) {
    let mut problems = Vec::new();
    let is_https = |l: &String| super::parse_listener(l).is_ok_and(|a| a.tls);

    let tls = if listeners.iter().any(is_https) {
        load_tls(raw, &REST_SSL, None, "listeners", &mut problems)
    } else {
        None
    };

    let admin_listeners = get(raw, ADMIN_LISTENERS).map(list);
    for l in admin_listeners.iter().flatten() {
        if let Err(e) = super::parse_listener(l) {
            problems.push((ADMIN_LISTENERS, format!("{ADMIN_LISTENERS}: {e}")));
        }
    }
    let admin_tls = if admin_listeners.iter().flatten().any(is_https) {
        // Kafka: the admin listeners' own prefix, else the REST listeners' settings.
        load_tls(
            raw,
            &ADMIN_SSL,
            Some(&REST_SSL),
            ADMIN_LISTENERS,
            &mut problems,
        )
    } else {
        None
    };

    let basic_auth_file = match get(raw, BASIC_AUTH_FILE).map(str::trim) {
        None | Some("") => None,
        Some(v) => {
            let path = PathBuf::from(v);
            if let Err(e) = super::password_file::PasswordFile::load(&path) {
                problems.push((BASIC_AUTH_FILE, format!("{BASIC_AUTH_FILE}={v}: {e}")));
            }
            Some(path)
        }
    };

    let cors = match get(raw, ALLOW_ORIGIN).map(list) {
        None => None,
        Some(origins) if origins.is_empty() => None,
        Some(origins) => {
            let methods = match get(raw, ALLOW_METHODS).map(list) {
                Some(m) if !m.is_empty() => m,
                _ => vec!["GET".into(), "POST".into(), "HEAD".into()],
            };
            let mut upper = Vec::new();
            for m in methods {
                if m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    upper.push(m.to_ascii_uppercase());
                } else {
                    problems.push((
                        ALLOW_METHODS,
                        format!(
                            "Invalid value {m:?} in {ALLOW_METHODS}: expected HTTP method names \
                             separated by commas, e.g. GET,POST,PUT,DELETE"
                        ),
                    ));
                }
            }
            for o in &origins {
                if o != "*" && !o.contains("://") {
                    problems.push((
                        ALLOW_ORIGIN,
                        format!(
                            "Invalid origin {o:?} in {ALLOW_ORIGIN}: expected *, or origins \
                             such as https://ui.example.com (a * may stand for part of a host, \
                             e.g. https://*.example.com), separated by commas"
                        ),
                    ));
                }
            }
            Some(CorsSettings {
                origins,
                methods: upper,
            })
        }
    };

    (
        RestSecurity {
            tls,
            admin_tls,
            basic_auth_file,
            cors,
            admin_listeners,
        },
        problems,
    )
}

/// The TLS configuration of a listener group (`what` names it in messages), its files read.
fn load_tls(
    raw: &Config,
    keys: &SslKeys,
    fallback: Option<&SslKeys>,
    what: &str,
    problems: &mut Vec<(&'static str, String)>,
) -> Option<Arc<rustls::ServerConfig>> {
    let chosen = choose_keys(raw, keys, fallback);
    let (settings, mut found) = tls_settings(raw, chosen, what);
    let ok = found.is_empty();
    problems.append(&mut found);
    // The files are checked even when other keys are wrong: every problem at once.
    match settings.map(|s| super::tls::server_config(&s)) {
        Some(Ok(config)) if ok => Some(config),
        Some(Err(e)) => {
            problems.push(e);
            None
        }
        _ => None,
    }
}

/// Kafka's all-or-nothing rule: the prefixed keys when any is set, else the fallback
/// prefix's (admin listeners fall back to `listeners.https.`), else the top-level `ssl.*`.
fn choose_keys<'k>(raw: &Config, keys: &'k SslKeys, fallback: Option<&'k SslKeys>) -> &'k SslKeys {
    let any = |k: &SslKeys| raw.iter().any(|(key, _)| key.starts_with(k.prefix));
    if any(keys) {
        keys
    } else if let Some(f) = fallback.filter(|f| any(f)) {
        f
    } else {
        &TOP_SSL
    }
}

/// The settings when a certificate and key are named (even if other keys have problems, so
/// their files are checked too), and every problem.
fn tls_settings(
    raw: &Config,
    k: &SslKeys,
    what: &str,
) -> (Option<TlsSettings>, Vec<(&'static str, String)>) {
    let mut problems = Vec::new();
    let value = |key: &'static str| get(raw, key).map(str::trim).filter(|v| !v.is_empty());

    match value(k.keystore_type) {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("PEM") => {}
        Some(t) => problems.push((
            k.keystore_type,
            format!(
                "Invalid value {t} for configuration {}: accepted: {KEYSTORE_TYPES}. \
                 {CONVERT_HINT}",
                k.keystore_type
            ),
        )),
    }
    match value(k.truststore_type) {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("PEM") => {}
        Some(t) => problems.push((
            k.truststore_type,
            format!(
                "Invalid value {t} for configuration {}: accepted: PEM (a file of CA \
                 certificates; export a JKS truststore's with `keytool -exportcert -rfc`)",
                k.truststore_type
            ),
        )),
    }
    if value(k.key_password).is_some() {
        problems.push((
            k.key_password,
            format!(
                "{} is set, but encrypted private keys are not supported: give an unencrypted \
                 PKCS#8, PKCS#1 or SEC1 key (`openssl pkcs8 -topk8 -nocrypt -in key.pem`) in a \
                 file only the worker can read",
                k.key_password
            ),
        ));
    }

    let client_auth = match value(k.client_auth) {
        None => ClientAuth::None,
        Some(v) if v.eq_ignore_ascii_case("none") => ClientAuth::None,
        Some(v) if v.eq_ignore_ascii_case("requested") => ClientAuth::Requested,
        Some(v) if v.eq_ignore_ascii_case("required") => ClientAuth::Required,
        Some(v) => {
            problems.push((
                k.client_auth,
                format!(
                    "Invalid value {v} for configuration {}: String must be one of: required, \
                     requested, none",
                    k.client_auth
                ),
            ));
            ClientAuth::None
        }
    };

    let location = value(k.keystore_location).map(|p| PemSource::File {
        key: k.keystore_location,
        path: PathBuf::from(p),
    });
    let inline_key = value(k.keystore_key).map(|t| PemSource::Inline {
        key: k.keystore_key,
        text: t.to_string(),
    });
    let inline_chain = value(k.keystore_certificate_chain).map(|t| PemSource::Inline {
        key: k.keystore_certificate_chain,
        text: t.to_string(),
    });
    let (certificate_chain, private_key) = match (location, inline_chain, inline_key) {
        (Some(file), None, None) => (Some(file.clone()), Some(file)),
        (None, Some(chain), Some(key)) => (Some(chain), Some(key)),
        (None, None, None) => {
            problems.push((
                k.keystore_location,
                format!(
                    "{what} has an https:// listener but no certificate: set {} to a PEM file \
                     with the certificate chain and its private key (or {} and {})",
                    k.keystore_location, k.keystore_certificate_chain, k.keystore_key
                ),
            ));
            (None, None)
        }
        _ => {
            problems.push((
                k.keystore_location,
                format!(
                    "give either {} (one PEM file with the certificate chain and private key) \
                     or both {} and {}, not a mix",
                    k.keystore_location, k.keystore_certificate_chain, k.keystore_key
                ),
            ));
            (None, None)
        }
    };

    let truststore = match (
        value(k.truststore_location),
        value(k.truststore_certificates),
    ) {
        (Some(p), None) => Some(PemSource::File {
            key: k.truststore_location,
            path: PathBuf::from(p),
        }),
        (None, Some(t)) => Some(PemSource::Inline {
            key: k.truststore_certificates,
            text: t.to_string(),
        }),
        (None, None) => None,
        (Some(_), Some(_)) => {
            problems.push((
                k.truststore_location,
                format!(
                    "give either {} or {}, not both",
                    k.truststore_location, k.truststore_certificates
                ),
            ));
            None
        }
    };
    if client_auth != ClientAuth::None && truststore.is_none() {
        problems.push((
            k.client_auth,
            format!(
                "{}={} needs the CA certificates that sign client certificates: set {} to a \
                 PEM file of them",
                k.client_auth,
                value(k.client_auth).unwrap_or_default(),
                k.truststore_location
            ),
        ));
    }

    let settings = match (certificate_chain, private_key) {
        (Some(certificate_chain), Some(private_key)) => Some(TlsSettings {
            certificate_chain,
            private_key,
            truststore,
            client_auth,
        }),
        _ => None,
    };
    (settings, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn fixture(name: &str) -> String {
        format!(
            "{}/../tests/fixtures/tls/rest/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let raw = cfg(pairs);
        let listeners = list(get(&raw, "listeners").unwrap_or("http://:8083"));
        rest_security(&raw, &listeners).1
    }

    #[test]
    fn pem_keystore_with_and_without_client_auth() {
        let server = fixture("server.pem");
        let ca = fixture("ca.pem");
        let raw = cfg(&[
            ("listeners", "https://127.0.0.1:0"),
            ("listeners.https.ssl.keystore.location", server.as_str()),
            ("listeners.https.ssl.truststore.location", ca.as_str()),
            ("listeners.https.ssl.client.auth", "required"),
        ]);
        let (s, p) = rest_security(&raw, &["https://127.0.0.1:0".into()]);
        assert!(p.is_empty(), "{p:?}");
        assert!(s.tls.is_some());
        // Top-level ssl.* keys when no listeners.https.* key is set (Kafka's fallback).
        let (s, p) = rest_security(
            &cfg(&[("ssl.keystore.location", server.as_str())]),
            &["https://:0".into()],
        );
        assert!(p.is_empty(), "{p:?}");
        assert!(s.tls.is_some());
        // Plain listeners ignore the keys.
        let (s, p) = rest_security(&cfg(&[]), &["http://:0".into()]);
        assert!(p.is_empty() && s.tls.is_none());
    }

    #[test]
    fn bad_tls_settings_name_the_key_the_value_and_what_is_accepted() {
        let https = ("listeners", "https://:8443");
        let p = problems(&[https]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "ssl.keystore.location");
        assert!(p[0].1.contains("listeners has an https:// listener but no certificate: set ssl.keystore.location to a PEM file"), "{}", p[0].1);

        let p = problems(&[
            https,
            (
                "listeners.https.ssl.keystore.location",
                "/nonexistent/server.pem",
            ),
        ]);
        assert_eq!(p[0].0, "listeners.https.ssl.keystore.location");
        assert!(
            p[0].1.starts_with("listeners.https.ssl.keystore.location=/nonexistent/server.pem: cannot read the file: No such file"),
            "{}",
            p[0].1
        );

        let ks = fixture("server.pem");
        let p = problems(&[
            https,
            ("listeners.https.ssl.keystore.location", ks.as_str()),
            ("listeners.https.ssl.keystore.type", "JKS"),
            ("listeners.https.ssl.client.auth", "always"),
            ("listeners.https.ssl.key.password", "secret-key-pass"),
        ]);
        let text = format!("{p:?}");
        assert!(text.contains("Invalid value JKS for configuration listeners.https.ssl.keystore.type: accepted: PEM"), "{text}");
        assert!(text.contains("keytool -importkeystore"), "{text}");
        assert!(text.contains("Invalid value always for configuration listeners.https.ssl.client.auth: String must be one of: required, requested, none"), "{text}");
        assert!(
            text.contains("encrypted private keys are not supported"),
            "{text}"
        );
        assert!(
            !text.contains("secret-key-pass"),
            "a password value leaked: {text}"
        );

        let p = problems(&[
            https,
            ("listeners.https.ssl.keystore.location", ks.as_str()),
            ("listeners.https.ssl.client.auth", "required"),
        ]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.contains("needs the CA certificates"), "{}", p[0].1);

        // A certificate without its key.
        let cert_only = fixture("server-cert.pem");
        let p = problems(&[
            https,
            ("listeners.https.ssl.keystore.location", cert_only.as_str()),
        ]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].1.contains(&format!(
                "listeners.https.ssl.keystore.location={cert_only}: no private key"
            )),
            "{}",
            p[0].1
        );
    }

    #[test]
    fn admin_listeners_and_cors() {
        let p = problems(&[
            ("admin.listeners", "ftp://x:1"),
            ("access.control.allow.origin", "example.com"),
            ("access.control.allow.methods", "GET,P UT"),
        ]);
        let text = format!("{p:?}");
        assert_eq!(p.len(), 3, "{text}");
        assert!(
            text.contains("admin.listeners: invalid listener \\\"ftp://x:1\\\""),
            "{text}"
        );
        assert!(
            text.contains("Invalid origin \\\"example.com\\\""),
            "{text}"
        );
        assert!(text.contains("Invalid value \\\"P UT\\\""), "{text}");

        let raw = cfg(&[
            ("admin.listeners", ""),
            (
                "access.control.allow.origin",
                "https://*.example.com, http://ui:3000",
            ),
        ]);
        let (s, p) = rest_security(&raw, &[]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.admin_listeners, Some(vec![]));
        let cors = s.cors.expect("cors");
        assert_eq!(
            cors.origins,
            vec!["https://*.example.com", "http://ui:3000"]
        );
        assert_eq!(cors.methods, vec!["GET", "POST", "HEAD"]);
    }
}
