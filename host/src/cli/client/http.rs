//! Blocking HTTP to one worker: the base URL, requests, and the answer as the API's JSON or a
//! [`CliError`].
//!
//! Design decision: 4xx/5xx answers are results, not transport errors: [`Reply::into_ok`]
//! turns them into [`CliError::Api`] with Kafka's own message, and with `-o json` the API's
//! error body is printed as it came, so scripts see exactly what the worker said.

use std::time::Duration;

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

impl Client {
    pub(super) fn new(options: &ClientOptions) -> Result<Client, CliError> {
        let env = std::env::var("SLUICE_URL").ok();
        let base = base_url(options.url.as_deref(), env.as_deref())?;
        let agent = ureq::Agent::config_builder()
            // 4xx/5xx are answers to print, not transport errors.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            base,
            output: options.output,
            agent,
        })
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Accept", "application/json")
                .call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Accept", "application/json")
                .call(),
            (m, body) => {
                let request = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.patch(&url),
                }
                .header("Accept", "application/json");
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
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(CliError::Usage(format!(
            "unsupported URL scheme in {raw:?}: only http:// is supported (this client has no TLS); use e.g. {DEFAULT_URL}"
        )));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(CliError::Usage(format!(
            "the worker URL {raw:?} has no host; expected e.g. {DEFAULT_URL}"
        )));
    }
    Ok(format!("http://{}", rest.trim_end_matches('/')))
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
        let e = base_url(Some("https://w:8443"), None).expect_err("no TLS");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.to_string().contains("only http:// is supported"), "{e}");
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
