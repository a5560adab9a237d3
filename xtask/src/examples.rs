//! `cargo xtask examples`: builds the example plugins in `examples/` (Rust, JavaScript,
//! Python) into `target/example-plugins/<dir name>.wasm`. Each example is built in its own
//! folder with the commands of its README, so the README stays true:
//!
//! - Rust: `cargo build --release --target wasm32-wasip2` (the target is installed as for
//!   `cargo xtask plugins`).
//! - JavaScript: `npm install` and `npm run build` (the example's `package.json` pins
//!   componentize-js and takes the SDK from `plugin-sdk/js`). The SDK's own pinned toolchain
//!   is also installed into `target/js-toolchain/` (skipped while its lock file matches the
//!   SDK's): projects made by `sluice plugin new --lang js` use it in the integration tests.
//! - Python: `componentize-py … componentize` from a venv at `target/py-toolchain/` with
//!   `plugin-sdk/python/requirements.txt` (componentize-py, pinned), installed unless the
//!   installed requirements match.
//!
//! An example is rebuilt only when a file it is built from (its directory, its language's
//! SDK, the WIT) is newer than its component: JavaScript and Python components take 20-40 s
//! each to build on a 2-core machine.
//!
//! A Python example's world (transform, sink, source, predicate) is read from the export
//! call in its `app.py` (`export_transform(` …), with `-http` appended (`transform-http`, the
//! world that also imports `wasi:http`) when the app uses `sluice.http`; a JavaScript example
//! names its world in its `package.json` build script.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::cmd::{cargo, output, root, run, target_dir};

/// Where the example components are collected (add it to a worker's `plugin.path`).
pub fn example_plugins_dir() -> PathBuf {
    target_dir().join("example-plugins")
}

