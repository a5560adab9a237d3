//! Network access for plugins: the per-connector allow-lists `wasm.network.allow` (TCP) and
//! `wasm.network.allow.udp` (UDP), and their enforcement on every socket address a plugin uses.
//!
//! Design decisions:
//! * **Off unless granted.** Without an allow-list the store gets no TCP, no UDP and no name
//!   lookup at all (wasmtime-wasi refuses to even create a socket, so a plugin cannot exhaust
//!   the worker's file descriptors either).
//! * **Checked on the address actually used.** wasmtime-wasi calls our check
//!   ([`Guard::allows`], installed with `WasiCtxBuilder::socket_addr_check`) with the resolved
//!   IP and port before every connect, bind, send and receive, ahead of any syscall. A plugin
//!   never gets to say "this IP is `api.example.com`": a host-name entry only grants the
//!   addresses the *host* returned when the plugin looked that name up through
//!   `wasi:sockets/ip-name-lookup` (see [`add_name_lookup_to_linker`]). Resolving at lookup time
//!   (rather than once at task start) keeps long-running tasks correct when DNS changes, and is
//!   the only way `*.domain` entries can work; what a plugin once resolved stays allowed for
//!   that task.
//! * **No rebinding into the worker's network.** Loopback, private, link-local, CGNAT,
//!   multicast and other special ranges are reachable only through an IP or CIDR entry that
//!   lies inside that range (`127.0.0.1:8080`, `10.0.0.0/8:5432`), or the name `localhost`
//!   (which means exactly 127.0.0.0/8 and ::1). A host name, `*.domain` or `*` never reaches
//!   them, whatever DNS answers, and neither does `0.0.0.0/0`. IPv4-mapped IPv6 addresses are
//!   checked as the IPv4 address they are.
//! * **Outbound only.** Binding a specific local address or port, listening and accepting are
//!   denied; the implicit bind of an outgoing socket (wildcard address, port 0) is allowed.
//! * Name lookups are allowed only for names that match a host-name entry (IP literals are
//!   answered by wasmtime without DNS), so a plugin cannot use DNS queries as a side channel
//!   to arbitrary domains.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self as wasi_network, ErrorCode, HostNetwork, IpAddress, Network,
};
use wasmtime_wasi::p2::{DynPollable, SocketError};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView, WasiSocketsView};

use super::engine::{HostState, Owner};

/// TCP allow-list: comma-separated `host:port` entries.
pub const NETWORK_KEY: &str = "wasm.network.allow";
/// UDP allow-list, same grammar as [`NETWORK_KEY`].
pub const NETWORK_UDP_KEY: &str = "wasm.network.allow.udp";

const ACCEPTED: &str =
    "accepted entries: `host:port`, `*.domain:port`, `IPv4:port`, `[IPv6]:port`, \
     `CIDR:port` (`10.0.0.0/8:5432`, `[fd00::/8]:443`), `localhost:port` or `*:port`, where port \
     is a number 1-65535, a range `8000-8100` or `*`";

/// How many addresses a task remembers from its name lookups (oldest forgotten first).
const MAX_RESOLVED: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn key(self) -> &'static str {
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

