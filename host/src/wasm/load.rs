//! Loading one component file into a [`WasmPlugin`]: the header checked, the component
//! compiled (or read from the cache), its spec read, and its exports checked against the kind
//! the spec declares, so a component built against a different contract is rejected at load.

use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::bindings::{
    self, packed_sink, packed_source, packed_transforms, plugin as wit_plugin, predicates,
    sink_commit, sink_connector, source_commit, source_connector, transform_plans, transforms,
};
use super::cache::{self, Entry};
use super::engine::{Limits, Owner, WasmEngine};
use super::plugin::{read_spec, KindIndices, PackedIndices, WasmPlugin};
use super::spec::kind_name;
use crate::spec::PluginKind;

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

pub(super) fn load_one(
    wasm: &WasmEngine,
    path: &Path,
    cache_dir: &Path,
    limits: &Limits,
) -> Loaded {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    check_header(&bytes)?;
    let entry = Entry::new(cache_dir, &bytes, &wasm.engine);
    let (component, _from_cache) = cache::component(&wasm.engine, &entry, &bytes, path)?;
    drop(bytes);

    let pre = wasm.linker.instantiate_pre(&component).map_err(|e| {
        format!("imports something the host does not provide (plugins may import sluice:connect/host, sluice:connect/metrics, sluice:connect/reporter, WASI 0.2 and wasi:http/outgoing-handler): {e:#}")
    })?;
    let plugin = wit_plugin::GuestIndices::new(&pre).map_err(|_| {
        format!(
            "{WRONG_WORLD}; it does not export {} (it exports: {})",
            bindings::PLUGIN_INTERFACE,
            sluice_exports(&component, wasm)
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
            sluice_exports(&component, wasm)
        )
    })?;

    // The optional packed fast path of the kind (see `wit/connect.wit`).
    let packed = match spec.kind {
        PluginKind::Source => packed_source::GuestIndices::new(&pre)
            .ok()
            .map(|p| (bindings::PACKED_SOURCE_INTERFACE, PackedIndices::Source(p))),
        PluginKind::Sink => packed_sink::GuestIndices::new(&pre)
            .ok()
            .map(|p| (bindings::PACKED_SINK_INTERFACE, PackedIndices::Sink(p))),
        PluginKind::Transform => packed_transforms::GuestIndices::new(&pre).ok().map(|p| {
            (
                bindings::PACKED_TRANSFORM_INTERFACE,
                PackedIndices::Transform(p),
            )
        }),
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

    // On a cold load we have a live instance: also type-check the kind interfaces, so a
    // component built against a different contract is rejected now, not at first use.
    if let Some(mut instance) = instance {
        let checked = instance.with(|store, i| match &kind {
            KindIndices::Source(x) => x.load(store, i).map(drop),
            KindIndices::Sink(x) => x.load(store, i).map(drop),
            KindIndices::Transform(x) => x.load(store, i).map(drop),
            KindIndices::Predicate(x) => x.load(store, i).map(drop),
        });
        checked.map_err(|e| format!("its {interface} export does not match the contract: {e}"))?;
        if let Some((packed_interface, p)) = &packed {
            let checked = instance.with(|store, i| match p {
                PackedIndices::Source(x) => x.load(store, i).map(drop),
                PackedIndices::Sink(x) => x.load(store, i).map(drop),
                PackedIndices::Transform(x) => x.load(store, i).map(drop),
            });
            checked.map_err(|e| {
                format!("its {packed_interface} export does not match the contract: {e}")
            })?;
        }
        if let Some(p) = &plans {
            instance
                .with(|store, i| p.load(store, i).map(drop))
                .map_err(|e| {
                    format!(
                        "its {} export does not match the contract: {e}",
                        bindings::TRANSFORM_PLANS_INTERFACE
                    )
                })?;
        }
        if let Some(c) = &source_commit {
            instance
                .with(|store, i| c.load(store, i).map(drop))
                .map_err(|e| {
                    format!(
                        "its {} export does not match the contract: {e}",
                        bindings::SOURCE_COMMIT_INTERFACE
                    )
                })?;
        }
        if let Some(c) = &sink_commit {
            instance
                .with(|store, i| c.load(store, i).map(drop))
                .map_err(|e| {
                    format!(
                        "its {} export does not match the contract: {e}",
                        bindings::SINK_COMMIT_INTERFACE
                    )
                })?;
        }
        cache::write_spec(&entry, &spec);
    }

    let imports: Vec<String> = component
        .component_type()
        .imports(&wasm.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let capabilities = granted_capabilities(&spec, imports.iter().map(String::as_str));
    let plugin = WasmPlugin {
        capabilities,
        path: path.to_path_buf(),
        spec,
        pre,
        plugin,
        kind,
        packed: packed.map(|(_, p)| p),
        plans,
        source_commit,
        sink_commit,
        limits: limits.clone(),
    };
    Ok((plugin, entry.cwasm))
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
