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

//!
//! Parts: `policy` (the allow-lists' grammar and what an entry grants), `guard` (one store's
//! enforcement: the address check, what its lookups resolved, the denial log), `lookup`
//! (the guarded `wasi:sockets/ip-name-lookup`) and `http` (outgoing `wasi:http` requests,
//! granted by the same TCP entries, with the `wasm.http.*` limits).

mod guard;
mod http;
mod lookup;
mod policy;

pub(crate) use guard::Guard;
pub(crate) use http::HttpHooks;
pub use http::{
    HttpLimits, HTTP_MAX_CONCURRENT_KEY, HTTP_REQUEST_MAX_KEY, HTTP_RESPONSE_MAX_KEY,
    HTTP_TIMEOUT_KEY, HTTP_TLS_INSECURE_KEY,
};
pub(crate) use lookup::add_name_lookup_to_linker;
pub(crate) use policy::Proto;
pub use policy::{NetworkPolicy, NETWORK_KEY, NETWORK_UDP_KEY};
