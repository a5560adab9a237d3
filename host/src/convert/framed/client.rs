//! The converters' Schema Registry client: Confluent's REST API over blocking HTTP, with
//! several URLs tried in turn and HTTP basic auth (`basic.auth.credentials.source`).
//!
//! Design decision: blocking calls are fine here because converters run on the task threads
//! (never on an async runtime thread), and every answer is cached by the converter, so a
//! registry call happens once per schema, not once per record. The credentials are kept out of
//! every error message (they are never formatted, and URLs are shown without their userinfo).

use crate::url::encode_segment;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::config::{get, Config};
use crate::convert::ConvertError;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A registry answer other than success: HTTP status and Confluent's `error_code`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: i64,
    pub message: String,
}

/// Why a registry call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallError {
    /// The registry answered with an error.
    Api(ApiError),
    /// No URL could be reached.
    Unreachable(String),
    /// The registry answered something that is not Confluent's API.
    Malformed(String),
}

impl CallError {
    /// Whether the call may succeed later: no registry reachable, or a 5xx answer.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            CallError::Unreachable(_) => true,
            CallError::Api(e) => e.status >= 500,
            CallError::Malformed(_) => false,
        }
    }

    /// The converter's error for this failure, described by `message`: transient (retried,
    /// never sent to the DLQ) when the call may succeed later, else the record's.
    pub(crate) fn to_convert_error(&self, message: String) -> ConvertError {
        if self.is_transient() {
            ConvertError::transient(message)
        } else {
            ConvertError::new(message)
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Api(e) => write!(
                f,
                "the schema registry answered {} (error code {}): {}",
                e.status, e.code, e.message
            ),
            CallError::Unreachable(m) | CallError::Malformed(m) => write!(f, "{m}"),
        }
    }
}

/// The configured registry: base URLs and the `Authorization` header value (if any).
pub(crate) struct RegistryClient {
    urls: Vec<String>,
    auth: Option<String>,
    agent: ureq::Agent,
}

/// A URL without `user:password@`, for messages.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn basic(user_info: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_info)
    )
}

impl RegistryClient {
    /// Reads `schema.registry.url` (comma-separated) and `basic.auth.*`.
    pub(crate) fn from_props(props: &Config) -> Result<Self, ConvertError> {
        let raw = get(props, "schema.registry.url").unwrap_or("");
        let mut urls = Vec::new();
        let mut url_user_info = None;
        for u in raw.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let (scheme, rest) = u.split_once("://").ok_or_else(|| {
                ConvertError::new(format!(
                    "Invalid value {} for configuration schema.registry.url: expected http://host:port",
                    shown(u)
                ))
            })?;
            if !scheme.eq_ignore_ascii_case("http") {
                return Err(ConvertError::new(format!(
                    "Invalid value {} for configuration schema.registry.url: only http:// registries are supported",
                    shown(u)
                )));
            }
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let rest = match rest[..authority_end].rfind('@') {
                Some(at) => {
                    url_user_info = Some(rest[..at].to_string());
                    &rest[at + 1..]
                }
                None => rest,
            };
            urls.push(format!("http://{}", rest.trim_end_matches('/')));
        }
        if urls.is_empty() {
            return Err(ConvertError::new(
                "Missing required configuration \"schema.registry.url\" which has no default value.",
            ));
        }
        let source = get(props, "basic.auth.credentials.source")
            .map(|s| s.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "URL".into());
        let auth = match source.as_str() {
            "URL" => url_user_info.map(|i| basic(&i)),
            "USER_INFO" => {
                let info = get(props, "basic.auth.user.info").unwrap_or("");
                if !info.contains(':') {
                    return Err(ConvertError::new(
                        "basic.auth.credentials.source=USER_INFO needs basic.auth.user.info as <user>:<password>",
                    ));
                }
                Some(basic(info))
            }
            other => {
                return Err(ConvertError::new(format!(
                    "Invalid value {other} for configuration basic.auth.credentials.source: accepted values are URL and USER_INFO"
                )))
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(TIMEOUT))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(RegistryClient { urls, auth, agent })
    }

