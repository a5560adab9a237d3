//! The sink's config keys (Confluent's names and defaults), checked in one pass.

use jdbc_common::connection::{self, Connection};
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, PluginSpec};
pub const INSERT_MODE: &str = "insert.mode";
pub const PK_MODE: &str = "pk.mode";
pub const PK_FIELDS: &str = "pk.fields";
pub const DELETE_ENABLED: &str = "delete.enabled";
pub const TABLE_NAME_FORMAT: &str = "table.name.format";
pub const AUTO_CREATE: &str = "auto.create";
pub const AUTO_EVOLVE: &str = "auto.evolve";
pub const BATCH_SIZE: &str = "batch.size";
pub const FIELDS_WHITELIST: &str = "fields.whitelist";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF: &str = "retry.backoff.ms";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

#[derive(Clone)]
pub struct Settings {
    pub conn: Connection,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub delete_enabled: bool,
    pub table_name_format: String,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub batch_size: usize,
    pub fields_whitelist: Vec<String>,
    pub max_retries: u32,
    pub retry_backoff_ms: u64,
}

pub fn spec() -> PluginSpec {
    let spec = PluginSpec::new("io.confluent.connect.jdbc.JdbcSinkConnector", env!("CARGO_PKG_VERSION"))
        .alias("JdbcSinkConnector")
        .alias("jdbc-sink")
        .description("Writes records into PostgreSQL or MySQL/MariaDB tables (Confluent's JDBC sink: insert, upsert, update, deletes from tombstones, auto.create/auto.evolve). One transaction per batch; a record a constraint rejects goes to the DLQ. Needs wasm.network.allow for the database's host:port.");
    connection::define(spec)
        .config(ConfigDef::string(INSERT_MODE).default("insert").recommended(["insert", "upsert", "update"])
            .doc("insert: INSERT; upsert: insert or update by primary key (idempotent); update: UPDATE by primary key."))
        .config(ConfigDef::string(PK_MODE).default("none").recommended(["none", "kafka", "record_key", "record_value"])
            .doc("Where the primary key comes from."))
        .config(ConfigDef::list(PK_FIELDS).default("").doc("Primary key field names (meaning depends on pk.mode)."))
        .config(ConfigDef::boolean(DELETE_ENABLED).default(false).doc("Tombstones (null values) delete the row with the record key (needs pk.mode=record_key)."))
        .config(ConfigDef::string(TABLE_NAME_FORMAT).default("${topic}").doc("Destination table; ${topic} is replaced by the record's topic."))
        .config(ConfigDef::boolean(AUTO_CREATE).default(false).doc("CREATE TABLE from the record schema when the table is missing."))
        .config(ConfigDef::boolean(AUTO_EVOLVE).default(false).doc("ALTER TABLE ADD the record schema's missing (optional) columns."))
        .config(ConfigDef::int(BATCH_SIZE).default(3000).doc("Rows per statement."))
        .config(ConfigDef::list(FIELDS_WHITELIST).default("").doc("Value fields to write (empty: all)."))
        .config(ConfigDef::int(MAX_RETRIES).default(10).doc("Retries of a batch after a connection error."))
        .config(ConfigDef::int(RETRY_BACKOFF).default(3000).doc("Wait between retries (ms)."))
}

pub fn parse(config: &Config) -> Result<Settings, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let conn = Connection::parse(config, &mut problems);
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem {
            key: key.into(),
            message,
        })
    };
    let insert_mode = match config
        .optional_str(INSERT_MODE)
        .map(str::trim)
        .unwrap_or("insert")
    {
        "insert" => InsertMode::Insert,
        "upsert" => InsertMode::Upsert,
        "update" => InsertMode::Update,
        other => {
            problem(
                INSERT_MODE,
                format!("`{other}` is not accepted; use one of: insert, upsert, update"),
            );
            InsertMode::Insert
        }
    };
    let pk_mode = match config
        .optional_str(PK_MODE)
        .map(str::trim)
        .unwrap_or("none")
    {
        "none" => PkMode::None,
        "kafka" => PkMode::Kafka,
        "record_key" => PkMode::RecordKey,
        "record_value" => PkMode::RecordValue,
        other => {
            problem(
                PK_MODE,
                format!(
                    "`{other}` is not accepted; use one of: none, kafka, record_key, record_value"
                ),
            );
            PkMode::None
        }
    };
    let pk_fields = config.list(PK_FIELDS).unwrap_or_default();
    if pk_mode == PkMode::Kafka && !(pk_fields.is_empty() || pk_fields.len() == 3) {
        problem(PK_FIELDS, format!("pk.mode=kafka needs three names (topic, partition, offset columns) or none, got {}", pk_fields.len()));
    }
    if pk_mode == PkMode::None && insert_mode != InsertMode::Insert {
        problem(PK_MODE, format!("insert.mode={} needs a primary key: set pk.mode to kafka, record_key or record_value", if insert_mode == InsertMode::Upsert { "upsert" } else { "update" }));
    }
    let delete_enabled = config
        .optional_bool(DELETE_ENABLED)
        .ok()
        .flatten()
        .unwrap_or(false);
    if delete_enabled && pk_mode != PkMode::RecordKey {
        problem(
            DELETE_ENABLED,
            "delete.enabled=true needs pk.mode=record_key (the key says which row to delete)"
                .into(),
        );
    }
    let table_name_format = config
        .optional_str(TABLE_NAME_FORMAT)
        .unwrap_or("${topic}")
        .to_string();
    if table_name_format.trim().is_empty() {
        problem(
            TABLE_NAME_FORMAT,
            "must not be empty; the default is ${topic}".into(),
        );
    }
    let int =
        |key: &str, default: i64, min: i64, problem: &mut dyn FnMut(&str, String)| match config
            .optional_int(key)
        {
            Ok(Some(n)) if n >= min => n,
            Ok(Some(n)) => {
                problem(key, format!("{n} is not valid; use a number ≥ {min}"));
                default
            }
            Ok(None) => default,
            Err(e) => {
                problem(key, e.message);
                default
            }
        };
    let batch_size = int(BATCH_SIZE, 3000, 1, &mut problem) as usize;
    let max_retries = int(MAX_RETRIES, 10, 0, &mut problem) as u32;
    let retry_backoff_ms = int(RETRY_BACKOFF, 3000, 0, &mut problem) as u64;
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings {
        conn,
        insert_mode,
        pk_mode,
        pk_fields,
        delete_enabled,
        table_name_format,
        auto_create: config
            .optional_bool(AUTO_CREATE)
            .ok()
            .flatten()
            .unwrap_or(false),
        auto_evolve: config
            .optional_bool(AUTO_EVOLVE)
            .ok()
            .flatten()
            .unwrap_or(false),
        batch_size,
        fields_whitelist: config.list(FIELDS_WHITELIST).unwrap_or_default(),
        max_retries,
        retry_backoff_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jdbc_common::connection::CONNECTION_URL;

    #[test]
    fn checks_combinations() {
        let c = |pairs: &[(&str, &str)]| Config::from_pairs(pairs, &spec().config);
        let url = (CONNECTION_URL, "jdbc:postgresql://127.0.0.1/test");
        assert!(parse(&c(&[url, (INSERT_MODE, "upsert"), (PK_MODE, "record_key")])).is_ok());
        let p = parse(&c(&[
            url,
            (INSERT_MODE, "upsert"),
            (DELETE_ENABLED, "true"),
        ]))
        .err()
        .unwrap();
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, [PK_MODE, DELETE_ENABLED]);
    }
}
