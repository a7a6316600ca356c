//! The user's grants file, `plugboard.toml` in the host's config folder: a
//! [`GrantTable`] in TOML, read whole and written back atomically.
//!
//! Two commands may change it at once (`plugboard grant` while `plugboard
//! install` asks its question), so [`GrantsFile::save`] takes the lock
//! `.plugboard.toml.lock` beside it, reads the file again and applies only
//! the changes made through this handle to what it read: a change another
//! process saved in the meantime is kept.

use std::path::{Path, PathBuf};

use plugboard_contract::grants::{Binding, Grant, GrantStore, GrantStoreError, GrantTable, Grants};

use crate::locked_file::{self, FolderLock};

/// The grants file's name inside the host's config folder.
pub const GRANTS_FILE: &str = "plugboard.toml";

/// The comment the file starts with, for a user who opens it.
const HEADER: &str = "# Permissions granted to plugboard plugins. Edit with `plugboard grant` / `plugboard revoke`.\n";

/// Why the grants file could not be read or written; names the file.
#[derive(Debug, thiserror::Error)]
pub enum GrantsError {
    /// Reading or writing failed.
    #[error("grants file {}: {source}; check that the config folder is readable and writable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error(
        "grants file {} is not valid ({message}); fix it by hand, or move it away to grant nothing",
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
impl From<GrantsError> for GrantStoreError {
    fn from(e: GrantsError) -> Self {
        GrantStoreError::Unavailable(Box::new(e))
    }
}

/// The name of the lock guarding the grants file (`.plugboard.toml.lock`).
const LOCK_NAME: &str = GRANTS_FILE;

/// One change made through a [`GrantsFile`], replayed on the file as it is
/// when saved.
#[derive(Debug, Clone)]
enum Change {
    Grant(String, Vec<Grant>),
    Revoke(String, Vec<Grant>),
    SetDefaults(Grants),
    Forget(String),
    Bind(String, Binding),
}

impl Change {
    fn apply(&self, table: &mut GrantTable) {
        match self {
            Change::Grant(plugin, grants) => table.grant(plugin, grants),
            Change::Revoke(plugin, grants) => table.revoke(plugin, grants),
            Change::SetDefaults(grants) => table.set_defaults(grants.clone()),
            Change::Forget(plugin) => {
                table.forget(plugin);
            }
            Change::Bind(plugin, binding) => table.bind(plugin, binding),
        }
    }
}

/// The host's grants file as read: changed by `grant` and `revoke`, written
/// back atomically by `save`, which applies those changes to the file as it
/// is then.
#[derive(Debug, Clone)]
pub struct GrantsFile {
    path: PathBuf,
    table: GrantTable,
    changes: Vec<Change>,
}

impl GrantsFile {
    /// Reads `plugboard.toml` in the config folder; a missing file grants
    /// nothing.
    pub fn open(config_dir: &Path) -> Result<GrantsFile, GrantsError> {
        let path = config_dir.join(GRANTS_FILE);
        let table = read_table(&path)?;
        Ok(GrantsFile {
            path,
            table,
            changes: Vec::new(),
        })
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every plugin's grants, as read (and changed since).
    pub fn table(&self) -> &GrantTable {
        &self.table
    }

    /// Replaces the grants every plugin has unless its own table says
    /// otherwise.
    pub fn set_defaults(&mut self, grants: Grants) {
        self.change(Change::SetDefaults(grants));
    }

    /// Deletes one plugin's own table (it then has the defaults); false
    /// when it had none.
    pub fn forget(&mut self, plugin: &str) -> bool {
        let had = self.table.plugins().any(|p| p == plugin);
        self.change(Change::Forget(plugin.to_string()));
        had
    }

    /// Binds one plugin's table to the copy it is granted to (its signer,
    /// and the plugin bundling it, if any).
    pub fn bind(&mut self, plugin: &str, binding: &Binding) {
        self.change(Change::Bind(plugin.to_string(), binding.clone()));
    }

    fn change(&mut self, change: Change) {
        change.apply(&mut self.table);
        self.changes.push(change);
    }

    /// The plugins that have a table of their own.
    pub fn plugins(&self) -> impl Iterator<Item = &str> {
        self.table.plugins()
    }

    /// What one plugin is granted: the defaults, overridden by its own table.
    pub fn grants_for(&self, plugin: &str) -> Grants {
        self.table.grants_for(plugin)
    }

    /// Adds grants to one plugin's table.
    pub fn grant(&mut self, plugin: &str, grants: &[Grant]) {
        self.change(Change::Grant(plugin.to_string(), grants.to_vec()));
    }

    /// Takes grants back from one plugin's table.
    pub fn revoke(&mut self, plugin: &str, grants: &[Grant]) {
        self.change(Change::Revoke(plugin.to_string(), grants.to_vec()));
    }

    /// Writes the file: under the lock, the changes made through this handle
    /// are applied to the file as it is now, and the result is written to a
    /// temporary file beside it and renamed over it, so a crash leaves the
    /// old file or the new one, and a change another process saved since
    /// this one was opened is kept. Afterwards [`GrantsFile::table`] is what
    /// the file holds.
    pub fn save(&mut self) -> Result<(), GrantsError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let _lock = FolderLock::acquire(dir, LOCK_NAME).map_err(|source| GrantsError::Io {
            path: locked_file::lock_path(dir, LOCK_NAME),
            source,
        })?;
        let mut table = read_table(&self.path)?;
        for change in &self.changes {
            change.apply(&mut table);
        }
        write_table(&self.path, &table)?;
        self.table = table;
        self.changes.clear();
        Ok(())
    }
}

/// The grants file as a [`GrantStore`]: every `load` reads the file again,
/// so a host that reloads a plugin sees what the user granted since.
#[derive(Debug, Clone)]
pub struct GrantsFileStore {
    path: PathBuf,
}

impl GrantsFileStore {
    /// The store of `plugboard.toml` in the config folder; nothing is read
    /// until [`GrantStore::load`].
    pub fn new(config_dir: &Path) -> GrantsFileStore {
        GrantsFileStore {
            path: config_dir.join(GRANTS_FILE),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl GrantStore for GrantsFileStore {
    fn load(&self) -> Result<GrantTable, GrantStoreError> {
        Ok(read_table(&self.path)?)
    }

    fn save(&self, table: &GrantTable) -> Result<(), GrantStoreError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let _lock = FolderLock::acquire(dir, LOCK_NAME).map_err(|source| GrantsError::Io {
            path: locked_file::lock_path(dir, LOCK_NAME),
            source,
        })?;
        Ok(write_table(&self.path, table)?)
    }
}

/// Reads a grants file; a missing one grants nothing.
fn read_table(path: &Path) -> Result<GrantTable, GrantsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| GrantsError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GrantTable::default()),
        Err(source) => Err(GrantsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a grants file through a uniquely named temporary file beside it
/// and a rename; the caller holds the lock.
fn write_table(path: &Path, table: &GrantTable) -> Result<(), GrantsError> {
    let text = toml::to_string_pretty(table).map_err(|e| GrantsError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    locked_file::replace(path, format!("{HEADER}{text}").as_bytes()).map_err(|source| GrantsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_plugin_tables_override_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = GrantsFile::open(dir.path()).unwrap();
        assert_eq!(file.grants_for("x"), Grants::none());
        file.set_defaults(Grants {
            tasks: Some(vec!["read".into()]),
            ..Grants::none()
        });
        file.grant(
            "auto-tag",
            &[
                "tasks.write".parse().unwrap(),
                "subscribe:task-created".parse().unwrap(),
            ],
        );
        file.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(GRANTS_FILE)).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".plugboard.toml.lock", GRANTS_FILE],
            "the temporary file was renamed"
        );

        let file = GrantsFile::open(dir.path()).unwrap();
        let auto = file.grants_for("auto-tag");
        assert_eq!(
            auto.tasks,
            Some(vec!["write".into()]),
            "the plugin's own list replaces the default"
        );
        assert_eq!(auto.subscribe, Some(vec!["task-created".into()]));
        assert_eq!(file.grants_for("other").tasks, Some(vec!["read".into()]));
    }

