//! Blocking HTTP to one worker: the base URL, requests, and the answer as the API's JSON or a
//! [`CliError`].
//!
//! Design decision: 4xx/5xx answers are results, not transport errors: [`Reply::into_ok`]
//! turns them into [`CliError::Api`] with Kafka's own message, and with `-o json` the API's
//! error body is printed as it came, so scripts see exactly what the worker said.

use std::time::Duration;

use base64::Engine;
use serde_json::Value as Json;

use super::args::{ClientOptions, Output};
use super::CliError;

/// Where the worker listens when neither `--url` nor `SLUICE_URL` says otherwise.
pub const DEFAULT_URL: &str = "http://localhost:8083";

/// Kafka Connect's own request timeout is 90 s (it then answers 500 "Request timed out"), so
/// a healthy worker always answers within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A blocking client for one worker.
pub(super) struct Client {
    base: String,
    output: Output,
    agent: ureq::Agent,
    /// `Basic …`, when credentials were given.
    authorization: Option<String>,
}

/// An HTTP answer.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    body: String,
}

impl Reply {
    /// The body of a 2xx answer (`None` when empty); an API error otherwise, with Kafka's
    /// message when the body is Kafka's error object.
    pub(super) fn into_ok(self) -> Result<Option<Json>, CliError> {
        let parsed = if self.body.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str::<Json>(&self.body)
                    .unwrap_or_else(|_| Json::String(self.body.clone())),
            )
        };
        if (200..300).contains(&self.status) {
            return Ok(parsed);
        }
        let message = match &parsed {
            Some(Json::Object(o)) => o
                .get("message")
                .and_then(Json::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| self.body.trim().to_string()),
            Some(_) => self.body.trim().to_string(),
            None => "(empty response body)".to_string(),
        };
        Err(CliError::Api {
            status: self.status,
            message,
        })
    }
}

/// An option from its flag, else its environment variable (blank counts as unset).
fn flag_or_env<T: Clone + From<String>>(flag: &Option<T>, env: &str) -> Option<T> {
    flag.clone().or_else(|| {
        std::env::var(env)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(T::from)
    })
}

/// The `Authorization` header for `--user` / `SLUICE_USER`, with the password from
/// `SLUICE_PASSWORD` or `--password-file` / `SLUICE_PASSWORD_FILE`. Errors never include the
/// password.
fn authorization(options: &ClientOptions) -> Result<Option<String>, CliError> {
    let Some(user) = flag_or_env(&options.user, "SLUICE_USER") else {
        return Ok(None);
    };
    let password = match flag_or_env(&options.password_file, "SLUICE_PASSWORD_FILE") {
        Some(file) => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CliError::Usage(format!(
                    "cannot read the password file {}: {e}",
                    file.display()
                ))
            })?;
            text.lines().next().unwrap_or_default().to_string()
        }
        None => std::env::var("SLUICE_PASSWORD").map_err(|_| {
            CliError::Usage(format!(
                "--user {user} needs a password: set SLUICE_PASSWORD or --password-file FILE"
            ))
        })?,
    };
    if user.contains(':') {
        return Err(CliError::Usage(format!(
            "the user name {user:?} contains ':', which basic authentication cannot carry"
        )));
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Ok(Some(format!("Basic {token}")))
}

fn read_pem(file: &std::path::Path, what: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(file)
        .map_err(|e| CliError::Usage(format!("cannot read the {what} {}: {e}", file.display())))
}

