//! The network allow-lists `wasm.network.allow` and `wasm.network.allow.udp`: their grammar,
//! parsed into a [`NetworkPolicy`], and what each entry grants.
//!
//! Design decision: loopback, private, link-local and other special-purpose addresses are
//! granted only by an IP or CIDR entry at least as narrow as their block (or `localhost`), so
//! no host name, `*.domain`, `*` or `0.0.0.0/0` entry ever reaches the worker's own network.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP allow-list: comma-separated `host:port` entries.
pub const NETWORK_KEY: &str = "wasm.network.allow";
/// UDP allow-list, same grammar as [`NETWORK_KEY`].
pub const NETWORK_UDP_KEY: &str = "wasm.network.allow.udp";

const ACCEPTED: &str =
    "accepted entries: `host:port`, `*.domain:port`, `IPv4:port`, `[IPv6]:port`, \
     `CIDR:port` (`10.0.0.0/8:5432`, `[fd00::/8]:443`), `localhost:port` or `*:port`, where port \
     is a number 1-65535, a range `8000-8100` or `*`";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Proto::Tcp => NETWORK_KEY,
            Proto::Udp => NETWORK_UDP_KEY,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn new(addr: IpAddr, prefix: u8) -> Net {
        Net {
            addr: mask(addr, prefix),
            prefix,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// `*`: any address outside the special ranges.
    Any,
    /// An exact host name (lower case, no trailing dot).
    Name(String),
    /// `*.domain`: stored as `.domain`; matches names strictly below the domain.
    Suffix(String),
    /// An IP address or CIDR block.
    Net(Net),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ports(u16, u16);

impl Ports {
    fn contains(self, port: u16) -> bool {
        (self.0..=self.1).contains(&port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    proto: Proto,
    host: Host,
    ports: Ports,
}

/// A connector's network grants, parsed and validated from its `wasm.network.allow*` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    patterns: Vec<Pattern>,
}

/// An allow-list entry that does not parse; the message names the key, the entry, what is
/// wrong with it and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid entry `{entry}` in {key}: {why}; {ACCEPTED}")]
pub struct InvalidEntry {
    key: &'static str,
    entry: String,
    why: String,
}

impl NetworkPolicy {
    /// Adds the entries of one allow-list key. An empty value grants nothing.
    pub(crate) fn add(&mut self, proto: Proto, value: &str) -> Result<(), InvalidEntry> {
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, ports) = parse_entry(entry).map_err(|why| InvalidEntry {
                key: proto.key(),
                entry: entry.to_string(),
                why,
            })?;
            for host in host {
                self.patterns.push(Pattern { proto, host, ports });
            }
        }
        Ok(())
    }

    /// Replaces this policy's entries for `proto` with those of `other`.
    pub(crate) fn replace(&mut self, proto: Proto, other: NetworkPolicy) {
        self.patterns.retain(|p| p.proto != proto);
        self.patterns
            .extend(other.patterns.into_iter().filter(|p| p.proto == proto));
    }

    fn uses(&self, proto: Proto) -> bool {
        self.patterns.iter().any(|p| p.proto == proto)
    }

    pub(crate) fn tcp(&self) -> bool {
        self.uses(Proto::Tcp)
    }

    pub(crate) fn udp(&self) -> bool {
        self.uses(Proto::Udp)
    }

    /// Whether any entry is a host name, i.e. the plugin needs name lookup.
    pub(crate) fn names(&self) -> bool {
        self.patterns
            .iter()
            .any(|p| matches!(p.host, Host::Name(_) | Host::Suffix(_)))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Indices of the host-name entries `name` matches.
    pub(crate) fn name_matches(&self, name: &str) -> Vec<usize> {
        self.patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| match &p.host {
                Host::Name(n) => n == name,
                Host::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_str()),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect()
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Name(n) => f.write_str(n),
            Host::Suffix(s) => write!(f, "*{s}"),
            Host::Net(Net {
                addr: IpAddr::V4(a),
                prefix,
            }) => write!(f, "{a}/{prefix}"),
            Host::Net(Net {
                addr: IpAddr::V6(a),
                prefix,
            }) => write!(f, "[{a}/{prefix}]"),
        }
    }
}

fn parse_entry(entry: &str) -> Result<(Vec<Host>, Ports), String> {
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address opened with `[` is not closed with `]`")?;
        let port = after
            .strip_prefix(':')
            .ok_or("a port is required after `]`, as in `[::1]:443`")?;
        let v6 = parse_net(inside)?;
        if !matches!(
            v6,
            Host::Net(Net {
                addr: IpAddr::V6(_),
                ..
            })
        ) {
            return Err("only IPv6 addresses go in brackets".into());
        }
        (vec![v6], port)
    } else {
        let (host, port) = entry
            .rsplit_once(':')
            .ok_or("a port is required (`host:port`; `host:*` for any port)")?;
        if host.contains(':') {
            return Err("write IPv6 addresses in brackets, as in `[2001:db8::1]:443`".into());
        }
        (parse_host(host)?, port)
    };
    Ok((host, parse_ports(port)?))
}

