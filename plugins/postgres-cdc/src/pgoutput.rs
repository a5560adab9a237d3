//! Decoder of the `pgoutput` logical replication messages (protocol version 1), the payload of
//! each XLogData frame: Begin, Commit, Origin, Relation, Type, Insert, Update, Delete,
//! Truncate (and logical decoding messages, which are recognised and skipped).
//!
//! Design decision: the decoder borrows nothing and allocates only what a message holds; it
//! never panics on malformed input — every short read or unknown tag is an [`Error`] naming
//! the message and the byte offset, because a replication stream that decodes wrongly must
//! stop the task rather than emit wrong change events. Column values stay in PostgreSQL's
//! text format; `types.rs` maps them to Connect values.
//! Reference: PostgreSQL 15 docs, "Logical Replication Message Formats".

use std::fmt;

/// A decoding failure: what was being read, where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's epoch), as the protocol sends them.
pub type PgTimestamp = i64;

/// Microseconds between 1970-01-01 and 2000-01-01.
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp as microseconds since the Unix epoch.
pub fn unix_micros(ts: PgTimestamp) -> i64 {
    ts.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// One column value of a TupleData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// SQL NULL (`n`).
    Null,
    /// A TOASTed value that did not change (`u`): the stream does not carry it.
    UnchangedToast,
    /// The value in PostgreSQL's text format (`t`).
    Text(String),
    /// The value in binary format (`b`, only with the `binary` option, which Sluice never sets).
    Binary(Vec<u8>),
}

/// A column of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (the primary key by default).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    pub namespace: String,
    pub name: String,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

