//! Plugins the user disabled: kept installed but not loaded, recorded in
//! `disabled.json` in the data folder (a JSON array of plugin ids).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The disabled list's name inside the data folder.
pub const DISABLED_FILE: &str = "disabled.json";

/// The disabled list could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DisabledError {
    /// The file is there but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a JSON array of plugin ids.
    #[error("{} is not a JSON array of plugin ids ({source}); fix it, or move it away to enable every plugin", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// The new list could not be written; the old one is unchanged.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// The disabled plugins.
#[derive(Debug, Clone)]
pub struct DisabledPlugins {
    path: PathBuf,
    ids: BTreeSet<String>,
}

impl DisabledPlugins {
    /// Reads `disabled.json` in the data folder; a missing file disables nothing.
    pub fn open(data_dir: &Path) -> Result<DisabledPlugins, DisabledError> {
        let path = data_dir.join(DISABLED_FILE);
        let ids = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(ids) => ids,
                Err(source) => return Err(DisabledError::Invalid { path, source }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(source) => return Err(DisabledError::Read { path, source }),
        };
        Ok(DisabledPlugins { path, ids })
    }

    /// Where the list is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `id` is disabled.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Disables `id`; false when it already was.
    pub fn insert(&mut self, id: &str) -> bool {
        self.ids.insert(id.to_string())
    }

    /// Enables `id` again; false when it was not disabled.
    pub fn remove(&mut self, id: &str) -> bool {
        self.ids.remove(id)
    }

    /// Writes the file through a temporary file beside it and a rename, so
    /// a crash leaves the old list or the new one.
    pub fn save(&self) -> Result<(), DisabledError> {
        let write = |source| DisabledError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
        let mut json = serde_json::to_vec_pretty(&self.ids).map_err(|e| write(e.into()))?;
        json.push(b'\n');
        temp.write_all(&json)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(write)?;
        temp.persist(&self.path).map_err(|e| write(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_survives_a_round_trip_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut disabled = DisabledPlugins::open(dir.path()).unwrap();
        assert!(!disabled.contains("a"));
        assert!(disabled.insert("b") && disabled.insert("a") && !disabled.insert("a"));
        disabled.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(DISABLED_FILE)).unwrap();
        assert_eq!(text, "[\n  \"a\",\n  \"b\"\n]\n");
        let mut again = DisabledPlugins::open(dir.path()).unwrap();
        assert!(again.contains("a") && again.remove("a") && !again.remove("a"));

        std::fs::write(dir.path().join(DISABLED_FILE), "{\"a\": 1}").unwrap();
        let error = DisabledPlugins::open(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("disabled.json is not a JSON array of plugin ids"),
            "{error}"
        );
    }
}
