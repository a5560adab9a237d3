//! `sluice plugin new`: scaffolds a plugin project (Rust, JavaScript or Python; transform,
//! sink or source) that builds as is, with its own README and a unit test.
//!
//! Design decision: the templates (plugin-sdk/templates/) and the JavaScript and Python SDKs
//! (plugin-sdk/js, plugin-sdk/python) are
//! embedded in the binary and the SDK is *copied* into the new project, so a JS or Python
//! project is self-contained (it needs only its pinned toolchain from npm / PyPI) and matches
//! the `sluice` that made it. The Rust SDK is a crate that is not on crates.io: the project
//! refers to it by path — by default the `plugin-sdk/rust/` of the checkout this binary was built
//! from, else `--sdk-path`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A plugin's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Js,
    Python,
}

/// A plugin's kind (the WIT world it targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Transform,
    Sink,
    Source,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Transform => "transform",
            Kind::Sink => "sink",
            Kind::Source => "source",
        }
    }
}

/// `sluice plugin new` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// Project (and plugin) name: lowercase letters, digits and dashes, e.g. `mask-email`.
    pub name: String,
    /// The plugin's language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The plugin's kind.
    #[arg(long, value_enum, default_value = "transform")]
    pub kind: Kind,
    /// Directory to create the project in (the project is DIR/NAME).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Rust only: the Sluice plugin SDK (`plugin-sdk/rust/` of a Sluice checkout). Default: the
    /// checkout this `sluice` was built from, when it still exists.
    #[arg(long = "sdk-path")]
    pub sdk_path: Option<PathBuf>,
}

/// Why a project could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldError(pub String);

impl fmt::Display for ScaffoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScaffoldError {}

// The WASI packages go along too: since the `*-http` worlds import `wasi:http`, a binding
// generator that resolves worlds.wit (componentize-js does) fails without them.
const WIT: [(&str, &str); 9] = [
    ("wit/connect.wit", include_str!("../../../wit/connect.wit")),
    ("wit/worlds.wit", include_str!("../../../wit/worlds.wit")),
    (
        "wit/deps/cli.wit",
        include_str!("../../../wit/deps/cli.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../../wit/deps/clocks.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../../wit/deps/filesystem.wit"),
    ),
    (
        "wit/deps/http.wit",
        include_str!("../../../wit/deps/http.wit"),
    ),
    ("wit/deps/io.wit", include_str!("../../../wit/deps/io.wit")),
    (
        "wit/deps/random.wit",
        include_str!("../../../wit/deps/random.wit"),
    ),
    (
        "wit/deps/sockets.wit",
        include_str!("../../../wit/deps/sockets.wit"),
    ),
];

/// The Rust SDK next to the checkout this binary was compiled in.
fn default_rust_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("plugin-sdk")
        .join("rust")
}

/// Creates the project; returns its directory and the files written (relative paths).
pub fn create(args: &NewArgs) -> Result<(PathBuf, Vec<String>), ScaffoldError> {
    check_name(&args.name)?;
    let project = args.dir.join(&args.name);
    if project.exists() {
        return Err(ScaffoldError(format!(
            "{} already exists; choose another name or --dir",
            project.display()
        )));
    }
    let sdk_path = match args.lang {
        Lang::Rust => {
            let given = args.sdk_path.clone().unwrap_or_else(default_rust_sdk);
            let sdk = given
                .canonicalize()
                .ok()
                .filter(|p| p.join("Cargo.toml").is_file());
            Some(sdk.ok_or_else(|| {
                ScaffoldError(format!(
                    "the Rust plugin SDK was not found at {} (no Cargo.toml there); pass \
                     --sdk-path pointing at plugin-sdk/rust/ of a Sluice checkout",
                    given.display()
                ))
            })?)
        }
        _ => None,
    };
    let vars = Vars {
        name: args.name.clone(),
        crate_name: args.name.replace('-', "_"),
        class_name: class_name(&args.name),
        kind: args.kind.name(),
        sdk_path: sdk_path
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        usage: match args.kind {
            Kind::Transform => " in `transforms.<alias>.type`".to_string(),
            _ => " in `connector.class`".to_string(),
        },
    };
    let files = files(args.lang, args.kind);
    let mut written = Vec::new();
    for (path, template) in &files {
        let target = project.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ScaffoldError(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&target, vars.render(template))
            .map_err(|e| ScaffoldError(format!("cannot write {}: {e}", target.display())))?;
        written.push(path.to_string());
    }
    #[cfg(unix)]
    if args.lang == Lang::Python {
        use std::os::unix::fs::PermissionsExt;
        let script = project.join("build.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
            ScaffoldError(format!("cannot make {} executable: {e}", script.display()))
        })?;
    }
    Ok((project, written))
}

