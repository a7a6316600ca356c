//! The embedder's contract: what an application that embeds plugboard
//! implements and handles, in plain Rust types. The task and event types
//! ([`task`], [`event`]), the batch of changes a plugin call commits
//! ([`change`]), the error a plugin reports ([`plugin_error`]), the
//! [`TaskStore`] and [`StateStore`] traits with their errors and in-memory
//! implementations, and the [`HostServices`] bundle the host is given.
//!
//! These types mirror the `types` interface of the newest
//! `plugboard:task-events` world field for field, and serialize with serde to
//! the same JSON as the host's generated bindings do, but they are this
//! crate's own: the host converts between them and the bindings at the ABI
//! edge, so a new WIT minor version changes the host's conversions, not the
//! embedder's Rust API.
//!
//! This crate must never depend on the WebAssembly runtime (wasmtime, WASI,
//! generated bindings) or on the host crate: an application's storage code,
//! and `plugboard-state`, build against it without compiling a runtime.

pub mod change;
pub mod event;
pub mod plugin_error;
pub mod services;
pub mod state_store;
pub mod task;
pub mod task_store;

pub use change::TaskChange;
pub use event::{CustomEvent, Event, SyncSummary, TaskModification};
pub use plugin_error::PluginError;
pub use services::{Clock, HostServices, system_clock};
pub use state_store::{InMemoryStateStore, StateStore, StateStoreError};
pub use task::{Annotation, Attribute, Filter, NewTask, Priority, Status, Task, TaskPatch, Timestamp};
pub use task_store::{InMemoryTaskStore, TaskStore, TaskStoreError};
