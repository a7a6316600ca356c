//! plugboard's default task store: the embedder's [`TaskStore`] over a
//! TaskChampion replica (the storage and sync library of Taskwarrior 3) on
//! SQLite, with sync through a local server folder.
//!
//! [`TaskChampionStore::open`] opens (or creates) the replica in a folder.
//! Plugins see its tasks as @2 tasks ([`mapping`] says which property holds
//! which field) and their batches are committed as one TaskChampion operation
//! set, so the replica never holds half of one. The application changes
//! tasks through [`TaskChampionStore::create`], [`update`], [`undo`] and
//! [`sync`]: each user action starts an undo point, and the plugins' batches
//! that follow it belong to it, so one undo takes back an action together
//! with what the plugins did about it.
//!
//! TaskChampion is async; [`TaskStore`] is not, and is called from the
//! host's tokio workers. The store therefore owns one thread with its own
//! current-thread runtime and the replica, and every call hands that thread
//! a job and waits for its answer on a channel: no runtime is ever entered
//! from inside another, and calls from many threads are served one at a time.
//!
//! This crate must never depend on the WebAssembly runtime: an application
//! links it beside the host, not inside it.
//!
//! [`update`]: TaskChampionStore::update
//! [`undo`]: TaskChampionStore::undo
//! [`sync`]: TaskChampionStore::sync

pub mod mapping;
mod store;
mod worker;

pub use store::{MAX_BATCH_CHANGES, MAX_QUERY_TASKS, OpenError, SyncError, TaskChampionStore, Undone};

pub use plugboard_contract::TaskStore;