pub fn build_all() -> Result<PathBuf> {
    let root = root();
    let out = example_plugins_dir();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let examples = list_examples(&root.join("examples"))?;
    if examples.iter().any(|(_, l)| *l == Lang::Rust) {
        crate::test::ensure_wasm_target()?;
    }
    let mut js_toolchain = false;
    let mut py = None;
    for (dir, lang) in &examples {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("example directory name")?
            .to_string();
        let dest = out.join(format!("{name}.wasm"));
        let inputs = [dir.clone(), lang.sdk_dir(&root), root.join("wit")];
        if newer_than_inputs(&dest, &inputs)? {
            report(&name, &dest, "up to date");
            continue;
        }
        match lang {
            Lang::Rust => build_rust(dir, &name, &dest)?,
            Lang::Js => {
                if !js_toolchain {
                    ensure_js_toolchain(&root)?;
                    js_toolchain = true;
                }
                build_js(dir, &name, &dest)?
            }
            Lang::Python => {
                let toolchain = match &py {
                    Some(t) => t,
                    None => py.insert(ensure_py_toolchain(&root)?),
                };
                build_python(toolchain, dir, &name, &dest)?
            }
        }
        report(&name, &dest, "built");
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Rust,
    Js,
    Python,
}

impl Lang {
    fn sdk_dir(self, root: &Path) -> PathBuf {
        match self {
            Lang::Rust => root.join("plugin-sdk").join("rust"),
            Lang::Js => root.join("plugin-sdk").join("js"),
            Lang::Python => root.join("plugin-sdk").join("python"),
        }
    }
}

/// `examples/<lang>-*` directories (other files in examples/, e.g. connector configs, are
/// not plugins).
fn list_examples(examples: &Path) -> Result<Vec<(PathBuf, Lang)>> {
    let mut found = Vec::new();
    for entry in
        std::fs::read_dir(examples).with_context(|| format!("reading {}", examples.display()))?
    {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let lang = if name.starts_with("rust-") {
            Lang::Rust
        } else if name.starts_with("js-") {
            Lang::Js
        } else if name.starts_with("python-") {
            Lang::Python
        } else {
            continue;
        };
        if path.is_dir() {
            found.push((path, lang));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The WIT world a Python example's `app.py` exports, from its `export_*` call.
fn world_of(source: &str, file: &Path) -> Result<&'static str> {
    const CALLS: [(&str, &str); 4] = [
        ("export_transform(", "transform"),
        ("export_sink(", "sink"),
        ("export_source(", "source"),
        ("export_predicate(", "predicate"),
    ];
    let worlds: Vec<&str> = CALLS
        .iter()
        .filter(|(call, _)| source.contains(call))
        .map(|(_, w)| *w)
        .collect();
    match worlds.as_slice() {
        [w] => Ok(w),
        [] => bail!(
            "{} exports no plugin: call export_transform/export_sink/export_source/\
             export_predicate once",
            file.display()
        ),
        more => bail!(
            "{} exports several plugin kinds ({}): one component is one plugin",
            file.display(),
            more.join(", ")
        ),
    }
}

/// Whether a Python app uses the SDK's HTTP client (`sluice.http`, or `http` imported from
/// `sluice`): it is then built for the `<kind>-http` world, which imports `wasi:http`.
fn uses_http(source: &str) -> bool {
    source.contains("sluice.http")
        || source.lines().any(|l| {
            l.trim_start().starts_with("from sluice import")
                && l.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == "http")
        })
}

fn build_rust(dir: &Path, name: &str, dest: &Path) -> Result<()> {
    let wasm_target = target_dir().join("wasm");
    run(cargo()
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &wasm_target)
        // Host-build flags (coverage, native CPU) must not reach the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))?;
    let built = wasm_target
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    copy(&built, dest)
}

/// `npm install` of the SDK's pinned toolchain into `target/js-toolchain`, unless already there.
fn ensure_js_toolchain(root: &Path) -> Result<()> {
    let node = output(Command::new("node").arg("--version")).with_context(|| {
        "`node` is not on PATH: the JavaScript examples need Node.js 20 or newer \
         (apt-get install nodejs npm)"
    })?;
    let major: u32 = node
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        bail!(
            "Node.js {} found; the JavaScript examples need 20 or newer",
            node.trim()
        );
    }
    let sdk = root.join("plugin-sdk").join("js");
    let dir = target_dir().join("js-toolchain");
    let cli = dir
        .join("node_modules")
        .join("@bytecodealliance")
        .join("componentize-js")
        .join("src")
        .join("cli.js");
    let lock = std::fs::read(sdk.join("package-lock.json"))
        .context("reading plugin-sdk/js/package-lock.json")?;
    // npm rewrites the lock it installs from, so a copy of the SDK's lock marks what is installed.
    let marker = dir.join("installed-lock.json");
    if cli.is_file() && std::fs::read(&marker).ok().as_deref() == Some(&lock[..]) {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for f in ["package.json", "package-lock.json"] {
        copy(&sdk.join(f), &dir.join(f))?;
    }
    // `npm install` over the copied lock installs exactly the locked versions. Not `npm ci`:
    // npm leaves the other platforms' optional binaries of nested packages out of the lock it
    // writes and `npm ci` then refuses it as "out of sync".
    npm_install(&dir)?;
    if !cli.is_file() {
        bail!("npm install succeeded but {} is missing", cli.display());
    }
    std::fs::write(&marker, &lock).with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

/// `npm install` and `npm run build` in the example's folder, as its README says.
fn build_js(dir: &Path, name: &str, dest: &Path) -> Result<()> {
    // npm keeps an installed copy of a `file:` dependency as it is: drop the SDK's copy so
    // the example is built with the SDK as it is now.
    let sdk_copy = dir.join("node_modules").join("sluice-plugin-sdk");
    if sdk_copy.exists() {
        std::fs::remove_dir_all(&sdk_copy)
            .with_context(|| format!("removing {}", sdk_copy.display()))?;
    }
    npm_install(dir)?;
    run(Command::new("npm").args(["run", "build"]).current_dir(dir))?;
    copy(&dir.join(format!("{name}.wasm")), dest)
}

/// `npm install` in `dir`, tried twice. A CI run once saw npm exit 1 printing nothing but the
/// path of its debug log, on a lock that installs cleanly a minute later: a registry hiccup is
/// not a broken build, so one retry; a second failure shows the end of npm's own log, the only
/// place the cause is written.
fn npm_install(dir: &Path) -> Result<()> {
    let install = || {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir))
    };
    let Err(first) = install() else {
        return Ok(());
    };
    eprintln!("xtask: {first:#}; trying once more in 5 s");
    print_npm_log_tail();
    std::thread::sleep(std::time::Duration::from_secs(5));
    install().inspect_err(|_| print_npm_log_tail())
}

/// The last lines of the newest file in npm's log folder (`~/.npm/_logs`), to stderr.
fn print_npm_log_tail() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let logs = Path::new(&home).join(".npm").join("_logs");
    let newest = std::fs::read_dir(&logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    if let Some((_, path)) = newest {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("xtask: the end of {}:", path.display());
            for line in &lines[lines.len().saturating_sub(25)..] {
                eprintln!("  {line}");
            }
        }
    }
}

