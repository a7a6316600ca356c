//! The host handle an application keeps: cheap to clone, shared by every
//! thread and task that dispatches, and the owner of the background thread
//! that reloads and unloads plugins.

use std::sync::{Arc, Mutex};

use plugboard_contract::Event;
use plugboard_host::{
    CallEffects, CommandError, CommandOutput, DispatchReport, HostServices, LoadedPlugin, Outcome, QuarantineRecord,
    Strikes,
};

use crate::background::Background;
use crate::compiling::BackgroundLoading;
use crate::config::HostConfig;
use crate::disabled::DisabledPlugins;
use crate::error::{EnableError, OpenError};
use crate::lifecycle::{LIFECYCLE_QUEUE, LifecycleBus, LifecycleEvent, LifecycleEvents};
use crate::open::HostBuilder;
use crate::reload::{Reload, Reloader};
use crate::report::{OpenReport, PluginReport};
use plugboard_host::Dispatcher;

/// An open host: the loaded plugins, ready for events from any thread or
/// async task. Clones share everything; the background thread (hot reload,
/// idle unload) stops on [`Host::shutdown`] or when the last clone is dropped.
#[derive(Clone)]
pub struct Host {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a host shares.
pub(crate) struct Shared {
    pub dispatcher: Dispatcher,
    pub services: HostServices,
    pub reloader: Arc<Reloader>,
    pub report: OpenReport,
    /// `None` once shut down, or when there was nothing to do in the background.
    pub background: Mutex<Option<Background>>,
    /// The plugins being loaded in the background, when the config asks
    /// for that and there were any.
    pub loading: Option<Arc<BackgroundLoading>>,
    /// Where lifecycle events are published.
    pub lifecycle: Arc<LifecycleBus>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(loading) = &self.loading {
            loading.stop();
        }
        self.lifecycle.close();
    }
}

impl Host {
    /// Opens a host on `config` with the default stores: an empty in-memory
    /// task store, the SQLite state file in the data folder (in memory for a
    /// development folder), the system clock.
    pub fn open(config: HostConfig) -> Result<Host, OpenError> {
        Host::builder(config).open()
    }

    /// A builder to give the host the application's own stores and
    /// callbacks before opening it.
    pub fn builder<'a>(config: HostConfig) -> HostBuilder<'a> {
        HostBuilder::new(config)
    }

    /// What opening did: each plugin loaded, skipped or refused, and why.
    pub fn report(&self) -> &OpenReport {
        &self.shared.report
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &HostConfig {
        &self.shared.reloader.config
    }

    /// The stores and clock plugins reach.
    pub fn services(&self) -> &HostServices {
        &self.shared.services
    }

    /// Delivers an application event to every plugin subscribed to it and
    /// granted it, then the events they emit; reports what each did.
    pub async fn dispatch(&self, event: Event) -> DispatchReport {
        self.shared.dispatcher.dispatch(event).await
    }

    /// [`Host::dispatch`] for synchronous applications: returns when done.
    pub fn dispatch_blocking(&self, event: &Event) -> DispatchReport {
        self.shared.dispatcher.dispatch_blocking(event)
    }

    /// Runs a command a plugin offers.
    pub async fn run_command(
        &self,
        plugin: &str,
        command: &str,
        args: &[String],
    ) -> Result<CommandOutput, CommandError> {
        self.shared.dispatcher.run_command(plugin, command, args).await
    }

    /// [`Host::run_command`] for synchronous applications.
    pub fn run_command_blocking(
        &self,
        plugin: &str,
        command: &str,
        args: &[String],
    ) -> Result<CommandOutput, CommandError> {
        self.shared.dispatcher.run_command_blocking(plugin, command, args)
    }

    /// Starts every plugin now (instance and `init`) instead of on its first
    /// event; returns what each start did, or why it failed.
    pub async fn start_all(&self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        self.shared.dispatcher.start_all().await
    }

    /// How a loaded plugin says it is: its `lifecycle.health` answer
    /// (plugins built against task-events 2.2 or later; others report
    /// nothing); `None` when no plugin of this id is loaded.
    pub fn health_blocking(&self, plugin: &str) -> Option<plugboard_host::Health> {
        self.shared.dispatcher.health_blocking(plugin)
    }

    /// [`Host::start_all`] for synchronous applications.
    pub fn start_all_blocking(&self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        self.shared.dispatcher.start_all_blocking()
    }

    /// The loaded plugins, in the order they receive events.
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.shared.dispatcher.plugins()
    }

    /// How many plugins have a live instance now.
    pub fn live_count(&self) -> usize {
        self.shared.dispatcher.live_count()
    }

    /// Whether plugin `id` has a live instance now.
    pub fn is_live(&self, id: &str) -> bool {
        self.shared.dispatcher.is_live(id)
    }

    /// The strikes a loaded plugin has collected.
    pub fn strikes(&self, id: &str) -> Option<Strikes> {
        self.shared.dispatcher.strikes(id)
    }

    /// Calls `listener` whenever a plugin is quarantined.
    pub fn on_quarantine(&self, listener: impl FnMut(&QuarantineRecord) + Send + 'static) {
        self.shared.dispatcher.on_quarantine(listener)
    }