/// A decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Begin {
        /// LSN of the transaction's commit record.
        final_lsn: u64,
        commit_ts: PgTimestamp,
        xid: u32,
    },
    Commit {
        flags: u8,
        commit_lsn: u64,
        /// End of the commit record: where a consumer resumes after this transaction.
        end_lsn: u64,
        commit_ts: PgTimestamp,
    },
    Origin {
        commit_lsn: u64,
        name: String,
    },
    Relation(Relation),
    Type {
        oid: u32,
        namespace: String,
        name: String,
    },
    Insert {
        relation: u32,
        new: Vec<Column>,
    },
    Update {
        relation: u32,
        /// The old row: its key columns (`K`) or all columns (`O`, REPLICA IDENTITY FULL);
        /// absent when the key did not change and the identity is not FULL.
        old: Option<OldTuple>,
        new: Vec<Column>,
    },
    Delete {
        relation: u32,
        old: OldTuple,
    },
    Truncate {
        /// Bit 1: CASCADE, bit 2: RESTART IDENTITY.
        options: u8,
        relations: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`): not a table change.
    LogicalMessage {
        prefix: String,
    },
}

/// The old row of an Update or Delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// Only the replica identity's columns are set; the others are null.
    Key(Vec<Column>),
    /// The whole old row (REPLICA IDENTITY FULL).
    Full(Vec<Column>),
}

impl OldTuple {
    pub fn columns(&self) -> &[Column] {
        match self {
            OldTuple::Key(c) | OldTuple::Full(c) => c,
        }
    }
}

/// Decodes one pgoutput message (the data of one XLogData frame).
pub fn decode(bytes: &[u8]) -> Result<Message, Error> {
    let mut r = Reader {
        bytes,
        pos: 0,
        what: "pgoutput message",
    };
    let tag = r.u8()?;
    r.what = message_name(tag);
    let msg = match tag {
        b'B' => Message::Begin {
            final_lsn: r.u64()?,
            commit_ts: r.i64()?,
            xid: r.u32()?,
        },
        b'C' => Message::Commit {
            flags: r.u8()?,
            commit_lsn: r.u64()?,
            end_lsn: r.u64()?,
            commit_ts: r.i64()?,
        },
        b'O' => Message::Origin {
            commit_lsn: r.u64()?,
            name: r.cstring()?,
        },
        b'R' => {
            let id = r.u32()?;
            let namespace = r.cstring()?;
            let name = r.cstring()?;
            let replica_identity = r.u8()?;
            let n = r.i16()?;
            let mut columns = Vec::with_capacity(n.max(0) as usize);
            for _ in 0..n.max(0) {
                let flags = r.u8()?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name: r.cstring()?,
                    type_oid: r.u32()?,
                    type_modifier: r.i32()?,
                });
            }
            Message::Relation(Relation {
                id,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'Y' => Message::Type {
            oid: r.u32()?,
            namespace: r.cstring()?,
            name: r.cstring()?,
        },
        b'I' => {
            let relation = r.u32()?;
            r.expect(b'N')?;
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let old = match r.u8()? {
                b'K' => Some(OldTuple::Key(r.tuple()?)),
                b'O' => Some(OldTuple::Full(r.tuple()?)),
                b'N' => {
                    r.pos -= 1;
                    None
                }
                other => return Err(r.error(&format!("unexpected tuple tag {other:#04x}"))),
            };
            r.expect(b'N')?;
            Message::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let old = match r.u8()? {
                b'K' => OldTuple::Key(r.tuple()?),
                b'O' => OldTuple::Full(r.tuple()?),
                other => return Err(r.error(&format!("unexpected tuple tag {other:#04x}"))),
            };
            Message::Delete { relation, old }
        }
        b'T' => {
            let n = r.u32()?;
            let options = r.u8()?;
            let mut relations = Vec::with_capacity((n as usize).min(bytes.len() / 4));
            for _ in 0..n {
                relations.push(r.u32()?);
            }
            Message::Truncate { options, relations }
        }
        b'M' => {
            let _transactional = r.u8()?;
            let _lsn = r.u64()?;
            let prefix = r.cstring()?;
            let len = r.u32()? as usize;
            r.take(len)?;
            Message::LogicalMessage { prefix }
        }
        other => {
            return Err(Error(format!(
                "unknown pgoutput message type {:?} ({other:#04x}); Sluice speaks protocol version 1 without streaming",
                other as char
            )))
        }
    };
    if r.pos != bytes.len() {
        return Err(r.error(&format!(
            "{} trailing bytes after the message",
            bytes.len() - r.pos
        )));
    }
    Ok(msg)
}

fn message_name(tag: u8) -> &'static str {
    match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        _ => "pgoutput message",
    }
}

/// Big-endian reads over a message, failing (never panicking) on a short message.
pub(crate) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
    pub what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn error(&self, why: &str) -> Error {
        Error(format!(
            "malformed {} at byte {} of {}: {why}",
            self.what,
            self.pos,
            self.bytes.len()
        ))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(&format!("needs {n} more bytes")))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn i16(&mut self) -> Result<i16, Error> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, Error> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn expect(&mut self, tag: u8) -> Result<(), Error> {
        let got = self.u8()?;
        if got != tag {
            self.pos -= 1;
            return Err(self.error(&format!("expected {:?}, found {got:#04x}", tag as char)));
        }
        Ok(())
    }

    fn cstring(&mut self) -> Result<String, Error> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.error("unterminated string"))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| self.error("string is not UTF-8"))?
            .to_string();
        self.pos += len + 1;
        Ok(s)
    }

    fn tuple(&mut self) -> Result<Vec<Column>, Error> {
        let n = self.i16()?;
        if n < 0 {
            return Err(self.error(&format!("negative column count {n}")));
        }
        let mut columns = Vec::with_capacity(n as usize);
        for _ in 0..n {
            columns.push(match self.u8()? {
                b'n' => Column::Null,
                b'u' => Column::UnchangedToast,
                b't' => {
                    let len = self.u32()? as usize;
                    let bytes = self.take(len)?;
                    Column::Text(
                        std::str::from_utf8(bytes)
                            .map_err(|_| self.error("text column value is not UTF-8"))?
                            .to_string(),
                    )
                }
                b'b' => {
                    let len = self.u32()? as usize;
                    Column::Binary(self.take(len)?.to_vec())
                }
                other => return Err(self.error(&format!("unknown column kind {other:#04x}"))),
            });
        }
        Ok(columns)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds pgoutput messages for tests, byte by byte as PostgreSQL writes them.
    #[derive(Default)]
    pub struct Msg(pub Vec<u8>);

    impl Msg {
        pub fn tag(t: u8) -> Msg {
            Msg(vec![t])
        }
        pub fn u8(mut self, v: u8) -> Msg {
            self.0.push(v);
            self
        }
        pub fn i16(mut self, v: i16) -> Msg {
            self.0.extend(v.to_be_bytes());
            self
        }
        pub fn u32(mut self, v: u32) -> Msg {
            self.0.extend(v.to_be_bytes());
            self
        }
        pub fn u64(mut self, v: u64) -> Msg {
            self.0.extend(v.to_be_bytes());
            self
        }
        pub fn str(mut self, s: &str) -> Msg {
            self.0.extend(s.as_bytes());
            self.0.push(0);
            self
        }
        /// A TupleData: `None` is null, `Some("\u{0}")` unchanged toast, else text.
        pub fn tuple(mut self, cols: &[Option<&str>]) -> Msg {
            self = self.i16(cols.len() as i16);
            for c in cols {
                match c {
                    None => self.0.push(b'n'),
                    Some("\u{0}") => self.0.push(b'u'),
                    Some(t) => {
                        self.0.push(b't');
                        self.0.extend((t.len() as u32).to_be_bytes());
                        self.0.extend(t.as_bytes());
                    }
                }
            }
            self
        }
    }

    #[test]
    fn begin_and_commit() {
        let b = Msg::tag(b'B').u64(0x16B3748).u64(7_000_000).u32(731);
        assert_eq!(
            decode(&b.0).unwrap(),
            Message::Begin {
                final_lsn: 0x16B3748,
                commit_ts: 7_000_000,
                xid: 731
            }
        );
        let c = Msg::tag(b'C')
            .u8(0)
            .u64(0x16B3748)
            .u64(0x16B3778)
            .u64(7_000_000);
        assert_eq!(
            decode(&c.0).unwrap(),
            Message::Commit {
                flags: 0,
                commit_lsn: 0x16B3748,
                end_lsn: 0x16B3778,
                commit_ts: 7_000_000
            }
        );
        assert_eq!(unix_micros(0), PG_EPOCH_OFFSET_MICROS);
    }

    #[test]
    fn relation_with_key_columns() {
        let m = Msg::tag(b'R')
            .u32(16385)
            .str("public")
            .str("orders")
            .u8(b'd')
            .i16(2)
            .u8(1)
            .str("id")
            .u32(23)
            .u32(u32::MAX) // typmod -1
            .u8(0)
            .str("price")
            .u32(1700)
            .u32(((10 << 16) | 2) + 4);
        let Message::Relation(r) = decode(&m.0).unwrap() else {
            panic!("not a relation")
        };
        assert_eq!(
            (r.id, r.namespace.as_str(), r.name.as_str()),
            (16385, "public", "orders")
        );
        assert_eq!(r.replica_identity, b'd');
        assert_eq!(
            r.columns,
            vec![
                RelationColumn {
                    key: true,
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1
                },
                RelationColumn {
                    key: false,
                    name: "price".into(),
                    type_oid: 1700,
                    type_modifier: (10 << 16 | 2) + 4
                },
            ]
        );
    }

    #[test]
    fn insert_with_null_toast_and_text_columns() {
        let m = Msg::tag(b'I').u32(16385).u8(b'N').tuple(&[
            Some("1"),
            None,
            Some("\u{0}"),
            Some("héllo"),
        ]);
        assert_eq!(
            decode(&m.0).unwrap(),
            Message::Insert {
                relation: 16385,
                new: vec![
                    Column::Text("1".into()),
                    Column::Null,
                    Column::UnchangedToast,
                    Column::Text("héllo".into())
                ]
            }
        );
    }

    #[test]
    fn update_without_with_key_and_with_full_old_row() {
        let plain = Msg::tag(b'U')
            .u32(9)
            .u8(b'N')
            .tuple(&[Some("1"), Some("b")]);
        assert_eq!(
            decode(&plain.0).unwrap(),
            Message::Update {
                relation: 9,
                old: None,
                new: vec![Column::Text("1".into()), Column::Text("b".into())]
            }
        );
        let keyed = Msg::tag(b'U')
            .u32(9)
            .u8(b'K')
            .tuple(&[Some("1"), None])
            .u8(b'N')
            .tuple(&[Some("2"), Some("b")]);
        let Message::Update { old, .. } = decode(&keyed.0).unwrap() else {
            panic!()
        };
        assert_eq!(
            old,
            Some(OldTuple::Key(vec![Column::Text("1".into()), Column::Null]))
        );
        let full = Msg::tag(b'U')
            .u32(9)
            .u8(b'O')
            .tuple(&[Some("1"), Some("a")])
            .u8(b'N')
            .tuple(&[Some("1"), Some("b")]);
        let Message::Update { old, .. } = decode(&full.0).unwrap() else {
            panic!()
        };
        assert_eq!(
            old.unwrap().columns(),
            &[Column::Text("1".into()), Column::Text("a".into())]
        );
    }

    #[test]
    fn delete_truncate_type_origin_message() {
        let d = Msg::tag(b'D').u32(9).u8(b'K').tuple(&[Some("7"), None]);
        assert_eq!(
            decode(&d.0).unwrap(),
            Message::Delete {
                relation: 9,
                old: OldTuple::Key(vec![Column::Text("7".into()), Column::Null])
            }
        );
        let t = Msg::tag(b'T').u32(2).u8(1).u32(9).u32(10);
        assert_eq!(
            decode(&t.0).unwrap(),
            Message::Truncate {
                options: 1,
                relations: vec![9, 10]
            }
        );
        let y = Msg::tag(b'Y').u32(16400).str("public").str("mood");
        assert_eq!(
            decode(&y.0).unwrap(),
            Message::Type {
                oid: 16400,
                namespace: "public".into(),
                name: "mood".into()
            }
        );
        let o = Msg::tag(b'O').u64(42).str("upstream");
        assert_eq!(
            decode(&o.0).unwrap(),
            Message::Origin {
                commit_lsn: 42,
                name: "upstream".into()
            }
        );
        let m = Msg::tag(b'M')
            .u8(1)
            .u64(5)
            .str("app")
            .u32(3)
            .u8(1)
            .u8(2)
            .u8(3);
        assert_eq!(
            decode(&m.0).unwrap(),
            Message::LogicalMessage {
                prefix: "app".into()
            }
        );
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let full = Msg::tag(b'I').u32(9).u8(b'N').tuple(&[Some("12345")]).0;
        for cut in 0..full.len() {
            assert!(
                decode(&full[..cut]).is_err(),
                "prefix of {cut} bytes decoded"
            );
        }
        let e = decode(&[b'I', 0, 0, 0, 9, b'N', 0, 1, b't', 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(e.0.contains("malformed Insert"), "{e}");
        assert!(decode(b"Zxyz")
            .unwrap_err()
            .0
            .contains("unknown pgoutput message type"));
        let mut trailing = Msg::tag(b'Y').u32(1).str("a").str("b").0;
        trailing.push(0);
        assert!(decode(&trailing).unwrap_err().0.contains("trailing"));
        let bad_kind = Msg::tag(b'I').u32(9).u8(b'N').i16(1).u8(b'x').0;
        assert!(decode(&bad_kind)
            .unwrap_err()
            .0
            .contains("unknown column kind"));
    }
}
