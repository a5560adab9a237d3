//! One handle over either database: statements as text (literals quoted by the dialect),
//! results as text bytes plus column metadata, table discovery and quoting.
//!
//! Everything goes through the text protocols (PostgreSQL simple query, MySQL `COM_QUERY`):
//! the values the connectors send are numbers, timestamps they format themselves, or strings
//! and bytes quoted by [`Db::quote_string`] / [`Db::quote_bytes`], so no user text is ever
//! spliced into SQL unquoted.

use std::collections::HashMap;

use sql_wire::mysql::{self, MyConnection};
use sql_wire::pg::{self, PgConnection};
use sql_wire::{ConnectParams, Dialect, Error};

use crate::time::Zone;

pub use sql_wire::mysql::types as my_types;
pub use sql_wire::pg::oid as pg_oid;

/// A table: `catalog` is the database, `schema` PostgreSQL's schema (none on MySQL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub name: String,
}

impl TableId {
    /// The unquoted fully qualified name, as Confluent writes it into source partitions
    /// (`test.public.users` on PostgreSQL, `test.users` on MySQL).
    pub fn fqn(&self) -> String {
        [
            self.catalog.as_deref(),
            self.schema.as_deref(),
            Some(self.name.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(".")
    }

    /// Whether a name from `table.whitelist` & co. means this table: the bare name,
    /// `schema.name` or the full name.
    pub fn matches(&self, pattern: &str) -> bool {
        let p = pattern.trim().trim_matches('"').trim_matches('`');
        p == self.name
            || self
                .schema
                .as_ref()
                .is_some_and(|s| p == format!("{s}.{}", self.name))
            || self
                .catalog
                .as_ref()
                .is_some_and(|c| p == format!("{c}.{}", self.name))
            || p == self.fqn()
    }
}

/// Column type information as the server described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbType {
    Pg {
        oid: u32,
        typmod: i32,
    },
    My {
        column_type: u8,
        flags: u16,
        charset: u16,
        decimals: u8,
        length: u32,
    },
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    pub ty: DbType,
    /// Whether NULL is possible (true when the server cannot tell, e.g. computed columns).
    pub nullable: bool,
    /// The SQL type's name, for messages (`integer`, `numeric(10,2)`, `int(11) unsigned`).
    pub type_name: String,
}

/// Rows as text bytes (`None` is NULL), with their columns.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub columns: Vec<ColumnMeta>,
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
    pub affected: u64,
}

enum Conn {
    Pg(PgConnection),
    My(MyConnection),
}

/// A connection to PostgreSQL or MySQL/MariaDB.
pub struct Db {
    conn: Conn,
    pub dialect: Dialect,
    /// The database the URL names.
    pub database: String,
    /// `db.timezone`: the zone of values that carry none, and of the session.
    pub tz: Zone,
    /// PostgreSQL: `(table oid, attnum)` → NOT NULL, filled on demand.
    pg_not_null: HashMap<(u32, i16), bool>,
}

impl Db {
    /// Connects with a JDBC URL; `user`/`password` and `sslrootcert` (a file of trusted root
    /// certificates) override the URL's. Values without a zone are read and written in `tz`
    /// (the session time zone is set to it).
    pub fn connect(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        sslrootcert: Option<&str>,
        tz: Zone,
    ) -> Result<Db, Error> {
        let mut params = ConnectParams::from_jdbc_url(url, user, password)?;
        if let Some(path) = sslrootcert {
            params.tls.root_cert = Some(path.to_string());
        }
        let dialect = sql_wire::JdbcUrl::parse(url)?.dialect;
        let database = params.database.clone();
        let conn = match dialect {
            Dialect::Postgres => {
                params.options.push(("TimeZone".into(), tz.pg_session()));
                params
                    .options
                    .push(("standard_conforming_strings".into(), "on".into()));
                Conn::Pg(PgConnection::connect(&params)?)
            }
            Dialect::MySql => {
                let mut c = MyConnection::connect(&params)?;
                if let Some(zone) = tz.mysql_session() {
                    c.query(&format!("SET time_zone = '{zone}'"))
                        .map_err(|e| match (&e, tz) {
                            // 1298: unknown or incorrect time zone.
                            (Error::Db(d), Zone::Named(_)) if d.vendor_code == Some(1298) => {
                                Error::Url(format!(
                                    "db.timezone={zone}: the MySQL/MariaDB server does not know named zones until its time zone tables are loaded (mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql mysql); or use a fixed offset such as +01:00"
                                ))
                            }
                            _ => e,
                        })?;
                }
                Conn::My(c)
            }
        };
        Ok(Db {
            conn,
            dialect,
            database,
            tz,
            pg_not_null: HashMap::new(),
        })
    }

    /// Whether the connection broke (reconnect).
    pub fn is_broken(&self) -> bool {
        match &self.conn {
            Conn::Pg(c) => c.is_broken(),
            Conn::My(c) => c.is_broken(),
        }
    }

