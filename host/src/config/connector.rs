//! Compiling a connector config against the plugin catalog into the [`ConnectorPlan`] the
//! worker runs.
//!
//! Design decision: [`compile`] is the only place a connector config is interpreted. Validation
//! (`/config/validate`, create, reconfigure) and execution both take its answer, so they can
//! never disagree. One pass collects every problem (as Kafka's `/config/validate` does)
//! instead of stopping at the first: common keys (`name`, `connector.class`, `tasks.max`,
//! converter overrides), sink topic selection, the SMT chain, `errors.*`, `restart.*`, the
//! plugin's declared config defs (required keys, types), then the plugin's own `validate`.
//! Messages use Kafka Connect's wording so operators recognise them.

use super::restart::{plugin_view, RestartPolicy};
use super::worker::list;
use super::{
    check_type, converter_config, framework_def, get, invalid_value, parse_int, ChainSpec, Config,
    ConverterConfig, ErrorSettings, WorkerConfig,
};
use crate::spec::{ConfigProblem, PluginHandle, PluginKind, PluginLookup};

/// A connector config compiled against the catalog: every setting the worker needs, typed.
/// `P` is the catalog's plugin handle; the plan keeps the plugins (connector, transforms,
/// predicates) it was checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorPlan<P> {
    pub name: String,
    /// `connector.class` as written (trimmed).
    pub class: String,
    pub plugin: P,
    pub tasks_max: u32,
    /// `tasks.max.enforce` (Kafka's default `true`): see [`ConnectorPlan::check_task_count`].
    pub enforce_tasks_max: bool,
    /// Per-connector converter overrides (`None`: the worker's).
    pub key_converter: Option<ConverterConfig>,
    pub value_converter: Option<ConverterConfig>,
    pub header_converter: Option<ConverterConfig>,
    /// Sinks: `topics` (empty when `topics.regex` is used).
    pub topics: Vec<String>,
    /// Sinks: `topics.regex`.
    pub topics_regex: Option<String>,
    pub chain: ChainSpec<P>,
    pub errors: ErrorSettings,
    /// `None`: failed tasks are not restarted automatically.
    pub restart: Option<RestartPolicy>,
    /// The whole config as given (including `name` and `connector.class`).
    pub raw: Config,
}

/// Kafka's `TooManyTasksException`: the plugin generated more task configs than `tasks.max`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The connector {connector} has generated {generated} tasks, which is greater than \
     {tasks_max}, the maximum number of tasks it is configured to create. This behaviour should \
     be considered a bug and is disallowed. If necessary, it can be permitted by reconfiguring \
     the connector with 'tasks.max.enforce' set to false; however, this option will be removed \
     in a future release of Kafka Connect."
)]
pub struct TooManyTasks {
    pub connector: String,
    pub generated: usize,
    pub tasks_max: u32,
}

impl<P: PluginHandle> ConnectorPlan<P> {
    pub fn kind(&self) -> PluginKind {
        self.plugin.spec().kind
    }

    /// The config the connector plugin sees: without the host's reserved `restart.*` keys.
    pub fn plugin_config(&self) -> Config {
        plugin_view(&self.raw)
    }
}

/// The converters a connector runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterConfigs {
    pub key: ConverterConfig,
    pub value: ConverterConfig,
    pub header: ConverterConfig,
}

impl<P> ConnectorPlan<P> {
    /// The connector's converter overrides, else the worker's converters.
    pub fn converters(&self, worker: &WorkerConfig) -> ConverterConfigs {
        let pick = |own: &Option<ConverterConfig>, default: &ConverterConfig| {
            own.as_ref().unwrap_or(default).clone()
        };
        ConverterConfigs {
            key: pick(&self.key_converter, &worker.key_converter),
            value: pick(&self.value_converter, &worker.value_converter),
            header: pick(&self.header_converter, &worker.header_converter),
        }
    }

    /// Kafka's `tasks.max.enforce`: more task configs than `tasks.max` fail the connector,
    /// unless the key is `false` (deprecated in Kafka, honoured for configs written for it),
    /// which runs them all with a warning.
    pub fn check_task_count(&self, generated: usize) -> Result<(), TooManyTasks> {
        if generated <= self.tasks_max as usize {
            return Ok(());
        }
        if self.enforce_tasks_max {
            return Err(TooManyTasks {
                connector: self.name.clone(),
                generated,
                tasks_max: self.tasks_max,
            });
        }
        tracing::warn!(
            connector = %self.name,
            generated,
            tasks_max = self.tasks_max,
            "the connector generated more tasks than tasks.max; running them all because \
             tasks.max.enforce=false"
        );
        Ok(())
    }
}

