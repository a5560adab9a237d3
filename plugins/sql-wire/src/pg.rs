//! PostgreSQL frontend/backend protocol v3 over a blocking `TcpStream`, in TLS when `sslmode`
//! asks for it and the server accepts (`SSLRequest`, then the handshake, then the startup).
//!
//! [`PgConnection`] does startup and authentication (trust, cleartext, MD5, SCRAM-SHA-256),
//! the simple query protocol ([`PgConnection::simple_query`]), the extended protocol with text
//! parameters ([`PgConnection::query`]) and exposes the raw message stream
//! ([`PgConnection::send`], [`PgConnection::read_raw`]) for protocols layered on top, such as
//! logical replication (`replication=database` startup option, `START_REPLICATION`,
//! `CopyBoth`). All results are in text format; the column type OIDs tell how to read them.
//! Message encoding, MD5 and SCRAM come from `postgres-protocol`.
//!
//! ```no_run
//! use sql_wire::{pg::PgConnection, ConnectParams};
//! let params = ConnectParams::from_jdbc_url("jdbc:postgresql://127.0.0.1:5432/test", Some("postgres"), None)?;
//! let mut conn = PgConnection::connect(&params)?;
//! let rows = conn.query("SELECT id, name FROM t WHERE id > $1", &[Some("10")])?;
//! for row in &rows.rows {
//!     println!("{:?} {:?}", row[0], row[1]);
//! }
//! # Ok::<(), sql_wire::Error>(())
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::{Buf, Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::{backend, frontend};
use postgres_protocol::IsNull;

pub use postgres_protocol::message::backend::Message;
pub use postgres_protocol::message::frontend as messages;
pub use postgres_protocol::Oid;

use crate::tls::Stream;
use crate::{socket_timeout_error, ConnectParams, DbError, Error, Result};

/// Well-known type OIDs (`pg_type.oid`) for mapping results.
pub mod oid {
    use super::Oid;
    pub const BOOL: Oid = 16;
    pub const BYTEA: Oid = 17;
    pub const CHAR: Oid = 18;
    pub const NAME: Oid = 19;
    pub const INT8: Oid = 20;
    pub const INT2: Oid = 21;
    pub const INT4: Oid = 23;
    pub const TEXT: Oid = 25;
    pub const OID: Oid = 26;
    pub const JSON: Oid = 114;
    pub const XML: Oid = 142;
    pub const FLOAT4: Oid = 700;
    pub const FLOAT8: Oid = 701;
    pub const MONEY: Oid = 790;
    pub const BPCHAR: Oid = 1042;
    pub const VARCHAR: Oid = 1043;
    pub const DATE: Oid = 1082;
    pub const TIME: Oid = 1083;
    pub const TIMESTAMP: Oid = 1114;
    pub const TIMESTAMPTZ: Oid = 1184;
    pub const INTERVAL: Oid = 1186;
    pub const TIMETZ: Oid = 1266;
    pub const NUMERIC: Oid = 1700;
    pub const UUID: Oid = 2950;
    pub const JSONB: Oid = 3802;
}

/// A column of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: Oid,
    /// `atttypmod`: for `numeric(p,s)` `((p << 16) | s) + 4`, for `varchar(n)` `n + 4`; -1 if none.
    pub type_modifier: i32,
    /// The table the column comes from (0 if computed).
    pub table_oid: Oid,
    /// The column's `attnum` in that table (0 if computed).
    pub column_id: i16,
}

impl Column {
    /// `numeric(p, s)`'s precision and scale, if the column declares them.
    pub fn numeric_precision_scale(&self) -> Option<(i32, i32)> {
        (self.type_oid == oid::NUMERIC && self.type_modifier >= 4).then(|| {
            let m = self.type_modifier - 4;
            ((m >> 16) & 0xffff, m & 0xffff)
        })
    }
}

/// The rows (text format) and command tag of one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    /// One `Vec` per row, one entry per column: `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// `INSERT 0 3`, `SELECT 10`, …
    pub tag: String,
}

