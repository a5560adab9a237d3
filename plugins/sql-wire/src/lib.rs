//! Small synchronous database clients for Sluice plugins: PostgreSQL ([`pg`]) and
//! MySQL/MariaDB ([`mysql`]), over a plain `std::net::TcpStream`.
//!
//! Design decision: plugins run on `wasm32-wasip2`, where Rust's `std::net` is backed by
//! `wasi:sockets` and the host checks every connect against `wasm.network.allow`. The
//! established async drivers (tokio-postgres, sqlx, mysql_async) need a tokio reactor that
//! does not run there, and the sync `postgres` crate wraps tokio-postgres. So the socket and the
//! request/response loop are ours (a few hundred lines each), and PostgreSQL's message
//! encoding, MD5 and SCRAM-SHA-256 come from the sans-IO `postgres-protocol` crate (the
//! rust-postgres project's own). The MySQL protocol subset (handshake v10,
//! `mysql_native_password`, `caching_sha2_password` fast path, `COM_QUERY` text results) is
//! small enough to write here. TLS is not implemented: a URL that demands it
//! (`sslmode=require`/`verify-*`, `sslMode=REQUIRED`/`VERIFY_*`, `useSSL=true`) is refused with
//! an error saying so, and a server that insists on it fails the login with its own message.

pub mod mysql;
pub mod pg;
mod url;

pub use url::{redact, Dialect, JdbcUrl};

use std::io;

/// Everything that can go wrong talking to a database. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection URL or parameters are malformed.
    #[error("{0}")]
    Url(String),
    /// The TCP connection could not be made or broke.
    #[error("{context}: {source}{hint}", hint = io_hint(source))]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The server reported an error (with its SQLSTATE).
    #[error("{0}")]
    Db(Box<DbError>),
    /// Authentication could not be carried out (an unsupported method, no password given…).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Something this client does not implement (TLS, GSSAPI, LOCAL INFILE…).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The server sent something this client did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Error {
        Error::Db(Box::new(e))
    }
}

fn io_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::PermissionDenied {
        " (is the database's host:port listed in wasm.network.allow?)"
    } else {
        ""
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The SQLSTATE of a server error (`23505`, `42P01`, `28P01`…), if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Db(e) => Some(&e.code),
            _ => None,
        }
    }

    /// True for errors that a retry may cure (network trouble, server shutdown, deadlock,
    /// serialization failure, too many connections).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io { .. } => true,
            Error::Db(e) => {
                e.code.starts_with("08")
                    || e.code.starts_with("57P")
                    || e.code == "40001"
                    || e.code == "40P01"
                    || e.code == "53300"
                    || e.code == "HY000" && e.vendor_code == Some(1213)
            }
            _ => false,
        }
    }

    /// True for integrity-constraint violations (SQLSTATE class 23) and data errors (22):
    /// problems of one record, not of the connection.
    pub fn is_data_error(&self) -> bool {
        // MySQL reports some bad values with the generic HY000: incorrect value (1366),
        // no default for a NOT NULL field (1364), truncated (1265), bad date/time (1292).
        matches!(self, Error::Db(e) if e.code.starts_with("23")
            || e.code.starts_with("22")
            || matches!(e.vendor_code, Some(1364 | 1366 | 1265 | 1292)))
    }
}