/// The setting a part of the config compiled to, its problems added to the others.
fn keep<T>(
    compiled: Result<T, Vec<ConfigProblem>>,
    problem: &mut impl FnMut(&str, String),
) -> Option<T> {
    compiled
        .map_err(|found| {
            for p in found {
                problem(&p.key, p.message);
            }
        })
        .ok()
}

/// Checks a present framework key against the type [`framework_def`] gives it.
fn check_framework_type(raw: &Config, key: &str, problem: &mut impl FnMut(&str, String)) -> bool {
    let (Some(v), Some(def)) = (get(raw, key), framework_def(key)) else {
        return true;
    };
    match check_type(key, v, def.ty, false) {
        Ok(()) => true,
        Err(e) => {
            problem(key, e.to_string());
            false
        }
    }
}

/// Compiles a raw connector config against the catalog and the plugin's spec; returns every
/// problem, secrets redacted.
pub fn compile<L: PluginLookup + ?Sized>(
    raw: &Config,
    catalog: &L,
) -> Result<ConnectorPlan<L::Plugin>, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem {
            key: key.to_string(),
            message,
        })
    };

    let name = get(raw, "name").unwrap_or_default().to_string();
    match get(raw, "name") {
        None => problem("name", missing("name")),
        Some("") => problem(
            "name",
            invalid_value("name", "", false, "String may not be empty"),
        ),
        Some(n) if n.chars().any(char::is_control) => {
            let controls: Vec<String> = n
                .chars()
                .filter(|c| c.is_control())
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect();
            problem(
                "name",
                invalid_value(
                    "name",
                    n,
                    false,
                    &format!(
                        "String may not contain control sequences but had the following ASCII \
                         control characters: {}",
                        controls.join(", ")
                    ),
                ),
            )
        }
        Some(_) => {}
    }

    let class = get(raw, "connector.class")
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let plugin = if class.is_empty() {
        problem("connector.class", missing("connector.class"));
        None
    } else {
        match catalog.lookup(&class) {
            Some(p) if matches!(p.spec().kind, PluginKind::Source | PluginKind::Sink) => Some(p),
            Some(p) => {
                problem(
                    "connector.class",
                    format!(
                        "Invalid value {class} for configuration connector.class: {} is a {}, \
                         not a source or sink connector; available connectors are: {}",
                        p.spec().name,
                        p.spec().kind.rest_name(),
                        available(catalog)
                    ),
                );
                None
            }
            None => {
                problem(
                    "connector.class",
                    format!(
                        "Failed to find any class that implements Connector and which name \
                         matches {class}, available connectors are: {}",
                        available(catalog)
                    ),
                );
                None
            }
        }
    };

    let tasks_max = match get(raw, "tasks.max") {
        None => 1,
        Some(v) => match parse_int("tasks.max", v) {
            Ok(n) if n >= 1 => n as u32,
            Ok(_) => {
                problem(
                    "tasks.max",
                    invalid_value("tasks.max", v, false, "Value must be at least 1"),
                );
                1
            }
            Err(e) => {
                // Kafka reports the parse error, then its `atLeast(1)` validator's error about
                // the (unparsed, so null) value: two errors, as the reference shows.
                problem("tasks.max", e.to_string());
                problem(
                    "tasks.max",
                    invalid_value("tasks.max", "null", false, "Value must be non-null"),
                );
                1
            }
        },
    };
    // Honoured when task configs are generated (`ConnectorPlan::check_task_count`).
    check_framework_type(raw, "tasks.max.enforce", &mut problem);
    let enforce_tasks_max =
        !get(raw, "tasks.max.enforce").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));

    let mut converter = |key: &str| {
        let c = converter_config(raw, key)?;
        if c.class.is_empty() {
            problem(
                key,
                invalid_value(key, "", false, "expected a converter class name"),
            );
            return None;
        }
        Some(c)
    };
    let key_converter = converter("key.converter");
    let value_converter = converter("value.converter");
    let header_converter = converter("header.converter");

    let is_sink = plugin
        .as_ref()
        .is_some_and(|p| p.spec().kind == PluginKind::Sink);
    let (topics, topics_regex) = if is_sink {
        check_sink_topics(raw, &mut problem)
    } else {
        (Vec::new(), None)
    };
    // Kafka defines the exactly-once keys for source connectors only (`SourceConnectorConfig`);
    // for a sink they are ordinary plugin keys.
    if plugin
        .as_ref()
        .is_some_and(|p| p.spec().kind == PluginKind::Source)
    {
        check_exactly_once(raw, &mut problem);
    }

    // `transforms` / `predicates` (resolved against the catalog), `errors.*`, and the host's
    // `restart.*` keys (never shown to the plugin).
    let chain = keep(ChainSpec::resolve(raw, catalog), &mut problem);
    let errors = keep(ErrorSettings::from_connector(raw), &mut problem);
    let restart = keep(RestartPolicy::from_connector(raw), &mut problem);

    if let Some(plugin) = &plugin {
        for def in &plugin.spec().config {
            match get(raw, &def.name) {
                None if def.required && def.default.is_none() => {
                    problem(&def.name, missing(&def.name))
                }
                None => {}
                Some(v) => {
                    if let Err(e) = check_type(&def.name, v, def.ty, def.secret) {
                        problem(&def.name, e.to_string())
                    }
                }
            }
        }
        match plugin.validate(&plugin_view(raw)) {
            Ok(found) => problems.extend(found),
            Err(e) => problems.push(ConfigProblem {
                key: "connector.class".to_string(),
                message: format!("{class} could not validate the configuration: {e}"),
            }),
        }
    }

    match (plugin, chain, errors, restart) {
        (Some(plugin), Some(chain), Some(errors), Some(restart)) if problems.is_empty() => {
            Ok(ConnectorPlan {
                name,
                class,
                plugin,
                tasks_max,
                enforce_tasks_max,
                key_converter,
                value_converter,
                header_converter,
                topics,
                topics_regex,
                chain,
                errors,
                restart,
                raw: raw.clone(),
            })
        }
        _ => {
            // Plugins write their own messages and may quote a value they were given; `raw`
            // may hold resolved `${provider:…}` values. No secret leaves in a problem (they
            // reach REST errors, the validate response and the log).
            let secrets = super::secrets::Secrets::of(raw, Some(catalog));
            for p in &mut problems {
                p.message = secrets.redact(&p.message);
            }
            Err(problems)
        }
    }
}

