//! The HTTP sink's configuration: Confluent's keys, their definitions (the spec), and one pass
//! that checks them all and reports every problem at once.
//!
//! Secrets (`connection.password`, `bearer.token`) are `password` keys, so the host masks them
//! in REST answers; no problem message here ever quotes a value of theirs.

use sluice_plugin_sdk::retry::Retries;
pub use sluice_plugin_sdk::retry::{MAX_RETRIES, RETRY_BACKOFF_MS as RETRY_BACKOFF};
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, Importance, Problems};

pub const URL: &str = "http.api.url";
pub const METHOD: &str = "request.method";
pub const HEADERS: &str = "headers";
pub const HEADER_SEPARATOR: &str = "header.separator";
pub const BODY_FORMAT: &str = "request.body.format";
pub const BATCH_MAX_SIZE: &str = "batch.max.size";
pub const BATCH_JSON_AS_ARRAY: &str = "batch.json.as.array";
pub const BATCH_PREFIX: &str = "batch.prefix";
pub const BATCH_SUFFIX: &str = "batch.suffix";
pub const BATCH_SEPARATOR: &str = "batch.separator";
pub const AUTH_TYPE: &str = "auth.type";
pub const USER: &str = "connection.user";
pub const PASSWORD: &str = "connection.password";
pub const BEARER_TOKEN: &str = "bearer.token";
pub const RETRY_ON_STATUS: &str = "retry.on.status.codes";
pub const ON_ERROR: &str = "behavior.on.error";
pub const ON_NULL: &str = "behavior.on.null.values";
pub const CONNECT_TIMEOUT: &str = "http.connect.timeout.ms";
pub const REQUEST_TIMEOUT: &str = "http.request.timeout.ms";
pub const REPORTER_SERVERS: &str = "reporter.bootstrap.servers";
pub const REPORTER_RESULT_TOPIC: &str = "reporter.result.topic.name";
pub const REPORTER_ERROR_TOPIC: &str = "reporter.error.topic.name";
pub const REPORTER_RESULT_REPLICATION: &str = "reporter.result.topic.replication.factor";
pub const REPORTER_ERROR_REPLICATION: &str = "reporter.error.topic.replication.factor";
pub const REPORTER_RESULT_PARTITIONS: &str = "reporter.result.topic.partitions";
pub const REPORTER_ERROR_PARTITIONS: &str = "reporter.error.topic.partitions";
pub const REPORTER_RESULT_VALUE_FORMAT: &str = "reporter.result.topic.value.format";
pub const REPORTER_ERROR_VALUE_FORMAT: &str = "reporter.error.topic.value.format";
pub const REPORTER_RESULT_KEY_FORMAT: &str = "reporter.result.topic.key.format";
pub const REPORTER_ERROR_KEY_FORMAT: &str = "reporter.error.topic.key.format";

/// Statuses retried by default: request timeout, too many requests and every 5xx. Confluent's
/// default is `400-` (every 4xx too); Sluice fails a batch that got a 4xx at once instead, so
/// its records reach the dead letter queue rather than being resent `max.retries` times.
pub const DEFAULT_RETRY_ON_STATUS: &str = "408,429,500-";

/// Headers the host owns: a plugin may not set them.
const HOST_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// Each value as Connect's `toString()` (a string value as it is).
    String,
    /// Each value as JsonConverter writes it with `schemas.enable=false`.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The batch's records fail (dead letter queue with `errors.tolerance=all`, else the task
    /// fails).
    Fail,
    /// Logged, then treated as written.
    Log,
    /// Treated as written.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNull {
    Ignore,
    Log,
    Fail,
    /// A `DELETE` to the record's URL.
    Delete,
}

/// An inclusive range of statuses; `400-` is `400..=u16::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub from: u16,
    pub to: u16,
}

