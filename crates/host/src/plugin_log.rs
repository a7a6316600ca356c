//! Each plugin's log on disk: what it logged, what it was refused, when it
//! was stopped and why. `plugboard logs ID` reads it; the audit trail of
//! denied calls lives here too.
//!
//! One file per plugin, `logs/<id>.log` in the host's data folder, one line
//! per entry: an RFC 3339 UTC time, a level or `audit`, the text. A file
//! past its size cap is renamed to `<id>.log.1` (replacing the previous one)
//! and a new one started, so a chatty plugin cannot fill the disk.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use plugboard_contract::task_store::Timestamp;

use crate::context::LogLine;

/// The largest a plugin's log file grows before it is rotated.
pub const MAX_LOG_FILE_BYTES: u64 = 1 << 20;

/// A line of a plugin's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// A line the plugin logged (or wrote to stdout/stderr).
    Plugin(&'a LogLine),
    /// Something the host recorded about the plugin: a denied call, a
    /// trap, a quarantine.
    Audit(String),
}

/// Where the plugin log files are.
#[derive(Debug, Clone)]
pub struct PluginLogs {
    dir: PathBuf,
    max_bytes: u64,
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

impl PluginLogs {
    /// Logs kept in `<data_dir>/logs`.
    pub fn new(data_dir: &Path) -> PluginLogs {
        PluginLogs {
            dir: data_dir.join("logs"),
            max_bytes: MAX_LOG_FILE_BYTES,
        }
    }

    /// Changes the rotation size.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> PluginLogs {
        self.max_bytes = max_bytes;
        self
    }

    /// The log file of a plugin.
    pub fn path(&self, plugin: &str) -> PathBuf {
        self.dir.join(format!("{plugin}.log"))
    }

    /// Appends entries to a plugin's log, rotating it when it is too big.
    pub fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(plugin);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= self.max_bytes) {
            std::fs::rename(&path, path.with_extension("log.1"))?;
        }
        let time = format_utc(at);
        let mut text = String::new();
        for entry in entries {
            let (tag, message) = match entry {
                LogEntry::Plugin(line) => (line.level.to_string(), line.message.as_str()),
                LogEntry::Audit(message) => ("audit".to_string(), message.as_str()),
            };
            // One entry, one line: a plugin cannot forge entries with newlines.
            let message = message.replace(['\n', '\r'], " ");
            text.push_str(&format!("{time} {tag:5} {message}\n"));
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(text.as_bytes())
    }

    /// The last `lines` lines of a plugin's log (older file first).
    pub fn tail(&self, plugin: &str, lines: usize) -> std::io::Result<Vec<String>> {
        let mut all = Vec::new();
        for path in [self.path(plugin).with_extension("log.1"), self.path(plugin)] {
            match std::fs::read_to_string(&path) {
                Ok(text) => all.extend(text.lines().map(str::to_string)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let skip = all.len().saturating_sub(lines);
        Ok(all.split_off(skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::LogLevel;

    #[test]
    fn times_are_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn entries_are_one_line_each_and_files_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogs::new(dir.path()).with_max_bytes(200);
        let line = LogLine {
            level: LogLevel::Info,
            message: "hello\nfake 1970-01-01T00:00:00.000Z audit forged".into(),
        };
        for _ in 0..5 {
            logs.append(
                "p",
                0,
                &[LogEntry::Plugin(&line), LogEntry::Audit("denied tasks.delete".into())],
            )
            .unwrap();
        }
        let tail = logs.tail("p", 100).unwrap();
        assert!(
            tail.iter().all(|l| l.starts_with("1970-01-01T00:00:00.000Z ")),
            "{tail:?}"
        );
        assert!(tail.iter().any(|l| l.ends_with("audit denied tasks.delete")));
        assert!(
            tail.iter().any(|l| l.contains("info  hello fake")),
            "newlines are folded: {tail:?}"
        );
        assert!(dir.path().join("logs/p.log.1").exists(), "the file was rotated");
        assert!(std::fs::metadata(dir.path().join("logs/p.log")).unwrap().len() < 400);
    }
}
