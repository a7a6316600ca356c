//! Each plugin's log on disk: what it logged, what it was refused, when it
//! was stopped and why. `plugboard logs ID` reads it; the audit trail of
//! denied calls lives here too.
//!
//! One file per plugin, `logs/<id>.log` in the host's data folder, one line
//! per entry ([`plugboard_contract::plugin_log::log_line`]). A file past its
//! size cap is renamed to `<id>.log.1` (replacing the previous one) and a
//! new one started, so a chatty plugin cannot fill the disk.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use plugboard_contract::plugin_log::{LogEntry, PluginLogError, PluginLogSink, log_line};
use plugboard_contract::task::Timestamp;

/// The largest a plugin's log file grows before it is rotated.
pub const MAX_LOG_FILE_BYTES: u64 = 1 << 20;

/// The folder inside the host's data folder that holds the log files.
pub const LOGS_FOLDER: &str = "logs";

/// Why a plugin's log file could not be read or written; names the file.
#[derive(Debug, thiserror::Error)]
#[error("plugin log {}: {source}; check that the data folder is readable and writable", path.display())]
pub struct PluginLogFileError {
    /// The file (or the logs folder).
    pub path: PathBuf,
    /// What the operating system said.
    pub source: std::io::Error,
}

/// The sink keeps the file's own error as the source.
impl From<PluginLogFileError> for PluginLogError {
    fn from(e: PluginLogFileError) -> Self {
        PluginLogError::Unavailable(Box::new(e))
    }
}

/// Where the plugin log files are.
#[derive(Debug, Clone)]
pub struct PluginLogFiles {
    dir: PathBuf,
    max_bytes: u64,
}

impl PluginLogFiles {
    /// Logs kept in `<data_dir>/logs`.
    pub fn new(data_dir: &Path) -> PluginLogFiles {
        PluginLogFiles {
            dir: data_dir.join(LOGS_FOLDER),
            max_bytes: MAX_LOG_FILE_BYTES,
        }
    }

    /// Changes the rotation size.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> PluginLogFiles {
        self.max_bytes = max_bytes;
        self
    }

    /// The log file of a plugin.
    pub fn path(&self, plugin: &str) -> PathBuf {
        self.dir.join(format!("{plugin}.log"))
    }

    /// The file a plugin's log is rotated to.
    pub fn rotated_path(&self, plugin: &str) -> PathBuf {
        self.path(plugin).with_extension("log.1")
    }

    /// Appends entries to a plugin's log, rotating it when it is too big.
    pub fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogFileError> {
        if entries.is_empty() {
            return Ok(());
        }
        let path = self.path(plugin);
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PluginLogFileError { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(failed(&self.dir))?;
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= self.max_bytes) {
            std::fs::rename(&path, self.rotated_path(plugin)).map_err(failed(&path))?;
        }
        let mut text = String::new();
        for entry in entries {
            text.push_str(&log_line(at, entry));
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(failed(&path))?;
        file.write_all(text.as_bytes()).map_err(failed(&path))
    }

    /// The last `lines` lines of a plugin's log (older file first); none
    /// when it has no log.
    pub fn tail(&self, plugin: &str, lines: usize) -> Result<Vec<String>, PluginLogFileError> {
        let mut all = Vec::new();
        for path in [self.rotated_path(plugin), self.path(plugin)] {
            match std::fs::read_to_string(&path) {
                Ok(text) => all.extend(text.lines().map(str::to_string)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(PluginLogFileError { path, source }),
            }
        }
        let skip = all.len().saturating_sub(lines);
        Ok(all.split_off(skip))
    }
}

impl PluginLogSink for PluginLogFiles {
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
        Ok(PluginLogFiles::append(self, plugin, at, entries)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_contract::plugin_log::{LogLevel, LogLine};

    #[test]
    fn entries_are_one_line_each_and_files_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogFiles::new(dir.path()).with_max_bytes(200);
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
        assert_eq!(logs.tail("p", 2).unwrap().len(), 2);
        assert!(logs.tail("nobody", 10).unwrap().is_empty());
    }

    #[test]
    fn a_log_that_cannot_be_written_or_read_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogFiles::new(dir.path());
        // A folder where the log file should be: opening it to append fails.
        std::fs::create_dir_all(dir.path().join("logs/p.log")).unwrap();
        let sink: &dyn PluginLogSink = &logs;
        let err = sink.append("p", 0, &[LogEntry::Audit("x".into())]).unwrap_err();
        let PluginLogError::Unavailable(source) = &err;
        assert!(source.downcast_ref::<PluginLogFileError>().is_some(), "{err:?}");
        assert!(err.to_string().contains("p.log"), "{err}");
        let err = logs.tail("p", 10).unwrap_err();
        assert!(err.to_string().contains("p.log"), "{err}");
    }

    #[test]
    fn a_logs_folder_that_cannot_be_made_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOGS_FOLDER), b"a file, not a folder").unwrap();
        let err = PluginLogFiles::new(dir.path())
            .append("p", 0, &[LogEntry::Audit("x".into())])
            .unwrap_err();
        assert_eq!(err.path, dir.path().join(LOGS_FOLDER));
    }
}
