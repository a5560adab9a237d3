//! Offsets, in one place. Sources: which offsets may be committed ([`OffsetTracker`]) and
//! where they are stored ([`SourceOffsetStore`]); standalone mode keeps them in a file
//! (`offset.storage.file.filename`, [`FileOffsetStore`]), rewritten atomically (temp file +
//! rename); distributed mode in an offsets topic in Kafka Connect's format
//! ([`TopicOffsetStore`]). Sinks: their offsets are their consumer group's ([`consumer_group`]). Both travel
//! through REST in Kafka's offsets payload ([`ConnectorOffset`], [`OffsetPatch`]).
//!
//! The design decision to know: source offsets are *staged* in memory after the producer
//! acknowledged the records and only become durable on [`FileOffsetStore::flush`] (every
//! `offset.flush.interval.ms` and on task stop), exactly like Kafka Connect's offset writer —
//! so a crash replays at most one flush interval (at-least-once), and a flush never leaves a
//! half-written file behind.

pub mod consumer_group;
mod file;
mod payload;
mod store;
mod topic;
mod tracker;

pub use consumer_group::GroupOffsetsError;
pub use file::FileOffsetStore;
pub use payload::{parse_sink_offsets, ConnectorOffset, InvalidOffsets, OffsetPatch, SinkOffset};
pub use store::SourceOffsetStore;
pub use topic::{offset_key, parse_offset_key, TopicOffsetStore};
pub use tracker::OffsetTracker;

use std::path::PathBuf;

/// Why the offset file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    #[error("cannot {action} offset file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The offsets topic of distributed mode could not be read or written.
    #[error("offsets topic {topic}: {message}")]
    Topic { topic: String, message: String },
    #[error("offset file {path} is corrupt: {message} (fix or move the file away; starting empty would re-read every source from the beginning)")]
    Corrupt { path: PathBuf, message: String },
}
