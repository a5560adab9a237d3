//! One poll's worth of source records, whose conversion into host records may still be
//! pending.
//!
//! Design decision: a source plugin's records are lifted out of the plugin on the task's poll
//! thread (the plugin instance lives there), but turning them into [`SourceRecord`]s (offset
//! maps, data trees) is plain CPU work that needs no plugin. A batch therefore carries that
//! conversion instead of its result, so the source task can run it on its produce thread and
//! the two threads share the work. A batch knows its length before it is converted, so empty
//! polls and `max_records` checks cost nothing.

use super::SourceRecord;

/// The records of a batch could not be converted: the plugin returned malformed records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedBatch(pub String);

type Conversion = Box<dyn FnOnce() -> Result<Vec<SourceRecord>, MalformedBatch> + Send>;

/// Polled source records, converted now or on [`SourceBatch::into_records`].
pub struct SourceBatch {
    len: usize,
    convert: Conversion,
}

impl SourceBatch {
    /// `len` records that `convert` produces (or fails to).
    pub fn deferred(
        len: usize,
        convert: impl FnOnce() -> Result<Vec<SourceRecord>, MalformedBatch> + Send + 'static,
    ) -> SourceBatch {
        SourceBatch {
            len,
            convert: Box::new(convert),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs the conversion (on whichever thread calls it).
    pub fn into_records(self) -> Result<Vec<SourceRecord>, MalformedBatch> {
        (self.convert)()
    }
}

impl From<Vec<SourceRecord>> for SourceBatch {
    fn from(records: Vec<SourceRecord>) -> SourceBatch {
        SourceBatch {
            len: records.len(),
            convert: Box::new(move || Ok(records)),
        }
    }
}

impl std::fmt::Debug for SourceBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceBatch")
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_batch_knows_its_length_and_converts_once_asked() {
        let converted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = converted.clone();
        let batch = SourceBatch::deferred(3, move || {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Err(MalformedBatch("bad record 2".into()))
        });
        assert_eq!(batch.len(), 3);
        assert!(!converted.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(
            batch.into_records(),
            Err(MalformedBatch("bad record 2".into()))
        );
        assert!(converted.load(std::sync::atomic::Ordering::SeqCst));
        assert!(SourceBatch::from(Vec::new()).is_empty());
    }
}