    /// Runs one statement and returns its rows.
    pub fn query(&mut self, sql: &str) -> Result<Rows, Error> {
        match &mut self.conn {
            Conn::Pg(c) => {
                let mut results = c.simple_query(sql)?;
                let r = results.pop().unwrap_or_default();
                let affected = r.affected();
                let columns = r
                    .columns
                    .iter()
                    .map(|col| ColumnMeta {
                        name: col.name.clone(),
                        ty: DbType::Pg {
                            oid: col.type_oid,
                            typmod: col.type_modifier,
                        },
                        nullable: true,
                        type_name: pg_type_name(col.type_oid, col.type_modifier),
                    })
                    .collect();
                let rows = r
                    .rows
                    .into_iter()
                    .map(|row| row.into_iter().map(|v| v.map(String::into_bytes)).collect())
                    .collect();
                Ok(Rows {
                    columns,
                    rows,
                    affected,
                })
            }
            Conn::My(c) => {
                let r = c.query(sql)?;
                let columns = r
                    .columns
                    .iter()
                    .map(|col| ColumnMeta {
                        name: col.name.clone(),
                        ty: DbType::My {
                            column_type: col.column_type,
                            flags: col.flags,
                            charset: col.charset,
                            decimals: col.decimals,
                            length: col.length,
                        },
                        nullable: col.is_nullable(),
                        type_name: my_type_name(col),
                    })
                    .collect();
                Ok(Rows {
                    columns,
                    rows: r.rows,
                    affected: r.affected_rows,
                })
            }
        }
    }

    /// PostgreSQL only: runs `sql`, a `COPY … FROM STDIN`, with `data` in COPY's text format
    /// (see [`sql_wire::pg::PgConnection::copy_in`]); returns the rows copied.
    pub fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<u64, Error> {
        match &mut self.conn {
            Conn::Pg(c) => c.copy_in(sql, data),
            Conn::My(_) => Err(Error::Unsupported("COPY on MySQL/MariaDB".into())),
        }
    }

    /// Runs a statement; returns the rows affected.
    pub fn execute(&mut self, sql: &str) -> Result<u64, Error> {
        Ok(self.query(sql)?.affected)
    }

    /// The columns `sql` returns (it runs with no rows: `SELECT * FROM (sql) WHERE 1=0`
    /// style), with nullability looked up in the catalog on PostgreSQL.
    pub fn describe(&mut self, select: &str) -> Result<Vec<ColumnMeta>, Error> {
        let sql = format!("SELECT * FROM ({select}) sluice_describe WHERE 1 = 0");
        match &mut self.conn {
            Conn::Pg(c) => {
                let r = c.simple_query(&sql)?.pop().unwrap_or_default();
                let mut out = Vec::with_capacity(r.columns.len());
                for col in &r.columns {
                    let nullable = if col.table_oid == 0 {
                        true
                    } else {
                        !self.pg_column_not_null(col.table_oid, col.column_id)?
                    };
                    out.push(ColumnMeta {
                        name: col.name.clone(),
                        ty: DbType::Pg {
                            oid: col.type_oid,
                            typmod: col.type_modifier,
                        },
                        nullable,
                        type_name: pg_type_name(col.type_oid, col.type_modifier),
                    });
                }
                Ok(out)
            }
            Conn::My(_) => Ok(self.query(&sql)?.columns),
        }
    }

    fn pg_column_not_null(&mut self, table_oid: u32, attnum: i16) -> Result<bool, Error> {
        if let Some(v) = self.pg_not_null.get(&(table_oid, attnum)) {
            return Ok(*v);
        }
        let Conn::Pg(c) = &mut self.conn else {
            return Ok(false);
        };
        let r = c.simple_query(&format!(
            "SELECT attnum, attnotnull FROM pg_catalog.pg_attribute WHERE attrelid = {table_oid} AND attnum > 0"
        ))?;
        for row in r.into_iter().flat_map(|r| r.rows) {
            if let (Some(Some(n)), Some(Some(nn))) = (row.first(), row.get(1)) {
                if let Ok(n) = n.parse::<i16>() {
                    self.pg_not_null.insert((table_oid, n), nn == "t");
                }
            }
        }
        Ok(self
            .pg_not_null
            .get(&(table_oid, attnum))
            .copied()
            .unwrap_or(false))
    }

    /// The base tables of the URL's database (every schema but the system ones on PostgreSQL).
    pub fn list_tables(&mut self) -> Result<Vec<TableId>, Error> {
        let sql = match self.dialect {
            Dialect::Postgres => "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY 1, 2",
            Dialect::MySql => "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 2",
        };
        let rows = self.query(sql)?;
        let text = |v: &Option<Vec<u8>>| {
            String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned()
        };
        Ok(rows
            .rows
            .iter()
            .map(|r| match self.dialect {
                Dialect::Postgres => TableId {
                    catalog: Some(self.database.clone()),
                    schema: Some(text(&r[0])),
                    name: text(&r[1]),
                },
                Dialect::MySql => TableId {
                    catalog: Some(text(&r[0])),
                    schema: None,
                    name: text(&r[1]),
                },
            })
            .collect())
    }

