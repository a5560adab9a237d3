//! Logging to the host: each line lands in the host's logs tagged with the connector and
//! task that wrote it.
//!
//! ```
//! use sluice_plugin_sdk::log;
//!
//! let path = "/data/in.txt";
//! log::info!("opened {path}");
//! log::warn!("{} lines skipped", 3);
//! ```
//!
//! On a non-wasm target (unit tests of plugin logic) lines go to stderr instead, since there
//! is no host to call.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Writes one line to the host log.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::bindings::plugin_world::sluice::connect::host::{log, LogLevel};
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_log_trace {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+)) };
}
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_log_debug {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+)) };
}
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_log_info {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+)) };
}
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_log_warn {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+)) };
}
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_log_error {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+)) };
}

/// `log::debug!("fmt", args…)`: a debug line to the host log.
pub use crate::__sluice_log_debug as debug;
/// `log::error!("fmt", args…)`: an error line to the host log.
pub use crate::__sluice_log_error as error;
/// `log::info!("fmt", args…)`: an info line to the host log.
pub use crate::__sluice_log_info as info;
/// `log::trace!("fmt", args…)`: a trace line to the host log.
pub use crate::__sluice_log_trace as trace;
/// `log::warn!("fmt", args…)`: a warning to the host log.
pub use crate::__sluice_log_warn as warn;
