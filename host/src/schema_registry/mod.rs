//! The embedded Schema Registry: Confluent's REST API (subjects, versions, ids,
//! compatibility, config, mode, soft and hard deletes, its error codes) served by the worker on
//! its own listener (`schema.registry.listeners`), for Avro, JSON Schema and Protobuf schemas.
//!
//! Design decision: every change is a record in the compacted `_schemas` topic, in the
//! registry's own format ([`records`]), and the in-memory view is only ever changed by
//! applying records read back from that topic. So several workers sharing the topic converge
//! on the same view, and a restarted worker rebuilds it. A write catches up with the topic,
//! decides (id, version, compatibility) on the caught-up view, produces, and reads back to
//! its own record before answering. Writes are serialised within a worker; two workers
//! registering *different* new schemas at the same instant could pick the same id (Confluent
//! elects a leader for writes; this registry does not) — see docs/converters.md.

pub(crate) use crate::convert::avro::compat;
pub mod records;
pub mod rest;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::Value as Json;

use crate::kafka::topic_log::TopicLog;
use compat::{Level, DEFAULT_LEVEL};
use records::{Record, SchemaValue};

/// The registry's default topic (Confluent's `kafkastore.topic` default).
pub const DEFAULT_TOPIC: &str = "_schemas";
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An error in Confluent's shape: HTTP status, `error_code`, `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (error code {code})")]
pub struct RegistryError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

fn error(status: u16, code: u32, message: impl Into<String>) -> RegistryError {
    RegistryError {
        status,
        code,
        message: message.into(),
    }
}

pub(crate) fn subject_not_found(s: &str) -> RegistryError {
    error(404, 40401, format!("Subject '{s}' not found."))
}
fn version_not_found(v: i32) -> RegistryError {
    error(404, 40402, format!("Version {v} not found."))
}
fn schema_not_found() -> RegistryError {
    error(404, 40403, "Schema not found")
}
fn id_not_found(id: i32) -> RegistryError {
    error(404, 40403, format!("Schema {id} not found"))
}
/// The first (subject, version) holding schema `id`, soft-deleted ones included: Confluent's
/// `GET /schemas/ids/{id}` answers for them too.
fn find_id(s: &State, id: i32) -> Option<Registered> {
    s.subjects
        .iter()
        .flat_map(|(subj, vs)| vs.iter().map(move |(n, v)| (subj, n, v)))
        .find(|(_, _, v)| v.id == id)
        .map(|(subj, n, v)| State::registered(subj, *n, v))
}
pub(crate) fn invalid_version(v: &str) -> RegistryError {
    error(
        422,
        42202,
        format!(
            "The specified version '{v}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
        ),
    )
}
pub(crate) fn invalid_level(v: &str) -> RegistryError {
    error(
        422,
        42203,
        format!(
            "Invalid compatibility level {v}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
        ),
    )
}
fn store_error(e: impl std::fmt::Display) -> RegistryError {
    error(500, 50001, format!("Error in the backend data store: {e}"))
}

/// A version to look up: a number or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i32),
}

impl VersionSpec {
    pub fn parse(s: &str) -> Result<VersionSpec, RegistryError> {
        if s.eq_ignore_ascii_case("latest") || s == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match s.parse::<i32>() {
            Ok(v) if v >= 1 => Ok(VersionSpec::Number(v)),
            _ => Err(invalid_version(s)),
        }
    }
}

/// A registered schema as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema_type: String,
    pub references: Vec<Json>,
    pub schema: String,
}

/// A schema submitted for registration, lookup or a compatibility test.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub schema: String,
    pub schema_type: String,
    pub references: Vec<Json>,
}

/// The view built from the topic.
#[derive(Default)]
struct State {
    subjects: BTreeMap<String, BTreeMap<i32, SchemaValue>>,
    max_id: i32,
    global_level: Option<String>,
    subject_levels: HashMap<String, String>,
    global_mode: Option<String>,
    subject_modes: HashMap<String, String>,
}

