//! Each plugin's log on disk: what it logged, what it was refused, when it
//! was stopped and why. `plugboard logs ID` reads it; the audit trail of
//! denied calls lives here too.
//!
//! One file per plugin, `logs/<id>.log` in the host's data folder, one line
//! per entry ([`plugboard_contract::plugin_log::log_line`]). A file past its
//! size cap is renamed to `<id>.log.1` (replacing the previous one) and a
//! new one started, so a chatty plugin cannot fill the disk.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use plugboard_contract::plugin_log::{LogEntry, PluginLogError, PluginLogSink, log_line};
use plugboard_contract::task::Timestamp;

/// The largest a plugin's log file grows before it is rotated.
pub const MAX_LOG_FILE_BYTES: u64 = 1 << 20;

/// The folder inside the host's data folder that holds the log files.
pub const LOGS_FOLDER: &str = "logs";

/// How many plugins' log files are kept open between writes; past it the
/// least recently written is closed.
pub const MAX_OPEN_LOG_FILES: usize = 64;

/// How many bytes of one plugin's lines wait in memory before they are
/// written out even without a flush.
pub const MAX_BUFFERED_LOG_BYTES: usize = 64 * 1024;

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
///
/// Appends collect each plugin's lines in memory (at most
/// [`MAX_BUFFERED_LOG_BYTES`] per plugin) and [`PluginLogFiles::flush`]
/// writes them, one write per plugin, to files it keeps open (at most
/// [`MAX_OPEN_LOG_FILES`]): the host's log writer flushes after each batch,
/// so a busy plugin costs a write per batch, not an open and a close per
/// event. Before writing, the file is looked up again: one removed
/// (`plugboard remove --purge`) or replaced (rotated by another process) is
/// opened anew, so no line goes to a file nobody can read. Clones share the
/// buffers and the open files; what is buffered is written when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct PluginLogFiles {
    dir: PathBuf,
    max_bytes: u64,
    open: Arc<Mutex<OpenLogs>>,
}

/// The files kept open and the lines not written yet.
#[derive(Debug, Default)]
struct OpenLogs {
    logs: HashMap<String, OpenLog>,
    /// Counts writes, to find the least recently written file.
    clock: u64,
}

#[derive(Debug)]
struct OpenLog {
    /// Where it is written.
    path: PathBuf,
    /// The file, its inode and its length, once opened.
    file: Option<(std::fs::File, u64, u64)>,
    pending: Vec<u8>,
    last_write: u64,
}

