//! Line splitting exactly as Kafka's `FileStreamSourceTask.extractLine`: a line ends at
//! `\n`, `\r` or `\r\n`; a trailing `\r` waits for the next byte (it may start `\r\n`) and a
//! trailing partial line is held back until its terminator arrives.
//!
//! Positions are byte offsets in the file (Kafka counts UTF-16 chars but skips bytes when it
//! resumes; the two agree for ASCII, and bytes are what resuming needs).

/// Buffers file bytes and hands out complete lines with the position after each.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// File position of `buf[start]`.
    position: u64,
}

impl LineSplitter {
    /// A splitter whose next byte is at file position `position`.
    pub fn at(position: u64) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            start: 0,
            position,
        }
    }

    /// File position just after the last line handed out.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Appends bytes read from the file. Returns the buffer to fill (of `len` bytes, zeroed)
    /// so callers can read straight into it; call [`LineSplitter::filled`] afterwards.
    pub fn spare(&mut self, len: usize) -> &mut [u8] {
        // Drop consumed bytes before growing, so the buffer stays about one chunk long.
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.len() / 2) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + len, 0);
        &mut self.buf[old..]
    }

    /// After [`LineSplitter::spare`]: keeps the first `n` bytes of the spare area.
    pub fn filled(&mut self, requested: usize, n: usize) {
        let keep = self.buf.len() - requested + n;
        self.buf.truncate(keep);
    }

    /// Appends bytes (convenience for tests).
    pub fn push(&mut self, data: &[u8]) {
        let spare = self.spare(data.len());
        spare.copy_from_slice(data);
    }

    /// The next complete line (terminator removed, invalid UTF-8 replaced as Java's decoder
    /// does) and the file position after its terminator; `None` until one is complete.
    pub fn next_line(&mut self) -> Option<(String, u64)> {
        let pending = &self.buf[self.start..];
        let end = pending.iter().position(|&b| b == b'\n' || b == b'\r')?;
        let consumed = if pending[end] == b'\r' {
            // `\r` at the end of what we have: it may be the first half of `\r\n`.
            let next = *pending.get(end + 1)?;
            if next == b'\n' {
                end + 2
            } else {
                end + 1
            }
        } else {
            end + 1
        };
        let line = match std::str::from_utf8(&pending[..end]) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&pending[..end]).into_owned(),
        };
        self.start += consumed;
        self.position += consumed as u64;
        Some((line, self.position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut LineSplitter) -> Vec<(String, u64)> {
        std::iter::from_fn(|| s.next_line()).collect()
    }

    #[test]
    fn splits_on_lf_cr_and_crlf_with_byte_positions() {
        let mut s = LineSplitter::at(0);
        s.push(b"a\nbb\r\nccc\rd");
        assert_eq!(
            drain(&mut s),
            vec![("a".into(), 2), ("bb".into(), 6), ("ccc".into(), 10)]
        );
        // `d` has no terminator yet: held back.
        assert_eq!(s.position(), 10);
        s.push(b"\n");
        assert_eq!(drain(&mut s), vec![("d".into(), 12)]);
    }

    #[test]
    fn trailing_cr_waits_for_the_next_byte() {
        let mut s = LineSplitter::at(100);
        s.push(b"x\r");
        assert_eq!(s.next_line(), None);
        s.push(b"\ny\r");
        assert_eq!(s.next_line(), Some(("x".into(), 103)));
        assert_eq!(s.next_line(), None);
        s.push(b"z");
        assert_eq!(s.next_line(), Some(("y".into(), 105)));
        assert_eq!(s.next_line(), None);
    }

    #[test]
    fn empty_lines_and_lines_split_across_reads() {
        let mut s = LineSplitter::at(0);
        s.push(b"\n\nhel");
        assert_eq!(drain(&mut s), vec![("".into(), 1), ("".into(), 2)]);
        s.push(b"lo w");
        assert_eq!(s.next_line(), None);
        s.push("örld\n".as_bytes());
        assert_eq!(drain(&mut s), vec![("hello wörld".into(), 15)]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut s = LineSplitter::at(0);
        s.push(b"a\xffb\n");
        assert_eq!(s.next_line(), Some(("a\u{fffd}b".into(), 4)));
    }

    #[test]
    fn spare_and_filled_keep_only_what_was_read() {
        let mut s = LineSplitter::at(0);
        for round in 0..1000u32 {
            let text = format!("line {round}\n");
            let spare = s.spare(64);
            spare[..text.len()].copy_from_slice(text.as_bytes());
            s.filled(64, text.len());
            let (line, _) = s.next_line().unwrap();
            assert_eq!(line, format!("line {round}"));
        }
        // Consumed bytes are compacted away instead of accumulating.
        assert!(s.buf.len() < 256, "buffer grew to {}", s.buf.len());
    }
}
