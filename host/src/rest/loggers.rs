//! `/admin/loggers`: read and change log levels at runtime, in Kafka Connect's shapes
//! (KIP-495, KIP-976).
//!
//! Mapping to `tracing`: a Kafka logger name is a `tracing` target prefix (`sluice`,
//! `sluice::runtime`, `sluice::wasm::guest_log`, …) and `root` is the default level. Every
//! change rebuilds one `EnvFilter` (`<root>,<logger>=<level>,…`) and swaps it in through the
//! reload handle the binary registers with [`install`]. Log4j levels map to tracing's:
//! FATAL/ERROR → error, WARN → warn, INFO → info, DEBUG → debug, TRACE/ALL → trace, OFF → off.
//!
//! Decisions a reader must know:
//! - The known loggers are `root`, those named in `RUST_LOG` at startup and those set through
//!   this API; `GET /admin/loggers/{x}` for any other name is Kafka's 404.
//! - Like Kafka's `PUT` (worker scope), setting a logger also sets every known descendant
//!   (`sluice` also sets `sluice::runtime`) and answers with the changed names; `scope=cluster`
//!   answers 204 (a standalone worker is its own cluster); any other scope is `worker`.
//! - Like log4j, any logger name is accepted. A name that cannot be a `tracing` target (one
//!   the directive parser refuses or reads as more than a target: `é…`, `a b`, `x[span]`,
//!   `a,b=trace`) names no code that logs, so it is kept and listed but never reaches the
//!   filter: a name cannot inject directives or make the filter unparsable.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use parking_lot::Mutex;
use serde_json::{json, Map, Value as JsonValue};
use tracing_subscriber::filter::Directive;

use super::body::{self, bad_request};
use super::{ApiError, Routes};

/// Applies a filter directive string (e.g. `info,sluice::runtime=debug`); the error is the
/// logging subscriber's own (a directive it cannot parse, a reload that failed).
pub type ApplyFilter = Box<dyn Fn(&str) -> Result<(), FilterError> + Send + Sync>;

/// Why the logging subscriber refused a filter.
pub type FilterError = Box<dyn std::error::Error + Send + Sync>;

struct Level {
    /// Kafka's (log4j) spelling, e.g. `DEBUG`.
    level: String,
    /// Milliseconds since the epoch of the last change through the API.
    last_modified: Option<u64>,
}

struct Loggers {
    levels: BTreeMap<String, Level>,
    /// Directives of the startup filter this API does not model (span/field filters), kept.
    extra: Vec<String>,
    apply: Option<ApplyFilter>,
}

fn state() -> &'static Mutex<Loggers> {
    static STATE: OnceLock<Mutex<Loggers>> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut levels = BTreeMap::new();
        levels.insert(
            "root".to_string(),
            Level {
                level: "INFO".into(),
                last_modified: None,
            },
        );
        Mutex::new(Loggers {
            levels,
            extra: Vec::new(),
            apply: None,
        })
    })
}

/// Registers the reload hook and the startup filter (`RUST_LOG`, or `info`), whose simple
/// directives (`level`, `target=level`) become the known loggers.
pub fn install(initial: &str, apply: ApplyFilter) {
    let mut s = state().lock();
    for directive in initial.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let simple = !directive.contains(['[', '{']);
        let (target, level) = match directive.split_once('=') {
            Some((t, l)) if simple => (t.trim(), l.trim()),
            None if simple && kafka_level(directive).is_some() => ("root", directive),
            _ => {
                s.extra.push(directive.to_string());
                continue;
            }
        };
        match kafka_level(level) {
            Some((kafka, _)) => {
                s.levels.insert(
                    target.to_string(),
                    Level {
                        level: kafka.to_string(),
                        last_modified: None,
                    },
                );
            }
            None => s.extra.push(directive.to_string()),
        }
    }
    s.apply = Some(apply);
}

/// A log4j level name (any case) → (Kafka's spelling, tracing's directive level).
fn kafka_level(level: &str) -> Option<(&'static str, &'static str)> {
    Some(match level.trim().to_ascii_uppercase().as_str() {
        "OFF" => ("OFF", "off"),
        "FATAL" => ("FATAL", "error"),
        "ERROR" => ("ERROR", "error"),
        "WARN" => ("WARN", "warn"),
        "INFO" => ("INFO", "info"),
        "DEBUG" => ("DEBUG", "debug"),
        "TRACE" => ("TRACE", "trace"),
        "ALL" => ("ALL", "trace"),
        _ => return None,
    })
}

/// Whether `name` can be a `tracing` filter target: the directive `<name>=trace` reads back as
/// exactly that target (no span, field or second directive hidden in the name).
fn is_filter_target(name: &str) -> bool {
    let directive = format!("{name}=trace");
    !name.is_empty()
        // The directive grammar's own characters (directive list, level, span, fields).
        && !name.contains([',', '=', '[', ']', '{', '}'])
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
        && directive
            .parse::<Directive>()
            .is_ok_and(|d| d.to_string() == directive)
}

fn filter_string(s: &Loggers) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (name, l) in &s.levels {
        let level = kafka_level(&l.level).map_or("info", |(_, t)| t);
        if name == "root" {
            parts.insert(0, level.to_string());
        } else if is_filter_target(name) {
            parts.push(format!("{name}={level}"));
        }
    }
    parts.extend(s.extra.iter().cloned());
    parts.join(",")
}