fn parse_host(host: &str) -> Result<Vec<Host>, String> {
    let lower = host.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    if lower == "*" {
        return Ok(vec![Host::Any]);
    }
    if lower == "localhost" {
        // Loopback by name is an explicit grant of loopback, never a DNS answer.
        return Ok(vec![
            Host::Name("localhost".into()),
            Host::Net(Net::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8)),
            Host::Net(Net::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128)),
        ]);
    }
    if lower.contains('/') || lower.parse::<IpAddr>().is_ok() {
        return Ok(vec![parse_net(lower)?]);
    }
    if let Some(domain) = lower.strip_prefix("*.") {
        check_name(domain)?;
        return Ok(vec![Host::Suffix(format!(".{domain}"))]);
    }
    if lower.contains('*') {
        return Err("`*` is allowed only as the whole host or as a leading `*.`".into());
    }
    check_name(lower)?;
    Ok(vec![Host::Name(lower.to_owned())])
}

fn parse_net(s: &str) -> Result<Host, String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or(format!("`/{p}` is not a prefix length from 0 to {max}"))?,
    };
    Ok(Host::Net(Net::new(addr, prefix)))
}

/// A plain DNS name: ASCII letters, digits and hyphens in dot-separated labels (use the
/// punycode `xn--` form for international names). A name that looks numeric is refused: it
/// would be read as an IPv4 address by the resolver.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name must have 1 to 253 characters".into());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "`{name}` is not a host name (labels of letters, digits and `-`; punycode for international names)"
            ));
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err(format!("`{name}` is neither an IP address nor a host name"));
    }
    Ok(())
}

fn parse_ports(port: &str) -> Result<Ports, String> {
    let one = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or(format!("`{p}` is not a port from 1 to 65535"))
    };
    match port.trim() {
        "*" => Ok(Ports(1, u16::MAX)),
        p => match p.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (one(a)?, one(b)?);
                if a > b {
                    return Err(format!("port range `{p}` runs backwards"));
                }
                Ok(Ports(a, b))
            }
            None => one(p).map(|p| Ports(p, p)),
        },
    }
}

