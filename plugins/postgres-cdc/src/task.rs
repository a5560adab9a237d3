//! The capture task: connects (a catalog connection and a `replication=database` one),
//! prepares publication and slot, snapshots as `snapshot.mode` says, then streams the slot
//! and confirms to the server only what the host reports committed.
//!
//! Design decision: the slot's confirmed position moves only in [`CdcTask::commit`] (Kafka
//! Connect's `SourceTask.commit()`, called by the host after Kafka acknowledged the records
//! and their offsets were written), never on receipt — so a crash at any point loses nothing:
//! the server resends from the confirmed position and the committed offset says which of the
//! resent events were already delivered.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice_plugin_sdk::{log, OffsetMap, SourcePosition, SourceRecord, TaskError};
use sql_wire::pg::{messages, quote_ident, quote_literal, PgConnection};
use sql_wire::ConnectParams;

use crate::catalog::Meta;
use crate::config::{CdcConfig, SnapshotMode};
use crate::pgoutput;
use crate::replication::{self, Lsn, ServerMessage};
use crate::snapshot::Snapshot;
use crate::stream::{ChangeStream, Position};

/// How long one poll waits for the server when nothing arrives.
const POLL_WAIT: Duration = Duration::from_millis(50);
/// How long one poll keeps reading while messages keep arriving.
const POLL_BUDGET: Duration = Duration::from_millis(200);

enum Phase {
    Snapshot(Box<Snapshot>),
    Streaming,
    /// `initial_only`: the snapshot is complete; nothing more to do.
    Finished,
}

