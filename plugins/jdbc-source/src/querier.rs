//! One table (or the query) of a task: its schema, its position and the SQL that reads the
//! next rows in each mode, with Confluent's source partitions and offsets:
//! partition `{"protocol":"1","table":"<db>.<schema>.<table>"}` (`{"query":"<query>"}`),
//! offset `{"incrementing":N}` and/or `{"timestamp":<ms>,"timestamp_nanos":<ns of second>}`.

use std::time::Instant;

use jdbc_common::{time, Db, DbError, TableId};
use sluice_plugin_sdk::{
    OffsetMap, Record, Schema, SchemaRef, SourcePosition, SourceRecord, Struct, Value,
};

use crate::mapping::{self, Conv};
use crate::settings::{mode_name, Mode, Settings};

/// What a querier reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Table(TableId),
    Query(String),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Table(t) => format!("table {}", t.fqn()),
            Target::Query(_) => "the query".into(),
        }
    }
}

/// The position within a table: the last incrementing value and timestamp read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub incrementing: Option<i64>,
    /// Nanoseconds since the epoch.
    pub timestamp: Option<i128>,
}

impl Position {
    fn to_offset(self) -> OffsetMap {
        let mut m = OffsetMap::new();
        if let Some(i) = self.incrementing {
            m = m.with("incrementing", i);
        }
        if let Some(ts) = self.timestamp {
            m = m
                .with("timestamp", ts.div_euclid(1_000_000) as i64)
                .with("timestamp_nanos", ts.rem_euclid(1_000_000_000) as i64);
        }
        m
    }

    fn from_offset(o: &OffsetMap) -> Position {
        let timestamp = o.get_i64("timestamp").map(|ms| {
            // java.sql.Timestamp: the nanos replace the fraction of the second.
            let secs = (ms as i128).div_euclid(1000);
            let nanos = o
                .get_i64("timestamp_nanos")
                .map_or((ms as i128).rem_euclid(1000) * 1_000_000, |n| n as i128);
            secs * 1_000_000_000 + nanos
        });
        Position {
            incrementing: o.get_i64("incrementing"),
            timestamp,
        }
    }
}

/// Why a query failed: the connection (retry) or the statement/data (fail the task).
pub enum QueryError {
    Connection(String),
    Fatal(String),
}

pub struct Querier {
    pub target: Target,
    partition: OffsetMap,
    topic: String,
    schema: SchemaRef,
    convs: Vec<Conv>,
    names: Vec<String>,
    incrementing: Option<(usize, String)>,
    timestamps: Vec<(usize, String)>,
    pub position: Position,
    pub next_due: Instant,
}