impl PluginLogFiles {
    /// Logs kept in `<data_dir>/logs`.
    pub fn new(data_dir: &Path) -> PluginLogFiles {
        PluginLogFiles {
            dir: data_dir.join(LOGS_FOLDER),
            max_bytes: MAX_LOG_FILE_BYTES,
            open: Arc::default(),
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

    fn lock(&self) -> MutexGuard<'_, OpenLogs> {
        // A write either lands whole or leaves its lines pending: a
        // poisoned lock holds nothing half-done.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends entries to a plugin's log, rotating it when it is too big.
    /// The lines are written by the next [`PluginLogFiles::flush`] (or at
    /// once, when the plugin's pending lines pass
    /// [`MAX_BUFFERED_LOG_BYTES`]).
    pub fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogFileError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut open = self.lock();
        let log = open.logs.entry(plugin.to_string()).or_insert_with(|| OpenLog {
            path: self.path(plugin),
            file: None,
            pending: Vec::new(),
            last_write: 0,
        });
        for entry in entries {
            log.pending.extend_from_slice(log_line(at, entry).as_bytes());
            log.pending.push(b'\n');
        }
        if log.pending.len() >= MAX_BUFFERED_LOG_BYTES {
            let written = self.write_out(&mut open, plugin);
            close_extra(&mut open);
            written?;
        }
        Ok(())
    }

    /// Writes every plugin's pending lines to its file; the first failure
    /// is returned after the other plugins' lines are written.
    pub fn flush(&self) -> Result<(), PluginLogFileError> {
        let mut open = self.lock();
        let plugins: Vec<String> = open
            .logs
            .iter()
            .filter(|(_, log)| !log.pending.is_empty())
            .map(|(plugin, _)| plugin.clone())
            .collect();
        let mut first_error = None;
        for plugin in plugins {
            if let Err(e) = self.write_out(&mut open, &plugin) {
                first_error.get_or_insert(e);
            }
        }
        close_extra(&mut open);
        first_error.map_or(Ok(()), Err)
    }

    /// Writes one plugin's pending lines: reopens its file when it is gone
    /// or another, rotates it when it is full. Lines that cannot be
    /// written are dropped with the error (the caller reports it), so a
    /// broken disk does not grow the buffers.
    fn write_out(&self, open: &mut OpenLogs, plugin: &str) -> Result<(), PluginLogFileError> {
        open.clock += 1;
        let now = open.clock;
        let path = self.path(plugin);
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PluginLogFileError { path, source }
        };
        let Some(log) = open.logs.get_mut(plugin).filter(|l| !l.pending.is_empty()) else {
            return Ok(());
        };
        let pending = std::mem::take(&mut log.pending);
        log.last_write = now;
        // The file on disk now: another than the one held, or none, means
        // it was removed or rotated behind this handle.
        let on_disk = std::fs::metadata(&path).ok().map(|m| (m.ino(), m.len()));
        match (&log.file, on_disk) {
            (Some((_, ino, _)), Some((disk_ino, _))) if *ino == disk_ino => {}
            _ => log.file = None,
        }
        if let Some((_, _, len)) = &log.file
            && *len >= self.max_bytes
        {
            log.file = None;
            std::fs::rename(&path, self.rotated_path(plugin)).map_err(failed(&path))?;
        } else if log.file.is_none() && on_disk.is_some_and(|(_, len)| len >= self.max_bytes) {
            std::fs::rename(&path, self.rotated_path(plugin)).map_err(failed(&path))?;
        }
        if log.file.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(failed(&self.dir))?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(failed(&path))?;
            let meta = file.metadata().map_err(failed(&path))?;
            log.file = Some((file, meta.ino(), meta.len()));
        }
        if let Some((file, _, len)) = &mut log.file {
            file.write_all(&pending).map_err(failed(&path))?;
            *len += pending.len() as u64;
        }
        Ok(())
    }

    /// The last `lines` lines of a plugin's log (older file first); none
    /// when it has no log.
    pub fn tail(&self, plugin: &str, lines: usize) -> Result<Vec<String>, PluginLogFileError> {
        // What this process appended for the plugin is on disk before it
        // is read.
        {
            let mut open = self.lock();
            let written = self.write_out(&mut open, plugin);
            close_extra(&mut open);
            written?;
        }
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

/// Past [`MAX_OPEN_LOG_FILES`], closes the least recently written files
/// (their lines are written already) and forgets plugins with neither a
/// file nor pending lines: once per flush, not once per plugin written.
fn close_extra(open: &mut OpenLogs) {
    let open_files = open.logs.values().filter(|l| l.file.is_some()).count();
    if open_files > MAX_OPEN_LOG_FILES {
        let mut held: Vec<(u64, String)> = open
            .logs
            .iter()
            .filter(|(_, l)| l.file.is_some() && l.pending.is_empty())
            .map(|(plugin, l)| (l.last_write, plugin.clone()))
            .collect();
        held.sort_unstable();
        for (_, plugin) in held.into_iter().take(open_files - MAX_OPEN_LOG_FILES) {
            if let Some(log) = open.logs.get_mut(&plugin) {
                log.file = None;
            }
        }
    }
    open.logs.retain(|_, l| l.file.is_some() || !l.pending.is_empty());
}

impl PluginLogSink for PluginLogFiles {
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
        Ok(PluginLogFiles::append(self, plugin, at, entries)?)
    }

    fn flush(&self) -> Result<(), PluginLogError> {
        Ok(PluginLogFiles::flush(self)?)
    }
}

