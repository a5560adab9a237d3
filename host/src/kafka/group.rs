//! Generic membership of a Kafka consumer group through the group coordinator's own requests
//! (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup), for groups whose members
//! are not consumers: Kafka Connect workers join their cluster's group with protocol type
//! `connect` and exchange their own metadata and assignments through it.
//!
//! Design decision: librdkafka exposes membership only for consumer groups (protocol type
//! `consumer`, partition assignment), so this speaks the Kafka protocol directly, using the
//! maintained `kafka-protocol` crate for the message codecs and a blocking `TcpStream` per
//! connection. Requests use the last non-flexible versions (FindCoordinator v2, JoinGroup v5,
//! SyncGroup v3, Heartbeat v3, LeaveGroup v3), which every broker since Kafka 2.3 accepts.
//! Heartbeats go over a connection of their own ([`GroupMember::heartbeater`]), so a
//! heartbeat thread never waits behind a JoinGroup that the coordinator holds for the length
//! of a rebalance. Plaintext only: SASL/TLS to the coordinator is not implemented yet.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, RequestHeader, ResponseHeader,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};

const FIND_COORDINATOR_VERSION: i16 = 2;
const JOIN_GROUP_VERSION: i16 = 5;
const SYNC_GROUP_VERSION: i16 = 3;
const HEARTBEAT_VERSION: i16 = 3;
const LEAVE_GROUP_VERSION: i16 = 3;
const DESCRIBE_GROUPS_VERSION: i16 = 3;
/// Responses larger than this are refused (a garbled length would otherwise allocate it).
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Kafka error codes the membership protocol reacts to.
pub mod codes {
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
}

/// Why a group request failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("cannot reach {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr} sent a {api} response this client cannot read: {message}")]
    Protocol {
        addr: String,
        api: &'static str,
        message: String,
    },
    /// The broker answered with a Kafka error code.
    #[error("{api} for group {group} failed: {name} (Kafka error code {code}){}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        api: &'static str,
        group: String,
        code: i16,
        name: String,
        message: Option<String>,
    },
    #[error("bootstrap.servers {0:?} names no host:port")]
    NoBootstrap(String),
}

impl GroupError {
    /// The Kafka error code, when the broker answered with one.
    pub fn code(&self) -> Option<i16> {
        match self {
            GroupError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the member must rejoin (its generation or member id is no longer current).
    pub fn needs_rejoin(&self) -> bool {
        matches!(
            self.code(),
            Some(
                codes::REBALANCE_IN_PROGRESS | codes::ILLEGAL_GENERATION | codes::UNKNOWN_MEMBER_ID
            )
        )
    }
}

fn error_name(code: i16) -> String {
    use kafka_protocol::error::ParseResponseErrorCode;
    match code.err() {
        Some(e) => format!("{e:?}"),
        None => "NONE".to_string(),
    }
}

/// One connection to a broker, sending requests one at a time.
pub struct Connection {
    addr: String,
    stream: TcpStream,
    client_id: StrBytes,
    correlation_id: i32,
}

impl Connection {
    /// Connects; `io_timeout` bounds every read and write (a JoinGroup is held by the
    /// coordinator for up to the rebalance timeout, so it must exceed that).
    pub fn connect(addr: &str, client_id: &str, io_timeout: Duration) -> Result<Self, GroupError> {
        let io = |source| GroupError::Io {
            addr: addr.to_string(),
            source,
        };
        let stream = TcpStream::connect(addr).map_err(io)?;
        stream.set_read_timeout(Some(io_timeout)).map_err(io)?;
        stream.set_write_timeout(Some(io_timeout)).map_err(io)?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            addr: addr.to_string(),
            stream,
            client_id: StrBytes::from_string(client_id.to_string()),
            correlation_id: 0,
        })
    }

    /// Sends one request and reads its response.
    pub fn call<Req, Resp>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, GroupError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let api_name = api_name(api);
        let protocol = |message: String| GroupError::Protocol {
            addr: self.addr.clone(),
            api: api_name,
            message,
        };
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, Req::header_version(version))
            .and_then(|()| request.encode(&mut body, version))
            .map_err(|e| protocol(format!("encoding the request: {e}")))?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        let io = |source| GroupError::Io {
            addr: self.addr.clone(),
            source,
        };
        self.stream.write_all(&frame).map_err(io)?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).map_err(io)?;
        let len = i32::from_be_bytes(len);
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| protocol(format!("response length {len}")))?;
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf).map_err(io)?;
        let mut bytes = bytes::Bytes::from(buf);
        let header = ResponseHeader::decode(&mut bytes, Resp::header_version(version))
            .map_err(|e| protocol(format!("header: {e}")))?;
        if header.correlation_id != self.correlation_id {
            return Err(protocol(format!(
                "correlation id {} instead of {}",
                header.correlation_id, self.correlation_id
            )));
        }
        let response = Resp::decode(&mut bytes, version).map_err(|e| protocol(e.to_string()))?;
        if bytes.has_remaining() {
            tracing::debug!(
                api = api_name,
                extra = bytes.remaining(),
                "response has trailing bytes"
            );
        }
        Ok(response)
    }
}

