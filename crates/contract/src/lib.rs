//! The embedder's contract: what an application that embeds plugboard
//! implements and handles, in plain Rust types. The task and event types
//! ([`task`], [`event`]), the batch of changes a plugin call commits
//! ([`change`]), the error a plugin reports ([`plugin_error`]), the
//! [`TaskStore`] and [`StateStore`] traits with their errors and in-memory
//! implementations, and the [`HostServices`] bundle the host is given.
//!
//! It also holds what the host keeps about each plugin, behind traits with
//! in-memory implementations, so that the host runs on any storage: the
//! user's grants ([`grants`], [`GrantStore`]), strikes and quarantine
//! ([`conduct`], [`QuarantineStore`]) and each plugin's log
//! ([`plugin_log`], [`PluginLogSink`]). `plugboard-state` implements them
//! over files in the host's folders.
//!
//! These types mirror the `types` interface of the newest
//! `plugboard:task-events` world field for field, and serialize with serde to
//! the same JSON as the host's generated bindings do, but they are this
//! crate's own: the host converts between them and the bindings at the ABI
//! edge, so a new WIT minor version changes the host's conversions, not the
//! embedder's Rust API.
//!
//! This crate must never depend on the WebAssembly runtime (wasmtime, WASI,
//! generated bindings) or on the host crate, nor read or write files: an
//! application's storage code, and `plugboard-state`, build against it
//! without compiling a runtime.

pub mod change;
pub mod conduct;
pub mod event;
pub mod grants;
pub mod plugin_error;
pub mod plugin_log;
pub mod services;
pub mod state_store;
pub mod task;
pub mod task_store;

pub use change::TaskChange;
pub use conduct::{AbuseKind, InMemoryQuarantine, QuarantineRecord, QuarantineStore, QuarantineStoreError, Strikes};
pub use event::{CustomEvent, Event, SyncSummary, TaskModification};
pub use grants::{BadGrant, Grant, GrantStore, GrantStoreError, GrantTable, Grants, InMemoryGrants};
pub use plugin_error::PluginError;
pub use plugin_log::{InMemoryPluginLogs, LogEntry, LogLevel, LogLine, PluginLogError, PluginLogSink};
pub use services::{Clock, HostServices, system_clock};
pub use state_store::{InMemoryStateStore, StateChange, StateStore, StateStoreError};
pub use task::{Annotation, Attribute, Filter, NewTask, Priority, Status, Task, TaskPatch, Timestamp};
pub use task_store::{InMemoryTaskStore, TaskStore, TaskStoreError};
