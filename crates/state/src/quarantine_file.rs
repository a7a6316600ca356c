//! The quarantine and the strikes below the threshold, kept in the host's
//! data folder (`quarantine.json`, `strikes.json`) so that a quarantined
//! plugin stays unloaded across restarts until the user re-enables it, and a
//! restart does not wipe a plugin's record.
//!
//! Several processes change these files at once (a running host strikes a
//! plugin while `plugboard enable` releases another), so every change takes
//! the lock `.quarantine.lock` in the data folder, reads both files again,
//! applies only itself to what it read, and writes the result through a
//! temporary file with a unique name; a change made by another process in
//! the meantime is kept, never overwritten by a stale copy.
//!
//! A file that cannot be read fails closed. A record or a strikes entry that
//! does not parse (damaged, or written by a newer plugboard) but names its
//! plugin keeps that plugin quarantined, with a reason naming the file; a
//! file that cannot be read at all is an error, so no plugin loads until the
//! user fixes it. Nothing that cannot be read ever lets a plugin in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plugboard_contract::conduct::{AbuseKind, QuarantineRecord, QuarantineStore, QuarantineStoreError, Strikes};
use serde::Serialize;

use crate::locked_file::{self, FolderLock};

/// The quarantine file's name inside the host's data folder.
pub const QUARANTINE_FILE: &str = "quarantine.json";

/// The file of strikes below the threshold, beside the quarantine file.
pub const STRIKES_FILE: &str = "strikes.json";

/// The name of the lock both files share (`.quarantine.lock`).
const LOCK_NAME: &str = "quarantine";

/// Why the quarantine could not be read or written; names the file.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// Reading or writing failed.
    #[error("quarantine file {}: {source}; check that the data folder is readable and writable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file cannot be read at all, so no plugin may load: which ones it
    /// keeps out cannot be told.
    #[error(
        "quarantine file {} cannot be read ({message}), so no plugin is loaded until it is fixed; restore it from a \
         backup or repair it by hand (deleting it releases every plugin it kept in quarantine)",
        path.display()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The store keeps the file's own error as the source.
impl From<QuarantineError> for QuarantineStoreError {
    fn from(e: QuarantineError) -> Self {
        QuarantineStoreError::Unavailable(Box::new(e))
    }
}

type StrikeCounts = BTreeMap<String, BTreeMap<AbuseKind, u32>>;

/// What both files hold.
#[derive(Debug, Clone, Default)]
struct Contents {
    records: BTreeMap<String, QuarantineRecord>,
    strikes: StrikeCounts,
}

/// Which file a change touches.
#[derive(Debug, Clone, Copy, Default)]
struct Touched {
    records: bool,
    strikes: bool,
}

/// The quarantined plugins and everyone's strikes, read when opened and
/// read again, under the lock, by every change.
#[derive(Debug, Clone)]
pub struct QuarantineFile {
    dir: PathBuf,
    quarantine_path: PathBuf,
    strikes_path: PathBuf,
    contents: Contents,
}

impl QuarantineFile {
    /// Opens the quarantine and strikes files in the data folder; a missing
    /// file is an empty quarantine, or no strikes.
    pub fn open(data_dir: &Path) -> Result<QuarantineFile, QuarantineError> {
        let quarantine_path = data_dir.join(QUARANTINE_FILE);
        let strikes_path = data_dir.join(STRIKES_FILE);
        let contents = read_contents(&quarantine_path, &strikes_path)?;
        Ok(QuarantineFile {
            dir: data_dir.to_owned(),
            quarantine_path,
            strikes_path,
            contents,
        })
    }

    /// Where the quarantine records are kept.
    pub fn path(&self) -> &Path {
        &self.quarantine_path
    }