    /// Subscribes to the host's [`LifecycleEvent`]s: first what opening did
    /// (each plugin found, then loaded or refused), then each plugin
    /// loaded, refused, started, reloaded, unloaded, quarantined or
    /// re-enabled from now on. The receiver holds at most
    /// [`LIFECYCLE_QUEUE`] events; past that the oldest is dropped and
    /// counted, so a subscriber that does not keep up never grows the
    /// host's memory nor slows it down.
    pub fn subscribe(&self) -> LifecycleEvents {
        self.subscribe_with_capacity(LIFECYCLE_QUEUE)
    }

    /// [`Host::subscribe`] with a queue of `capacity` events (at least 1).
    pub fn subscribe_with_capacity(&self, capacity: usize) -> LifecycleEvents {
        self.shared.lifecycle.subscribe(capacity)
    }

    /// Lets a quarantined or disabled plugin load again, as `plugboard
    /// enable` does, and loads it now: releases it from the quarantine
    /// (forgiving its strikes), takes it off the disabled list, tells the
    /// subscribers [`LifecycleEvent::ReEnabled`], then loads its folder as
    /// a reload does (the reload listener and the subscribers hear what
    /// became of it). Returns that reload, or `None` when the plugin was
    /// neither quarantined nor disabled, or is in no plugin folder.
    pub fn enable(&self, id: &str) -> Result<Option<Reload>, EnableError> {
        let config = &self.shared.reloader.config;
        let mut disabled = DisabledPlugins::open(&config.data_dir)?;
        let was_disabled = disabled.remove(id);
        if was_disabled {
            disabled.save()?;
        }
        let released = self.shared.dispatcher.release(id)?;
        if !was_disabled && released.is_none() {
            return Ok(None);
        }
        self.shared
            .lifecycle
            .publish(LifecycleEvent::ReEnabled { id: id.to_string() });
        let found = plugboard_registry::discover(&config.plugin_dirs())
            .plugins
            .into_iter()
            .find(|plugin| plugin.id().as_str() == id);
        Ok(found.map(|plugin| {
            self.shared
                .reloader
                .apply(plugboard_registry::ReloadEvent::Changed(plugin.dir))
        }))
    }

    /// Quarantine records and log lines that could not be saved.
    pub fn persist_errors(&self) -> Vec<String> {
        self.shared.dispatcher.persist_errors()
    }

    /// Waits until every plugin log line so far is in the plugin log store:
    /// dispatches hand their lines to a writer thread and go on, so an
    /// application that reads the logs right after a dispatch calls this
    /// first. Dropping the host writes them all too.
    pub fn flush_logs(&self) {
        self.shared.dispatcher.flush_logs()
    }

    /// Loads every plugin folder again now, whether or not the host
    /// watches them: each plugin that loads is swapped in (it starts afresh
    /// on its next event; its state is kept), new ones are added, those
    /// whose folder is gone are unloaded. Returns what happened to each, as
    /// the reload listener hears it.
    pub fn reload_now(&self) -> Vec<Reload> {
        self.shared.reloader.reload_all()
    }

    /// Loads one loaded plugin's folder again now, with the grants as they
    /// are now, and swaps it in as a hot reload would (the old build keeps
    /// running if the new one does not load); the reload listener hears it.
    /// `None` when no plugin of that id is loaded.
    pub fn reload_plugin(&self, id: &str) -> Option<Reload> {
        let dir = self.plugins().into_iter().find(|p| p.id() == id)?.dir;
        Some(
            self.shared
                .reloader
                .apply(plugboard_registry::ReloadEvent::Changed(dir)),
        )
    }

    /// Waits until every plugin the host loads in the background
    /// ([`HostConfig::load_in_background`]) is loaded or refused, and
    /// returns what became of those settled since the last call, in the
    /// order they were settled; at once and empty when nothing loads in the
    /// background. Events dispatched meanwhile are not held for them.
    pub fn wait_until_loaded(&self) -> Vec<PluginReport> {
        self.shared.loading.as_ref().map(|l| l.wait()).unwrap_or_default()
    }

    /// How many plugins are still being loaded in the background.
    pub fn loading_count(&self) -> usize {
        self.shared.loading.as_ref().map_or(0, |l| l.pending())
    }

    /// Stops watching the plugin folders, unloading idle plugins and firing
    /// timers, and waits for the background thread to end, after the timer
    /// firings still running have finished and been reported (unless called
    /// from a reload or timer listener, on that thread), and stops loading plugins in the
    /// background (those not loaded by then stay unloaded). The plugins
    /// loaded stay loaded: dispatching still works. Then every live
    /// instance is stopped: a plugin exporting `lifecycle` gets its
    /// `shutdown` (at most `plugboard_host::SHUTDOWN_DEADLINE` each), and
    /// what it writes to its state is committed; the next event starts it
    /// again. Dropping the last handle stops the background work the same
    /// way, but drops the instances without `shutdown`.
    pub fn shutdown(&self) {
        if let Some(loading) = &self.shared.loading {
            loading.stop();
        }
        let background = self.shared.background.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(background);
        self.shared.dispatcher.stop_instances_blocking();
    }

    /// Whether the background thread is running.
    pub fn is_running_in_background(&self) -> bool {
        self.shared
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}
