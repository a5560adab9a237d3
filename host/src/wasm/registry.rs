//! The plugin registry: scans `plugin.path`, loads every valid Sluice component, records
//! every rejected file with a precise reason, and rescans for added, replaced and removed
//! files while the worker runs (hot reload).
//!
//! Design decisions:
//! - The kind comes from the plugin's own `spec()` (read through the common
//!   `sluice:connect/plugin@0.1.0` export, or from the spec cached with the artifact), and is
//!   then *checked* against the component's exports — the kind is declared, never guessed by
//!   probing. One bad file never fails the worker: it is logged and listed in `rejected()`.
//! - **Hot reload.** A scan stats every candidate file and loads only those whose
//!   fingerprint (size, mtime, inode) changed, so a rescan of an unchanged `plugin.path` is a
//!   directory walk. Lookups read an immutable snapshot that each scan replaces whole, so a
//!   scan never blocks them. Tasks hold the `Arc` of the plugin they were opened with: a
//!   replaced or removed file never disturbs them (the compiled component lives in memory;
//!   the artifact is read, not mmapped, and named after the content, so a plugin first used
//!   after its file was replaced still loads the version it was scanned as), and connectors
//!   pick up a replacement when they are next started. A replacement that fails to load leaves the previous version in service.
//!   Every outcome is logged once per version of a file, not once per scan.
//! - **When.** [`WasmPlugins::watch`] rescans on a background thread (every 2 s by default,
//!   worker key `plugin.rescan.interval.ms`, 0 = off), and [`PluginCatalog::rescan`] lets a
//!   create or validate naming an unknown class rescan at once. Scans do file I/O and may
//!   compile, so they never run on an async thread; concurrent scans are serialised.
//! - **Lazy components.** A scan keeps each plugin's spec and capabilities, not its
//!   component: on a warm start (artifact and checked spec in the cache) it only reads and
//!   hashes each file; the component is deserialized when a connector, task, transform or
//!   validation first needs the guest, then shared (`WasmPlugin::linked`). So an idle worker
//!   holds no plugin code, and a CDC worker only the code of the plugins it runs.
//! - Files are scanned in parallel (one thread per core): on a warm start that is reading
//!   and hashing each file, on a cold one Cranelift compilation and the checks (the compiled
//!   component is then dropped; only the cache keeps it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};

use super::engine::{self, Limits, WasmEngine};
use super::load::{load_one, Loaded};
use super::plugin::WasmPlugin;
use super::spec::kind_name;
use super::WasmError;
use crate::runtime::plugin::{Plugin, PluginCatalog, RejectedPlugin};
use crate::spec::Config;

/// The worker key that sets how often `plugin.path` is rescanned, in milliseconds.
pub const RESCAN_INTERVAL_KEY: &str = "plugin.rescan.interval.ms";
/// The default rescan interval.
pub const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_secs(2);

/// The rescan interval a worker config asks for: `None` when rescans are off (`0`).
pub fn rescan_interval(worker: &Config) -> Result<Option<Duration>, String> {
    let Some(value) = crate::config::get(worker, RESCAN_INTERVAL_KEY) else {
        return Ok(Some(DEFAULT_RESCAN_INTERVAL));
    };
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(ms) if ms <= 86_400_000 => Ok(Some(Duration::from_millis(ms))),
        _ => Err(crate::config::invalid_value(
            RESCAN_INTERVAL_KEY,
            value,
            false,
            "use 0 (no periodic rescan) or a whole number of milliseconds up to 86400000",
        )),
    }
}

/// Every plugin found in `plugin.path`, kept current by rescans.
pub struct WasmPlugins {
    roots: Vec<PathBuf>,
    cache_dir: PathBuf,
    limits: Limits,
    wasm: &'static WasmEngine,
    /// What lookups see; replaced whole by a scan that changed something.
    current: RwLock<Arc<Snapshot>>,
    /// What the last scan saw; the lock also serialises scans.
    scan: Mutex<ScanState>,
}

#[derive(Default)]
struct Snapshot {
    plugins: Vec<Arc<WasmPlugin>>,
    rejected: Vec<RejectedPlugin>,
}

/// Identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Fingerprint {
    fn of(path: &Path) -> std::io::Result<Fingerprint> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Fingerprint {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }
}

