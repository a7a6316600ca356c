//! Writing to this plugin's log, which the user can read.
//!
//! Each function writes one line. The macros [`trace!`](crate::trace),
//! [`debug!`](crate::debug), [`info!`](crate::info), [`warn!`](crate::warn)
//! and [`error!`](crate::error) take `format!` arguments. A plugin's
//! stdout and stderr also go to its log, without a level.

use crate::bindings::plugboard::task_events::log as host;

pub use host::Level;

/// Writes a line at `level`.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}

/// Writes a line of fine-grained detail, hidden unless the user asks for it.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Writes a line useful when debugging the plugin.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Writes a line about normal operation worth showing.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Writes a line about something unexpected the plugin recovered from.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Writes a line about something that failed.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Writes a `format!`-style line at trace level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::trace(&::std::format!($($arg)+)) };
}

/// Writes a `format!`-style line at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::debug(&::std::format!($($arg)+)) };
}

/// Writes a `format!`-style line at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::info(&::std::format!($($arg)+)) };
}

/// Writes a `format!`-style line at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::warn(&::std::format!($($arg)+)) };
}

/// Writes a `format!`-style line at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::error(&::std::format!($($arg)+)) };
}
