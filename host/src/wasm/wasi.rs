//! WASI for plugins, deny by default: what a plugin instance may see of the host.
//!
//! Design decision: a plugin gets no environment, no arguments, no stdin, no network (unless
//! its connector grants some with `wasm.network.allow*`, enforced by `network.rs`) and no
//! files. The only files it can reach are the directories its *config* grants: every
//! `config-def` with `file-access` whose key is set names a path; the host resolves it to an
//! absolute path, hands the plugin that absolute path (so the plugin opens exactly what the
//! user configured) and preopens the directory (the file's parent for `*-file`) at the same
//! absolute guest path, read-only or read-write as declared. Guest stdout/stderr are not
//! inherited: they are split into lines and forwarded to `tracing`, tagged with the owner,
//! through the instance's rate-limited [`LogBudget`] (long lines cut at `guest_log::MAX_LINE`).

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::engine::Owner;
use super::guest_log::{self, LogBudget};
use super::network::{Guard, NetworkPolicy};
use crate::spec::{Config, FileAccess, PluginSpec};

/// A directory granted to the plugin through a config key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grant {
    /// The config key that granted it (for error messages).
    pub key: String,
    /// Absolute, lexically normalised; also the guest path.
    pub dir: PathBuf,
    pub writable: bool,
}

/// Rewrites path-valued config keys to absolute paths and collects the directories they grant.
///
/// Relative values are resolved against `cwd` (the worker's current directory). Keys that
/// are unset or empty grant nothing. Fails if a path is not valid UTF-8 after resolution.
pub(crate) fn grants(
    spec: &PluginSpec,
    config: &Config,
    cwd: &Path,
) -> Result<(Config, Vec<Grant>), String> {
    let mut config = config.clone();
    let mut grants: Vec<Grant> = Vec::new();
    for def in &spec.config {
        let Some(access) = def.file_access else {
            continue;
        };
        for (key, value) in config.iter_mut().filter(|(k, _)| *k == def.name) {
            if value.trim().is_empty() {
                continue;
            }
            let absolute = normalize(&cwd.join(value.as_str()));
            let (dir, writable) = match access {
                FileAccess::ReadFile | FileAccess::WriteFile => {
                    let parent = absolute
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| absolute.clone());
                    (parent, access == FileAccess::WriteFile)
                }
                FileAccess::ReadDir => (absolute.clone(), false),
                FileAccess::WriteDir => (absolute.clone(), true),
            };
            let Some(abs_str) = absolute.to_str() else {
                return Err(format!(
                    "config key `{key}`: path {} is not valid UTF-8; use a UTF-8 path",
                    absolute.display()
                ));
            };
            *value = abs_str.to_owned();
            match grants.iter_mut().find(|g| g.dir == dir) {
                Some(existing) => existing.writable |= writable,
                None => grants.push(Grant {
                    key: key.clone(),
                    dir,
                    writable,
                }),
            }
        }
    }
    Ok((config, grants))
}

/// Removes `.` and resolves `..` lexically (the path may not exist yet, so no canonicalize).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether a directory that cannot be opened fails the call (`Strict`, when opening a task)
/// or is left out (`Lenient`, for `validate`/`task-configs`, where the plugin reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Strict,
    Lenient,
}

/// The last lines a guest wrote to stderr (a Rust guest prints its panic message there just
/// before it traps), so a trap's error can say why.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<std::collections::VecDeque<String>>>);

impl StderrTail {
    const KEEP: usize = 4;

    fn push(&self, line: &str) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == Self::KEEP {
            lines.pop_front();
        }
        lines.push_back(line.to_owned());
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The kept lines joined, or `None` if the guest wrote nothing since the last `clear`.
    pub fn take(&self) -> Option<String> {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let text = lines.drain(..).collect::<Vec<_>>().join("\n");
        (!text.is_empty()).then_some(text)
    }
}

