//! Builds the test-only plugins (`tests/plugins/`, a wasm32-wasip2 workspace of its own) and
//! collects them into `<target>/test-plugins/<crate-name>.wasm`, so `cargo test` on a fresh
//! clone needs no earlier step. The harness reads that directory from `SLUICE_TEST_PLUGINS`.
//!
//! `<target>` is `CARGO_TARGET_DIR` (relative to the repository root) or `<root>/target`, the
//! rule `cargo xtask` and the harness follow too. The nested cargo builds in its own target dir,
//! `<target>/wasm-test-plugins`: sharing the outer one would wait forever on the build lock the
//! outer cargo holds while this script runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let tests = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let root = tests.parent().unwrap_or(&tests).to_path_buf();
    let plugins = tests.join("plugins");
    for input in [
        plugins.clone(),
        root.join("plugin-sdk/rust"),
        root.join("plugin-sdk/packed"),
        root.join("wit"),
    ] {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let build_dir = target.join("wasm-test-plugins");
    let collected = target.join("test-plugins");

    check_wasm_target();
    build(&plugins.join("Cargo.toml"), &build_dir);
    collect(
        &plugins,
        &build_dir.join(WASM_TARGET).join("release"),
        &collected,
    );
    println!(
        "cargo:rustc-env=SLUICE_TEST_PLUGINS={}",
        collected.display()
    );
}

/// Fails with the fix when the compiler has no standard library for wasm32-wasip2 (a missing
/// target otherwise surfaces as a confusing "can't find crate for `core`" deep in the output).
fn check_wasm_target() {
    let rustc = env_var("RUSTC");
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| fail(&format!("cannot run `{rustc} --print sysroot`")));
    if !sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        fail(&format!(
            "the test plugins build for {WASM_TARGET}, which is not installed for {rustc} \
             ({} has no lib/rustlib/{WASM_TARGET}): run `rustup target add {WASM_TARGET}`",
            sysroot.display()
        ));
    }
}

/// `cargo build --release --target wasm32-wasip2` of the test-plugin workspace.
fn build(manifest: &Path, build_dir: &Path) {
    let cargo = env_var("CARGO");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", build_dir)
        // What cargo sets for the host build must not reach the guest build: host rustflags
        // (e.g. a native CPU) and, under `cargo clippy`, the clippy driver.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        // Cargo reads a build script's stdout as instructions; the nested build's output is
        // for people and shows with the script's stderr when it fails.
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {cargo}: {e}")));
    if !status.success() {
        fail(&format!(
            "building the test plugins ({}) failed ({status}); its output is above",
            manifest.display()
        ));
    }
}

/// Copies each member's component (`<crate>.wasm`, or with underscores for a cdylib) to
/// `<collected>/<crate>.wasm`. A member's directory is named after its crate.
fn collect(plugins: &Path, built: &Path, collected: &Path) {
    std::fs::create_dir_all(collected)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", collected.display())));
    let entries = std::fs::read_dir(plugins)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", plugins.display())));
    for entry in entries.filter_map(Result::ok) {
        if !entry.path().join("Cargo.toml").is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let candidates = [
            built.join(format!("{}.wasm", name.replace('-', "_"))),
            built.join(format!("{name}.wasm")),
        ];
        let Some(component) = candidates.iter().find(|p| p.is_file()) else {
            fail(&format!(
                "test plugin `{name}` was built but no component is at {}",
                candidates[0].display()
            ));
        };
        // Copy then rename: a test run reading the directory never sees half a component.
        let dest = collected.join(format!("{name}.wasm"));
        let partial = collected.join(format!("{name}.wasm.partial"));
        if let Err(e) =
            std::fs::copy(component, &partial).and_then(|_| std::fs::rename(&partial, &dest))
        {
            fail(&format!(
                "cannot copy {} to {}: {e}",
                component.display(),
                dest.display()
            ));
        }
    }
}

fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("cargo did not set {name}")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
