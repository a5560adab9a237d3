//! What the tests run: the built plugins and the `sluice` binary. The built-in plugins and the
//! binary are built once per test binary (a `OnceLock`) by the same commands a developer types,
//! so a build failure shows up as a test failure with the build's own output; the test-only
//! plugins are built before the tests compile, by this crate's build script.

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

/// Cargo's target directory for the host workspace: `CARGO_TARGET_DIR` (relative to the
/// repository root) or `<root>/target`, as for `cargo xtask` and the build script.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where the plugin components are.
pub struct Plugins {
    /// The built-in plugins (`target/plugin-path`, from `cargo xtask plugins`): what a user's
    /// `plugin.path` points at.
    pub plugin_path: PathBuf,
    /// Test-only plugins (`target/test-plugins`, from the build script): never put into a
    /// user's plugin path.
    pub test_plugins: PathBuf,
    /// A compiled-artifact cache shared by every worker in the test run, so each component is
    /// compiled once per run rather than once per test.
    pub cache_dir: PathBuf,
}

impl Plugins {
    /// The path of test plugin `name` (e.g. `test-trap-source`). Panics listing what is there
    /// when it is missing.
    pub fn test_plugin(&self, name: &str) -> PathBuf {
        let path = self.test_plugins.join(format!("{name}.wasm"));
        assert!(
            path.is_file(),
            "test plugin {name} not found as {}; {} holds: {:?}",
            path.display(),
            self.test_plugins.display(),
            list_dir(&self.test_plugins)
        );
        path
    }
}

/// Builds the built-in plugins once (`cargo xtask plugins`); panics with the build output on
/// failure.
pub fn plugins() -> &'static Plugins {
    static PLUGINS: OnceLock<Plugins> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        run_cargo(&["xtask", "plugins"], "cargo xtask plugins");
        let target = target_dir();
        let plugins = Plugins {
            plugin_path: target.join("plugin-path"),
            test_plugins: PathBuf::from(env!("SLUICE_TEST_PLUGINS")),
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
