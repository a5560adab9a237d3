//! The on-disk cache of precompiled components and their specs.
//!
//! Design decision: an entry is named `<sha256 of the .wasm>-<hash of the engine's
//! precompile compatibility hash>.cwasm`, so a changed plugin file or a different wasmtime
//! build/config can never pick up a stale artifact; the plugin's spec is stored next to it
//! (`….spec.json`) with the component's imports and the host contract that checked it
//! ([`host_contract`]), so a warm start neither instantiates nor deserializes anything: the
//! registry serves the spec and the artifact is deserialized when a connector first needs it.
//! Files are written atomically (temp file + rename). Only files we wrote are deserialized
//! (read into memory, not mmapped), and an entry that fails to load is deleted and rebuilt,
//! never trusted.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::spec::{ConfigDef, ConfigType, FileAccess, Importance, PluginKind, PluginSpec};

/// Where one component's cache entry lives.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub cwasm: PathBuf,
    pub spec: PathBuf,
}

impl Entry {
    /// Whether `wasm` (a plugin file's bytes) is the content this entry was made for.
    pub fn is_for(&self, wasm: &[u8], engine: &Engine) -> bool {
        let dir = self.cwasm.parent().unwrap_or(Path::new("."));
        Entry::new(dir, wasm, engine).cwasm == self.cwasm
    }

    pub fn new(cache_dir: &Path, wasm: &[u8], engine: &Engine) -> Entry {
        let file_hash = hex(&Sha256::digest(wasm));
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = hex(&hasher.0.finalize()[..8]);
        let stem = format!("{file_hash}-{engine_hash}");
        Entry {
            cwasm: cache_dir.join(format!("{stem}.cwasm")),
            spec: cache_dir.join(format!("{stem}.spec.json")),
        }
    }
}

/// A `Hasher` feeding SHA-256, so the key is stable across processes (unlike `DefaultHasher`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0 // unused: we read the full digest
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the component from the cache, or compiles it and stores the artifact.
/// Returns whether the cache was used. `source` only names the plugin file in messages.
pub(crate) fn component(
    engine: &Engine,
    entry: &Entry,
    wasm: &[u8],
    source: &Path,
) -> Result<(Component, bool), String> {
    if let Some(component) = deserialize(engine, entry, source) {
        return Ok((component, true));
    }
    compile(engine, entry, wasm).map(|(component, _)| (component, false))
}

/// The component from the cached artifact, or `None` when there is none or it is unusable
/// (then it is deleted, with its spec, so it gets rebuilt). `source` names the plugin file
/// in messages.
pub(crate) fn deserialize(engine: &Engine, entry: &Entry, source: &Path) -> Option<Component> {
    let artifact = std::fs::read(&entry.cwasm).ok()?;
    // We read the artifact into memory instead of `Component::deserialize_file`: that
    // one mmaps the file, and anything truncating or rewriting it in place later (a
    // user cleaning the cache, another tool) would crash the worker with SIGBUS.
    //
    // SAFETY: the file is one we wrote with `precompile_component` under a name that
    // includes the engine's compatibility hash; if it was damaged, wasmtime's header and
    // ELF checks reject it and the caller rebuilds it.
    match unsafe { Component::deserialize(engine, &artifact) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(
                plugin = %source.display(),
                cache = %entry.cwasm.display(),
                "discarding unusable precompiled plugin, recompiling: {e:#}"
            );
            let _ = std::fs::remove_file(&entry.cwasm);
            let _ = std::fs::remove_file(&entry.spec);
            None
        }
    }
}

/// Compiles `wasm` and stores the artifact; also returns whether it was stored (when not,
/// the component cannot be deserialized again later and must be kept if it is needed).
pub(crate) fn compile(
    engine: &Engine,
    entry: &Entry,
    wasm: &[u8],
) -> Result<(Component, bool), String> {
    let artifact = engine
        .precompile_component(wasm)
        .map_err(|e| format!("does not compile: {e:#}"))?;
    let stored = match write_atomic(&entry.cwasm, &artifact) {
        Ok(()) => true,
        Err(e) => {
            // Not fatal: the plugin works, it is just compiled again next start.
            tracing::warn!(cache = %entry.cwasm.display(), "cannot write precompiled plugin to the cache: {e}");
            false
        }
    };
    // SAFETY: `artifact` was produced by `precompile_component` of this very engine just now.
    let component = unsafe { Component::deserialize(engine, &artifact) }
        .map_err(|e| format!("does not load: {e:#}"))?;
    Ok((component, stored))
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The contract a cached check was made against: this host's version and its WIT files. A
/// spec file written by another host is still a valid spec, but the component is checked
/// again (linked against this host's imports) before it is trusted without deserializing it.
pub(crate) fn host_contract() -> &'static str {
    static CONTRACT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CONTRACT.get_or_init(|| {
        let mut wit = Sha256::new();
        wit.update(include_str!("../../../wit/connect.wit"));
        wit.update(include_str!("../../../wit/worlds.wit"));
        format!(
            "sluice {} wit {}",
            env!("CARGO_PKG_VERSION"),
            hex(&wit.finalize()[..8])
        )
    })
}

/// What a scan needs to offer a plugin without deserializing its component: the spec and
/// the component's imports, recorded when this host's contract last checked it.
pub(crate) struct Checked {
    pub spec: PluginSpec,
    pub imports: Vec<String>,
}

/// The cached spec, if present and readable (a damaged one is deleted and re-read).
pub(crate) fn read_spec(entry: &Entry) -> Option<PluginSpec> {
    read_file(entry).map(|(spec, _)| spec)
}

