//! Builds the plugins workspace (`plugins/`) to wasm32-wasip2 components and collects them:
//! built-in plugins into `target/plugin-path/`, test-only ones (`test-*`) into
//! `target/test-plugins/`, each as `<crate-name>.wasm`.
//!
//! The nested cargo uses its own target dir (`target/wasm`): sharing the outer
//! `target/` would make it wait forever on the build lock the outer `cargo xtask` holds.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// Where built-in plugin components are collected (a ready `plugin.path`).
pub fn plugin_path_dir(root: &Path) -> PathBuf {
    root.join("target").join("plugin-path")
}

/// Where test-only plugin components are collected.
pub fn test_plugins_dir(root: &Path) -> PathBuf {
    root.join("target").join("test-plugins")
}

/// Builds every plugin and returns the directory holding the built-in components.
pub fn build_all() -> Result<PathBuf> {
    let root = root();
    ensure_target()?;
    let manifest = root.join("plugins").join("Cargo.toml");
    let target_dir = root.join("target").join("wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build (e.g. coverage or a native CPU) must not leak into
        // the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .with_context(|| format!("running {cargo} build for {}", manifest.display()))?;
    if !status.success() {
        bail!(
            "building the plugins in {} failed ({status})",
            manifest.display()
        );
    }

    let built = target_dir.join(TARGET).join("release");
    let plugin_path = plugin_path_dir(&root);
    let test_plugins = test_plugins_dir(&root);
    for dir in [&plugin_path, &test_plugins] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for name in plugin_crates(&root.join("plugins"))? {
        // cdylibs are named with underscores, binaries keep the crate name.
        let candidates = [
            built.join(format!("{}.wasm", name.replace('-', "_"))),
            built.join(format!("{name}.wasm")),
        ];
        let Some(source) = candidates.iter().find(|p| p.is_file()) else {
            bail!(
                "plugin `{name}` was built but no component was found at {}",
                candidates[0].display()
            );
        };
        check_component(source)?;
        let dest_dir = if name.starts_with("test-") || name.starts_with("test_") {
            &test_plugins
        } else {
            &plugin_path
        };
        let dest = dest_dir.join(format!("{name}.wasm"));
        std::fs::copy(source, &dest)
            .with_context(|| format!("copying {} to {}", source.display(), dest.display()))?;
        let size = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        println!(
            "plugin {name:<18} {:>8.1} KiB  {}",
            size as f64 / 1024.0,
            dest.display()
        );
    }
    Ok(plugin_path)
}

/// Installs the wasm32-wasip2 target through rustup if it is missing.
fn ensure_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running `rustup target list --installed` (is rustup installed?)")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("`rustup target add {TARGET}` failed ({status})");
    }
    Ok(())
}

/// Package names of the plugin crates: every directory under `plugins/` with a Cargo.toml.
fn plugin_crates(plugins: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(plugins).with_context(|| format!("reading {}", plugins.display()))?
    {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        names.push(
            package_name(&text)
                .with_context(|| format!("no [package] name in {}", manifest.display()))?,
        );
    }
    names.sort();
    Ok(names)
}

/// The `name` of the `[package]` table (a line-based read; plugin manifests are simple).
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(rest) = line.strip_prefix("name") {
                let value = rest.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// Fails unless the file is a component (not a core module).
fn check_component(path: &Path) -> Result<()> {
    const COMPONENT: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.get(..8) != Some(&COMPONENT[..]) {
        bail!(
            "{} is not a WebAssembly component (header {:02x?})",
            path.display(),
            bytes.get(..8)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_name_only() {
        let manifest =
            "[package]\nname = \"file-source\"\nversion = \"0.1.0\"\n\n[lib]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("file-source"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }
}
