//! The records of Kafka Connect's config and status topics, in Kafka Connect's own formats
//! (reference §9.1), so a Sluice cluster can adopt a Kafka Connect cluster's topics and the
//! other way round. Keys are plain UTF-8 strings; values are JSON as written by Kafka's
//! internal JsonConverter (`schemas.enable=false`); a record with a null value is a
//! tombstone. `tests/fixtures/distributed/` holds records captured from Kafka Connect 3.9, which
//! the tests below decode and re-encode byte for byte.
//!
//! Design decision: unknown keys decode to [`ConfigRecord::Other`] instead of an error — a
//! newer Kafka Connect worker may write record types this version does not know, and a
//! worker that stopped reading the config topic at the first of them would stall the cluster.

use serde_json::{json, Map, Value as Json};

use crate::config::Config;

/// A connector's target state as the config topic stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    fn wire(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }
    fn from_wire(s: &str) -> Option<Self> {
        match s {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// One record of the config topic, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigRecord {
    /// `connector-<name>`: its config, or `None` (tombstone) when deleted.
    Connector {
        name: String,
        config: Option<Config>,
    },
    /// `task-<name>-<n>`: a task config, applied only once a `commit-<name>` follows.
    Task {
        connector: String,
        task: u32,
        config: Option<Config>,
    },
    /// `commit-<name>`: publishes task configs `0..tasks` written before it.
    Commit { connector: String, tasks: u32 },
    /// `target-state-<name>`; `None` (tombstone) on delete.
    TargetState {
        connector: String,
        state: Option<TargetState>,
    },
    /// `restart-connector-<name>` (KIP-745).
    Restart {
        connector: String,
        include_tasks: bool,
        only_failed: bool,
    },
    /// Any other key (`session-key`, `tasks-fencing-…`, `logger-cluster-…`, or newer ones):
    /// kept as raw JSON so nothing is lost.
    Other { key: String, value: Option<Json> },
}

/// A config or status record that is not in Kafka Connect's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {key:?}: {message}")]
pub struct RecordError {
    pub key: String,
    pub message: String,
}

impl ConfigRecord {
    /// The record's key and value bytes (`None` for a tombstone).
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let (key, value) = match self {
            ConfigRecord::Connector { name, config } => (
                format!("connector-{name}"),
                config
                    .as_ref()
                    .map(|c| json!({ "properties": properties(c) })),
            ),
            ConfigRecord::Task {
                connector,
                task,
                config,
            } => (
                format!("task-{connector}-{task}"),
                config
                    .as_ref()
                    .map(|c| json!({ "properties": properties(c) })),
            ),
            ConfigRecord::Commit { connector, tasks } => (
                format!("commit-{connector}"),
                Some(json!({ "tasks": tasks })),
            ),
            ConfigRecord::TargetState { connector, state } => (
                format!("target-state-{connector}"),
                state.map(|s| {
                    // Workers older than 3.5 know only "state": STOPPED reads as PAUSED there.
                    let v1 = if s == TargetState::Stopped {
                        TargetState::Paused
                    } else {
                        s
                    };
                    json!({ "state": v1.wire(), "state.v2": s.wire() })
                }),
            ),
            ConfigRecord::Restart {
                connector,
                include_tasks,
                only_failed,
            } => (
                format!("restart-connector-{connector}"),
                Some(json!({ "include-tasks": include_tasks, "only-failed": only_failed })),
            ),
            ConfigRecord::Other { key, value } => (key.clone(), value.clone()),
        };
        (key, value.map(|v| v.to_string().into_bytes()))
    }

    /// Decodes one config-topic record.
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<ConfigRecord, RecordError> {
        let err = |message: String| RecordError {
            key: key.to_string(),
            message,
        };
        let value: Option<Json> = match value {
            None => None,
            Some(b) => Some(
                serde_json::from_slice(b).map_err(|e| err(format!("value is not JSON: {e}")))?,
            ),
        };
        let field = |name: &str| -> Result<&Json, RecordError> {
            value
                .as_ref()
                .and_then(|v| v.get(name))
                .ok_or_else(|| err(format!("value has no \"{name}\" field")))
        };
        if let Some(connector) = key.strip_prefix("connector-") {
            let config = match &value {
                None => None,
                Some(_) => Some(config_of(field("properties")?).map_err(err)?),
            };
            return Ok(ConfigRecord::Connector {
                name: connector.to_string(),
                config,
            });
        }
        if let Some(rest) = key.strip_prefix("task-") {
            // The connector name may itself contain '-': the index is after the last one.
            let (connector, index) = rest
                .rsplit_once('-')
                .ok_or_else(|| err("expected task-<connector>-<index>".into()))?;
            let task = index
                .parse::<u32>()
                .map_err(|_| err(format!("task index {index:?} is not a number")))?;
            let config = match &value {
                None => None,
                Some(_) => Some(config_of(field("properties")?).map_err(err)?),
            };
            return Ok(ConfigRecord::Task {
                connector: connector.to_string(),
                task,
                config,
            });
        }
        if let Some(connector) = key.strip_prefix("commit-") {
            let tasks = field("tasks")?
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| err("\"tasks\" is not a task count".into()))?;
            return Ok(ConfigRecord::Commit {
                connector: connector.to_string(),
                tasks,
            });
        }
        if let Some(connector) = key.strip_prefix("target-state-") {
            let state = match &value {
                None => None,
                Some(v) => {
                    // Kafka 3.5+ writes "state.v2" (with STOPPED); older workers only "state".
                    let s = v
                        .get("state.v2")
                        .or_else(|| v.get("state"))
                        .and_then(Json::as_str)
                        .ok_or_else(|| err("value has no \"state\" field".into()))?;
                    Some(
                        TargetState::from_wire(s)
                            .ok_or_else(|| err(format!("unknown target state {s:?}")))?,
                    )
                }
            };
            return Ok(ConfigRecord::TargetState {
                connector: connector.to_string(),
                state,
            });
        }
        if let (Some(connector), Some(v)) = (key.strip_prefix("restart-connector-"), &value) {
            let flag = |name: &str| v.get(name).and_then(Json::as_bool).unwrap_or(false);
            return Ok(ConfigRecord::Restart {
                connector: connector.to_string(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            });
        }
        Ok(ConfigRecord::Other {
            key: key.to_string(),
            value,
        })
    }
}

