//! JDBC connection URLs (`jdbc:postgresql://…`, `jdbc:mysql://…`, `jdbc:mariadb://…`).
//!
//! Only what a network client needs is extracted: the first host and port, the database and
//! the `?key=value&…` properties (percent-decoded). Multi-host failover lists are accepted
//! and the first host is used (documented in the connector pages).

use crate::Error;

/// Which wire protocol a URL speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `jdbc:postgresql:`
    Postgres,
    /// `jdbc:mysql:` and `jdbc:mariadb:` (MariaDB speaks the MySQL protocol).
    MySql,
}

impl Dialect {
    /// The server's default TCP port.
    pub fn default_port(self) -> u16 {
        match self {
            Dialect::Postgres => 5432,
            Dialect::MySql => 3306,
        }
    }
}

/// A parsed JDBC URL. The password property, if any, is kept but never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub dialect: Dialect,
    /// `postgresql`, `mysql` or `mariadb`, as written.
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Empty when the URL names none.
    pub database: String,
    /// Query-string properties in order, percent-decoded.
    pub properties: Vec<(String, String)>,
}

impl std::fmt::Debug for JdbcUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let props: Vec<(&str, &str)> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "[hidden]"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("JdbcUrl")
            .field("dialect", &self.dialect)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("properties", &props)
            .finish()
    }
}

impl JdbcUrl {
    /// Parses `jdbc:<scheme>://host[:port][,host2…]/[database][?k=v&…]`.
    ///
    /// ```
    /// let u = sql_wire::JdbcUrl::parse("jdbc:postgresql://db:6432/shop?user=app&sslmode=disable").unwrap();
    /// assert_eq!((u.host.as_str(), u.port, u.database.as_str()), ("db", 6432, "shop"));
    /// assert_eq!(u.property("user"), Some("app"));
    /// ```
    pub fn parse(url: &str) -> Result<JdbcUrl, Error> {
        let bad = |why: &str| {
            Error::Url(format!(
                "invalid connection URL `{}`: {why} (expected jdbc:postgresql://host:port/database, jdbc:mysql://… or jdbc:mariadb://…)",
                redact(url)
            ))
        };
        let rest = url
            .strip_prefix("jdbc:")
            .ok_or_else(|| bad("it does not start with `jdbc:`"))?;
        let (scheme, rest) = rest.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let dialect = match scheme {
            "postgresql" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::MySql,
            other => return Err(bad(&format!("unsupported database `{other}`"))),
        };
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, q),
            None => (rest, ""),
        };
        let (host, port, database) = if let Some(authority_path) = before_query.strip_prefix("//") {
            let (authority, path) = match authority_path.split_once('/') {
                Some((a, p)) => (a, p),
                None => (authority_path, ""),
            };
            // Failover lists: the first host is used.
            let first = authority.split(',').next().unwrap_or("");
            // MySQL's `address=(host=…)` form is not supported.
            let (host, port) = split_host_port(first).map_err(|e| bad(&e))?;
            let host = if host.is_empty() {
                "localhost".to_string()
            } else {
                host
            };
            (
                host,
                port.unwrap_or(dialect.default_port()),
                percent_decode(path),
            )
        } else {
            // `jdbc:postgresql:database` — localhost.
            (
                "localhost".to_string(),
                dialect.default_port(),
                percent_decode(before_query),
            )
        };
        let mut properties = Vec::new();
        for pair in query.split(['&', ';']).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            properties.push((percent_decode(k), percent_decode(v)));
        }
        Ok(JdbcUrl {
            dialect,
            scheme: scheme.to_string(),
            host,
            port,
            database,
            properties,
        })
    }

    /// A query-string property (case-insensitive key); the last one wins, as in JDBC.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `host:port` for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port `{p}`"));
    if let Some(v6) = s.strip_prefix('[') {
        let (h, rest) = v6.split_once(']').ok_or("unclosed `[` in host")?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if rest.is_empty() => None,
            None => return Err(format!("unexpected `{rest}` after host")),
        };
        return Ok((h.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), Some(parse_port(p)?))),
        None => Ok((s.to_string(), None)),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any `password=` property value replaced, for error messages.
pub fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=[hidden]"),
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let u = JdbcUrl::parse("jdbc:postgresql://127.0.0.1:5432/test").unwrap();
        assert_eq!(u.dialect, Dialect::Postgres);
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_str()),
            ("127.0.0.1", 5432, "test")
        );
        let u = JdbcUrl::parse("jdbc:mariadb://db/shop?user=root&password=p%40ss").unwrap();
        assert_eq!(
            (u.dialect, u.port, u.property("password")),
            (Dialect::MySql, 3306, Some("p@ss"))
        );
        assert!(!format!("{u:?}").contains("p@ss"));
        let u = JdbcUrl::parse("jdbc:mysql://[::1]:3307,other:3306/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.address()),
            ("::1", 3307, "[::1]:3307".to_string())
        );
        let u = JdbcUrl::parse("jdbc:postgresql:test").unwrap();
        assert_eq!(
            (u.host.as_str(), u.database.as_str()),
            ("localhost", "test")
        );
    }

    #[test]
    fn rejects_and_redacts() {
        let e = JdbcUrl::parse("jdbc:oracle:thin:@x?password=s3cret")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported database `oracle`"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert!(JdbcUrl::parse("postgresql://x").is_err());
        assert!(JdbcUrl::parse("jdbc:postgresql://x:99999/db").is_err());
    }
}
