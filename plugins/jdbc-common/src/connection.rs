//! The keys that say how to reach the database (`connection.url`, `connection.user`,
//! `connection.password`, and `db.timezone`, the zone of values that carry none): their
//! definitions, their one checking pass, and opening the connection. Shared by the JDBC source
//! and sink so both accept, refuse and describe them in the same words.
//!
//! Design decision: the password lives only here and in the socket's authentication exchange;
//! `Debug` and every message this module builds leave it (and a `password=` URL property) out.

use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, FileAccess, Importance, PluginSpec};

use crate::{Db, DbError, Zone};

pub const CONNECTION_URL: &str = "connection.url";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const CONNECTION_SSLROOTCERT: &str = "connection.sslrootcert";
pub const DB_TIMEZONE: &str = "db.timezone";

/// The config group the connection keys are shown in.
const GROUP: &str = "Database";

/// Adds the connection keys and `db.timezone` to a connector's spec.
pub fn define(spec: PluginSpec) -> PluginSpec {
    spec.config(ConfigDef::string(CONNECTION_URL).required().group(GROUP).importance(Importance::High)
            .doc("JDBC URL: jdbc:postgresql://host:port/db, jdbc:mariadb://host:port/db or jdbc:mysql://host:port/db (user/password may also be URL properties). PostgreSQL TLS: sslmode=disable|allow|prefer (default)|require|verify-ca|verify-full, as in pgjdbc; MySQL/MariaDB: a URL that demands TLS is refused (not implemented yet)."))
        .config(ConfigDef::string(CONNECTION_USER).group(GROUP).importance(Importance::High).doc("Database user."))
        .config(ConfigDef::password(CONNECTION_PASSWORD).group(GROUP).importance(Importance::High)
            .doc("Database password; use a config provider (${file:…} / ${env:…}). Never logged or shown."))
        .config(ConfigDef::string(CONNECTION_SSLROOTCERT).group(GROUP).file_access(FileAccess::ReadFile)
            .doc("File of PEM root certificates to trust with sslmode=verify-ca/verify-full (Sluice's key: the worker grants the plugin read access to it, which a URL's sslrootcert cannot get); wins over the URL's sslrootcert. Default: Mozilla's root certificates."))
        .config(ConfigDef::string(DB_TIMEZONE).default("UTC").group(GROUP)
            .doc("Zone of date/time values without one, and of the session: UTC, a fixed offset such as +02:00, or an IANA zone such as Europe/Berlin (MySQL/MariaDB need their zone tables loaded for a named zone)."))
}

/// A checked way to the database.
#[derive(Clone)]
pub struct Connection {
    pub url: String,
    pub user: Option<String>,
    password: Option<String>,
    /// `connection.sslrootcert`.
    pub sslrootcert: Option<String>,
    pub tz: Zone,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &crate::redact_url(&self.url))
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .field("sslrootcert", &self.sslrootcert)
            .field("tz", &self.tz)
            .finish()
    }
}

impl Connection {
    /// Reads the keys [`define`] adds, pushing a problem (key, value, what is accepted) for
    /// each bad one; the result is only meaningful when no problem was pushed.
    pub fn parse(config: &Config, problems: &mut Vec<ConfigProblem>) -> Connection {
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem {
                key: key.into(),
                message,
            })
        };
        let url = config
            .optional_str(CONNECTION_URL)
            .unwrap_or_default()
            .trim()
            .to_string();
        if url.is_empty() {
            problem(
                CONNECTION_URL,
                "missing required key: the database's JDBC URL".into(),
            );
        } else if let Err(e) = crate::db_url_check(&url) {
            problem(CONNECTION_URL, e);
        }
        let tz_text = config.optional_str(DB_TIMEZONE).unwrap_or("UTC");
        let tz = Zone::parse(tz_text).unwrap_or_else(|| {
            problem(
                DB_TIMEZONE,
                format!("`{tz_text}` is not supported; use UTC, a fixed offset such as +02:00 or an IANA zone such as Europe/Berlin"),
            );
            Zone::UTC
        });
        Connection {
            url,
            user: config
                .optional_str(CONNECTION_USER)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            password: config
                .optional_str(CONNECTION_PASSWORD)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            sslrootcert: config
                .optional_str(CONNECTION_SSLROOTCERT)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            tz,
        }
    }

    /// Opens a connection; values without a zone are read and written in `db.timezone`.
    pub fn connect(&self) -> Result<Db, DbError> {
        Db::connect(
            &self.url,
            self.user.as_deref(),
            self.password.as_deref(),
            self.sslrootcert.as_deref(),
            self.tz,
        )
    }

    /// A failed [`Connection::connect`] for a task's trace: where to (password masked), as whom,
    /// and what the server or the socket said.
    pub fn connect_error(&self, e: &DbError) -> String {
        format!(
            "cannot open the database connection ({}, user `{}`): {e}",
            crate::redact_url(&self.url),
            self.user.as_deref().unwrap_or("from the URL")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (Connection, Vec<ConfigProblem>) {
        let spec = define(PluginSpec::new("x", "0"));
        let config = Config::from_pairs(pairs, &spec.config);
        let mut problems = Vec::new();
        (Connection::parse(&config, &mut problems), problems)
    }

    #[test]
    fn reads_url_user_password_and_zone() {
        let (c, problems) = parse(&[
            (CONNECTION_URL, " jdbc:postgresql://127.0.0.1:5432/test "),
            (CONNECTION_USER, "app"),
            (CONNECTION_PASSWORD, "s3cret"),
            (DB_TIMEZONE, "+02:00"),
        ]);
        assert!(problems.is_empty(), "{}", ConfigProblem::join(&problems));
        assert_eq!(c.url, "jdbc:postgresql://127.0.0.1:5432/test");
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.tz, Zone::Fixed(7200));
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn names_every_bad_key() {
        let (_, problems) = parse(&[
            (CONNECTION_URL, "jdbc:oracle:thin:@x"),
            (DB_TIMEZONE, "Mars/Olympus"),
        ]);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, [CONNECTION_URL, DB_TIMEZONE]);
        assert!(problems[1].message.contains("`Mars/Olympus`"));
        let (_, problems) = parse(&[]);
        assert_eq!(problems[0].key, CONNECTION_URL);
        assert!(problems[0].message.contains("missing required key"));
    }

    #[test]
    fn masks_the_password_in_connect_errors() {
        let (c, _) = parse(&[(
            CONNECTION_URL,
            "jdbc:postgresql://127.0.0.1:1/test?user=u&password=hunter2",
        )]);
        let e = c.connect().err().expect("nothing listens on port 1");
        let message = c.connect_error(&e);
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("127.0.0.1:1"), "{message}");
    }
}
