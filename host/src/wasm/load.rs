//! Loading one component file into a [`WasmPlugin`]: the header checked, the component
//! compiled (or read from the cache), its spec read, and its exports checked against the kind
//! the spec declares, so a component built against a different contract is rejected at load.
//!
//! Design decision: checking and linking are two steps. A scan checks a file once per
//! content and host contract and caches the outcome with the spec; a warm scan then offers
//! the plugin without deserializing it, and [`link_artifact`] links the cached artifact
//! when the plugin is first used (the same checks, so the same errors, should the cache
//! and the file disagree).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use wasmtime::component::{Component, InstancePre};

use super::bindings::{
    self, packed_sink, packed_source, packed_transforms, plugin as wit_plugin, predicates,
    sink_commit, sink_connector, source_commit, source_connector, transform_plans, transforms,
};
use super::cache::{self, Entry};
use super::engine::{HostState, Limits, Owner, WasmEngine};
use super::instance::PluginInstance;
use super::plugin::{read_spec, KindIndices, Linked, PackedIndices, WasmPlugin};
use super::spec::kind_name;
use crate::spec::{PluginKind, PluginSpec};

/// What loading one file produced: the plugin and its content identity, or why not.
pub(super) type Loaded = Result<(WasmPlugin, PathBuf), String>;

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

fn sluice_exports(component: &Component, wasm: &WasmEngine) -> String {
    let ty = component.component_type();
    let names: Vec<&str> = ty.exports(&wasm.engine).map(|(name, _)| name).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

/// Scans one file: checks it and learns its spec, keeping no component in memory when its
/// compiled artifact is in the cache (it is deserialized on first use, [`link_artifact`]).
///
/// - Warm (the cache holds the artifact and a spec this host's contract checked): the file
///   is read and hashed, nothing is deserialized.
/// - Otherwise the component is compiled (or deserialized), linked, its spec read (from an
///   instance when not cached) and its exports checked against the kind the spec declares,
///   exactly as before; the result is cached and the component dropped. Only when the artifact
///   could not be stored is the linked component kept, since it could not be loaded later.
pub(super) fn load_one(
    wasm: &'static WasmEngine,
    path: &Path,
    cache_dir: &Path,
    limits: &Limits,
) -> Loaded {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    check_header(&bytes)?;
    let entry = Entry::new(cache_dir, &bytes, &wasm.engine);
    if entry.cwasm.is_file() {
        if let Some(checked) = cache::read_checked(&entry) {
            drop(bytes);
            check_name(&checked.spec)?;
            let content = entry.cwasm.clone();
            let plugin = offer(
                wasm,
                path,
                entry,
                checked.spec,
                &checked.imports,
                limits,
                None,
            );
            return Ok((plugin, content));
        }
    }

    let (component, stored) = match cache::deserialize(&wasm.engine, &entry, path) {
        Some(component) => (component, true),
        None => cache::compile(&wasm.engine, &entry, &bytes)?,
    };
    drop(bytes);
    let (pre, plugin) = link_plugin(wasm, &component)?;

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
    check_name(&spec)?;
    let linked = link_kind(wasm, &component, pre, plugin, &spec)?;
    // On a cold load we have a live instance: also type-check the kind interfaces, so a
    // component built against a different contract is rejected now, not at first use.
    if let Some(instance) = instance {
        type_check(instance, &linked)?;
    }
    let imports = imports_of(&component, wasm);
    cache::write_spec(&entry, &spec, &imports);
    let resident = (!stored).then(|| Arc::new(linked));
    let content = entry.cwasm.clone();
    let plugin = offer(wasm, path, entry, spec, &imports, limits, resident);
    Ok((plugin, content))
}

/// Deserializes and links the component of a scanned plugin (its first use). A damaged or
/// missing artifact is rebuilt from the plugin file, as long as the file still holds what
/// was scanned.
pub(super) fn link_artifact(
    wasm: &WasmEngine,
    path: &Path,
    entry: &Entry,
    spec: &PluginSpec,
) -> Result<Linked, String> {
    if let Some(component) = cache::deserialize(&wasm.engine, entry, path) {
        let (pre, plugin) = link_plugin(wasm, &component)?;
        return link_kind(wasm, &component, pre, plugin, spec);
    }
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "its compiled artifact {} is missing or damaged, and the file cannot be read to rebuild it: {e}",
            entry.cwasm.display()
        )
    })?;
    if !entry.is_for(&bytes, &wasm.engine) {
        return Err(format!(
            "its compiled artifact {} is missing or damaged, and the file has changed since it was scanned (the next rescan of plugin.path offers the new version)",
            entry.cwasm.display()
        ));
    }
    let (component, _) = cache::compile(&wasm.engine, entry, &bytes)?;
    drop(bytes);
    let (pre, plugin) = link_plugin(wasm, &component)?;
    let linked = link_kind(wasm, &component, pre, plugin, spec)?;
    // Deleting the damaged artifact also deleted the cached spec; it holds again.
    cache::write_spec(entry, spec, &imports_of(&component, wasm));
    Ok(linked)
}

