//! What the tests run: the built plugins and the `sluice` binary, each built once per test
//! binary (a `OnceLock`), by the same commands a developer types, so a build failure shows up as
//! a test failure with the build's own output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (the workspace holding `host/`, `plugins/`, `xtask/`).
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ has a parent")
            .to_path_buf()
    })
}

/// Cargo's target directory for the host workspace (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where `cargo xtask plugins` put the components.
pub struct Plugins {
    /// The built-in plugins (`target/plugin-path`): what a user's `plugin.path` points at.
    pub plugin_path: PathBuf,
    /// Test-only plugins (`target/test-plugins`): never put into a user's plugin path.
    pub test_plugins: PathBuf,
    /// A compiled-artifact cache shared by every worker in the test run, so each component is
    /// compiled once per run rather than once per test.
    pub cache_dir: PathBuf,
}

impl Plugins {
    /// The path of test plugin `name` (e.g. `test-trap-source`); cargo may have written it with
    /// underscores. Panics listing what is there when it is missing.
    pub fn test_plugin(&self, name: &str) -> PathBuf {
        let candidates = [
            self.test_plugins.join(format!("{name}.wasm")),
            self.test_plugins
                .join(format!("{}.wasm", name.replace('-', "_"))),
        ];
        for c in &candidates {
            if c.is_file() {
                return c.clone();
            }
        }
        panic!(
            "test plugin {name} not found as {} (or with underscores); {} holds: {:?}",
            candidates[0].display(),
            self.test_plugins.display(),
            list_dir(&self.test_plugins)
        );
    }
}

/// Builds every plugin once (`cargo xtask plugins`); panics with the build output on failure.
pub fn plugins() -> &'static Plugins {
    static PLUGINS: OnceLock<Plugins> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        run_cargo(&["xtask", "plugins"], "cargo xtask plugins");
        let target = target_dir();
        let plugins = Plugins {
            plugin_path: target.join("plugin-path"),
            test_plugins: target.join("test-plugins"),
            cache_dir: target.join("sluice-tests").join("plugin-cache"),
        };
        let built = list_dir(&plugins.plugin_path);
        assert!(
            built.iter().any(|f| f.ends_with(".wasm")),
            "`cargo xtask plugins` succeeded but {} holds no .wasm: {built:?}",
            plugins.plugin_path.display()
        );
        plugins
    })
}

/// Builds the `sluice` binary once (`cargo build -p sluice --bin sluice`) and returns its path.
pub fn sluice_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        run_cargo(
            &["build", "-p", "sluice", "--bin", "sluice"],
            "building the sluice binary",
        );
        let bin = target_dir().join("debug").join("sluice");
        assert!(
            bin.is_file(),
            "cargo built sluice but {} does not exist",
            bin.display()
        );
        bin
    })
}

fn run_cargo(args: &[&str], what: &str) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cargo:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
