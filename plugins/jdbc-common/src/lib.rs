//! What the JDBC-style source and sink plugins share: the connection keys and opening the
//! connection ([`connection::Connection`]), a database handle over `sql-wire` ([`db::Db`]:
//! PostgreSQL or MySQL/MariaDB chosen by the `jdbc:` URL), table names as Confluent writes
//! them, and the text ↔ Connect conversions of times and decimals.

pub mod connection;
pub mod db;
pub mod decimal;
pub mod time;

pub use connection::Connection;
pub use db::{ColumnMeta, Db, DbType, Rows, TableId};
pub use sql_wire::pg::push_copy_text;
pub use sql_wire::{Dialect, Error as DbError};
pub use time::Zone;

/// A database error in a form fit for a task's FAILED trace: what was being done, and what
/// the server (or the socket) said, with its SQLSTATE. Never contains a password.
pub fn describe(what: &str, e: &sql_wire::Error) -> String {
    format!("{what}: {e}")
}

/// Checks a `connection.url` without connecting (scheme, host, port, no TLS demand).
pub fn db_url_check(url: &str) -> Result<(), String> {
    sql_wire::ConnectParams::from_jdbc_url(url, None, None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `connection.url` with any `password=` property masked, for messages.
pub fn redact_url(url: &str) -> String {
    sql_wire::redact(url)
}
