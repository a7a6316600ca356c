//! The plugboard host an application embeds. One call, [`Host::open`] (or
//! [`Host::builder`] to bring the application's own [`TaskStore`],
//! [`StateStore`], clock, and, instead of the files in the config and data
//! folders, its own [`GrantStore`], [`QuarantineStore`] and
//! [`PluginLogSink`]), takes the folders of a [`HostConfig`] and does
//! everything `plugboard run` does: discovery of the user's, builtin and
//! bundled plugins, dependency order, the disabled list, the quarantine and
//! strikes, the user's grants, the compiled-code cache, loading and
//! dispatch. It hands back a [`Host`], a cheap shareable handle that any
//! thread or async task dispatches through; while it lives, a background
//! thread swaps in plugins whose folder changed (hot reload), drops
//! idle plugin instances and, when asked, fires the timers plugins declare. What opening did with every plugin is in
//! [`Host::report`]; every reload is told to [`HostBuilder::on_reload`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use plugboard::task_store::new_task;
//! use plugboard::types::Event;
//! use plugboard::{Host, HostConfig, InMemoryTaskStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let folders = tempfile::tempdir()?;
//! # let [plugins_dir, config_dir, data_dir] = ["plugins", "config", "data"].map(|name| folders.path().join(name));
//! # std::fs::create_dir(&plugins_dir)?;
//! let tasks = Arc::new(InMemoryTaskStore::new());       // or your own TaskStore
//! let mut config = HostConfig::new(plugins_dir, config_dir, data_dir);
//! config.watch = true;                                  // hot reload while the host runs
//! config.idle_timeout = Some(Duration::from_secs(300)); // unload plugins idle for 5 minutes
//! let host = Host::builder(config)
//!     .task_store(tasks.clone())
//!     .on_reload(|reload| eprintln!("reload: {reload}"))
//!     .open()?;                                         // grants, quarantine, code cache: all inside
//! for plugin in &host.report().plugins {
//!     println!("{} {}: {}", plugin.id, plugin.version, plugin.status);
//! }
//!
//! let task = tasks.create(new_task("Fix urgent login bug"), (host.services().clock)())?; // your app's own change
//! let report = host.dispatch_blocking(&Event::TaskCreated(task)); // or `host.dispatch(event).await`
//! for delivery in &report.deliveries {
//!     println!("{}: {} {:?}", delivery.plugin, delivery.outcome, delivery.effects.changes);
//! }
//! host.shutdown();                                      // or drop the last handle
//! # Ok(())
//! # }
//! ```
//!
//! This crate only wires the stages together: it must never decide what a
//! plugin may do beyond what the user granted (or, with
//! [`HostConfig::trust_manifests`], what its manifest asks), never load a
//! disabled or quarantined plugin, never let one broken plugin stop the
//! others from loading, and never print: everything it has to say is in
//! its reports, errors and callbacks.

#![warn(missing_docs)]

mod background;
mod compiling;
mod config;
mod disabled;
mod discovery;
pub mod display;
mod error;
mod granting;
mod host;
mod lifecycle;
mod open;
mod reload;
mod report;
mod settings;
mod timers;

pub use config::{
    CODE_CACHE_FOLDER, DEFAULT_WATCH_DEBOUNCE, DEV_FILES_FOLDER, FILES_FOLDER, HostConfig, STATE_FILE, Settings,
    describe_dirs,
};
pub use disabled::{DISABLED_FILE, DisabledError, DisabledPlugins};
pub use error::{EnableError, OpenError};
pub use granting::copy_of;
pub use host::Host;
pub use lifecycle::{LIFECYCLE_QUEUE, LifecycleEvent, LifecycleEvents, UnloadReason};
pub use open::HostBuilder;
pub use reload::{Reload, ReloadFailure, ReloadListener};
pub use report::{OpenReport, PluginReport, PluginStatus, Severity, UnknownSetting};
pub use timers::{MAX_FIRINGS_PER_SECOND, TimerFiring, TimerListener};

/// A source of the current time, and the system's.
pub use plugboard_contract::{Clock, system_clock};
/// Where the host keeps the user's grants, the quarantine and strikes, and
/// plugin logs (`plugboard-contract`'s traits), with their in-memory
/// versions.
pub use plugboard_contract::{
    GrantStore, GrantStoreError, GrantTable, InMemoryGrants, InMemoryPluginLogs, InMemoryQuarantine, PluginLogSink,
    QuarantineStore, QuarantineStoreError,
};
/// The embedder's contract (`plugboard-contract`): the stores an
/// application implements, their errors and in-memory versions, and the
/// task changes a plugin call commits.
pub use plugboard_contract::{
    InMemoryStateStore, InMemoryTaskStore, StateStore, StateStoreError, TaskChange, TaskStore, TaskStoreError,
    task_store,
};
/// The getter the host hands an app's link function, to pass on to its
/// generated `add_to_linker`.
pub use plugboard_host::app_interfaces::Getter;
/// The bounds on everything one application event causes.
pub use plugboard_host::dispatcher::DispatchBudget;
/// The task and event types (`plugboard-contract`'s, as the host
/// re-exports them).
pub use plugboard_host::types;
/// The application's own interfaces ([`HostBuilder::app_interface`]): what
/// an app registers, the data type its `bindgen!` implementation is for,
/// and the plugin context that type is reached from.
pub use plugboard_host::{App, AppCall, AppInterface, AppInterfaceError, PluginContext};
/// What dispatching reports, and the grants, runtime and strike settings,
/// as the host crate defines them.
pub use plugboard_host::{
    CallEffects, CommandError, CommandOutput, Delivery, DispatchReport, Grant, Grants, LoadedPlugin, Outcome,
    QuarantineRecord, RuntimeOptions, StrikePolicy, Strikes,
};
/// The files the host keeps the user's grants, the quarantine and strikes,
/// and plugin logs in (`plugboard-state`'s).
pub use plugboard_state::{GrantsFile, GrantsFileStore, PluginLogFiles, QuarantineFile};