    /// Applies `change` to the files as they are now, under the lock, and
    /// keeps what they hold afterwards. When the files cannot be read or
    /// written, `change` is applied to what was held in memory.
    fn update<T>(&mut self, change: impl Fn(&mut Contents) -> (T, Touched)) -> Result<T, QuarantineError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| QuarantineError::Io { path, source }
        };
        let saved = (|| {
            let _lock =
                FolderLock::acquire(&self.dir, LOCK_NAME).map_err(io(&locked_file::lock_path(&self.dir, LOCK_NAME)))?;
            let mut contents = read_contents(&self.quarantine_path, &self.strikes_path)?;
            let (answer, touched) = change(&mut contents);
            if touched.records {
                write_json(&self.quarantine_path, &contents.records.values().collect::<Vec<_>>())?;
            }
            if touched.strikes {
                write_json(&self.strikes_path, &contents.strikes)?;
            }
            Ok((answer, contents))
        })();
        match saved {
            Ok((answer, contents)) => {
                self.contents = contents;
                Ok(answer)
            }
            Err(error) => {
                // Kept in memory all the same: the plugin stays quarantined for this run.
                change(&mut self.contents);
                Err(error)
            }
        }
    }
}

impl QuarantineStore for QuarantineFile {
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        self.contents.records.get(plugin)
    }

    fn list(&self) -> Vec<QuarantineRecord> {
        self.contents.records.values().cloned().collect()
    }

    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError> {
        Ok(self.update(|contents| {
            contents.records.insert(record.plugin.clone(), record.clone());
            let touched = Touched {
                records: true,
                strikes: false,
            };
            ((), touched)
        })?)
    }

    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        Ok(self.update(|contents| {
            let record = contents.records.remove(plugin);
            let touched = Touched {
                records: record.is_some(),
                strikes: contents.strikes.remove(plugin).is_some(),
            };
            (record, touched)
        })?)
    }

    fn strikes(&self, plugin: &str) -> Strikes {
        let mut strikes = Strikes::default();
        for (kind, count) in self.contents.strikes.get(plugin).into_iter().flatten() {
            strikes.add(*kind, *count);
        }
        strikes
    }

    fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineStoreError> {
        let counts: BTreeMap<AbuseKind, u32> = strikes.counted().collect();
        Ok(self.update(|contents| {
            if counts.is_empty() {
                contents.strikes.remove(plugin);
            } else {
                contents.strikes.insert(plugin.to_string(), counts.clone());
            }
            let touched = Touched {
                records: false,
                strikes: true,
            };
            ((), touched)
        })?)
    }
}

/// Reads both files, failing closed: see the module's documentation.
fn read_contents(quarantine_path: &Path, strikes_path: &Path) -> Result<Contents, QuarantineError> {
    let mut contents = Contents::default();
    if let Some(value) = read_value(quarantine_path)? {
        let serde_json::Value::Array(items) = value else {
            return Err(invalid(quarantine_path, "it is not a JSON array of records".into()));
        };
        for (index, item) in items.into_iter().enumerate() {
            let plugin = named_plugin(&item);
            match serde_json::from_value::<QuarantineRecord>(item) {
                Ok(record) => {
                    contents.records.insert(record.plugin.clone(), record);
                }
                Err(error) => {
                    let Some(plugin) = plugin else {
                        let message = format!("record {} names no plugin: {error}", index + 1);
                        return Err(invalid(quarantine_path, message));
                    };
                    let record = unreadable(&plugin, quarantine_path, &error.to_string());
                    contents.records.insert(plugin, record);
                }
            }
        }
    }
    if let Some(value) = read_value(strikes_path)? {
        let serde_json::Value::Object(entries) = value else {
            return Err(invalid(strikes_path, "it is not a JSON object of plugins".into()));
        };
        for (plugin, counts) in entries {
            match serde_json::from_value::<BTreeMap<AbuseKind, u32>>(counts) {
                Ok(counts) => {
                    contents.strikes.insert(plugin, counts);
                }
                Err(error) => {
                    // Its strikes cannot be counted, so it is kept out until released.
                    let record = unreadable(&plugin, strikes_path, &error.to_string());
                    contents.records.entry(plugin).or_insert(record);
                }
            }
        }
    }
    Ok(contents)
}

/// The plugin a record that does not parse names, when it names one.
fn named_plugin(item: &serde_json::Value) -> Option<String> {
    item.get("plugin")
        .and_then(serde_json::Value::as_str)
        .filter(|plugin| !plugin.is_empty())
        .map(str::to_string)
}