/// The cached spec and imports, if this host's contract checked the component.
pub(crate) fn read_checked(entry: &Entry) -> Option<Checked> {
    match read_file(entry)? {
        (spec, Some(check)) if check.contract == host_contract() => Some(Checked {
            spec,
            imports: check.imports,
        }),
        _ => None,
    }
}

fn read_file(entry: &Entry) -> Option<(PluginSpec, Option<CheckFile>)> {
    let text = std::fs::read(&entry.spec).ok()?;
    match serde_json::from_slice::<SpecFile>(&text)
        .map_err(|e| e.to_string())
        .and_then(|mut file| {
            let check = file.checked.take();
            PluginSpec::try_from(file).map(|spec| (spec, check))
        }) {
        Ok(read) => Some(read),
        Err(e) => {
            tracing::warn!(cache = %entry.spec.display(), "discarding unreadable cached plugin spec: {e}");
            let _ = std::fs::remove_file(&entry.spec);
            None
        }
    }
}

/// Stores the spec of a component that passed this host's checks, with its imports.
/// Returns whether it was stored.
pub(crate) fn write_spec(entry: &Entry, spec: &PluginSpec, imports: &[String]) -> bool {
    let mut file = SpecFile::from(spec);
    file.checked = Some(CheckFile {
        contract: host_contract().to_owned(),
        imports: imports.to_vec(),
    });
    let result = serde_json::to_vec_pretty(&file)
        .map_err(std::io::Error::other)
        .and_then(|b| write_atomic(&entry.spec, &b));
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(cache = %entry.spec.display(), "cannot write plugin spec to the cache: {e}");
            false
        }
    }
}

// The cached spec's on-disk shape. The runtime types stay free of serde; these mirror them.

#[derive(Serialize, Deserialize)]
struct SpecFile {
    name: String,
    aliases: Vec<String>,
    version: String,
    kind: String,
    description: String,
    config: Vec<DefFile>,
    /// Absent in files written before the registry loaded components lazily: such a
    /// component is checked (deserialized) once more and the file rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked: Option<CheckFile>,
}

#[derive(Serialize, Deserialize)]
struct CheckFile {
    /// [`host_contract`] of the host that checked the component.
    contract: String,
    /// The component's imports, in its order (capabilities, the reporter).
    imports: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct DefFile {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    default: Option<String>,
    required: bool,
    secret: bool,
    importance: String,
    documentation: String,
    group: Option<String>,
    recommended_values: Vec<String>,
    file_access: Option<String>,
}

const KINDS: [(PluginKind, &str); 4] = [
    (PluginKind::Source, "source"),
    (PluginKind::Sink, "sink"),
    (PluginKind::Transform, "transform"),
    (PluginKind::Predicate, "predicate"),
];
const TYPES: [(ConfigType, &str); 9] = [
    (ConfigType::Boolean, "boolean"),
    (ConfigType::String, "string"),
    (ConfigType::Int, "int"),
    (ConfigType::Short, "short"),
    (ConfigType::Long, "long"),
    (ConfigType::Double, "double"),
    (ConfigType::List, "list"),
    (ConfigType::Class, "class"),
    (ConfigType::Password, "password"),
];
const IMPORTANCES: [(Importance, &str); 3] = [
    (Importance::High, "high"),
    (Importance::Medium, "medium"),
    (Importance::Low, "low"),
];
const ACCESSES: [(FileAccess, &str); 4] = [
    (FileAccess::ReadFile, "read-file"),
    (FileAccess::WriteFile, "write-file"),
    (FileAccess::ReadDir, "read-dir"),
    (FileAccess::WriteDir, "write-dir"),
];

fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], v: T) -> String {
    table
        .iter()
        .find(|(t, _)| *t == v)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_default()
}

impl From<&PluginSpec> for SpecFile {
    fn from(s: &PluginSpec) -> Self {
        SpecFile {
            name: s.name.clone(),
            aliases: s.aliases.clone(),
            version: s.version.clone(),
            kind: name_of(&KINDS, s.kind),
            description: s.description.clone(),
            config: s
                .config
                .iter()
                .map(|d| DefFile {
                    name: d.name.clone(),
                    ty: name_of(&TYPES, d.ty),
                    default: d.default.clone(),
                    required: d.required,
                    secret: d.secret,
                    importance: name_of(&IMPORTANCES, d.importance),
                    documentation: d.documentation.clone(),
                    group: d.group.clone(),
                    recommended_values: d.recommended_values.clone(),
                    file_access: d.file_access.map(|a| name_of(&ACCESSES, a)),
                })
                .collect(),
            checked: None,
        }
    }
}

impl TryFrom<SpecFile> for PluginSpec {
    type Error = String;
    fn try_from(s: SpecFile) -> Result<Self, String> {
        fn parse<T: Copy>(table: &[(T, &'static str)], what: &str, v: &str) -> Result<T, String> {
            table
                .iter()
                .find(|(_, n)| *n == v)
                .map(|(t, _)| *t)
                .ok_or_else(|| format!("unknown {what} `{v}`"))
        }
        Ok(PluginSpec {
            name: s.name,
            aliases: s.aliases,
            version: s.version,
            kind: parse(&KINDS, "kind", &s.kind)?,
            description: s.description,
            config: s
                .config
                .into_iter()
                .map(|d| {
                    Ok(ConfigDef {
                        ty: parse(&TYPES, "config type", &d.ty)?,
                        importance: parse(&IMPORTANCES, "importance", &d.importance)?,
                        file_access: d
                            .file_access
                            .as_deref()
                            .map(|a| parse(&ACCESSES, "file access", a))
                            .transpose()?,
                        name: d.name,
                        default: d.default,
                        required: d.required,
                        secret: d.secret,
                        documentation: d.documentation,
                        group: d.group,
                        recommended_values: d.recommended_values,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }
}
