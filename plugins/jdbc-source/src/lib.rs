//! Confluent's JDBC source connector (`io.confluent.connect.jdbc.JdbcSourceConnector`) for
//! PostgreSQL and MySQL/MariaDB, as a Sluice plugin.
//!
//! Design decision: the database protocols run inside the plugin (`sql-wire` over
//! `wasi:sockets`, allowed by the connector's `wasm.network.allow`), everything as text;
//! `poll` never waits for `poll.interval.ms` — a table that is not due yet makes it return
//! an empty batch, and the host backs off briefly.

pub mod mapping;
pub mod querier;
pub mod settings;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jdbc_common::{Db, TableId};
use sluice_plugin_sdk::{
    log, Config, ConfigProblem, PluginSpec, Source, SourcePosition, SourceRecord, TaskError,
};

use querier::{Querier, QueryError, Target};
use settings::Settings;

/// One source task: its tables (or the query), a connection and records read but not yet
/// handed to the host.
pub struct JdbcSource {
    settings: Settings,
    db: Option<Db>,
    queriers: Vec<Querier>,
    buffer: VecDeque<SourceRecord>,
}

/// The tables `s` selects, in name order; a listed table that does not exist is an error.
fn select_tables(db: &mut Db, s: &Settings) -> Result<Vec<TableId>, String> {
    let all = db.list_tables().map_err(|e| s.conn.connect_error(&e))?;
    if let Some(assigned) = &s.tables {
        return assigned
            .iter()
            .map(|fqn| {
                all.iter().find(|t| &t.fqn() == fqn).cloned().ok_or_else(|| {
                    format!("table {fqn} assigned to this task does not exist (any more) in database `{}`", db.database)
                })
            })
            .collect();
    }
    if !s.include.is_empty() {
        let mut out = Vec::new();
        for name in &s.include {
            let found: Vec<&TableId> = all.iter().filter(|t| t.matches(name)).collect();
            if found.is_empty() {
                let known: Vec<String> = all.iter().map(TableId::fqn).collect();
                return Err(format!(
                    "table `{name}` (table.whitelist) does not exist in database `{}`; tables there: {}",
                    db.database,
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ));
            }
            out.extend(found.into_iter().cloned());
        }
        out.sort();
        out.dedup();
        return Ok(out);
    }
    Ok(all
        .into_iter()
        .filter(|t| !s.exclude.iter().any(|x| t.matches(x)))
        .collect())
}

impl Source for JdbcSource {
    fn spec() -> PluginSpec {
        settings::spec()
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        settings::parse(config).err().unwrap_or_default()
    }

    fn task_configs(config: &Config, max_tasks: u32) -> Result<Vec<Config>, String> {
        let s = settings::parse(config).map_err(|p| ConfigProblem::join(&p))?;
        if s.query.is_some() {
            return Ok(vec![config.clone()]);
        }
        let mut db = s.conn.connect().map_err(|e| s.conn.connect_error(&e))?;
        let tables = select_tables(&mut db, &s)?;
        db.close();
        if tables.is_empty() {
            log::warn!("jdbc source: no tables match the configuration; no tasks started");
            return Ok(Vec::new());
        }
        // Contiguous groups, as Kafka's ConnectorUtils.groupPartitions.
        let n = (max_tasks.max(1) as usize).min(tables.len());
        let per = tables.len() / n;
        let extra = tables.len() % n;
        let mut configs = Vec::with_capacity(n);
        let mut start = 0;
        for i in 0..n {
            let len = per + usize::from(i < extra);
            let group: Vec<String> = tables[start..start + len]
                .iter()
                .map(TableId::fqn)
                .collect();
            start += len;
            let mut c = config.clone();
            c.set(settings::TASK_TABLES, group.join(","));
            configs.push(c);
        }
        Ok(configs)
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let s = settings::parse(&config).map_err(|p| TaskError::invalid_config(&p))?;
        let mut db = s
            .conn
            .connect()
            .map_err(|e| TaskError::fatal(s.conn.connect_error(&e)))?;
        let targets: Vec<Target> = match &s.query {
            Some(q) => vec![Target::Query(q.clone())],
            None => select_tables(&mut db, &s)
                .map_err(TaskError::fatal)?
                .into_iter()
                .map(Target::Table)
                .collect(),
        };
        let mut queriers = Vec::with_capacity(targets.len());
        for t in targets {
            let q = Querier::new(&mut db, t, &s, &committed).map_err(|e| match e {
                QueryError::Connection(m) | QueryError::Fatal(m) => TaskError::fatal(m),
            })?;
            log::info!(
                "jdbc source: reading {} in mode {}, {}",
                match &q.target {
                    Target::Table(t) => t.fqn(),
                    Target::Query(_) => "the query".into(),
                },
                settings::mode_name(s.mode),
                q.describe_position()
            );
            queriers.push(q);
        }
        Ok(JdbcSource {
            settings: s,
            db: Some(db),
            queriers,
            buffer: VecDeque::new(),
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        if self.buffer.is_empty() {
            self.fill()?;
        }
        let n = self.buffer.len().min(max_records.max(1) as usize);
        Ok(self.buffer.drain(..n).collect())
    }

    fn stop(&mut self) {
        if let Some(db) = self.db.take() {
            db.close();
        }
    }
}

impl JdbcSource {
    /// Runs the query of the table that is due first, if any is due.
    fn fill(&mut self) -> Result<(), TaskError> {
        let now = Instant::now();
        let Some(q) = self
            .queriers
            .iter_mut()
            .filter(|q| q.next_due <= now)
            .min_by_key(|q| q.next_due)
        else {
            return Ok(());
        };
        if self.db.as_ref().is_none_or(Db::is_broken) {
            self.db = None;
            let db = self.settings.conn.connect().map_err(|e| {
                let m = self.settings.conn.connect_error(&e);
                if e.is_transient() {
                    TaskError::retriable(m)
                } else {
                    TaskError::fatal(m)
                }
            })?;
            self.db = Some(db);
        }
        let db = self.db.as_mut().expect("connected above");
        match q.run(db, &self.settings) {
            Ok((records, more)) => {
                q.next_due = if more {
                    now
                } else {
                    now + Duration::from_millis(self.settings.poll_interval_ms)
                };
                self.buffer.extend(records);
                Ok(())
            }
            Err(QueryError::Connection(m)) => {
                self.db = None;
                Err(TaskError::retriable(m))
            }
            Err(QueryError::Fatal(m)) => Err(TaskError::fatal(m)),
        }
    }
}

sluice_plugin_sdk::export_source!(JdbcSource);
