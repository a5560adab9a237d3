//! The standalone worker's `.properties` file (reference §2.1, §2.2).
//!
//! Decision: Kafka Connect requires `key.converter` and `value.converter`; Sluice defaults both
//! to Kafka's `JsonConverter` (with a warning naming the key) so a minimal quickstart file works.
//! Every existing Kafka worker file sets them, so this never changes how such a file behaves.
//! Unknown keys are not errors: they stay in [`WorkerConfig::raw`] for the pass-through
//! prefixes (`producer.*`, `consumer.*`, `admin.*`) and settings read elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::files::read_properties_with_lines;
use super::{
    converter_config, get, parse_long, with_prefix, Config, ConfigError, ConverterConfig,
    WorkerConfig, JSON_CONVERTER, SIMPLE_HEADER_CONVERTER,
};
use crate::spec::ConfigProblem;

const DEFAULT_LISTENER: &str = "http://:8083";

/// Reads a worker .properties file. Errors name the file and line.
pub fn load_worker(path: &Path) -> Result<WorkerConfig, ConfigError> {
    load_with(path, worker_from_config)
}

/// Reads a worker .properties file and interprets it with `interpret`; problems are
/// reported with the file and the line of their key.
pub(super) fn load_with<T>(
    path: &Path,
    interpret: impl FnOnce(Config) -> Result<T, Vec<ConfigProblem>>,
) -> Result<T, ConfigError> {
    let (raw, lines) = read_properties_with_lines(path)?;
    interpret(raw).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems: problems
            .into_iter()
            .map(|p| match lines.iter().rev().find(|(k, _)| *k == p.key) {
                Some((_, line)) => format!("line {line}: {}", p.message),
                None => p.message,
            })
            .collect(),
    })
}

/// Interprets a standalone worker's raw config; returns every problem at once.
pub fn worker_from_config(raw: Config) -> Result<WorkerConfig, Vec<ConfigProblem>> {
    let (worker, problems) = common_worker(raw, Mode::Standalone);
    if problems.is_empty() {
        Ok(worker)
    } else {
        Err(problems_of(problems))
    }
}

/// Which mode's worker file is read: only standalone requires `offset.storage.file.filename`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Standalone,
    Distributed,
}

