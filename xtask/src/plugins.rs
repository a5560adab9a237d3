//! Builds the shipped plugins workspace (`plugins/`) to wasm32-wasip2 components and collects
//! them into `<target>/plugin-path/<crate-name>.wasm`, a ready `plugin.path`. (The test-only
//! plugins are built by the `sluice-tests` build script.)
//!
//! The nested cargo uses its own target dir (`<target>/wasm`): sharing the outer
//! `target/` would make it wait forever on the build lock the outer `cargo xtask` holds.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::cmd::{cargo, root, run, target_dir};
use crate::test::ensure_wasm_target;

const TARGET: &str = "wasm32-wasip2";

/// Where built-in plugin components are collected (a ready `plugin.path`).
pub fn plugin_path_dir() -> PathBuf {
    target_dir().join("plugin-path")
}

/// Builds every plugin and returns the directory holding the components.
pub fn build_all() -> Result<PathBuf> {
    ensure_wasm_target()?;
    let plugins = root().join("plugins");
    let manifest = plugins.join("Cargo.toml");
    let target_dir = target_dir().join("wasm");
    run(cargo()
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build (e.g. coverage or a native CPU) must not leak into
        // the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))?;

    let built = target_dir.join(TARGET).join("release");
    let plugin_path = plugin_path_dir();
    std::fs::create_dir_all(&plugin_path)
        .with_context(|| format!("creating {}", plugin_path.display()))?;
    for name in plugin_crates(&plugins)? {
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
        let dest = plugin_path.join(format!("{name}.wasm"));
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

/// Package names of the plugin crates: every directory under `plugins/` with a Cargo.toml
/// building a `cdylib`.
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
        // Shared library crates (e.g. `sql-wire`) are linked into plugins, not plugins.
        if !text.contains("cdylib") {
            continue;
        }
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
