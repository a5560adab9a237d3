//! The Elasticsearch sink's configuration: Confluent's keys, their definitions (the spec), and
//! one pass that checks them all.

use sluice_plugin_sdk::retry::Retries;
pub use sluice_plugin_sdk::retry::{MAX_RETRIES, RETRY_BACKOFF_MS as RETRY_BACKOFF};
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, Importance, Problems};

pub const URL: &str = "connection.url";
pub const USERNAME: &str = "connection.username";
pub const PASSWORD: &str = "connection.password";
pub const KEY_IGNORE: &str = "key.ignore";
pub const SCHEMA_IGNORE: &str = "schema.ignore";
pub const TOPIC_KEY_IGNORE: &str = "topic.key.ignore";
pub const TOPIC_SCHEMA_IGNORE: &str = "topic.schema.ignore";
pub const COMPACT_MAP_ENTRIES: &str = "compact.map.entries";
pub const NULL_VALUES: &str = "behavior.on.null.values";
pub const MALFORMED: &str = "behavior.on.malformed.documents";
pub const WRITE_METHOD: &str = "write.method";
pub const BATCH_SIZE: &str = "batch.size";
pub const BULK_SIZE_BYTES: &str = "bulk.size.bytes";
pub const LINGER_MS: &str = "linger.ms";
pub const MAX_IN_FLIGHT: &str = "max.in.flight.requests";
pub const DROP_INVALID: &str = "drop.invalid.message";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    Ignore,
    Delete,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Ignore,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    Insert,
    Upsert,
}

/// Everything the task needs, checked.
#[derive(Debug, Clone)]
pub struct EsConfig {
    /// Base URLs without a trailing slash; requests go to the first, the next on failure.
    pub urls: Vec<String>,
    /// `Authorization: Basic …` when both username and password are set.
    pub basic_auth: Option<String>,
    pub key_ignore: bool,
    pub schema_ignore: bool,
    pub topic_key_ignore: Vec<String>,
    pub topic_schema_ignore: Vec<String>,
    pub compact_map_entries: bool,
    pub null_values: NullValues,
    pub malformed: Malformed,
    pub write_method: WriteMethod,
    pub batch_size: usize,
    /// `None`: no byte limit (`-1`).
    pub bulk_size_bytes: Option<usize>,
    pub max_in_flight: u32,
    pub max_retries: u32,
    pub retry_backoff_ms: u64,
    pub drop_invalid: bool,
}

impl EsConfig {
    pub fn ignore_key(&self, topic: &str) -> bool {
        self.key_ignore || self.topic_key_ignore.iter().any(|t| t == topic)
    }
    pub fn ignore_schema(&self, topic: &str) -> bool {
        self.schema_ignore || self.topic_schema_ignore.iter().any(|t| t == topic)
    }
}

/// Confluent's `max.retries` and `retry.backoff.ms` defaults.
const DEFAULT_RETRIES: u32 = 5;
const DEFAULT_BACKOFF_MS: u64 = 100;

