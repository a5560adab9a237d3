//! The plugin registry: scans `plugin.path`, loads every valid Sluice component and records
//! every rejected file with a precise reason.
//!
//! Design decision: the kind comes from the plugin's own `spec()` (read through the common
//! `sluice:connect/plugin@0.1.0` export, or from the spec cached with the artifact), and is
//! then *checked* against the component's exports — the kind is declared, never guessed by
//! probing. One bad file never fails the worker: it is logged and listed in `rejected()`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Component;

use super::bindings::{
    self, plugin as wit_plugin, predicates, sink_connector, source_connector, transforms,
};
use super::cache::{self, Entry};
use super::engine::{self, Limits, Owner, Runtime};
use super::plugin::{read_spec, KindIndices, WasmPlugin};
use super::spec::kind_name;
use super::WasmError;
use crate::runtime::plugin::{Plugin, PluginCatalog, PluginKind, RejectedPlugin};

/// Every plugin found in `plugin.path`.
pub struct WasmPlugins {
    plugins: Vec<Arc<WasmPlugin>>,
    rejected: Vec<RejectedPlugin>,
}

impl WasmPlugins {
    /// Scans `plugin_path` (directories, scanned recursively for `*.wasm`, or individual
    /// `.wasm` files), loads every valid Sluice component, logs and records every rejected
    /// file, never fails because of one bad file. `cache_dir`: where precompiled artifacts go.
    pub fn load(plugin_path: &[PathBuf], cache_dir: &Path) -> Result<Self, WasmError> {
        Self::load_with_limits(plugin_path, cache_dir, Limits::default())
    }

    /// [`load`](Self::load) with explicit per-instance limits.
    pub fn load_with_limits(
        plugin_path: &[PathBuf],
        cache_dir: &Path,
        limits: Limits,
    ) -> Result<Self, WasmError> {
        let runtime = engine::runtime()?;
        if let Err(e) = std::fs::create_dir_all(cache_dir) {
            // Not fatal: plugins still load, they are just compiled on every start.
            tracing::warn!(cache = %cache_dir.display(), "cannot create the plugin cache directory: {e}");
        }
        let mut registry = WasmPlugins {
            plugins: Vec::new(),
            rejected: Vec::new(),
        };
        for file in candidates(plugin_path, &mut registry.rejected) {
            match load_one(runtime, &file, cache_dir, &limits) {
                Ok(plugin) => registry.add(plugin),
                Err(reason) => registry.reject(file, reason),
            }
        }
        for p in &registry.plugins {
            tracing::info!(plugin = p.spec.name.as_str(), kind = kind_name(p.spec.kind), version = p.spec.version.as_str(), file = %p.path.display(), "loaded plugin");
        }
        Ok(registry)
    }

    /// The files that were not loaded, with the reason.
    pub fn rejected(&self) -> &[RejectedPlugin] {
        &self.rejected
    }

    fn reject(&mut self, path: PathBuf, reason: String) {
        tracing::warn!(file = %path.display(), "rejected plugin: {reason}");
        self.rejected.push(RejectedPlugin { path, reason });
    }

    fn add(&mut self, plugin: WasmPlugin) {
        let names = || std::iter::once(&plugin.spec.name).chain(&plugin.spec.aliases);
        let clash = self.plugins.iter().find_map(|existing| {
            let theirs: Vec<&String> = std::iter::once(&existing.spec.name)
                .chain(&existing.spec.aliases)
                .collect();
            names()
                .find(|n| theirs.contains(n))
                .map(|n| (existing, n.clone()))
        });
        match clash {
            None => self.plugins.push(Arc::new(plugin)),
            Some((existing, name)) => {
                let reason = format!(
                    "duplicate plugin name `{name}`: already provided by {} (plugin `{}`); keeping that one",
                    existing.path.display(),
                    existing.spec.name
                );
                self.reject(plugin.path, reason);
            }
        }
    }
}

impl PluginCatalog for WasmPlugins {
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.plugins
            .iter()
            .find(|p| p.spec.answers_to(class))
            .map(|p| p.clone() as Arc<dyn Plugin>)
    }
    fn plugins(&self) -> Vec<Arc<dyn Plugin>> {
        self.plugins
            .iter()
            .map(|p| p.clone() as Arc<dyn Plugin>)
            .collect()
    }
}

