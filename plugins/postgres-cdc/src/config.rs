//! The connector's config keys (Debezium's names and defaults) and their parsed form.
//!
//! Design decision: every key is parsed once, in one pass that reports all problems at once
//! (`validate` and `open` share it), so a bad value never reaches the database.

use regex::Regex;
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, FileAccess, Importance, PluginSpec};
use sql_wire::{SslMode, TlsParams};

use crate::types::{DecimalMode, Modes, TimePrecision};

pub const NAME: &str = "postgres-cdc";
pub const ALIAS: &str = "io.debezium.connector.postgresql.PostgresConnector";

/// `snapshot.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Snapshot when no offset was committed, then stream.
    Initial,
    /// Snapshot, then stop (no streaming).
    InitialOnly,
    /// Never snapshot; stream from the slot.
    NoData,
    /// Snapshot at every start, then stream.
    Always,
    /// Snapshot when no offset was committed or the committed position is no longer in the
    /// slot, then stream.
    WhenNeeded,
}

/// `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationMode {
    /// `CREATE PUBLICATION … FOR ALL TABLES` when missing.
    AllTables,
    /// Never create: the publication must exist.
    Disabled,
    /// `CREATE PUBLICATION … FOR TABLE` the included tables, when missing.
    Filtered,
}

#[derive(Debug, Clone)]
pub struct CdcConfig {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dbname: String,
    /// `database.sslmode` and `database.sslrootcert`.
    pub tls: TlsParams,
    pub topic_prefix: String,
    pub slot_name: String,
    pub publication_name: String,
    pub publication_mode: PublicationMode,
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
    pub snapshot_mode: SnapshotMode,
    pub heartbeat_interval_ms: u64,
    pub heartbeat_topics_prefix: String,
    pub modes: Modes,
    pub tombstones_on_delete: bool,
    pub slot_max_retained_wal_bytes: Option<u64>,
    pub slot_drop_on_stop: bool,
    pub status_update_interval_ms: u64,
}