impl State {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Schema {
                subject,
                version,
                value: Some(v),
            } => {
                self.max_id = self.max_id.max(v.id);
                self.subjects.entry(subject).or_default().insert(version, v);
            }
            Record::Schema {
                subject,
                version,
                value: None,
            } => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    versions.remove(&version);
                    if versions.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
            }
            Record::Config { subject, level } => match (subject, level) {
                (None, l) => self.global_level = l,
                (Some(s), Some(l)) => {
                    self.subject_levels.insert(s, l);
                }
                (Some(s), None) => {
                    self.subject_levels.remove(&s);
                }
            },
            Record::Mode { subject, mode } => match (subject, mode) {
                (None, m) => self.global_mode = m,
                (Some(s), Some(m)) => {
                    self.subject_modes.insert(s, m);
                }
                (Some(s), None) => {
                    self.subject_modes.remove(&s);
                }
            },
            Record::Other => {}
        }
    }

    fn level(&self, subject: &str) -> Level {
        self.subject_levels
            .get(subject)
            .or(self.global_level.as_ref())
            .and_then(|l| Level::parse(l))
            .unwrap_or(DEFAULT_LEVEL)
    }

    fn mode(&self, subject: Option<&str>) -> String {
        subject
            .and_then(|s| self.subject_modes.get(s))
            .or(self.global_mode.as_ref())
            .cloned()
            .unwrap_or_else(|| "READWRITE".into())
    }

    /// Versions of a subject, live ones only unless `deleted`; `None` if it has none.
    fn versions(&self, subject: &str, deleted: bool) -> Option<Vec<(i32, &SchemaValue)>> {
        let v: Vec<(i32, &SchemaValue)> = self
            .subjects
            .get(subject)?
            .iter()
            .filter(|(_, s)| deleted || !s.deleted)
            .map(|(n, s)| (*n, s))
            .collect();
        (!v.is_empty()).then_some(v)
    }

    fn registered(subject: &str, version: i32, v: &SchemaValue) -> Registered {
        Registered {
            subject: subject.to_string(),
            version,
            id: v.id,
            schema_type: v.schema_type.clone(),
            references: v.references.clone(),
            schema: v.schema.clone(),
        }
    }

    /// Compiles a Protobuf schema with its references (imported by their `name`).
    fn compile_protobuf(
        &self,
        text: &str,
        references: &[Json],
    ) -> Result<prost_reflect::FileDescriptor, RegistryError> {
        let names = references.iter().map(|r| {
            r.get("name")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string()
        });
        let refs: Vec<(String, String)> = names.zip(self.reference_schemas(references)?).collect();
        crate::convert::proto_file::compile(text, &refs)
            .map_err(|e| error(422, 42201, format!("Invalid schema {text}, details: {e}")))
    }

    /// The schema texts of a schema's references (`{"name","subject","version"}`).
    fn reference_schemas(&self, references: &[Json]) -> Result<Vec<String>, RegistryError> {
        references
            .iter()
            .map(|r| {
                let subject = r.get("subject").and_then(Json::as_str).unwrap_or("");
                let version = r
                    .get("version")
                    .and_then(Json::as_i64)
                    .and_then(|v| i32::try_from(v).ok())
                    .unwrap_or(-1);
                let versions = self
                    .versions(subject, false)
                    .ok_or_else(|| subject_not_found(subject))?;
                let found = if version == -1 {
                    versions.last()
                } else {
                    versions.iter().find(|(n, _)| *n == version)
                };
                found
                    .map(|(_, s)| s.schema.clone())
                    .ok_or_else(|| version_not_found(version))
            })
            .collect()
    }
}

/// The registry: its view and, unless it is in memory only (tests), its topic.
pub struct SchemaRegistry {
    state: RwLock<State>,
    log: Option<Mutex<TopicLog>>,
}

/// The schema types this registry stores (`GET /schemas/types`).
pub const SCHEMA_TYPES: &[&str] = &["AVRO", "JSON", "PROTOBUF"];

/// A submitted schema type in its canonical (upper-case) form, or 42201.
fn schema_type(submitted: &Submitted) -> Result<&'static str, RegistryError> {
    let ty = submitted.schema_type.trim();
    SCHEMA_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(ty))
        .copied()
        .ok_or_else(|| {
            error(
                422,
                42201,
                format!(
                    "Invalid schema type {ty}: this registry supports {}",
                    SCHEMA_TYPES.join(", ")
                ),
            )
        })
}