/// What one store gets from [`context`]: its WASI context, the tail of its stderr (for trap
/// messages) and its log budget (shared with the `log` import).
pub(crate) struct Sandbox {
    pub wasi: WasiCtx,
    pub stderr: StderrTail,
    pub log: LogBudget,
    /// The allow-list enforcement (also consulted by name lookups), if `network` grants any.
    pub network: Option<Arc<Guard>>,
}

/// Builds the deny-by-default WASI context for one store: the directories in `grants`, and
/// TCP/UDP/name lookup only as far as `network` grants them.
pub(crate) fn context(
    grants: &[Grant],
    network: &NetworkPolicy,
    owner: &Owner,
    missing: Missing,
) -> Result<Sandbox, String> {
    let tail = StderrTail::default();
    let budget = LogBudget::new(owner.clone());
    let mut builder = WasiCtxBuilder::new();
    let mut stderr = LogStream::new(owner.clone(), "stderr", budget.clone());
    stderr.tail = Some(tail.clone());
    builder
        .stdout(LogStream::new(owner.clone(), "stdout", budget.clone()))
        .stderr(stderr)
        .allow_tcp(network.tcp())
        .allow_udp(network.udp())
        .allow_ip_name_lookup(network.names())
        // Plugins are called synchronously on their task's own thread, which blocks for the
        // call either way. Without this, every file read or write the guest makes (a 4 KiB
        // chunk each, through the preview1 adapter) is sent to tokio's blocking pool and
        // waited for — a thread hand-off per chunk.
        .allow_blocking_current_thread(true);
    // Without any grant wasmtime-wasi's default check (deny everything) stays, and sockets
    // cannot even be created.
    let guard = (!network.is_empty()).then(|| Arc::new(Guard::new(network.clone(), owner.clone())));
    if let Some(guard) = &guard {
        let guard = Arc::clone(guard);
        builder.socket_addr_check(move |addr, what| {
            let allowed = guard.allows(addr, what);
            Box::pin(async move { allowed })
        });
    }
    for grant in grants {
        let perms = if grant.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        let Some(guest) = grant.dir.to_str() else {
            continue;
        };
        if let Err(e) = builder.preopened_dir(&grant.dir, guest, perms) {
            match missing {
                Missing::Strict => {
                    return Err(format!(
                        "config key `{}`: cannot give the plugin access to directory {}: {e}",
                        grant.key,
                        grant.dir.display()
                    ))
                }
                Missing::Lenient => tracing::debug!(
                    connector = owner.connector.as_str(),
                    dir = %grant.dir.display(),
                    "not granting a directory that cannot be opened: {e}"
                ),
            }
        }
    }
    Ok(Sandbox {
        wasi: builder.build(),
        stderr: tail,
        log: budget,
        network: guard,
    })
}

/// Guest stdout/stderr: buffered until a newline, then one `tracing` event per line.
#[derive(Clone)]
pub(crate) struct LogStream {
    owner: Arc<Owner>,
    stream: &'static str,
    pending: Arc<Mutex<Pending>>,
    tail: Option<StderrTail>,
    budget: LogBudget,
}

/// The unterminated line so far; `cut` counts the bytes dropped from it beyond `MAX_LINE`
/// (buffering them would let a plugin that never writes a newline grow host memory).
#[derive(Default)]
struct Pending {
    line: Vec<u8>,
    cut: usize,
}

impl LogStream {
    fn new(owner: Owner, stream: &'static str, budget: LogBudget) -> Self {
        LogStream {
            owner: Arc::new(owner),
            stream,
            pending: Arc::default(),
            tail: None,
            budget,
        }
    }

