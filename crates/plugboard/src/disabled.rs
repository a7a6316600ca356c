//! Plugins the user disabled: kept installed but not loaded, recorded in
//! `disabled.json` in the data folder (a JSON array of plugin ids).
//!
//! `plugboard disable` and `plugboard enable` may run at once, so saving
//! takes the lock `.disabled.lock` beside the file, reads it again and
//! applies only this handle's changes to what it read.

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
    #[error("{} is not a JSON array of plugin ids ({source}); no plugin is loaded until it is fixed (moving it away enables every plugin)", path.display())]
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
    /// The changes made through this handle, in order: disabled (true) or
    /// enabled again (false).
    changes: Vec<(String, bool)>,
}

impl DisabledPlugins {
    /// Reads `disabled.json` in the data folder; a missing file disables nothing.
    pub fn open(data_dir: &Path) -> Result<DisabledPlugins, DisabledError> {
        let path = data_dir.join(DISABLED_FILE);
        let ids = read_ids(&path)?;
        Ok(DisabledPlugins {
            path,
            ids,
            changes: Vec::new(),
        })
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
        self.changes.push((id.to_string(), true));
        self.ids.insert(id.to_string())
    }

    /// Enables `id` again; false when it was not disabled.
    pub fn remove(&mut self, id: &str) -> bool {
        self.changes.push((id.to_string(), false));
        self.ids.remove(id)
    }

    /// Writes the file: under the lock, this handle's changes are applied
    /// to the list as it is now (a change another process saved meanwhile
    /// is kept), written to a uniquely named temporary file beside it,
    /// renamed over it, and the folder flushed, so a crash leaves the old
    /// list or the new one.
    pub fn save(&mut self) -> Result<(), DisabledError> {
        let write = |source| DisabledError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".disabled.lock"))
            .map_err(write)?;
        lock.lock().map_err(write)?;
        let mut ids = read_ids(&self.path)?;
        for (id, disabled) in &self.changes {
            if *disabled {
                ids.insert(id.clone());
            } else {
                ids.remove(id);
            }
        }
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write)?;
        let mut json = serde_json::to_vec_pretty(&ids).map_err(|e| write(e.into()))?;
        json.push(b'\n');
        temp.write_all(&json)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(write)?;
        temp.persist(&self.path).map_err(|e| write(e.error))?;
        if let Ok(folder) = std::fs::File::open(dir) {
            // Best effort: the rename has happened already.
            let _ = folder.sync_all();
        }
        self.ids = ids;
        self.changes.clear();
        Ok(())
    }
}

/// The ids in a disabled list; a missing file disables nothing.
fn read_ids(path: &Path) -> Result<BTreeSet<String>, DisabledError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| DisabledError::Invalid {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(source) => Err(DisabledError::Read {
            path: path.to_path_buf(),
            source,
        }),
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

    #[test]
    fn an_enable_saved_by_another_process_is_not_undone() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = DisabledPlugins::open(dir.path()).unwrap();
        first.insert("a");
        first.save().unwrap();
        // `plugboard disable b` opened the list before `plugboard enable a` saved.
        let mut disable = DisabledPlugins::open(dir.path()).unwrap();
        let mut enable = DisabledPlugins::open(dir.path()).unwrap();
        enable.remove("a");
        enable.save().unwrap();
        disable.insert("b");
        disable.save().unwrap();
        let now = DisabledPlugins::open(dir.path()).unwrap();
        assert!(!now.contains("a"), "the enable holds");
        assert!(now.contains("b"));
        assert!(!disable.contains("a"), "a saved handle holds what the file holds");
    }
}