/// A schema in the registry's stored form, with its type: Avro and JSON Schema as JSON
/// without insignificant whitespace, Protobuf (sent as `.proto` text or as a base64
/// `FileDescriptorProto`) as canonical `.proto` text.
fn normalized(s: &State, submitted: &Submitted) -> Result<(String, &'static str), RegistryError> {
    let ty = schema_type(submitted)?;
    if ty == "PROTOBUF" {
        let file = s.compile_protobuf(&submitted.schema, &submitted.references)?;
        return Ok((crate::convert::proto_file::print(&file), ty));
    }
    let json: Json = serde_json::from_str(&submitted.schema).map_err(|e| {
        error(
            422,
            42201,
            format!(
                "Invalid schema {}, details: not JSON: {e}",
                submitted.schema
            ),
        )
    })?;
    if ty == "JSON" && !matches!(json, Json::Object(_) | Json::Bool(_)) {
        return Err(error(
            422,
            42201,
            format!(
                "Invalid schema {}, details: a JSON Schema is an object or a boolean",
                submitted.schema
            ),
        ));
    }
    Ok((json.to_string(), ty))
}

impl SchemaRegistry {
    /// A registry kept in memory only (lost on exit; for tests).
    pub fn in_memory() -> SchemaRegistry {
        SchemaRegistry {
            state: RwLock::new(State::default()),
            log: None,
        }
    }

    /// A registry backed by `log` (the `_schemas` topic), read to its end first.
    pub fn open(log: TopicLog) -> Result<SchemaRegistry, RegistryError> {
        let registry = SchemaRegistry {
            state: RwLock::new(State::default()),
            log: Some(Mutex::new(log)),
        };
        registry.catch_up()?;
        Ok(registry)
    }