    fn emit(&self, line: &[u8], cut: usize) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return;
        }
        let line = if cut > 0 {
            format!("{line}… [{cut} more bytes truncated]").into()
        } else {
            guest_log::truncate(line)
        };
        // stderr: kept for the trap message whatever the log budget says.
        if let Some(tail) = &self.tail {
            tail.push(&line);
        }
        if !self.budget.admit() {
            return;
        }
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        match &self.tail {
            // stderr is logged louder than stdout.
            Some(_) => tracing::warn!(connector, task, stream = self.stream, "{line}"),
            None => tracing::info!(connector, task, stream = self.stream, "{line}"),
        }
    }

    fn push(&self, mut bytes: &[u8]) {
        // A poisoned lock only means another writer panicked mid-line; keep logging.
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = bytes.split_at(nl + 1);
            pending.append(head);
            let Pending { line, cut } = std::mem::take(&mut *pending);
            self.emit(&line, cut);
            bytes = rest;
        }
        pending.append(bytes);
    }
}

impl Pending {
    fn append(&mut self, bytes: &[u8]) {
        let room = guest_log::MAX_LINE.saturating_sub(self.line.len());
        let keep = room.min(bytes.len());
        self.line.extend_from_slice(&bytes[..keep]);
        self.cut += bytes.len() - keep;
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        // The last clone flushes an unterminated final line.
        if Arc::strong_count(&self.pending) == 1 {
            let pending =
                std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
            if !pending.line.is_empty() {
                self.emit(&pending.line, pending.cut);
            }
        }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for LogStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::{ConfigDef, ConfigType, Importance, PluginKind};

    fn spec(access: FileAccess) -> PluginSpec {
        PluginSpec {
            name: "p".into(),
            aliases: vec![],
            version: "1".into(),
            kind: PluginKind::Source,
            description: String::new(),
            config: vec![ConfigDef {
                name: "file".into(),
                ty: ConfigType::String,
                default: None,
                required: false,
                secret: false,
                importance: Importance::High,
                documentation: String::new(),
                group: None,
                recommended_values: vec![],
                file_access: Some(access),
            }],
        }
    }

    #[test]
    fn relative_file_is_made_absolute_and_its_parent_granted() {
        let config = vec![
            ("file".to_string(), "data/../in/x.txt".to_string()),
            ("topic".into(), "t".into()),
        ];
        let (rewritten, grants) = grants(
            &spec(FileAccess::ReadFile),
            &config,
            Path::new("/srv/connector"),
        )
        .unwrap();
        assert_eq!(rewritten[0].1, "/srv/connector/in/x.txt");
        assert_eq!(rewritten[1], ("topic".to_string(), "t".to_string()));
        assert_eq!(
            grants,
            vec![Grant {
                key: "file".into(),
                dir: "/srv/connector/in".into(),
                writable: false
            }]
        );
    }

    #[test]
    fn write_dir_grants_the_directory_itself_writable_and_unset_keys_grant_nothing() {
        let (_, g) = grants(
            &spec(FileAccess::WriteDir),
            &vec![("file".into(), "/out".into())],
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            g,
            vec![Grant {
                key: "file".into(),
                dir: "/out".into(),
                writable: true
            }]
        );
        let (_, g) = grants(
            &spec(FileAccess::WriteDir),
            &vec![("other".into(), "/out".into())],
            Path::new("/"),
        )
        .unwrap();
        assert!(g.is_empty());
        let (_, g) = grants(
            &spec(FileAccess::ReadFile),
            &vec![("file".into(), "".into())],
            Path::new("/"),
        )
        .unwrap();
        assert!(g.is_empty());
    }

    #[test]
    fn strict_context_names_the_key_of_a_missing_directory() {
        let grant = Grant {
            key: "file".into(),
            dir: "/definitely/not/here".into(),
            writable: false,
        };
        let owner = Owner {
            connector: "c".into(),
            task: "0".into(),
        };
        let none = NetworkPolicy::default();
        let err = context(std::slice::from_ref(&grant), &none, &owner, Missing::Strict)
            .err()
            .unwrap();
        assert!(
            err.contains("config key `file`") && err.contains("/definitely/not/here"),
            "{err}"
        );
        assert!(context(&[grant], &none, &owner, Missing::Lenient).is_ok());
    }
}