impl Querier {
    /// Describes the target's columns and checks them against the mode; resumes from
    /// `committed`.
    pub fn new(
        db: &mut Db,
        target: Target,
        s: &Settings,
        committed: &[SourcePosition],
    ) -> Result<Querier, QueryError> {
        let what = target.describe();
        let columns = db
            .describe(&base_select(db, &target))
            .map_err(|e| classify(&what, &e))?;
        let mut builder = Schema::struct_builder();
        let (partition, topic) = match &target {
            Target::Table(t) => {
                builder = builder.name(t.name.clone());
                (
                    OffsetMap::new()
                        .with("protocol", "1")
                        .with("table", t.fqn()),
                    format!("{}{}", s.topic_prefix, t.name),
                )
            }
            Target::Query(q) => (
                OffsetMap::new().with("query", q.as_str()),
                s.topic_prefix.clone(),
            ),
        };
        let mut convs = Vec::with_capacity(columns.len());
        for c in &columns {
            let (schema, conv) = mapping::map_column(c, s.numeric_mapping)
                .map_err(|e| QueryError::Fatal(format!("{what}: {e}")))?;
            builder = builder.field(c.name.clone(), schema);
            convs.push(conv);
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let find = |name: &str, key: &str| -> Result<(usize, String), QueryError> {
            let i = names
                .iter()
                .position(|n| n == name)
                .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
                .ok_or_else(|| {
                    QueryError::Fatal(format!(
                        "{what} has no column `{name}` ({key}); its columns: {}",
                        names.join(", ")
                    ))
                })?;
            if s.validate_non_null && columns[i].nullable {
                return Err(QueryError::Fatal(format!(
                    "cannot read {what} in mode {}: column `{}` ({key}) is nullable; make it NOT NULL or set validate.non.null=false",
                    mode_name(s.mode),
                    names[i]
                )));
            }
            Ok((i, names[i].clone()))
        };
        let incrementing = match (&s.incrementing_column, s.mode.uses_incrementing()) {
            (Some(c), true) => {
                let (i, n) = find(c, "incrementing.column.name")?;
                if !matches!(
                    convs[i],
                    Conv::Int8
                        | Conv::Int16
                        | Conv::Int32
                        | Conv::Int64
                        | Conv::NumericInt(_)
                        | Conv::Decimal(0)
                ) {
                    return Err(QueryError::Fatal(format!(
                        "{what}: incrementing column `{n}` has type {}, not an integer type",
                        columns[i].type_name
                    )));
                }
                Some((i, n))
            }
            _ => None,
        };
        let mut timestamps = Vec::new();
        if s.mode.uses_timestamp() {
            for c in &s.timestamp_columns {
                let (i, n) = find(c, "timestamp.column.name")?;
                if convs[i] != Conv::Timestamp {
                    return Err(QueryError::Fatal(format!(
                        "{what}: timestamp column `{n}` has type {}, not a timestamp type",
                        columns[i].type_name
                    )));
                }
                timestamps.push((i, n));
            }
        }
        let position = committed
            .iter()
            .find(|p| matches_partition(&p.partition, &target))
            .map(|p| Position::from_offset(&p.offset))
            .unwrap_or_default();
        Ok(Querier {
            target,
            partition,
            topic,
            schema: builder.build_ref(),
            convs,
            names,
            incrementing,
            timestamps,
            position,
            next_due: Instant::now(),
        })
    }

    /// Where this querier resumes (for the start-up log line).
    pub fn describe_position(&self) -> String {
        match (self.position.incrementing, self.position.timestamp) {
            (None, None) => "from the beginning".into(),
            (i, ts) => {
                let mut parts = Vec::new();
                if let Some(i) = i {
                    parts.push(format!("incrementing > {i}"));
                }
                if let Some(ts) = ts {
                    parts.push(format!(
                        "timestamp > {} UTC",
                        time::format_timestamp(ts, Default::default())
                    ));
                }
                format!("after {}", parts.join(", "))
            }
        }
    }

    /// The statement that reads the next rows, and whether it is limited to
    /// `batch.max.rows` (so more may follow at once).
    fn sql(&self, db: &mut Db, s: &Settings) -> Result<(String, bool), DbError> {
        let base = base_select(db, &self.target);
        let inc = self.incrementing.as_ref().map(|(_, n)| db.quote_ident(n));
        let ts = match self.timestamps.as_slice() {
            [] => None,
            [(_, one)] => Some(db.quote_ident(one)),
            many => Some(format!(
                "COALESCE({})",
                many.iter()
                    .map(|(_, n)| db.quote_ident(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        let tz = db.tz;
        let ts_literal = |nanos: i128| format!("'{}'", time::format_timestamp(nanos, tz));
        let limit = s.batch_max_rows;
        Ok(match (s.mode, inc, ts) {
            (Mode::Bulk, _, _) => (base, false),
            (Mode::Incrementing, Some(inc), _) => {
                let last = self.position.incrementing.unwrap_or(-1);
                (
                    format!("{base} WHERE {inc} > {last} ORDER BY {inc} ASC LIMIT {limit}"),
                    true,
                )
            }
            (Mode::Timestamp, _, Some(ts)) => {
                let end = db.now_nanos()? - s.timestamp_delay_ms as i128 * 1_000_000;
                let last = ts_literal(self.position.timestamp.unwrap_or(0));
                // No LIMIT: a limit could cut through rows sharing the last timestamp, which
                // the next `> last` query would then skip.
                (
                    format!(
                        "{base} WHERE {ts} > {last} AND {ts} < {} ORDER BY {ts} ASC",
                        ts_literal(end)
                    ),
                    false,
                )
            }
            (Mode::TimestampIncrementing, Some(inc), Some(ts)) => {
                let end = db.now_nanos()? - s.timestamp_delay_ms as i128 * 1_000_000;
                let last = ts_literal(self.position.timestamp.unwrap_or(0));
                let last_inc = self.position.incrementing.unwrap_or(-1);
                (
                    format!(
                        "{base} WHERE {ts} < {} AND (({ts} = {last} AND {inc} > {last_inc}) OR {ts} > {last}) ORDER BY {ts}, {inc} ASC LIMIT {limit}",
                        ts_literal(end)
                    ),
                    true,
                )
            }
            _ => (base, false),
        })
    }

    /// Reads the next rows as records; `true` if a full `LIMIT` came back (query again now).
    pub fn run(
        &mut self,
        db: &mut Db,
        s: &Settings,
    ) -> Result<(Vec<SourceRecord>, bool), QueryError> {
        let what = self.target.describe();
        let (sql, limited) = self.sql(db, s).map_err(|e| classify(&what, &e))?;
        let rows = db.query(&sql).map_err(|e| classify(&what, &e))?;
        if rows.columns.len() != self.convs.len() {
            return Err(QueryError::Fatal(format!(
                "{what} changed while the task ran: {} columns instead of {} ({}); restart the task to pick up the new schema",
                rows.columns.len(),
                self.convs.len(),
                self.names.join(", ")
            )));
        }
        let full = limited && rows.rows.len() >= s.batch_max_rows;
        let mut records = Vec::with_capacity(rows.rows.len());
        for row in rows.rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, v) in row.iter().enumerate() {
                values.push(match v {
                    None => Value::Null,
                    Some(raw) => mapping::convert(self.convs[i], raw, db.tz).map_err(|e| {
                        QueryError::Fatal(format!("{what}, column `{}`: {e}", self.names[i]))
                    })?,
                });
            }
            if let Some((i, name)) = &self.incrementing {
                let n = row[*i]
                    .as_deref()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.split('.').next()?.parse::<i64>().ok())
                    .ok_or_else(|| QueryError::Fatal(format!("{what}: incrementing column `{name}` is NULL or not an integer in a row")))?;
                self.position.incrementing = Some(n);
            }
            if !self.timestamps.is_empty() {
                let ts = self
                    .timestamps
                    .iter()
                    .find_map(|(i, _)| row[*i].as_deref())
                    .and_then(|raw| mapping::timestamp_nanos(raw, db.tz));
                if let Some(ts) = ts {
                    self.position.timestamp = Some(ts);
                }
            }
            let value = Struct::from_values(self.schema.clone(), values)
                .map_err(|e| QueryError::Fatal(format!("{what}: {}", e.0)))?;
            records.push(SourceRecord::new(
                self.partition.clone(),
                self.position.to_offset(),
                Record::new(self.topic.clone())
                    .with_value(Some(self.schema.clone()), Value::Struct(value)),
            ));
        }
        Ok((records, full))
    }
}

fn base_select(db: &Db, target: &Target) -> String {
    match target {
        Target::Table(t) => format!("SELECT * FROM {}", db.quote_table(t)),
        Target::Query(q) => format!("SELECT * FROM ({q}) sluice_query"),
    }
}

fn matches_partition(p: &OffsetMap, target: &Target) -> bool {
    match target {
        Target::Table(t) => match (p.get_str("protocol"), p.get_str("table")) {
            (Some("1"), Some(name)) => name == t.fqn(),
            (None, Some(name)) => name == t.name,
            _ => false,
        },
        Target::Query(q) => p.get_str("query") == Some(q.as_str()),
    }
}

/// Connection trouble → retry; anything the server rejected → fail.
pub fn classify(what: &str, e: &DbError) -> QueryError {
    let message = format!("{what}: {e}");
    if e.is_transient() {
        QueryError::Connection(message)
    } else {
        QueryError::Fatal(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_have_confluents_shape() {
        let p = Position {
            incrementing: Some(7),
            timestamp: Some(1_500_123_456_789),
        };
        let o = p.to_offset();
        assert_eq!(o.get_i64("incrementing"), Some(7));
        assert_eq!(o.get_i64("timestamp"), Some(1_500_123));
        assert_eq!(o.get_i64("timestamp_nanos"), Some(123_456_789));
        assert_eq!(Position::from_offset(&o), p);
        let t = Target::Table(TableId {
            catalog: Some("test".into()),
            schema: Some("public".into()),
            name: "u".into(),
        });
        assert!(matches_partition(
            &OffsetMap::new()
                .with("protocol", "1")
                .with("table", "test.public.u"),
            &t
        ));
        assert!(matches_partition(&OffsetMap::new().with("table", "u"), &t));
        assert!(!matches_partition(
            &OffsetMap::new().with("protocol", "1").with("table", "u"),
            &t
        ));
    }
}