pub struct CdcTask {
    config: CdcConfig,
    meta: Meta,
    repl: PgConnection,
    phase: Phase,
    stream: ChangeStream,
    /// The highest position the host reported committed (to confirm to the server).
    committed: Lsn,
    /// The position last confirmed to the server.
    confirmed: Lsn,
    last_status: Instant,
    /// WAL end of the last keepalive: everything before it was sent to us.
    keepalive_end: Option<Lsn>,
    last_heartbeat: Instant,
    stopped: bool,
    /// The replication socket is non-blocking (no read timeout available).
    nonblocking: bool,
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn fatal(what: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::fatal(format!("{what}: {e}"))
}

impl CdcTask {
    pub fn open(config: CdcConfig, committed: Vec<SourcePosition>) -> Result<CdcTask, TaskError> {
        let offset = committed
            .into_iter()
            .find(|p| p.partition.get_str("server") == Some(config.topic_prefix.as_str()))
            .map(|p| p.offset);
        let params = |replication: bool| ConnectParams {
            host: config.hostname.clone(),
            port: config.port,
            database: config.dbname.clone(),
            user: config.user.clone(),
            password: (!config.password.is_empty()).then(|| config.password.clone()),
            options: if replication {
                vec![("replication".into(), "database".into())]
            } else {
                Vec::new()
            },
            // Debezium connects through pgjdbc, whose connectTimeout is 10 s.
            connect_timeout: Some(sql_wire::PG_CONNECT_TIMEOUT),
            // The replication stream sets its own read timeouts (one per poll).
            socket_timeout: None,
            tls: config.tls.clone(),
        };
        let where_ = format!(
            "PostgreSQL at {}:{} (database {:?}, user {:?})",
            config.hostname, config.port, config.dbname, config.user
        );
        let conn = PgConnection::connect(&params(false))
            .map_err(|e| fatal(&format!("cannot connect to {where_}"), e))?;
        let mut meta = Meta { conn };
        let wal_level = meta
            .one("SHOW wal_level")
            .map_err(|e| fatal("SHOW wal_level", e))?;
        if wal_level.as_deref() != Some("logical") {
            return Err(TaskError::fatal(format!(
                "{where_} runs with wal_level={}; change data capture needs wal_level=logical (ALTER SYSTEM SET wal_level = logical, then restart the server)",
                wal_level.unwrap_or_default()
            )));
        }
        meta.ensure_publication(&config).map_err(TaskError::fatal)?;
        let mut repl = PgConnection::connect(&params(true)).map_err(|e| {
            fatal(
                &format!("cannot open a replication connection to {where_}"),
                e,
            )
        })?;

        let slot_existed = meta
            .slot_exists(&config.slot_name)
            .map_err(|e| fatal("reading pg_replication_slots", e))?;
        let mut exported = None;
        let mut consistent = None;
        if !slot_existed {
            let r = repl
                .simple_query(&format!(
                    "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
                    quote_ident(&config.slot_name)
                ))
                .map_err(|e| {
                    fatal(
                        &format!("cannot create replication slot {:?}", config.slot_name),
                        e,
                    )
                })?;
            let row = r
                .into_iter()
                .next()
                .and_then(|r| r.rows.into_iter().next())
                .unwrap_or_default();
            consistent = row
                .get(1)
                .cloned()
                .flatten()
                .and_then(|l| l.parse::<Lsn>().ok());
            exported = row.get(2).cloned().flatten();
            log::info!(
                "created replication slot {:?} at {}",
                config.slot_name,
                consistent.map(|l| l.to_string()).unwrap_or_default()
            );
        }

        let snapshot_done = offset.as_ref().is_some_and(|o| {
            o.get("snapshot_completed").and_then(|v| match v {
                sluice_plugin_sdk::OffsetValue::Boolean(b) => Some(*b),
                _ => None,
            }) != Some(false)
        });
        let snapshot = match config.snapshot_mode {
            SnapshotMode::NoData => false,
            SnapshotMode::Always => true,
            SnapshotMode::Initial | SnapshotMode::InitialOnly => !snapshot_done,
            SnapshotMode::WhenNeeded => !snapshot_done || !slot_existed,
        };
        let resume = if snapshot {
            None
        } else {
            offset.as_ref().and_then(Position::from_offset)
        };
        // What the committed offset already allows the slot to forget.
        let already = offset
            .as_ref()
            .and_then(confirmable)
            .map(Lsn)
            .unwrap_or_default();
        let stream = ChangeStream::new(config.clone(), resume);
        let phase = if snapshot {
            let lsn = match consistent {
                Some(l) => l,
                None => meta
                    .one("SELECT pg_current_wal_lsn()")
                    .map_err(|e| fatal("pg_current_wal_lsn()", e))?
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_default(),
            };
            Phase::Snapshot(Box::new(
                Snapshot::begin(&mut meta, &config, exported.as_deref(), lsn.0, now_us())
                    .map_err(TaskError::fatal)?,
            ))
        } else if config.snapshot_mode == SnapshotMode::InitialOnly {
            Phase::Finished
        } else {
            Phase::Streaming
        };
        let mut task = CdcTask {
            config,
            meta,
            repl,
            phase,
            stream,
            committed: already,
            confirmed: Lsn(0),
            last_status: Instant::now(),
            keepalive_end: None,
            last_heartbeat: Instant::now(),
            stopped: false,
            nonblocking: false,
        };
        if matches!(task.phase, Phase::Streaming) {
            task.start_streaming()?;
        }
        // Keep `repl` used on every path (the snapshot starts streaming later).
        let _ = &mut task.repl;
        Ok(task)
    }