struct PyToolchain {
    componentize_py: PathBuf,
    python: PathBuf,
}

/// A venv with the SDK's pinned requirements at `target/py-toolchain`, unless already there.
fn ensure_py_toolchain(root: &Path) -> Result<PyToolchain> {
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| output(Command::new(p).arg("--version")).is_some())
        .context("no `python3` on PATH: the Python examples need Python 3.10 or newer")?;
    let requirements = root
        .join("plugin-sdk")
        .join("python")
        .join("requirements.txt");
    let wanted = std::fs::read(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let venv = target_dir().join("py-toolchain");
    let bin = venv.join("bin");
    let componentize_py = bin.join("componentize-py");
    let marker = venv.join("installed-requirements.txt");
    let toolchain = PyToolchain {
        componentize_py,
        python: bin.join("python"),
    };
    if toolchain.componentize_py.is_file()
        && std::fs::read(&marker).ok().as_deref() == Some(&wanted[..])
    {
        return Ok(toolchain);
    }
    if !bin.join("pip").is_file() {
        run(Command::new(python).args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&marker, &wanted).with_context(|| format!("writing {}", marker.display()))?;
    Ok(toolchain)
}

/// `componentize-py … componentize` in the example's folder, as its README says.
fn build_python(toolchain: &PyToolchain, dir: &Path, name: &str, dest: &Path) -> Result<()> {
    let source = dir.join("app.py");
    let text = std::fs::read_to_string(&source)
        .with_context(|| format!("reading {}", source.display()))?;
    let world = world_of(&text, &source)?;
    let world = if uses_http(&text) {
        if world == "predicate" {
            bail!(
                "{} uses sluice.http, but predicates have no HTTP world",
                source.display()
            );
        }
        format!("{world}-http")
    } else {
        world.to_string()
    };
    // The `*-packed` worlds add the kind's packed interface, which the SDK then serves
    // (docs/packed-batches.md); predicates have none.
    let world = if world == "predicate" {
        world
    } else {
        format!("{world}-packed")
    };
    let out = format!("{name}.wasm");
    run(Command::new(&toolchain.componentize_py)
        .args(["--wit-path", "../../wit", "--world", &world, "componentize"])
        .args([
            "--python-path",
            ".",
            "--python-path",
            "../../plugin-sdk/python",
            "app",
        ])
        .args(["--output", &out])
        .current_dir(dir))?;
    copy(&dir.join(out), dest)
}

/// Unit tests of the guest SDKs and examples that run without a component: the JavaScript
/// SDK under plain Node, the Python SDK's export adapters against the bindings componentize-py
/// generates, and the Rust example on the host target.
pub fn test_all() -> Result<()> {
    let root = root();
    let js = root.join("plugin-sdk").join("js");
    run(Command::new("node")
        .args([
            "--import",
            "./test/support/register.mjs",
            "--test",
            "test/sdk.test.mjs",
            "test/packed.test.mjs",
        ])
        .current_dir(&js))?;
    test_python_sdk(&root)?;
    for (dir, lang) in list_examples(&root.join("examples"))? {
        if lang == Lang::Rust {
            run(cargo()
                .args(["test", "--manifest-path"])
                .arg(dir.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", target_dir().join("wasm")))?;
        }
    }
    Ok(())
}

/// `python -m unittest` over `plugin-sdk/python/tests`, with the bindings of the `predicate`
/// world generated first (the adapters import them; plain CPython has none).
fn test_python_sdk(root: &Path) -> Result<()> {
    let toolchain = ensure_py_toolchain(root)?;
    let bindings = target_dir().join("py-bindings").join("predicate");
    // componentize-py refuses to write bindings into a directory that exists ("File exists"),
    // so a second `cargo xtask test` would fail: generate them afresh each time.
    if bindings.exists() {
        std::fs::remove_dir_all(&bindings)
            .with_context(|| format!("removing old bindings in {}", bindings.display()))?;
    }
    run(Command::new(&toolchain.componentize_py)
        .arg("--wit-path")
        .arg(root.join("wit"))
        .args(["--world", "predicate", "bindings"])
        .arg(&bindings))?;
    let sdk = root.join("plugin-sdk").join("python");
    let path = std::env::join_paths([sdk.clone(), bindings]).context("PYTHONPATH")?;
    run(Command::new(&toolchain.python)
        .args(["-m", "unittest", "discover", "-s", "tests"])
        .env("PYTHONPATH", path)
        .current_dir(&sdk))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn report(name: &str, dest: &Path, what: &str) {
    let size = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    println!(
        "example {name:<22} {:>9.1} KiB  {}  ({what})",
        size as f64 / 1024.0,
        dest.display()
    );
}

/// Whether `dest` exists and is newer than every file under `inputs` (build output
/// directories such as `target/` and `node_modules/` excluded).
fn newer_than_inputs(dest: &Path, inputs: &[PathBuf]) -> Result<bool> {
    let Ok(built) = std::fs::metadata(dest).and_then(|m| m.modified()) else {
        return Ok(false);
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    for input in inputs {
        newest = newest.max(newest_mtime(input)?);
    }
    Ok(built > newest)
}

fn newest_mtime(path: &Path) -> Result<SystemTime> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(meta.modified()?);
    }
    let mut newest = meta.modified()?;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        // Build output (including a component an example's own build left in its folder).
        let name = name.to_str();
        if matches!(
            name,
            Some("target" | "node_modules" | "__pycache__" | "dist" | ".venv")
        ) || name.is_some_and(|n| n.ends_with(".wasm"))
        {
            continue;
        }
        newest = newest.max(newest_mtime(&entry.path())?);
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_apps_using_sluice_http_are_recognised() {
        assert!(uses_http("from sluice import Outcome, http, log\n"));
        assert!(uses_http("import sluice.http\n"));
        assert!(!uses_http("from sluice import Outcome, log\nhttpx = 1\n"));
    }

    #[test]
    fn reads_the_world_from_the_export_call() {
        let f = Path::new("x");
        assert_eq!(
            world_of("Plugin, T = export_transform(T)", f).unwrap(),
            "transform"
        );
        assert_eq!(
            world_of("Plugin, P = export_predicate(P)", f).unwrap(),
            "predicate"
        );
        assert!(world_of("nothing here", f)
            .unwrap_err()
            .to_string()
            .contains("exports no plugin"));
        assert!(world_of("export_sink(a); export_source(b)", f).is_err());
    }
}