impl NetworkPolicy {
    /// Adds the entries of one allow-list key; on error returns a message naming the key, the
    /// bad entry and the accepted forms. An empty value grants nothing.
    pub(crate) fn add(&mut self, proto: Proto, value: &str) -> Result<(), String> {
        let key = proto.key();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, ports) = parse_entry(entry)
                .map_err(|why| format!("invalid entry `{entry}` in {key}: {why}; {ACCEPTED}"))?;
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
    fn name_matches(&self, name: &str) -> Vec<usize> {
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
fn check_name(name: &str) -> Result<(), String> {
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
fn special_block(ip: IpAddr) -> Option<u8> {
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

/// One store's enforcement state: the policy, what its name lookups resolved, and the
/// rate limit of its denial log lines.
pub(crate) struct Guard {
    policy: NetworkPolicy,
    owner: Owner,
    /// (address, index of the host-name entry whose lookup returned it), oldest first.
    resolved: Mutex<VecDeque<(IpAddr, usize)>>,
    /// Open lookup streams: resource rep → the entries the looked-up name matched.
    lookups: Mutex<HashMap<u32, Vec<usize>>>,
    denials: Mutex<DenialLog>,
}

/// Denial log budget: a burst of [`DenialLog::BURST`] lines, then one per
/// [`DenialLog::EVERY`], with a count of the suppressed ones.
struct DenialLog {
    tokens: u32,
    last_refill: Instant,
    suppressed: u64,
}

impl DenialLog {
    const BURST: u32 = 5;
    const EVERY: Duration = Duration::from_secs(10);

    /// `Some(suppressed since the last line)` if this denial may be logged.
    fn admit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if now.duration_since(self.last_refill) >= Self::EVERY {
            self.tokens = self.tokens.max(1);
            self.last_refill = now;
        }
        if self.tokens == 0 {
            self.suppressed += 1;
            return None;
        }
        self.tokens -= 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere mid-update; the data is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Guard {
    pub fn new(policy: NetworkPolicy, owner: Owner) -> Guard {
        Guard {
            policy,
            owner,
            resolved: Mutex::default(),
            lookups: Mutex::default(),
            denials: Mutex::new(DenialLog {
                tokens: DenialLog::BURST,
                last_refill: Instant::now(),
                suppressed: 0,
            }),
        }
    }

    /// The socket address check: may the plugin use `addr` for `what`? Logs a denial.
    pub fn allows(&self, addr: SocketAddr, what: SocketAddrUse) -> bool {
        let ip = addr.ip().to_canonical();
        let (proto, outbound) = match what {
            SocketAddrUse::TcpConnect => (Proto::Tcp, true),
            SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => (Proto::Udp, true),
            SocketAddrUse::TcpBind => (Proto::Tcp, false),
            SocketAddrUse::UdpBind => (Proto::Udp, false),
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                self.deny(addr, what, "listening for connections is never allowed");
                return false;
            }
        };
        if !outbound {
            // The implicit bind of an outgoing socket: wildcard address, ephemeral port.
            if ip.is_unspecified() && addr.port() == 0 {
                return true;
            }
            self.deny(
                addr,
                what,
                "binding a specific local address or port is never allowed",
            );
            return false;
        }
        if self.matches(proto, ip, addr.port()) {
            return true;
        }
        // A datagram from elsewhere is dropped silently by wasmtime; logging each would let a
        // remote host flood the log.
        if !matches!(what, SocketAddrUse::UdpReceive) {
            let why = if special_block(ip).is_some() {
                format!("not allowed by {} (loopback, private and link-local addresses need an IP or CIDR entry that names them)", proto.key())
            } else {
                format!("not allowed by {}", proto.key())
            };
            self.deny(addr, what, &why);
        }
        false
    }

    fn matches(&self, proto: Proto, ip: IpAddr, port: u16) -> bool {
        let special = special_block(ip);
        let resolved = lock(&self.resolved);
        self.policy.patterns.iter().enumerate().any(|(i, p)| {
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

    fn deny(&self, addr: SocketAddr, what: SocketAddrUse, why: &str) {
        let Some(suppressed) = lock(&self.denials).admit() else {
            return;
        };
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        let earlier = if suppressed > 0 {
            format!(" ({suppressed} similar denials not logged)")
        } else {
            String::new()
        };
        tracing::warn!(
            connector,
            task,
            address = %addr,
            "plugin network access denied: {} {addr}: {why}{earlier}",
            use_name(what)
        );
    }

    fn deny_lookup(&self, name: &str) {
        let Some(suppressed) = lock(&self.denials).admit() else {
            return;
        };
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        let earlier = if suppressed > 0 {
            format!(" ({suppressed} similar denials not logged)")
        } else {
            String::new()
        };
        // The name is guest-chosen: cut it so a denial line stays short.
        let shown: String = name.chars().take(256).collect();
        tracing::warn!(
            connector,
            task,
            "plugin network access denied: name lookup of `{shown}`: no host-name entry in {NETWORK_KEY} or {NETWORK_UDP_KEY} matches it{earlier}"
        );
    }

    /// Entries a lookup of `name` may feed, or `None` if the lookup is denied. IP literals
    /// are answered without DNS and feed nothing (IP entries match them directly).
    fn lookup(&self, name: &str) -> Option<Vec<usize>> {
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        if literal.parse::<IpAddr>().is_ok() {
            return Some(Vec::new());
        }
        let lower = name.to_ascii_lowercase();
        let lower = lower.strip_suffix('.').unwrap_or(&lower);
        // Only plain names reach the resolver: no percent-escapes, IDNA or numeric tricks that
        // would make the resolved name differ from the one matched here.
        check_name(lower).ok()?;
        let matched = self.policy.name_matches(lower);
        (!matched.is_empty()).then_some(matched)
    }

    fn record(&self, ip: IpAddr, entries: &[usize]) {
        let ip = ip.to_canonical();
        let mut resolved = lock(&self.resolved);
        for &i in entries {
            if resolved.iter().any(|&(a, j)| a == ip && j == i) {
                continue;
            }
            if resolved.len() == MAX_RESOLVED {
                resolved.pop_front();
            }
            resolved.push_back((ip, i));
        }
    }
}

fn use_name(what: SocketAddrUse) -> &'static str {
    match what {
        SocketAddrUse::TcpConnect => "TCP connect to",
        SocketAddrUse::TcpBind => "TCP bind to",
        SocketAddrUse::TcpListen => "TCP listen on",
        SocketAddrUse::TcpAccept => "TCP accept from",
        SocketAddrUse::UdpBind => "UDP bind to",
        SocketAddrUse::UdpSend => "UDP send to",
        SocketAddrUse::UdpReceive => "UDP receive from",
    }
}

/// Replaces wasmtime-wasi's `wasi:sockets/ip-name-lookup` with one that asks the store's
/// [`Guard`] first and records what the lookup returned (see the module docs). Must run after
/// `wasmtime_wasi::p2::add_to_linker_sync`, whose definition it shadows.
pub(crate) fn add_name_lookup_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = ip_name_lookup::add_to_linker::<HostState, GuardedLookup>(linker, lookup_view);
    linker.allow_shadowing(false);
    result
}

fn lookup_view(state: &mut HostState) -> LookupView<'_> {
    let guard = state.network.clone();
    LookupView {
        inner: state.sockets(),
        guard,
    }
}

struct GuardedLookup;

impl HasData for GuardedLookup {
    type Data<'a> = LookupView<'a>;
}

pub(crate) struct LookupView<'a> {
    inner: WasiSocketsCtxView<'a>,
    guard: Option<Arc<Guard>>,
}

// `ip-name-lookup` uses types of `network`, so its bindings want that interface too; it is
// wasmtime-wasi's unchanged.
impl wasi_network::Host for LookupView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        wasi_network::Host::convert_error_code(&mut self.inner, error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasi_network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        wasi_network::Host::network_error_code(&mut self.inner, err)
    }
}

impl HostNetwork for LookupView<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        HostNetwork::drop(&mut self.inner, this)
    }
}

