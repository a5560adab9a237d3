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
//! small enough to write here. TLS ([`tls`]): PostgreSQL's `sslmode` (default `prefer`, as
//! pgjdbc's) with rustls inside the plugin; for MySQL/MariaDB a URL that demands TLS
//! (`sslMode=REQUIRED`/`VERIFY_*`, `useSSL=true`) is refused with an error saying so.

pub mod mysql;
pub mod pg;
pub mod tls;
mod url;

pub use tls::{SslMode, TlsParams};
pub use url::{redact, Dialect, JdbcUrl};

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting and logging in may take unless the URL says otherwise: PostgreSQL's
/// JDBC driver waits 10 s (`connectTimeout`, seconds), MariaDB Connector/J 30 s
/// (`connectTimeout`, milliseconds).
pub const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MYSQL_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// TLS could not be set up, the server refused it, or its certificate is not trusted.
    #[error("{0}")]
    Tls(String),
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
    /// How long the TCP connect, and then the login, may each take (the URL's
    /// `connectTimeout`); `None`: no limit. A server that accepts the connection and never
    /// answers would otherwise hang the task for good.
    pub connect_timeout: Option<Duration>,
    /// How long a read or write may wait once logged in (the URL's `socketTimeout`); `None`:
    /// as long as the server takes. When it passes, the connection is given up (broken).
    pub socket_timeout: Option<Duration>,
    /// Whether and how to encrypt (PostgreSQL only so far).
    pub tls: TlsParams,
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
            .field("connect_timeout", &self.connect_timeout)
            .field("socket_timeout", &self.socket_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

impl ConnectParams {
    /// Builds parameters from a JDBC URL plus the connector's `connection.user` /
    /// `connection.password` (which win over `user=`/`password=` in the URL, as in Confluent's
    /// connector). PostgreSQL: `sslmode` (default `prefer`; `ssl=true` alone means
    /// `verify-full`, as in pgjdbc) and `sslrootcert`; MySQL: refuses URLs that demand TLS.
    ///
    /// ```
    /// let p = sql_wire::ConnectParams::from_jdbc_url("jdbc:postgresql://127.0.0.1/test", Some("app"), None).unwrap();
    /// assert_eq!((p.port, p.user.as_str()), (5432, "app"));
    /// ```
    pub fn from_jdbc_url(url: &str, user: Option<&str>, password: Option<&str>) -> Result<Self> {
        let u = JdbcUrl::parse(url)?;
        let tls = tls_params(&u, url)?;
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
        // pgjdbc counts these in seconds, the MySQL/MariaDB drivers in milliseconds.
        let (unit_ms, unit, default_connect) = match u.dialect {
            Dialect::Postgres => (1000, "seconds", PG_CONNECT_TIMEOUT),
            Dialect::MySql => (1, "milliseconds", MYSQL_CONNECT_TIMEOUT),
        };
        let timeout = |key: &str, default: Option<Duration>| -> Result<Option<Duration>> {
            match u.property(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(0) => Ok(None),
                    Ok(n) => Ok(Some(Duration::from_millis(n.saturating_mul(unit_ms)))),
                    Err(_) => Err(Error::Url(format!(
                        "invalid connection URL `{}`: {key}={v} is not a whole number of {unit} (0 = no limit)",
                        redact(url)
                    ))),
                },
            }
        };
        let connect_timeout = timeout("connectTimeout", Some(default_connect))?;
        // Both drivers default to no limit.
        let socket_timeout = timeout("socketTimeout", None)?;
        Ok(ConnectParams {
            host: u.host,
            port: u.port,
            database: u.database,
            user,
            password,
            options,
            connect_timeout,
            socket_timeout,
            tls,
        })
    }

    /// Parameters for `host:port`, database and user, with the default PostgreSQL connect
    /// timeout and `sslmode=prefer` (for connectors configured by keys rather than a URL).
    pub fn new(host: &str, port: u16, database: &str, user: &str) -> ConnectParams {
        ConnectParams {
            host: host.to_string(),
            port,
            database: database.to_string(),
            user: user.to_string(),
            password: None,
            options: Vec::new(),
            connect_timeout: Some(PG_CONNECT_TIMEOUT),
            socket_timeout: None,
            tls: TlsParams {
                mode: SslMode::Prefer,
                root_cert: None,
            },
        }
    }

    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Opens the socket within `connect_timeout`; reads and writes then time out after
    /// `connect_timeout` too, until [`ConnectParams::logged_in`] lifts the limit.
    pub(crate) fn connect_tcp(&self, what: &str) -> Result<TcpStream> {
        let context = || format!("cannot connect to {what} at {}", self.address());
        let stream = match self.connect_timeout {
            None => TcpStream::connect((self.host.as_str(), self.port))
                .map_err(|e| Error::io(context(), e))?,
            Some(limit) => {
                let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
                    .to_socket_addrs()
                    .map_err(|e| Error::io(context(), e))?
                    .collect();
                let mut last = io::Error::new(
                    io::ErrorKind::NotFound,
                    "the host name resolved to no address",
                );
                let mut connected = None;
                for addr in addrs {
                    match connect_within(&addr, limit) {
                        Ok(s) => {
                            connected = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                match connected {
                    Some(s) => s,
                    None if last.kind() == io::ErrorKind::TimedOut => {
                        return Err(Error::io(
                            format!(
                                "{} (no answer within {}; the URL's connectTimeout sets the limit)",
                                context(),
                                seconds(limit)
                            ),
                            last,
                        ))
                    }
                    None => return Err(Error::io(context(), last)),
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(self.connect_timeout);
        let _ = stream.set_write_timeout(self.connect_timeout);
        Ok(stream)
    }

    /// After the login: reads and writes wait `socketTimeout`, or as long as the server takes
    /// (a long statement is not an error).
    pub(crate) fn logged_in(&self, stream: &TcpStream) {
        let _ = stream.set_read_timeout(self.socket_timeout);
        let _ = stream.set_write_timeout(self.socket_timeout);
    }

    /// An error of the login phase, with a timeout said as such.
    pub(crate) fn login_error(&self, what: &str, e: Error) -> Error {
        match (&e, self.connect_timeout) {
            (Error::Io { source, .. }, Some(limit))
                if matches!(
                    source.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Error::Io {
                    context: format!(
                        "{what} at {} accepted the connection but did not complete the login within {} (the URL's connectTimeout sets the limit)",
                        self.address(),
                        seconds(limit)
                    ),
                    source: io::Error::new(io::ErrorKind::TimedOut, "login timed out"),
                }
            }
            _ => e,
        }
    }
}

/// A read or write after the login that `socketTimeout` cut short (`None` for any other
/// error): the connection is given up, since the rest of a result may still arrive.
pub(crate) fn socket_timeout_error(
    limit: Option<Duration>,
    what: &str,
    address: &str,
    e: &io::Error,
) -> Option<Error> {
    let limit = limit?;
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut).then(|| Error::Io {
        context: format!(
            "{what} at {address} did not answer within {} (the URL's socketTimeout sets the limit); the connection is closed",
            seconds(limit)
        ),
        source: io::Error::new(io::ErrorKind::TimedOut, "read timed out"),
    })
}

/// `TcpStream::connect_timeout`, or a plain connect where the platform lacks it.
///
/// On `wasm32-wasip2` (the plugins) std's `connect_timeout` reports a refused connection as a
/// success (the first write then fails with "Socket not connected"; seen in
/// `tests/integration/jdbc_bad_input.rs`), so there the connect is a plain blocking one and
/// only the login is bounded.
fn connect_within(addr: &SocketAddr, limit: Duration) -> io::Result<TcpStream> {
    if cfg!(target_os = "wasi") {
        return TcpStream::connect(addr);
    }
    match TcpStream::connect_timeout(addr, limit) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => TcpStream::connect(addr),
        other => other,
    }
}

/// `10 s`, `1.5 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The URL's TLS settings. PostgreSQL: pgjdbc's `sslmode`, `ssl` and `sslrootcert`.
/// MySQL/MariaDB: TLS is not implemented there yet, so a URL that demands it is refused.
fn tls_params(u: &JdbcUrl, url: &str) -> Result<TlsParams> {
    match u.dialect {
        Dialect::Postgres => {
            let mode = match (u.property("sslmode"), u.property("ssl")) {
                (Some(m), _) => SslMode::parse_pg(m).ok_or_else(|| {
                    Error::Url(format!(
                        "invalid connection URL `{}`: sslmode={m} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                        redact(url)
                    ))
                })?,
                // pgjdbc: `ssl=true` without an sslmode verifies fully.
                (None, Some(v)) if v.eq_ignore_ascii_case("true") => SslMode::VerifyFull,
                (None, Some(v)) if v.eq_ignore_ascii_case("false") => SslMode::Disable,
                (None, _) => SslMode::Prefer,
            };
            Ok(TlsParams {
                mode,
                root_cert: u.property("sslrootcert").map(str::to_string),
            })
        }
        Dialect::MySql => {
            let demanded = u
                .property("sslMode")
                .or(u.property("sslmode"))
                .filter(|m| SslMode::parse_mysql(m).is_some_and(SslMode::requires))
                .map(|m| format!("sslMode={m}"))
                .or_else(|| {
                    u.property("useSSL")
                        .or(u.property("useSsl"))
                        .filter(|v| v.eq_ignore_ascii_case("true"))
                        .map(|_| "useSSL=true".into())
                });
            match demanded {
                Some(what) => Err(Error::Unsupported(format!(
                    "the connection URL asks for TLS ({what}), which this plugin does not implement for MySQL/MariaDB yet; \
                     connect over a trusted network or through a local TLS proxy (stunnel) and drop the setting"
                ))),
                None => Ok(TlsParams::disabled()),
            }
        }
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
    fn tls_settings_in_each_drivers_words() {
        let mode = |url: &str| ConnectParams::from_jdbc_url(url, None, None).map(|p| p.tls);
        assert_eq!(
            mode("jdbc:postgresql://h/db").unwrap().mode,
            SslMode::Prefer
        );
        assert_eq!(
            mode("jdbc:postgresql://h/db?ssl=true").unwrap().mode,
            SslMode::VerifyFull
        );
        assert_eq!(
            mode("jdbc:postgresql://h/db?sslmode=verify-ca&sslrootcert=/certs/root.crt").unwrap(),
            TlsParams {
                mode: SslMode::VerifyCa,
                root_cert: Some("/certs/root.crt".into())
            }
        );
        let e = mode("jdbc:postgresql://h/db?sslmode=always").unwrap_err();
        assert!(
            e.to_string()
                .contains("sslmode=always is not one of disable, allow, prefer, require, verify-ca, verify-full"),
            "{e}"
        );
        // Not yet for MySQL/MariaDB: a demand is refused, a preference is not.
        for url in [
            "jdbc:mariadb://h/db?sslMode=verify-full",
            "jdbc:mysql://h/db?useSSL=true",
        ] {
            let e = mode(url).unwrap_err().to_string();
            assert!(e.contains("TLS"), "{url}: {e}");
        }
        assert_eq!(
            mode("jdbc:mysql://h/db?sslMode=PREFERRED").unwrap().mode,
            SslMode::Disable
        );
    }

    #[test]
    fn timeouts_in_each_drivers_unit() {
        let p = |url: &str| ConnectParams::from_jdbc_url(url, None, None);
        let pg = p("jdbc:postgresql://h/db").unwrap();
        assert_eq!(pg.connect_timeout, Some(PG_CONNECT_TIMEOUT));
        let pg = p("jdbc:postgresql://h/db?connectTimeout=3").unwrap();
        assert_eq!(pg.connect_timeout, Some(Duration::from_secs(3)));
        let my = p("jdbc:mariadb://h/db").unwrap();
        assert_eq!(my.connect_timeout, Some(MYSQL_CONNECT_TIMEOUT));
        let my = p("jdbc:mysql://h/db?connectTimeout=1500").unwrap();
        assert_eq!(my.connect_timeout, Some(Duration::from_millis(1500)));
        let my = p("jdbc:mysql://h/db?connectTimeout=0").unwrap();
        assert_eq!(my.connect_timeout, None);
        assert_eq!(my.socket_timeout, None);
        let pg = p("jdbc:postgresql://h/db?socketTimeout=30").unwrap();
        assert_eq!(pg.socket_timeout, Some(Duration::from_secs(30)));
        let my = p("jdbc:mariadb://h/db?socketTimeout=2500").unwrap();
        assert_eq!(my.socket_timeout, Some(Duration::from_millis(2500)));
        let e = p("jdbc:postgresql://h/db?connectTimeout=soon&password=hunter2")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("connectTimeout=soon is not a whole number of seconds"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    /// A server that accepts the connection and never says a word: the login gives up after
    /// `connectTimeout` with a message that says so, instead of hanging.
    #[test]
    fn a_silent_server_fails_the_login_after_connect_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = std::thread::spawn(move || {
            // Keep both accepted sockets open (and silent) until the test is done with them.
            let a = listener.accept();
            let b = listener.accept();
            std::thread::sleep(Duration::from_secs(5));
            drop((a, b));
        });
        let url = format!("jdbc:postgresql://127.0.0.1:{port}/test?connectTimeout=1");
        let e = pg::PgConnection::connect(&ConnectParams::from_jdbc_url(&url, None, None).unwrap())
            .err()
            .expect("a silent server cannot log us in")
            .to_string();
        assert!(
            e.contains(&format!("PostgreSQL at 127.0.0.1:{port} accepted the connection but did not complete the login within 1 s")),
            "{e}"
        );
        let url = format!("jdbc:mariadb://127.0.0.1:{port}/test?connectTimeout=500");
        let e =
            mysql::MyConnection::connect(&ConnectParams::from_jdbc_url(&url, None, None).unwrap())
                .err()
                .expect("a silent server cannot log us in")
                .to_string();
        assert!(e.contains("did not complete the login within 0.5 s"), "{e}");
        held.join().unwrap();
    }
}
