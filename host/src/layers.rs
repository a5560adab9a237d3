//! The layering rule of the host crate, checked: a top-level module may use only modules of a
//! lower layer (docs/architecture.md draws them; lib.rs lists them). Importing upwards is how cycles start — a
//! runtime type reached from `data`, a REST helper called from `config` — and nothing in the
//! compiler stops it, so this test reads the sources and names every offending line.
//!
//! Design decision: a textual check of `crate::<module>` paths (comments and doc links
//! excluded) instead of a lint plugin or a crate per layer: it needs no tooling, runs with the
//! unit tests, and splitting the host into crates would slow every build on a 2-core machine.

use std::path::{Path, PathBuf};

/// Each top-level module with its layer; lower layers never name higher ones, and modules of
/// one layer never name each other.
const LAYERS: &[(&str, u8)] = &[
    ("spec", 0),
    ("atomic_file", 0),
    ("backoff", 0),
    ("url", 0),
    ("data", 1),
    ("metrics", 1),
    ("config", 2),
    ("convert", 3),
    ("kafka", 3),
    ("listen", 3),
    ("offsets", 4),
    ("schema_registry", 4),
    ("runtime", 5),
    ("wasm", 6),
    ("rest", 6),
    ("distributed", 6),
    ("cli", 7),
    ("fuzzing", 7),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`src/runtime/worker.rs` → `runtime`).
fn owner(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src/");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Every `crate::<module>` a line of code names, with comments cut off.
fn named_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a::X, b}`: every name at the group's top level. A group that goes on to
            // the next line is reported as is, so it cannot slip past the check.
            match group.split_once('}') {
                Some((inner, _)) => found.extend(inner.split(',').map(leading_ident)),
                None => found.push("{…".to_string()),
            }
        } else {
            found.push(leading_ident(after));
        }
        rest = after;
    }
    found
}

fn leading_ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_module_imports_a_module_of_its_own_layer_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut offences = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let from = owner(&src, file);
        // The crate root declares the modules; this file quotes paths in its own tests.
        if from == "lib" || from == "main" || from == "layers" {
            continue;
        }
        let Some(from_layer) = layer(&from) else {
            unknown.push(from.clone());
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source file");
        for (n, line) in text.lines().enumerate() {
            for to in named_modules(line) {
                if to == from {
                    continue;
                }
                match layer(&to) {
                    Some(to_layer) if to_layer < from_layer => {}
                    _ => offences.push(format!(
                        "{}:{}: `{from}` (layer {from_layer}) uses `crate::{to}`: {}",
                        file.strip_prefix(&src).expect("under src").display(),
                        n + 1,
                        line.trim()
                    )),
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "top-level modules missing from LAYERS in layers.rs (give each a layer): {unknown:?}"
    );
    assert!(
        offences.is_empty(),
        "imports that reach up or sideways (move the item down a layer, or pass it in):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    assert_eq!(
        named_modules("use crate::runtime::task::Outcome;"),
        ["runtime"]
    );
    assert_eq!(
        named_modules("let x = 1; // see crate::wasm"),
        Vec::<String>::new()
    );
    assert_eq!(
        named_modules("fn f(a: crate::data::Value) -> crate::spec::Config {"),
        ["data", "spec"]
    );
    assert_eq!(
        named_modules("use crate::{data::Value, spec};"),
        ["data", "spec"]
    );
    assert_eq!(named_modules("use crate::{"), ["{…"]);
    assert!(layer("runtime") > layer("data"));
}
