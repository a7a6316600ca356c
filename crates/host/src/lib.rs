//! The plugboard host: loads plugins (WebAssembly components), decides which
//! world version each one speaks, and delivers the application's task events
//! to them through that version.
//!
//! The host implements only the newest world natively (`abi::v2`); older
//! worlds are served by one adapter each (`abi::v1`). Every plugin is
//! compiled once, or taken from the host's compiled-code cache
//! (`code_cache`), and linked once (`InstancePre`); before it is compiled
//! it is checked against the compile bounds (`compile_bounds`), and it is
//! compiled on a thread of its own, abandoned past the compile timeout. Its
//! instance is created on its first event, reused between events, and
//! dropped when idle or when too many are live (`DispatcherOptions`), so durable plugin data lives in
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
//! The embedder's side (the task and event types, `TaskStore`,
//! `StateStore`, `HostServices`) is `plugboard-contract`, re-exported here;
//! the host converts between those types and each world's generated
//! bindings at the ABI edge (`abi::convert`, `abi::v1`) and works on the
//! contract's types everywhere else.
//!
//! Each plugin's counters and call times are recorded through the
//! `metrics` facade ([`crate::metrics`]), with handles registered once per plugin;
//! without a recorder installed by the application they cost nothing.
//!
//! What the host keeps about plugins (the user's grants, strikes and the
//! quarantine, each plugin's log) it keeps through the contract's traits
//! ([`GrantStore`], [`QuarantineStore`], [`PluginLogSink`]), re-exported
//! here under their old paths; the file-backed implementations are
//! `plugboard-state`'s, and this crate reads and writes none of those files.
//!
//! This crate must never let a plugin reach anything its policy does not
//! allow, never compile a component while handling an event, never run
//! compiled code from anywhere but its own cache folder, and never panic on
//! anything a plugin or a plugin file does.

pub mod abi;
pub mod abuse;
pub mod app_interfaces;
pub mod bindings;
pub mod code_cache;
pub mod compile_bounds;
pub mod context;
pub mod dispatcher;
mod executor;
pub mod files;
pub mod imports;
pub mod limits;
pub mod loader;
pub mod locale;
pub mod metrics;
pub mod network;
pub mod output;
pub mod policy;
pub mod resources;
pub mod runtime;
mod shared_code;
pub mod transaction;
mod wasi;
mod weight;
pub mod world;

/// The task and event types, as the embedder uses them: the contract's
/// own, not the generated bindings.
pub mod types {
    pub use plugboard_contract::{
        Annotation, Attribute, CustomEvent, Event, Filter, NewTask, PluginError, Priority, Status, SyncSummary, Task,
        TaskModification, TaskPatch,
    };

    /// The former name of [`TaskModification`] (the WIT `task-change`
    /// record), kept for callers; not [`crate::TaskChange`], the batch entry
    /// a `TaskStore` commits.
    pub use plugboard_contract::TaskModification as TaskChange;
}

/// The application's task storage, from `plugboard-contract`.
pub mod task_store {
    pub use plugboard_contract::task_store::*;
}

/// What the user granted each plugin, and the store it is read from, from
/// `plugboard-contract`.
pub mod grants {
    pub use plugboard_contract::grants::*;
}

/// Quarantine records and the store the host keeps them and every plugin's
/// strikes in, from `plugboard-contract`.
pub mod quarantine {
    pub use plugboard_contract::conduct::{
        InMemoryQuarantine, QuarantineRecord, QuarantineStore, QuarantineStoreError,
    };
}

/// Each plugin's log entries and the sink the host writes them to, from
/// `plugboard-contract`.
pub mod plugin_log {
    pub use plugboard_contract::plugin_log::*;
}

/// Per-plugin key/value state storage, from `plugboard-contract`.
pub mod state_store {
    pub use plugboard_contract::state_store::*;
}

/// What the embedding application provides to every plugin, from
/// `plugboard-contract`.
pub mod services {
    pub use plugboard_contract::services::*;
}

pub use abuse::{Abuse, AbuseKind, StrikePolicy, Strikes};
pub use app_interfaces::{App, AppCall, AppInterface, AppInterfaceError, AppInterfaces};
pub use code_cache::{CacheDefect, CacheKey, CodeCache, CodeCacheError, Compiled};
pub use compile_bounds::{Bound, BoundsError, CodeStats, CompileBounds};
pub use context::PluginContext;
pub use context::{CallEffects, EmittedEvent, LogLevel, LogLine};
pub use dispatcher::{
    AddError, CommandError, CommandOutput, Delivery, DispatchBudget, DispatchReport, Dispatcher, DispatcherOptions,
    Health, InstanceDrop, InstanceEvent, Outcome, QuarantineListener, ReloadError, ReloadOutcome,
};
pub use grants::{Grant, GrantStore, GrantTable, Grants, InMemoryGrants};
pub use limits::CallLimits;
pub use loader::{ComponentInfo, LoadError, LoadOptions, LoadedPlugin, PluginCode, PluginSource, is_text_component};
pub use plugboard_contract::{
    Clock, HostServices, InMemoryStateStore, InMemoryTaskStore, StateStore, StateStoreError, TaskChange, TaskStore,
    TaskStoreError,
};
pub use plugin_log::{InMemoryPluginLogs, PluginLogSink};
pub use policy::Policy;
pub use quarantine::{InMemoryQuarantine, QuarantineRecord, QuarantineStore};
pub use runtime::{PoolingLimits, Runtime, RuntimeError, RuntimeOptions};
pub use world::{DetectedWorld, WorldError, WorldVersion};
