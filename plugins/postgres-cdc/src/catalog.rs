//! What the connector asks the database's catalog over its ordinary (non-replication)
//! connection: tables to capture, their columns, NOT NULL and primary keys, the publication
//! and the slot.
//!
//! Design decision: the replication connection is busy streaming (CopyBoth) once started, so
//! every catalog question goes over this second connection, as Debezium does with its JDBC
//! connection.

use sql_wire::pg::{quote_ident, quote_literal, PgConnection};

use crate::config::CdcConfig;
use crate::envelope::{ColumnDef, TableSchema};
use crate::stream::{Catalog, TableInfo};
use crate::types::Kind;

/// A table the snapshot reads.
#[derive(Debug, Clone)]
pub struct CapturedTable {
    pub oid: u32,
    pub schema: String,
    pub table: String,
}

/// The catalog connection.
pub struct Meta {
    pub conn: PgConnection,
}

fn db(e: sql_wire::Error) -> String {
    e.to_string()
}

impl Meta {
    /// Rows of a query whose parameters are already quoted in `sql`.
    pub fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let mut results = self.conn.simple_query(sql).map_err(db)?;
        Ok(results.pop().map(|r| r.rows).unwrap_or_default())
    }

    pub fn one(&mut self, sql: &str) -> Result<Option<String>, String> {
        Ok(self
            .rows(sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    /// Ordinary and partitioned tables the config captures, by schema and name.
    pub fn captured_tables(&mut self, config: &CdcConfig) -> Result<Vec<CapturedTable>, String> {
        let rows = self.rows(
            "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
             ORDER BY n.nspname, c.relname",
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                let oid = r.next()??.parse().ok()?;
                let schema = r.next()??;
                let table = r.next()??;
                Some(CapturedTable { oid, schema, table })
            })
            .filter(|t| config.captures(&t.schema, &t.table))
            .collect())
    }

    /// The columns of a table (live, non-system, in order) as the snapshot reads them.
    pub fn table_schema(
        &mut self,
        config: &CdcConfig,
        t: &CapturedTable,
    ) -> Result<TableSchema, String> {
        let rows = self.rows(&format!(
            "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, \
             COALESCE(a.attnum = ANY(i.indkey), false) \
             FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
             WHERE a.attrelid = {} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            t.oid
        ))?;
        let mut columns = Vec::with_capacity(rows.len());
        for r in rows {
            let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let name = cell(0);
            let type_oid: u32 = cell(1).parse().unwrap_or(0);
            let typmod: i32 = cell(2).parse().unwrap_or(-1);
            let kind = Kind::of(type_oid, typmod).map_err(|u| {
                format!(
                    "column {}.{}.{} has a type Sluice does not map (type oid {}); exclude the table or change the column's type",
                    t.schema, t.table, name, u.type_oid
                )
            })?;
            columns.push(ColumnDef {
                optional: cell(3) != "t",
                key: cell(4) == "t",
                name,
                kind,
            });
        }
        Ok(TableSchema::new(
            &config.topic_prefix,
            &config.dbname,
            &t.schema,
            &t.table,
            columns,
            config.modes,
        ))
    }

    /// Creates the publication when missing, as `publication.autocreate.mode` says.
    pub fn ensure_publication(&mut self, config: &CdcConfig) -> Result<(), String> {
        use crate::config::PublicationMode;
        let exists = self
            .one(&format!(
                "SELECT 1 FROM pg_publication WHERE pubname = {}",
                quote_literal(&config.publication_name)
            ))?
            .is_some();
        if exists {
            return Ok(());
        }
        let name = quote_ident(&config.publication_name);
        let sql = match config.publication_mode {
            PublicationMode::Disabled => {
                return Err(format!(
                    "publication {:?} does not exist and publication.autocreate.mode=disabled: create it (CREATE PUBLICATION {name} FOR TABLE …) or set the mode to filtered or all_tables",
                    config.publication_name
                ))
            }
            PublicationMode::AllTables => format!("CREATE PUBLICATION {name} FOR ALL TABLES"),
            PublicationMode::Filtered => {
                let tables = self.captured_tables(config)?;
                if tables.is_empty() {
                    return Err(format!(
                        "no table of database {:?} matches table.include.list/table.exclude.list, so there is nothing to put in publication {:?}",
                        config.dbname, config.publication_name
                    ));
                }
                let list: Vec<String> = tables
                    .iter()
                    .map(|t| format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table)))
                    .collect();
                format!("CREATE PUBLICATION {name} FOR TABLE {}", list.join(", "))
            }
        };
        self.conn.simple_query(&sql).map_err(|e| {
            format!(
                "cannot create publication {:?}: {e}",
                config.publication_name
            )
        })?;
        Ok(())
    }

    /// Whether the slot exists.
    pub fn slot_exists(&mut self, slot: &str) -> Result<bool, String> {
        Ok(self
            .one(&format!(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = {}",
                quote_literal(slot)
            ))?
            .is_some())
    }

    /// Bytes of WAL the slot holds back (`pg_current_wal_lsn() - restart_lsn`).
    pub fn retained_wal(&mut self, slot: &str) -> Result<Option<u64>, String> {
        Ok(self
            .one(&format!(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = {}",
                quote_literal(slot)
            ))?
            .and_then(|v| v.parse().ok()))
    }
}

impl Catalog for Meta {
    fn table_info(
        &mut self,
        relation_oid: u32,
        _schema: &str,
        _table: &str,
    ) -> Result<TableInfo, String> {
        let rows = self.rows(&format!(
            "SELECT a.attname, a.attnotnull, COALESCE(a.attnum = ANY(i.indkey), false) \
             FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
             WHERE a.attrelid = {relation_oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ))?;
        let mut info = TableInfo::default();
        for r in rows {
            let name = r.first().cloned().flatten().unwrap_or_default();
            if r.get(1).cloned().flatten().as_deref() == Some("t") {
                info.not_null.push(name.clone());
            }
            if r.get(2).cloned().flatten().as_deref() == Some("t") {
                info.primary_key.push(name);
            }
        }
        Ok(info)
    }
}