    /// Applies every record of the topic not applied yet.
    fn catch_up(&self) -> Result<(), RegistryError> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let log = log.lock();
        self.catch_up_with(&log)
    }

    fn catch_up_with(&self, log: &TopicLog) -> Result<(), RegistryError> {
        let stop = AtomicBool::new(false);
        let mut records = Vec::new();
        log.read_to_end(READ_TIMEOUT, &stop, |r| {
            let Some(key) = r.key else { return };
            match Record::decode(&key, r.value.as_deref()) {
                Ok(rec) => records.push(rec),
                Err(e) => tracing::warn!(
                    topic = log.topic(),
                    partition = r.partition,
                    offset = r.offset,
                    "skipping a record that is not in the schema registry's format: {e}"
                ),
            }
        })
        .map_err(store_error)?;
        if !records.is_empty() {
            let mut state = self.state.write();
            for r in records {
                state.apply(r);
            }
        }
        Ok(())
    }

    /// Runs a write: `decide` sees the caught-up view and returns the records to write and
    /// the answer, which is given once the records are applied.
    fn write<T>(
        &self,
        decide: impl FnOnce(&State) -> Result<(Vec<Record>, T), RegistryError>,
    ) -> Result<T, RegistryError> {
        match &self.log {
            None => {
                let mut state = self.state.write();
                let (records, answer) = decide(&state)?;
                for r in records {
                    state.apply(r);
                }
                Ok(answer)
            }
            Some(log) => {
                let log = log.lock();
                self.catch_up_with(&log)?;
                let (records, answer) = decide(&self.state.read())?;
                if !records.is_empty() {
                    let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> =
                        records.iter().map(Record::encode).collect();
                    log.send_applied(&encoded).map_err(store_error)?;
                    // Acknowledged: applied now, so this worker's next answer has them even
                    // when the broker's high watermark lags behind its acks (tansu's can), and
                    // without waiting to read them back (`send_applied`). Should they be read
                    // back after all (another worker wrote in between), applying them again
                    // changes nothing.
                    let mut state = self.state.write();
                    for r in records {
                        state.apply(r);
                    }
                }
                Ok(answer)
            }
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        self.catch_up()?;
        f(&self.state.read())
    }

    /// `GET /subjects`.
    pub fn subjects(&self, deleted: bool) -> Result<Vec<String>, RegistryError> {
        self.read(|s| {
            Ok(s.subjects
                .keys()
                .filter(|subj| s.versions(subj, deleted).is_some())
                .cloned()
                .collect())
        })
    }

    /// `GET /subjects/{subject}/versions`.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>, RegistryError> {
        self.read(|s| {
            s.versions(subject, deleted)
                .map(|v| v.into_iter().map(|(n, _)| n).collect())
                .ok_or_else(|| subject_not_found(subject))
        })
    }

    /// `GET /subjects/{subject}/versions/{version}`.
    pub fn version(
        &self,
        subject: &str,
        version: VersionSpec,
        deleted: bool,
    ) -> Result<Registered, RegistryError> {
        self.read(|s| {
            let versions = s
                .versions(subject, deleted)
                .ok_or_else(|| subject_not_found(subject))?;
            let found = match version {
                VersionSpec::Latest => versions.last(),
                VersionSpec::Number(n) => versions.iter().find(|(v, _)| *v == n),
            };
            match (found, version) {
                (Some((n, v)), _) => Ok(State::registered(subject, *n, v)),
                (None, VersionSpec::Number(n)) => Err(version_not_found(n)),
                (None, VersionSpec::Latest) => Err(subject_not_found(subject)),
            }
        })
    }

    /// `reg` in the form `?format=` asks for: `serialized` gives a Protobuf schema as a base64
    /// `FileDescriptorProto` (what Confluent's clients parse); other formats and types are
    /// answered as stored.
    pub fn formatted(
        &self,
        mut reg: Registered,
        format: Option<&str>,
    ) -> Result<Registered, RegistryError> {
        if reg.schema_type == "PROTOBUF" && format == Some("serialized") {
            let file = self.read(|s| s.compile_protobuf(&reg.schema, &reg.references))?;
            reg.schema = crate::convert::proto_file::serialized(&file);
        }
        Ok(reg)
    }

    /// `GET /schemas/ids/{id}`: any version holding the id, even a soft-deleted one.
    pub fn schema_by_id(&self, id: i32) -> Result<Registered, RegistryError> {
        // An id, once assigned, names the same schema for good, so an id this worker already
        // knows needs no catch-up read of `_schemas` (a broker round trip per lookup): every
        // converter cache miss in the cluster lands here.
        if let Some(found) = find_id(&self.state.read(), id) {
            return Ok(found);
        }
        self.read(|s| find_id(s, id).ok_or_else(|| id_not_found(id)))
    }

    /// `GET /schemas/ids/{id}/versions`: (subject, version) pairs holding the id.
    pub fn id_versions(&self, id: i32) -> Result<Vec<(String, i32)>, RegistryError> {
        self.read(|s| {
            let found: Vec<(String, i32)> = s
                .subjects
                .iter()
                .flat_map(|(subj, vs)| {
                    vs.iter()
                        .filter(|(_, v)| v.id == id && !v.deleted)
                        .map(move |(n, _)| (subj.clone(), *n))
                })
                .collect();
            if found.is_empty() {
                Err(id_not_found(id))
            } else {
                Ok(found)
            }
        })
    }

    /// `POST /subjects/{subject}`: the version of the subject holding this schema.
    pub fn lookup(
        &self,
        subject: &str,
        submitted: &Submitted,
        deleted: bool,
    ) -> Result<Registered, RegistryError> {
        self.read(|s| {
            let (text, ty) = normalized(s, submitted)?;
            let versions = s
                .versions(subject, deleted)
                .ok_or_else(|| subject_not_found(subject))?;
            versions
                .iter()
                .rev()
                .find(|(_, v)| {
                    v.schema == text && v.schema_type == ty && v.references == submitted.references
                })
                .map(|(n, v)| State::registered(subject, *n, v))
                .ok_or_else(schema_not_found)
        })
    }

    fn parse(
        s: &State,
        schema: &str,
        references: &[Json],
    ) -> Result<apache_avro::Schema, RegistryError> {
        let refs = s.reference_schemas(references)?;
        compat::parse(schema, &refs)
            .map_err(|e| error(422, 42201, format!("Invalid schema {schema}, details: {e}")))
    }

    /// Compatibility problems of a new schema (`text` of type `ty`) against the subject's live
    /// versions (all, or only the ones the level needs) — empty when compatible.
    ///
    /// Avro is checked by the rules; a JSON Schema is compatible with earlier versions only
    /// under `NONE` (the rules of JSON Schema compatibility are not implemented, and a
    /// registry must not accept what it cannot check); a change of schema type never is.
    fn problems(
        s: &State,
        subject: &str,
        level: Level,
        (text, ty, references): (&str, &str, &[Json]),
        against: Option<i32>,
    ) -> Result<Vec<String>, RegistryError> {
        let Some(versions) = s.versions(subject, false) else {
            return Ok(Vec::new());
        };
        let existing: Vec<&SchemaValue> = versions
            .iter()
            .filter(|(n, _)| against.is_none_or(|a| a == *n))
            .map(|(_, v)| *v)
            .collect();
        if level == Level::None || existing.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(other) = existing.iter().find(|v| v.schema_type != ty) {
            return Ok(vec![format!(
                "the new schema is of type {ty}, an earlier one of type {}",
                other.schema_type
            )]);
        }
        if ty != "AVRO" {
            return Ok(vec![format!(
                "this registry does not check the compatibility of {ty} schemas (level {}); set the subject's compatibility to NONE (PUT /config/{subject}) to register new versions",
                level.name()
            )]);
        }
        let new = Self::parse(s, text, references)?;
        let existing = existing
            .iter()
            .map(|v| Self::parse(s, &v.schema, &v.references))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(level.check(&new, &existing))
    }

    /// `POST /subjects/{subject}/versions`: the id of the schema, registered as the subject's
    /// next version unless it already is one.
    pub fn register(&self, subject: &str, submitted: &Submitted) -> Result<i32, RegistryError> {
        self.write(|s| {
            let (text, ty) = normalized(s, submitted)?;
            if s.mode(Some(subject)) == "READONLY" {
                return Err(error(
                    422,
                    42205,
                    format!("Subject {subject} is in read-only mode"),
                ));
            }
            if ty == "AVRO" {
                // Refuse an invalid Avro schema even where no check needs it parsed.
                Self::parse(s, &text, &submitted.references)?;
            }
            let same = |v: &SchemaValue| {
                v.schema == text && v.schema_type == ty && v.references == submitted.references
            };
            if let Some(versions) = s.versions(subject, false) {
                if let Some((_, v)) = versions.iter().find(|(_, v)| same(v)) {
                    return Ok((Vec::new(), v.id));
                }
            }
            let new = (text.as_str(), ty, submitted.references.as_slice());
            let problems = Self::problems(s, subject, s.level(subject), new, None)?;
            if !problems.is_empty() {
                return Err(error(
                    409,
                    409,
                    format!(
                        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                        problems.join(", ")
                    ),
                ));
            }
            let reuse = s
                .subjects
                .values()
                .flat_map(|vs| vs.values())
                .find(|v| same(v))
                .map(|v| v.id);
            let id = reuse.unwrap_or(s.max_id + 1);
            let version = s
                .subjects
                .get(subject)
                .and_then(|vs| vs.keys().next_back().copied())
                .unwrap_or(0)
                + 1;
            let record = Record::Schema {
                subject: subject.to_string(),
                version,
                value: Some(SchemaValue {
                    id,
                    schema_type: ty.into(),
                    references: submitted.references.clone(),
                    schema: text.clone(),
                    deleted: false,
                }),
            };
            Ok((vec![record], id))
        })
    }

    /// `POST /compatibility/subjects/{subject}/versions[/{version}]`: the problems (empty when
    /// compatible) of the schema against one version, or against what the level requires.
    pub fn test_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        submitted: &Submitted,
    ) -> Result<Vec<String>, RegistryError> {
        self.read(|s| {
            let (text, ty) = normalized(s, submitted)?;
            if ty == "AVRO" {
                Self::parse(s, &text, &submitted.references)?;
            }
            let level = s.level(subject);
            let against = match version {
                None => None,
                Some(spec) => {
                    let versions = s
                        .versions(subject, false)
                        .ok_or_else(|| subject_not_found(subject))?;
                    let n = match spec {
                        VersionSpec::Latest => versions.last().map(|(n, _)| *n),
                        VersionSpec::Number(n) => {
                            versions.iter().find(|(v, _)| *v == n).map(|(n, _)| *n)
                        }
                    };
                    Some(n.ok_or_else(|| match spec {
                        VersionSpec::Number(n) => version_not_found(n),
                        VersionSpec::Latest => subject_not_found(subject),
                    })?)
                }
            };
            let new = (text.as_str(), ty, submitted.references.as_slice());
            Self::problems(s, subject, level, new, against)
        })
    }

    /// `DELETE /subjects/{subject}[?permanent=true]`: the versions deleted.
    pub fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        self.write(|s| {
            let all = s
                .versions(subject, true)
                .ok_or_else(|| subject_not_found(subject))?;
            let live = all.iter().any(|(_, v)| !v.deleted);
            if permanent && live {
                return Err(error(
                    404,
                    40405,
                    format!("Subject '{subject}' was not deleted first before being permanently deleted"),
                ));
            }
            if !permanent && !live {
                return Err(error(
                    404,
                    40404,
                    format!("Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"),
                ));
            }
            let mut records = Vec::new();
            let mut deleted = Vec::new();
            for (n, v) in all {
                if permanent {
                    records.push(Record::Schema {
                        subject: subject.to_string(),
                        version: n,
                        value: None,
                    });
                    deleted.push(n);
                } else if !v.deleted {
                    records.push(Record::Schema {
                        subject: subject.to_string(),
                        version: n,
                        value: Some(SchemaValue {
                            deleted: true,
                            ..v.clone()
                        }),
                    });
                    deleted.push(n);
                }
            }
            Ok((records, deleted))
        })
    }

    /// `DELETE /subjects/{subject}/versions/{version}[?permanent=true]`.
    pub fn delete_version(
        &self,
        subject: &str,
        version: VersionSpec,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        self.write(|s| {
            let all = s
                .versions(subject, true)
                .ok_or_else(|| subject_not_found(subject))?;
            let found = match version {
                VersionSpec::Latest => all.iter().rev().find(|(_, v)| permanent || !v.deleted),
                VersionSpec::Number(n) => all.iter().find(|(v, _)| *v == n),
            };
            let Some((n, v)) = found else {
                return Err(match version {
                    VersionSpec::Number(n) => version_not_found(n),
                    VersionSpec::Latest => subject_not_found(subject),
                });
            };
            if permanent && !v.deleted {
                return Err(error(
                    404,
                    40407,
                    format!("Subject '{subject}' Version {n} was not deleted first before being permanently deleted"),
                ));
            }
            if !permanent && v.deleted {
                return Err(error(
                    404,
                    40406,
                    format!("Subject '{subject}' Version {n} was soft deleted.Set permanent=true to delete permanently"),
                ));
            }
            let value = (!permanent).then(|| SchemaValue {
                deleted: true,
                ..(*v).clone()
            });
            Ok((
                vec![Record::Schema {
                    subject: subject.to_string(),
                    version: *n,
                    value,
                }],
                *n,
            ))
        })
    }

    /// `GET /config[/{subject}]`: the level; a subject without its own level is 40408 unless
    /// `default_to_global`.
    pub fn level(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<String, RegistryError> {
        self.read(|s| match subject {
            None => Ok(s
                .global_level
                .clone()
                .unwrap_or_else(|| DEFAULT_LEVEL.name().into())),
            Some(subj) => match s.subject_levels.get(subj) {
                Some(l) => Ok(l.clone()),
                None if default_to_global => Ok(s.level(subj).name().into()),
                None => Err(error(
                    404,
                    40408,
                    format!(
                        "Subject '{subj}' does not have subject-level compatibility configured"
                    ),
                )),
            },
        })
    }

    /// `PUT /config[/{subject}]`; `None` removes a subject's level (`DELETE /config/{subject}`).
    pub fn set_level(
        &self,
        subject: Option<&str>,
        level: Option<&str>,
    ) -> Result<String, RegistryError> {
        let level = match level {
            Some(l) => Some(Level::parse(l).ok_or_else(|| invalid_level(l))?),
            None => None,
        };
        self.write(|s| {
            let previous = subject
                .map(|subj| s.level(subj).name().to_string())
                .unwrap_or_default();
            let record = Record::Config {
                subject: subject.map(str::to_string),
                level: level.map(|l| l.name().to_string()),
            };
            let answer = level.map(|l| l.name().to_string()).unwrap_or(previous);
            Ok((vec![record], answer))
        })
    }

    /// `GET /mode[/{subject}]`.
    pub fn mode(&self, subject: Option<&str>) -> Result<String, RegistryError> {
        self.read(|s| Ok(s.mode(subject)))
    }

    /// `PUT /mode[/{subject}]`.
    pub fn set_mode(&self, subject: Option<&str>, mode: &str) -> Result<String, RegistryError> {
        let mode = mode.trim().to_ascii_uppercase();
        if !matches!(mode.as_str(), "READWRITE" | "READONLY" | "IMPORT") {
            return Err(error(
                422,
                42204,
                format!("Invalid mode {mode}. Valid values are READWRITE, READONLY and IMPORT"),
            ));
        }
        self.write(|_| {
            Ok((
                vec![Record::Mode {
                    subject: subject.map(str::to_string),
                    mode: Some(mode.clone()),
                }],
                mode.clone(),
            ))
        })
    }
}

