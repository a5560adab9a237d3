//! The standalone worker's connector store: configs and target states of connectors created or
//! changed through REST, in one JSON file, so they survive a restart (Kafka's standalone mode
//! keeps them in memory only; its distributed mode uses the config topic).
//!
//! Design decision: the whole file is rewritten on every change, atomically (temp file in the
//! same directory, fsync, rename, fsync the directory). Changes are rare (operator actions),
//! and a crash mid-write then leaves either the old or the new file, never a torn one.
//!
//! Format (`version` lets a later release migrate it):
//! ```json
//! {"version":1,"connectors":[{"name":"c","config":{"connector.class":"…","name":"c"},
//!   "target_state":"PAUSED"}]}
//! ```

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as JsonValue};

use super::herder::TargetState;
use crate::config::{get, WorkerConfig};
use crate::spec::Config;

/// The worker key naming the file (Sluice-specific; Kafka's standalone mode has no such file).
pub const CONFIG_STORAGE_FILE: &str = "config.storage.file.filename";
/// The file name used next to `offset.storage.file.filename` when the key is not set.
pub const DEFAULT_FILE_NAME: &str = "connectors.json";
const FORMAT_VERSION: u64 = 1;

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigStoreError {
    #[error("cannot {action} the connector config file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connector config file {path} is not valid: {message} (delete or fix it; it is rewritten on the next change made through REST)")]
    Invalid { path: PathBuf, message: String },
}

/// One stored connector.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnector {
    pub name: String,
    /// The config as submitted, in order.
    pub config: Config,
    pub target: TargetState,
}

/// The JSON file holding [`StoredConnector`]s.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    path: PathBuf,
}

impl ConfigStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigStore { path: path.into() }
    }

    /// The store a worker config names: `config.storage.file.filename`, else `connectors.json`
    /// in the directory of `offset.storage.file.filename`.
    pub fn for_worker(config: &WorkerConfig) -> Self {
        match get(&config.raw, CONFIG_STORAGE_FILE).map(str::trim) {
            Some(p) if !p.is_empty() => ConfigStore::new(p),
            _ => {
                let dir = config
                    .offset_storage_file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                ConfigStore::new(dir.join(DEFAULT_FILE_NAME))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the stored connectors; a missing file is an empty store.
    pub fn load(&self) -> Result<Vec<StoredConnector>, ConfigStoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ConfigStoreError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                })
            }
        };
        parse(&text).map_err(|message| ConfigStoreError::Invalid {
            path: self.path.clone(),
            message,
        })
    }

    /// Replaces the file with `connectors`, atomically.
    pub fn save(&self, connectors: &[StoredConnector]) -> Result<(), ConfigStoreError> {
        let list: Vec<JsonValue> = connectors
            .iter()
            .map(|c| {
                let config: Map<String, JsonValue> = c
                    .config
                    .iter()
                    .map(|(k, v)| (k.clone(), JsonValue::String(v.clone())))
                    .collect();
                json!({"name": c.name, "config": config, "target_state": c.target.as_str()})
            })
            .collect();
        let doc = json!({"version": FORMAT_VERSION, "connectors": list});
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        self.write_atomically(text.as_bytes())
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), ConfigStoreError> {
        crate::atomic_file::write(&self.path, bytes).map_err(|e| ConfigStoreError::Io {
            action: e.action,
            path: self.path.clone(),
            source: e.source,
        })
    }
}

fn parse(text: &str) -> Result<Vec<StoredConnector>, String> {
    let doc: JsonValue = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match doc.get("version").and_then(JsonValue::as_u64) {
        Some(FORMAT_VERSION) => {}
        other => {
            return Err(format!(
                "\"version\" is {other:?}; this Sluice reads version {FORMAT_VERSION}"
            ))
        }
    }
    let list = doc
        .get("connectors")
        .and_then(JsonValue::as_array)
        .ok_or("\"connectors\" must be an array")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let name = entry
            .get("name")
            .and_then(JsonValue::as_str)
            .ok_or(format!("connectors[{i}].name must be a string"))?;
        let config = entry
            .get("config")
            .and_then(JsonValue::as_object)
            .ok_or(format!("connector {name:?}: \"config\" must be an object"))?;
        let mut pairs = Config::new();
        for (k, v) in config {
            let v = v.as_str().ok_or(format!(
                "connector {name:?}: config value of {k:?} must be a string"
            ))?;
            pairs.push((k.clone(), v.to_string()));
        }
        let state = entry
            .get("target_state")
            .and_then(JsonValue::as_str)
            .unwrap_or("STARTED");
        let target = TargetState::parse(state).ok_or(format!(
            "connector {name:?}: target_state {state:?} is not STARTED, PAUSED or STOPPED"
        ))?;
        out.push(StoredConnector {
            name: name.to_string(),
            config: pairs,
            target,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stored(name: &str, target: TargetState) -> StoredConnector {
        StoredConnector {
            name: name.into(),
            config: vec![
                ("name".into(), name.into()),
                ("connector.class".into(), "FileStreamSource".into()),
                ("a.key".into(), "ünïcode \"q\"".into()),
            ],
            target,
        }
    }

    #[test]
    fn round_trips_in_order_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(dir.path().join("connectors.json"));
        assert_eq!(store.load().unwrap(), Vec::new(), "missing file = empty");
        let all = vec![
            stored("b", TargetState::Paused),
            stored("a", TargetState::Stopped),
        ];
        store.save(&all).unwrap();
        assert_eq!(store.load().unwrap(), all);
        store.save(&all[..1]).unwrap();
        assert_eq!(store.load().unwrap(), all[..1].to_vec());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("connectors.json")]);
    }

    #[test]
    fn invalid_files_name_the_path_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let store = ConfigStore::new(&path);
        for (text, expected) in [
            ("{", "EOF"),
            (r#"{"version":2,"connectors":[]}"#, "reads version 1"),
            (
                r#"{"version":1,"connectors":[{"name":"x","config":{"k":1}}]}"#,
                "\"k\" must be a string",
            ),
            (
                r#"{"version":1,"connectors":[{"name":"x","config":{},"target_state":"GONE"}]}"#,
                "GONE",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = store.load().unwrap_err().to_string();
            assert!(
                e.contains(&path.display().to_string()) && e.contains(expected),
                "{e}"
            );
        }
    }
}