/// The record that keeps out a plugin whose entry in `path` cannot be read.
fn unreadable(plugin: &str, path: &Path, error: &str) -> QuarantineRecord {
    QuarantineRecord {
        plugin: plugin.to_string(),
        version: "unknown".to_string(),
        kind: AbuseKind::Crash,
        reason: format!(
            "its entry in {} cannot be read ({error}), so it is kept in quarantine; `plugboard enable {plugin}` \
             releases it",
            path.display()
        ),
        strikes: 0,
        at: 0,
    }
}

fn invalid(path: &Path, message: String) -> QuarantineError {
    QuarantineError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// The file's JSON, or `None` when there is no file.
fn read_value(path: &Path) -> Result<Option<serde_json::Value>, QuarantineError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| invalid(path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(QuarantineError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a file whole: see [`locked_file::replace`].
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), QuarantineError> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| invalid(path, e.to_string()))?;
    locked_file::replace(path, &json).map_err(|source| QuarantineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(plugin: &str) -> QuarantineRecord {
        QuarantineRecord {
            plugin: plugin.into(),
            version: "1.0.0".into(),
            kind: AbuseKind::Deadline,
            reason: "the call ran past its 100 ms deadline and was stopped".into(),
            strikes: 1,
            at: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_quarantine_survives_reopening_and_release_persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = QuarantineFile::open(dir.path()).unwrap();
        q.add(record("looper")).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".quarantine.lock", QUARANTINE_FILE],
            "the temporary file was renamed"
        );
        let mut reopened = QuarantineFile::open(dir.path()).unwrap();
        assert_eq!(reopened.get("looper"), Some(&record("looper")));
        assert_eq!(reopened.list(), [record("looper")]);
        assert_eq!(reopened.release("looper").unwrap(), Some(record("looper")));
        assert!(QuarantineFile::open(dir.path()).unwrap().get("looper").is_none());
    }

    #[test]
    fn the_files_keep_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = QuarantineFile::open(dir.path()).unwrap();
        q.add(record("looper")).unwrap();
        let mut strikes = Strikes::default();
        strikes.add(AbuseKind::HostCalls, 2);
        q.record_strikes("nosy", &strikes).unwrap();
        let records: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(QUARANTINE_FILE)).unwrap()).unwrap();
        assert_eq!(records[0]["plugin"], "looper");
        assert_eq!(records[0]["kind"], "deadline");
        let strikes: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(STRIKES_FILE)).unwrap()).unwrap();
        assert_eq!(strikes, serde_json::json!({ "nosy": { "host-calls": 2 } }));
    }

    #[test]
    fn strikes_survive_reopening_and_are_forgiven_on_release() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = QuarantineFile::open(dir.path()).unwrap();
        let mut strikes = Strikes::default();
        strikes.add(AbuseKind::Denied, 2);
        q.record_strikes("nosy", &strikes).unwrap();
        let mut reopened = QuarantineFile::open(dir.path()).unwrap();
        assert_eq!(reopened.strikes("nosy").count(AbuseKind::Denied), 2);
        assert_eq!(reopened.strikes("other").total(), 0);
        reopened.release("nosy").unwrap();
        assert_eq!(QuarantineFile::open(dir.path()).unwrap().strikes("nosy").total(), 0);
    }

    #[test]
    fn a_file_that_cannot_be_read_at_all_is_an_error_that_loads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(QUARANTINE_FILE), b"{ not json").unwrap();
        let err = QuarantineFile::open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("quarantine.json cannot be read")
                && err.to_string().contains("no plugin is loaded"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join(QUARANTINE_FILE)).unwrap();
        std::fs::write(dir.path().join(STRIKES_FILE), b"[1, 2]").unwrap();
        let err = QuarantineFile::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("strikes.json cannot be read"), "{err}");
    }

    #[test]
    fn an_entry_that_cannot_be_read_keeps_its_plugin_out_and_the_others_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let mut newer = serde_json::to_value(record("newer")).unwrap();
        newer["kind"] = serde_json::json!("a-kind-from-a-newer-plugboard");
        let records = serde_json::json!([serde_json::to_value(record("looper")).unwrap(), newer]);
        std::fs::write(dir.path().join(QUARANTINE_FILE), records.to_string()).unwrap();
        let strikes = serde_json::json!({ "nosy": { "denied": 2 }, "odd": { "denied": "many" } });
        std::fs::write(dir.path().join(STRIKES_FILE), strikes.to_string()).unwrap();

        let mut q = QuarantineFile::open(dir.path()).unwrap();
        assert_eq!(q.get("looper"), Some(&record("looper")));
        for (plugin, file) in [("newer", QUARANTINE_FILE), ("odd", STRIKES_FILE)] {
            let kept = q.get(plugin).unwrap_or_else(|| panic!("{plugin} is let in"));
            assert!(
                kept.reason.contains(file) && kept.reason.contains("cannot be read"),
                "{kept:?}"
            );
        }
        assert_eq!(q.strikes("nosy").count(AbuseKind::Denied), 2);
        assert!(q.get("nosy").is_none());

        // A change elsewhere rewrites the file readable, still keeping them out.
        q.add(record("other")).unwrap();
        let reopened = QuarantineFile::open(dir.path()).unwrap();
        assert!(reopened.get("newer").is_some() && reopened.get("odd").is_some());
        assert!(reopened.get("looper").is_some() && reopened.get("other").is_some());
    }

    #[test]
    fn a_release_by_another_process_is_not_undone_by_a_host_that_read_the_file_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = QuarantineFile::open(dir.path()).unwrap();
        host.add(record("looper")).unwrap();
        // `plugboard enable looper` while the host runs.
        let mut enable = QuarantineFile::open(dir.path()).unwrap();
        assert!(enable.release("looper").unwrap().is_some());
        // The host goes on and quarantines another plugin, and strikes a third.
        host.add(record("hog")).unwrap();
        let mut strikes = Strikes::default();
        strikes.add(AbuseKind::Denied, 1);
        host.record_strikes("nosy", &strikes).unwrap();

        let now = QuarantineFile::open(dir.path()).unwrap();
        assert!(now.get("looper").is_none(), "the release holds");
        assert!(now.get("hog").is_some());
        assert_eq!(now.strikes("nosy").count(AbuseKind::Denied), 1);
        assert!(
            host.get("looper").is_none(),
            "the host sees the release with its next change"
        );
    }

    #[test]
    fn writers_in_parallel_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let writers: Vec<_> = (0..6)
            .map(|writer| {
                let dir = dir.path().to_owned();
                std::thread::spawn(move || {
                    let mut q = QuarantineFile::open(&dir).unwrap();
                    for n in 0..15 {
                        q.add(record(&format!("p{writer}-{n}"))).unwrap();
                        let mut strikes = Strikes::default();
                        strikes.add(AbuseKind::Crash, n + 1);
                        q.record_strikes(&format!("s{writer}"), &strikes).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let q = QuarantineFile::open(dir.path()).unwrap();
        assert_eq!(q.list().len(), 6 * 15, "every record written is kept");
        for writer in 0..6 {
            assert_eq!(q.strikes(&format!("s{writer}")).count(AbuseKind::Crash), 15);
        }
    }

    #[test]
    fn a_file_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = QuarantineFile::open(dir.path()).unwrap();
        // A folder where the file should be: the rename over it fails.
        std::fs::create_dir(dir.path().join(QUARANTINE_FILE)).unwrap();
        let err = q.add(record("looper")).unwrap_err();
        let QuarantineStoreError::Unavailable(source) = &err;
        assert!(
            matches!(
                source.downcast_ref::<QuarantineError>(),
                Some(QuarantineError::Io { .. })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("quarantine.json"), "{err}");
        assert_eq!(q.get("looper"), Some(&record("looper")), "the change is kept in memory");
        let err = QuarantineFile::open(dir.path()).unwrap_err();
        assert!(matches!(err, QuarantineError::Io { .. }), "{err:?}");
    }
}