impl QueryResult {
    /// The number of rows the command affected or returned (from the tag's last word).
    pub fn affected(&self) -> u64 {
        self.tag
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Index of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// One raw backend message: its tag byte and its body (without the length).
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub tag: u8,
    pub body: Bytes,
}

impl RawMessage {
    /// Decodes it with `postgres-protocol` (fails on tags it does not know, such as
    /// `CopyBothResponse` `W`; read those from `body`).
    pub fn parse(&self) -> std::io::Result<Message> {
        let mut buf = BytesMut::with_capacity(self.body.len() + 5);
        buf.extend_from_slice(&[self.tag]);
        buf.extend_from_slice(&((self.body.len() + 4) as u32).to_be_bytes());
        buf.extend_from_slice(&self.body);
        Message::parse(&mut buf)?.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "incomplete message")
        })
    }
}

/// Transaction status from the last `ReadyForQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Idle,
    InTransaction,
    Failed,
}

/// A connection to a PostgreSQL server.
pub struct PgConnection {
    stream: Stream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    address: String,
    server_params: Vec<(String, String)>,
    backend_key: Option<(i32, i32)>,
    tx_status: TxStatus,
    broken: bool,
    /// `socketTimeout`, in force once logged in.
    socket_timeout: Option<std::time::Duration>,
}

impl PgConnection {
    /// Connects and authenticates. `params.options` are sent as startup parameters (after
    /// `user`, `database`, `client_encoding=UTF8`, `DateStyle=ISO`, `TimeZone=UTC`,
    /// `extra_float_digits=3`), so `("replication", "database")` opens a replication connection.
    pub fn connect(params: &ConnectParams) -> Result<PgConnection> {
        let tcp = params.connect_tcp("PostgreSQL")?;
        let stream = negotiate_tls(tcp, params).map_err(|e| params.login_error("PostgreSQL", e))?;
        let mut conn = PgConnection {
            stream,
            read_buf: BytesMut::with_capacity(16 * 1024),
            write_buf: BytesMut::with_capacity(4 * 1024),
            address: params.address(),
            server_params: Vec::new(),
            backend_key: None,
            tx_status: TxStatus::Idle,
            broken: false,
            socket_timeout: None,
        };
        conn.startup(params)
            .map_err(|e| params.login_error("PostgreSQL", e))?;
        params.logged_in(conn.stream.tcp());
        conn.socket_timeout = params.socket_timeout;
        Ok(conn)
    }

