//! The [`Plugin`] trait a task-events@2 plugin implements, and the adapter
//! that turns the generated `handler` export into calls to it.

use std::marker::PhantomData;

use crate::bindings::exports::plugboard::task_events::handler::Guest;
use crate::bindings::exports::plugboard::task_events::lifecycle::Guest as LifecycleGuest;
use crate::instance;
use crate::types::{CustomEvent, Error, Event, SyncSummary, Task, TaskChange};

/// A task-events@2 plugin: one method per thing the host can ask of it.
///
/// Every method has a default that does nothing and succeeds, so a plugin
/// implements only the events its manifest subscribes to. Export the type
/// with [`export_plugin!`](crate::export_plugin).
///
/// The SDK makes the value with [`Default`] on the host's first call and
/// keeps it for as long as the host keeps this component instance, so
/// fields are a cache, not storage: the host may drop the instance at any
/// time (an idle plugin is unloaded, a trap discards it) and a new one
/// starts from `Default` and [`init`](Plugin::init) again. Keep anything
/// that must last in [`state`](crate::state).
///
/// Returning `Err` from a handler reports the error to the user and rolls
/// back every task change the call made.
pub trait Plugin: Default + 'static {
    /// Called once after loading, before any event, with the plugin's settings.
    ///
    /// An error stops the plugin from loading; say which setting is wrong.
    fn init(&mut self, config: &Config) -> Result<(), Error> {
        let _ = config;
        Ok(())
    }

    /// A task was created.
    fn on_task_created(&mut self, task: Task) -> Result<(), Error> {
        let _ = task;
        Ok(())
    }

    /// A task was changed from `before` to `after`.
    fn on_task_modified(&mut self, before: Task, after: Task) -> Result<(), Error> {
        let _ = (before, after);
        Ok(())
    }

    /// A task was deleted; `task` is its last state.
    fn on_task_deleted(&mut self, task: Task) -> Result<(), Error> {
        let _ = task;
        Ok(())
    }

    /// A synchronisation with a remote store finished.
    fn on_sync_completed(&mut self, summary: SyncSummary) -> Result<(), Error> {
        let _ = summary;
        Ok(())
    }

    /// A timer declared under `[events] timers` in the manifest fired.
    fn on_timer(&mut self, name: String) -> Result<(), Error> {
        let _ = name;
        Ok(())
    }

    /// Another plugin emitted an event this plugin subscribed to.
    fn on_custom(&mut self, event: CustomEvent) -> Result<(), Error> {
        let _ = event;
        Ok(())
    }

    /// Runs a command listed under `[commands]` in the manifest; the text
    /// returned is shown to the user.
    fn run_command(&mut self, name: String, args: Vec<String>) -> Result<String, Error> {
        let _ = args;
        Err(Error::Invalid(format!("unknown command {name}")))
    }

    /// Called before the host unloads, reloads or stops the plugin, under
    /// a short deadline: write what must last into [`state`](crate::state)
    /// now. The state writes made here are committed like a handler's.
    fn shutdown(&mut self) {}

    /// A short line saying how the plugin is doing, shown by `plugboard
    /// list`; an error says what is wrong. The default says `ok`.
    fn health(&mut self) -> Result<String, Error> {
        Ok("ok".to_string())
    }
}

/// The plugin's settings: its manifest's `[config]` defaults, overridden by
/// the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<(String, String)>,
}

impl Config {
    /// The value of a setting, if it is set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every setting as `(key, value)`, in the order the host sent them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many settings there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no settings.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl From<Vec<(String, String)>> for Config {
    fn from(entries: Vec<(String, String)>) -> Self {
        Config { entries }
    }
}

/// Implements the generated `handler` export for a [`Plugin`] type.
#[doc(hidden)]
pub struct Adapter<P>(PhantomData<P>);

impl<P: Plugin> Guest for Adapter<P> {
    fn init(config: Vec<(String, String)>) -> Result<(), Error> {
        let config = Config::from(config);
        instance::with(|plugin: &mut P| plugin.init(&config))
    }

    fn on_event(event: Event) -> Result<(), Error> {
        instance::with(|plugin: &mut P| match event {
            Event::TaskCreated(task) => plugin.on_task_created(task),
            Event::TaskModified(TaskChange { before, after }) => plugin.on_task_modified(before, after),
            Event::TaskDeleted(task) => plugin.on_task_deleted(task),
            Event::SyncCompleted(summary) => plugin.on_sync_completed(summary),
            Event::Timer(name) => plugin.on_timer(name),
            Event::Custom(event) => plugin.on_custom(event),
        })
    }

    fn run_command(name: String, args: Vec<String>) -> Result<String, Error> {
        instance::with(|plugin: &mut P| plugin.run_command(name, args))
    }
}

impl<P: Plugin> LifecycleGuest for Adapter<P> {
    fn shutdown() {
        instance::with(|plugin: &mut P| plugin.shutdown())
    }

    fn health() -> Result<String, Error> {
        instance::with(|plugin: &mut P| plugin.health())
    }
}
