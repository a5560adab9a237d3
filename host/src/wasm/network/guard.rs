//! One store's network enforcement: the socket address check wasmtime-wasi calls before every
//! connect, bind, send and receive, the addresses the store's name lookups resolved, and the
//! rate-limited log of denials.
//!
//! Design decision: the check sees the address actually used, never a name: a host-name entry
//! grants only what the host itself resolved for this task (see `lookup`), remembered up to
//! [`MAX_RESOLVED`] addresses, oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime_wasi::sockets::SocketAddrUse;

use super::policy::{check_name, special_block, NetworkPolicy, Proto};
use super::{NETWORK_KEY, NETWORK_UDP_KEY};
use crate::wasm::engine::Owner;

/// How many addresses a task remembers from its name lookups (oldest forgotten first).
pub(super) const MAX_RESOLVED: usize = 4096;

/// One store's enforcement state: the policy, what its name lookups resolved, and the
/// rate limit of its denial log lines.
pub(crate) struct Guard {
    policy: NetworkPolicy,
    owner: Owner,
    /// (address, index of the host-name entry whose lookup returned it), oldest first.
    resolved: Mutex<VecDeque<(IpAddr, usize)>>,
    /// Open lookup streams: resource rep → the entries the looked-up name matched.
    pub(super) lookups: Mutex<HashMap<u32, Vec<usize>>>,
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

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
        if self
            .policy
            .grants(proto, ip, addr.port(), &lock(&self.resolved))
        {
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

    /// `Some(note on the denials suppressed since the last line)` if a denial may be logged.
    fn admit_denial(&self) -> Option<String> {
        let suppressed = lock(&self.denials).admit()?;
        Some(if suppressed > 0 {
            format!(" ({suppressed} similar denials not logged)")
        } else {
            String::new()
        })
    }

    fn deny(&self, addr: SocketAddr, what: SocketAddrUse, why: &str) {
        let Some(earlier) = self.admit_denial() else {
            return;
        };
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        tracing::warn!(
            connector,
            task,
            address = %addr,
            "plugin network access denied: {} {addr}: {why}{earlier}",
            use_name(what)
        );
    }

    pub(super) fn deny_lookup(&self, name: &str) {
        let Some(earlier) = self.admit_denial() else {
            return;
        };
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
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
    pub(super) fn lookup(&self, name: &str) -> Option<Vec<usize>> {
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

    /// Whether a TCP connect to `ip:port` is granted, without logging a denial (the HTTP
    /// path tries every address of a name and logs one line per refused request).
    pub(super) fn permits_tcp(&self, ip: IpAddr, port: u16) -> bool {
        self.policy
            .grants(Proto::Tcp, ip.to_canonical(), port, &lock(&self.resolved))
    }

    /// Whether the policy has any TCP entry (HTTP requests are granted by those).
    pub(super) fn grants_any_tcp(&self) -> bool {
        self.policy.tcp()
    }

    /// Logs one refused or failed plugin HTTP request, within the denial budget.
    pub(super) fn log_http(&self, message: &str) {
        let Some(earlier) = self.admit_denial() else {
            return;
        };
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        tracing::warn!(connector, task, "{message}{earlier}");
    }

    pub(super) fn record(&self, ip: IpAddr, entries: &[usize]) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn guard(tcp: &str) -> Guard {
        let mut policy = NetworkPolicy::default();
        policy.add(Proto::Tcp, tcp).unwrap();
        Guard::new(
            policy,
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
