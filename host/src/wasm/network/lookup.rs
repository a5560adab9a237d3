//! The guarded `wasi:sockets/ip-name-lookup`: wasmtime-wasi's own, asked only for names that
//! match a host-name entry, with every address it returns recorded in the store's [`Guard`].
//!
//! Design decision: the interface is shadowed in the linker rather than wrapped per call, so
//! a plugin has no other way to resolve a name; a store without an allow-list falls through to
//! wasmtime-wasi's switch, which is off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self as wasi_network, ErrorCode, HostNetwork, IpAddress, Network,
};
use wasmtime_wasi::p2::{DynPollable, SocketError};
use wasmtime_wasi::sockets::{WasiSocketsCtxView, WasiSocketsView};

use super::guard::{lock, Guard};
use crate::wasm::engine::HostState;

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
