//! Config providers (KIP-297, KIP-632, KIP-887, KIP-993): `${provider:[path:]key}` placeholders
//! in connector configs, resolved from files, directories or environment variables when the
//! connector starts — never when it is stored, so the REST API and the connector store only
//! ever hold the placeholder text.
//!
//! Worker setup, with Kafka's class names:
//! ```properties
//! config.providers=file,directory,env
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.file.param.allowed.paths=/etc/sluice/secrets
//! config.providers.directory.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//! config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! config.providers.env.param.allowlist.pattern=^DB_.*
//! ```
//!
//! Decisions a reader must know:
//! - Kafka leaves a placeholder whose provider or key is unknown as literal text, so a typo
//!   reaches the connector as `${file:…}`. Sluice refuses to start the connector instead, with
//!   an error naming the key, the provider and the path — never a resolved value.
//! - Resolved values are secrets: they exist only in the config handed to the plugin. Errors
//!   and log lines name keys, providers and paths only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use super::{get, Config};
use crate::spec::ConfigProblem;

pub const FILE_PROVIDER: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
pub const DIRECTORY_PROVIDER: &str =
    "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
pub const ENV_PROVIDER: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Kafka's placeholder pattern (`ConfigTransformer.DEFAULT_PATTERN`).
fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}").unwrap_or_else(|e| {
            // A constant pattern: unreachable unless the regex crate changes its syntax.
            panic!("placeholder pattern: {e}")
        })
    })
}

/// Whether `value` contains a `${provider:[path:]key}` placeholder.
pub fn has_placeholder(value: &str) -> bool {
    placeholder().is_match(value)
}

/// Whether `value` is nothing but placeholders (and whitespace): such a value names where a
/// secret lives without containing one, so the REST API shows it as written.
pub fn only_placeholders(value: &str) -> bool {
    has_placeholder(value) && placeholder().replace_all(value, "").trim().is_empty()
}

/// Directories a file or directory provider may read (`allowed.paths`); empty = anywhere.
#[derive(Debug, Clone, Default)]
struct AllowedPaths(Vec<PathBuf>);

impl AllowedPaths {
    fn parse(alias: &str, value: Option<&str>) -> Result<Self, String> {
        let mut out = Vec::new();
        for p in value.unwrap_or_default().split(',').map(str::trim) {
            if p.is_empty() {
                continue;
            }
            let path = PathBuf::from(p);
            if !path.is_absolute() {
                return Err(format!(
                    "config.providers.{alias}.param.allowed.paths: {p:?} is not an absolute path; \
                     expected a comma-separated list of absolute directories"
                ));
            }
            out.push(normalize(&path));
        }
        Ok(AllowedPaths(out))
    }

    /// `path` (made absolute and free of `..`) lies under one of the allowed directories.
    fn allows(&self, path: &Path) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let path = normalize(path);
        self.0.iter().any(|dir| path.starts_with(dir))
    }
}

/// Lexical normalisation (Java's `Path.normalize`): drops `.` and resolves `..`, so
/// `/allowed/../etc/passwd` is not under `/allowed`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Provider {
    File(AllowedPaths),
    Directory(AllowedPaths),
    Env(Regex),
}

/// The worker's config providers, by alias.
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

/// Why a placeholder could not be resolved. Names the key and the placeholder's provider,
/// path and key; never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve the config provider placeholder in {key:?}: {message}")]
pub struct ResolveError {
    pub key: String,
    pub message: String,
}