/// The special-purpose block `ip` lies in, as its prefix length, or `None` for an ordinary
/// (public) address. Such addresses are reachable only through an IP/CIDR entry at least as
/// narrow as the block (so `0.0.0.0/0` does not open loopback).
pub(super) fn special_block(ip: IpAddr) -> Option<u8> {
    const V4: &[(Ipv4Addr, u8)] = &[
        (Ipv4Addr::new(0, 0, 0, 0), 8),      // "this network", unspecified
        (Ipv4Addr::new(10, 0, 0, 0), 8),     // private
        (Ipv4Addr::new(100, 64, 0, 0), 10),  // carrier-grade NAT
        (Ipv4Addr::new(127, 0, 0, 0), 8),    // loopback
        (Ipv4Addr::new(169, 254, 0, 0), 16), // link-local (cloud metadata lives here)
        (Ipv4Addr::new(172, 16, 0, 0), 12),  // private
        (Ipv4Addr::new(192, 0, 0, 0), 24),   // IETF protocol assignments
        (Ipv4Addr::new(192, 168, 0, 0), 16), // private
        (Ipv4Addr::new(198, 18, 0, 0), 15),  // benchmarking
        (Ipv4Addr::new(224, 0, 0, 0), 4),    // multicast
        (Ipv4Addr::new(240, 0, 0, 0), 4),    // reserved, broadcast
    ];
    const V6: &[(Ipv6Addr, u8)] = &[
        (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // unspecified, loopback, IPv4-compatible
        (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96), // NAT64 (reaches IPv4 space)
        (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4 (embeds IPv4)
        (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // unique local (private)
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast
    ];
    match ip {
        IpAddr::V4(_) => V4
            .iter()
            .map(|(a, p)| Net::new(IpAddr::V4(*a), *p))
            .find(|n| n.contains(ip))
            .map(|n| n.prefix),
        IpAddr::V6(v6) if v6 == Ipv6Addr::LOCALHOST => Some(128),
        IpAddr::V6(_) => V6
            .iter()
            .map(|(a, p)| Net::new(IpAddr::V6(*a), *p))
            .find(|n| n.contains(ip))
            .map(|n| n.prefix),
    }
}

impl NetworkPolicy {
    /// Whether an entry for `proto` grants `ip:port`. Host-name entries grant only the
    /// addresses in `resolved` (address, index of the host-name entry whose lookup returned
    /// it); special-purpose addresses only an IP/CIDR entry at least as narrow as their block.
    pub(super) fn grants(
        &self,
        proto: Proto,
        ip: IpAddr,
        port: u16,
        resolved: &VecDeque<(IpAddr, usize)>,
    ) -> bool {
        let special = special_block(ip);
        self.patterns.iter().enumerate().any(|(i, p)| {
            p.proto == proto
                && p.ports.contains(port)
                && match &p.host {
                    Host::Any => special.is_none(),
                    Host::Net(n) => n.contains(ip) && special.is_none_or(|b| n.prefix >= b),
                    Host::Name(_) | Host::Suffix(_) => {
                        special.is_none() && resolved.iter().any(|&(a, j)| a == ip && j == i)
                    }
                }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(tcp: &str) -> NetworkPolicy {
        let mut p = NetworkPolicy::default();
        p.add(Proto::Tcp, tcp).unwrap();
        p
    }

    #[test]
    fn grammar_accepts_every_documented_form() {
        let p = policy(
            "api.example.com:443, *.example.org:8000-8100,1.2.3.4:*,10.0.0.0/8:5432,\
             [2001:db8::1]:443,[fd00::/8]:443,localhost:9092,*:443,Example.NET.:80,",
        );
        assert_eq!(p.patterns.len(), 11, "{p:?}");
        assert!(p.tcp() && !p.udp() && p.names());
        assert!(NetworkPolicy::default().is_empty());
        let mut empty = NetworkPolicy::default();
        empty.add(Proto::Tcp, " , ").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn bad_entries_name_the_key_the_entry_and_the_accepted_forms() {
        for (entry, why) in [
            ("example.com", "a port is required"),
            ("example.com:0", "not a port"),
            ("example.com:70000", "not a port"),
            ("example.com:90-80", "runs backwards"),
            ("2001:db8::1:443", "brackets"),
            ("10.0.0.0/33:80", "prefix length from 0 to 32"),
            ("ex*ample.com:80", "leading `*.`"),
            ("exa_mple.com:80", "not a host name"),
            ("10.0.0:80", "neither an IP address nor a host name"),
            ("[10.0.0.1]:80", "only IPv6"),
            ("[::1:80", "not closed"),
        ] {
            let mut p = NetworkPolicy::default();
            let err = p
                .add(Proto::Udp, &format!("ok.com:1,{entry}"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("invalid entry `{entry}` in {NETWORK_UDP_KEY}"))
                    && err.contains(why)
                    && err.contains("accepted entries"),
                "{entry}: {err}"
            );
        }
    }
}