impl Drop for OpenLogs {
    fn drop(&mut self) {
        // The last clone is gone: what is pending is written, to the file
        // held or to the plugin's file opened now. Nobody is left to hear
        // of a failure.
        for log in self.logs.values_mut().filter(|l| !l.pending.is_empty()) {
            if log.file.is_none() {
                if let Some(dir) = log.path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                log.file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log.path)
                    .ok()
                    .map(|file| (file, 0, 0));
            }
            if let Some((file, _, _)) = &mut log.file {
                let _ = file.write_all(&log.pending);
            }
        }
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
            // As the host's log writer does after each batch.
            logs.flush().unwrap();
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
        // Appends are buffered; the flush that writes them fails.
        sink.append("p", 0, &[LogEntry::Audit("x".into())]).unwrap();
        let err = sink.flush().unwrap_err();
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
        let logs = PluginLogFiles::new(dir.path());
        logs.append("p", 0, &[LogEntry::Audit("x".into())]).unwrap();
        let err = logs.flush().unwrap_err();
        assert_eq!(err.path, dir.path().join(LOGS_FOLDER));
    }

    fn audit(text: &str) -> [LogEntry<'static>; 1] {
        [LogEntry::Audit(text.to_string())]
    }

    #[test]
    fn a_file_removed_or_rotated_behind_the_open_handle_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogFiles::new(dir.path());
        logs.append("p", 0, &audit("one")).unwrap();
        logs.flush().unwrap();
        // `plugboard remove --purge` deletes the file while the host holds it.
        std::fs::remove_file(logs.path("p")).unwrap();
        logs.append("p", 0, &audit("two")).unwrap();
        logs.flush().unwrap();
        // Another process rotates it.
        std::fs::rename(logs.path("p"), logs.rotated_path("p")).unwrap();
        logs.append("p", 0, &audit("three")).unwrap();
        logs.flush().unwrap();
        let current = std::fs::read_to_string(logs.path("p")).unwrap();
        let rotated = std::fs::read_to_string(logs.rotated_path("p")).unwrap();
        assert!(
            rotated.ends_with("audit two\n") && !rotated.contains("one"),
            "{rotated}"
        );
        assert!(
            current.ends_with("audit three\n") && !current.contains("two"),
            "{current}"
        );
    }

    #[test]
    fn lines_wait_for_a_flush_a_full_buffer_or_the_last_clone() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogFiles::new(dir.path());
        logs.append("p", 0, &audit("waiting")).unwrap();
        assert!(!logs.path("p").exists(), "nothing written before a flush");
        assert_eq!(logs.tail("p", 10).unwrap().len(), 1, "tail reads what was appended");
        // A buffer past its bound is written without a flush.
        let long = "x".repeat(1000);
        for _ in 0..(MAX_BUFFERED_LOG_BYTES / 1000 + 1) {
            logs.append("q", 0, &audit(&long)).unwrap();
        }
        let written = std::fs::metadata(logs.path("q")).unwrap().len();
        assert!(written >= MAX_BUFFERED_LOG_BYTES as u64, "{written}");
        // Dropping the last clone writes what is pending.
        let clone = logs.clone();
        clone.append("r", 0, &audit("at the end")).unwrap();
        drop(logs);
        assert!(!clone.path("r").exists());
        let path = clone.path("r");
        drop(clone);
        assert!(std::fs::read_to_string(path).unwrap().ends_with("audit at the end\n"));
    }

    #[test]
    fn no_more_files_than_the_cap_stay_open() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PluginLogFiles::new(dir.path());
        for n in 0..(MAX_OPEN_LOG_FILES + 10) {
            logs.append(&format!("p{n}"), 0, &audit("hello")).unwrap();
            logs.flush().unwrap();
        }
        let open = logs.lock().logs.values().filter(|l| l.file.is_some()).count();
        assert_eq!(open, MAX_OPEN_LOG_FILES);
        for n in 0..(MAX_OPEN_LOG_FILES + 10) {
            assert_eq!(logs.tail(&format!("p{n}"), 10).unwrap().len(), 1, "p{n}");
        }
    }
}