/// (path in the project, template text) for one language and kind.
fn files(lang: Lang, kind: Kind) -> Vec<(&'static str, &'static str)> {
    let mut files: Vec<(&str, &str)> = match lang {
        Lang::Rust => vec![
            (
                "Cargo.toml",
                include_str!("../../../plugin-sdk/templates/rust/Cargo.toml"),
            ),
            (
                "README.md",
                include_str!("../../../plugin-sdk/templates/rust/README.md"),
            ),
            (
                ".gitignore",
                include_str!("../../../plugin-sdk/templates/rust/gitignore"),
            ),
            (
                "src/lib.rs",
                match kind {
                    Kind::Transform => {
                        include_str!("../../../plugin-sdk/templates/rust/transform.rs")
                    }
                    Kind::Sink => include_str!("../../../plugin-sdk/templates/rust/sink.rs"),
                    Kind::Source => include_str!("../../../plugin-sdk/templates/rust/source.rs"),
                },
            ),
        ],
        Lang::Js => vec![
            (
                "package.json",
                include_str!("../../../plugin-sdk/templates/js/package.json"),
            ),
            (
                "package-lock.json",
                include_str!("../../../plugin-sdk/js/package-lock.json"),
            ),
            (
                "README.md",
                include_str!("../../../plugin-sdk/templates/js/README.md"),
            ),
            (
                ".gitignore",
                include_str!("../../../plugin-sdk/templates/js/gitignore"),
            ),
            (
                "src/sluice.js",
                include_str!("../../../plugin-sdk/js/sluice.js"),
            ),
            (
                "src/sluice/config.js",
                include_str!("../../../plugin-sdk/js/sluice/config.js"),
            ),
            (
                "src/sluice/data.js",
                include_str!("../../../plugin-sdk/js/sluice/data.js"),
            ),
            (
                "src/sluice/exports.js",
                include_str!("../../../plugin-sdk/js/sluice/exports.js"),
            ),
            (
                "src/sluice/log.js",
                include_str!("../../../plugin-sdk/js/sluice/log.js"),
            ),
            (
                "src/sluice/metrics.js",
                include_str!("../../../plugin-sdk/js/sluice/metrics.js"),
            ),
            (
                "src/sluice/wire.js",
                include_str!("../../../plugin-sdk/js/sluice/wire.js"),
            ),
            (
                "src/sluice/packed/batch.js",
                include_str!("../../../plugin-sdk/js/sluice/packed/batch.js"),
            ),
            (
                "src/sluice/packed/codec.js",
                include_str!("../../../plugin-sdk/js/sluice/packed/codec.js"),
            ),
            (
                "test/support/register.mjs",
                include_str!("../../../plugin-sdk/js/test/support/register.mjs"),
            ),
            (
                "test/support/host-hooks.mjs",
                include_str!("../../../plugin-sdk/js/test/support/host-hooks.mjs"),
            ),
            (
                "test/support/host-stub.mjs",
                include_str!("../../../plugin-sdk/js/test/support/host-stub.mjs"),
            ),
            (
                "src/index.js",
                match kind {
                    Kind::Transform => {
                        include_str!("../../../plugin-sdk/templates/js/transform.js")
                    }
                    Kind::Sink => include_str!("../../../plugin-sdk/templates/js/sink.js"),
                    Kind::Source => include_str!("../../../plugin-sdk/templates/js/source.js"),
                },
            ),
            (
                "test/plugin.test.mjs",
                match kind {
                    Kind::Transform => {
                        include_str!("../../../plugin-sdk/templates/js/transform.test.mjs")
                    }
                    Kind::Sink => include_str!("../../../plugin-sdk/templates/js/sink.test.mjs"),
                    Kind::Source => {
                        include_str!("../../../plugin-sdk/templates/js/source.test.mjs")
                    }
                },
            ),
        ],
        Lang::Python => vec![
            (
                "README.md",
                include_str!("../../../plugin-sdk/templates/python/README.md"),
            ),
            (
                "requirements.txt",
                include_str!("../../../plugin-sdk/python/requirements.txt"),
            ),
            (
                "build.sh",
                include_str!("../../../plugin-sdk/templates/python/build.sh"),
            ),
            (
                ".gitignore",
                include_str!("../../../plugin-sdk/templates/python/gitignore"),
            ),
            (
                "sdk/sluice/__init__.py",
                include_str!("../../../plugin-sdk/python/sluice/__init__.py"),
            ),
            (
                "sdk/sluice/_config.py",
                include_str!("../../../plugin-sdk/python/sluice/_config.py"),
            ),
            (
                "sdk/sluice/_data.py",
                include_str!("../../../plugin-sdk/python/sluice/_data.py"),
            ),
            (
                "sdk/sluice/_wire.py",
                include_str!("../../../plugin-sdk/python/sluice/_wire.py"),
            ),
            (
                "sdk/sluice/_exports.py",
                include_str!("../../../plugin-sdk/python/sluice/_exports.py"),
            ),
            (
                "sdk/sluice/_packed.py",
                include_str!("../../../plugin-sdk/python/sluice/_packed.py"),
            ),
            (
                "sdk/packed_transforms.py",
                include_str!("../../../plugin-sdk/python/packed_transforms.py"),
            ),
            (
                "sdk/packed_sink.py",
                include_str!("../../../plugin-sdk/python/packed_sink.py"),
            ),
            (
                "sdk/packed_source.py",
                include_str!("../../../plugin-sdk/python/packed_source.py"),
            ),
            (
                "sdk/transforms.py",
                include_str!("../../../plugin-sdk/python/transforms.py"),
            ),
            (
                "sdk/sink_connector.py",
                include_str!("../../../plugin-sdk/python/sink_connector.py"),
            ),
            (
                "sdk/source_connector.py",
                include_str!("../../../plugin-sdk/python/source_connector.py"),
            ),
            (
                "sdk/predicates.py",
                include_str!("../../../plugin-sdk/python/predicates.py"),
            ),
            (
                "app.py",
                match kind {
                    Kind::Transform => {
                        include_str!("../../../plugin-sdk/templates/python/transform.py")
                    }
                    Kind::Sink => include_str!("../../../plugin-sdk/templates/python/sink.py"),
                    Kind::Source => include_str!("../../../plugin-sdk/templates/python/source.py"),
                },
            ),
            (
                "test_app.py",
                match kind {
                    Kind::Transform => {
                        include_str!("../../../plugin-sdk/templates/python/test_transform.py")
                    }
                    Kind::Sink => include_str!("../../../plugin-sdk/templates/python/test_sink.py"),
                    Kind::Source => {
                        include_str!("../../../plugin-sdk/templates/python/test_source.py")
                    }
                },
            ),
        ],
    };
    if lang != Lang::Rust {
        files.extend(WIT);
    }
    files
}