fn properties(config: &Config) -> Json {
    let mut m = Map::new();
    for (k, v) in config {
        m.insert(k.clone(), Json::String(v.clone()));
    }
    Json::Object(m)
}

fn config_of(properties: &Json) -> Result<Config, String> {
    let obj = properties
        .as_object()
        .ok_or_else(|| "\"properties\" is not an object".to_string())?;
    let mut out = Config::new();
    for (k, v) in obj {
        match v {
            Json::String(s) => out.push((k.clone(), s.clone())),
            // Java's map may hold a null value; it means the key is unset.
            Json::Null => {}
            other => out.push((k.clone(), other.to_string())),
        }
    }
    Ok(out)
}

/// A connector's or task's state in the status topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `STOPPED`, `FAILED`, `RESTARTING`, `DESTROYED`.
    pub state: String,
    pub trace: Option<String>,
    pub worker_id: String,
    /// The group generation it was written in; writes of older generations are ignored.
    pub generation: i32,
}

/// What a status-topic key is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusKey {
    Connector(String),
    Task {
        connector: String,
        task: u32,
    },
    /// `status-topic-<topic>:connector-<name>` (active topic tracking) and anything newer.
    Other(String),
}

impl StatusKey {
    pub fn encode(&self) -> String {
        match self {
            StatusKey::Connector(name) => format!("status-connector-{name}"),
            StatusKey::Task { connector, task } => format!("status-task-{connector}-{task}"),
            StatusKey::Other(key) => key.clone(),
        }
    }

    pub fn decode(key: &str) -> StatusKey {
        if let Some(name) = key.strip_prefix("status-connector-") {
            return StatusKey::Connector(name.to_string());
        }
        if let Some((connector, task)) = key
            .strip_prefix("status-task-")
            .and_then(|rest| rest.rsplit_once('-'))
        {
            if let Ok(task) = task.parse() {
                return StatusKey::Task {
                    connector: connector.to_string(),
                    task,
                };
            }
        }
        StatusKey::Other(key.to_string())
    }
}