struct FileState {
    fingerprint: Fingerprint,
    /// The plugin served from this path: the current file's, or the previous version when
    /// the current file does not load.
    plugin: Option<Arc<WasmPlugin>>,
    /// The content's cache identity (the artifact's name), to tell a real replacement from
    /// a touched or re-copied file.
    content: Option<PathBuf>,
    /// Why the current version of the file is not used.
    error: Option<String>,
}

#[derive(Default)]
struct ScanState {
    files: BTreeMap<PathBuf, FileState>,
    /// The last problem logged per path, so each is logged once (until it changes).
    reported: BTreeMap<PathBuf, String>,
    scans: u64,
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
        let wasm = engine::shared()?;
        if let Err(e) = std::fs::create_dir_all(cache_dir) {
            // Not fatal: plugins still load, they are just compiled on every start.
            tracing::warn!(cache = %cache_dir.display(), "cannot create the plugin cache directory: {e}");
        }
        let registry = WasmPlugins {
            roots: plugin_path.to_vec(),
            cache_dir: cache_dir.to_path_buf(),
            limits,
            wasm,
            current: RwLock::new(Arc::default()),
            scan: Mutex::new(ScanState::default()),
        };
        registry.rescan_now();
        Ok(registry)
    }

    /// The files that were not loaded, with the reason.
    pub fn rejected(&self) -> Vec<RejectedPlugin> {
        self.current.read().rejected.clone()
    }

    /// Rescans `plugin.path` every `every` on a background thread, for as long as the
    /// registry is alive.
    pub fn watch(self: &Arc<Self>, every: Duration) -> std::io::Result<()> {
        let registry: Weak<Self> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("sluice-plugin-scan".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                match registry.upgrade() {
                    Some(r) => r.rescan_now(),
                    None => return,
                }
            })?;
        Ok(())
    }

    /// One scan: loads new and changed files, drops removed ones, publishes the result.
    /// Blocking (file I/O, maybe compilation).
    fn rescan_now(&self) {
        let mut state = self.scan.lock();
        let initial = state.scans == 0;
        state.scans += 1;
        let (paths, dir_problems) = candidates(&self.roots);

        let mut changed = false;
        let mut to_load = Vec::new();
        let mut seen = BTreeSet::new();
        for path in paths {
            let Ok(fingerprint) = Fingerprint::of(&path) else {
                continue; // gone since the directory was read: handled as removed
            };
            seen.insert(path.clone());
            if state
                .files
                .get(&path)
                .is_none_or(|f| f.fingerprint != fingerprint)
            {
                to_load.push((path, fingerprint));
            }
        }

        let removed: Vec<PathBuf> = state
            .files
            .keys()
            .filter(|p| !seen.contains(*p))
            .cloned()
            .collect();
        for path in removed {
            changed = true;
            state.reported.remove(&path);
            if let Some(FileState {
                plugin: Some(p), ..
            }) = state.files.remove(&path)
            {
                tracing::info!(plugin = p.spec.name.as_str(), version = p.spec.version.as_str(), file = %path.display(), "plugin file removed: no longer offered; running tasks keep the version they started with");
            }
        }

        let loaded = self.load_all(&to_load);
        for ((path, fingerprint), outcome) in to_load.into_iter().zip(loaded) {
            changed = true;
            let previous = state.files.remove(&path);
            let file = match outcome {
                Ok((plugin, content)) => {
                    let same = previous
                        .as_ref()
                        .is_some_and(|f| f.content.as_ref() == Some(&content));
                    let before = previous.and_then(|f| f.plugin);
                    let plugin = match before {
                        // Touched or copied again, same bytes: keep serving the same plugin.
                        Some(existing) if same => existing,
                        before => {
                            let new = Arc::new(plugin);
                            log_loaded(&new, initial, before.as_deref());
                            new
                        }
                    };
                    state.reported.remove(&path);
                    FileState {
                        fingerprint,
                        plugin: Some(plugin),
                        content: Some(content),
                        error: None,
                    }
                }
                Err(reason) => {
                    let kept = previous.and_then(|f| f.plugin);
                    let reason = match &kept {
                        Some(p) => format!(
                            "{reason} (keeping the previously loaded version {} of `{}`)",
                            p.spec.version, p.spec.name
                        ),
                        None => reason,
                    };
                    report(&mut state.reported, &path, &reason);
                    FileState {
                        fingerprint,
                        plugin: kept,
                        content: None,
                        error: Some(reason),
                    }
                }
            };
            state.files.insert(path, file);
        }
        // Directory problems (a missing or unreadable plugin.path entry), once each.
        for r in &dir_problems {
            changed |= report(&mut state.reported, &r.path, &r.reason);
        }

        if changed || initial {
            let previous = self.current.read().clone();
            let snapshot = build_snapshot(&mut state, &previous, dir_problems);
            *self.current.write() = Arc::new(snapshot);
        }
    }

    /// Loads `files` on up to one thread per core, in order.
    fn load_all(&self, files: &[(PathBuf, Fingerprint)]) -> Vec<Loaded> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(files.len());
        if threads <= 1 {
            return files.iter().map(|(p, _)| self.load_file(p)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Loaded>>> = files.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((path, _)) = files.get(i) else {
                        return;
                    };
                    *results[i].lock() = Some(self.load_file(path));
                });
            }
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|| Err("was not loaded (a loader thread panicked)".into()))
            })
            .collect()
    }

    fn load_file(&self, path: &Path) -> Loaded {
        // A panic while loading one file (a wasmtime bug, a hostile file) rejects that file.
        // Nothing shared is left half-updated: load_one only reads `self`.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load_one(self.wasm, path, &self.cache_dir, &self.limits)
        }))
        .unwrap_or_else(|_| Err("loading it panicked".into()))
    }
}