/// The files to try, in a stable order: directories recursively (`*.wasm` only), files as given.
fn candidates(plugin_path: &[PathBuf], rejected: &mut Vec<RejectedPlugin>) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, rejected: &mut Vec<RejectedPlugin>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot read plugin directory: {e}");
                rejected.push(RejectedPlugin {
                    path: dir.to_path_buf(),
                    reason: format!("cannot read directory: {e}"),
                });
                return;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out, rejected);
            } else if path.extension().is_some_and(|e| e == "wasm") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for entry in plugin_path {
        if entry.is_dir() {
            walk(entry, &mut out, rejected);
        } else if entry.exists() {
            out.push(entry.clone());
        } else {
            tracing::warn!(path = %entry.display(), "plugin.path entry does not exist");
            rejected.push(RejectedPlugin {
                path: entry.clone(),
                reason: "plugin.path entry does not exist".into(),
            });
        }
    }
    out
}

const WRONG_WORLD: &str =
    "exports the wrong world: expected one of source/sink/transform/predicate (package sluice:connect@0.1.0)";

/// What kind of file `bytes` is, judged from the WebAssembly header alone.
pub(crate) fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly file (no `\\0asm` header)".into());
    }
    match &bytes[4..8] {
        [1, 0, 0, 0] => Err(format!(
            "is a core WebAssembly module, not a component: {WRONG_WORLD}; build it for wasm32-wasip2 \
             (or wrap it with `wasm-tools component new`)"
        )),
        [_, _, 1, 0] => Ok(()),
        other => Err(format!("unsupported WebAssembly version/layer {other:02x?}")),
    }
}

fn sluice_exports(component: &Component, runtime: &Runtime) -> String {
    let ty = component.component_type();
    let names: Vec<&str> = ty.exports(&runtime.engine).map(|(name, _)| name).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

fn load_one(
    runtime: &Runtime,
    path: &Path,
    cache_dir: &Path,
    limits: &Limits,
) -> Result<WasmPlugin, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    check_header(&bytes)?;
    let entry = Entry::new(cache_dir, &bytes, &runtime.engine);
    let (component, _from_cache) = cache::component(&runtime.engine, &entry, &bytes, path)?;
    drop(bytes);

    let pre = runtime.linker.instantiate_pre(&component).map_err(|e| {
        format!("imports something the host does not provide (plugins may import sluice:connect/host and WASI 0.2): {e:#}")
    })?;
    let plugin = wit_plugin::GuestIndices::new(&pre).map_err(|_| {
        format!(
            "{WRONG_WORLD}; it does not export {} (it exports: {})",
            bindings::PLUGIN_INTERFACE,
            sluice_exports(&component, runtime)
        )
    })?;

    let owner = Owner {
        connector: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        task: "spec".into(),
    };
    let (spec, instance) = match cache::read_spec(&entry) {
        Some(spec) => (spec, None),
        None => {
            let (spec, instance) = read_spec(&pre, &plugin, limits, owner)
                .map_err(|e| format!("calling spec() failed: {e}"))?;
            (spec, Some(instance))
        }
    };
    if spec.name.trim().is_empty() {
        return Err("its spec has an empty name".into());
    }

    let (interface, kind) = match spec.kind {
        PluginKind::Source => (
            bindings::SOURCE_INTERFACE,
            source_connector::GuestIndices::new(&pre).map(KindIndices::Source),
        ),
        PluginKind::Sink => (
            bindings::SINK_INTERFACE,
            sink_connector::GuestIndices::new(&pre).map(KindIndices::Sink),
        ),
        PluginKind::Transform => (
            bindings::TRANSFORM_INTERFACE,
            transforms::GuestIndices::new(&pre).map(KindIndices::Transform),
        ),
        PluginKind::Predicate => (
            bindings::PREDICATE_INTERFACE,
            predicates::GuestIndices::new(&pre).map(KindIndices::Predicate),
        ),
    };
    let kind = kind.map_err(|_| {
        format!(
            "its spec says it is a {} plugin (`{}`), but it does not export {interface} (it exports: {})",
            kind_name(spec.kind),
            spec.name,
            sluice_exports(&component, runtime)
        )
    })?;

    // On a cold load we have a live instance: also type-check the kind interface, so a
    // component built against a different contract is rejected now, not at first use.
    if let Some(mut instance) = instance {
        let checked = instance.with(|store, i| match &kind {
            KindIndices::Source(x) => x.load(store, i).map(drop),
            KindIndices::Sink(x) => x.load(store, i).map(drop),
            KindIndices::Transform(x) => x.load(store, i).map(drop),
            KindIndices::Predicate(x) => x.load(store, i).map(drop),
        });
        checked.map_err(|e| format!("its {interface} export does not match the contract: {e}"))?;
        cache::write_spec(&entry, &spec);
    }

    Ok(WasmPlugin {
        path: path.to_path_buf(),
        spec,
        pre,
        plugin,
        kind,
        limits: limits.clone(),
    })
}