pub fn defs() -> Vec<ConfigDef> {
    let mut defs = vec![
        ConfigDef::list(URL).required().importance(Importance::High).doc("Elasticsearch HTTP URLs, e.g. http://eshost1:9200,http://eshost2:9200 (each host must be granted in wasm.network.allow). Requests go to the first URL, to the next when one cannot be reached."),
        ConfigDef::string(USERNAME).importance(Importance::Medium).doc("Basic authentication user; used only with connection.password."),
        ConfigDef::password(PASSWORD).importance(Importance::Medium).doc("Basic authentication password. Never logged or shown."),
        ConfigDef::boolean(KEY_IGNORE).default("false").importance(Importance::High).doc("true: the document id is topic+partition+offset; false: the record key (integers or strings), and versions are the Kafka offset (external versioning)."),
        ConfigDef::boolean(SCHEMA_IGNORE).default("false").importance(Importance::Low).doc("true: write values as JsonConverter does; false: convert by the schema first (Decimal as a number, maps as key/value entries unless compact)."),
        ConfigDef::list(TOPIC_KEY_IGNORE).default("").importance(Importance::Low).doc("Topics for which key.ignore is true."),
        ConfigDef::list(TOPIC_SCHEMA_IGNORE).default("").importance(Importance::Low).doc("Topics for which schema.ignore is true."),
        ConfigDef::boolean(COMPACT_MAP_ENTRIES).default("true").importance(Importance::Low).doc("Maps with string keys as objects (true) or as arrays of {key, value} (false)."),
        ConfigDef::string(NULL_VALUES).default("fail").recommended(["ignore", "delete", "fail"]).importance(Importance::Low).doc("Records with a null value: skip them, delete the document with the record key as id, or fail them."),
        ConfigDef::string(MALFORMED).default("fail").recommended(["ignore", "warn", "fail"]).importance(Importance::Low).doc("Documents Elasticsearch rejects as malformed (mapper_parsing_exception and the like): report them (dead letter queue) and go on, also logging a warning, or fail the task."),
        ConfigDef::string(WRITE_METHOD).default("insert").recommended(["insert", "upsert"]).importance(Importance::Low).doc("insert: index the document; upsert: update it partially, creating it when missing."),
        ConfigDef::int(BATCH_SIZE).default("2000").importance(Importance::Medium).doc("Most documents in one bulk request."),
        ConfigDef::long(BULK_SIZE_BYTES).default("5242880").importance(Importance::Low).doc("Most bytes in one bulk request; -1: no limit."),
        ConfigDef::long(LINGER_MS).default("1").importance(Importance::Low).doc("Accepted for compatibility: a put's records are sent before the put returns (Sluice batches records before they reach the plugin)."),
        ConfigDef::int(MAX_IN_FLIGHT).default("5").importance(Importance::Medium).doc("Upserts retry version conflicts min(this, 5) times. Requests are sent one at a time."),
        ConfigDef::boolean(DROP_INVALID).default("false").importance(Importance::Low).doc("Drop records whose value cannot be converted (with a warning) instead of failing them."),
    ];
    defs.extend(Retries::defs(
        DEFAULT_RETRIES,
        DEFAULT_BACKOFF_MS,
        "Retries of a bulk request that failed below HTTP, with 5xx or 429, and of documents rejected with 429; then the task fails.",
        "First backoff between retries in ms, doubled each time.",
    ));
    defs
}