/// Everything a task needs, checked.
#[derive(Debug, Clone)]
pub struct HttpSinkConfig {
    /// May hold `${topic}` and `${key}`.
    pub url: String,
    pub method: String,
    /// Extra headers, in order (`headers`, then the authentication header).
    pub headers: Vec<(String, String)>,
    /// The names of headers whose values must never be logged (the authentication header).
    pub secret_headers: Vec<String>,
    pub body_format: BodyFormat,
    pub batch_max_size: usize,
    pub json_as_array: bool,
    pub prefix: String,
    pub suffix: String,
    pub separator: String,
    pub retry_on: Vec<StatusRange>,
    pub max_retries: u32,
    pub retry_backoff_ms: u64,
    pub on_error: OnError,
    pub on_null: OnNull,
    pub timeout_ms: u64,
    /// Whether responses go to `reporter.result.topic.name` (the worker writes them).
    pub report_results: bool,
    /// Whether failed requests go to `reporter.error.topic.name`.
    pub report_errors: bool,
}

impl HttpSinkConfig {
    /// Whether a response with `status` is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        self.retry_on
            .iter()
            .any(|r| (r.from..=r.to).contains(&status))
    }
}

/// Confluent's `max.retries` and `retry.backoff.ms` defaults.
const DEFAULT_RETRIES: u32 = 10;
const DEFAULT_BACKOFF_MS: u64 = 3000;