    fn startup(&mut self, params: &ConnectParams) -> Result<()> {
        let mut startup: Vec<(&str, &str)> = vec![
            ("user", params.user.as_str()),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("TimeZone", "UTC"),
            ("extra_float_digits", "3"),
            ("application_name", "sluice"),
        ];
        if !params.database.is_empty() {
            startup.push(("database", params.database.as_str()));
        }
        for (k, v) in &params.options {
            startup.retain(|(sk, _)| sk != k);
            startup.push((k.as_str(), v.as_str()));
        }
        frontend::startup_message(startup.iter().copied(), &mut self.write_buf)
            .map_err(|e| Error::Protocol(format!("startup message: {e}")))?;
        self.flush()?;
        let password = || {
            params.password.as_deref().ok_or_else(|| {
                Error::Auth(format!(
                    "the server asks user `{}` for a password, but none is configured (connection.password)",
                    params.user
                ))
            })
        };
        let mut scram: Option<sasl::ScramSha256> = None;
        loop {
            match self.read_message()? {
                Message::AuthenticationOk => break,
                Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password()?.as_bytes(), &mut self.write_buf)
                        .map_err(|e| Error::Protocol(e.to_string()))?;
                    self.flush()?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash =
                        md5_hash(params.user.as_bytes(), password()?.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.write_buf)
                        .map_err(|e| Error::Protocol(e.to_string()))?;
                    self.flush()?;
                }
                Message::AuthenticationSasl(body) => {
                    let mechanisms: Vec<String> = body
                        .mechanisms()
                        .map(|m| Ok(m.to_string()))
                        .collect()
                        .map_err(|e| Error::Protocol(format!("SASL mechanisms: {e}")))?;
                    if !mechanisms.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                        return Err(Error::Unsupported(format!(
                            "SASL mechanisms {mechanisms:?} (only SCRAM-SHA-256 is implemented; SCRAM-SHA-256-PLUS needs TLS)"
                        )));
                    }
                    let s = sasl::ScramSha256::new(
                        password()?.as_bytes(),
                        sasl::ChannelBinding::unsupported(),
                    );
                    frontend::sasl_initial_response(
                        sasl::SCRAM_SHA_256,
                        s.message(),
                        &mut self.write_buf,
                    )
                    .map_err(|e| Error::Protocol(e.to_string()))?;
                    self.flush()?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let s = scram.as_mut().ok_or_else(|| {
                        Error::Protocol("SASL continue without SASL start".into())
                    })?;
                    s.update(body.data())
                        .map_err(|e| Error::Auth(format!("SCRAM-SHA-256: {e}")))?;
                    frontend::sasl_response(s.message(), &mut self.write_buf)
                        .map_err(|e| Error::Protocol(e.to_string()))?;
                    self.flush()?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let s = scram.as_mut().ok_or_else(|| {
                        Error::Protocol("SASL final without SASL start".into())
                    })?;
                    s.finish(body.data()).map_err(|e| {
                        Error::Auth(format!("SCRAM-SHA-256 server signature: {e}"))
                    })?;
                }
                Message::AuthenticationGss
                | Message::AuthenticationSspi
                | Message::AuthenticationKerberosV5
                | Message::AuthenticationGssContinue(_)
                | Message::AuthenticationScmCredential => {
                    return Err(Error::Unsupported(
                        "the server asks for GSSAPI/SSPI/Kerberos authentication; use password, md5 or scram-sha-256 in pg_hba.conf"
                            .into(),
                    ))
                }
                Message::ErrorResponse(body) => return Err(Error::from(db_error(&body))),
                Message::NoticeResponse(_) => {}
                other => return Err(unexpected("authentication", &other)),
            }
        }
        loop {
            match self.read_message()? {
                Message::ParameterStatus(body) => {
                    let name = body.name().map_err(proto)?.to_string();
                    let value = body.value().map_err(proto)?.to_string();
                    self.server_params.push((name, value));
                }
                Message::BackendKeyData(body) => {
                    self.backend_key = Some((body.process_id(), body.secret_key()))
                }
                Message::ReadyForQuery(body) => {
                    self.tx_status = tx_status(body.status());
                    return Ok(());
                }
                Message::ErrorResponse(body) => return Err(Error::from(db_error(&body))),
                Message::NoticeResponse(_) => {}
                other => return Err(unexpected("startup", &other)),
            }
        }
    }

    /// Runs one or more `;`-separated statements with the simple query protocol and returns
    /// one result per statement. On an error the server skips the remaining statements; the
    /// error (with its SQLSTATE) is returned once the connection is ready again.
    pub fn simple_query(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        frontend::query(sql, &mut self.write_buf).map_err(|e| Error::Protocol(e.to_string()))?;
        self.flush()?;
        let mut results = Vec::new();
        let mut current = QueryResult::default();
        let mut error = None;
        loop {
            match self.read_message()? {
                Message::RowDescription(body) => current.columns = columns(&body)?,
                Message::DataRow(body) => current.rows.push(row(&body)?),
                Message::CommandComplete(body) => {
                    current.tag = body.tag().map_err(proto)?.to_string();
                    results.push(std::mem::take(&mut current));
                }
                Message::EmptyQueryResponse => results.push(std::mem::take(&mut current)),
                Message::ErrorResponse(body) => error = Some(db_error(&body)),
                Message::ReadyForQuery(body) => {
                    self.tx_status = tx_status(body.status());
                    return match error {
                        Some(e) => Err(Error::from(e)),
                        None => Ok(results),
                    };
                }
                Message::NoticeResponse(_)
                | Message::ParameterStatus(_)
                | Message::NotificationResponse(_) => {}
                Message::CopyInResponse(_) | Message::CopyOutResponse(_) => {
                    self.broken = true;
                    return Err(Error::Unsupported("COPY through simple_query".into()));
                }
                other => return Err(unexpected("simple query", &other)),
            }
        }
    }

    /// Runs `sql`, a `COPY … FROM STDIN`, feeding it `data` (in the COPY's format: for the
    /// default text format one line per row, tab-separated, `\N` for NULL, backslash escapes);
    /// returns the number of rows copied.
    ///
    /// The statement, the data and `CopyDone` go out in one write instead of waiting for
    /// `CopyInResponse` first: a COPY the server rejects before reading data (no such table, a
    /// syntax error) leaves it outside copy mode, where the protocol has it ignore
    /// `CopyData`/`CopyDone`, so its error still comes back once and the connection stays
    /// usable. A row the server rejects (a bad value) ends the COPY with its error.
    pub fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<u64> {
        frontend::query(sql, &mut self.write_buf).map_err(proto)?;
        // CopyData messages of at most 64 KiB: the server reads each one whole before
        // parsing it, so smaller messages let it start sooner.
        for piece in data.chunks(64 * 1024) {
            frontend::CopyData::new(piece)
                .map_err(proto)?
                .write(&mut self.write_buf);
        }
        frontend::copy_done(&mut self.write_buf);
        self.flush()?;
        let mut copied = 0;
        let mut error = None;
        loop {
            match self.read_message()? {
                Message::CopyInResponse(_) => {}
                Message::CommandComplete(body) => {
                    let tag = body.tag().map_err(proto)?;
                    copied = tag
                        .rsplit(' ')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                }
                Message::ErrorResponse(body) => error = Some(db_error(&body)),
                Message::ReadyForQuery(body) => {
                    self.tx_status = tx_status(body.status());
                    return match error {
                        Some(e) => Err(Error::from(e)),
                        None => Ok(copied),
                    };
                }
                Message::NoticeResponse(_)
                | Message::ParameterStatus(_)
                | Message::NotificationResponse(_) => {}
                Message::CopyOutResponse(_) => {
                    self.broken = true;
                    return Err(Error::Unsupported("COPY TO STDOUT through copy_in".into()));
                }
                other => return Err(unexpected("COPY FROM STDIN", &other)),
            }
        }
    }

    /// Runs a statement that returns no rows (or whose rows do not matter); returns the number
    /// of rows affected.
    pub fn execute(&mut self, sql: &str, params: &[Option<&str>]) -> Result<u64> {
        Ok(self.query(sql, params)?.affected())
    }

    /// Runs one statement with the extended query protocol: `$1`, `$2`, … are bound to
    /// `params` as text (`None` is NULL; the server infers the types), results come back as text.
    pub fn query(&mut self, sql: &str, params: &[Option<&str>]) -> Result<QueryResult> {
        let no_types: [Oid; 0] = [];
        frontend::parse("", sql, no_types, &mut self.write_buf).map_err(proto)?;
        let no_formats: [i16; 0] = [];
        frontend::bind(
            "",
            "",
            no_formats,
            params.iter(),
            |v, buf| match v {
                Some(s) => {
                    buf.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                None => Ok(IsNull::Yes),
            },
            no_formats,
            &mut self.write_buf,
        )
        .map_err(|e| match e {
            frontend::BindError::Conversion(e) => Error::Protocol(e.to_string()),
            frontend::BindError::Serialization(e) => Error::Protocol(e.to_string()),
        })?;
        frontend::describe(b'P', "", &mut self.write_buf).map_err(proto)?;
        frontend::execute("", 0, &mut self.write_buf).map_err(proto)?;
        frontend::sync(&mut self.write_buf);
        self.flush()?;
        let mut result = QueryResult::default();
        let mut error = None;
        loop {
            match self.read_message()? {
                Message::ParseComplete | Message::BindComplete | Message::NoData => {}
                Message::RowDescription(body) => result.columns = columns(&body)?,
                Message::DataRow(body) => result.rows.push(row(&body)?),
                Message::CommandComplete(body) => {
                    result.tag = body.tag().map_err(proto)?.to_string()
                }
                Message::EmptyQueryResponse | Message::PortalSuspended => {}
                Message::ErrorResponse(body) => error = Some(db_error(&body)),
                Message::ReadyForQuery(body) => {
                    self.tx_status = tx_status(body.status());
                    return match error {
                        Some(e) => Err(Error::from(e)),
                        None => Ok(result),
                    };
                }
                Message::NoticeResponse(_)
                | Message::ParameterStatus(_)
                | Message::NotificationResponse(_) => {}
                other => return Err(unexpected("extended query", &other)),
            }
        }
    }

    /// A server parameter reported at startup or later (`server_version`, `TimeZone`, …).
    pub fn server_param(&self, name: &str) -> Option<&str> {
        self.server_params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `server_version_num`-style number from `server_version` (`15.4` → 150004).
    pub fn server_version_num(&self) -> Option<u32> {
        let v = self.server_param("server_version")?;
        let mut parts = v
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty());
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some(major * 10000 + minor)
    }

    /// The transaction status of the last `ReadyForQuery`.
    pub fn tx_status(&self) -> TxStatus {
        self.tx_status
    }

    /// `host:port` this connection went to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether an I/O or protocol error left the connection unusable (reconnect then).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The underlying socket (e.g. for `set_read_timeout`).
    pub fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Raw access: encodes frontend messages with `f` (use [`messages`]) and sends them.
    pub fn send(&mut self, f: impl FnOnce(&mut BytesMut) -> std::io::Result<()>) -> Result<()> {
        f(&mut self.write_buf).map_err(proto)?;
        self.flush()
    }

    /// Raw access: reads the next backend message, whatever its tag.
    pub fn read_raw(&mut self) -> Result<RawMessage> {
        loop {
            if self.read_buf.len() >= 5 {
                let len = u32::from_be_bytes([
                    self.read_buf[1],
                    self.read_buf[2],
                    self.read_buf[3],
                    self.read_buf[4],
                ]) as usize;
                if len < 4 {
                    self.broken = true;
                    return Err(Error::Protocol(format!("invalid message length {len}")));
                }
                if self.read_buf.len() > len {
                    let mut frame = self.read_buf.split_to(len + 1);
                    let tag = frame[0];
                    frame.advance(5);
                    return Ok(RawMessage {
                        tag,
                        body: frame.freeze(),
                    });
                }
                self.read_buf.reserve(len + 1 - self.read_buf.len());
            }
            self.fill()?;
        }
    }

    /// Reads and decodes the next backend message.
    pub fn read_message(&mut self) -> Result<Message> {
        let raw = self.read_raw()?;
        raw.parse().map_err(|e| {
            self.broken = true;
            Error::Protocol(format!("message `{}`: {e}", raw.tag as char))
        })
    }

    fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.broken = true;
                Err(Error::io(
                    format!("PostgreSQL at {} closed the connection", self.address),
                    std::io::ErrorKind::UnexpectedEof.into(),
                ))
            }
            Ok(n) => {
                self.read_buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => {
                if let Some(timeout) =
                    socket_timeout_error(self.socket_timeout, "PostgreSQL", &self.address, &e)
                {
                    self.broken = true;
                    return Err(timeout);
                }
                // Without socketTimeout a timeout is the caller's own (the replication
                // stream's poll), and the connection stays usable.
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    self.broken = true;
                }
                Err(Error::io(
                    format!("reading from PostgreSQL at {}", self.address),
                    e,
                ))
            }
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) -> Result<()> {
        let r = self
            .stream
            .write_all(&self.write_buf)
            .and_then(|()| self.stream.flush());
        self.write_buf.clear();
        r.map_err(|e| {
            self.broken = true;
            Error::io(format!("writing to PostgreSQL at {}", self.address), e)
        })
    }

    /// Says goodbye (`Terminate`) and closes the socket.
    pub fn close(mut self) {
        frontend::terminate(&mut self.write_buf);
        let _ = self.flush();
    }
}

