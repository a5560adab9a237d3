//! The connector's config keys (Confluent's names and defaults) and their one checking pass:
//! every problem is reported at once, naming the key, the value and what is accepted.

use jdbc_common::connection::{self, Connection};
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, Importance, PluginSpec};

pub const MODE: &str = "mode";
pub const INCREMENTING_COLUMN: &str = "incrementing.column.name";
pub const TIMESTAMP_COLUMNS: &str = "timestamp.column.name";
pub const TIMESTAMP_DELAY: &str = "timestamp.delay.interval.ms";
pub const TABLE_WHITELIST: &str = "table.whitelist";
pub const TABLE_INCLUDE_LIST: &str = "table.include.list";
pub const TABLE_BLACKLIST: &str = "table.blacklist";
pub const TABLE_EXCLUDE_LIST: &str = "table.exclude.list";
pub const QUERY: &str = "query";
pub const TOPIC_PREFIX: &str = "topic.prefix";
pub const POLL_INTERVAL: &str = "poll.interval.ms";
pub const BATCH_MAX_ROWS: &str = "batch.max.rows";
pub const VALIDATE_NON_NULL: &str = "validate.non.null";
pub const NUMERIC_MAPPING: &str = "numeric.mapping";
/// Task configs only: the tables (fully qualified names) this task reads.
pub const TASK_TABLES: &str = "tables";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericMapping {
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

/// A checked connector/task config.
#[derive(Clone)]
pub struct Settings {
    pub conn: Connection,
    pub mode: Mode,
    pub incrementing_column: Option<String>,
    pub timestamp_columns: Vec<String>,
    pub timestamp_delay_ms: i64,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub query: Option<String>,
    pub topic_prefix: String,
    pub poll_interval_ms: u64,
    pub batch_max_rows: usize,
    pub validate_non_null: bool,
    pub numeric_mapping: NumericMapping,
    /// Set in task configs.
    pub tables: Option<Vec<String>>,
}

pub fn spec() -> PluginSpec {
    let mode = "Mode";
    let spec = PluginSpec::new("io.confluent.connect.jdbc.JdbcSourceConnector", env!("CARGO_PKG_VERSION"))
        .alias("JdbcSourceConnector")
        .alias("jdbc-source")
        .description("Reads tables or a query from PostgreSQL or MySQL/MariaDB into Kafka (Confluent's JDBC source: bulk, incrementing, timestamp and timestamp+incrementing modes). Needs wasm.network.allow for the database's host:port.");
    connection::define(spec)
        .config(ConfigDef::string(MODE).required().group(mode).importance(Importance::High)
            .recommended(["bulk", "incrementing", "timestamp", "timestamp+incrementing"])
            .doc("bulk: the whole table each poll; incrementing: rows with a larger id; timestamp: rows with a newer timestamp; timestamp+incrementing: both (catches updates, no duplicates)."))
        .config(ConfigDef::string(INCREMENTING_COLUMN).default("").group(mode)
            .doc("Strictly increasing integer column (incrementing modes)."))
        .config(ConfigDef::list(TIMESTAMP_COLUMNS).default("").group(mode)
            .doc("Timestamp column(s) (timestamp modes); several are COALESCEd in order."))
        .config(ConfigDef::long(TIMESTAMP_DELAY).default(0).group(mode)
            .doc("How long after a row's timestamp it is read, so transactions with earlier timestamps can commit first."))
        .config(ConfigDef::list(TABLE_WHITELIST).default("").doc("Tables to read (table, schema.table or db.schema.table); empty: all."))
        .config(ConfigDef::list(TABLE_INCLUDE_LIST).default("").doc("Same as table.whitelist (newer name)."))
        .config(ConfigDef::list(TABLE_BLACKLIST).default("").doc("Tables not to read."))
        .config(ConfigDef::list(TABLE_EXCLUDE_LIST).default("").doc("Same as table.blacklist (newer name)."))
        .config(ConfigDef::string(QUERY).default("").doc("A query to read instead of tables (one task; the mode's WHERE clause is applied around it)."))
        .config(ConfigDef::string(TOPIC_PREFIX).required().importance(Importance::High)
            .doc("Topic = prefix + table name (the prefix alone in query mode)."))
        .config(ConfigDef::int(POLL_INTERVAL).default(5000).doc("How often each table is queried for new rows (ms)."))
        .config(ConfigDef::int(BATCH_MAX_ROWS).default(100).doc("Rows per query in the incrementing modes, and per batch handed to Kafka."))
        .config(ConfigDef::boolean(VALIDATE_NON_NULL).default(true).doc("Fail if an incrementing or timestamp column is nullable."))
        .config(ConfigDef::string(NUMERIC_MAPPING).default("none")
            .recommended(["none", "precision_only", "best_fit", "best_fit_eager_double"])
            .doc("How NUMERIC columns map: none (Decimal), precision_only, best_fit, best_fit_eager_double (as Confluent)."))
}

/// Checks `config`; every problem at once.
pub fn parse(config: &Config) -> Result<Settings, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let conn = Connection::parse(config, &mut problems);
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem {
            key: key.into(),
            message,
        })
    };
    let non_empty = |k: &str| {
        config
            .optional_str(k)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mode = match config.optional_str(MODE).map(str::trim) {
        Some("bulk") => Mode::Bulk,
        Some("incrementing") => Mode::Incrementing,
        Some("timestamp") => Mode::Timestamp,
        Some("timestamp+incrementing") => Mode::TimestampIncrementing,
        Some(other) => {
            problem(MODE, format!("`{other}` is not accepted; use one of: bulk, incrementing, timestamp, timestamp+incrementing"));
            Mode::Bulk
        }
        None => {
            problem(MODE, "missing required key; use one of: bulk, incrementing, timestamp, timestamp+incrementing".into());
            Mode::Bulk
        }
    };
    let incrementing_column = non_empty(INCREMENTING_COLUMN);
    let timestamp_columns = config.list(TIMESTAMP_COLUMNS).unwrap_or_default();
    if mode.uses_incrementing() && incrementing_column.is_none() {
        problem(
            INCREMENTING_COLUMN,
            format!(
                "mode {} needs the name of a strictly increasing integer column",
                mode_name(mode)
            ),
        );
    }
    if mode.uses_timestamp() && timestamp_columns.is_empty() {
        problem(
            TIMESTAMP_COLUMNS,
            format!(
                "mode {} needs one or more timestamp column names",
                mode_name(mode)
            ),
        );
    }
    let int = |key: &str, min: i64, problem: &mut dyn FnMut(&str, String)| -> i64 {
        match config.optional_int(key) {
            Ok(Some(n)) if n >= min => n,
            Ok(Some(n)) => {
                problem(key, format!("{n} is not valid; use a number ≥ {min}"));
                min
            }
            Ok(None) => min,
            Err(e) => {
                problem(key, e.message);
                min
            }
        }
    };
    let timestamp_delay_ms = int(TIMESTAMP_DELAY, 0, &mut problem);
    let poll_interval_ms = int(POLL_INTERVAL, 1, &mut problem) as u64;
    let batch_max_rows = int(BATCH_MAX_ROWS, 1, &mut problem) as usize;
    let mut include = config.list(TABLE_WHITELIST).unwrap_or_default();
    include.extend(config.list(TABLE_INCLUDE_LIST).unwrap_or_default());
    let mut exclude = config.list(TABLE_BLACKLIST).unwrap_or_default();
    exclude.extend(config.list(TABLE_EXCLUDE_LIST).unwrap_or_default());
    if !include.is_empty() && !exclude.is_empty() {
        problem(TABLE_BLACKLIST, "table.whitelist/table.include.list and table.blacklist/table.exclude.list cannot both be set".into());
    }
    let query = non_empty(QUERY);
    if query.is_some() && !(include.is_empty() && exclude.is_empty()) {
        problem(
            QUERY,
            "query mode reads one query: leave table.whitelist/table.blacklist empty".into(),
        );
    }
    let topic_prefix = config
        .optional_str(TOPIC_PREFIX)
        .unwrap_or_default()
        .to_string();
    if topic_prefix.trim().is_empty() && query.is_some() {
        problem(
            TOPIC_PREFIX,
            "query mode writes to the topic named by topic.prefix: it must not be empty".into(),
        );
    }
    let validate_non_null = config
        .optional_bool(VALIDATE_NON_NULL)
        .ok()
        .flatten()
        .unwrap_or(true);
    let numeric_mapping = match config.optional_str(NUMERIC_MAPPING).map(str::trim) {
        None | Some("none") | Some("") => NumericMapping::None,
        Some("precision_only") => NumericMapping::PrecisionOnly,
        Some("best_fit") => NumericMapping::BestFit,
        Some("best_fit_eager_double") => NumericMapping::BestFitEagerDouble,
        Some(other) => {
            problem(NUMERIC_MAPPING, format!("`{other}` is not accepted; use one of: none, precision_only, best_fit, best_fit_eager_double"));
            NumericMapping::None
        }
    };
    let tables = config.optional_str(TASK_TABLES).map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings {
        conn,
        mode,
        incrementing_column,
        timestamp_columns,
        timestamp_delay_ms,
        include,
        exclude,
        query,
        topic_prefix,
        poll_interval_ms,
        batch_max_rows,
        validate_non_null,
        numeric_mapping,
        tables,
    })
}

pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Bulk => "bulk",
        Mode::Incrementing => "incrementing",
        Mode::Timestamp => "timestamp",
        Mode::TimestampIncrementing => "timestamp+incrementing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jdbc_common::connection::{CONNECTION_URL, DB_TIMEZONE};

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &spec().config)
    }

    #[test]
    fn accepts_confluent_configs() {
        let s = parse(&cfg(&[
            (CONNECTION_URL, "jdbc:postgresql://127.0.0.1:5432/test"),
            (MODE, "timestamp+incrementing"),
            (INCREMENTING_COLUMN, "id"),
            (TIMESTAMP_COLUMNS, "updated_at, created_at"),
            (TOPIC_PREFIX, "pg-"),
            (TABLE_WHITELIST, "users,orders"),
        ]))
        .unwrap_or_else(|p| panic!("{}", ConfigProblem::join(&p)));
        assert_eq!(s.mode, Mode::TimestampIncrementing);
        assert_eq!(s.timestamp_columns, ["updated_at", "created_at"]);
        assert_eq!((s.poll_interval_ms, s.batch_max_rows), (5000, 100));
    }

    #[test]
    fn reports_every_problem() {
        let p = parse(&cfg(&[
            (CONNECTION_URL, "jdbc:oracle:thin:@x"),
            (MODE, "incrementing"),
            (TOPIC_PREFIX, "x"),
            (DB_TIMEZONE, "Europe/Nowhere"),
            (NUMERIC_MAPPING, "fast"),
        ]))
        .err()
        .unwrap();
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                CONNECTION_URL,
                DB_TIMEZONE,
                INCREMENTING_COLUMN,
                NUMERIC_MAPPING
            ],
            "{}",
            ConfigProblem::join(&p)
        );
    }
}
