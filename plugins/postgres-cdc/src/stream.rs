//! The streaming phase as a state machine: decoded pgoutput messages in, Debezium change
//! events with their source offsets out.
//!
//! Design decision: no I/O here. The only outside knowledge a Relation message lacks (which
//! columns are NOT NULL, which form the primary key) comes through the [`Catalog`] trait, so
//! the whole event logic — transaction tracking, table filtering, resume-skipping after a
//! restart, key changes, tombstones — is unit-tested without a server.
//!
//! Offsets have Debezium 3.0's shape: partition `{"server": <topic.prefix>}`, offset
//! `{lsn_proc, messageType, lsn_commit, lsn, txId, ts_usec}` where `lsn_commit` is the commit
//! LSN of the event's transaction and `lsn_proc`/`lsn` the event's own LSN. After a restart
//! the server resends every transaction whose commit is at or after the slot's confirmed
//! position; events at or before the committed `(lsn_commit, lsn_proc)` are skipped.

use std::collections::HashMap;

use sluice_plugin_sdk::{OffsetMap, Record, Schema, SchemaRef, SourceRecord, Struct, Value};

use crate::config::CdcConfig;
use crate::envelope::{ColumnDef, Op, SnapshotMarker, SourceInfo, TableSchema};
use crate::pgoutput::{self, Message, OldTuple, Relation};
use crate::types::Kind;

/// What the catalog says about a table's columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// Columns declared NOT NULL.
    pub not_null: Vec<String>,
    /// Primary key columns, in key order (empty: no primary key).
    pub primary_key: Vec<String>,
}

/// Looks up what a Relation message does not carry.
pub trait Catalog {
    fn table_info(
        &mut self,
        relation_oid: u32,
        schema: &str,
        table: &str,
    ) -> Result<TableInfo, String>;
}

/// A position in the change stream: the commit LSN of a transaction and an event's LSN in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub commit_lsn: u64,
    pub lsn: u64,
}

impl Position {
    /// The position a committed streaming (or heartbeat) offset names; `None` for snapshot
    /// offsets and offsets without `lsn_commit`.
    pub fn from_offset(offset: &OffsetMap) -> Option<Position> {
        Some(Position {
            commit_lsn: offset.get_i64("lsn_commit")? as u64,
            lsn: offset.get_i64("lsn_proc")? as u64,
        })
    }
}

/// The source partition of every record: `{"server": <topic.prefix>}`.
pub fn partition(server: &str) -> OffsetMap {
    OffsetMap::new().with("server", server)
}

struct Tx {
    xid: u32,
    final_lsn: u64,
    commit_us: i64,
}

pub struct ChangeStream {
    config: CdcConfig,
    /// Relation id → the captured table (`None`: not captured).
    relations: HashMap<u32, Option<TableSchema>>,
    tx: Option<Tx>,
    /// Events at or before this position were already delivered (from the committed offset).
    resume_after: Option<Position>,
    /// Commit LSN of the last transaction seen to its end (Debezium's `sequence[0]`).
    last_commit_lsn: Option<u64>,
    heartbeat_key: SchemaRef,
    heartbeat_value: SchemaRef,
}

impl ChangeStream {
    pub fn new(config: CdcConfig, resume_after: Option<Position>) -> ChangeStream {
        ChangeStream {
            config,
            relations: HashMap::new(),
            tx: None,
            resume_after,
            last_commit_lsn: None,
            heartbeat_key: Schema::struct_builder()
                .name("io.debezium.connector.common.ServerNameKey")
                .field("serverName", Schema::string())
                .build_ref(),
            heartbeat_value: Schema::struct_builder()
                .name("io.debezium.connector.common.Heartbeat")
                .field("ts_ms", Schema::int64())
                .build_ref(),
        }
    }