impl ip_name_lookup::Host for LookupView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        let Some(guard) = self.guard.clone() else {
            // No allow-list: wasmtime-wasi's own switch (off) answers.
            return ip_name_lookup::Host::resolve_addresses(&mut self.inner, network, name);
        };
        let Some(entries) = guard.lookup(&name) else {
            guard.deny_lookup(&name);
            return Err(ErrorCode::AccessDenied.into());
        };
        let stream = ip_name_lookup::Host::resolve_addresses(&mut self.inner, network, name)?;
        lock(&guard.lookups).insert(stream.rep(), entries);
        Ok(stream)
    }
}

impl HostResolveAddressStream for LookupView<'_> {
    fn resolve_next_address(
        &mut self,
        resource: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let rep = resource.rep();
        let next = self.inner.resolve_next_address(resource)?;
        if let (Some(guard), Some(addr)) = (&self.guard, &next) {
            let entries = lock(&guard.lookups).get(&rep).cloned().unwrap_or_default();
            guard.record(ip_addr(addr), &entries);
        }
        Ok(next)
    }

    fn subscribe(
        &mut self,
        resource: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.inner.subscribe(resource)
    }

    fn drop(&mut self, resource: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        if let Some(guard) = &self.guard {
            lock(&guard.lookups).remove(&resource.rep());
        }
        HostResolveAddressStream::drop(&mut self.inner, resource)
    }
}