/// The certificates in PEM text (other blocks skipped).
fn certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// TLS settings for an `https://` worker: `--cacert`, `--cert` and `--key` (or their
/// environment variables). `None`: ureq's default (the Mozilla roots, no client certificate).
fn tls_config(options: &ClientOptions) -> Result<Option<ureq::tls::TlsConfig>, CliError> {
    use ureq::tls::{ClientCert, PrivateKey, RootCerts};
    let cacert = flag_or_env(&options.cacert, "SLUICE_CACERT");
    let cert = flag_or_env(&options.cert, "SLUICE_CERT");
    let key = flag_or_env(&options.key, "SLUICE_KEY");
    if cacert.is_none() && cert.is_none() && key.is_none() {
        return Ok(None);
    }
    let mut builder = ureq::tls::TlsConfig::builder();
    if let Some(file) = cacert {
        let pem = read_pem(&file, "CA certificate file (--cacert)")?;
        let roots = certificates(&pem);
        if roots.is_empty() {
            return Err(CliError::Usage(format!(
                "--cacert {}: no -----BEGIN CERTIFICATE----- block found (expected PEM CA                  certificates)",
                file.display()
            )));
        }
        builder = builder.root_certs(RootCerts::new_with_certs(&roots));
    }
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let pem = read_pem(&cert, "client certificate (--cert)")?;
            let chain = certificates(&pem);
            if chain.is_empty() {
                return Err(CliError::Usage(format!(
                    "--cert {}: no -----BEGIN CERTIFICATE----- block found",
                    cert.display()
                )));
            }
            let key_pem = read_pem(&key, "client key (--key)")?;
            let key = PrivateKey::from_pem(&key_pem).map_err(|e| {
                CliError::Usage(format!(
                    "--key {}: no usable private key ({e}); expected an unencrypted PEM key",
                    key.display()
                ))
            })?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        (None, None) => {}
        _ => {
            return Err(CliError::Usage(
                "a client certificate needs both --cert and --key (or SLUICE_CERT and SLUICE_KEY)"
                    .to_string(),
            ))
        }
    }
    Ok(Some(builder.build()))
}

impl Client {
    pub(super) fn new(options: &ClientOptions) -> Result<Client, CliError> {
        let env = std::env::var("SLUICE_URL").ok();
        let base = base_url(options.url.as_deref(), env.as_deref())?;
        let authorization = authorization(options)?;
        let mut config = ureq::Agent::config_builder()
            // 4xx/5xx are answers to print, not transport errors.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = tls_config(options)? {
            config = config.tls_config(tls);
        }
        Ok(Client {
            base,
            output: options.output,
            agent: config.build().into(),
            authorization,
        })
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let auth = self.authorization.as_deref();
        let result = match (method, body) {
            ("GET" | "DELETE", _) => {
                let mut request = if method == "GET" {
                    self.agent.get(&url)
                } else {
                    self.agent.delete(&url)
                }
                .header("Accept", "application/json");
                if let Some(a) = auth {
                    request = request.header("Authorization", a);
                }
                request.call()
            }
            (m, body) => {
                let mut request = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.patch(&url),
                }
                .header("Accept", "application/json");
                if let Some(a) = auth {
                    request = request.header("Authorization", a);
                }
                match body {
                    Some(b) => request
                        .content_type("application/json")
                        .send(b.to_string().as_bytes()),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = result.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(e))?;
        let reply = Reply { status, body };
        if self.output == Output::Json && !(200..300).contains(&status) {
            // Scripts get the API's error object on stdout too.
            println!("{}", pretty(&reply.body));
        }
        Ok(reply)
    }

    pub(super) fn expect_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Option<Json>, CliError> {
        self.call(method, path, body)?.into_ok()
    }

    /// The command's output: the API's JSON with `-o json`, else `render`'s table.
    pub(super) fn show(
        &self,
        body: &Option<Json>,
        render: impl FnOnce(&Option<Json>) -> Result<String, CliError>,
    ) -> String {
        match self.output {
            Output::Json => body
                .as_ref()
                .map(|b| format!("{}\n", serde_json::to_string_pretty(b).unwrap_or_default()))
                .unwrap_or_default(),
            Output::Table => render(body).unwrap_or_else(|e| {
                // An answer we cannot tabulate (another API version?): show it as it is.
                format!(
                    "({e}; the response was:)\n{}\n",
                    body.as_ref().map(Json::to_string).unwrap_or_default()
                )
            }),
        }
    }

