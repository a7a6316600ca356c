//! What plugboard keeps on disk, behind the traits of the embedder's
//! contract: per-plugin key/value state (a [`plugboard_contract::StateStore`],
//! [`SqliteStateStore`], one SQLite file in the host's data directory), the
//! user's grants ([`GrantsFile`], [`GrantsFileStore`]: `plugboard.toml` in the
//! config directory), the quarantine and strikes ([`QuarantineFile`]:
//! `quarantine.json` and `strikes.json` in the data directory) and each
//! plugin's log ([`PluginLogFiles`]: rotated files in `logs/`). It builds
//! against the embedder's contract only, never against the host or its
//! WebAssembly runtime.
//!
//! The grants and quarantine files are replaced through a temporary file
//! and a rename, so a crash leaves the old file or the new one; a file that
//! cannot be parsed is an error naming it, never silently taken as empty.
//!
//! Every `set`, `delete` and batch is one committed transaction: once a call
//! returns `Ok`, the write survives the process being killed and, because the
//! database runs with `synchronous=FULL`, the machine losing power.
//!
//! What this crate must never do: treat a plugin id or a key as anything but
//! data. In the state database both are bound as SQL parameters into
//! ordinary columns; a key such as `../../etc/passwd` or one holding a NUL
//! byte is stored like any other, and no file other than the database (and
//! SQLite's own `-wal`/`-shm` beside it) is created for it. The one file named
//! after a plugin is its log, `logs/<id>.log`, and a plugin id is a manifest's
//! (a lowercase letter, then letters, digits, `.` and `-`). Checking keys (length, control characters) and enforcing
//! quotas is the host's job; this store stays safe whatever it is given. It
//! also never panics on a bad file: a corrupt, foreign or newer database is an
//! error naming the file, as is a grants or quarantine file that does not
//! parse.

mod error;
mod grants_file;
mod locked_file;
mod plugin_log_files;
mod quarantine_file;
mod schema;
mod store;

pub use error::StateError;
pub use grants_file::{GRANTS_FILE, GrantsError, GrantsFile, GrantsFileStore};
pub use plugin_log_files::{LOGS_FOLDER, MAX_LOG_FILE_BYTES, PluginLogFileError, PluginLogFiles};
pub use quarantine_file::{QUARANTINE_FILE, QuarantineError, QuarantineFile, STRIKES_FILE};
pub use schema::SCHEMA_VERSION;
pub use store::{SqliteStateStore, StateChange};
