//! Kafka Connect's group sub-protocol payloads: the worker metadata a worker sends in
//! JoinGroup and the assignment the leader hands out in SyncGroup, byte-compatible with
//! `ConnectProtocol` (eager, version 0) and `IncrementalCooperativeConnectProtocol`
//! (`compatible`/`sessioned`, versions 1 and 2), so a Java worker and a Sluice worker can read
//! each other's payloads.
//!
//! Wire types are Kafka's protocol primitives (big-endian): `STRING` is an int16 length and
//! UTF-8, `NULLABLE_BYTES` an int32 length (-1 for null), arrays an int32 count (-1 for null).
//! A worker's connector instance is task id `-1` in a connector's task list, as in Java.
//!
//! ```text
//! metadata v0:   version:i16 url:STRING config_offset:i64
//! metadata v1/2: version:i16 url:STRING config_offset:i64 allocation:NULLABLE_BYTES(assignment)
//! assignment v0: version:i16 error:i16 leader:STRING leader_url:STRING config_offset:i64
//!                assignment:[connector:STRING tasks:[i32]]
//! assignment v1: … as v0 … revoked:[connector:STRING tasks:[i32]] delay:i32
//! ```

use std::collections::BTreeMap;

/// The sentinel task id standing for the connector instance itself.
pub const CONNECTOR_TASK: i32 = -1;
/// Assignment error codes (`ConnectProtocol.Assignment`).
pub const NO_ERROR: i16 = 0;
/// The leader's config offset is behind a member's: members rejoin after reading further.
pub const CONFIG_MISMATCH: i16 = 1;

/// A payload that is not Kafka Connect's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Kafka Connect group payload: {0}")]
pub struct ProtocolError(String);

/// One task: a connector's name and the task's index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    pub connector: String,
    pub task: i32,
}

/// What a worker says about itself when it joins (`WorkerState` / `ExtendedWorkerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// Its advertised REST URL, e.g. `http://host:8083/`.
    pub url: String,
    /// How far it has read the config topic.
    pub config_offset: i64,
    /// What it runs now (versions 1 and 2 only; `None` for none).
    pub assignment: Option<Assignment>,
}

/// What the leader assigns to one worker (`ConnectProtocol.Assignment` /
/// `ExtendedAssignment`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    pub version: i16,
    pub error: i16,
    /// The leader's member id and advertised REST URL (writes are forwarded there).
    pub leader: String,
    pub leader_url: String,
    /// The config-topic offset the assignment was computed at: read at least this far first.
    pub config_offset: i64,
    pub connectors: Vec<String>,
    pub tasks: Vec<TaskId>,
    /// Version 1+: what the worker must stop before the follow-up rebalance.
    pub revoked_connectors: Vec<String>,
    pub revoked_tasks: Vec<TaskId>,
    /// Version 1+: when the leader will rebalance again for departed workers' work, in ms.
    pub delay_ms: i32,
}