    fn transport_error(&self, e: ureq::Error) -> CliError {
        match e {
            ureq::Error::BadUri(u) => CliError::Usage(format!(
                "invalid worker URL {}: {u} (expected e.g. {DEFAULT_URL})",
                self.base
            )),
            other => CliError::Connect(format!(
                "cannot talk to the worker at {}: {other} (is it running? set --url or SLUICE_URL)",
                self.base
            )),
        }
    }
}

/// The base URL from `--url`, else `SLUICE_URL`, else [`DEFAULT_URL`]: `host:port` gets
/// `http://`; a trailing `/` is dropped (a path prefix, e.g. behind a proxy, is kept).
pub fn base_url(flag: Option<&str>, env: Option<&str>) -> Result<String, CliError> {
    let raw = flag
        .or(env.filter(|e| !e.trim().is_empty()))
        .unwrap_or(DEFAULT_URL)
        .trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("http", raw));
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(CliError::Usage(format!(
            "unsupported URL scheme in {raw:?}: expected http:// or https://, e.g. {DEFAULT_URL}"
        )));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(CliError::Usage(format!(
            "the worker URL {raw:?} has no host; expected e.g. {DEFAULT_URL}"
        )));
    }
    if rest
        .split('/')
        .next()
        .is_some_and(|authority| authority.contains('@'))
    {
        // Credentials in the URL would show in `ps`, shell histories and error messages.
        return Err(CliError::Usage(
            "the worker URL contains credentials (user@ or user:password@); use --user with \
             SLUICE_PASSWORD or --password-file instead"
                .to_string(),
        ));
    }
    Ok(format!("{scheme}://{}", rest.trim_end_matches('/')))
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::client::{EXIT_API, EXIT_USAGE};

    #[test]
    fn base_url_precedence_and_normalisation() {
        assert_eq!(base_url(None, None).expect("default"), DEFAULT_URL);
        assert_eq!(
            base_url(None, Some("http://w:9/")).expect("env"),
            "http://w:9"
        );
        assert_eq!(
            base_url(Some("127.0.0.1:8084"), Some("http://w:9")).expect("flag wins"),
            "http://127.0.0.1:8084"
        );
        assert_eq!(
            base_url(Some("http://gw/connect/"), None).expect("path prefix"),
            "http://gw/connect"
        );
        assert_eq!(base_url(None, Some("  ")).expect("blank env"), DEFAULT_URL);
        assert_eq!(
            base_url(Some("HTTPS://w:8443/"), None).expect("https"),
            "https://w:8443"
        );
        let e = base_url(Some("ftp://w:8443"), None).expect_err("not HTTP");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(
            e.to_string().contains("expected http:// or https://"),
            "{e}"
        );
        let e = base_url(Some("https://bob:hunter2@w:1"), None).expect_err("credentials");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("--user"), "{e}");
        let e = base_url(Some("http://"), None).expect_err("no host");
        assert!(e.to_string().contains("has no host"), "{e}");
    }

    #[test]
    fn api_errors_carry_kafkas_message_and_exit_1() {
        let e = Reply {
            status: 404,
            body: r#"{"error_code":404,"message":"Connector ghost not found"}"#.into(),
        }
        .into_ok()
        .expect_err("404");
        assert_eq!(e.to_string(), "Connector ghost not found (HTTP 404)");
        assert_eq!(e.exit_code(), EXIT_API);
        let e = Reply {
            status: 502,
            body: "<html>Bad Gateway</html>\n".into(),
        }
        .into_ok()
        .expect_err("502");
        assert_eq!(e.to_string(), "<html>Bad Gateway</html> (HTTP 502)");
        let ok = Reply {
            status: 204,
            body: String::new(),
        }
        .into_ok()
        .expect("204");
        assert!(ok.is_none());
    }
}