    /// Whether a transaction is open (its changes not all seen yet).
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Handles one pgoutput message that started at WAL position `lsn`; appends the records
    /// it produces to `out`. `now_us` is the processing time (the envelope's `ts_*`).
    pub fn handle(
        &mut self,
        lsn: u64,
        msg: Message,
        catalog: &mut dyn Catalog,
        now_us: i64,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), String> {
        match msg {
            Message::Begin {
                final_lsn,
                commit_ts,
                xid,
            } => {
                self.tx = Some(Tx {
                    xid,
                    final_lsn,
                    commit_us: pgoutput::unix_micros(commit_ts),
                })
            }
            Message::Commit { commit_lsn, .. } => {
                self.tx = None;
                self.last_commit_lsn = Some(commit_lsn);
            }
            Message::Relation(r) => {
                let table = self.table_for(r, catalog)?;
                if let Some((id, t)) = table {
                    self.relations.insert(id, t);
                }
            }
            Message::Insert { relation, new } => {
                let Some((table, tx)) = self.change_context(relation, lsn)? else {
                    return Ok(());
                };
                let after = table.row(&new)?;
                let info = self.info(tx, lsn);
                let offset = self.offset(lsn, "INSERT");
                let table = self.table(relation)?;
                out.push(self.wrap(
                    table.change(Op::Create, None, Some(after), &info, now_us),
                    offset,
                ));
            }
            Message::Update { relation, old, new } => {
                let Some((table, tx)) = self.change_context(relation, lsn)? else {
                    return Ok(());
                };
                let after = table.row(&new)?;
                let before = match &old {
                    Some(o) => Some(table.row(o.columns())?),
                    None => None,
                };
                let info = self.info(tx, lsn);
                let offset = self.offset(lsn, "UPDATE");
                let table = self.table(relation)?;
                let key_changed = matches!(
                    (&old, &before),
                    (Some(OldTuple::Key(_)) | Some(OldTuple::Full(_)), Some(b)) if table.key(b) != table.key(&after)
                );
                if key_changed {
                    // Debezium: a primary key change is a delete of the old key (and its
                    // tombstone) followed by a create of the new one.
                    let before = before.expect("key_changed implies an old row");
                    out.push(self.wrap(
                        table.change(Op::Delete, Some(before.clone()), None, &info, now_us),
                        offset.clone(),
                    ));
                    if self.config.tombstones_on_delete {
                        out.push(self.wrap(table.tombstone(&before), offset.clone()));
                    }
                    out.push(self.wrap(
                        table.change(Op::Create, None, Some(after), &info, now_us),
                        offset,
                    ));
                } else {
                    // With REPLICA IDENTITY DEFAULT the old row is absent: `before` is null,
                    // as in Debezium.
                    let before = match old {
                        Some(OldTuple::Full(_)) => before,
                        _ => None,
                    };
                    out.push(self.wrap(
                        table.change(Op::Update, before, Some(after), &info, now_us),
                        offset,
                    ));
                }
            }
            Message::Delete { relation, old } => {
                let Some((table, tx)) = self.change_context(relation, lsn)? else {
                    return Ok(());
                };
                let before = table.row(old.columns())?;
                let info = self.info(tx, lsn);
                let offset = self.offset(lsn, "DELETE");
                let table = self.table(relation)?;
                out.push(self.wrap(
                    table.change(Op::Delete, Some(before.clone()), None, &info, now_us),
                    offset.clone(),
                ));
                if self.config.tombstones_on_delete {
                    out.push(self.wrap(table.tombstone(&before), offset));
                }
            }
            // Debezium skips truncates by default (`skipped.operations=t`); so does Sluice.
            Message::Truncate { .. } => {}
            Message::Origin { .. } | Message::Type { .. } | Message::LogicalMessage { .. } => {}
        }
        Ok(())
    }

    /// A heartbeat record whose offset lets the slot advance to `wal_end` (only when no
    /// transaction is open: everything before `wal_end` has then been seen).
    pub fn heartbeat(&self, wal_end: u64, now_us: i64) -> Option<SourceRecord> {
        if self.tx.is_some() {
            return None;
        }
        let key = Struct::from_values(
            self.heartbeat_key.clone(),
            vec![Value::from(self.config.topic_prefix.as_str())],
        )
        .ok()?;
        let value = Struct::from_values(
            self.heartbeat_value.clone(),
            vec![Value::Int64(now_us.div_euclid(1000))],
        )
        .ok()?;
        let record = Record::new(self.config.heartbeat_topic())
            .with_key(Some(self.heartbeat_key.clone()), Value::Struct(key))
            .with_value(Some(self.heartbeat_value.clone()), Value::Struct(value));
        let lsn = wal_end as i64;
        let offset = OffsetMap::new()
            .with("lsn_proc", lsn)
            .with("lsn_commit", lsn)
            .with("lsn", lsn)
            .with("ts_usec", now_us);
        Some(SourceRecord::new(
            partition(&self.config.topic_prefix),
            offset,
            record,
        ))
    }