pub fn defs() -> Vec<ConfigDef> {
    let mut defs = vec![
        ConfigDef::string(URL).required().importance(Importance::High).doc("The HTTP(S) URL records are sent to. ${topic} and ${key} are replaced by the record's topic and key (percent-encoded). Its host:port must be granted in wasm.network.allow."),
        ConfigDef::string(METHOD).default("POST").recommended(["POST", "PUT", "PATCH"]).importance(Importance::High).doc("The request method."),
        ConfigDef::string(HEADERS).default("").importance(Importance::High).doc("Headers sent with every request, `Name:Value` separated by header.separator, e.g. `Content-Type:application/json|X-Source:sluice`. Host, Content-Length, Connection and Transfer-Encoding are the host's."),
        ConfigDef::string(HEADER_SEPARATOR).default("|").importance(Importance::High).doc("The separator between the headers in `headers`."),
        ConfigDef::string(BODY_FORMAT).default("string").recommended(["string", "json"]).importance(Importance::High).doc("string: each record value as Connect's toString() (a string value as it is); json: as JsonConverter writes it with schemas.enable=false."),
        ConfigDef::int(BATCH_MAX_SIZE).default("1").importance(Importance::High).doc("Most records in one request. A request never waits for a later batch: a put's records are sent before it returns."),
        ConfigDef::boolean(BATCH_JSON_AS_ARRAY).default("false").importance(Importance::High).doc("With request.body.format=json: the body is a JSON array of the records (batch.prefix, batch.suffix and batch.separator are not used)."),
        ConfigDef::string(BATCH_PREFIX).default("").importance(Importance::High).doc("Text before the records of a request."),
        ConfigDef::string(BATCH_SUFFIX).default("").importance(Importance::High).doc("Text after the records of a request."),
        ConfigDef::string(BATCH_SEPARATOR).default(",").importance(Importance::High).doc("Text between the records of a request."),
        ConfigDef::string(AUTH_TYPE).default("none").recommended(["none", "basic", "bearer"]).importance(Importance::High).doc("none; basic (connection.user, connection.password); bearer (bearer.token). Put secrets in config providers, e.g. ${file:/etc/sluice/http.properties:password}."),
        ConfigDef::string(USER).importance(Importance::High).doc("The user for auth.type=basic."),
        ConfigDef::password(PASSWORD).importance(Importance::High).doc("The password for auth.type=basic. Never logged or shown."),
        ConfigDef::password(BEARER_TOKEN).importance(Importance::High).doc("The token for auth.type=bearer (sent as `Authorization: Bearer <token>`). Never logged or shown."),
        ConfigDef::string(RETRY_ON_STATUS).default(DEFAULT_RETRY_ON_STATUS).importance(Importance::Medium).doc("Statuses that are retried: codes and inclusive ranges, e.g. `429,500-` or `400-499`. Any other status of 300 or more fails the request's records at once (see behavior.on.error)."),
        ConfigDef::string(ON_ERROR).default("fail").recommended(["fail", "log", "ignore"]).importance(Importance::Low).doc("A request that failed for good: fail its records (to the dead letter queue with errors.tolerance=all, else the task fails; retried statuses and unreachable servers fail the task), log the failure and go on, or go on silently."),
        ConfigDef::string(ON_NULL).default("ignore").recommended(["ignore", "log", "fail", "delete"]).importance(Importance::Low).doc("Records with a null value: skip them, log and skip them, fail them, or send a DELETE to the record's URL."),
        ConfigDef::int(CONNECT_TIMEOUT).default("30000").importance(Importance::Low).doc("Milliseconds to connect (the host's wasm.http.timeout.ms bounds the whole request)."),
        ConfigDef::int(REQUEST_TIMEOUT).default("30000").importance(Importance::Low).doc("Milliseconds to the first byte of the response."),
        ConfigDef::string(REPORTER_SERVERS).default("").importance(Importance::Medium).doc("The Kafka cluster the worker writes this connector's result and error records to (Confluent's Connect Reporter). Empty: nothing is reported."),
        ConfigDef::string(REPORTER_RESULT_TOPIC).default("success-${connector}").importance(Importance::Medium).doc("The topic of each delivered record's response body (${connector}: the connector's name). Empty: results are not reported."),
        ConfigDef::string(REPORTER_ERROR_TOPIC).default("error-${connector}").importance(Importance::Medium).doc("The topic of each record whose request failed, with Confluent's error headers (status_code, url, response_content, payload, …). Empty: errors are not reported."),
        ConfigDef::int(REPORTER_RESULT_REPLICATION).default("3").importance(Importance::Low).doc("The replication factor the result topic is created with."),
        ConfigDef::int(REPORTER_ERROR_REPLICATION).default("3").importance(Importance::Low).doc("The replication factor the error topic is created with."),
        ConfigDef::int(REPORTER_RESULT_PARTITIONS).default("1").importance(Importance::Low).doc("The partitions the result topic is created with."),
        ConfigDef::int(REPORTER_ERROR_PARTITIONS).default("1").importance(Importance::Low).doc("The partitions the error topic is created with."),
        ConfigDef::string(REPORTER_RESULT_VALUE_FORMAT).default("json").recommended(["json", "string"]).importance(Importance::Low).doc("json: the response body as a JSON string; string: the body's text as it is."),
        ConfigDef::string(REPORTER_ERROR_VALUE_FORMAT).default("json").recommended(["json", "string"]).importance(Importance::Low).doc("json: the error message as a JSON string; string: its text as it is."),
        ConfigDef::string(REPORTER_RESULT_KEY_FORMAT).default("json").recommended(["json", "string"]).importance(Importance::Low).doc("Accepted for compatibility: reporter records have no key."),
        ConfigDef::string(REPORTER_ERROR_KEY_FORMAT).default("json").recommended(["json", "string"]).importance(Importance::Low).doc("Accepted for compatibility: reporter records have no key."),
    ];
    defs.extend(Retries::defs(
        DEFAULT_RETRIES,
        DEFAULT_BACKOFF_MS,
        "Retries of a request that got a retried status or no answer (connection refused, reset, timed out).",
        "Milliseconds to wait before each retry. All retries of one put must fit in the connector's wasm.call.timeout.ms (60 s by default).",
    ));
    defs
}

/// Parses `retry.on.status.codes`: `code`, `from-to` or `from-`, comma-separated.
pub fn parse_statuses(text: &str) -> Result<Vec<StatusRange>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let code = |s: &str| -> Result<u16, String> {
            match s.trim().parse::<u16>() {
                Ok(c) if (100..=999).contains(&c) => Ok(c),
                _ => Err(format!(
                    "'{item}' is not a status code or range; use e.g. 429, 500-599 or 500-"
                )),
            }
        };
        let range = match item.split_once('-') {
            None => {
                let c = code(item)?;
                StatusRange { from: c, to: c }
            }
            Some((from, "")) => StatusRange {
                from: code(from)?,
                to: u16::MAX,
            },
            Some((from, to)) => {
                let (from, to) = (code(from)?, code(to)?);
                if from > to {
                    return Err(format!("'{item}': the range ends before it starts"));
                }
                StatusRange { from, to }
            }
        };
        out.push(range);
    }
    Ok(out)
}