fn ip_addr(addr: &IpAddress) -> IpAddr {
    match *addr {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
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

    fn guard(tcp: &str) -> Guard {
        Guard::new(
            policy(tcp),
            Owner {
                connector: "c".into(),
                task: "0".into(),
            },
        )
    }

    fn connect(g: &Guard, addr: &str) -> bool {
        g.allows(addr.parse().unwrap(), SocketAddrUse::TcpConnect)
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
            let err = p.add(Proto::Udp, &format!("ok.com:1,{entry}")).unwrap_err();
            assert!(
                err.contains(&format!("invalid entry `{entry}` in {NETWORK_UDP_KEY}"))
                    && err.contains(why)
                    && err.contains("accepted entries"),
                "{entry}: {err}"
            );
        }
    }

    #[test]
    fn ip_and_cidr_entries_match_by_address_and_port() {
        let g = guard("93.184.216.34:443,203.0.113.0/24:8000-8100,[2001:db8::/32]:*");
        assert!(connect(&g, "93.184.216.34:443"));
        assert!(!connect(&g, "93.184.216.34:80"));
        assert!(!connect(&g, "93.184.216.35:443"));
        assert!(connect(&g, "203.0.113.77:8050"));
        assert!(!connect(&g, "203.0.113.77:8101"));
        assert!(connect(&g, "[2001:db8::42]:1"));
        assert!(!connect(&g, "[2001:db9::42]:1"));
        // UDP is a separate grant.
        assert!(!g.allows("93.184.216.34:443".parse().unwrap(), SocketAddrUse::UdpSend));
    }

    #[test]
    fn wildcards_never_open_loopback_private_or_link_local() {
        let g = guard("*:*,0.0.0.0/0:*,[::/0]:*");
        assert!(connect(&g, "93.184.216.34:80"));
        for addr in [
            "127.0.0.1:80",
            "10.1.2.3:80",
            "172.16.0.1:80",
            "192.168.1.1:80",
            "169.254.169.254:80",
            "100.64.0.1:80",
            "0.0.0.0:80",
            "[::1]:80",
            "[::ffff:127.0.0.1]:80",
            "[fe80::1]:80",
            "[fd00::1]:80",
            "[64:ff9b::7f00:1]:80",
        ] {
            assert!(!connect(&g, addr), "{addr} must stay closed");
        }
    }

    #[test]
    fn explicit_entries_open_exactly_the_special_range_they_name() {
        let g = guard("127.0.0.1:9092,10.0.0.0/8:5432,localhost:8080");
        assert!(connect(&g, "127.0.0.1:9092"));
        assert!(!connect(&g, "127.0.0.2:9092"));
        assert!(connect(&g, "10.9.9.9:5432"));
        assert!(!connect(&g, "10.9.9.9:5433"));
        assert!(connect(&g, "127.0.0.5:8080"));
        assert!(connect(&g, "[::1]:8080"));
        assert!(connect(&g, "[::ffff:10.1.1.1]:5432"), "IPv4-mapped is IPv4");
        assert!(!connect(&g, "192.168.0.1:5432"));
    }

    #[test]
    fn host_names_grant_only_what_the_hosts_lookup_returned() {
        let g = guard("api.example.com:443,*.example.org:*");
        // Nothing is reachable before a lookup: the plugin cannot claim an IP is a name.
        assert!(!connect(&g, "93.184.216.34:443"));
        let api = g.lookup("API.example.com.").unwrap();
        g.record("93.184.216.34".parse().unwrap(), &api);
        assert!(connect(&g, "93.184.216.34:443"));
        assert!(!connect(&g, "93.184.216.34:80"), "the entry's port only");
        // A name resolving into loopback (DNS rebinding) still gets nothing.
        g.record("127.0.0.1".parse().unwrap(), &api);
        assert!(!connect(&g, "127.0.0.1:443"));
        // Suffix entries match names strictly below the domain.
        assert!(g.lookup("a.b.example.org").is_some());
        assert!(g.lookup("example.org").is_none());
        assert!(g.lookup("evilexample.org").is_none());
        assert!(g.lookup("other.com").is_none());
        assert!(g.lookup("a%2eexample.org").is_none());
        // IP literals need no DNS and grant nothing by themselves.
        assert_eq!(g.lookup("10.0.0.1"), Some(vec![]));
    }

    #[test]
    fn binds_are_limited_to_the_implicit_one_and_listening_is_denied() {
        let g = guard("*:*");
        assert!(g.allows("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(g.allows("[::]:0".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!g.allows("0.0.0.0:8080".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!g.allows("127.0.0.1:0".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!g.allows("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpListen));
    }

    #[test]
    fn denial_log_is_rate_limited() {
        let mut log = DenialLog {
            tokens: DenialLog::BURST,
            last_refill: Instant::now(),
            suppressed: 0,
        };
        let admitted = (0..100).filter(|_| log.admit().is_some()).count();
        assert_eq!(admitted, DenialLog::BURST as usize);
        assert_eq!(log.suppressed, 100 - u64::from(DenialLog::BURST));
    }
}