impl Status {
    /// The value bytes, with Java's field order.
    pub fn encode(&self) -> Vec<u8> {
        json!({
            "state": self.state,
            "trace": self.trace,
            "worker_id": self.worker_id,
            "generation": self.generation,
        })
        .to_string()
        .into_bytes()
    }

    pub fn decode(key: &str, value: &[u8]) -> Result<Status, RecordError> {
        let err = |message: String| RecordError {
            key: key.to_string(),
            message,
        };
        let v: Json =
            serde_json::from_slice(value).map_err(|e| err(format!("value is not JSON: {e}")))?;
        let text = |name: &str| v.get(name).and_then(Json::as_str).map(str::to_string);
        Ok(Status {
            state: text("state").ok_or_else(|| err("value has no \"state\"".into()))?,
            trace: text("trace"),
            worker_id: text("worker_id").unwrap_or_default(),
            generation: v
                .get("generation")
                .and_then(Json::as_i64)
                .and_then(|g| i32::try_from(g).ok())
                .unwrap_or(-1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::cfg;

    #[test]
    fn config_records_round_trip() {
        let records = [
            ConfigRecord::Connector {
                name: "file-src".into(),
                config: Some(cfg(&[
                    ("connector.class", "FileStreamSource"),
                    ("tasks.max", "1"),
                ])),
            },
            ConfigRecord::Connector {
                name: "gone".into(),
                config: None,
            },
            ConfigRecord::Task {
                connector: "my-conn-2".into(),
                task: 10,
                config: Some(cfg(&[("file", "/tmp/a")])),
            },
            ConfigRecord::Commit {
                connector: "my-conn-2".into(),
                tasks: 11,
            },
            ConfigRecord::TargetState {
                connector: "c".into(),
                state: Some(TargetState::Stopped),
            },
            ConfigRecord::TargetState {
                connector: "c".into(),
                state: None,
            },
            ConfigRecord::Restart {
                connector: "c".into(),
                include_tasks: true,
                only_failed: false,
            },
            ConfigRecord::Other {
                key: "session-key".into(),
                value: Some(
                    json!({"key": "a2V5", "algorithm": "HmacSHA256", "creation-timestamp": 1}),
                ),
            },
        ];
        for r in records {
            let (key, value) = r.encode();
            assert_eq!(
                ConfigRecord::decode(&key, value.as_deref()).expect("decodes"),
                r
            );
        }
    }

    #[test]
    fn target_state_keeps_pre_3_5_readers_working() {
        let (key, value) = ConfigRecord::TargetState {
            connector: "c".into(),
            state: Some(TargetState::Stopped),
        }
        .encode();
        assert_eq!(key, "target-state-c");
        assert_eq!(
            String::from_utf8(value.expect("value")).expect("utf8"),
            r#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        // A record written by a worker older than 3.5.
        assert_eq!(
            ConfigRecord::decode("target-state-c", Some(br#"{"state":"PAUSED"}"#)).expect("ok"),
            ConfigRecord::TargetState {
                connector: "c".into(),
                state: Some(TargetState::Paused)
            }
        );
    }

    #[test]
    fn malformed_records_name_the_key() {
        let e = ConfigRecord::decode("commit-c", Some(b"{\"tasks\":\"x\"}")).expect_err("bad");
        assert_eq!(
            e.to_string(),
            "record \"commit-c\": \"tasks\" is not a task count"
        );
        let e = ConfigRecord::decode("task-c-x", Some(b"{\"properties\":{}}")).expect_err("bad");
        assert!(e.to_string().contains("task index \"x\""), "{e}");
        assert!(ConfigRecord::decode("connector-c", Some(b"{")).is_err());
    }

    #[test]
    fn status_records() {
        let s = Status {
            state: "RUNNING".into(),
            trace: None,
            worker_id: "127.0.0.1:8083".into(),
            generation: 3,
        };
        assert_eq!(
            String::from_utf8(s.encode()).expect("utf8"),
            r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:8083","generation":3}"#
        );
        assert_eq!(Status::decode("k", &s.encode()).expect("decodes"), s);
        assert_eq!(
            StatusKey::decode("status-task-a-b-2"),
            StatusKey::Task {
                connector: "a-b".into(),
                task: 2
            }
        );
        assert_eq!(
            StatusKey::decode("status-connector-a-b"),
            StatusKey::Connector("a-b".into())
        );
        assert_eq!(
            StatusKey::Task {
                connector: "x".into(),
                task: 0
            }
            .encode(),
            "status-task-x-0"
        );
    }

    /// Records Kafka Connect 3.9 wrote in distributed mode (tests/fixtures/distributed/README.md).
    fn fixture(name: &str) -> Vec<(String, Option<String>)> {
        let path = format!(
            "{}/../tests/fixtures/distributed/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines()
            .map(|l| {
                let v: Json = serde_json::from_str(l).expect("fixture line is JSON");
                (
                    v["key"].as_str().expect("key").to_string(),
                    v["value"].as_str().map(str::to_string),
                )
            })
            .collect()
    }

    #[test]
    fn kafka_connect_config_records_decode_and_encode_byte_for_byte() {
        let records = fixture("configs");
        assert!(records.len() >= 18, "{}", records.len());
        let mut snapshot = crate::distributed::config_state::ConfigSnapshot::new();
        for (offset, (key, value)) in records.iter().enumerate() {
            let decoded = ConfigRecord::decode(key, value.as_deref().map(str::as_bytes))
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            let (k, v) = decoded.encode();
            assert_eq!(&k, key);
            assert_eq!(
                v.map(|b| String::from_utf8(b).expect("utf8")),
                *value,
                "{key} re-encoded differently"
            );
            snapshot.apply(offset as i64, decoded);
        }
        // fs-src: created, paused, resumed, stopped (0 tasks), resumed (1 task); fs-sink-1
        // created with 2 tasks and deleted.
        assert_eq!(snapshot.connectors.keys().collect::<Vec<_>>(), ["fs-src"]);
        assert_eq!(snapshot.target_state("fs-src"), TargetState::Started);
        let tasks = &snapshot.tasks["fs-src"];
        assert_eq!(tasks.len(), 1);
        assert!(tasks[0]
            .iter()
            .any(|(k, v)| k == "task.class"
                && v == "org.apache.kafka.connect.file.FileStreamSourceTask"));
        assert!(!snapshot.target_states.contains_key("fs-sink-1"));
        assert!(snapshot.inconsistent.is_empty());
        assert_eq!(snapshot.offset, records.len() as i64);
        // Kafka 3.9 writes STOPPED as state PAUSED + state.v2 STOPPED, exactly as encoded here.
        assert!(records.iter().any(|(k, v)| k == "target-state-fs-src"
            && v.as_deref() == Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#)));
    }

    #[test]
    fn kafka_connect_status_records_decode_and_encode_byte_for_byte() {
        let records = fixture("status");
        let mut seen = 0;
        for (key, value) in &records {
            let Some(value) = value else { continue };
            if let StatusKey::Other(_) = StatusKey::decode(key) {
                continue;
            }
            let status = Status::decode(key, value.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(String::from_utf8(status.encode()).expect("utf8"), *value);
            assert_eq!(StatusKey::decode(key).encode(), *key);
            seen += 1;
        }
        assert!(seen >= 5, "{seen}");
        assert!(records.iter().any(|(k, _)| StatusKey::decode(k)
            == StatusKey::Task {
                connector: "fs-src".into(),
                task: 0
            }));
    }

    #[test]
    fn kafka_connect_offset_records_read_back() {
        let records = fixture("offsets");
        let (key, value) = &records[0];
        let (connector, partition) =
            crate::offsets::parse_offset_key(key.as_bytes()).expect("offset key");
        assert_eq!(connector, "fs-src");
        assert_eq!(
            String::from_utf8(crate::offsets::offset_key(&connector, &partition)).expect("utf8"),
            *key
        );
        assert_eq!(value.as_deref(), Some(r#"{"position":14}"#));
    }
}