pub fn compile(config: &Config) -> Result<EsConfig, Vec<ConfigProblem>> {
    let mut p = Problems::new();
    let mut urls = Vec::new();
    for url in p.take(config.list(URL)).unwrap_or_default() {
        let url = if url.contains("://") {
            url
        } else {
            format!("http://{url}")
        };
        let scheme = url.split("://").next().unwrap_or("").to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            p.add(
                URL,
                format!("'{url}': only http and https URLs are supported"),
            );
        } else if url
            .split("://")
            .nth(1)
            .is_some_and(|rest| rest.split('/').next().unwrap_or("").contains('@'))
        {
            p.add(URL, "credentials in the URL are not accepted; use connection.username and connection.password");
        } else {
            urls.push(url.trim_end_matches('/').to_string());
        }
    }
    if urls.is_empty() && !p.has(URL) {
        p.add(URL, "missing required key: at least one Elasticsearch URL");
    }
    let user = config.get(USERNAME).filter(|s| !s.is_empty());
    let password = config.get(PASSWORD).filter(|s| !s.is_empty());
    let basic_auth = match (user, password) {
        (Some(u), Some(pw)) => Some(format!(
            "Basic {}",
            sluice_plugin_sdk::java::base64(format!("{u}:{pw}").as_bytes())
        )),
        _ => None,
    };
    let bool_of = |p: &mut Problems, key: &str| p.take(config.bool(key)).unwrap_or_default();
    let key_ignore = bool_of(&mut p, KEY_IGNORE);
    let schema_ignore = bool_of(&mut p, SCHEMA_IGNORE);
    let compact_map_entries = bool_of(&mut p, COMPACT_MAP_ENTRIES);
    let drop_invalid = bool_of(&mut p, DROP_INVALID);
    let topic_key_ignore = p.take(config.list(TOPIC_KEY_IGNORE)).unwrap_or_default();
    let topic_schema_ignore = p.take(config.list(TOPIC_SCHEMA_IGNORE)).unwrap_or_default();
    let null_values = p.choice(
        config,
        NULL_VALUES,
        &[
            ("ignore", NullValues::Ignore),
            ("delete", NullValues::Delete),
            ("fail", NullValues::Fail),
        ],
    );
    let malformed = p.choice(
        config,
        MALFORMED,
        &[
            ("ignore", Malformed::Ignore),
            ("warn", Malformed::Warn),
            ("fail", Malformed::Fail),
        ],
    );
    let write_method = p.choice(
        config,
        WRITE_METHOD,
        &[
            ("insert", WriteMethod::Insert),
            ("upsert", WriteMethod::Upsert),
        ],
    );
    let batch_size = p.int_in(config, BATCH_SIZE, 1..=1_000_000, 2000);
    let bulk_size_bytes = p.int_in(config, BULK_SIZE_BYTES, -1..=i64::from(i32::MAX), 5_242_880);
    let _linger = p.int_in(config, LINGER_MS, 0..=604_800_000, 1);
    let max_in_flight = p.int_in(config, MAX_IN_FLIGHT, 1..=1000, 5);
    let retries = Retries::read(&mut p, config, DEFAULT_RETRIES, DEFAULT_BACKOFF_MS);
    if bulk_size_bytes == 0 {
        p.add(
            BULK_SIZE_BYTES,
            "0 is not accepted; use -1 (no limit) or a positive size",
        );
    }
    p.finish(EsConfig {
        urls,
        basic_auth,
        key_ignore,
        schema_ignore,
        topic_key_ignore,
        topic_schema_ignore,
        compact_map_entries,
        null_values,
        malformed,
        write_method,
        batch_size: batch_size as usize,
        bulk_size_bytes: (bulk_size_bytes > 0).then_some(bulk_size_bytes as usize),
        max_in_flight: max_in_flight as u32,
        max_retries: retries.max_retries,
        retry_backoff_ms: retries.backoff_ms,
        drop_invalid,
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
    fn defaults_are_confluents() {
        let c = compile(&config(&[(URL, "http://es:9200/")])).unwrap();
        assert_eq!(c.urls, vec!["http://es:9200"]);
        assert_eq!(c.batch_size, 2000);
        assert_eq!(c.bulk_size_bytes, Some(5_242_880));
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.retry_backoff_ms, 100);
        assert_eq!(c.null_values, NullValues::Fail);
        assert_eq!(c.malformed, Malformed::Fail);
        assert_eq!(c.write_method, WriteMethod::Insert);
        assert!(!c.key_ignore && !c.schema_ignore && c.compact_map_entries);
        assert_eq!(c.basic_auth, None);
    }

    #[test]
    fn basic_auth_needs_both_and_problems_are_all_reported() {
        let c = compile(&config(&[
            (URL, "es:9200"),
            (USERNAME, "elastic"),
            (PASSWORD, "changeme"),
        ]))
        .unwrap();
        assert_eq!(c.urls, vec!["http://es:9200"]);
        assert_eq!(
            c.basic_auth.as_deref(),
            Some("Basic ZWxhc3RpYzpjaGFuZ2VtZQ==")
        );
        let problems = compile(&config(&[
            (URL, "ftp://x"),
            (NULL_VALUES, "drop"),
            (WRITE_METHOD, "merge"),
            (BATCH_SIZE, "0"),
            (PASSWORD, "hunter2"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec![URL, NULL_VALUES, WRITE_METHOD, BATCH_SIZE]);
        assert!(!format!("{problems:?}").contains("hunter2"));
        let problems = compile(&config(&[(URL, "http://u:p@es:9200")])).unwrap_err();
        assert!(problems[0].message.contains("credentials"), "{problems:?}");
    }
}