pub(super) fn problems_of(problems: Vec<(&'static str, String)>) -> Vec<ConfigProblem> {
    problems
        .into_iter()
        .map(|(key, message)| ConfigProblem {
            key: key.to_string(),
            message,
        })
        .collect()
}

/// The keys both modes share (reference §2.1), with defaults where a value is unusable, and
/// every problem found.
pub(super) fn common_worker(
    raw: Config,
    mode: Mode,
) -> (WorkerConfig, Vec<(&'static str, String)>) {
    let mut problems: Vec<(&'static str, String)> = Vec::new();

    let bootstrap_servers = get(&raw, "bootstrap.servers")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);

    let mut converter = |key: &'static str, default: &str, warn: bool| -> ConverterConfig {
        match converter_config(&raw, key) {
            Some(c) if !c.class.is_empty() => c,
            Some(_) => {
                problems.push((
                    key,
                    format!(
                        "Invalid value  for configuration {key}: expected a converter class \
                         name, e.g. {default}"
                    ),
                ));
                ConverterConfig {
                    class: default.to_string(),
                    props: Vec::new(),
                }
            }
            None => {
                if warn {
                    tracing::warn!("{key} is not set (Kafka Connect requires it); using {default}");
                }
                ConverterConfig {
                    class: default.to_string(),
                    props: with_prefix(&raw, &format!("{key}.")),
                }
            }
        }
    };
    let key_converter = converter("key.converter", JSON_CONVERTER, true);
    let value_converter = converter("value.converter", JSON_CONVERTER, true);
    let header_converter = converter("header.converter", SIMPLE_HEADER_CONVERTER, false);

    let offset_storage_file = match get(&raw, "offset.storage.file.filename").map(str::trim) {
        Some(f) if !f.is_empty() => PathBuf::from(f),
        _ if mode == Mode::Distributed => PathBuf::new(),
        _ => {
            problems.push((
                "offset.storage.file.filename",
                "Missing required configuration \"offset.storage.file.filename\" which has no \
                 default value. (standalone mode keeps source offsets in this file)"
                    .to_string(),
            ));
            PathBuf::new()
        }
    };

    let mut millis = |key: &'static str, default: u64| -> Duration {
        let Some(v) = get(&raw, key) else {
            return Duration::from_millis(default);
        };
        match parse_long(key, v) {
            Ok(ms) if ms >= 0 => Duration::from_millis(ms as u64),
            Ok(_) => {
                problems.push((
                    key,
                    format!("Invalid value {v} for configuration {key}: Value must be at least 0"),
                ));
                Duration::from_millis(default)
            }
            Err(e) => {
                problems.push((key, e.to_string()));
                Duration::from_millis(default)
            }
        }
    };
    let offset_flush_interval = millis("offset.flush.interval.ms", 60_000);
    let task_shutdown_graceful_timeout = millis("task.shutdown.graceful.timeout.ms", 5_000);

    let plugin_path = match get(&raw, "plugin.path") {
        None => Vec::new(),
        Some(v) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            list(v).into_iter().map(|p| cwd.join(p)).collect()
        }
    };

    let listeners = match get(&raw, "listeners") {
        None => vec![DEFAULT_LISTENER.to_string()],
        Some(v) => list(v),
    };
    if listeners.is_empty() {
        problems.push((
            "listeners",
            format!(
                "Invalid value  for configuration listeners: expected at least one listener, \
                 e.g. {DEFAULT_LISTENER}"
            ),
        ));
    }
    for l in &listeners {
        if let Err(e) = super::parse_listener(l) {
            problems.push(("listeners", format!("listeners: {e}")));
        }
    }

    // TLS, authentication, CORS and admin listeners of the REST API (files are read here, so
    // a bad certificate or password file stops the worker with the other problems).
    problems.extend(super::rest_security::rest_security(&raw, &listeners).1);

    // The embedded Schema Registry's keys (read where it starts, in `schema_registry`).
    if let Some(v) = get(&raw, "schema.registry.listeners") {
        for l in list(v) {
            match super::parse_listener(&l) {
                Err(e) => problems.push((
                    "schema.registry.listeners",
                    format!("schema.registry.listeners: {e}"),
                )),
                Ok(a) if a.tls => problems.push((
                    "schema.registry.listeners",
                    format!(
                        "schema.registry.listeners: {l:?}: the embedded Schema Registry serves \
                         plain http:// only (TLS is for the REST API's listeners)"
                    ),
                )),
                Ok(_) => {}
            }
        }
    }
    if let Some(v) = get(&raw, "schema.registry.topic.replication.factor") {
        if !v.trim().parse::<i16>().is_ok_and(|n| n == -1 || n >= 1) {
            problems.push((
                "schema.registry.topic.replication.factor",
                format!(
                    "Invalid value {v} for configuration schema.registry.topic.replication.factor: \
                     expected -1 (the broker's default) or a positive number"
                ),
            ));
        }
    }
    let metrics_enabled = match get(&raw, "metrics.enable").map(str::trim) {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            problems.push((
                "metrics.enable",
                format!(
                    "Invalid value {v} for configuration metrics.enable: Expected value to be \
                     either true or false"
                ),
            ));
            true
        }
    };

    // Config providers are built again where connectors start; a bad one stops the worker here.
    if let Err(bad) = super::providers::ConfigProviders::from_worker(&raw) {
        problems.extend(bad.into_iter().map(|p| ("config.providers", p.message)));
    }

    let worker = WorkerConfig {
        bootstrap_servers,
        key_converter,
        value_converter,
        header_converter,
        offset_storage_file,
        offset_flush_interval,
        plugin_path,
        listeners,
        task_shutdown_graceful_timeout,
        metrics_enabled,
        raw,
    };
    (worker, problems)
}

