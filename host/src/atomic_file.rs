//! Replacing a small state file so that a crash leaves either the old or the new contents,
//! never a torn mix: write a temp file in the same directory, fsync it, rename it over the
//! target, then fsync the directory. Used by the offset store and the connector config store.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Which step failed, and why. Callers wrap it in their own error with the path.
#[derive(Debug)]
pub(crate) struct AtomicWriteError {
    /// What was being done, phrased to precede the file name ("replace", "fsync", …).
    pub action: &'static str,
    pub source: std::io::Error,
}

/// Atomically replaces `path` with `bytes`. On failure the temp file is removed and `path` is
/// untouched.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let err = |action, source| AtomicWriteError { action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = create_private(&tmp).map_err(|e| err("create a temp file for", e))?;
        f.write_all(bytes).map_err(|e| err("write", e))?;
        f.sync_all().map_err(|e| err("fsync", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| err("replace", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    // The rename is durable only once the directory entry is synced (Unix); not possible (nor
    // needed) on every platform, so a failure to open the directory is not fatal.
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all().map_err(|e| err("fsync the directory of", e))?;
    }
    Ok(())
}

/// Creates (truncating) a file only its owner can read: the connector store holds the real
/// values of secret config keys, so it must not be world-readable whatever the umask says.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_written_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connectors.json");
        write(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the target file remains");
    }

    #[test]
    fn a_failed_write_names_the_step_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("state.json");
        let e = write(&missing, b"x").unwrap_err();
        assert_eq!(e.action, "create a temp file for");
    }
}
