//! The snapshot: every captured table's rows as `op=r` events, read in one REPEATABLE READ
//! transaction (on the slot's exported snapshot when the slot was just created, so snapshot and
//! stream meet exactly), through a cursor so memory stays bounded by one poll's rows.
//!
//! Design decision: one row is held back per fetch, so the last row of a table and of the
//! whole snapshot can be marked (`last_in_data_collection`, `last`) as Debezium marks them;
//! the offsets carry Debezium's snapshot keys, and only the very last record says
//! `snapshot_completed: true`, so a restart in the middle snapshots again.

use sluice_plugin_sdk::{OffsetMap, SourceRecord};

use crate::catalog::{CapturedTable, Meta};
use crate::config::CdcConfig;
use crate::envelope::{Op, SnapshotMarker, SourceInfo, TableSchema};
use crate::pgoutput::Column;
use crate::stream::partition;

/// Where the snapshot stands.
pub struct Snapshot {
    tables: Vec<CapturedTable>,
    /// Index of the table being read; its cursor is open when `current` is set.
    next_table: usize,
    current: Option<(TableSchema, bool)>,
    /// A row fetched but not emitted yet (it may be the table's last).
    held: Option<(Vec<Column>, bool)>,
    emitted_any: bool,
    lsn: u64,
    tx_id: Option<i64>,
    ts_us: i64,
}

const CURSOR: &str = "sluice_cdc_snapshot";

impl Snapshot {
    /// Opens the snapshot transaction (on `exported` when given) and lists the tables.
    pub fn begin(
        meta: &mut Meta,
        config: &CdcConfig,
        exported: Option<&str>,
        lsn: u64,
        now_us: i64,
    ) -> Result<Snapshot, String> {
        meta.conn
            .simple_query("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .map_err(|e| format!("cannot start the snapshot transaction: {e}"))?;
        if let Some(name) = exported {
            meta.conn
                .simple_query(&format!(
                    "SET TRANSACTION SNAPSHOT {}",
                    sql_wire::pg::quote_literal(name)
                ))
                .map_err(|e| format!("cannot use the slot's exported snapshot {name:?}: {e}"))?;
        }
        let tx_id = meta
            .one("SELECT txid_current()")?
            .and_then(|v| v.parse().ok());
        let tables = meta.captured_tables(config)?;
        Ok(Snapshot {
            tables,
            next_table: 0,
            current: None,
            held: None,
            emitted_any: false,
            lsn,
            tx_id,
            ts_us: now_us,
        })
    }

    /// Up to `max` snapshot records; `None` once the snapshot is complete (the transaction
    /// is then committed).
    pub fn next_batch(
        &mut self,
        meta: &mut Meta,
        config: &CdcConfig,
        max: u32,
        now_us: i64,
    ) -> Result<Option<Vec<SourceRecord>>, String> {
        let mut out = Vec::new();
        while out.len() < max as usize {
            if self.current.is_none() {
                let Some(t) = self.tables.get(self.next_table).cloned() else {
                    break;
                };
                self.next_table += 1;
                let schema = meta.table_schema(config, &t)?;
                let columns: Vec<String> = schema
                    .columns
                    .iter()
                    .map(|c| sql_wire::pg::quote_ident(&c.name))
                    .collect();
                meta.conn
                    .simple_query(&format!(
                        "DECLARE {CURSOR} NO SCROLL CURSOR FOR SELECT {} FROM {}.{}",
                        if columns.is_empty() {
                            "NULL".to_string()
                        } else {
                            columns.join(", ")
                        },
                        sql_wire::pg::quote_ident(&t.schema),
                        sql_wire::pg::quote_ident(&t.table)
                    ))
                    .map_err(|e| format!("cannot read table {}.{}: {e}", t.schema, t.table))?;
                self.current = Some((schema, true));
            }
            let want = (max as usize - out.len()).clamp(1, 10_000);
            let rows = meta
                .conn
                .simple_query(&format!("FETCH {want} FROM {CURSOR}"))
                .map_err(|e| format!("snapshot fetch failed: {e}"))?
                .pop()
                .map(|r| r.rows)
                .unwrap_or_default();
            let done = rows.len() < want;
            for row in rows {
                let row: Vec<Column> = row
                    .into_iter()
                    .map(|c| c.map_or(Column::Null, Column::Text))
                    .collect();
                if let Some(prev) = self.held.take() {
                    self.emit(prev, false, now_us, config, &mut out)?;
                }
                let first_in_table = {
                    let (_, first) = self.current.as_mut().expect("a table is open");
                    std::mem::replace(first, false)
                };
                self.held = Some((row, first_in_table));
            }
            if done {
                if let Some(prev) = self.held.take() {
                    self.emit(prev, true, now_us, config, &mut out)?;
                }
                meta.conn
                    .simple_query(&format!("CLOSE {CURSOR}"))
                    .map_err(|e| format!("snapshot: {e}"))?;
                self.current = None;
            }
        }
        if out.is_empty() && self.current.is_none() && self.next_table >= self.tables.len() {
            meta.conn
                .simple_query("COMMIT")
                .map_err(|e| format!("cannot end the snapshot transaction: {e}"))?;
            return Ok(None);
        }
        Ok(Some(out))
    }

    fn emit(
        &mut self,
        (row, first_in_table): (Vec<Column>, bool),
        last_in_table: bool,
        now_us: i64,
        config: &CdcConfig,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), String> {
        let (schema, _) = self.current.as_ref().expect("a table is open");
        let last_table = self.next_table >= self.tables.len();
        let first = !self.emitted_any && first_in_table;
        let last = last_table && last_in_table;
        let marker = if first {
            SnapshotMarker::First
        } else if last {
            SnapshotMarker::Last
        } else if first_in_table {
            SnapshotMarker::FirstInDataCollection
        } else if last_in_table {
            SnapshotMarker::LastInDataCollection
        } else {
            SnapshotMarker::True
        };
        // A single-row snapshot is both first and last; its offset must still say complete.
        let complete = last;
        self.emitted_any = true;
        let after = schema.row(&row)?;
        let info = SourceInfo {
            ts_us: self.ts_us,
            snapshot: marker,
            sequence: Some(format!("[null,\"{}\"]", self.lsn)),
            tx_id: self.tx_id,
            lsn: Some(self.lsn as i64),
        };
        let record = schema.change(Op::Read, None, Some(after), &info, now_us);
        let mut offset = OffsetMap::new()
            .with("last_snapshot_record", complete)
            .with("lsn", self.lsn as i64);
        if let Some(tx) = self.tx_id {
            offset = offset.with("txId", tx);
        }
        offset = offset
            .with("ts_usec", self.ts_us)
            .with("snapshot", "INITIAL")
            .with("snapshot_completed", complete);
        out.push(SourceRecord::new(
            partition(&config.topic_prefix),
            offset,
            record,
        ));
        Ok(())
    }
}