/// Encodes a worker's metadata for sub-protocol `version`.
pub fn encode_metadata(version: i16, metadata: &WorkerMetadata) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&version.to_be_bytes());
    put_string(&mut out, &metadata.url);
    out.extend_from_slice(&metadata.config_offset.to_be_bytes());
    if version >= 1 {
        match &metadata.assignment {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(a) => {
                let bytes = encode_assignment(version, a);
                out.extend_from_slice(&len_i32(bytes.len()).to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    out
}

/// Decodes a member's metadata (any version; a newer worker's extra bytes are ignored, as
/// Java does).
pub fn decode_metadata(bytes: &[u8]) -> Result<WorkerMetadata, ProtocolError> {
    let mut r = Reader(bytes);
    let version = r.i16("version")?;
    if version < 0 {
        return Err(ProtocolError(format!(
            "unsupported metadata version {version}"
        )));
    }
    let url = r.string("url")?;
    let config_offset = r.i64("config offset")?;
    let assignment = if version >= 1 && !r.0.is_empty() {
        match r.nullable_bytes("allocation")? {
            None => None,
            Some(b) => Some(decode_assignment(b)?),
        }
    } else {
        None
    };
    Ok(WorkerMetadata {
        url,
        config_offset,
        assignment,
    })
}

/// Encodes an assignment for sub-protocol `version` (its header says `version`).
pub fn encode_assignment(version: i16, a: &Assignment) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&a.error.to_be_bytes());
    put_string(&mut out, &a.leader);
    put_string(&mut out, &a.leader_url);
    out.extend_from_slice(&a.config_offset.to_be_bytes());
    put_connector_assignments(&mut out, &a.connectors, &a.tasks);
    if version >= 1 {
        put_connector_assignments(&mut out, &a.revoked_connectors, &a.revoked_tasks);
        out.extend_from_slice(&a.delay_ms.to_be_bytes());
    }
    out
}

/// Decodes an assignment (any version).
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, ProtocolError> {
    let mut r = Reader(bytes);
    let version = r.i16("version")?;
    if version < 0 {
        return Err(ProtocolError(format!(
            "unsupported assignment version {version}"
        )));
    }
    let error = r.i16("error")?;
    let leader = r.string("leader")?;
    let leader_url = r.string("leader url")?;
    let config_offset = r.i64("config offset")?;
    let (connectors, tasks) = r.connector_assignments("assignment")?;
    let (mut revoked_connectors, mut revoked_tasks, mut delay_ms) = (Vec::new(), Vec::new(), 0);
    if version >= 1 {
        // Java tolerates missing trailing fields (defaults), so do we.
        if !r.0.is_empty() {
            (revoked_connectors, revoked_tasks) = r.connector_assignments("revoked")?;
        }
        if !r.0.is_empty() {
            delay_ms = r.i32("delay")?;
        }
    }
    Ok(Assignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        connectors,
        tasks,
        revoked_connectors,
        revoked_tasks,
        delay_ms,
    })
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len as usize]);
}