/// Logs a plugin that was just loaded: at start-up, added while running, or replacing
/// `before` (the version that file provided until now).
fn log_loaded(p: &WasmPlugin, initial: bool, before: Option<&WasmPlugin>) {
    let (name, version, kind) = (
        p.spec.name.as_str(),
        p.spec.version.as_str(),
        kind_name(p.spec.kind),
    );
    let file = p.path.display();
    match before {
        _ if initial => tracing::info!(plugin = name, kind, version, file = %file, "loaded plugin"),
        None => {
            tracing::info!(plugin = name, kind, version, file = %file, "plugin added to plugin.path: available now")
        }
        Some(old) => tracing::info!(
            plugin = name,
            kind,
            version,
            previous_version = old.spec.version.as_str(),
            file = %file,
            "plugin file replaced: connectors use the new version when they next start; running tasks keep theirs"
        ),
    }
}

/// Logs `reason` for `path` unless exactly that was already logged; returns whether it was new.
fn report(reported: &mut BTreeMap<PathBuf, String>, path: &Path, reason: &str) -> bool {
    if reported.get(path).map(String::as_str) == Some(reason) {
        return false;
    }
    tracing::warn!(file = %path.display(), "rejected plugin: {reason}");
    reported.insert(path.to_path_buf(), reason.to_string());
    true
}

/// The catalog the files now give. A name served before keeps its file: plugins whose path
/// was in the previous snapshot are placed first, the rest in path order, and a later file
/// whose name clashes is rejected (so a new file cannot take over a running name).
fn build_snapshot(
    state: &mut ScanState,
    previous: &Snapshot,
    dir_problems: Vec<RejectedPlugin>,
) -> Snapshot {
    let served: BTreeSet<&Path> = previous.plugins.iter().map(|p| p.path.as_path()).collect();
    let (mut order, rest): (Vec<&PathBuf>, Vec<&PathBuf>) = state
        .files
        .keys()
        .partition(|p| served.contains(p.as_path()));
    order.extend(rest);

    let mut snapshot = Snapshot {
        plugins: Vec::new(),
        rejected: dir_problems,
    };
    let mut clashes = Vec::new();
    for path in order {
        let file = &state.files[path];
        if let Some(error) = &file.error {
            snapshot.rejected.push(RejectedPlugin {
                path: path.clone(),
                reason: error.clone(),
            });
        }
        let Some(plugin) = &file.plugin else {
            continue;
        };
        let names = || std::iter::once(&plugin.spec.name).chain(&plugin.spec.aliases);
        let clash = snapshot.plugins.iter().find_map(|existing| {
            let theirs: Vec<&String> = std::iter::once(&existing.spec.name)
                .chain(&existing.spec.aliases)
                .collect();
            names()
                .find(|n| theirs.contains(n))
                .map(|n| (existing, n.clone()))
        });
        match clash {
            None => snapshot.plugins.push(plugin.clone()),
            Some((existing, name)) => {
                let reason = format!(
                    "duplicate plugin name `{name}`: already provided by {} (plugin `{}`); keeping that one",
                    existing.path.display(),
                    existing.spec.name
                );
                clashes.push((path.clone(), reason));
            }
        }
    }
    for (path, reason) in clashes {
        report(&mut state.reported, &path, &reason);
        snapshot.rejected.push(RejectedPlugin { path, reason });
    }
    snapshot.rejected.sort_by(|a, b| a.path.cmp(&b.path));
    snapshot
}