/// `SSLRequest` (when `sslmode` asks for TLS) and the server's one-byte answer: `S`, then the
/// TLS handshake; `N`, plain text if the mode allows it. Exactly one byte is read before the
/// handshake, so nothing a man in the middle injected in plain text can pass for TLS data.
fn negotiate_tls(mut tcp: TcpStream, params: &ConnectParams) -> Result<Stream> {
    let mode = params.tls.mode;
    if !mode.asks() {
        return Ok(Stream::Plain(tcp));
    }
    let address = params.address();
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    tcp.write_all(&request)
        .map_err(|e| Error::io(format!("writing to PostgreSQL at {address}"), e))?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer)
        .map_err(|e| Error::io(format!("reading from PostgreSQL at {address}"), e))?;
    match answer[0] {
        b'S' => Stream::handshake(tcp, &params.tls, &params.host, "PostgreSQL", &address),
        b'N' if !mode.requires() => Ok(Stream::Plain(tcp)),
        b'N' => Err(Error::Tls(format!(
            "PostgreSQL at {address} does not accept TLS connections (ssl is off on the server), and sslmode={} demands TLS",
            mode.name()
        ))),
        other => Err(Error::Protocol(format!(
            "PostgreSQL at {address} answered the SSLRequest with {:?}, not S or N",
            other as char
        ))),
    }
}