    #[test]
    fn revoking_a_default_grant_for_one_plugin_keeps_it_for_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = GrantsFile::open(dir.path()).unwrap();
        file.set_defaults(Grants {
            tasks: Some(vec!["read".into(), "write".into()]),
            ..Grants::none()
        });
        file.revoke("noisy", &["tasks.write".parse().unwrap()]);
        file.save().unwrap();
        let file = GrantsFile::open(dir.path()).unwrap();
        assert_eq!(file.grants_for("noisy").tasks, Some(vec!["read".into()]));
        assert_eq!(
            file.grants_for("quiet").tasks,
            Some(vec!["read".into(), "write".into()])
        );
    }

    #[test]
    fn a_malformed_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GRANTS_FILE), "[plugins.x.grants]\ntasks = \"all\"\n").unwrap();
        let err = GrantsFile::open(dir.path()).unwrap_err();
        assert!(matches!(err, GrantsError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains("plugboard.toml is not valid"), "{err}");
        let err = GrantsFileStore::new(dir.path()).load().unwrap_err();
        assert!(err.to_string().contains("plugboard.toml is not valid"), "{err}");
    }

    #[test]
    fn a_file_that_cannot_be_read_or_written_names_it() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: reading and renaming over it fail.
        std::fs::create_dir(dir.path().join(GRANTS_FILE)).unwrap();
        let err = GrantsFile::open(dir.path()).unwrap_err();
        assert!(matches!(err, GrantsError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("plugboard.toml"), "{err}");
        let err = GrantsFileStore::new(dir.path())
            .save(&GrantTable::default())
            .unwrap_err();
        let GrantStoreError::Unavailable(source) = &err;
        assert!(source.downcast_ref::<GrantsError>().is_some(), "{err:?}");
        assert!(err.to_string().contains("check that the config folder"), "{err}");
    }

    #[test]
    fn the_store_reads_the_file_again_on_every_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = GrantsFileStore::new(dir.path());
        assert_eq!(
            store.load().unwrap(),
            GrantTable::default(),
            "a missing file grants nothing"
        );
        let mut file = GrantsFile::open(dir.path()).unwrap();
        file.grant("auto-tag", &["tasks.read".parse().unwrap()]);
        file.save().unwrap();
        assert_eq!(store.load().unwrap(), *file.table());
        let mut table = store.load().unwrap();
        table.revoke("auto-tag", &["tasks.read".parse().unwrap()]);
        store.save(&table).unwrap();
        assert_eq!(
            GrantsFile::open(dir.path()).unwrap().grants_for("auto-tag").tasks,
            Some(vec![])
        );
    }

    #[test]
    fn two_handles_saving_in_turn_keep_each_other_s_changes() {
        let dir = tempfile::tempdir().unwrap();
        // `plugboard install` opens the file and asks its question...
        let mut install = GrantsFile::open(dir.path()).unwrap();
        // ...while `plugboard grant` and `plugboard revoke` save theirs.
        let mut grant = GrantsFile::open(dir.path()).unwrap();
        grant.grant("other", &["tasks.read".parse().unwrap()]);
        grant.save().unwrap();
        install.grant("auto-tag", &["tasks.write".parse().unwrap()]);
        install.save().unwrap();
        let file = GrantsFile::open(dir.path()).unwrap();
        assert_eq!(file.grants_for("other").tasks, Some(vec!["read".into()]));
        assert_eq!(file.grants_for("auto-tag").tasks, Some(vec!["write".into()]));
        assert_eq!(
            install.table(),
            file.table(),
            "a saved handle holds what the file holds"
        );

        let writers: Vec<_> = (0..6)
            .map(|n| {
                let dir = dir.path().to_owned();
                std::thread::spawn(move || {
                    for round in 0..10 {
                        let mut file = GrantsFile::open(&dir).unwrap();
                        file.grant(&format!("p{n}-{round}"), &["tasks.read".parse().unwrap()]);
                        file.save().unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(GrantsFile::open(dir.path()).unwrap().plugins().count(), 2 + 6 * 10);
    }
}