    fn table_for(
        &mut self,
        r: Relation,
        catalog: &mut dyn Catalog,
    ) -> Result<Option<(u32, Option<TableSchema>)>, String> {
        if !self.config.captures(&r.namespace, &r.name) {
            return Ok(Some((r.id, None)));
        }
        let info = catalog.table_info(r.id, &r.namespace, &r.name)?;
        let mut columns = Vec::with_capacity(r.columns.len());
        for c in &r.columns {
            let kind = Kind::of(c.type_oid, c.type_modifier).map_err(|u| {
                format!(
                    "column {}.{}.{} has a type Sluice does not map (type oid {}); exclude the table or change the column's type",
                    r.namespace, r.name, c.name, u.type_oid
                )
            })?;
            let key = if info.primary_key.is_empty() {
                false
            } else {
                info.primary_key.contains(&c.name)
            };
            columns.push(ColumnDef {
                name: c.name.clone(),
                kind,
                optional: !info.not_null.contains(&c.name),
                key,
            });
        }
        // Key fields in table column order, as Debezium lists them.
        let table = TableSchema::new(
            &self.config.topic_prefix,
            &self.config.dbname,
            &r.namespace,
            &r.name,
            columns,
            self.config.modes,
        );
        Ok(Some((r.id, Some(table))))
    }