/// Sink topic selection, with Kafka's `SinkConnectorConfig.validate` messages (a problem about
/// both keys is reported on both, as Kafka does). The two "which key" rules are bare messages
/// in Kafka (no "Invalid value … for configuration …" prefix), as the reference shows.
fn check_sink_topics(
    raw: &Config,
    problem: &mut impl FnMut(&str, String),
) -> (Vec<String>, Option<String>) {
    let topics_raw = get(raw, "topics").unwrap_or_default();
    let regex_raw = get(raw, "topics.regex").unwrap_or_default();
    let topics = list(topics_raw);
    let has_topics = !topics_raw.trim().is_empty();
    let has_regex = !regex_raw.trim().is_empty();
    if has_topics && has_regex {
        let m = "topics and topics.regex are mutually exclusive options, but both are set.";
        problem("topics", m.to_string());
        problem("topics.regex", m.to_string());
    }
    if !has_topics && !has_regex {
        let m = "Must configure one of topics or topics.regex";
        problem("topics", m.to_string());
        problem("topics.regex", m.to_string());
    }
    // Kafka matches the whole topic name (`Matcher.matches`), so anchor the pattern.
    let compiled = if has_regex {
        match regex::Regex::new(&format!("^(?:{regex_raw})$")) {
            Ok(r) => Some(r),
            Err(e) => {
                problem(
                    "topics.regex",
                    invalid_value(
                        "topics.regex",
                        regex_raw,
                        false,
                        &format!("Invalid regex: {e}"),
                    ),
                );
                None
            }
        }
    } else {
        None
    };
    let dlq = get(raw, "errors.deadletterqueue.topic.name")
        .unwrap_or_default()
        .trim();
    if !dlq.is_empty() {
        if topics.iter().any(|t| t == dlq) {
            problem(
                "topics",
                format!(
                    "The DLQ topic '{dlq}' may not be included in the list of topics \
                     ('topics=[{}]') consumed by the connector",
                    topics.join(", ")
                ),
            );
        }
        if compiled.as_ref().is_some_and(|r| r.is_match(dlq)) {
            problem(
                "topics.regex",
                format!(
                    "The DLQ topic '{dlq}' may not be matched by the regex for the topics \
                     ('topics.regex={regex_raw}') consumed by the connector"
                ),
            );
        }
    }
    let regex = has_regex.then(|| regex_raw.trim().to_string());
    (if has_regex { Vec::new() } else { topics }, regex)
}