impl ConfigProviders {
    /// Reads `config.providers` and `config.providers.<alias>.{class,param.*}` from a worker
    /// config; every problem at once (all reported under `config.providers`).
    pub fn from_worker(raw: &Config) -> Result<Self, Vec<ConfigProblem>> {
        let mut providers = BTreeMap::new();
        let mut problems = Vec::new();
        let aliases = get(raw, "config.providers").unwrap_or_default();
        for alias in aliases.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let class_key = format!("config.providers.{alias}.class");
            let param = |name: &str| get(raw, &format!("config.providers.{alias}.param.{name}"));
            let class = get(raw, &class_key).map(str::trim).unwrap_or_default();
            let provider = match class {
                FILE_PROVIDER | "FileConfigProvider" => {
                    AllowedPaths::parse(alias, param("allowed.paths")).map(Provider::File)
                }
                DIRECTORY_PROVIDER | "DirectoryConfigProvider" => {
                    AllowedPaths::parse(alias, param("allowed.paths")).map(Provider::Directory)
                }
                ENV_PROVIDER | "EnvVarConfigProvider" => {
                    let pattern = param("allowlist.pattern").unwrap_or(".*");
                    // Java's `Matcher.matches()`: the whole name must match.
                    Regex::new(&format!("^(?:{pattern})$"))
                        .map(Provider::Env)
                        .map_err(|e| {
                            format!(
                                "config.providers.{alias}.param.allowlist.pattern: invalid regex \
                                 {pattern:?}: {e}"
                            )
                        })
                }
                "" => Err(format!(
                    "Missing required configuration \"{class_key}\" for config provider \
                     {alias:?} (listed in config.providers); expected one of {FILE_PROVIDER}, \
                     {DIRECTORY_PROVIDER}, {ENV_PROVIDER}"
                )),
                other => Err(format!(
                    "Invalid value {other} for configuration {class_key}: unknown config \
                     provider class; expected one of {FILE_PROVIDER}, {DIRECTORY_PROVIDER}, \
                     {ENV_PROVIDER}"
                )),
            };
            match provider {
                Ok(p) => {
                    providers.insert(alias.to_string(), p);
                }
                Err(message) => problems.push(ConfigProblem {
                    key: "config.providers".to_string(),
                    message,
                }),
            }
        }
        if problems.is_empty() {
            Ok(ConfigProviders { providers })
        } else {
            Err(problems)
        }
    }

    /// `config` with every placeholder replaced. Keys without placeholders are returned as
    /// they are; the first unresolvable placeholder is an error.
    pub fn resolve(&self, config: &Config) -> Result<Config, ResolveError> {
        let mut out = Config::with_capacity(config.len());
        // One file or directory read per (provider, path) even when many keys use it.
        let mut files: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in config {
            if !has_placeholder(value) {
                out.push((key.clone(), value.clone()));
                continue;
            }
            let mut resolved = String::with_capacity(value.len());
            let mut last = 0;
            for caps in placeholder().captures_iter(value) {
                let Some(whole) = caps.get(0) else { continue };
                let alias = caps.get(1).map_or("", |m| m.as_str());
                let path = caps.get(3).map_or("", |m| m.as_str());
                let name = caps.get(4).map_or("", |m| m.as_str());
                let err = |message: String| ResolveError {
                    key: key.clone(),
                    message,
                };
                let provider = self.providers.get(alias).ok_or_else(|| {
                    let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
                    err(format!(
                        "unknown config provider {alias:?} (the worker's config.providers lists \
                         {known:?})"
                    ))
                })?;
                let replacement = match provider {
                    Provider::Env(allow) => {
                        if !path.is_empty() {
                            return Err(err(format!(
                                "provider {alias:?} reads environment variables and takes no \
                                 path, but the placeholder names path {path:?}; use ${{{alias}:{name}}}"
                            )));
                        }
                        if !allow.is_match(name) {
                            return Err(err(format!(
                                "environment variable {name:?} is not allowed by \
                                 config.providers.{alias}.param.allowlist.pattern"
                            )));
                        }
                        std::env::var(name).map_err(|_| {
                            err(format!(
                                "environment variable {name:?} (provider {alias:?}) is not set \
                                 or not UTF-8"
                            ))
                        })?
                    }
                    Provider::File(allowed) | Provider::Directory(allowed) => {
                        let is_dir = matches!(provider, Provider::Directory(_));
                        if path.is_empty() {
                            return Err(err(format!(
                                "provider {alias:?} needs a path: ${{{alias}:<path>:{name}}}"
                            )));
                        }
                        if !allowed.allows(Path::new(path)) {
                            return Err(err(format!(
                                "path {path:?} is not under config.providers.{alias}.param.allowed.paths"
                            )));
                        }
                        let slot = (alias.to_string(), path.to_string());
                        if !files.contains_key(&slot) {
                            let data = if is_dir {
                                read_directory(Path::new(path))
                            } else {
                                read_properties_file(Path::new(path))
                            }
                            .map_err(|m| err(format!("provider {alias:?}: {m}")))?;
                            files.insert(slot.clone(), data);
                        }
                        files
                            .get(&slot)
                            .and_then(|d| d.get(name))
                            .cloned()
                            .ok_or_else(|| {
                                let what = if is_dir { "file" } else { "key" };
                                err(format!(
                                    "provider {alias:?}: no {what} {name:?} in {path:?}"
                                ))
                            })?
                    }
                };
                resolved.push_str(&value[last..whole.start()]);
                resolved.push_str(&replacement);
                last = whole.end();
            }
            resolved.push_str(&value[last..]);
            out.push((key.clone(), resolved));
        }
        Ok(out)
    }
}

/// A Java `.properties` file as a map (the last occurrence of a key wins).
fn read_properties_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let pairs = super::read_properties(path).map_err(|e| match e {
        // The message of a syntax error quotes no values, only file:line.
        super::ConfigError::Io { source, .. } => {
            format!("cannot read properties file {}: {source}", path.display())
        }
        other => other.to_string(),
    })?;
    Ok(pairs.into_iter().collect())
}

/// Every regular file directly in `dir`, by file name, with its content (UTF-8).
fn read_directory(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?;
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if !is_file {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let content = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        out.insert(name, content);
    }
    Ok(out)
}

