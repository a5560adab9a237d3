//! The retry keys HTTP-based sinks share with Confluent's connectors: `max.retries` and
//! `retry.backoff.ms`, defined and read in one place. Each connector keeps Confluent's own
//! defaults and says in its docs what a retry means for it.
//!
//! ```
//! use sluice_plugin_sdk::{retry::Retries, Config, Problems};
//!
//! let defs = Retries::defs(10, 3000, "Retries of a failed request.", "Wait between retries.");
//! let config = Config::from_pairs(&[("max.retries", "3")], &defs);
//! let mut p = Problems::new();
//! let r = Retries::read(&mut p, &config, 10, 3000);
//! assert_eq!((r.max_retries, r.backoff_ms), (3, 3000));
//! ```

use crate::config::{Config, ConfigDef, Importance};
use crate::problems::Problems;

pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";

/// The checked retry keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub max_retries: u32,
    pub backoff_ms: u64,
}

impl Retries {
    /// The two keys' definitions with a connector's defaults and docs.
    pub fn defs(
        default_retries: u32,
        default_backoff_ms: u64,
        retries_doc: &str,
        backoff_doc: &str,
    ) -> [ConfigDef; 2] {
        [
            ConfigDef::int(MAX_RETRIES)
                .default(default_retries.to_string())
                .importance(Importance::Medium)
                .doc(retries_doc),
            ConfigDef::long(RETRY_BACKOFF_MS)
                .default(default_backoff_ms.to_string())
                .importance(Importance::Medium)
                .doc(backoff_doc),
        ]
    }

    /// Reads both keys: at most `i32::MAX` retries, a backoff of at most a day.
    pub fn read(
        p: &mut Problems,
        config: &Config,
        default_retries: u32,
        default_backoff_ms: u64,
    ) -> Retries {
        let max_retries = p.int_in(
            config,
            MAX_RETRIES,
            0..=i64::from(i32::MAX),
            i64::from(default_retries),
        );
        let backoff_ms = p.int_in(
            config,
            RETRY_BACKOFF_MS,
            0..=86_400_000,
            default_backoff_ms as i64,
        );
        Retries {
            max_retries: max_retries as u32,
            backoff_ms: backoff_ms as u64,
        }
    }
}