/// The exactly-once keys of Kafka's source connector config (KIP-618). Kafka's standalone
/// worker accepts every valid value and ignores them (it never runs source tasks in
/// transactions). Sluice's sources are at-least-once too, but it refuses the values that
/// *ask* for more than that (`exactly.once.support=required`, a `transaction.boundary` other
/// than `poll`) instead of silently running without the requested guarantee. Values Kafka
/// would reject get Kafka's message. `offsets.storage.topic` is accepted and, as in Kafka's
/// standalone mode, has no effect: offsets live in `offset.storage.file.filename`.
fn check_exactly_once(raw: &Config, problem: &mut impl FnMut(&str, String)) {
    const AT_LEAST_ONCE: &str = "Sluice's source connectors deliver at-least-once: their \
         records are not written in producer transactions";
    if let Some(v) = get(raw, "exactly.once.support") {
        match v.trim().to_ascii_lowercase().as_str() {
            "requested" => {}
            "required" => problem(
                "exactly.once.support",
                invalid_value(
                    "exactly.once.support",
                    v,
                    false,
                    &format!(
                        "{AT_LEAST_ONCE}, so exactly-once support cannot be required; use \
                         requested (the default) or leave the key out"
                    ),
                ),
            ),
            _ => problem(
                "exactly.once.support",
                invalid_value(
                    "exactly.once.support",
                    v,
                    false,
                    "String must be one of (case insensitive): REQUIRED, REQUESTED",
                ),
            ),
        }
    }
    if let Some(v) = get(raw, "transaction.boundary") {
        match v.trim().to_ascii_lowercase().as_str() {
            "poll" => {}
            "interval" | "connector" => problem(
                "transaction.boundary",
                invalid_value(
                    "transaction.boundary",
                    v,
                    false,
                    &format!(
                        "{AT_LEAST_ONCE}, so they have no transaction boundaries to define; \
                         use poll (the default) or leave the key out"
                    ),
                ),
            ),
            _ => problem(
                "transaction.boundary",
                invalid_value(
                    "transaction.boundary",
                    v,
                    false,
                    "String must be one of (case insensitive): INTERVAL, POLL, CONNECTOR",
                ),
            ),
        }
    }
    let key = "transaction.boundary.interval.ms";
    if let Some(v) = get(raw, key) {
        if check_framework_type(raw, key, &mut *problem)
            && v.trim().parse::<i64>().is_ok_and(|n| n < 0)
        {
            problem(
                key,
                invalid_value(key, v, false, "Value must be at least 0"),
            );
        }
    }
}

/// Kafka's message for a required key without a default.
fn missing(key: &str) -> String {
    format!("Missing required configuration \"{key}\" which has no default value.")
}

/// Every source and sink plugin name, sorted (the list Kafka prints for an unknown class).
fn available<L: PluginLookup + ?Sized>(catalog: &L) -> String {
    let mut names: Vec<String> = catalog
        .all()
        .iter()
        .filter(|p| matches!(p.spec().kind, PluginKind::Source | PluginKind::Sink))
        .map(|p| p.spec().name.clone())
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        "(none: no source or sink plugin was found in plugin.path)".to_string()
    } else {
        names.join(", ")
    }
}