/// Groups connectors and tasks by connector (the connector itself as task -1).
fn put_connector_assignments(out: &mut Vec<u8>, connectors: &[String], tasks: &[TaskId]) {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for c in connectors {
        by_connector.entry(c).or_default().push(CONNECTOR_TASK);
    }
    for t in tasks {
        by_connector.entry(&t.connector).or_default().push(t.task);
    }
    out.extend_from_slice(&len_i32(by_connector.len()).to_be_bytes());
    for (connector, ids) in by_connector {
        put_string(out, connector);
        out.extend_from_slice(&len_i32(ids.len()).to_be_bytes());
        for id in ids {
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ProtocolError> {
        if self.0.len() < n {
            return Err(ProtocolError(format!(
                "{what}: needs {n} bytes, {} left",
                self.0.len()
            )));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self, what: &str) -> Result<i16, ProtocolError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self, what: &str) -> Result<i32, ProtocolError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self, what: &str) -> Result<i64, ProtocolError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn string(&mut self, what: &str) -> Result<String, ProtocolError> {
        let len = self.i16(what)?;
        let len = usize::try_from(len)
            .map_err(|_| ProtocolError(format!("{what}: negative string length {len}")))?;
        let b = self.take(len, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError(format!("{what}: not UTF-8")))
    }
    fn nullable_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32(what)?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(len as usize, what)?))
    }
    fn connector_assignments(
        &mut self,
        what: &str,
    ) -> Result<(Vec<String>, Vec<TaskId>), ProtocolError> {
        let (mut connectors, mut tasks) = (Vec::new(), Vec::new());
        let count = self.i32(what)?;
        for _ in 0..count.max(0) {
            let connector = self.string(what)?;
            let n = self.i32(what)?;
            for _ in 0..n.max(0) {
                match self.i32(what)? {
                    CONNECTOR_TASK => connectors.push(connector.clone()),
                    task => tasks.push(TaskId {
                        connector: connector.clone(),
                        task,
                    }),
                }
            }
        }
        Ok((connectors, tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(c: &str, t: i32) -> TaskId {
        TaskId {
            connector: c.into(),
            task: t,
        }
    }

    /// Bytes laid out by hand from Java's schemas (`ConnectProtocol.ASSIGNMENT_V0` and
    /// `IncrementalCooperativeConnectProtocol.ASSIGNMENT_V1`), not by this module.
    #[test]
    fn assignment_v1_bytes_match_java_layout() {
        let a = Assignment {
            version: 1,
            error: NO_ERROR,
            leader: "L".into(),
            leader_url: "u".into(),
            config_offset: 7,
            connectors: vec!["c".into()],
            tasks: vec![task("c", 0)],
            revoked_connectors: vec![],
            revoked_tasks: vec![],
            delay_ms: 5,
        };
        let bytes = encode_assignment(1, &a);
        let expected: Vec<u8> = [
            &[0, 1][..],               // version
            &[0, 0],                   // error
            &[0, 1, b'L'],             // leader
            &[0, 1, b'u'],             // leader url
            &[0, 0, 0, 0, 0, 0, 0, 7], // config offset
            &[0, 0, 0, 1],             // one connector entry
            &[0, 1, b'c'],             // "c"
            &[0, 0, 0, 2],             // two ids
            &[0xff, 0xff, 0xff, 0xff], // -1: the connector itself
            &[0, 0, 0, 0],             // task 0
            &[0, 0, 0, 0],             // revoked: empty array
            &[0, 0, 0, 5],             // delay
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(decode_assignment(&bytes).expect("decodes"), a);
    }

    #[test]
    fn metadata_round_trips_in_every_version() {
        let assignment = Assignment {
            version: 2,
            leader: "worker-1-abc".into(),
            leader_url: "http://h:8083/".into(),
            config_offset: 12,
            connectors: vec!["a".into(), "b".into()],
            tasks: vec![task("a", 0), task("a", 1), task("b", 0)],
            revoked_tasks: vec![task("b", 1)],
            delay_ms: 0,
            ..Assignment::default()
        };
        for version in [1i16, 2] {
            let m = WorkerMetadata {
                url: "http://h:8084/".into(),
                config_offset: 12,
                assignment: Some(Assignment {
                    version,
                    ..assignment.clone()
                }),
            };
            assert_eq!(
                decode_metadata(&encode_metadata(version, &m)).expect("decodes"),
                m
            );
            let none = WorkerMetadata {
                assignment: None,
                ..m
            };
            assert_eq!(
                decode_metadata(&encode_metadata(version, &none)).expect("decodes"),
                none
            );
        }
        let v0 = WorkerMetadata {
            url: "http://h:8083/".into(),
            config_offset: -1,
            assignment: None,
        };
        let bytes = encode_metadata(0, &v0);
        assert_eq!(bytes.len(), 2 + 2 + 14 + 8);
        assert_eq!(decode_metadata(&bytes).expect("decodes"), v0);
    }

    #[test]
    fn eager_assignment_has_no_revocations() {
        let a = Assignment {
            version: 0,
            leader: "l".into(),
            leader_url: "u".into(),
            tasks: vec![task("x", 3)],
            ..Assignment::default()
        };
        let bytes = encode_assignment(0, &a);
        assert_eq!(bytes.len(), 2 + 2 + 3 + 3 + 8 + 4 + 3 + 4 + 4);
        assert_eq!(decode_assignment(&bytes).expect("decodes"), a);
    }

    #[test]
    fn truncated_payloads_are_errors_not_panics() {
        let m = encode_metadata(
            1,
            &WorkerMetadata {
                url: "http://x/".into(),
                config_offset: 1,
                assignment: Some(Assignment::default()),
            },
        );
        for cut in 0..m.len() - 4 {
            assert!(
                decode_metadata(&m[..cut]).is_err() || cut >= 2 + 11 + 8,
                "cut {cut}"
            );
        }
        assert!(decode_assignment(&[0, 1, 0]).is_err());
    }
}
