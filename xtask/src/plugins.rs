//! Builds the plugins workspace to wasm32-wasip2.

use anyhow::Result;
use std::path::PathBuf;

/// Builds every plugin and returns the directory holding the built-in components.
pub fn build_all() -> Result<PathBuf> {
    todo!()
}
