//! Each plugin's log: what it logged ([`LogLine`]), what the host recorded
//! about it (a denied call, a trap, a quarantine), and the
//! [`PluginLogSink`] the host writes them to, with an in-memory
//! implementation ([`InMemoryPluginLogs`]; the file-backed one, read by
//! `plugboard logs`, is `plugboard-state`'s `PluginLogFiles`).
//!
//! Every sink writes an entry as one line of the same form ([`log_line`]):
//! an RFC 3339 UTC time, a level or `audit`, the text with its line breaks
//! folded, so a plugin cannot forge entries.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::task::Timestamp;

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Fine-grained detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Recovered from something unexpected.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

/// One line a plugin wrote to its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// Its text.
    pub message: String,
}

/// An entry of a plugin's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// A line the plugin logged (or wrote to stdout/stderr).
    Plugin(&'a LogLine),
    /// Something the host recorded about the plugin: a denied call, a
    /// trap, a quarantine.
    Audit(String),
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_utc(ms: Timestamp) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An entry as one line of a log, without the line break: `time level
/// text`, `time audit text`.
pub fn log_line(at: Timestamp, entry: &LogEntry<'_>) -> String {
    let (tag, message) = match entry {
        LogEntry::Plugin(line) => (line.level.to_string(), line.message.as_str()),
        LogEntry::Audit(message) => ("audit".to_string(), message.as_str()),
    };
    // One entry, one line: a plugin cannot forge entries with newlines.
    let message = message.replace(['\n', '\r'], " ");
    format!("{} {tag:5} {message}", format_utc(at))
}

/// Why a [`PluginLogSink`] could not keep some entries. The plugin's call
/// is not affected; the host reports the error with its persistence errors.
#[derive(Debug, thiserror::Error)]
pub enum PluginLogError {
    /// The storage failed; the message (and the source, which callers may
    /// downcast to the sink's own error) names what and where.
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Where the host writes each plugin's log and audit trail.
///
/// Methods take `&self`: a sink may be read (`plugboard logs`, an app's log
/// view) while the host writes to it, so an implementation chooses its own
/// locking.
pub trait PluginLogSink: Send + Sync {
    /// Appends entries to a plugin's log, all at time `at`: the host calls
    /// it once after each call that logged, was denied something or was
    /// struck, and once when it quarantines a plugin. Never called with no
    /// entries.
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError>;

    /// Writes out whatever earlier appends buffered. The host calls it
    /// after each batch of appends (its log writer thread hands over
    /// several calls' lines at once) and before a flush of the logs
    /// returns; a sink that writes as it appends has nothing to do.
    fn flush(&self) -> Result<(), PluginLogError> {
        Ok(())
    }
}

/// Lets a sink shared with the application (to read it) be given to the
/// host too.
impl<T: PluginLogSink + ?Sized> PluginLogSink for Arc<T> {
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
        (**self).append(plugin, at, entries)
    }

    fn flush(&self) -> Result<(), PluginLogError> {
        (**self).flush()
    }
}

/// How many lines of each plugin an [`InMemoryPluginLogs`] keeps unless told
/// otherwise: enough for a test or a status screen, bounded so that a chatty
/// plugin cannot grow the host's memory without end.
pub const IN_MEMORY_LOG_LINES: usize = 1000;

/// Plugin logs kept in memory, the last lines of each plugin: for tests and
/// for hosts that keep no files. Clones share the same lines, so keep one
/// to read what the host wrote through another.
#[derive(Debug, Clone)]
pub struct InMemoryPluginLogs {
    lines: Arc<Mutex<BTreeMap<String, VecDeque<String>>>>,
    max_lines: usize,
}

impl Default for InMemoryPluginLogs {
    fn default() -> Self {
        InMemoryPluginLogs {
            lines: Arc::default(),
            max_lines: IN_MEMORY_LOG_LINES,
        }
    }
}

impl InMemoryPluginLogs {
    /// Empty logs that keep the last [`IN_MEMORY_LOG_LINES`] lines of each
    /// plugin.
    pub fn new() -> InMemoryPluginLogs {
        InMemoryPluginLogs::default()
    }

    /// Keeps the last `max_lines` lines of each plugin instead.
    pub fn with_max_lines(mut self, max_lines: usize) -> InMemoryPluginLogs {
        self.max_lines = max_lines;
        self
    }

    /// The last `lines` lines of a plugin's log, oldest first, as a log
    /// file would hold them.
    pub fn tail(&self, plugin: &str, lines: usize) -> Vec<String> {
        let all = self.lock();
        let Some(kept) = all.get(plugin) else {
            return Vec::new();
        };
        kept.iter().skip(kept.len().saturating_sub(lines)).cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, VecDeque<String>>> {
        // Every write pushes or pops whole lines, so a poisoned map is whole.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PluginLogSink for InMemoryPluginLogs {
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
        let mut all = self.lock();
        let kept = all.entry(plugin.to_string()).or_default();
        kept.extend(entries.iter().map(|entry| log_line(at, entry)));
        while kept.len() > self.max_lines {
            kept.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn an_entry_is_one_line_whatever_the_plugin_writes() {
        let line = LogLine {
            level: LogLevel::Info,
            message: "hello\nfake 1970-01-01T00:00:00.000Z audit forged\r".into(),
        };
        assert_eq!(
            log_line(0, &LogEntry::Plugin(&line)),
            "1970-01-01T00:00:00.000Z info  hello fake 1970-01-01T00:00:00.000Z audit forged "
        );
        assert_eq!(
            log_line(0, &LogEntry::Audit("denied tasks.delete".into())),
            "1970-01-01T00:00:00.000Z audit denied tasks.delete"
        );
    }

    #[test]
    fn the_in_memory_logs_keep_the_last_lines_of_each_plugin_and_share_them_between_clones() {
        let logs = InMemoryPluginLogs::new().with_max_lines(3);
        let host_side: Arc<dyn PluginLogSink> = Arc::new(logs.clone());
        for n in 0..5 {
            host_side
                .append("p", 0, &[LogEntry::Audit(format!("entry {n}"))])
                .unwrap();
        }
        host_side.append("q", 0, &[LogEntry::Audit("other".into())]).unwrap();
        let tail = logs.tail("p", 10);
        assert_eq!(tail.len(), 3, "{tail:?}");
        assert!(tail[0].ends_with("entry 2") && tail[2].ends_with("entry 4"), "{tail:?}");
        assert_eq!(logs.tail("p", 1).len(), 1);
        assert_eq!(logs.tail("q", 10).len(), 1);
        assert!(logs.tail("nobody", 10).is_empty());
    }
}
