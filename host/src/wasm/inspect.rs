//! `sluice plugins inspect FILE.wasm`: what a component file is and what it asks for.
//!
//! Design decision: the capabilities come from the component's *type* (its imports), not
//! from its spec, because the type is what the plugin could actually call — a plugin cannot
//! under-declare them. The spec is then read exactly as the registry reads it (a fully
//! sandboxed instance under default limits); if that fails the imports are still shown.

use std::path::{Path, PathBuf};

use super::bindings::plugin as wit_plugin;
use super::cache::{self, Entry};
use super::engine::{self, Limits, Owner};
use super::load::check_header;
use super::plugin::read_spec;
use super::WasmError;
use crate::spec::PluginSpec;

/// Why a file could not be inspected at all.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a WebAssembly component: {reason}", path.display())]
    NotAComponent { path: PathBuf, reason: String },
    #[error(transparent)]
    Engine(#[from] WasmError),
}

/// One group of imported interfaces (`filesystem`, `sockets`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// Short name of the capability: filesystem, sockets, http, clocks, random, cli, io,
    /// sluice-host or other.
    pub name: &'static str,
    /// What it means for the sandbox, one line.
    pub meaning: &'static str,
    /// The imported interfaces, e.g. `wasi:filesystem/types@0.2.0`.
    pub interfaces: Vec<String>,
}

/// What `inspect` found.
#[derive(Debug)]
pub struct Inspection {
    pub path: PathBuf,
    /// The plugin's spec, or why it could not be read.
    pub spec: Result<PluginSpec, String>,
    pub capabilities: Vec<Capability>,
    pub exports: Vec<String>,
}

const GROUPS: &[(&str, &str, &str)] = &[
    (
        "wasi:filesystem",
        "filesystem",
        "files: only directories the connector config grants (deny by default)",
    ),
    (
        "wasi:sockets",
        "sockets",
        "network sockets: only what the connector's wasm.network.allow(.udp) grants (deny by default)",
    ),
    (
        "wasi:http",
        "http",
        "outgoing HTTP: only to what the connector's wasm.network.allow grants, within the wasm.http.* limits (deny by default)",
    ),
    ("wasi:clocks", "clocks", "wall and monotonic clocks"),
    ("wasi:random", "random", "random numbers"),
    (
        "wasi:cli",
        "cli",
        "stdio (to the host log), environment (empty), exit",
    ),
    (
        "wasi:io",
        "io",
        "streams and polling (plumbing for the others)",
    ),
    (
        "sluice:connect",
        "sluice-host",
        "the Sluice host API (logging, plugin metrics; a sink's reporter topics)",
    ),
];

/// Groups import names by capability, in a stable order.
pub(crate) fn capabilities<'a>(imports: impl IntoIterator<Item = &'a str>) -> Vec<Capability> {
    let mut out: Vec<Capability> = Vec::new();
    for import in imports {
        let (name, meaning) = GROUPS
            .iter()
            .find(|(prefix, _, _)| {
                import
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('@'))
            })
            .map(|(_, n, m)| (*n, *m))
            .unwrap_or((
                "other",
                "not a WASI 0.2 or Sluice interface (loading fails)",
            ));
        match out.iter_mut().find(|c| c.name == name) {
            Some(c) => c.interfaces.push(import.to_owned()),
            None => out.push(Capability {
                name,
                meaning,
                interfaces: vec![import.to_owned()],
            }),
        }
    }
    let rank = |n: &str| {
        GROUPS
            .iter()
            .position(|(_, g, _)| *g == n)
            .unwrap_or(GROUPS.len())
    };
    out.sort_by_key(|c| rank(c.name));
    for c in &mut out {
        c.interfaces.sort();
    }
    out
}

/// Reads a component file's spec and imports. `Err` only when the file is unreadable or
/// not a component; a component whose spec cannot be read still yields its imports.
pub fn inspect(path: &Path) -> Result<Inspection, InspectError> {
    let wasm = engine::shared()?;
    let bytes = std::fs::read(path).map_err(|source| InspectError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_component = |reason: String| InspectError::NotAComponent {
        path: path.to_path_buf(),
        reason,
    };
    check_header(&bytes).map_err(not_component)?;
    let cache_dir = super::default_cache_dir();
    let entry = Entry::new(&cache_dir, &bytes, &wasm.engine);
    let (component, _) =
        cache::component(&wasm.engine, &entry, &bytes, path).map_err(not_component)?;
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&wasm.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let exports: Vec<String> = ty
        .exports(&wasm.engine)
        .map(|(n, _)| n.to_owned())
        .collect();

    let spec = (|| {
        let pre = wasm
            .linker
            .instantiate_pre(&component)
            .map_err(|e| format!("it imports something the host does not provide: {e:#}"))?;
        let plugin = wit_plugin::GuestIndices::new(&pre)
            .map_err(|_| format!("it does not export {}", super::bindings::PLUGIN_INTERFACE))?;
        let owner = Owner {
            connector: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            task: "inspect".into(),
        };
        read_spec(&pre, &plugin, &Limits::default(), owner)
            .map(|(spec, _)| spec)
            .map_err(|e| format!("calling spec() failed: {e}"))
    })();

    Ok(Inspection {
        path: path.to_path_buf(),
        spec,
        capabilities: capabilities(imports.iter().map(String::as_str)),
        exports,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_grouped_by_capability_in_a_stable_order() {
        let caps = capabilities([
            "wasi:random/random@0.2.0",
            "wasi:filesystem/types@0.2.0",
            "sluice:connect/host@0.1.0",
            "wasi:filesystem/preopens@0.2.0",
            "wasi:sockets/tcp@0.2.0",
            "wasi:filesystemx/evil@1.0.0",
        ]);
        let names: Vec<&str> = caps.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["filesystem", "sockets", "random", "sluice-host", "other"]
        );
        assert_eq!(
            caps[0].interfaces,
            [
                "wasi:filesystem/preopens@0.2.0",
                "wasi:filesystem/types@0.2.0"
            ]
        );
        assert_eq!(caps[4].interfaces, ["wasi:filesystemx/evil@1.0.0"]);
    }
}