    fn start_streaming(&mut self) -> Result<(), TaskError> {
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL 0/0 (proto_version '1', publication_names {})",
            quote_ident(&self.config.slot_name),
            quote_literal(&quote_ident(&self.config.publication_name))
        );
        self.repl
            .send(|buf| messages::query(&sql, buf))
            .map_err(|e| fatal("START_REPLICATION", e))?;
        loop {
            let m = self
                .repl
                .read_raw()
                .map_err(|e| fatal("START_REPLICATION", e))?;
            match m.tag {
                b'W' => break,
                b'E' => {
                    let e = m
                        .parse()
                        .ok()
                        .and_then(|msg| match msg {
                            sql_wire::pg::Message::ErrorResponse(body) => {
                                Some(sql_wire::pg::db_error(&body).to_string())
                            }
                            _ => None,
                        })
                        .unwrap_or_else(|| "an error".into());
                    return Err(TaskError::fatal(format!(
                        "START_REPLICATION on slot {:?} failed: {e}",
                        self.config.slot_name
                    )));
                }
                b'N' | b'S' => {}
                other => {
                    return Err(TaskError::fatal(format!(
                        "START_REPLICATION: unexpected message {:?}",
                        other as char
                    )))
                }
            }
        }
        // A read timeout bounds each poll; where the socket layer has none, a non-blocking
        // socket does (an empty read then ends the poll).
        if self
            .repl
            .stream()
            .set_read_timeout(Some(POLL_WAIT))
            .is_err()
        {
            self.repl
                .stream()
                .set_nonblocking(true)
                .map_err(|e| fatal("making the replication socket non-blocking", e))?;
            self.nonblocking = true;
        }
        log::info!(
            "streaming slot {:?} of publication {:?}",
            self.config.slot_name,
            self.config.publication_name
        );
        self.phase = Phase::Streaming;
        Ok(())
    }

