//! Plugins the host stopped for misbehaving: kept in the host's data folder
//! so that a quarantined plugin stays unloaded across restarts until the user
//! re-enables it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::abuse::{AbuseKind, Strikes};

/// The quarantine file's name inside the host's data folder.
pub const QUARANTINE_FILE: &str = "quarantine.json";

/// The file of strikes below the threshold, beside the quarantine file, so
/// that restarting the host does not wipe a plugin's record.
pub const STRIKES_FILE: &str = "strikes.json";

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
    strikes: BTreeMap<String, BTreeMap<AbuseKind, u32>>,
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
        use std::io::Write as _;
        let mut file = std::fs::File::create(&temp).map_err(io)?;
        file.write_all(&json).and_then(|_| file.sync_all()).map_err(io)?;
    }
    std::fs::rename(&temp, path).map_err(io)
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
        let list: Vec<QuarantineRecord> = read_json(&path)?;
        let strikes = read_json(&data_dir.join(STRIKES_FILE))?;
        Ok(Quarantine {
            path: Some(path),
            records: list.into_iter().map(|r| (r.plugin.clone(), r)).collect(),
            strikes,
        })
    }

    /// The strikes a plugin has collected so far (persisted across runs).
    pub fn strikes(&self, plugin: &str) -> Strikes {
        let mut strikes = Strikes::default();
        for (kind, count) in self.strikes.get(plugin).into_iter().flatten() {
            strikes.add(*kind, *count);
        }
        strikes
    }

    /// Records a plugin's strikes and persists them.
    pub fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineError> {
        let counts: BTreeMap<AbuseKind, u32> = AbuseKind::ALL
            .into_iter()
            .map(|kind| (kind, strikes.count(kind)))
            .filter(|(_, count)| *count > 0)
            .collect();
        if counts.is_empty() {
            self.strikes.remove(plugin);
        } else {
            self.strikes.insert(plugin.to_string(), counts);
        }
        self.save_strikes()
    }

    fn save_strikes(&self) -> Result<(), QuarantineError> {
        match &self.path {
            Some(path) => write_json(&path.with_file_name(STRIKES_FILE), &self.strikes),
            None => Ok(()),
        }
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
    /// Its strikes are forgiven too.
    pub fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineError> {
        let record = self.records.remove(plugin);
        if record.is_some() {
            self.save()?;
        }
        if self.strikes.remove(plugin).is_some() {
            self.save_strikes()?;
        }
        Ok(record)
    }

    fn save(&self) -> Result<(), QuarantineError> {
        match &self.path {
            Some(path) => write_json(path, &self.records.values().collect::<Vec<_>>()),
            None => Ok(()),
        }
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
    fn strikes_survive_reopening_and_are_forgiven_on_release() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Quarantine::open(dir.path()).unwrap();
        let mut strikes = Strikes::default();
        strikes.add(AbuseKind::Denied, 2);
        q.record_strikes("nosy", &strikes).unwrap();
        let mut reopened = Quarantine::open(dir.path()).unwrap();
        assert_eq!(reopened.strikes("nosy").count(AbuseKind::Denied), 2);
        assert_eq!(reopened.strikes("other").total(), 0);
        reopened.release("nosy").unwrap();
        assert_eq!(Quarantine::open(dir.path()).unwrap().strikes("nosy").total(), 0);
    }

    #[test]
    fn a_corrupt_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(QUARANTINE_FILE), b"{ not json").unwrap();
        let err = Quarantine::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("quarantine.json is not valid"), "{err}");
    }
}