/// The plugin the registry offers: the spec and what it imports, the component only if given.
fn offer(
    wasm: &'static WasmEngine,
    path: &Path,
    artifact: Entry,
    spec: PluginSpec,
    imports: &[String],
    limits: &Limits,
    linked: Option<Arc<Linked>>,
) -> WasmPlugin {
    WasmPlugin {
        capabilities: granted_capabilities(&spec, imports.iter().map(String::as_str)),
        imports_reporter: imports.iter().any(|i| i == bindings::REPORTER_INTERFACE),
        path: path.to_path_buf(),
        spec,
        limits: limits.clone(),
        wasm,
        artifact,
        linked: Mutex::new(linked),
    }
}

fn check_name(spec: &PluginSpec) -> Result<(), String> {
    if spec.name.trim().is_empty() {
        return Err("its spec has an empty name".into());
    }
    Ok(())
}

fn imports_of(component: &Component, wasm: &WasmEngine) -> Vec<String> {
    component
        .component_type()
        .imports(&wasm.engine)
        .map(|(n, _)| n.to_owned())
        .collect()
}

/// Links `component` against the host and finds the common `plugin` export.
fn link_plugin(
    wasm: &WasmEngine,
    component: &Component,
) -> Result<(InstancePre<HostState>, wit_plugin::GuestIndices), String> {
    let pre = wasm.linker.instantiate_pre(component).map_err(|e| {
        format!("imports something the host does not provide (plugins may import sluice:connect/host, sluice:connect/metrics, sluice:connect/reporter, WASI 0.2 and wasi:http/outgoing-handler): {e:#}")
    })?;
    let plugin = wit_plugin::GuestIndices::new(&pre).map_err(|_| {
        format!(
            "{WRONG_WORLD}; it does not export {} (it exports: {})",
            bindings::PLUGIN_INTERFACE,
            sluice_exports(component, wasm)
        )
    })?;
    Ok((pre, plugin))
}

/// Resolves the exports of the kind `spec` declares (required) and the optional ones.
fn link_kind(
    wasm: &WasmEngine,
    component: &Component,
    pre: InstancePre<HostState>,
    plugin: wit_plugin::GuestIndices,
    spec: &PluginSpec,
) -> Result<Linked, String> {
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
            sluice_exports(component, wasm)
        )
    })?;

    // The optional packed fast path of the kind (see `wit/connect.wit`).
    let packed = match spec.kind {
        PluginKind::Source => packed_source::GuestIndices::new(&pre)
            .ok()
            .map(PackedIndices::Source),
        PluginKind::Sink => packed_sink::GuestIndices::new(&pre)
            .ok()
            .map(PackedIndices::Sink),
        PluginKind::Transform => packed_transforms::GuestIndices::new(&pre)
            .ok()
            .map(PackedIndices::Transform),
        PluginKind::Predicate => None,
    };
    // Struct plans build on the packed transformer resource, so they count only with it.
    let plans = match (&packed, spec.kind) {
        (Some(_), PluginKind::Transform) => transform_plans::GuestIndices::new(&pre).ok(),
        _ => None,
    };
    // Kafka Connect's `SourceTask.commit()`, optional for sources.
    let source_commit = match spec.kind {
        PluginKind::Source => source_commit::GuestIndices::new(&pre).ok(),
        _ => None,
    };
    // Kafka Connect's `SinkTask.preCommit`/`close`: its functions borrow the packed sink
    // task, so they count only with `packed-sink`.
    let sink_commit = match (&packed, spec.kind) {
        (Some(_), PluginKind::Sink) => sink_commit::GuestIndices::new(&pre).ok(),
        _ => None,
    };
    Ok(Linked {
        pre,
        plugin,
        kind,
        packed,
        plans,
        source_commit,
        sink_commit,
    })
}

