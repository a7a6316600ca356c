//! The plugboard host: loads plugins (WebAssembly components), decides which
//! world version each one speaks, and delivers the application's task events
//! to them through that version.
//!
//! The host implements only the newest world natively (`abi::v2`); older
//! worlds are served by one adapter each (`abi::v1`). Every plugin is
//! compiled once, or taken from the host's compiled-code cache
//! (`code_cache`), and linked once (`InstancePre`); its instance is created
//! on its first event, reused between events, and dropped when idle or when
//! too many are live (`DispatcherOptions`), so durable plugin data lives in
//! the `StateStore`, never in an instance. A manifest without a component
//! is a data-only plugin: loaded and listed, never run.
//!
//! Plugin code runs on the host's own worker threads (a tokio runtime the
//! [`Runtime`] owns), as wasmtime async calls: every call is bounded by the
//! engine's epoch deadline while the plugin computes and by a timer while
//! it waits inside WASI, so a plugin that sleeps, polls or waits on the
//! network is stopped at its deadline like one that loops. The
//! [`Dispatcher`] is a shared handle that any thread or async task
//! dispatches through; each plugin handles its events one at a time and in
//! order, different plugins run in parallel, and everything one
//! application event causes is bounded by a [`DispatchBudget`].
//!
//! This crate must never let a plugin reach anything its policy does not
//! allow, never compile a component while handling an event, never run
//! compiled code from anywhere but its own cache folder, and never panic on
//! anything a plugin or a plugin file does.

pub mod abi;
pub mod abuse;
pub mod bindings;
pub mod code_cache;
pub mod context;
pub mod dispatcher;
mod executor;
pub mod grants;
pub mod imports;
pub mod limits;
pub mod loader;
pub mod network;
pub mod output;
pub mod plugin_log;
pub mod policy;
pub mod quarantine;
pub mod runtime;
pub mod services;
pub mod state_store;
pub mod task_store;
pub mod transaction;
mod wasi;
pub mod world;

/// The task and event types of the newest world, as the embedder uses them.
pub mod types {
    pub use crate::bindings::v2::plugboard::task_events::types::{
        Annotation, Attribute, CustomEvent, Error as PluginError, Event, Filter, NewTask, Priority, Status,
        SyncSummary, Task, TaskChange, TaskPatch,
    };
}

pub use abuse::{Abuse, AbuseKind, StrikePolicy, Strikes};
pub use code_cache::{CacheDefect, CacheKey, CodeCache, CodeCacheError, Compiled};
pub use context::{CallEffects, EmittedEvent, LogLevel, LogLine, TaskChange};
pub use dispatcher::{
    AddError, CommandError, CommandOutput, Delivery, DispatchBudget, DispatchReport, Dispatcher, DispatcherOptions,
    Outcome, QuarantineListener, ReloadError, ReloadOutcome,
};
pub use grants::{Grant, Grants, GrantsFile};
pub use limits::CallLimits;
pub use loader::{ComponentInfo, LoadError, LoadOptions, LoadedPlugin, PluginCode, PluginSource};
pub use plugin_log::PluginLogs;
pub use policy::Policy;
pub use quarantine::{Quarantine, QuarantineRecord};
pub use runtime::{PoolingLimits, Runtime, RuntimeError, RuntimeOptions};
pub use services::HostServices;
pub use state_store::{InMemoryStateStore, StateStore};
pub use task_store::{InMemoryTaskStore, TaskStore, TaskStoreError};
pub use world::{DetectedWorld, WorldError, WorldVersion};