    /// One call, tried against each URL in turn until one answers.
    fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json, CallError> {
        let mut failures = Vec::new();
        for base in &self.urls {
            let url = format!("{base}{path}");
            let accept = "application/vnd.schemaregistry.v1+json, application/json";
            let result = match (method, body) {
                ("GET", _) => {
                    let mut r = self.agent.get(&url).header("Accept", accept);
                    if let Some(a) = &self.auth {
                        r = r.header("Authorization", a);
                    }
                    r.call()
                }
                (_, body) => {
                    let mut r = self.agent.post(&url).header("Accept", accept);
                    if let Some(a) = &self.auth {
                        r = r.header("Authorization", a);
                    }
                    let body = body.map(Json::to_string).unwrap_or_default();
                    r.content_type("application/vnd.schemaregistry.v1+json")
                        .send(body.as_bytes())
                }
            };
            let mut response = match result {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{base}: {e}"));
                    continue;
                }
            };
            let status = response.status().as_u16();
            let text = match response.body_mut().read_to_string() {
                Ok(t) => t,
                Err(e) => {
                    failures.push(format!("{base}: reading the answer: {e}"));
                    continue;
                }
            };
            let json: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
            if (200..300).contains(&status) {
                return Ok(json);
            }
            return Err(CallError::Api(ApiError {
                status,
                code: json
                    .get("error_code")
                    .and_then(Json::as_i64)
                    .unwrap_or(i64::from(status)),
                message: json
                    .get("message")
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| text.chars().take(200).collect()),
            }));
        }
        Err(CallError::Unreachable(format!(
            "no schema registry could be reached ({})",
            failures.join("; ")
        )))
    }

    /// `POST /subjects/{subject}/versions`: the schema's id, registering it if new.
    pub(crate) fn register(
        &self,
        subject: &str,
        schema: &str,
        schema_type: &str,
    ) -> Result<i32, CallError> {
        let answer = self.call(
            "POST",
            &format!("/subjects/{}/versions", encode_segment(subject)),
            Some(&submitted(schema, schema_type)),
        )?;
        id_of(&answer)
    }

    /// `POST /subjects/{subject}`: the id of a schema already registered under the subject.
    pub(crate) fn lookup(
        &self,
        subject: &str,
        schema: &str,
        schema_type: &str,
    ) -> Result<i32, CallError> {
        let answer = self.call(
            "POST",
            &format!("/subjects/{}", encode_segment(subject)),
            Some(&submitted(schema, schema_type)),
        )?;
        id_of(&answer)
    }

    /// `GET /subjects/{subject}/versions/latest`: id and schema text.
    pub(crate) fn latest(&self, subject: &str) -> Result<(i32, String), CallError> {
        let answer = self.call(
            "GET",
            &format!("/subjects/{}/versions/latest", encode_segment(subject)),
            None,
        )?;
        let schema = answer
            .get("schema")
            .and_then(Json::as_str)
            .ok_or_else(|| CallError::Malformed("the registry's answer has no schema".into()))?;
        Ok((id_of(&answer)?, schema.to_string()))
    }

    /// `GET /schemas/ids/{id}`: the schema text and its type (AVRO when absent).
    pub(crate) fn schema_by_id(&self, id: i32) -> Result<(String, String), CallError> {
        let answer = self.call("GET", &format!("/schemas/ids/{id}"), None)?;
        let schema = answer
            .get("schema")
            .and_then(Json::as_str)
            .ok_or_else(|| CallError::Malformed("the registry's answer has no schema".into()))?;
        let ty = answer
            .get("schemaType")
            .and_then(Json::as_str)
            .unwrap_or("AVRO");
        Ok((schema.to_string(), ty.to_string()))
    }
}

/// A registration or lookup body; `schemaType` is left out for Avro, as Confluent's clients do.
fn submitted(schema: &str, schema_type: &str) -> Json {
    if schema_type == "AVRO" {
        json!({ "schema": schema })
    } else {
        json!({ "schema": schema, "schemaType": schema_type })
    }
}

fn id_of(answer: &Json) -> Result<i32, CallError> {
    answer
        .get("id")
        .and_then(Json::as_i64)
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| CallError::Malformed(format!("the registry's answer has no id: {answer}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_credentials() {
        assert_eq!(shown("http://u:secret@h:1"), "http://h:1");
        assert_eq!(shown("http://h:1/a@b"), "http://h:1/a@b");
        let props: Config = vec![("schema.registry.url".into(), "ftp://u:secret@h:1".into())];
        let e = RegistryClient::from_props(&props)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(
            !e.contains("secret") && e.contains("schema.registry.url"),
            "{e}"
        );
    }
}
