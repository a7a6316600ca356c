//! The quarantine and the strikes below the threshold, kept in the host's
//! data folder (`quarantine.json`, `strikes.json`) so that a quarantined
//! plugin stays unloaded across restarts until the user re-enables it, and a
//! restart does not wipe a plugin's record.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use plugboard_contract::conduct::{AbuseKind, QuarantineRecord, QuarantineStore, QuarantineStoreError, Strikes};
use serde::Serialize;

/// The quarantine file's name inside the host's data folder.
pub const QUARANTINE_FILE: &str = "quarantine.json";

/// The file of strikes below the threshold, beside the quarantine file.
pub const STRIKES_FILE: &str = "strikes.json";

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
    /// The file is not valid.
    #[error("quarantine file {} is not valid ({message}); move it away to start with an empty quarantine", path.display())]
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

/// The quarantined plugins and everyone's strikes, read when opened and
/// written back on every change.
#[derive(Debug, Clone)]
pub struct QuarantineFile {
    quarantine_path: PathBuf,
    strikes_path: PathBuf,
    records: BTreeMap<String, QuarantineRecord>,
    strikes: BTreeMap<String, BTreeMap<AbuseKind, u32>>,
}

impl QuarantineFile {
    /// Opens the quarantine and strikes files in the data folder; a missing
    /// file is an empty quarantine, or no strikes.
    pub fn open(data_dir: &Path) -> Result<QuarantineFile, QuarantineError> {
        let quarantine_path = data_dir.join(QUARANTINE_FILE);
        let strikes_path = data_dir.join(STRIKES_FILE);
        let list: Vec<QuarantineRecord> = read_json(&quarantine_path)?;
        let strikes = read_json(&strikes_path)?;
        Ok(QuarantineFile {
            quarantine_path,
            strikes_path,
            records: list.into_iter().map(|r| (r.plugin.clone(), r)).collect(),
            strikes,
        })
    }

    /// Where the quarantine records are kept.
    pub fn path(&self) -> &Path {
        &self.quarantine_path
    }

    fn save_records(&self) -> Result<(), QuarantineError> {
        write_json(&self.quarantine_path, &self.records.values().collect::<Vec<_>>())
    }

    fn save_strikes(&self) -> Result<(), QuarantineError> {
        write_json(&self.strikes_path, &self.strikes)
    }
}

impl QuarantineStore for QuarantineFile {
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        self.records.get(plugin)
    }

    fn list(&self) -> Vec<QuarantineRecord> {
        self.records.values().cloned().collect()
    }

    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError> {
        self.records.insert(record.plugin.clone(), record);
        Ok(self.save_records()?)
    }

    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        let record = self.records.remove(plugin);
        if record.is_some() {
            self.save_records()?;
        }
        if self.strikes.remove(plugin).is_some() {
            self.save_strikes()?;
        }
        Ok(record)
    }

    fn strikes(&self, plugin: &str) -> Strikes {
        let mut strikes = Strikes::default();
        for (kind, count) in self.strikes.get(plugin).into_iter().flatten() {
            strikes.add(*kind, *count);
        }
        strikes
    }

    fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineStoreError> {
        let counts: BTreeMap<AbuseKind, u32> = strikes.counted().collect();
        if counts.is_empty() {
            self.strikes.remove(plugin);
        } else {
            self.strikes.insert(plugin.to_string(), counts);
        }
        Ok(self.save_strikes()?)
    }
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, QuarantineError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| QuarantineError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(QuarantineError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a file through a temporary file and a rename, so a crash leaves
/// the old content or the new one, never half of one.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), QuarantineError> {
    let io = |source| QuarantineError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(value).map_err(|e| QuarantineError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temp = path.with_extension("json.tmp");
    {
        let mut file = std::fs::File::create(&temp).map_err(io)?;
        file.write_all(&json).and_then(|_| file.sync_all()).map_err(io)?;
    }
    std::fs::rename(&temp, path).map_err(io)
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
        assert!(
            !dir.path().join("quarantine.json.tmp").exists(),
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
    fn a_corrupt_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(QUARANTINE_FILE), b"{ not json").unwrap();
        let err = QuarantineFile::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("quarantine.json is not valid"), "{err}");
        std::fs::remove_file(dir.path().join(QUARANTINE_FILE)).unwrap();
        std::fs::write(dir.path().join(STRIKES_FILE), b"[1, 2]").unwrap();
        let err = QuarantineFile::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("strikes.json is not valid"), "{err}");
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