#[cfg(test)]
impl WasmPlugins {
    /// `find`, with any packed interface of the plugin ignored: tests run one component over
    /// both paths and compare.
    pub(crate) fn find_structured(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.find_altered(class, |p| {
            p.packed = None;
            p.plans = None;
        })
    }

    /// `find`, with the plugin's struct plans ignored: every record goes through its packed
    /// `apply`, so tests can compare host-applied plans with the plugin's own work.
    pub(crate) fn find_unplanned(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.find_altered(class, |p| p.plans = None)
    }

    /// A copy of the plugin answering to `class`, changed by `alter`.
    fn find_altered(
        &self,
        class: &str,
        alter: impl FnOnce(&mut super::plugin::Linked),
    ) -> Option<Arc<dyn Plugin>> {
        let p = self.find_wasm(class)?;
        let linked = p.linked().ok()?;
        let mut linked = super::plugin::Linked::clone(&linked);
        alter(&mut linked);
        Some(Arc::new(WasmPlugin {
            path: p.path.clone(),
            spec: p.spec.clone(),
            limits: p.limits.clone(),
            capabilities: p.capabilities.clone(),
            imports_reporter: p.imports_reporter,
            wasm: p.wasm,
            artifact: p.artifact.clone(),
            linked: Mutex::new(Some(Arc::new(linked))),
        }))
    }

    /// The names of the plugins whose component is deserialized, in catalog order.
    pub(crate) fn resident(&self) -> Vec<String> {
        let snapshot = self.current.read().clone();
        snapshot
            .plugins
            .iter()
            .filter(|p| p.is_linked())
            .map(|p| p.spec.name.clone())
            .collect()
    }

    /// The plugin answering to `class`, as the registry holds it.
    pub(crate) fn find_wasm(&self, class: &str) -> Option<Arc<WasmPlugin>> {
        let snapshot = self.current.read().clone();
        snapshot
            .plugins
            .iter()
            .find(|p| p.spec.answers_to(class))
            .cloned()
    }

    /// Whether the plugin answering to `class` exports `transform-plans`.
    pub(crate) fn has_plans(&self, class: &str) -> bool {
        self.find_wasm(class)
            .and_then(|p| p.linked().ok())
            .is_some_and(|l| l.plans.is_some())
    }

    /// Whether the plugin answering to `class` exports its kind's packed interface.
    pub(crate) fn has_packed(&self, class: &str) -> bool {
        self.find_wasm(class)
            .and_then(|p| p.linked().ok())
            .is_some_and(|l| l.packed.is_some())
    }
}

impl PluginCatalog for WasmPlugins {
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        let snapshot = self.current.read().clone();
        snapshot
            .plugins
            .iter()
            .find(|p| p.spec.answers_to(class))
            .map(|p| p.clone() as Arc<dyn Plugin>)
    }
    fn plugins(&self) -> Vec<Arc<dyn Plugin>> {
        let snapshot = self.current.read().clone();
        snapshot
            .plugins
            .iter()
            .map(|p| p.clone() as Arc<dyn Plugin>)
            .collect()
    }
    fn rescan(&self) {
        self.rescan_now();
    }
}

/// The files to try, in a stable order: directories recursively (`*.wasm` only), files as
/// given; and the entries that could not be read.
fn candidates(plugin_path: &[PathBuf]) -> (Vec<PathBuf>, Vec<RejectedPlugin>) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, rejected: &mut Vec<RejectedPlugin>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
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
    let mut rejected = Vec::new();
    for entry in plugin_path {
        if entry.is_dir() {
            walk(entry, &mut out, &mut rejected);
        } else if entry.exists() {
            out.push(entry.clone());
        } else {
            rejected.push(RejectedPlugin {
                path: entry.clone(),
                reason: "plugin.path entry does not exist".into(),
            });
        }
    }
    (out, rejected)
}
