//! The streaming replication sub-protocol inside CopyBoth mode: what the server sends in each
//! CopyData message (XLogData, primary keepalive) and what the client answers (standby status
//! update), plus LSN formatting.
//!
//! Design decision: this module only turns CopyData payloads into values and back; the
//! connection (and the CopyData message framing itself) belongs to the wire client. The
//! flushed LSN a status update reports is what advances the slot's `confirmed_flush_lsn`, so
//! the task only ever passes an LSN whose events Kafka acknowledged.

use crate::pgoutput::{Error, PgTimestamp, Reader};

/// A log sequence number: a byte position in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl std::fmt::Display for Lsn {
    /// PostgreSQL's `pg_lsn` text: `16/B374D848`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl std::str::FromStr for Lsn {
    type Err = String;
    fn from_str(s: &str) -> Result<Lsn, String> {
        let bad = || format!("{s:?} is not an LSN (expected hex `XXX/XXX`)");
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| bad())?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

/// A message the server sends in a CopyData during START_REPLICATION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// `w`: WAL data — for logical replication, one pgoutput message.
    XLogData {
        /// WAL position of the start of this data.
        start: Lsn,
        /// The server's current end of WAL.
        wal_end: Lsn,
        server_time: PgTimestamp,
        data: &'a [u8],
    },
    /// `k`: a keepalive; `reply_requested` asks for a status update now (else the server
    /// disconnects after `wal_sender_timeout`).
    Keepalive {
        wal_end: Lsn,
        server_time: PgTimestamp,
        reply_requested: bool,
    },
}

/// Parses the payload of a CopyData message from the server.
pub fn parse_server_message(payload: &[u8]) -> Result<ServerMessage<'_>, Error> {
    let mut r = Reader {
        bytes: payload,
        pos: 0,
        what: "replication message",
    };
    match r.u8()? {
        b'w' => {
            r.what = "XLogData";
            let start = Lsn(r.u64()?);
            let wal_end = Lsn(r.u64()?);
            let server_time = r.i64()?;
            Ok(ServerMessage::XLogData {
                start,
                wal_end,
                server_time,
                data: &payload[r.pos..],
            })
        }
        b'k' => {
            r.what = "primary keepalive";
            let msg = ServerMessage::Keepalive {
                wal_end: Lsn(r.u64()?),
                server_time: r.i64()?,
                reply_requested: r.u8()? != 0,
            };
            if r.pos != payload.len() {
                return Err(r.error("trailing bytes"));
            }
            Ok(msg)
        }
        other => Err(Error(format!(
            "unknown replication message type {:?} ({other:#04x}) in CopyData",
            other as char
        ))),
    }
}

/// The payload of a standby status update (`r`), sent in a CopyData to the server.
///
/// `flushed` is what the slot may forget: PostgreSQL advances `confirmed_flush_lsn` to it.
/// `written`/`applied` are reported as the same position (a logical consumer has no separate
/// apply step).
pub fn standby_status_update(flushed: Lsn, client_time: PgTimestamp, reply: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(34);
    out.push(b'r');
    for lsn in [flushed, flushed, flushed] {
        out.extend(lsn.0.to_be_bytes());
    }
    out.extend(client_time.to_be_bytes());
    out.push(u8::from(reply));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert!("16B374D848".parse::<Lsn>().is_err());
        assert!("x/1".parse::<Lsn>().is_err());
    }

    #[test]
    fn xlogdata_carries_the_message_bytes() {
        let mut p = vec![b'w'];
        p.extend(0x100u64.to_be_bytes());
        p.extend(0x200u64.to_be_bytes());
        p.extend(77i64.to_be_bytes());
        p.extend(b"B...");
        assert_eq!(
            parse_server_message(&p).unwrap(),
            ServerMessage::XLogData {
                start: Lsn(0x100),
                wal_end: Lsn(0x200),
                server_time: 77,
                data: b"B..."
            }
        );
        assert!(parse_server_message(&p[..20]).is_err());
    }

    #[test]
    fn keepalive_with_and_without_reply_request() {
        let mut p = vec![b'k'];
        p.extend(0x300u64.to_be_bytes());
        p.extend(5i64.to_be_bytes());
        p.push(1);
        assert_eq!(
            parse_server_message(&p).unwrap(),
            ServerMessage::Keepalive {
                wal_end: Lsn(0x300),
                server_time: 5,
                reply_requested: true
            }
        );
        *p.last_mut().unwrap() = 0;
        assert!(matches!(
            parse_server_message(&p).unwrap(),
            ServerMessage::Keepalive {
                reply_requested: false,
                ..
            }
        ));
        p.push(0);
        assert!(parse_server_message(&p).is_err());
        assert!(parse_server_message(b"q")
            .unwrap_err()
            .0
            .contains("unknown replication message"));
    }

    #[test]
    fn status_update_layout() {
        let u = standby_status_update(Lsn(0x0102), 9, true);
        assert_eq!(u.len(), 34);
        assert_eq!(u[0], b'r');
        for i in 0..3 {
            assert_eq!(&u[1 + 8 * i..9 + 8 * i], &0x0102u64.to_be_bytes());
        }
        assert_eq!(&u[25..33], &9i64.to_be_bytes());
        assert_eq!(u[33], 1);
    }
}
