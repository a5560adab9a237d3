//! The process-wide `wasmtime::Engine`, its `Linker`, the epoch ticker and per-store limits.
//!
//! Design decision: there is exactly one engine per process (a `OnceLock`), because compiled
//! components are tied to the engine that compiled them and the epoch ticker is per engine.
//! CPU time is bounded per *call* with epoch interruption (a ticker thread bumps the epoch
//! every [`EPOCH_TICK`]; every call into a plugin first sets a fresh deadline), memory per
//! *store* with `StoreLimits`. Both surface as traps, which poison only that one instance.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::{host, AllKinds};
use super::guest_log::{self, LogBudget};
use super::limits::Limiter;
use super::network::{Guard, HttpHooks, HttpLimits, NetworkPolicy};
use super::reporter::ReportBuffer;
use super::WasmError;

/// How often the ticker thread advances the engine's epoch.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits applied to every plugin instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory per store (all memories of the instance together), in bytes.
    pub memory_bytes: usize,
    /// Maximum wall time of one call into the plugin; a call running longer traps.
    pub call_timeout: Duration,
    /// Maximum (estimated) host-side size of what one call may return, in bytes.
    pub output_bytes: usize,
    /// What the plugin may reach on the network (`wasm.network.allow*`); empty: nothing.
    pub network: NetworkPolicy,
    /// Limits of its outgoing `wasi:http` requests (`wasm.http.*`).
    pub http: HttpLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(60),
            output_bytes: 64 << 20,
            network: NetworkPolicy::default(),
            http: HttpLimits::default(),
        }
    }
}

impl Limits {
    /// The call timeout in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let ticks = self.call_timeout.as_millis() / EPOCH_TICK.as_millis().max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }

    /// How many bytes the host may allocate when it copies (lifts) what the plugin passes it
    /// in one call: a call's result, or the arguments of one import call. wasmtime counts
    /// every string/list byte and list element it copies ("hostcall fuel"), so a list of N
    /// strings all pointing at the same guest bytes costs N times their length — the
    /// amplification a guest-memory bound alone would miss. Twice `wasm.output.max.bytes`
    /// (the lifted form is larger than the estimate the output cap checks), at least
    /// [`MIN_LIFT_BYTES`] so a small output cap does not starve log lines and HTTP writes.
    pub(crate) fn lift_bytes(&self) -> usize {
        self.output_bytes.saturating_mul(2).max(MIN_LIFT_BYTES)
    }
}

/// The floor of [`Limits::lift_bytes`].
pub(crate) const MIN_LIFT_BYTES: usize = 16 << 20;

/// Who a store belongs to; tags logs and guest output.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub connector: String,
    /// Task number, or a label such as `validate` for host-internal calls.
    pub task: String,
}

/// The data of every `Store`: WASI state, limits, the log budget and the owner for log
/// tagging.
pub(crate) struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub log: LogBudget,
    pub owner: Owner,
    /// The network allow-list enforcement of this store, if it has any network.
    pub network: Option<Arc<Guard>>,
    /// Outgoing `wasi:http`: wasmtime-wasi-http's context and our checks.
    pub http: WasiHttpCtx,
    pub http_hooks: HttpHooks,
    /// What a sink reports during `put` (the `reporter` import).
    pub reports: ReportBuffer,
    /// The task's plugin-defined metrics (`None`: a host-internal store such as `validate`).
    pub plugin_metrics: Option<Arc<crate::metrics::plugin::PluginMetrics>>,
}

impl HostState {
    pub fn new(
        wasi: WasiCtx,
        log: LogBudget,
        network: Option<Arc<Guard>>,
        limits: &Limits,
        owner: Owner,
    ) -> Self {
        // Without a network grant, HTTP requests meet a guard that grants nothing (and logs
        // each refusal, rate-limited, like any other denial).
        let guard = network
            .clone()
            .unwrap_or_else(|| Arc::new(Guard::new(NetworkPolicy::default(), owner.clone())));
        let plugin_metrics = owner
            .task
            .parse::<u32>()
            .ok()
            .map(|task| crate::metrics::plugin::for_task(&owner.connector, task));
        HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(limits, &owner),
            plugin_metrics,
            log,
            owner,
            network,
            http: WasiHttpCtx::new(),
            http_hooks: HttpHooks::new(guard, limits.http.clone()),
            reports: ReportBuffer::default(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.http_hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        if !self.log.admit() {
            return;
        }
        let message = guest_log::truncate(&message);
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        match level {
            host::LogLevel::Trace => tracing::trace!(connector, task, "{message}"),
            host::LogLevel::Debug => tracing::debug!(connector, task, "{message}"),
            host::LogLevel::Info => tracing::info!(connector, task, "{message}"),
            host::LogLevel::Warn => tracing::warn!(connector, task, "{message}"),
            host::LogLevel::Error => tracing::error!(connector, task, "{message}"),
        }
    }
}

// The `types` interface has no functions; bindgen still wants it implemented.
impl super::bindings::types::Host for HostState {}

/// Whether `SLUICE_WASM_FUEL=1` asked for fuel metering (read once per process).
pub(crate) fn fuel_metering() -> bool {
    static FUEL: OnceLock<bool> = OnceLock::new();
    *FUEL.get_or_init(|| std::env::var_os("SLUICE_WASM_FUEL").is_some_and(|v| v == "1"))
}

/// The engine and the linker every plugin is instantiated with.
pub(crate) struct WasmEngine {
    pub engine: Engine,
    pub linker: Linker<HostState>,
}

/// The process-wide engine, created (with its ticker thread) on first use.
pub(crate) fn shared() -> Result<&'static WasmEngine, WasmError> {
    static ENGINE: OnceLock<Result<WasmEngine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| WasmError::Engine(e.clone()))
}

fn build() -> wasmtime::Result<WasmEngine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // `SLUICE_WASM_PROFILER=perfmap` writes /tmp/perf-<pid>.map so `perf report` names the
    // plugins' functions (build them with symbols: `CARGO_PROFILE_RELEASE_STRIP=false`); a
    // development aid for docs/benchmarks.md, off by default.
    if std::env::var_os("SLUICE_WASM_PROFILER").is_some_and(|v| v == "perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // `SLUICE_WASM_FUEL=1` compiles fuel metering into every plugin (each store gets
    // unlimited fuel): a development aid that measures what metering would cost
    // (docs/benchmarks.md, "Fuel"); off by default, because epoch interruption bounds CPU time
    // more cheaply and the time spent in calls is what `sluice_plugin_call_seconds` reports.
    if fuel_metering() {
        config.consume_fuel(true);
    }
    // Traps carry the guest backtrace (wasmtime's default), which ends up in the task's
    // FAILED trace.
    let engine = Engine::new(&config)?;

    let mut linker = Linker::<HostState>::new(&engine);
    // WASI p2, synchronous: every task calls its plugin from its own OS thread. What a guest
    // can actually reach is decided per store by its `WasiCtx` (see `wasi.rs`).
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    super::network::add_name_lookup_to_linker(&mut linker)?;
    // `wasi:http/outgoing-handler` and `types`, for every plugin: what a request may reach is
    // decided per store by its `HttpHooks` (nothing without `wasm.network.allow`).
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    AllKinds::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;

    let weak = engine.weak();
    std::thread::Builder::new()
        .name("sluice-wasm-epoch".into())
        .spawn(move || {
            // Ends when the engine is gone (never, for the process-wide one).
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(WasmEngine { engine, linker })
}