pub fn spec() -> PluginSpec {
    let conn = "Connection";
    PluginSpec::new(NAME, env!("CARGO_PKG_VERSION"))
        .alias(ALIAS)
        .description("PostgreSQL change data capture with logical replication (pgoutput), emitting Debezium's change events.")
        .config(ConfigDef::string("database.hostname").required().group(conn).importance(Importance::High)
            .doc("Host of the PostgreSQL server. The connector also needs `wasm.network.allow` to list it (host:port)."))
        .config(ConfigDef::int("database.port").default(5432).group(conn).doc("Port of the PostgreSQL server."))
        .config(ConfigDef::string("database.user").required().group(conn).importance(Importance::High)
            .doc("User to connect as; needs the REPLICATION attribute (or superuser) and SELECT on the captured tables."))
        .config(ConfigDef::password("database.password").default("").group(conn)
            .doc("Password of database.user (cleartext, MD5 or SCRAM-SHA-256 as the server asks)."))
        .config(ConfigDef::string("database.dbname").required().group(conn).importance(Importance::High)
            .doc("Database to capture."))
        .config(ConfigDef::string("database.sslmode").default("prefer").group(conn)
            .recommended(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
            .doc("TLS to the server, as in libpq/pgjdbc: prefer (TLS when the server offers it, certificate not checked), require (TLS, certificate not checked), verify-ca (certificate chains to a trusted root), verify-full (and names database.hostname), disable/allow (plain text)."))
        .config(ConfigDef::string("database.sslrootcert").group(conn).file_access(FileAccess::ReadFile)
            .doc("File of PEM root certificates to trust for verify-ca/verify-full (the worker grants the plugin read access to it); default: Mozilla's root certificates."))
        .config(ConfigDef::string("topic.prefix").required().importance(Importance::High)
            .doc("Logical server name: topics are <topic.prefix>.<schema>.<table>, schema names <topic.prefix>.<schema>.<table>.Value/.Key/.Envelope, the source partition {\"server\": <topic.prefix>}."))
        .config(ConfigDef::string("slot.name").default("debezium").doc("Logical replication slot (created with pgoutput when missing)."))
        .config(ConfigDef::string("publication.name").default("dbz_publication").doc("Publication pgoutput streams."))
        .config(ConfigDef::string("publication.autocreate.mode").default("all_tables")
            .recommended(["all_tables", "disabled", "filtered"])
            .doc("Create a missing publication for all tables, never, or for the included tables (filtered)."))
        .config(ConfigDef::string("plugin.name").default("pgoutput").recommended(["pgoutput"])
            .doc("Logical decoding plugin; only pgoutput is supported."))
        .config(ConfigDef::list("table.include.list").default("")
            .doc("Regular expressions matched against <schema>.<table>: only matching tables are captured."))
        .config(ConfigDef::list("table.exclude.list").default("")
            .doc("Regular expressions matched against <schema>.<table>: matching tables are not captured (only without table.include.list)."))
        .config(ConfigDef::string("snapshot.mode").default("initial")
            .recommended(["initial", "initial_only", "no_data", "always", "when_needed"])
            .doc("When to snapshot the tables' current rows before streaming."))
        .config(ConfigDef::long("heartbeat.interval.ms").default(0)
            .doc("Emit a heartbeat record to __debezium-heartbeat.<topic.prefix> this often (0: never); its offset lets the slot advance while captured tables are idle."))
        .config(ConfigDef::string("topic.heartbeat.prefix").default("__debezium-heartbeat").doc("Prefix of the heartbeat topic."))
        .config(ConfigDef::string("decimal.handling.mode").default("precise").recommended(["precise", "double", "string"])
            .doc("numeric/money as Connect Decimal (precise), float64 (double) or string."))
        .config(ConfigDef::string("time.precision.mode").default("adaptive")
            .recommended(["adaptive", "adaptive_time_microseconds", "connect"])
            .doc("Temporal types as Debezium's adaptive types or Kafka Connect's."))
        .config(ConfigDef::boolean("tombstones.on.delete").default(true)
            .doc("Follow each delete event with a tombstone (the key and a null value)."))
        .config(ConfigDef::long("slot.max.retained.wal.bytes").default(0)
            .doc("Warn (task log, every status update) when the slot retains more WAL than this (0: no check)."))
        .config(ConfigDef::boolean("slot.drop.on.stop").default(false)
            .doc("Drop the slot when the task stops (tests and one-off runs; the position is lost)."))
        .config(ConfigDef::long("status.update.interval.ms").default(10000)
            .doc("How often the connector reports its flushed position to the server."))
}

impl CdcConfig {
    /// Parses every key; returns all problems at once.
    pub fn parse(c: &Config) -> Result<CdcConfig, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem {
                key: key.to_string(),
                message,
            })
        };
        let string = |key: &str, problem: &mut dyn FnMut(&str, String)| match c.required_str(key) {
            Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
            Ok(_) => {
                problem(key, "must not be empty".into());
                String::new()
            }
            Err(e) => {
                problem(key, e.message);
                String::new()
            }
        };
        let hostname = string("database.hostname", &mut problem);
        let user = string("database.user", &mut problem);
        let dbname = string("database.dbname", &mut problem);
        let topic_prefix = string("topic.prefix", &mut problem);
        let slot_name = string("slot.name", &mut problem);
        let publication_name = string("publication.name", &mut problem);
        let password = c
            .optional_str("database.password")
            .unwrap_or("")
            .to_string();
        let port = match c.optional_int("database.port") {
            Ok(Some(p)) if (1..=65535).contains(&p) => p as u16,
            Ok(None) => 5432,
            Ok(Some(p)) => {
                problem("database.port", format!("{p} is not a TCP port (1-65535)"));
                0
            }
            Err(e) => {
                problem("database.port", e.message);
                0
            }
        };
        if !slot_name.is_empty()
            && !slot_name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problem(
                "slot.name",
                format!("{slot_name:?}: a slot name may contain only lower-case letters, digits and underscores"),
            );
        }
        for (key, value) in [
            ("publication.name", &publication_name),
            ("topic.prefix", &topic_prefix),
        ] {
            if value.contains(['"', '\0']) {
                problem(key, format!("{value:?} must not contain quotes"));
            }
        }
        let mut choice = |key: &str, default: &str, allowed: &[&str]| -> String {
            let v = c
                .optional_str(key)
                .unwrap_or(default)
                .trim()
                .to_ascii_lowercase();
            if !allowed.contains(&v.as_str()) {
                problem(key, format!("{v:?} is not one of {}", allowed.join(", ")));
            }
            v
        };
        let publication_mode = match choice(
            "publication.autocreate.mode",
            "all_tables",
            &["all_tables", "disabled", "filtered"],
        )
        .as_str()
        {
            "disabled" => PublicationMode::Disabled,
            "filtered" => PublicationMode::Filtered,
            _ => PublicationMode::AllTables,
        };
        choice("plugin.name", "pgoutput", &["pgoutput"]);
        let snapshot_mode = match choice(
            "snapshot.mode",
            "initial",
            &[
                "initial",
                "initial_only",
                "no_data",
                "never",
                "always",
                "when_needed",
            ],
        )
        .as_str()
        {
            "initial_only" => SnapshotMode::InitialOnly,
            "no_data" | "never" => SnapshotMode::NoData,
            "always" => SnapshotMode::Always,
            "when_needed" => SnapshotMode::WhenNeeded,
            _ => SnapshotMode::Initial,
        };
        let decimal = match choice(
            "decimal.handling.mode",
            "precise",
            &["precise", "double", "string"],
        )
        .as_str()
        {
            "double" => DecimalMode::Double,
            "string" => DecimalMode::String,
            _ => DecimalMode::Precise,
        };
        let time = match choice(
            "time.precision.mode",
            "adaptive",
            &["adaptive", "adaptive_time_microseconds", "connect"],
        )
        .as_str()
        {
            "adaptive_time_microseconds" => TimePrecision::AdaptiveTimeMicroseconds,
            "connect" => TimePrecision::Connect,
            _ => TimePrecision::Adaptive,
        };
        let mut patterns = |key: &str| -> Vec<Regex> {
            let list = c.list(key).unwrap_or_default();
            list.iter()
                .filter(|p| !p.is_empty())
                .filter_map(|p| match Regex::new(&format!("^(?:{p})$")) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        problem(key, format!("{p:?} is not a regular expression: {e}"));
                        None
                    }
                })
                .collect()
        };
        let include = patterns("table.include.list");
        let exclude = patterns("table.exclude.list");
        if !include.is_empty() && !exclude.is_empty() {
            problem(
                "table.exclude.list",
                "cannot be used together with table.include.list (as in Debezium)".into(),
            );
        }
        let mut non_negative = |key: &str, default: u64| -> u64 {
            match c.optional_int(key) {
                Ok(None) => default,
                Ok(Some(v)) if v >= 0 => v as u64,
                Ok(Some(v)) => {
                    problem(key, format!("{v} must not be negative"));
                    default
                }
                Err(e) => {
                    problem(key, e.message);
                    default
                }
            }
        };
        let heartbeat_interval_ms = non_negative("heartbeat.interval.ms", 0);
        let retained = non_negative("slot.max.retained.wal.bytes", 0);
        let status_update_interval_ms = non_negative("status.update.interval.ms", 10_000).max(1);
        let mut boolean = |key: &str, default: bool| match c.optional_bool(key) {
            Ok(v) => v.unwrap_or(default),
            Err(e) => {
                problem(key, e.message);
                default
            }
        };
        let tombstones_on_delete = boolean("tombstones.on.delete", true);
        let slot_drop_on_stop = boolean("slot.drop.on.stop", false);
        let sslmode = c.optional_str("database.sslmode").unwrap_or("prefer");
        let tls = TlsParams {
            mode: SslMode::parse_pg(sslmode).unwrap_or_else(|| {
                problem(
                    "database.sslmode",
                    format!("{sslmode:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                );
                SslMode::Disable
            }),
            root_cert: c
                .optional_str("database.sslrootcert")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        };
        let heartbeat_topics_prefix = c
            .optional_str("topic.heartbeat.prefix")
            .unwrap_or("__debezium-heartbeat")
            .to_string();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CdcConfig {
            hostname,
            port,
            user,
            password,
            dbname,
            tls,
            topic_prefix,
            slot_name,
            publication_name,
            publication_mode,
            include,
            exclude,
            snapshot_mode,
            heartbeat_interval_ms,
            heartbeat_topics_prefix,
            modes: Modes { decimal, time },
            tombstones_on_delete,
            slot_max_retained_wal_bytes: (retained > 0).then_some(retained),
            slot_drop_on_stop,
            status_update_interval_ms,
        })
    }

    /// Whether `<schema>.<table>` is captured (include list, else exclude list; system
    /// schemas never).
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        if matches!(schema, "pg_catalog" | "information_schema") || schema.starts_with("pg_toast") {
            return false;
        }
        let name = format!("{schema}.{table}");
        if !self.include.is_empty() {
            return self.include.iter().any(|r| r.is_match(&name));
        }
        !self.exclude.iter().any(|r| r.is_match(&name))
    }

    /// The heartbeat topic: `<topic.heartbeat.prefix>.<topic.prefix>`.
    pub fn heartbeat_topic(&self) -> String {
        format!("{}.{}", self.heartbeat_topics_prefix, self.topic_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &spec().config)
    }

    const BASE: [(&str, &str); 4] = [
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.dbname", "test"),
        ("topic.prefix", "srv"),
    ];

    #[test]
    fn debeziums_defaults() {
        let c = CdcConfig::parse(&config(&BASE)).unwrap();
        assert_eq!(c.port, 5432);
        assert_eq!(c.slot_name, "debezium");
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(c.publication_mode, PublicationMode::AllTables);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.modes, Modes::default());
        assert!(c.tombstones_on_delete);
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat.srv");
        assert!(c.captures("public", "orders"));
        assert!(!c.captures("pg_catalog", "pg_class"));
    }

    #[test]
    fn every_problem_at_once() {
        let problems = CdcConfig::parse(&config(&[
            ("database.hostname", "h"),
            ("database.port", "70000"),
            ("snapshot.mode", "sometimes"),
            ("decimal.handling.mode", "exact"),
            ("slot.name", "Bad-Slot"),
            ("table.include.list", "public.(x"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "database.user",
            "database.dbname",
            "topic.prefix",
            "database.port",
            "snapshot.mode",
            "decimal.handling.mode",
            "slot.name",
            "table.include.list",
        ] {
            assert!(keys.contains(&k), "{k} not reported: {problems:?}");
        }
        let mode = problems.iter().find(|p| p.key == "snapshot.mode").unwrap();
        assert!(mode.message.contains("when_needed"), "{}", mode.message);
    }

    #[test]
    fn include_and_exclude_lists_match_whole_names() {
        let mut pairs = BASE.to_vec();
        pairs.push(("table.include.list", "public.orders, inventory\\..*"));
        let c = CdcConfig::parse(&config(&pairs)).unwrap();
        assert!(c.captures("public", "orders"));
        assert!(!c.captures("public", "orders_old"));
        assert!(c.captures("inventory", "items"));
        let mut pairs = BASE.to_vec();
        pairs.push(("table.exclude.list", "public\\.audit.*"));
        let c = CdcConfig::parse(&config(&pairs)).unwrap();
        assert!(!c.captures("public", "audit_log"));
        assert!(c.captures("public", "orders"));
    }
}
