//! The worker's `listeners` entries (`http://host:port`, `https://host:port`), parsed before
//! the REST server binds them, so a bad one is reported with the other worker config problems.

const ACCEPTED_FORM: &str =
    "expected http://<host>:<port> or https://<host>:<port>, e.g. http://0.0.0.0:8083 or \
     https://:8443 (empty host = all interfaces, port 0 = any free port)";

/// Why a `listeners` entry is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid listener {value:?}: {message}; {ACCEPTED_FORM}")]
pub struct ListenerError {
    pub value: String,
    pub message: String,
}

/// A parsed `listeners` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerAddr {
    /// Host name or IP (IPv6 without brackets); empty in the config means all interfaces and
    /// is stored here as `0.0.0.0`.
    pub host: String,
    pub port: u16,
    /// `https://`: TLS with the `listeners.https.ssl.*` settings.
    pub tls: bool,
}

/// Parses one `listeners` entry (`http://host:port` or `https://host:port`). Pure: no name
/// resolution.
pub fn parse_listener(value: &str) -> Result<ListenerAddr, ListenerError> {
    let err = |message: &str| ListenerError {
        value: value.to_string(),
        message: message.to_string(),
    };
    let trimmed = value.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| err("missing the http:// scheme"))?;
    let tls = scheme.eq_ignore_ascii_case("https");
    if !tls && !scheme.eq_ignore_ascii_case("http") {
        return Err(err(&format!("unsupported scheme {scheme:?}")));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| err("unclosed '[' in IPv6 host"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| err("missing :<port>"))?;
        (host, port)
    } else {
        rest.rsplit_once(':')
            .ok_or_else(|| err("missing :<port>"))?
    };
    if host.contains(['/', ' ', '@']) {
        return Err(err("the host contains '/', ' ' or '@'"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| err(&format!("port {port:?} is not a number from 0 to 65535")))?;
    let host = if host.is_empty() {
        "0.0.0.0".to_string()
    } else {
        host.to_string()
    };
    Ok(ListenerAddr { host, port, tls })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_forms() {
        let p = |s| parse_listener(s).map(|a| (a.host, a.port, a.tls));
        assert_eq!(
            p("http://0.0.0.0:8083").ok(),
            Some(("0.0.0.0".into(), 8083, false))
        );
        assert_eq!(
            p("http://:8083").ok(),
            Some(("0.0.0.0".into(), 8083, false))
        );
        assert_eq!(
            p("HTTP://localhost:0").ok(),
            Some(("localhost".into(), 0, false))
        );
        assert_eq!(
            p("http://[::1]:9000/").ok(),
            Some(("::1".into(), 9000, false))
        );
        assert_eq!(
            p("https://:8443").ok(),
            Some(("0.0.0.0".into(), 8443, true))
        );
        for bad in [
            "localhost:8083",
            "http://host",
            "http://h:99999",
            "ftp://h:1",
        ] {
            let e = parse_listener(bad).expect_err("must fail").to_string();
            assert!(e.contains(bad), "{e}");
            assert!(
                e.contains("expected http://<host>:<port> or https://<host>:<port>"),
                "{e}"
            );
        }
    }
}