/// `logger` is `ancestor` or below it (`a` → `a::b`, `a.b`).
fn is_descendant(logger: &str, ancestor: &str) -> bool {
    logger == ancestor
        || logger
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('.'))
}

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/admin/loggers", &["GET"], get(list)).add(
        "/admin/loggers/{logger}",
        &["GET", "PUT"],
        get(one).put(set),
    )
}

fn level_json(l: &Level) -> JsonValue {
    json!({"level": l.level, "last_modified": l.last_modified})
}

/// `GET /admin/loggers`: `{"root":{"level":"INFO","last_modified":null},…}`.
async fn list() -> Json<JsonValue> {
    let s = state().lock();
    let mut out = Map::new();
    for (name, l) in &s.levels {
        out.insert(name.clone(), level_json(l));
    }
    Json(JsonValue::Object(out))
}

/// `GET /admin/loggers/{logger}`.
async fn one(Path(logger): Path<String>) -> Result<Json<JsonValue>, ApiError> {
    let s = state().lock();
    s.levels
        .get(&logger)
        .map(|l| Json(level_json(l)))
        .ok_or_else(|| ApiError::not_found(format!("Logger {logger} not found.")))
}

/// `PUT /admin/loggers/{logger}[?scope=worker|cluster]` `{"level":"DEBUG"}`.
async fn set(
    Path(logger): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body::json(body)?;
    let request = body::object(&body, "The request body")?;
    let level = match request.get("level") {
        None | Some(JsonValue::Null) => {
            return Err(bad_request(
                "Desired 'level' parameter was not specified in request.",
            ))
        }
        Some(JsonValue::String(l)) => l.clone(),
        // Kafka reads any JSON value as the level's text (`5` → "invalid log level '5'.").
        Some(other) => other.to_string(),
    };
    // Kafka answers an unknown level with 404.
    let (kafka, _) = kafka_level(&level)
        .ok_or_else(|| ApiError::not_found(format!("invalid log level '{level}'.")))?;
    let cluster = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .rfind(|(k, _)| *k == "scope")
        .is_some_and(|(_, v)| v.eq_ignore_ascii_case("cluster"));
    let changed = set_level(&logger, kafka).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot apply the log level: {e}"),
        )
    })?;
    tracing::info!(logger, level = kafka, "log level changed through REST");
    if cluster {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(json!(changed)).into_response())
}

/// Sets `logger` and its known descendants; returns their names, sorted.
fn set_level(logger: &str, kafka: &str) -> Result<Vec<String>, FilterError> {
    let mut s = state().lock();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let mut next: BTreeMap<String, (String, Option<u64>)> = s
        .levels
        .iter()
        .map(|(k, v)| (k.clone(), (v.level.clone(), v.last_modified)))
        .collect();
    if !next.contains_key(logger) {
        // A new logger starts at the level it inherited (its nearest known ancestor's).
        let inherited = next
            .iter()
            .filter(|(name, _)| name.as_str() != "root" && is_descendant(logger, name))
            .max_by_key(|(name, _)| name.len())
            .or_else(|| next.get_key_value("root"))
            .map_or_else(|| "INFO".to_string(), |(_, (level, _))| level.clone());
        next.insert(logger.to_string(), (inherited, None));
    }
    let mut changed = Vec::new();
    for (name, (level, modified)) in next.iter_mut() {
        if logger == "root" || is_descendant(name, logger) {
            // Like Kafka, `last_modified` moves only when the level really changes.
            if level != kafka {
                *level = kafka.to_string();
                *modified = Some(now);
            }
            changed.push(name.clone());
        }
    }
    let candidate = Loggers {
        levels: next
            .into_iter()
            .map(|(k, (level, last_modified))| {
                (
                    k,
                    Level {
                        level,
                        last_modified,
                    },
                )
            })
            .collect(),
        extra: s.extra.clone(),
        apply: None,
    };
    if let Some(apply) = &s.apply {
        apply(&filter_string(&candidate))?;
    }
    s.levels = candidate.levels;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_tracing_and_descendants_follow() {
        assert_eq!(kafka_level("debug"), Some(("DEBUG", "debug")));
        assert_eq!(kafka_level("FATAL"), Some(("FATAL", "error")));
        assert_eq!(kafka_level("verbose"), None);
        assert!(is_descendant("sluice::runtime", "sluice"));
        assert!(is_descendant("org.apache.kafka", "org.apache"));
        assert!(!is_descendant("sluicex", "sluice"));
        assert!(is_filter_target("sluice::runtime"));
        assert!(is_filter_target("org.apache.kafka.connect"));
        for name in [
            "",
            "a,sluice=trace",
            "x[span]",
            "x{f}",
            "\u{80}",
            "\u{1F600}x",
            "a=b",
        ] {
            assert!(!is_filter_target(name), "{name:?}");
        }
        let s = Loggers {
            levels: [
                ("root", "WARN"),
                ("sluice::runtime", "DEBUG"),
                ("x", "OFF"),
                ("a,b=trace", "ALL"),
            ]
            .into_iter()
            .map(|(k, l)| {
                (
                    k.to_string(),
                    Level {
                        level: l.into(),
                        last_modified: None,
                    },
                )
            })
            .collect(),
            extra: vec!["sluice[span]=trace".into()],
            apply: None,
        };
        assert_eq!(
            filter_string(&s),
            "warn,sluice::runtime=debug,x=off,sluice[span]=trace"
        );
    }
}