fn api_name(api: ApiKey) -> &'static str {
    match api {
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::DescribeGroups => "DescribeGroups",
        _ => "request",
    }
}

/// How a member joins: its group, protocol type and timings.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// `host:port` entries; the first that answers FindCoordinator is used.
    pub bootstrap_servers: String,
    pub group_id: String,
    pub client_id: String,
    pub protocol_type: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
}

/// The result of a completed JoinGroup.
#[derive(Debug, Clone)]
pub struct Joined {
    pub generation: i32,
    pub member_id: String,
    pub leader: String,
    /// The sub-protocol the coordinator chose (supported by every member).
    pub protocol: String,
    /// Every member and its metadata for that sub-protocol; empty unless this member leads.
    pub members: Vec<(String, Vec<u8>)>,
}

impl Joined {
    pub fn is_leader(&self) -> bool {
        self.leader == self.member_id
    }
}

/// This process's membership in one group.
pub struct GroupMember {
    settings: GroupSettings,
    coordinator: String,
    conn: Connection,
    member_id: String,
    generation: i32,
}

impl GroupMember {
    /// Finds the group's coordinator and connects to it.
    pub fn connect(settings: GroupSettings) -> Result<Self, GroupError> {
        let coordinator = find_coordinator(&settings)?;
        let conn = Connection::connect(&coordinator, &settings.client_id, io_timeout(&settings))?;
        Ok(GroupMember {
            settings,
            coordinator,
            conn,
            member_id: String::new(),
            generation: -1,
        })
    }

    /// The coordinator's address, `host:port`.
    pub fn coordinator(&self) -> &str {
        &self.coordinator
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Joins (or rejoins) the group offering `protocols` (name and metadata, most preferred
    /// first). Blocks until the coordinator completes the rebalance.
    pub fn join(&mut self, protocols: &[(String, Vec<u8>)]) -> Result<Joined, GroupError> {
        loop {
            let request = JoinGroupRequest::default()
                .with_group_id(group_id(&self.settings.group_id))
                .with_session_timeout_ms(millis(self.settings.session_timeout))
                .with_rebalance_timeout_ms(millis(self.settings.rebalance_timeout))
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(StrBytes::from_string(self.settings.protocol_type.clone()))
                .with_protocols(
                    protocols
                        .iter()
                        .map(|(name, metadata)| {
                            JoinGroupRequestProtocol::default()
                                .with_name(StrBytes::from_string(name.clone()))
                                .with_metadata(bytes::Bytes::from(metadata.clone()))
                        })
                        .collect(),
                );
            let response: JoinGroupResponse =
                self.conn
                    .call(ApiKey::JoinGroup, JOIN_GROUP_VERSION, &request)?;
            match response.error_code {
                0 => {}
                // Since JoinGroup v4 the first join only obtains a member id.
                codes::MEMBER_ID_REQUIRED => {
                    self.member_id = response.member_id.to_string();
                    continue;
                }
                codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION => {
                    self.member_id.clear();
                    self.generation = -1;
                    continue;
                }
                code => return Err(self.broker_error("JoinGroup", code, None)),
            }
            self.member_id = response.member_id.to_string();
            self.generation = response.generation_id;
            return Ok(Joined {
                generation: response.generation_id,
                member_id: self.member_id.clone(),
                leader: response.leader.to_string(),
                protocol: response
                    .protocol_name
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                members: response
                    .members
                    .into_iter()
                    .map(|m| (m.member_id.to_string(), m.metadata.to_vec()))
                    .collect(),
            });
        }
    }

    /// Sends the leader's assignments (empty for a follower) and returns this member's.
    pub fn sync(&mut self, assignments: &[(String, Vec<u8>)]) -> Result<Vec<u8>, GroupError> {
        let request = SyncGroupRequest::default()
            .with_group_id(group_id(&self.settings.group_id))
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(
                assignments
                    .iter()
                    .map(|(member, bytes)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(member.clone()))
                            .with_assignment(bytes::Bytes::from(bytes.clone()))
                    })
                    .collect(),
            );
        let response: SyncGroupResponse =
            self.conn
                .call(ApiKey::SyncGroup, SYNC_GROUP_VERSION, &request)?;
        if response.error_code != 0 {
            return Err(self.broker_error("SyncGroup", response.error_code, None));
        }
        Ok(response.assignment.to_vec())
    }

    /// A handle that heartbeats this membership over its own connection (opened on first
    /// use, and opened again after a network error).
    pub fn heartbeater(&self) -> Heartbeater {
        Heartbeater {
            conn: None,
            addr: self.coordinator.clone(),
            client_id: self.settings.client_id.clone(),
            // A heartbeat is answered at once: it must not wait as long as a JoinGroup.
            io_timeout: self.settings.session_timeout,
            group_id: self.settings.group_id.clone(),
        }
    }

