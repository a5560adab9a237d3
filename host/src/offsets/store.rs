//! Where source offsets go: the [`SourceOffsetStore`] trait the source task commits to and the
//! REST offsets endpoints change. [`FileOffsetStore`] implements it in standalone mode; tests
//! use an in-memory double.
//!
//! Design decision: `stage` only records offsets in memory and `flush` makes everything staged
//! durable, so a task can commit often while the store writes at its own pace.

use std::sync::Arc;

use super::{FileOffsetStore, OffsetError};
use crate::data::{OffsetMap, SourcePosition};

/// Where source offsets go.
pub trait SourceOffsetStore: Send + Sync {
    fn positions(&self, connector: &str) -> Vec<SourcePosition>;
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>);
    /// Makes staged offsets durable.
    fn flush(&self) -> Result<(), OffsetError>;
    /// Removes the offsets of these partitions (`None`: every partition of the connector),
    /// durably (REST `PATCH`/`DELETE /connectors/{name}/offsets` on a stopped connector).
    fn remove(
        &self,
        connector: &str,
        partitions: Option<Vec<OffsetMap>>,
    ) -> Result<(), OffsetError>;
}

impl SourceOffsetStore for FileOffsetStore {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        FileOffsetStore::positions(self, connector)
    }
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        FileOffsetStore::stage(self, connector, offsets)
    }
    fn flush(&self) -> Result<(), OffsetError> {
        FileOffsetStore::flush(self)
    }
    fn remove(
        &self,
        connector: &str,
        partitions: Option<Vec<OffsetMap>>,
    ) -> Result<(), OffsetError> {
        FileOffsetStore::remove(self, connector, partitions.as_deref());
        FileOffsetStore::flush(self)
    }
}

impl<T: SourceOffsetStore + ?Sized> SourceOffsetStore for Arc<T> {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        (**self).positions(connector)
    }
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        (**self).stage(connector, offsets)
    }
    fn flush(&self) -> Result<(), OffsetError> {
        (**self).flush()
    }
    fn remove(
        &self,
        connector: &str,
        partitions: Option<Vec<OffsetMap>>,
    ) -> Result<(), OffsetError> {
        (**self).remove(connector, partitions)
    }
}