    pub fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        match &mut self.phase {
            Phase::Finished => Ok(Vec::new()),
            Phase::Snapshot(s) => {
                match s
                    .next_batch(&mut self.meta, &self.config, max_records, now_us())
                    .map_err(|e| TaskError::fatal(format!("snapshot: {e}")))?
                {
                    Some(records) => Ok(records),
                    None => {
                        log::info!("snapshot complete");
                        if self.config.snapshot_mode == SnapshotMode::InitialOnly {
                            self.phase = Phase::Finished;
                        } else {
                            self.start_streaming()?;
                        }
                        Ok(Vec::new())
                    }
                }
            }
            Phase::Streaming => self.read_stream(max_records),
        }
    }

    fn read_stream(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        let mut out = Vec::new();
        let started = Instant::now();
        // Leave room for the up to three records one message can produce.
        let room = (max_records as usize).saturating_sub(3).max(1);
        while out.len() < room && started.elapsed() < POLL_BUDGET {
            let raw = match self.repl.read_raw() {
                Ok(m) => m,
                Err(sql_wire::Error::Io { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.nonblocking && out.is_empty() {
                        std::thread::sleep(POLL_WAIT);
                    }
                    break;
                }
                Err(e) => {
                    return Err(TaskError::fatal(format!(
                        "the replication connection failed: {e}"
                    )))
                }
            };
            match raw.tag {
                b'd' => {
                    let msg = replication::parse_server_message(&raw.body)
                        .map_err(|e| TaskError::fatal(e.to_string()))?;
                    match msg {
                        ServerMessage::XLogData { start, data, .. } => {
                            let decoded = pgoutput::decode(data)
                                .map_err(|e| TaskError::fatal(e.to_string()))?;
                            self.stream
                                .handle(start.0, decoded, &mut self.meta, now_us(), &mut out)
                                .map_err(TaskError::fatal)?;
                        }
                        ServerMessage::Keepalive {
                            wal_end,
                            reply_requested,
                            ..
                        } => {
                            self.keepalive_end = Some(wal_end);
                            if reply_requested {
                                self.send_status(true)?;
                            }
                        }
                    }
                }
                b'E' => {
                    let e = raw
                        .parse()
                        .ok()
                        .and_then(|msg| match msg {
                            sql_wire::pg::Message::ErrorResponse(body) => {
                                Some(sql_wire::pg::db_error(&body).to_string())
                            }
                            _ => None,
                        })
                        .unwrap_or_else(|| "an error".into());
                    return Err(TaskError::fatal(format!("replication stream: {e}")));
                }
                b'c' => {
                    return Err(TaskError::fatal(
                        "the server ended the replication stream (CopyDone)",
                    ))
                }
                _ => {}
            }
        }
        if self.config.heartbeat_interval_ms > 0
            && self.last_heartbeat.elapsed()
                >= Duration::from_millis(self.config.heartbeat_interval_ms)
        {
            if let Some(end) = self.keepalive_end {
                if let Some(hb) = self.stream.heartbeat(end.0, now_us()) {
                    out.push(hb);
                    self.last_heartbeat = Instant::now();
                }
            }
        }
        if self.last_status.elapsed()
            >= Duration::from_millis(self.config.status_update_interval_ms)
            || self.committed > self.confirmed
        {
            self.send_status(false)?;
        }
        Ok(out)
    }

    /// Reports the committed position as flushed: the slot may forget everything before it.
    fn send_status(&mut self, reply: bool) -> Result<(), TaskError> {
        let pg_now = now_us() - pgoutput::PG_EPOCH_OFFSET_MICROS;
        let update = replication::standby_status_update(self.committed, pg_now, reply);
        self.repl
            .send(|buf| {
                // CopyData: 'd', length (itself included), payload.
                buf.extend_from_slice(b"d");
                buf.extend_from_slice(&((update.len() + 4) as u32).to_be_bytes());
                buf.extend_from_slice(&update);
                Ok(())
            })
            .map_err(|e| fatal("sending a standby status update", e))?;
        self.confirmed = self.committed;
        self.last_status = Instant::now();
        if let Some(max) = self.config.slot_max_retained_wal_bytes {
            if let Ok(Some(retained)) = self.meta.retained_wal(&self.config.slot_name) {
                if retained > max {
                    log::warn!(
                        "replication slot {:?} retains {retained} bytes of WAL, more than slot.max.retained.wal.bytes={max}: the server cannot recycle that WAL until the connector catches up (a stalled connector fills the server's disk)",
                        self.config.slot_name
                    );
                }
            }
        }
        Ok(())
    }

    /// Kafka Connect's `commit()`: the offsets Kafka acknowledged. The slot may advance to
    /// the commit LSN of the newest committed event's transaction (its already delivered
    /// events are skipped when the server resends it), or to a completed snapshot's point.
    pub fn commit(&mut self, committed: Vec<SourcePosition>) {
        for p in committed {
            if p.partition.get_str("server") != Some(self.config.topic_prefix.as_str()) {
                continue;
            }
            let lsn = confirmable(&p.offset);
            if let Some(lsn) = lsn {
                self.committed = self.committed.max(Lsn(lsn));
            }
        }
    }

    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if matches!(self.phase, Phase::Streaming) && self.committed > self.confirmed {
            let _ = self.send_status(false);
        }
        if self.config.slot_drop_on_stop {
            let _ = self.repl.send(|buf| {
                messages::terminate(buf);
                Ok(())
            });
            let _ = self.repl.stream().shutdown(std::net::Shutdown::Both);
            let sql = format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {}",
                quote_literal(&self.config.slot_name)
            );
            // The walsender may take a moment to notice the closed connection.
            for _ in 0..50 {
                if self.meta.conn.simple_query(&sql).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// The LSN a committed offset lets the slot confirm.
fn confirmable(offset: &OffsetMap) -> Option<u64> {
    if let Some(p) = Position::from_offset(offset) {
        return Some(p.commit_lsn);
    }
    let completed = matches!(
        offset.get("snapshot_completed"),
        Some(sluice_plugin_sdk::OffsetValue::Boolean(true))
    );
    completed
        .then(|| offset.get_i64("lsn"))
        .flatten()
        .map(|l| l as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_committed_offset_confirms() {
        let streaming = OffsetMap::new()
            .with("lsn_proc", 120i64)
            .with("lsn_commit", 200i64)
            .with("lsn", 120i64);
        assert_eq!(confirmable(&streaming), Some(200));
        let mid_snapshot = OffsetMap::new()
            .with("last_snapshot_record", false)
            .with("lsn", 50i64)
            .with("snapshot_completed", false);
        assert_eq!(confirmable(&mid_snapshot), None);
        let done = OffsetMap::new()
            .with("last_snapshot_record", true)
            .with("lsn", 50i64)
            .with("snapshot_completed", true);
        assert_eq!(confirmable(&done), Some(50));
    }
}