fn proto(e: std::io::Error) -> Error {
    Error::Protocol(e.to_string())
}

fn unexpected(phase: &str, m: &Message) -> Error {
    let name = match m {
        Message::CopyData(_) => "CopyData",
        Message::CopyDone => "CopyDone",
        Message::DataRow(_) => "DataRow",
        Message::RowDescription(_) => "RowDescription",
        Message::ReadyForQuery(_) => "ReadyForQuery",
        Message::AuthenticationOk => "AuthenticationOk",
        _ => "another message",
    };
    Error::Protocol(format!("unexpected {name} during {phase}"))
}

fn tx_status(b: u8) -> TxStatus {
    match b {
        b'T' => TxStatus::InTransaction,
        b'E' => TxStatus::Failed,
        _ => TxStatus::Idle,
    }
}

fn columns(body: &backend::RowDescriptionBody) -> Result<Vec<Column>> {
    body.fields()
        .map(|f| {
            Ok(Column {
                name: f.name().to_string(),
                type_oid: f.type_oid(),
                type_modifier: f.type_modifier(),
                table_oid: f.table_oid(),
                column_id: f.column_id(),
            })
        })
        .collect()
        .map_err(proto)
}

fn row(body: &backend::DataRowBody) -> Result<Vec<Option<String>>> {
    let buf = body.buffer();
    body.ranges()
        .map(|r| Ok(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned())))
        .collect()
        .map_err(proto)
}