/// Kafka's task-config "reverse transform" (KAFKA-5117): every key whose raw connector value
/// holds a placeholder gets that raw value back, so task configs shown over REST never carry
/// what a provider resolved.
pub fn restore_placeholders(raw: &Config, task_config: &Config) -> Config {
    task_config
        .iter()
        .map(|(k, v)| match get(raw, k) {
            Some(r) if has_placeholder(r) => (k.clone(), r.to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    fn providers(extra: &[(&str, &str)]) -> ConfigProviders {
        let mut raw = cfg(&[
            ("config.providers", "file,directory,env"),
            ("config.providers.file.class", FILE_PROVIDER),
            ("config.providers.directory.class", DIRECTORY_PROVIDER),
            ("config.providers.env.class", ENV_PROVIDER),
        ]);
        raw.extend(cfg(extra));
        ConfigProviders::from_worker(&raw).expect("valid providers")
    }

    #[test]
    fn file_directory_and_env_placeholders_resolve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let props = dir.path().join("db.properties");
        std::fs::write(&props, "user=alice\npassword = s3cret\n").expect("write");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).expect("mkdir");
        std::fs::write(secrets.join("token"), "t0k").expect("write");
        std::env::set_var("SLUICE_PROVIDER_TEST_VAR", "from-env");
        let p = providers(&[]);
        let raw = cfg(&[
            ("plain", "no placeholder"),
            (
                "url",
                &format!("jdbc://${{file:{}:user}}@host", props.display()),
            ),
            (
                "password",
                &format!("${{file:{}:password}}", props.display()),
            ),
            (
                "token",
                &format!("${{directory:{}:token}}", secrets.display()),
            ),
            (
                "env",
                "x-${env:SLUICE_PROVIDER_TEST_VAR}-${env:SLUICE_PROVIDER_TEST_VAR}",
            ),
        ]);
        let resolved = p.resolve(&raw).expect("resolves");
        assert_eq!(
            resolved,
            cfg(&[
                ("plain", "no placeholder"),
                ("url", "jdbc://alice@host"),
                ("password", "s3cret"),
                ("token", "t0k"),
                ("env", "x-from-env-from-env"),
            ])
        );
        // Task configs shown over REST get the placeholders back.
        let shown = restore_placeholders(&raw, &resolved);
        assert_eq!(shown, raw);
    }

    #[test]
    fn unresolvable_placeholders_name_key_provider_and_path_but_no_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let props = dir.path().join("p.properties");
        std::fs::write(&props, "known=s3cret-value\n").expect("write");
        let allowed = dir.path().join("allowed");
        std::fs::create_dir(&allowed).expect("mkdir");
        let p = providers(&[
            ("config.providers.env.param.allowlist.pattern", "DB_.*"),
            (
                "config.providers.directory.param.allowed.paths",
                &allowed.display().to_string(),
            ),
        ]);
        let path = props.display().to_string();
        let cases = [
            ("${vault:x}", "unknown config provider \"vault\" (the worker's config.providers lists [\"directory\", \"env\", \"file\"])".to_string()),
            (&*format!("${{file:{path}:missing}}"), format!("provider \"file\": no key \"missing\" in {path:?}")),
            ("${file:/nonexistent/x.properties:k}", "provider \"file\": cannot read properties file /nonexistent/x.properties: No such file or directory (os error 2)".to_string()),
            ("${env:HOME}", "environment variable \"HOME\" is not allowed by config.providers.env.param.allowlist.pattern".to_string()),
            ("${env:/p:DB_X}", "provider \"env\" reads environment variables and takes no path, but the placeholder names path \"/p\"; use ${env:DB_X}".to_string()),
            (&*format!("${{directory:{}/../x:k}}", allowed.display()), format!("path \"{}/../x\" is not under config.providers.directory.param.allowed.paths", allowed.display())),
        ];
        for (value, message) in cases {
            let e = p.resolve(&cfg(&[("k", value)])).expect_err(value);
            assert_eq!(e.key, "k");
            assert_eq!(e.message, message, "{value}");
            assert!(!e.to_string().contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn worker_provider_config_errors_are_precise() {
        let problems = ConfigProviders::from_worker(&cfg(&[
            ("config.providers", "a,b,c,d"),
            ("config.providers.a.class", "com.example.Vault"),
            ("config.providers.c.class", ENV_PROVIDER),
            ("config.providers.c.param.allowlist.pattern", "("),
            ("config.providers.d.class", FILE_PROVIDER),
            ("config.providers.d.param.allowed.paths", "relative/dir"),
        ]))
        .expect_err("invalid");
        let problems: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("Invalid value com.example.Vault for configuration config.providers.a.class: unknown config provider class"), "{}", problems[0]);
        assert!(
            problems[1].starts_with("Missing required configuration \"config.providers.b.class\""),
            "{}",
            problems[1]
        );
        assert!(
            problems[2]
                .starts_with("config.providers.c.param.allowlist.pattern: invalid regex \"(\""),
            "{}",
            problems[2]
        );
        assert_eq!(problems[3], "config.providers.d.param.allowed.paths: \"relative/dir\" is not an absolute path; expected a comma-separated list of absolute directories");
        assert!(ConfigProviders::from_worker(&Vec::new()).is_ok());
    }
}
