//! Why a host could not be opened. A single plugin that does not load never
//! stops the host (it is in the [`crate::OpenReport`]); these are the
//! problems that leave nothing sensible to run.

use std::path::PathBuf;

use plugboard_contract::QuarantineStoreError;
use plugboard_contract::grants::GrantStoreError;
use plugboard_host::{AppInterfaceError, RuntimeError};
use plugboard_registry::WatchError;
use plugboard_state::{QuarantineError, StateError};

use crate::disabled::DisabledError;

/// Why [`crate::Host::open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The development folder is missing or is a file.
    #[error("cannot read the plugins folder {}: it is not a folder", dir.display())]
    NotAFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// The development folder holds no plugin folder.
    #[error("{} holds no plugin: expected subfolders each with a plugin.toml and its component", dir.display())]
    NoPlugin {
        /// The folder.
        dir: PathBuf,
    },
    /// A setting override names a plugin the folders do not hold.
    #[error("setting {plugin}.{key}: no plugin `{plugin}` in {folders}; check the id, or leave the setting out")]
    SettingForUnknownPlugin {
        /// The plugin id given.
        plugin: String,
        /// The setting's key.
        key: String,
        /// The folders searched, for the message.
        folders: String,
    },
    /// The grants cannot be read (the message names where and what to do).
    #[error(transparent)]
    Grants(#[from] GrantStoreError),
    /// The quarantine or the strikes file cannot be read (the message names
    /// the file and what to do).
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    /// The disabled list cannot be read.
    #[error(transparent)]
    Disabled(#[from] DisabledError),
    /// The data folder cannot be created.
    #[error("cannot create the data folder {}: {source}; check that its parent is writable", dir.display())]
    DataDir {
        /// The folder.
        dir: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The state database cannot be opened.
    #[error(transparent)]
    State(#[from] StateError),
    /// The engine cannot be built.
    #[error("cannot start the WebAssembly engine: {0}")]
    Runtime(#[from] RuntimeError),
    /// One of the application's own interfaces cannot be offered (the
    /// message names its package and what to change).
    #[error("cannot offer the application's interface: {0}")]
    AppInterface(#[from] AppInterfaceError),
    /// The plugin folders cannot be watched.
    #[error("cannot watch the plugin folders for hot reload: {0}")]
    Watch(#[from] WatchError),
    /// The thread that reloads and unloads plugins cannot be started.
    #[error("cannot start the host's background thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Why [`crate::Host::enable`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EnableError {
    /// The disabled list cannot be read or written.
    #[error(transparent)]
    Disabled(#[from] DisabledError),
    /// The release holds while this host runs, but the quarantine store
    /// could not keep it.
    #[error("the plugin was released for this run, but {0}")]
    Quarantine(#[from] QuarantineStoreError),
}