    /// Leaves the group, so the coordinator rebalances the others at once instead of after
    /// the session timeout.
    pub fn leave(&mut self) -> Result<(), GroupError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let request = LeaveGroupRequest::default()
            .with_group_id(group_id(&self.settings.group_id))
            .with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        let response: LeaveGroupResponse =
            self.conn
                .call(ApiKey::LeaveGroup, LEAVE_GROUP_VERSION, &request)?;
        let code = if response.error_code != 0 {
            response.error_code
        } else {
            response
                .members
                .iter()
                .map(|m| m.error_code)
                .find(|c| *c != 0)
                .unwrap_or(0)
        };
        self.member_id.clear();
        self.generation = -1;
        match code {
            0 | codes::UNKNOWN_MEMBER_ID => Ok(()),
            code => Err(self.broker_error("LeaveGroup", code, None)),
        }
    }

    fn broker_error(&self, api: &'static str, code: i16, message: Option<String>) -> GroupError {
        GroupError::Broker {
            api,
            group: self.settings.group_id.clone(),
            code,
            name: error_name(code),
            message,
        }
    }
}

/// Sends heartbeats for a membership.
pub struct Heartbeater {
    conn: Option<Connection>,
    addr: String,
    client_id: String,
    io_timeout: Duration,
    group_id: String,
}

impl Heartbeater {
    /// One request over the heartbeat connection; a network error drops the connection, so
    /// the next call opens a new one.
    fn call<Req, Resp>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, GroupError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => Connection::connect(&self.addr, &self.client_id, self.io_timeout)?,
        };
        let result = conn.call(api, version, request);
        if !matches!(
            result,
            Err(GroupError::Io { .. } | GroupError::Protocol { .. })
        ) {
            self.conn = Some(conn);
        }
        result
    }

    /// The member ids the coordinator lists for the group while it is `Stable`; `None` in any
    /// other state (a rebalance is under way) or when the group cannot be described.
    pub fn stable_members(&mut self) -> Result<Option<Vec<String>>, GroupError> {
        let request = DescribeGroupsRequest::default().with_groups(vec![group_id(&self.group_id)]);
        let response: DescribeGroupsResponse =
            self.call(ApiKey::DescribeGroups, DESCRIBE_GROUPS_VERSION, &request)?;
        let Some(group) = response.groups.first() else {
            return Ok(None);
        };
        if group.error_code != 0 || group.group_state.as_str() != "Stable" {
            return Ok(None);
        }
        Ok(Some(
            group
                .members
                .iter()
                .map(|m| m.member_id.to_string())
                .collect(),
        ))
    }

    /// One heartbeat for `member_id` in `generation`; an error whose
    /// [`GroupError::needs_rejoin`] is true means a rebalance started.
    pub fn beat(&mut self, member_id: &str, generation: i32) -> Result<(), GroupError> {
        let request = HeartbeatRequest::default()
            .with_group_id(group_id(&self.group_id))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member_id.to_string()));
        let response: HeartbeatResponse =
            self.call(ApiKey::Heartbeat, HEARTBEAT_VERSION, &request)?;
        match response.error_code {
            0 => Ok(()),
            code => Err(GroupError::Broker {
                api: "Heartbeat",
                group: self.group_id.clone(),
                code,
                name: error_name(code),
                message: None,
            }),
        }
    }
}

fn group_id(id: &str) -> GroupId {
    GroupId(StrBytes::from_string(id.to_string()))
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn io_timeout(settings: &GroupSettings) -> Duration {
    settings.rebalance_timeout + settings.session_timeout + Duration::from_secs(5)
}

/// Asks the bootstrap servers, in order, for the group's coordinator (`host:port`).
fn find_coordinator(settings: &GroupSettings) -> Result<String, GroupError> {
    let servers: Vec<&str> = settings
        .bootstrap_servers
        .split(',')
        .map(str::trim)
        .map(|s| s.rsplit_once("://").map_or(s, |(_, rest)| rest))
        .filter(|s| !s.is_empty())
        .collect();
    let mut last = GroupError::NoBootstrap(settings.bootstrap_servers.clone());
    for server in servers {
        let attempt = (|| {
            let mut conn =
                Connection::connect(server, &settings.client_id, Duration::from_secs(30))?;
            let request = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(settings.group_id.clone()))
                .with_key_type(0);
            let response: FindCoordinatorResponse =
                conn.call(ApiKey::FindCoordinator, FIND_COORDINATOR_VERSION, &request)?;
            if response.error_code != 0 {
                return Err(GroupError::Broker {
                    api: "FindCoordinator",
                    group: settings.group_id.clone(),
                    code: response.error_code,
                    name: error_name(response.error_code),
                    message: response.error_message.map(|m| m.to_string()),
                });
            }
            Ok(format!("{}:{}", response.host.as_str(), response.port))
        })();
        match attempt {
            Ok(addr) => return Ok(addr),
            Err(e) => last = e,
        }
    }
    Err(last)
}