#[cfg(test)]
mod tests;

/// Worker key: where the registry's API listens (unset: no registry, except with the embedded
/// development broker).
pub const LISTENERS_KEY: &str = "schema.registry.listeners";
/// Worker key: the registry's topic (Confluent's `kafkastore.topic`).
pub const TOPIC_KEY: &str = "schema.registry.topic";
/// Worker key: the topic's replication factor when the worker creates it.
pub const REPLICATION_KEY: &str = "schema.registry.topic.replication.factor";
/// The listener used with the embedded development broker when none is configured.
pub const EMBEDDED_DEFAULT_LISTENER: &str = "http://127.0.0.1:8081";

/// The registry a worker runs, and where.
pub struct WorkerRegistry {
    pub registry: std::sync::Arc<SchemaRegistry>,
    pub listener: String,
    /// Whether `schema.registry.listeners` named it (a bind failure is then fatal; the
    /// embedded broker's default only warns).
    pub configured: bool,
}

/// Why the worker's registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{key}: {message}")]
    Config { key: &'static str, message: String },
    #[error("schema registry topic: {0}")]
    Topic(#[from] crate::kafka::topic_log::LogError),
    #[error("schema registry topic: {0}")]
    Read(#[from] RegistryError),
}

/// Opens the worker's registry when it has one: on the `_schemas` topic (created compacted
/// with one partition when missing), or in memory with the embedded development broker
/// (whose topics are in memory too). Blocks while it reads the topic.
pub fn for_worker(
    raw: &crate::config::Config,
    kafka: &crate::kafka::KafkaSettings,
    embedded_broker: bool,
) -> Result<Option<WorkerRegistry>, StartError> {
    use crate::kafka::topic_log::{ensure_internal_topic, TopicLog};
    let configured = crate::config::get(raw, LISTENERS_KEY)
        .and_then(|v| v.split(',').map(str::trim).find(|l| !l.is_empty()))
        .map(str::to_string);
    let (listener, is_configured) = match (configured, embedded_broker) {
        (Some(l), _) => (l, true),
        (None, true) => (EMBEDDED_DEFAULT_LISTENER.to_string(), false),
        (None, false) => return Ok(None),
    };
    let registry = if embedded_broker {
        tracing::warn!(
            listener = %listener,
            "embedded development broker: the Schema Registry API is on (in memory, lost on exit; set {LISTENERS_KEY} to move it)"
        );
        SchemaRegistry::in_memory()
    } else {
        let name = crate::config::get(raw, TOPIC_KEY)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_TOPIC)
            .to_string();
        let replication_factor = crate::config::get(raw, REPLICATION_KEY)
            .and_then(|v| v.trim().parse::<i16>().ok())
            .filter(|n| *n >= 1);
        let topic = crate::config::InternalTopic {
            key: TOPIC_KEY,
            name: name.clone(),
            // One partition: the registry's records must stay in order (as Confluent's).
            partitions: Some(1),
            replication_factor,
            configs: Vec::new(),
        };
        ensure_internal_topic(kafka, &topic)?;
        let log = TopicLog::open(kafka, &name, "sluice-schema-registry")?;
        SchemaRegistry::open(log)?
    };
    Ok(Some(WorkerRegistry {
        registry: std::sync::Arc::new(registry),
        listener,
        configured: is_configured,
    }))
}
