//! One instantiated plugin in its own `Store`: the unit a trap poisons.
//!
//! Design decision: every call goes through [`PluginInstance::call`], which arms a fresh
//! epoch deadline (so a stuck plugin traps after the call timeout instead of hanging the
//! task) and turns a wasmtime error into `TaskError::Trap`. After the first trap the
//! instance is poisoned: its state may be half-updated, so later calls return the same
//! error without entering the guest again. A breached limit is reported by its config key
//! and value ("plugin exceeded wasm.call.timeout.ms=2000 in poll").

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Store, WasmBacktrace};

use super::engine::{HostState, Limits, Owner};
use super::limits::{MEMORY_KEY, OUTPUT_KEY, TIMEOUT_KEY};
use super::wasi::{Sandbox, StderrTail};
use crate::runtime::task::TaskError;

pub(crate) struct PluginInstance {
    store: Store<HostState>,
    instance: Instance,
    deadline_ticks: u64,
    limits: Limits,
    stderr: StderrTail,
    poisoned: Option<String>,
}

impl PluginInstance {
    pub fn new(
        pre: &InstancePre<HostState>,
        sandbox: Sandbox,
        limits: &Limits,
        owner: Owner,
    ) -> Result<Self, TaskError> {
        let Sandbox {
            wasi,
            stderr,
            log,
            network,
        } = sandbox;
        let mut store = Store::new(
            pre.engine(),
            HostState::new(wasi, log, network, limits, owner),
        );
        store.limiter(|state| &mut state.limiter);
        // Bounds what the host copies out of the guest per call, aliasing included.
        store.set_hostcall_fuel(limits.lift_bytes());
        if super::engine::fuel_metering() {
            // Metered but never exhausted: only the cost of counting is measured.
            store
                .set_fuel(u64::MAX)
                .map_err(|e| TaskError::Fatal(format!("cannot give the store fuel: {e}")))?;
        }
        store.epoch_deadline_trap();
        let deadline_ticks = limits.deadline_ticks();
        store.set_epoch_deadline(deadline_ticks);
        let instance = match pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                let breach = breach(&e, &store, limits, "instantiation");
                return Err(TaskError::Trap(with_breach(
                    breach,
                    describe(&e, stderr.take()),
                )));
            }
        };
        Ok(PluginInstance {
            store,
            instance,
            deadline_ticks,
            limits: limits.clone(),
            stderr,
            poisoned: None,
        })
    }

    /// Calls into the guest with a fresh deadline; a trap poisons the instance.
    pub fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, TaskError> {
        self.call_as("a call", f)
    }

    /// [`call`](Self::call), naming the export (`poll`, `put`…) in a breach message.
    pub fn call_as<R>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, TaskError> {
        if let Some(trap) = &self.poisoned {
            return Err(TaskError::Trap(trap.clone()));
        }
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.stderr.clear();
        match f(&mut self.store, &self.instance) {
            Ok(r) => Ok(r),
            Err(e) => {
                let breach = breach(&e, &self.store, &self.limits, what);
                let message = with_breach(breach, describe(&e, self.stderr.take()));
                self.poisoned = Some(message.clone());
                Err(TaskError::Trap(message))
            }
        }
    }

    /// The limits this instance runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Like [`call`](Self::call) but for setup work (looking up exports) that cannot
    /// trap; a failure there means the component does not match its interface.
    pub fn with<R>(
        &mut self,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, TaskError> {
        f(&mut self.store, &self.instance).map_err(|e| TaskError::Fatal(format!("{e:#}")))
    }

    /// The store's host state (capability state set up between calls).
    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }
}

/// Which limit (if any) the failed call breached, as "plugin exceeded KEY=VALUE in WHAT".
fn breach(
    e: &wasmtime::Error,
    store: &Store<HostState>,
    limits: &Limits,
    what: &str,
) -> Option<String> {
    if let Some(desired) = store.data().limiter.breached {
        return Some(format!(
            "plugin exceeded {MEMORY_KEY}={} in {what} (it asked for {desired} bytes of memory)",
            limits.memory_bytes
        ));
    }
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return Some(format!(
            "plugin exceeded {TIMEOUT_KEY}={} in {what} (the call was interrupted at its deadline)",
            limits.timeout_ms()
        ));
    }
    if is_lift_budget_exhausted(e) {
        return Some(format!(
            "plugin exceeded {OUTPUT_KEY}={} in {what}: the data it passed to the host would \
             take more than {} bytes once copied out of the plugin (the lift budget: twice \
             {OUTPUT_KEY}, at least {} bytes; strings or lists pointing at the same plugin \
             memory count once per reference); nothing of it was kept",
            limits.output_bytes,
            limits.lift_bytes(),
            super::engine::MIN_LIFT_BYTES
        ));
    }
    None
}

/// wasmtime's "hostcall fuel" ran out while lifting: its error type is private, so it is
/// recognised by its message (wasmtime is pinned; `tests/integration/sandbox.rs` checks the message end to end).
fn is_lift_budget_exhausted(e: &wasmtime::Error) -> bool {
    e.chain().any(|c| {
        c.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

fn with_breach(breach: Option<String>, details: String) -> String {
    match breach {
        Some(b) => format!("{b}\n{details}"),
        None => details,
    }
}

/// A trap as one message: the trap reason, what the guest last wrote to stderr (a Rust
/// guest's panic message), and the wasm backtrace when there is one.
pub(crate) fn describe(e: &wasmtime::Error, stderr: Option<String>) -> String {
    let mut message = match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            "the call exceeded its time limit (epoch deadline reached: wasm trap: interrupt)"
                .to_owned()
        }
        Some(trap) => format!("{trap}"),
        None => format!("{:#}", e.root_cause()),
    };
    // A limiter-triggered memory.grow failure surfaces as an error with this context.
    if e.downcast_ref::<wasmtime::Trap>().is_none() && message.contains("memory") {
        message = format!("{message} (memory limit reached?)");
    }
    if let Some(stderr) = stderr {
        message.push_str("\nguest stderr:\n");
        message.push_str(&stderr);
    }
    if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
        let bt = bt.to_string();
        let bt = bt.trim_end();
        if !bt.is_empty() {
            message.push('\n');
            message.push_str(bt.strip_prefix("error while executing at ").unwrap_or(bt));
        }
    }
    message
}
