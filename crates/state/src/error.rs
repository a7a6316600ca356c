//! Why the state database failed, naming the file and, for a plugin's call,
//! the plugin.

use std::io;
use std::path::{Path, PathBuf};

use plugboard_contract::state_store::StateStoreError;

/// A failure of the state database; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The folder for the database, or the file itself, could not be created.
    #[error("cannot create {} for plugin state: {source}; check that the data directory is writable", path.display())]
    Create {
        /// The folder or file that could not be created.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// SQLite could not open or set up the file (permissions, a directory in
    /// its place, a full disk, the file locked for too long).
    #[error("cannot open the plugin state database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: Box<rusqlite::Error>,
    },

    /// The file is not an SQLite database, or its pages are damaged.
    #[error(
        "{} is not a readable plugin state database ({source}); move it aside to start with empty plugin state, or restore it from a backup",
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: Box<rusqlite::Error>,
    },

    /// The file is a healthy SQLite database that belongs to something else.
    #[error(
        "{} is an SQLite database but not plugboard plugin state ({reason}); point plugboard at another data directory or move the file aside",
        path.display()
    )]
    NotPlugboard {
        /// The database file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },

    /// The file was written by a newer plugboard whose layout this one does
    /// not know.
    #[error(
        "{} holds plugin state in schema version {found}, but this plugboard understands only up to version {supported}; upgrade plugboard to use it",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version recorded in the file.
        found: i64,
        /// The newest version this build reads and writes.
        supported: i64,
    },

    /// A read or write for one plugin failed.
    #[error("{}: cannot {action} for plugin {plugin:?}: {source}", path.display())]
    Query {
        /// The database file.
        path: PathBuf,
        /// The plugin whose state was being read or written.
        plugin: String,
        /// What was being done, e.g. "write a key".
        action: &'static str,
        /// What SQLite said.
        source: Box<rusqlite::Error>,
    },

    /// An operation on the whole database, not one plugin, failed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What was being done, e.g. "list the plugins with state".
        action: &'static str,
        /// What SQLite said.
        source: Box<rusqlite::Error>,
    },
}

/// The host only distinguishes "storage failed"; the message keeps the file,
/// the plugin and SQLite's reason for the user's log.
impl From<StateError> for StateStoreError {
    fn from(e: StateError) -> Self {
        StateStoreError::Unavailable(e.to_string())
    }
}

impl StateError {
    /// A failure while opening or checking the file: [`StateError::Corrupt`]
    /// when SQLite says the file itself is unreadable, [`StateError::Open`]
    /// for passing conditions such as a lock or a full disk.
    pub(crate) fn opening(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        let source = Box::new(source);
        match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                StateError::Corrupt { path, source }
            }
            _ => StateError::Open { path, source },
        }
    }
}