/// Type-checks every interface `linked` resolved against a live instance.
fn type_check(mut instance: PluginInstance, linked: &Linked) -> Result<(), String> {
    let interface = match &linked.kind {
        KindIndices::Source(_) => bindings::SOURCE_INTERFACE,
        KindIndices::Sink(_) => bindings::SINK_INTERFACE,
        KindIndices::Transform(_) => bindings::TRANSFORM_INTERFACE,
        KindIndices::Predicate(_) => bindings::PREDICATE_INTERFACE,
    };
    let checked = instance.with(|store, i| match &linked.kind {
        KindIndices::Source(x) => x.load(store, i).map(drop),
        KindIndices::Sink(x) => x.load(store, i).map(drop),
        KindIndices::Transform(x) => x.load(store, i).map(drop),
        KindIndices::Predicate(x) => x.load(store, i).map(drop),
    });
    checked.map_err(|e| format!("its {interface} export does not match the contract: {e}"))?;
    if let Some(p) = &linked.packed {
        let packed_interface = match p {
            PackedIndices::Source(_) => bindings::PACKED_SOURCE_INTERFACE,
            PackedIndices::Sink(_) => bindings::PACKED_SINK_INTERFACE,
            PackedIndices::Transform(_) => bindings::PACKED_TRANSFORM_INTERFACE,
        };
        let checked = instance.with(|store, i| match p {
            PackedIndices::Source(x) => x.load(store, i).map(drop),
            PackedIndices::Sink(x) => x.load(store, i).map(drop),
            PackedIndices::Transform(x) => x.load(store, i).map(drop),
        });
        checked.map_err(|e| {
            format!("its {packed_interface} export does not match the contract: {e}")
        })?;
    }
    if let Some(p) = &linked.plans {
        instance
            .with(|store, i| p.load(store, i).map(drop))
            .map_err(|e| {
                format!(
                    "its {} export does not match the contract: {e}",
                    bindings::TRANSFORM_PLANS_INTERFACE
                )
            })?;
    }
    if let Some(c) = &linked.source_commit {
        instance
            .with(|store, i| c.load(store, i).map(drop))
            .map_err(|e| {
                format!(
                    "its {} export does not match the contract: {e}",
                    bindings::SOURCE_COMMIT_INTERFACE
                )
            })?;
    }
    if let Some(c) = &linked.sink_commit {
        instance
            .with(|store, i| c.load(store, i).map(drop))
            .map_err(|e| {
                format!(
                    "its {} export does not match the contract: {e}",
                    bindings::SINK_COMMIT_INTERFACE
                )
            })?;
    }
    Ok(())
}

/// The capabilities a component imports, each with the connector keys that grant it: its
/// spec's file keys for the filesystem, `wasm.network.allow` for the network (the sandbox
/// denies both by default, docs/sandbox.md); the rest are always available.
fn granted_capabilities<'a>(
    spec: &crate::spec::PluginSpec,
    imports: impl IntoIterator<Item = &'a str>,
) -> Vec<crate::runtime::plugin::PluginCapability> {
    super::inspect::capabilities(imports)
        .into_iter()
        .map(|c| {
            let granted_by: Vec<String> = match c.name {
                "filesystem" => spec
                    .config
                    .iter()
                    .filter(|d| d.file_access.is_some())
                    .map(|d| d.name.clone())
                    .collect(),
                "sockets" => vec![
                    super::network::NETWORK_KEY.to_string(),
                    super::network::NETWORK_UDP_KEY.to_string(),
                ],
                "http" => vec![super::network::NETWORK_KEY.to_string()],
                _ => Vec::new(),
            };
            crate::runtime::plugin::PluginCapability {
                name: c.name.to_string(),
                granted_by,
            }
        })
        .collect()
}
