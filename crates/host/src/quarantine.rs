//! Plugins the host stopped for misbehaving: kept in the host's data folder
//! so that a quarantined plugin stays unloaded across restarts until the user
//! re-enables it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::abuse::AbuseKind;

/// The quarantine file's name inside the host's data folder.
pub const QUARANTINE_FILE: &str = "quarantine.json";

/// Why and when a plugin was quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct QuarantineRecord {
    /// The plugin id.
    pub plugin: String,
    /// The plugin version that misbehaved.
    pub version: String,
    /// The kind of abuse that crossed its threshold.
    pub kind: AbuseKind,
    /// What happened, for the user.
    pub reason: String,
    /// Strikes of that kind when it was quarantined.
    pub strikes: u32,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// Why the quarantine could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// Reading or writing failed.
    #[error("quarantine file {}: {source}", path.display())]
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

/// The quarantined plugins, persisted when the quarantine has a file.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    path: Option<PathBuf>,
    records: BTreeMap<String, QuarantineRecord>,
}

impl Quarantine {
    /// A quarantine kept in memory only (tests, one-off runs).
    pub fn in_memory() -> Quarantine {
        Quarantine::default()
    }

    /// Opens the quarantine file in the data folder; a missing file is an
    /// empty quarantine.
    pub fn open(data_dir: &Path) -> Result<Quarantine, QuarantineError> {
        let path = data_dir.join(QUARANTINE_FILE);
        let records = match std::fs::read(&path) {
            Ok(bytes) => {
                let list: Vec<QuarantineRecord> =
                    serde_json::from_slice(&bytes).map_err(|e| QuarantineError::Invalid {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                list.into_iter().map(|r| (r.plugin.clone(), r)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(QuarantineError::Io { path, source }),
        };
        Ok(Quarantine {
            path: Some(path),
            records,
        })
    }

    /// The record of a quarantined plugin.
    pub fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        self.records.get(plugin)
    }

    /// Every record, by plugin id.
    pub fn list(&self) -> impl Iterator<Item = &QuarantineRecord> {
        self.records.values()
    }

    /// Quarantines a plugin and persists the change.
    pub fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineError> {
        self.records.insert(record.plugin.clone(), record);
        self.save()
    }

    /// Lets a plugin load again (the user re-enabled it); returns its record.
    pub fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineError> {
        let record = self.records.remove(plugin);
        if record.is_some() {
            self.save()?;
        }
        Ok(record)
    }

    /// Writes the file through a temporary file and a rename, so a crash
    /// leaves the old quarantine or the new one.
    fn save(&self) -> Result<(), QuarantineError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |source| QuarantineError::Io {
            path: path.clone(),
            source,
        };
        let list: Vec<&QuarantineRecord> = self.records.values().collect();
        let json = serde_json::to_vec_pretty(&list).map_err(|e| QuarantineError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let temp = path.with_extension("json.tmp");
        {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&temp).map_err(io)?;
            file.write_all(&json).and_then(|_| file.sync_all()).map_err(io)?;
        }
        std::fs::rename(&temp, path).map_err(io)
    }
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
        let mut q = Quarantine::open(dir.path()).unwrap();
        q.add(record("looper")).unwrap();
        let reopened = Quarantine::open(dir.path()).unwrap();
        assert_eq!(reopened.get("looper"), Some(&record("looper")));
        let mut reopened = reopened;
        reopened.release("looper").unwrap();
        assert!(Quarantine::open(dir.path()).unwrap().get("looper").is_none());
    }

    #[test]
    fn a_corrupt_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(QUARANTINE_FILE), b"{ not json").unwrap();
        let err = Quarantine::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("quarantine.json is not valid"), "{err}");
    }
}