    /// The server's clock, in nanoseconds since the epoch (microsecond precision).
    pub fn now_nanos(&mut self) -> Result<i128, Error> {
        let sql = match self.dialect {
            Dialect::Postgres => "SELECT (extract(epoch from clock_timestamp()) * 1000000)::int8",
            Dialect::MySql => "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)",
        };
        let rows = self.query(sql)?;
        let micros = rows
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<i128>().ok())
            .ok_or_else(|| Error::Protocol("the server's clock query returned no number".into()))?;
        Ok(micros * 1000)
    }

    /// A quoted identifier.
    pub fn quote_ident(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Postgres => pg::quote_ident(name),
            Dialect::MySql => mysql::quote_ident(name),
        }
    }

    /// A quoted table name (`"public"."users"`, `` `users` ``).
    pub fn quote_table(&self, t: &TableId) -> String {
        match (&t.schema, self.dialect) {
            (Some(s), Dialect::Postgres) => {
                format!("{}.{}", self.quote_ident(s), self.quote_ident(&t.name))
            }
            _ => self.quote_ident(&t.name),
        }
    }

    /// A string literal.
    pub fn quote_string(&self, s: &str) -> String {
        match self.dialect {
            Dialect::Postgres => pg::quote_literal(s),
            Dialect::MySql => mysql::quote_string(s),
        }
    }

    /// A binary literal.
    pub fn quote_bytes(&self, b: &[u8]) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let mut s = String::with_capacity(b.len() * 2 + 12);
                s.push_str("'\\x");
                for x in b {
                    s.push_str(&format!("{x:02x}"));
                }
                s.push_str("'::bytea");
                s
            }
            Dialect::MySql => mysql::quote_bytes(b),
        }
    }

    /// Closes politely.
    pub fn close(self) {
        match self.conn {
            Conn::Pg(c) => c.close(),
            Conn::My(c) => c.close(),
        }
    }
}

/// A PostgreSQL type's name from its OID (the common ones; others by number).
pub fn pg_type_name(oid: u32, typmod: i32) -> String {
    use sql_wire::pg::oid::*;
    let base = match oid {
        BOOL => "boolean",
        BYTEA => "bytea",
        CHAR => "\"char\"",
        NAME => "name",
        INT8 => "bigint",
        INT2 => "smallint",
        INT4 => "integer",
        TEXT => "text",
        OID => "oid",
        JSON => "json",
        XML => "xml",
        FLOAT4 => "real",
        FLOAT8 => "double precision",
        MONEY => "money",
        BPCHAR => "character",
        VARCHAR => "character varying",
        DATE => "date",
        TIME => "time without time zone",
        TIMESTAMP => "timestamp without time zone",
        TIMESTAMPTZ => "timestamp with time zone",
        INTERVAL => "interval",
        TIMETZ => "time with time zone",
        NUMERIC => {
            return if typmod >= 4 {
                let m = typmod - 4;
                format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
            } else {
                "numeric".into()
            }
        }
        UUID => "uuid",
        JSONB => "jsonb",
        _ => return format!("type oid {oid}"),
    };
    base.to_string()
}

fn my_type_name(c: &mysql::Column) -> String {
    use sql_wire::mysql::types::*;
    let base = match c.column_type {
        DECIMAL | NEWDECIMAL => "decimal",
        TINY => "tinyint",
        SHORT => "smallint",
        LONG => "int",
        FLOAT => "float",
        DOUBLE => "double",
        NULL => "null",
        TIMESTAMP => "timestamp",
        LONGLONG => "bigint",
        INT24 => "mediumint",
        DATE => "date",
        TIME => "time",
        DATETIME => "datetime",
        YEAR => "year",
        VARCHAR | VAR_STRING => {
            if c.is_binary() {
                "varbinary"
            } else {
                "varchar"
            }
        }
        STRING => {
            if c.is_binary() {
                "binary"
            } else {
                "char"
            }
        }
        BIT => "bit",
        JSON => "json",
        ENUM => "enum",
        SET => "set",
        TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB => {
            if c.is_binary() {
                "blob"
            } else {
                "text"
            }
        }
        GEOMETRY => "geometry",
        other => return format!("type code {other}"),
    };
    if c.is_unsigned() {
        format!("{base} unsigned")
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        let t = TableId {
            catalog: Some("test".into()),
            schema: Some("public".into()),
            name: "users".into(),
        };
        assert_eq!(t.fqn(), "test.public.users");
        assert!(t.matches("users") && t.matches("public.users") && t.matches("test.public.users"));
        assert!(!t.matches("other.users"));
        let m = TableId {
            catalog: Some("test".into()),
            schema: None,
            name: "users".into(),
        };
        assert_eq!(m.fqn(), "test.users");
        assert!(m.matches("test.users"));
    }
}
