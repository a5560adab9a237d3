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
    ConnectorPlan, ErrorSettings,
};
use crate::spec::{ConfigProblem, PluginHandle, PluginKind, PluginLookup};

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
#[path = "connector_tests.rs"]
mod tests;