/// Renders problems the way Kafka Connect does ("Connector configuration is invalid and contains
/// the following N error(s):\n…"). A plugin message that does not mention its key is prefixed
/// with `<key>: ` (Kafka prints the bare message, which leaves the reader guessing).
pub fn describe_problems(problems: &[ConfigProblem]) -> String {
    let mut out = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        problems.len()
    );
    for p in problems {
        out.push('\n');
        if !p.key.is_empty() && !p.message.contains(&p.key) {
            out.push_str(&p.key);
            out.push_str(": ");
        }
        out.push_str(&p.message);
    }
    out.push_str(
        "\nYou can also find the above list of errors at the endpoint \
         `/connector-plugins/{connectorType}/config/validate`",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::config::restart::HEALTHY_AFTER;
    use crate::config::test_plugins::{cfg, def, FakeCatalog, FakePlugin};
    use crate::config::{StepSpec, Tolerance};
    use crate::spec::{ConfigType, PluginSpec};

    fn catalog() -> FakeCatalog {
        FakeCatalog(vec![
            FakePlugin::new(
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
                PluginKind::Sink,
                vec![def("file", ConfigType::String, true, false)],
            ),
            FakePlugin::new(
                "org.apache.kafka.connect.file.FileStreamSourceConnector",
                PluginKind::Source,
                vec![
                    def("file", ConfigType::String, true, false),
                    def("batch.size", ConfigType::Int, false, false),
                    def("api.pin", ConfigType::Long, false, true),
                    def("verbose", ConfigType::Boolean, false, false),
                ],
            ),
            FakePlugin::new(
                "org.apache.kafka.connect.transforms.InsertField$Value",
                PluginKind::Transform,
                vec![],
            ),
            FakePlugin::new("a.JdbcSource", PluginKind::Source, vec![]),
        ])
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<ConfigProblem> {
        match compile(&cfg(pairs), &catalog()) {
            Ok(c) => panic!("expected problems, got {c:?}"),
            Err(p) => p,
        }
    }

    fn messages(p: &[ConfigProblem]) -> Vec<String> {
        p.iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect()
    }

    #[test]
    fn valid_sink_with_converter_overrides() {
        let raw = cfg(&[
            ("name", "local-file-sink"),
            ("connector.class", "FileStreamSink"),
            ("tasks.max", "3"),
            ("file", "/tmp/out.txt"),
            ("topics", "a, b,,c"),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("value.converter.encoding", "UTF-16"),
        ]);
        let c = compile(&raw, &catalog()).expect("valid");
        assert_eq!(c.kind(), PluginKind::Sink);
        assert_eq!(c.name, "local-file-sink");
        assert_eq!(c.class, "FileStreamSink");
        assert_eq!(c.tasks_max, 3);
        assert_eq!(c.topics, vec!["a", "b", "c"]);
        assert_eq!(c.topics_regex, None);
        assert_eq!(c.key_converter, None);
        let v = c.value_converter.expect("override");
        assert_eq!(v.class, "org.apache.kafka.connect.storage.StringConverter");
        assert_eq!(v.props, cfg(&[("encoding", "UTF-16")]));
        assert_eq!(c.raw, raw);
    }

    #[test]
    fn valid_source_defaults_tasks_max() {
        let raw = cfg(&[
            ("name", "src"),
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSourceConnector",
            ),
            ("file", "/tmp/in"),
            ("batch.size", " 100 "),
            ("verbose", "TRUE"),
        ]);
        let c = compile(&raw, &catalog()).expect("valid");
        assert_eq!(c.tasks_max, 1);
        assert!(c.topics.is_empty());
    }

    #[test]
    fn missing_name_class_and_required_keys() {
        let p = problems(&[]);
        assert_eq!(
            messages(&p),
            vec![
                "name: Missing required configuration \"name\" which has no default value.",
                "connector.class: Missing required configuration \"connector.class\" which has no default value.",
            ]
        );
        let p = problems(&[("name", "s"), ("connector.class", "FileStreamSource")]);
        assert_eq!(
            messages(&p),
            vec!["file: Missing required configuration \"file\" which has no default value."]
        );
    }

    #[test]
    fn a_full_config_compiles_to_the_typed_plan_the_worker_runs() {
        let cat = catalog();
        let raw = cfg(&[
            ("name", "orders-out"),
            ("connector.class", "FileStreamSink"),
            ("file", "/tmp/orders"),
            ("tasks.max", "4"),
            ("tasks.max.enforce", "false"),
            ("topics", "orders, refunds"),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("value.converter.encoding", "UTF-16"),
            ("transforms", "tag"),
            ("transforms.tag.type", "InsertField$Value"),
            ("transforms.tag.static.field", "origin"),
            ("errors.tolerance", "all"),
            ("errors.retry.timeout", "5000"),
            ("errors.deadletterqueue.topic.name", "orders-dlq"),
            ("restart.on.failure", "true"),
            ("restart.max.attempts", "3"),
        ]);
        let plan = compile(&raw, &cat).expect("valid");
        let expected = ConnectorPlan {
            name: "orders-out".into(),
            class: "FileStreamSink".into(),
            plugin: cat.0[0].clone(),
            tasks_max: 4,
            enforce_tasks_max: false,
            key_converter: None,
            value_converter: Some(ConverterConfig {
                class: "org.apache.kafka.connect.storage.StringConverter".into(),
                props: cfg(&[("encoding", "UTF-16")]),
            }),
            header_converter: None,
            topics: vec!["orders".into(), "refunds".into()],
            topics_regex: None,
            chain: ChainSpec {
                steps: vec![StepSpec {
                    alias: "tag".into(),
                    class: "InsertField$Value".into(),
                    plugin: cat.0[2].clone(),
                    config: cfg(&[("static.field", "origin")]),
                    predicate: None,
                    negate: false,
                }],
            },
            errors: ErrorSettings {
                tolerance: Tolerance::All,
                retry_timeout: Some(Duration::from_secs(5)),
                dlq_topic: Some("orders-dlq".into()),
                ..ErrorSettings::default()
            },
            restart: Some(RestartPolicy {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
                max_attempts: Some(3),
                healthy_after: HEALTHY_AFTER,
            }),
            raw: raw.clone(),
        };
        assert_eq!(plan, expected);
        assert_eq!(plan.kind(), PluginKind::Sink);
        // The plugin never sees the host's `restart.*` keys.
        assert!(plan
            .plugin_config()
            .iter()
            .all(|(k, _)| !k.starts_with("restart.")));
        assert_eq!(plan.plugin_config().len(), raw.len() - 2);
    }

    #[test]
    fn every_problem_of_every_part_is_returned_together() {
        let p = problems(&[
            ("name", ""),
            ("connector.class", "FileStreamSink"),
            ("tasks.max", "0"),
            ("transforms", "t"),
            ("transforms.t.type", "x.Missing"),
            ("errors.tolerance", "some"),
            ("restart.on.failure", "maybe"),
        ]);
        assert_eq!(
            messages(&p),
            vec![
                "name: Invalid value  for configuration name: String may not be empty",
                "tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1",
                "topics: Must configure one of topics or topics.regex",
                "topics.regex: Must configure one of topics or topics.regex",
                "transforms.t.type: Invalid value x.Missing for configuration transforms.t.type: \
                 Class x.Missing could not be found; available transformations are: \
                 org.apache.kafka.connect.transforms.InsertField$Value",
                "errors.tolerance: Invalid value some for configuration errors.tolerance: String \
                 must be one of: none, all",
                "restart.on.failure: Invalid value maybe for configuration restart.on.failure: \
                 Expected value to be either true or false",
                "file: Missing required configuration \"file\" which has no default value.",
            ]
        );
    }

    #[test]
    fn bad_names() {
        let p = problems(&[
            ("name", ""),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
        ]);
        assert_eq!(
            messages(&p),
            vec!["name: Invalid value  for configuration name: String may not be empty"]
        );
        let p = problems(&[
            ("name", "a\tb"),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
        ]);
        assert!(
            p[0].message.contains("control characters: \\u0009"),
            "{p:?}"
        );
    }

    #[test]
    fn unknown_class_lists_sorted_connectors() {
        let p = problems(&[("name", "x"), ("connector.class", "com.example.Nope")]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "connector.class");
        assert_eq!(
            p[0].message,
            "Failed to find any class that implements Connector and which name matches \
             com.example.Nope, available connectors are: a.JdbcSource, \
             org.apache.kafka.connect.file.FileStreamSinkConnector, \
             org.apache.kafka.connect.file.FileStreamSourceConnector"
        );
    }

    #[test]
    fn transform_as_connector_class_is_explained() {
        let p = problems(&[("name", "x"), ("connector.class", "InsertField$Value")]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].message
                .contains("is a transformation, not a source or sink connector"),
            "{p:?}"
        );
        assert!(p[0].message.contains("a.JdbcSource"), "{p:?}");
    }

    #[test]
    fn a_plugin_quoting_a_secret_in_its_problems_is_redacted() {
        let quoting = FakePlugin::with_spec(
            PluginSpec {
                name: "Quoting".into(),
                aliases: Vec::new(),
                version: "1.0".into(),
                kind: PluginKind::Source,
                description: String::new(),
                config: vec![def("api.key", ConfigType::Password, true, true)],
            },
            Ok(vec![ConfigProblem {
                key: "api.key".into(),
                message: "api.key 's3cr3t-value' was refused; also bad: s3cr3t-value".into(),
            }]),
        );
        let raw: Config = [
            ("name", "q"),
            ("connector.class", "Quoting"),
            ("api.key", "s3cr3t-value"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = match compile(&raw, &FakeCatalog(vec![quoting])) {
            Err(p) => p,
            Ok(_) => panic!("the plugin reports a problem"),
        };
        assert_eq!(
            messages(&p),
            vec!["api.key: api.key '[hidden]' was refused; also bad: [hidden]"]
        );
    }

    #[test]
    fn tasks_max_and_types_use_kafka_messages() {
        // Spec keys are reported in the spec's order, secrets masked.
        let p = problems(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
            ("tasks.max", "0"),
            ("batch.size", "lots"),
            ("verbose", "yes"),
            ("api.pin", "secret-1234"),
        ]);
        assert_eq!(
            messages(&p),
            vec![
                "tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1",
                "batch.size: Invalid value lots for configuration batch.size: Not a number of type INT",
                "api.pin: Invalid value [hidden] for configuration api.pin: Not a number of type LONG",
                "verbose: Invalid value yes for configuration verbose: Expected value to be either true or false",
            ]
        );
        let p = problems(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
            ("tasks.max", "x"),
        ]);
        // Kafka's two errors: the parse error, then the validator's about the null value.
        assert_eq!(
            messages(&p),
            vec![
                "tasks.max: Invalid value x for configuration tasks.max: Not a number of type INT",
                "tasks.max: Invalid value null for configuration tasks.max: Value must be non-null",
            ]
        );
    }

    #[test]
    fn exactly_once_keys_accept_at_least_once_values_only() {
        let source = [
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = source.to_vec();
            all.extend_from_slice(extra);
            compile(&cfg(&all), &catalog()).map(|_| ())
        };
        // Kafka's defaults, any case, and the keys that have no effect in standalone mode.
        assert_eq!(
            with(&[
                ("exactly.once.support", " REQUESTED "),
                ("transaction.boundary", "Poll"),
                ("transaction.boundary.interval.ms", "0"),
                ("offsets.storage.topic", "my-offsets"),
                ("tasks.max.enforce", "false"),
            ]),
            Ok(())
        );
        let refused = |extra: &[(&'static str, &'static str)]| {
            messages(&with(extra).expect_err("must be refused"))
        };
        assert_eq!(
            refused(&[("exactly.once.support", "required")]),
            vec![
                "exactly.once.support: Invalid value required for configuration \
                  exactly.once.support: Sluice's source connectors deliver at-least-once: their \
                  records are not written in producer transactions, so exactly-once support \
                  cannot be required; use requested (the default) or leave the key out"
            ]
        );
        assert_eq!(
            refused(&[("transaction.boundary", "connector")]),
            vec![
                "transaction.boundary: Invalid value connector for configuration \
                  transaction.boundary: Sluice's source connectors deliver at-least-once: their \
                  records are not written in producer transactions, so they have no transaction \
                  boundaries to define; use poll (the default) or leave the key out"
            ]
        );
        assert!(
            refused(&[("transaction.boundary", "interval")])[0].contains("use poll (the default)")
        );
        // Values Kafka itself rejects get Kafka's messages.
        assert_eq!(
            refused(&[
                ("exactly.once.support", "maybe"),
                ("transaction.boundary", "never"),
                ("transaction.boundary.interval.ms", "-5"),
                ("tasks.max.enforce", "sometimes"),
            ]),
            vec![
                "tasks.max.enforce: Invalid value sometimes for configuration tasks.max.enforce: \
                 Expected value to be either true or false",
                "exactly.once.support: Invalid value maybe for configuration exactly.once.support: \
                 String must be one of (case insensitive): REQUIRED, REQUESTED",
                "transaction.boundary: Invalid value never for configuration transaction.boundary: \
                 String must be one of (case insensitive): INTERVAL, POLL, CONNECTOR",
                "transaction.boundary.interval.ms: Invalid value -5 for configuration \
                 transaction.boundary.interval.ms: Value must be at least 0",
            ]
        );
        assert_eq!(
            refused(&[("transaction.boundary.interval.ms", "soon")]),
            vec![
                "transaction.boundary.interval.ms: Invalid value soon for configuration \
                  transaction.boundary.interval.ms: Not a number of type LONG"
            ]
        );
        // For a sink they are not Kafka's keys: the plugin's business, never refused here.
        assert_eq!(
            compile(
                &cfg(&[
                    ("name", "k"),
                    ("connector.class", "FileStreamSink"),
                    ("file", "f"),
                    ("topics", "t"),
                    ("exactly.once.support", "required"),
                ]),
                &catalog()
            )
            .map(|_| ()),
            Ok(())
        );
    }

    #[test]
    fn tasks_max_enforce_fails_extra_tasks_unless_false() {
        let cc = |extra: &[(&'static str, &'static str)]| {
            let mut all = vec![
                ("name", "s"),
                ("connector.class", "FileStreamSource"),
                ("file", "f"),
                ("tasks.max", "2"),
            ];
            all.extend_from_slice(extra);
            compile(&cfg(&all), &catalog()).expect("valid")
        };
        assert_eq!(cc(&[]).check_task_count(2), Ok(()));
        assert_eq!(cc(&[]).check_task_count(1), Ok(()));
        assert_eq!(
            cc(&[]).check_task_count(3).map_err(|e| e.to_string()),
            Err(
                "The connector s has generated 3 tasks, which is greater than 2, the maximum \
                 number of tasks it is configured to create. This behaviour should be considered \
                 a bug and is disallowed. If necessary, it can be permitted by reconfiguring the \
                 connector with 'tasks.max.enforce' set to false; however, this option will be \
                 removed in a future release of Kafka Connect."
                    .into()
            )
        );
        assert!(cc(&[("tasks.max.enforce", "true")])
            .check_task_count(3)
            .is_err());
        assert_eq!(
            cc(&[("tasks.max.enforce", " FALSE ")]).check_task_count(3),
            Ok(())
        );
    }

    #[test]
    fn sink_topic_rules() {
        let base = [
            ("name", "k"),
            ("connector.class", "FileStreamSink"),
            ("file", "f"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            problems(&all)
        };
        // Kafka's exact (bare) messages, as the reference's validate shows them.
        let p = with(&[]);
        assert_eq!(p.len(), 2);
        assert!(p
            .iter()
            .all(|p| p.message == "Must configure one of topics or topics.regex"));
        assert_eq!(
            (p[0].key.as_str(), p[1].key.as_str()),
            ("topics", "topics.regex")
        );
        let p = with(&[("topics", "a"), ("topics.regex", "a.*")]);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|p| p.message
            == "topics and topics.regex are mutually exclusive options, but both are set."));
        let p = with(&[("topics.regex", "a(")]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].message
                .starts_with("Invalid value a( for configuration topics.regex: Invalid regex: "),
            "{p:?}"
        );
        let p = with(&[
            ("topics", "a,dlq"),
            ("errors.deadletterqueue.topic.name", "dlq"),
        ]);
        assert!(
            p[0].message
                .contains("The DLQ topic 'dlq' may not be included in the list of topics"),
            "{p:?}"
        );
        let p = with(&[
            ("topics.regex", "d.*"),
            ("errors.deadletterqueue.topic.name", "dlq"),
        ]);
        assert_eq!(
            p[0].message,
            "The DLQ topic 'dlq' may not be matched by the regex for the topics \
             ('topics.regex=d.*') consumed by the connector"
        );
        // The regex must match the whole name, as Java's Matcher.matches does.
        let c = compile(
            &cfg(&[
                ("name", "k"),
                ("connector.class", "FileStreamSink"),
                ("file", "f"),
                ("topics.regex", "d"),
                ("errors.deadletterqueue.topic.name", "dlq"),
            ]),
            &catalog(),
        )
        .expect("valid: 'd' does not match all of 'dlq'");
        assert_eq!(c.topics_regex.as_deref(), Some("d"));
        assert!(c.topics.is_empty());
    }

    #[test]
    fn plugin_validate_problems_are_collected_with_host_ones() {
        let mut spec = catalog().0[1].spec().clone();
        spec.name = "v.Source".into();
        let reporting = FakePlugin::with_spec(
            spec.clone(),
            Ok(vec![ConfigProblem {
                key: "file".into(),
                message: "must be absolute".into(),
            }]),
        );
        spec.name = "e.Source".into();
        let failing = FakePlugin::with_spec(spec, Err("plugin trapped: out of fuel".into()));
        let cat = FakeCatalog(vec![reporting, failing]);
        let p = compile(
            &cfg(&[
                ("name", "s"),
                ("connector.class", "v.Source"),
                ("file", "rel"),
                ("tasks.max", "-1"),
            ]),
            &cat,
        )
        .map(|_| ())
        .expect_err("must fail");
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1],
            ConfigProblem {
                key: "file".into(),
                message: "must be absolute".into()
            }
        );
        let p = compile(
            &cfg(&[
                ("name", "s"),
                ("connector.class", "e.Source"),
                ("file", "f"),
            ]),
            &cat,
        )
        .map(|_| ())
        .expect_err("must fail");
        assert_eq!(
            p[0].message,
            "e.Source could not validate the configuration: plugin trapped: out of fuel"
        );
    }

    #[test]
    fn describe_like_kafka() {
        let text = describe_problems(&[
            ConfigProblem {
                key: "file".into(),
                message: "Missing required configuration \"file\" which has no default value."
                    .into(),
            },
            ConfigProblem {
                key: "file".into(),
                message: "must be absolute".into(),
            },
        ]);
        assert_eq!(
            text,
            "Connector configuration is invalid and contains the following 2 error(s):\n\
             Missing required configuration \"file\" which has no default value.\n\
             file: must be absolute\n\
             You can also find the above list of errors at the endpoint \
             `/connector-plugins/{connectorType}/config/validate`"
        );
    }
}