/// Decodes an `ErrorResponse`/`NoticeResponse` body into a [`DbError`].
pub fn db_error(body: &backend::ErrorResponseBody) -> DbError {
    let mut e = DbError::default();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let v = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'V' => e.severity = v,
            b'S' if e.severity.is_empty() => e.severity = v,
            b'C' => e.code = v,
            b'M' => e.message = v,
            b'D' => e.detail = Some(v),
            b'H' => e.hint = Some(v),
            b't' => e.table = Some(v),
            b'c' => e.column = Some(v),
            b'n' => e.constraint = Some(v),
            _ => {}
        }
    }
    e
}

/// Appends `s` as a field of COPY's text format: backslash, tab, newline and carriage return
/// escaped, everything else as is.
pub fn push_copy_text(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(['\\', '\t', '\n', '\r']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// Quotes an identifier (`"my ""table"""`).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (`'it''s'`); with `standard_conforming_strings=on` (the default
/// since 9.1) backslashes are literal.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmod() {
        let c = Column {
            name: "n".into(),
            type_oid: oid::NUMERIC,
            type_modifier: ((10 << 16) | 2) + 4,
            table_oid: 0,
            column_id: 0,
        };
        assert_eq!(c.numeric_precision_scale(), Some((10, 2)));
        assert_eq!(
            Column {
                type_modifier: -1,
                ..c
            }
            .numeric_precision_scale(),
            None
        );
    }

    #[test]
    fn copy_text_escapes() {
        let mut out = String::new();
        push_copy_text(&mut out, "a\tb\\c\nd\re'f");
        assert_eq!(out, "a\\tb\\\\c\\nd\\re'f");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn affected_rows_from_tag() {
        let r = QueryResult {
            tag: "INSERT 0 3".into(),
            ..Default::default()
        };
        assert_eq!(r.affected(), 3);
    }
}
