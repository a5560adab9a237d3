//! Distributed mode's building blocks (`sluice distributed worker.properties`): Kafka
//! Connect's group sub-protocol payloads ([`protocol`]), the records of its config and status
//! topics ([`records`]) and the cluster configuration they add up to ([`config_state`]).
//! The group [`member`] runs what the leader assigns; the shared [`cluster`] view feeds the
//! REST API's [`herder`] on every worker; [`status`] writes and reads the status topic;
//! [`starting`] answers REST and retries the internal topics while the broker is away at start.
//! Membership itself is `kafka::group`, the internal topics' reading and writing
//! `kafka::topic_log`, source offsets `offsets::TopicOffsetStore`.
//!
//! The design decision to know: everything a worker shares with the others goes through
//! Kafka in Kafka Connect's own formats — the group coordinator for membership and
//! assignments, compacted topics for configs, offsets and states — so Sluice builds no
//! consensus of its own, and a Sluice cluster can take over a Kafka Connect cluster's topics.
//! docs/distributed.md describes what works so far and what does not yet.

pub mod assignor;
pub mod cluster;
pub mod config_state;
pub mod cooperative;
pub mod heartbeat;
pub mod herder;
pub mod member;
pub mod protocol;
pub mod records;
pub mod starting;
pub mod status;