    /// The captured table and open transaction for a change, or `None` when the change is
    /// to be skipped (table not captured, or delivered before a restart).
    fn change_context(
        &self,
        relation: u32,
        lsn: u64,
    ) -> Result<Option<(&TableSchema, &Tx)>, String> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| format!("a change at LSN {lsn:#x} arrived outside a transaction"))?;
        let table = match self.relations.get(&relation) {
            Some(Some(t)) => t,
            Some(None) => return Ok(None),
            None => {
                return Err(format!(
                    "a change for relation {relation} arrived before its Relation message"
                ))
            }
        };
        if let Some(resume) = self.resume_after {
            let here = Position {
                commit_lsn: tx.final_lsn,
                lsn,
            };
            if here <= resume {
                return Ok(None);
            }
        }
        Ok(Some((table, tx)))
    }

    fn table(&self, relation: u32) -> Result<&TableSchema, String> {
        match self.relations.get(&relation) {
            Some(Some(t)) => Ok(t),
            _ => Err(format!("relation {relation} is not captured")),
        }
    }

    fn info(&self, tx: &Tx, lsn: u64) -> SourceInfo {
        SourceInfo {
            ts_us: tx.commit_us,
            snapshot: SnapshotMarker::False,
            sequence: Some(format!(
                "[{},\"{lsn}\"]",
                self.last_commit_lsn
                    .map_or("null".to_string(), |c| format!("\"{c}\""))
            )),
            tx_id: Some(i64::from(tx.xid)),
            lsn: Some(lsn as i64),
        }
    }

    fn offset(&self, lsn: u64, message_type: &str) -> OffsetMap {
        let tx = self.tx.as_ref();
        let mut o = OffsetMap::new()
            .with("lsn_proc", lsn as i64)
            .with("messageType", message_type);
        if let Some(tx) = tx {
            o = o.with("lsn_commit", tx.final_lsn as i64);
        }
        o = o.with("lsn", lsn as i64);
        if let Some(tx) = tx {
            o = o
                .with("txId", i64::from(tx.xid))
                .with("ts_usec", tx.commit_us);
        }
        o
    }

    fn wrap(&self, record: Record, offset: OffsetMap) -> SourceRecord {
        SourceRecord::new(partition(&self.config.topic_prefix), offset, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::spec;
    use crate::pgoutput::{Column, RelationColumn};
    use crate::types::oid;
    use sluice_plugin_sdk::Config;

    struct FakeCatalog;
    impl Catalog for FakeCatalog {
        fn table_info(&mut self, _: u32, _: &str, table: &str) -> Result<TableInfo, String> {
            Ok(TableInfo {
                not_null: vec!["id".into()],
                primary_key: if table == "nokey" {
                    vec![]
                } else {
                    vec!["id".into()]
                },
            })
        }
    }

    fn config(extra: &[(&str, &str)]) -> CdcConfig {
        let mut pairs = vec![
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "test"),
            ("topic.prefix", "srv"),
            ("table.include.list", "public\\.t"),
        ];
        pairs.extend_from_slice(extra);
        CdcConfig::parse(&Config::from_pairs(&pairs, &spec().config)).unwrap()
    }

    fn relation(id: u32, name: &str) -> Message {
        Message::Relation(Relation {
            id,
            namespace: "public".into(),
            name: name.into(),
            replica_identity: b'd',
            columns: vec![
                RelationColumn {
                    key: true,
                    name: "id".into(),
                    type_oid: oid::INT4,
                    type_modifier: -1,
                },
                RelationColumn {
                    key: false,
                    name: "v".into(),
                    type_oid: oid::TEXT,
                    type_modifier: -1,
                },
            ],
        })
    }

    fn row(id: &str, v: Option<&str>) -> Vec<Column> {
        vec![
            Column::Text(id.into()),
            v.map_or(Column::Null, |v| Column::Text(v.into())),
        ]
    }

    fn begin(final_lsn: u64, xid: u32) -> Message {
        Message::Begin {
            final_lsn,
            commit_ts: 0,
            xid,
        }
    }

    fn commit(commit_lsn: u64) -> Message {
        Message::Commit {
            flags: 0,
            commit_lsn,
            end_lsn: commit_lsn + 8,
            commit_ts: 0,
        }
    }

    fn run(s: &mut ChangeStream, msgs: Vec<(u64, Message)>) -> Vec<SourceRecord> {
        let mut out = Vec::new();
        for (lsn, m) in msgs {
            s.handle(lsn, m, &mut FakeCatalog, 1_000, &mut out).unwrap();
        }
        out
    }

    fn op(r: &SourceRecord) -> Option<String> {
        match &r.record.value {
            Value::Struct(s) => s.get("op").and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        }
    }

    #[test]
    fn insert_update_delete_with_offsets_and_tombstone() {
        let mut s = ChangeStream::new(config(&[]), None);
        let out = run(
            &mut s,
            vec![
                (100, begin(200, 7)),
                (100, relation(1, "t")),
                (
                    110,
                    Message::Insert {
                        relation: 1,
                        new: row("1", Some("a")),
                    },
                ),
                (
                    120,
                    Message::Update {
                        relation: 1,
                        old: None,
                        new: row("1", Some("b")),
                    },
                ),
                (
                    130,
                    Message::Delete {
                        relation: 1,
                        old: OldTuple::Key(row("1", None)),
                    },
                ),
                (200, commit(200)),
            ],
        );
        let ops: Vec<Option<String>> = out.iter().map(op).collect();
        assert_eq!(
            ops,
            [Some("c".into()), Some("u".into()), Some("d".into()), None]
        );
        assert_eq!(out[0].record.topic, "srv.public.t");
        assert_eq!(out[0].source_partition, partition("srv"));
        let o = &out[1].source_offset;
        assert_eq!(o.get_i64("lsn_proc"), Some(120));
        assert_eq!(o.get_i64("lsn_commit"), Some(200));
        assert_eq!(o.get_i64("txId"), Some(7));
        assert_eq!(o.get_str("messageType"), Some("UPDATE"));
        // The tombstone: the deleted key, a null value.
        assert_eq!(out[3].record.value, Value::Null);
        assert_eq!(out[3].record.key, out[2].record.key);
        assert!(!s.in_transaction());
    }

    #[test]
    fn tables_outside_the_include_list_are_skipped() {
        let mut s = ChangeStream::new(config(&[("tombstones.on.delete", "false")]), None);
        let out = run(
            &mut s,
            vec![
                (1, begin(50, 1)),
                (1, relation(2, "other")),
                (
                    2,
                    Message::Insert {
                        relation: 2,
                        new: row("1", None),
                    },
                ),
                (3, relation(1, "t")),
                (
                    4,
                    Message::Delete {
                        relation: 1,
                        old: OldTuple::Key(row("1", None)),
                    },
                ),
                (50, commit(50)),
            ],
        );
        assert_eq!(out.len(), 1, "only the delete, no tombstone");
        assert_eq!(op(&out[0]).as_deref(), Some("d"));
    }

    #[test]
    fn events_up_to_the_committed_position_are_skipped_after_a_restart() {
        let resume = Position::from_offset(
            &OffsetMap::new()
                .with("lsn_proc", 110i64)
                .with("lsn_commit", 200i64),
        );
        let mut s = ChangeStream::new(config(&[]), resume);
        let out = run(
            &mut s,
            vec![
                (100, begin(150, 6)),
                (100, relation(1, "t")),
                (
                    105,
                    Message::Insert {
                        relation: 1,
                        new: row("9", None),
                    },
                ),
                (150, commit(150)),
                (160, begin(200, 7)),
                (
                    110,
                    Message::Insert {
                        relation: 1,
                        new: row("1", None),
                    },
                ),
                (
                    120,
                    Message::Insert {
                        relation: 1,
                        new: row("2", None),
                    },
                ),
                (200, commit(200)),
                (210, begin(300, 8)),
                (
                    220,
                    Message::Insert {
                        relation: 1,
                        new: row("3", None),
                    },
                ),
                (300, commit(300)),
            ],
        );
        let ids: Vec<Value> = out
            .iter()
            .map(|r| match &r.record.key {
                Value::Struct(k) => k.get("id").cloned().unwrap(),
                _ => Value::Null,
            })
            .collect();
        assert_eq!(ids, [Value::Int32(2), Value::Int32(3)]);
    }

    #[test]
    fn primary_key_change_is_delete_tombstone_create() {
        let mut s = ChangeStream::new(config(&[]), None);
        let out = run(
            &mut s,
            vec![
                (1, begin(9, 1)),
                (1, relation(1, "t")),
                (
                    2,
                    Message::Update {
                        relation: 1,
                        old: Some(OldTuple::Key(row("1", None))),
                        new: row("2", Some("x")),
                    },
                ),
                (9, commit(9)),
            ],
        );
        let ops: Vec<Option<String>> = out.iter().map(op).collect();
        assert_eq!(ops, [Some("d".into()), None, Some("c".into())]);
    }

    #[test]
    fn unmapped_types_and_protocol_violations_are_errors() {
        let mut s = ChangeStream::new(config(&[]), None);
        let mut out = Vec::new();
        let e = s
            .handle(
                1,
                Message::Insert {
                    relation: 1,
                    new: vec![],
                },
                &mut FakeCatalog,
                0,
                &mut out,
            )
            .unwrap_err();
        assert!(e.contains("outside a transaction"), "{e}");
        s.handle(1, begin(5, 1), &mut FakeCatalog, 0, &mut out)
            .unwrap();
        let e = s
            .handle(
                1,
                Message::Insert {
                    relation: 1,
                    new: vec![],
                },
                &mut FakeCatalog,
                0,
                &mut out,
            )
            .unwrap_err();
        assert!(e.contains("before its Relation"), "{e}");
        let Message::Relation(mut r) = relation(1, "t") else {
            unreachable!()
        };
        r.columns[1].type_oid = 600; // point
        let e = s
            .handle(1, Message::Relation(r), &mut FakeCatalog, 0, &mut out)
            .unwrap_err();
        assert!(
            e.contains("column public.t.v has a type Sluice does not map (type oid 600)"),
            "{e}"
        );
    }

    #[test]
    fn heartbeats_only_between_transactions() {
        let mut s = ChangeStream::new(config(&[]), None);
        let hb = s.heartbeat(500, 2_000).unwrap();
        assert_eq!(hb.record.topic, "__debezium-heartbeat.srv");
        assert_eq!(
            Position::from_offset(&hb.source_offset),
            Some(Position {
                commit_lsn: 500,
                lsn: 500
            })
        );
        run(&mut s, vec![(1, begin(9, 1))]);
        assert!(s.heartbeat(600, 0).is_none());
    }
}