struct Vars {
    name: String,
    crate_name: String,
    class_name: String,
    kind: &'static str,
    sdk_path: String,
    usage: String,
}

impl Vars {
    /// Replaces `{{var}}` placeholders. Copied SDK files contain none, so rendering them is
    /// a no-op — except the lock file's package name, which becomes the project's.
    fn render(&self, template: &str) -> String {
        template
            .replace("{{name}}", &self.name)
            .replace("{{plugin_name}}", &self.name)
            .replace("{{crate_name}}", &self.crate_name)
            .replace("{{class_name}}", &self.class_name)
            .replace("{{kind}}", self.kind)
            .replace("{{world}}", self.kind)
            .replace("{{sdk_path}}", &self.sdk_path.replace('\\', "/"))
            .replace("{{usage}}", &self.usage)
            .replace(
                "\"name\": \"sluice-plugin-sdk\"",
                &format!("\"name\": \"{}\"", self.name),
            )
    }
}

/// Names become a directory, a cargo package, an npm package and a plugin name: keep to
/// what all of them accept.
fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError(format!(
            "invalid plugin name {name:?}: use lowercase letters, digits and single dashes, \
             starting with a letter (at most 64 characters), e.g. `mask-email`"
        )))
    }
}

/// `mask-email` -> `MaskEmail`.
fn class_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(lang: Lang, kind: Kind, dir: &Path) -> NewArgs {
        NewArgs {
            name: "mask-email".into(),
            lang,
            kind,
            dir: dir.to_path_buf(),
            sdk_path: None,
        }
    }

    #[test]
    fn names_are_checked_and_turned_into_class_names() {
        assert!(check_name("mask-email2").is_ok());
        for bad in ["Mask", "1x", "a_b", "a-", "a--b", ""] {
            let e = check_name(bad).unwrap_err();
            assert!(e.0.contains("invalid plugin name"), "{bad}: {e}");
        }
        assert_eq!(class_name("mask-email"), "MaskEmail");
    }

    #[test]
    fn every_language_and_kind_renders_without_leftover_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        for (i, lang) in [Lang::Rust, Lang::Js, Lang::Python].into_iter().enumerate() {
            for (j, kind) in [Kind::Transform, Kind::Sink, Kind::Source]
                .into_iter()
                .enumerate()
            {
                let sub = dir.path().join(format!("{i}{j}"));
                let (project, written) = create(&args(lang, kind, &sub)).unwrap();
                assert!(written.iter().any(|f| f == "README.md"));
                for f in &written {
                    let text = std::fs::read_to_string(project.join(f)).unwrap();
                    assert!(
                        !text.contains("{{"),
                        "{lang:?}/{kind:?}: placeholder left in {f}"
                    );
                }
            }
        }
        // The copied JavaScript SDK is complete: every module it imports was written.
        let src = dir.path().join("10/mask-email/src");
        for f in [
            "sluice.js",
            "sluice/exports.js",
            "sluice/wire.js",
            "sluice/packed/batch.js",
            "sluice/packed/codec.js",
        ] {
            let text = std::fs::read_to_string(src.join(f)).unwrap();
            let base = src.join(f);
            let base = base.parent().unwrap();
            for import in text.split("from \"").skip(1) {
                let path = import.split('"').next().unwrap();
                if path.starts_with("./") {
                    assert!(base.join(path).is_file(), "{f} imports missing {path}");
                }
            }
        }
        let js = std::fs::read_to_string(dir.path().join("10/mask-email/package.json")).unwrap();
        assert!(js.contains("--world-name transform-packed"), "{js}");
        let py = std::fs::read_to_string(dir.path().join("22/mask-email/app.py")).unwrap();
        assert!(py.contains("class MaskEmail(Source)"), "{py}");
        let cargo = std::fs::read_to_string(dir.path().join("01/mask-email/Cargo.toml")).unwrap();
        assert!(cargo.contains("plugin-sdk/rust\" }"), "{cargo}");
    }

    #[test]
    fn refuses_an_existing_directory_and_a_missing_rust_sdk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mask-email")).unwrap();
        let e = create(&args(Lang::Js, Kind::Sink, dir.path())).unwrap_err();
        assert!(e.0.contains("already exists"), "{e}");
        let mut a = args(Lang::Rust, Kind::Transform, &dir.path().join("other"));
        a.sdk_path = Some(dir.path().join("nowhere"));
        let e = create(&a).unwrap_err();
        assert!(e.0.contains("--sdk-path"), "{e}");
    }
}