/// Splits `headers` into (name, value) pairs.
fn parse_headers(p: &mut Problems, text: &str, separator: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if text.trim().is_empty() {
        return out;
    }
    for item in text.split(separator).filter(|s| !s.trim().is_empty()) {
        let Some((name, value)) = item.split_once(':') else {
            p.add(
                HEADERS,
                format!(
                    "'{}' is not `Name:Value` (headers are separated by header.separator '{separator}')",
                    item.trim()
                ),
            );
            continue;
        };
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            p.add(HEADERS, format!("'{name}' is not a valid header name"));
        } else if HOST_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            p.add(
                HEADERS,
                format!("'{name}' is set by the host and cannot be configured"),
            );
        } else if value.contains(['\r', '\n']) {
            p.add(HEADERS, format!("the value of '{name}' has a line break"));
        } else {
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    out
}

pub fn compile(config: &Config) -> Result<HttpSinkConfig, Vec<ConfigProblem>> {
    let mut p = Problems::new();

    let url = config.get(URL).unwrap_or("").trim().to_string();
    let lower = url.to_ascii_lowercase();
    if url.is_empty() {
        p.add(URL, "missing required key: the URL records are sent to");
    } else if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        p.add(
            URL,
            format!("'{url}': only http:// and https:// URLs are accepted"),
        );
    } else {
        let authority = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("");
        if authority.is_empty() {
            p.add(URL, format!("'{url}' has no host"));
        } else if authority.contains('@') {
            p.add(URL, "credentials in the URL are not accepted; use auth.type with connection.user and connection.password");
        } else if authority.contains("${") {
            p.add(
                URL,
                "${topic} and ${key} may be used in the path and query only, not in the host",
            );
        }
    }

    let method = config
        .get(METHOD)
        .unwrap_or("POST")
        .trim()
        .to_ascii_uppercase();
    if !["POST", "PUT", "PATCH"].contains(&method.as_str()) {
        p.add(
            METHOD,
            format!("'{method}' is not accepted; use one of: POST, PUT, PATCH"),
        );
    }

    let separator = config.get(HEADER_SEPARATOR).unwrap_or("|").to_string();
    if separator.is_empty() {
        p.add(HEADER_SEPARATOR, "must not be empty");
    }
    let mut headers = if separator.is_empty() {
        Vec::new()
    } else {
        parse_headers(&mut p, config.get(HEADERS).unwrap_or(""), &separator)
    };

    let body_format = p.choice(
        config,
        BODY_FORMAT,
        &[("string", BodyFormat::String), ("json", BodyFormat::Json)],
    );
    let json_as_array = p.take(config.bool(BATCH_JSON_AS_ARRAY)).unwrap_or_default();
    let batch_max_size = p
        .take(config.optional_int(BATCH_MAX_SIZE))
        .flatten()
        .unwrap_or(1);
    if !(1..=1_000_000).contains(&batch_max_size) {
        p.add(
            BATCH_MAX_SIZE,
            format!("{batch_max_size} is outside [1, 1000000]"),
        );
    }

    let mut secret_headers = Vec::new();
    let auth = config
        .get(AUTH_TYPE)
        .unwrap_or("none")
        .trim()
        .to_ascii_lowercase();
    let given = |key: &str| config.get(key).filter(|v| !v.is_empty());
    let authorization = match auth.as_str() {
        "none" => None,
        "basic" => match (given(USER), given(PASSWORD)) {
            (Some(user), Some(password)) => Some(format!(
                "Basic {}",
                sluice_plugin_sdk::java::base64(format!("{user}:{password}").as_bytes())
            )),
            (user, _) => {
                let missing = if user.is_none() { USER } else { PASSWORD };
                p.add(
                    missing,
                    format!("auth.type=basic needs {USER} and {PASSWORD}"),
                );
                None
            }
        },
        "bearer" => match given(BEARER_TOKEN) {
            Some(token) => Some(format!("Bearer {token}")),
            None => {
                p.add(BEARER_TOKEN, "auth.type=bearer needs bearer.token");
                None
            }
        },
        "oauth2" => {
            p.add(
                AUTH_TYPE,
                "'oauth2' is not supported by Sluice's HTTP sink yet; use none, basic or bearer",
            );
            None
        }
        other => {
            p.add(
                AUTH_TYPE,
                format!("'{other}' is not accepted; use one of: none, basic, bearer"),
            );
            None
        }
    };
    if let Some(value) = authorization {
        if headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            p.add(
                HEADERS,
                format!("an Authorization header and auth.type={auth} cannot be used together"),
            );
        }
        headers.push(("Authorization".into(), value));
        secret_headers.push("authorization".into());
    }

    let retry_on = match parse_statuses(
        config
            .get(RETRY_ON_STATUS)
            .unwrap_or(DEFAULT_RETRY_ON_STATUS),
    ) {
        Ok(r) => r,
        Err(e) => {
            p.add(RETRY_ON_STATUS, e);
            Vec::new()
        }
    };
    let retries = Retries::read(&mut p, config, DEFAULT_RETRIES, DEFAULT_BACKOFF_MS);
    let connect_timeout = p.int_in(config, CONNECT_TIMEOUT, 1..=3_600_000, 30_000);
    let request_timeout = p.int_in(config, REQUEST_TIMEOUT, 1..=3_600_000, 30_000);
    // The worker creates the reporter topics with these (checked here with the rest).
    for key in [
        REPORTER_RESULT_REPLICATION,
        REPORTER_ERROR_REPLICATION,
        REPORTER_RESULT_PARTITIONS,
        REPORTER_ERROR_PARTITIONS,
    ] {
        p.int_in(config, key, 1..=i64::from(i16::MAX), 1);
    }

    let on_error = p.choice(
        config,
        ON_ERROR,
        &[
            ("fail", OnError::Fail),
            ("log", OnError::Log),
            ("ignore", OnError::Ignore),
        ],
    );
    let on_null = p.choice(
        config,
        ON_NULL,
        &[
            ("ignore", OnNull::Ignore),
            ("log", OnNull::Log),
            ("fail", OnNull::Fail),
            ("delete", OnNull::Delete),
        ],
    );
    // The worker writes the reports and reads these keys itself; checked here so a bad value
    // is reported with every other problem when the connector is created.
    let reporting = given(REPORTER_SERVERS).is_some_and(|s| !s.trim().is_empty());
    let topic_named = |key: &str| config.get(key).is_none_or(|t| !t.trim().is_empty());
    for key in [
        REPORTER_RESULT_VALUE_FORMAT,
        REPORTER_ERROR_VALUE_FORMAT,
        REPORTER_RESULT_KEY_FORMAT,
        REPORTER_ERROR_KEY_FORMAT,
    ] {
        if config.get(key).is_some() {
            p.choice(config, key, &[("json", ()), ("string", ())]);
        }
    }

    p.finish(HttpSinkConfig {
        url,
        method,
        headers,
        secret_headers,
        body_format,
        batch_max_size: batch_max_size as usize,
        json_as_array: json_as_array && body_format == BodyFormat::Json,
        prefix: config.get(BATCH_PREFIX).unwrap_or("").to_string(),
        suffix: config.get(BATCH_SUFFIX).unwrap_or("").to_string(),
        separator: config.get(BATCH_SEPARATOR).unwrap_or(",").to_string(),
        retry_on,
        max_retries: retries.max_retries,
        retry_backoff_ms: retries.backoff_ms,
        on_error,
        on_null,
        timeout_ms: connect_timeout.max(request_timeout) as u64,
        report_results: reporting && topic_named(REPORTER_RESULT_TOPIC),
        report_errors: reporting && topic_named(REPORTER_ERROR_TOPIC),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &defs())
    }

    #[test]
    fn defaults_are_confluents_except_the_retried_statuses() {
        let c = compile(&config(&[(URL, "http://api:8080/in")])).unwrap();
        assert_eq!(c.method, "POST");
        assert_eq!(c.batch_max_size, 1);
        assert_eq!(
            (c.prefix.as_str(), c.suffix.as_str(), c.separator.as_str()),
            ("", "", ",")
        );
        assert!(!c.json_as_array);
        assert_eq!(c.body_format, BodyFormat::String);
        assert_eq!((c.max_retries, c.retry_backoff_ms), (10, 3000));
        assert_eq!(c.on_error, OnError::Fail);
        assert_eq!(c.on_null, OnNull::Ignore);
        assert!(c.headers.is_empty());
        for (status, retried) in [
            (200, false),
            (400, false),
            (404, false),
            (408, true),
            (429, true),
            (500, true),
            (503, true),
            (599, true),
        ] {
            assert_eq!(c.retries_status(status), retried, "{status}");
        }
    }

    #[test]
    fn headers_and_authentication_become_request_headers() {
        let c = compile(&config(&[
            (URL, "https://api/x"),
            (HEADERS, "Content-Type:application/json| X-Trace : a:b "),
            (AUTH_TYPE, "BASIC"),
            (USER, "ann"),
            (PASSWORD, "s3cret"),
        ]))
        .unwrap();
        assert_eq!(
            c.headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("X-Trace".to_string(), "a:b".to_string()),
                (
                    "Authorization".to_string(),
                    "Basic YW5uOnMzY3JldA==".to_string()
                ),
            ]
        );
        assert_eq!(c.secret_headers, vec!["authorization"]);
        let c = compile(&config(&[
            (URL, "https://api/x"),
            (HEADERS, "A:1;B:2"),
            (HEADER_SEPARATOR, ";"),
            (AUTH_TYPE, "bearer"),
            (BEARER_TOKEN, "tok"),
        ]))
        .unwrap();
        assert_eq!(c.headers.len(), 3);
        assert_eq!(c.headers[2].1, "Bearer tok");
    }

    #[test]
    fn every_problem_is_reported_and_no_secret_is_quoted() {
        let problems = compile(&config(&[
            (URL, "ftp://api/x"),
            (METHOD, "GET"),
            (HEADERS, "Host:evil|novalue"),
            (BATCH_MAX_SIZE, "0"),
            (AUTH_TYPE, "basic"),
            (PASSWORD, "hunter2"),
            (RETRY_ON_STATUS, "500-400"),
            (ON_ERROR, "explode"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                URL,
                METHOD,
                HEADERS,
                HEADERS,
                BATCH_MAX_SIZE,
                USER,
                RETRY_ON_STATUS,
                ON_ERROR
            ]
        );
        assert!(!format!("{problems:?}").contains("hunter2"));
        let problems = compile(&config(&[(URL, "http://u:p@api/x")])).unwrap_err();
        assert!(problems[0].message.contains("credentials"), "{problems:?}");
        let problems =
            compile(&config(&[(URL, "http://api/x"), (AUTH_TYPE, "oauth2")])).unwrap_err();
        assert!(
            problems[0].message.contains("not supported"),
            "{problems:?}"
        );
        let problems =
            compile(&config(&[(URL, "http://api/x"), (AUTH_TYPE, "bearer")])).unwrap_err();
        assert_eq!(problems[0].key, BEARER_TOKEN);
    }

    #[test]
    fn status_lists_take_codes_and_inclusive_ranges() {
        assert_eq!(
            parse_statuses("404, 500-503,429-").unwrap(),
            vec![
                StatusRange { from: 404, to: 404 },
                StatusRange { from: 500, to: 503 },
                StatusRange {
                    from: 429,
                    to: u16::MAX
                },
            ]
        );
        assert!(parse_statuses("abc").is_err());
        assert!(parse_statuses("20").is_err());
        assert_eq!(parse_statuses("").unwrap(), vec![]);
    }
}
