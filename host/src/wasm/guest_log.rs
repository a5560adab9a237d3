//! Rate limiting of what one plugin instance writes to the host log (stdout, stderr and the
//! SDK's `log` import share one budget).
//!
//! Design decision: a token bucket per store (burst [`BURST`] lines, refilled at [`RATE`]
//! lines/s). Lines over budget are counted, not logged; the next line that gets through is
//! preceded by one `suppressed K lines` warning (and a final one when the instance goes
//! away), so a chatty or hostile plugin costs the host a bounded number of log lines while
//! the operator still learns that lines were dropped. Long lines are cut at [`MAX_LINE`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::engine::Owner;

/// Lines a plugin may log at once before throttling starts.
pub const BURST: f64 = 200.0;
/// Lines per second a plugin may log in the long run.
pub const RATE: f64 = 50.0;
/// Longest line forwarded; the rest of a longer line is cut off and counted.
pub const MAX_LINE: usize = 4 * 1024;

/// The shared log budget of one plugin instance (cheap to clone).
#[derive(Clone)]
pub(crate) struct LogBudget(Arc<Mutex<Bucket>>);

struct Bucket {
    owner: Owner,
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl LogBudget {
    pub fn new(owner: Owner) -> Self {
        LogBudget(Arc::new(Mutex::new(Bucket {
            owner,
            tokens: BURST,
            last: Instant::now(),
            suppressed: 0,
        })))
    }

    /// Whether one more line may be logged now. Reports earlier suppressed lines first.
    pub fn admit(&self) -> bool {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + elapsed * RATE).min(BURST);
        if b.tokens < 1.0 {
            b.suppressed += 1;
            return false;
        }
        b.tokens -= 1.0;
        b.report_suppressed();
        true
    }
}

impl Bucket {
    fn report_suppressed(&mut self) {
        if self.suppressed == 0 {
            return;
        }
        let (connector, task) = (self.owner.connector.as_str(), self.owner.task.as_str());
        tracing::warn!(
            connector,
            task,
            suppressed = self.suppressed,
            "plugin output rate-limited: suppressed {} lines (limit {RATE} lines/s, burst {BURST})",
            self.suppressed
        );
        self.suppressed = 0;
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        self.report_suppressed();
    }
}

/// `line` cut to at most [`MAX_LINE`] bytes (on a char boundary), with a marker saying how
/// much was cut.
pub(crate) fn truncate(line: &str) -> std::borrow::Cow<'_, str> {
    if line.len() <= MAX_LINE {
        return line.into();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [{} more bytes truncated]",
        &line[..end],
        line.len() - end
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_admitted_then_lines_are_suppressed() {
        let budget = LogBudget::new(Owner {
            connector: "c".into(),
            task: "0".into(),
        });
        let admitted = (0..10_000).filter(|_| budget.admit()).count();
        // The burst plus whatever refilled while the loop ran (well under a second).
        assert!((200..300).contains(&admitted), "{admitted}");
        let suppressed = budget.0.lock().map(|b| b.suppressed).unwrap_or_default();
        assert_eq!(suppressed as usize, 10_000 - admitted);
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let line = "é".repeat(MAX_LINE);
        let cut = truncate(&line);
        assert!(cut.len() < MAX_LINE + 64);
        assert!(cut.ends_with(&format!(
            "[{} more bytes truncated]",
            MAX_LINE * 2 - MAX_LINE
        )));
        assert_eq!(truncate("short"), "short");
    }
}
