//! Builds the shipped plugins workspace (`plugins/`) to wasm32-wasip2 components and collects
//! them into `<target>/plugin-path/<crate-name>.wasm`, a ready `plugin.path`. (The test-only
//! plugins are built by the `sluice-tests` build script.)
//!
//! The nested cargo uses its own target dir (`<target>/wasm`): sharing the outer
//! `target/` would make it wait forever on the build lock the outer `cargo xtask` holds.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::cmd::{cargo, output, root, run, target_dir};
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

/// Package names of the plugin crates: the members of the `plugins/` workspace with a
/// `cdylib` library target, as `cargo metadata` reports them. Shared library crates (e.g.
/// `sql-wire`) are linked into plugins and are not plugins themselves.
fn plugin_crates(plugins: &Path) -> Result<Vec<String>> {
    let json = output(
        cargo()
            .args([
                "metadata",
                "--no-deps",
                "--offline",
                "--format-version",
                "1",
            ])
            .arg("--manifest-path")
            .arg(plugins.join("Cargo.toml")),
    )
    .with_context(|| format!("cargo metadata failed for {}", plugins.display()))?;
    cdylib_packages(&json)
}

/// The names of the packages in `cargo metadata` output that have a `cdylib` target, sorted.
fn cdylib_packages(metadata: &str) -> Result<Vec<String>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata).context("cargo metadata printed no JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no `packages` array")?;
    let mut names = Vec::new();
    for package in packages {
        let name = package["name"]
            .as_str()
            .context("cargo metadata: a package without a name")?;
        let targets = package["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let cdylib = targets.iter().any(|t| {
            t["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|ty| ty == "cdylib"))
        });
        if cdylib {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
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
    fn keeps_the_packages_with_a_cdylib_target() {
        // Trimmed `cargo metadata --no-deps --format-version 1` output: a plugin, a shared
        // library whose description mentions cdylib, and a plugin that is also an rlib.
        let metadata = r#"{"packages":[
            {"name":"file-source","targets":[{"kind":["cdylib"],"crate_types":["cdylib"],"name":"file_source"}]},
            {"name":"sql-wire","description":"not a cdylib","targets":[{"kind":["lib"],"crate_types":["lib"],"name":"sql_wire"},{"kind":["test"],"crate_types":["bin"],"name":"live"}]},
            {"name":"jdbc-sink","targets":[{"kind":["cdylib","rlib"],"crate_types":["cdylib","rlib"],"name":"jdbc_sink"}]}
        ]}"#;
        assert_eq!(
            cdylib_packages(metadata).expect("parses"),
            ["file-source", "jdbc-sink"]
        );
        assert!(cdylib_packages("{}").is_err());
    }
}
