//! Durable per-plugin key/value state: the [`plugboard_contract::StateStore`]
//! the host uses outside tests, kept in one SQLite file in the host's data
//! directory. It builds against the embedder's contract only, never against
//! the host or its WebAssembly runtime.
//!
//! Every `set`, `delete` and batch is one committed transaction: once a call
//! returns `Ok`, the write survives the process being killed and, because the
//! database runs with `synchronous=FULL`, the machine losing power.
//!
//! What this crate must never do: treat a plugin id or a key as anything but
//! data. Both are bound as SQL parameters into ordinary columns; a key such as
//! `../../etc/passwd` or one holding a NUL byte is stored like any other, and
//! no file other than the database (and SQLite's own `-wal`/`-shm` beside it)
//! is ever created. Checking keys (length, control characters) and enforcing
//! quotas is the host's job; this store stays safe whatever it is given. It
//! also never panics on a bad file: a corrupt, foreign or newer database is an
//! error naming the file.

mod error;
mod schema;
mod store;

pub use error::StateError;
pub use schema::SCHEMA_VERSION;
pub use store::{SqliteStateStore, StateChange};