/// An error reported by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbError {
    /// `ERROR`, `FATAL`, … (PostgreSQL); `ERROR` for MySQL.
    pub severity: String,
    /// SQLSTATE.
    pub code: String,
    /// MySQL's numeric error code (1062 duplicate key, 1146 no such table, …).
    pub vendor_code: Option<u16>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(v) = self.vendor_code {
            write!(f, " ({v})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(d) = &self.detail {
            write!(f, "; DETAIL: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; HINT: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Credentials and address for a connection.
#[derive(Clone)]
pub struct ConnectParams {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Never printed by `Debug`.
    pub password: Option<String>,
    /// Extra startup parameters (PostgreSQL: e.g. `replication=database`,
    /// `application_name=…`; ignored by MySQL).
    pub options: Vec<(String, String)>,
}

impl std::fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .field("options", &self.options)
            .finish()
    }
}

impl ConnectParams {
    /// Builds parameters from a JDBC URL plus the connector's `connection.user` /
    /// `connection.password` (which win over `user=`/`password=` in the URL, as in Confluent's
    /// connector). Refuses URLs that demand TLS.
    ///
    /// ```
    /// let p = sql_wire::ConnectParams::from_jdbc_url("jdbc:postgresql://127.0.0.1/test", Some("app"), None).unwrap();
    /// assert_eq!((p.port, p.user.as_str()), (5432, "app"));
    /// ```
    pub fn from_jdbc_url(url: &str, user: Option<&str>, password: Option<&str>) -> Result<Self> {
        let u = JdbcUrl::parse(url)?;
        check_no_tls(&u)?;
        let user = user
            .filter(|s| !s.is_empty())
            .or(u.property("user"))
            .unwrap_or(match u.dialect {
                Dialect::Postgres => "postgres",
                Dialect::MySql => "root",
            })
            .to_string();
        let password = password
            .filter(|s| !s.is_empty())
            .or(u.property("password"))
            .map(str::to_string);
        let mut options = Vec::new();
        if let Some(app) = u.property("ApplicationName") {
            options.push(("application_name".to_string(), app.to_string()));
        }
        if let Some(schema) = u.property("currentSchema") {
            options.push(("search_path".to_string(), schema.to_string()));
        }
        Ok(ConnectParams {
            host: u.host,
            port: u.port,
            database: u.database,
            user,
            password,
            options,
        })
    }

    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(crate) fn connect_tcp(&self, what: &str) -> Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::connect((self.host.as_str(), self.port))
            .map_err(|e| Error::io(format!("cannot connect to {what} at {}", self.address()), e))?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

fn check_no_tls(u: &JdbcUrl) -> Result<()> {
    let demanded = match u.dialect {
        Dialect::Postgres => u
            .property("sslmode")
            .filter(|m| matches!(*m, "require" | "verify-ca" | "verify-full"))
            .map(|m| format!("sslmode={m}"))
            .or_else(|| {
                u.property("ssl")
                    .filter(|v| *v == "true")
                    .map(|_| "ssl=true".into())
            }),
        Dialect::MySql => u
            .property("sslMode")
            .or(u.property("sslmode"))
            .filter(|m| {
                let m = m.to_ascii_uppercase().replace('-', "_");
                matches!(
                    m.as_str(),
                    "REQUIRED" | "VERIFY_CA" | "VERIFY_IDENTITY" | "VERIFY_FULL" | "TRUST"
                )
            })
            .map(|m| format!("sslMode={m}"))
            .or_else(|| {
                u.property("useSSL")
                    .or(u.property("useSsl"))
                    .filter(|v| v.eq_ignore_ascii_case("true"))
                    .map(|_| "useSSL=true".into())
            }),
    };
    match demanded {
        Some(what) => Err(Error::Unsupported(format!(
            "the connection URL asks for TLS ({what}), which this plugin does not implement yet; \
             connect over a trusted network or through a local TLS proxy (stunnel, pgbouncer) and drop the setting"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_from_url_and_overrides() {
        let p = ConnectParams::from_jdbc_url(
            "jdbc:mysql://db:3307/shop?user=u&password=secret",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            (p.user.as_str(), p.password.as_deref()),
            ("u", Some("secret"))
        );
        assert!(!format!("{p:?}").contains("secret"));
        let p = ConnectParams::from_jdbc_url("jdbc:mysql://db/shop?user=u", Some("v"), Some("w"))
            .unwrap();
        assert_eq!((p.user.as_str(), p.password.as_deref()), ("v", Some("w")));
    }

    #[test]
    fn tls_demands_are_refused_clearly() {
        for url in [
            "jdbc:postgresql://h/db?sslmode=require",
            "jdbc:mariadb://h/db?sslMode=verify-full",
            "jdbc:mysql://h/db?useSSL=true",
        ] {
            let e = ConnectParams::from_jdbc_url(url, None, None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("TLS"), "{url}: {e}");
        }
        assert!(
            ConnectParams::from_jdbc_url("jdbc:postgresql://h/db?sslmode=prefer", None, None)
                .is_ok()
        );
    }
}