/// Kafka's LIST parsing: comma-separated, trimmed, empty entries dropped.
pub(crate) fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn write(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker.properties");
        std::fs::write(&path, content).expect("write");
        (dir, path)
    }

    #[test]
    fn full_worker_file() {
        let (_d, p) = write(
            "bootstrap.servers=broker:9092\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter.schemas.enable=false\n\
             key.converter.encoding=UTF-8\n\
             offset.storage.file.filename=/tmp/connect.offsets\n\
             offset.flush.interval.ms=10000\n\
             plugin.path=/opt/plugins, relative/dir ,\n\
             listeners=http://0.0.0.0:8084\n\
             task.shutdown.graceful.timeout.ms=+2000\n\
             producer.linger.ms=5\n",
        );
        let w = load_worker(&p).expect("valid");
        assert_eq!(w.bootstrap_servers.as_deref(), Some("broker:9092"));
        assert_eq!(
            w.key_converter.class,
            "org.apache.kafka.connect.storage.StringConverter"
        );
        assert_eq!(w.key_converter.props, cfg(&[("encoding", "UTF-8")]));
        assert_eq!(w.value_converter.class, JSON_CONVERTER);
        assert_eq!(w.value_converter.props, cfg(&[("schemas.enable", "false")]));
        assert_eq!(w.header_converter.class, SIMPLE_HEADER_CONVERTER);
        assert!(w.header_converter.props.is_empty());
        assert_eq!(w.offset_storage_file, PathBuf::from("/tmp/connect.offsets"));
        assert_eq!(w.offset_flush_interval, Duration::from_secs(10));
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            w.plugin_path,
            vec![PathBuf::from("/opt/plugins"), cwd.join("relative/dir")]
        );
        assert_eq!(w.listeners, vec!["http://0.0.0.0:8084".to_string()]);
        assert_eq!(w.task_shutdown_graceful_timeout, Duration::from_secs(2));
        assert_eq!(get(&w.raw, "producer.linger.ms"), Some("5"));
    }

    #[test]
    fn defaults() {
        let w = worker_from_config(cfg(&[
            ("offset.storage.file.filename", "o.json"),
            ("value.converter.schemas.enable", "false"),
        ]))
        .expect("valid");
        assert_eq!(w.bootstrap_servers, None);
        assert_eq!(w.key_converter.class, JSON_CONVERTER);
        assert_eq!(w.value_converter.class, JSON_CONVERTER);
        // Properties of a defaulted converter still apply.
        assert_eq!(w.value_converter.props, cfg(&[("schemas.enable", "false")]));
        assert_eq!(w.header_converter.class, SIMPLE_HEADER_CONVERTER);
        assert_eq!(w.offset_flush_interval, Duration::from_millis(60_000));
        assert_eq!(
            w.task_shutdown_graceful_timeout,
            Duration::from_millis(5_000)
        );
        assert!(w.plugin_path.is_empty());
        assert_eq!(w.listeners, vec!["http://:8083".to_string()]);
        assert!(w.metrics_enabled);
    }

    #[test]
    fn metrics_enable_is_a_boolean() {
        let with = |v: &str| {
            worker_from_config(cfg(&[
                ("offset.storage.file.filename", "o.json"),
                ("metrics.enable", v),
            ]))
        };
        assert!(!with(" FALSE").expect("valid").metrics_enabled);
        assert!(with("true").expect("valid").metrics_enabled);
        let problems = with("off").expect_err("invalid");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "metrics.enable");
        assert_eq!(
            problems[0].message,
            "Invalid value off for configuration metrics.enable: Expected value to be either \
             true or false"
        );
    }

    #[test]
    fn every_problem_is_reported_with_file_key_and_value() {
        let (_d, p) = write(
            "offset.flush.interval.ms=1m\ntask.shutdown.graceful.timeout.ms=-1\nlisteners=ftp://x:1\n",
        );
        let e = load_worker(&p).expect_err("must fail");
        let ConfigError::Invalid { problems, .. } = &e else {
            panic!("unexpected {e:?}")
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        let s = e.to_string();
        assert!(s.starts_with(&p.display().to_string()), "{s}");
        assert!(s.contains("\"offset.storage.file.filename\""), "{s}");
        assert!(
            s.contains("line 1: Invalid value 1m for configuration offset.flush.interval.ms"),
            "{s}"
        );
        assert!(s.contains("expected a long"), "{s}");
        assert!(
            s.contains("Invalid value -1 for configuration task.shutdown.graceful.timeout.ms"),
            "{s}"
        );
        assert!(
            s.contains("line 3: listeners: invalid listener \"ftp://x:1\""),
            "{s}"
        );
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let (_d, p) = write("a=1\nb=\\uZZZZ\n");
        let e = load_worker(&p).expect_err("must fail").to_string();
        assert!(
            e.starts_with(&format!("{}:2: Malformed", p.display())),
            "{e}"
        );
    }
}
