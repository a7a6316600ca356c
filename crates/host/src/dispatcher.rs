//! Delivering application events to plugins: each through its own world
//! version, each in its own instance, reused from one event to the next.

use std::collections::VecDeque;
use std::sync::Arc;

use plugboard_manifest::Subscription;
use wasmtime::{Engine, Store};

use crate::abi::v1::{V1Call, event_down};
use crate::bindings::{v1, v2};
use crate::context::{CallEffects, PluginContext};
use crate::loader::{LoadedPlugin, PluginPre};
use crate::runtime::{Runtime, deadline_ticks};
use crate::services::HostServices;
use crate::types::{CustomEvent, Event, PluginError};
use crate::world::WorldVersion;

/// How many times an emitted event may cause another emission before the
/// chain is cut: plugin A's event triggering B triggering A ends here.
pub const MAX_EMIT_DEPTH: u32 = 4;

/// The short name of an event's kind, as a manifest subscribes to it.
pub fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::TaskCreated(_) => "task-created",
        Event::TaskModified(_) => "task-modified",
        Event::TaskDeleted(_) => "task-deleted",
        Event::SyncCompleted(_) => "sync-completed",
        Event::Timer(_) => "timer",
        Event::Custom(_) => "custom",
    }
}

/// What happened when an event was offered to one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned Ok.
    Handled,
    /// The handler returned an error.
    Rejected(String),
    /// The call trapped (a crash, a deadline, an abuse); the instance was
    /// discarded and the next event gets a fresh one.
    Trapped(String),
    /// The plugin is subscribed but its world has no form of this event.
    NotDelivered(String),
    /// The plugin could not be instantiated or its `init` failed.
    Unavailable(String),
}

/// One event offered to one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The plugin id.
    pub plugin: Arc<str>,
    /// The event's kind (`task-created`, `custom`, ...).
    pub event: &'static str,
    /// 0 for the application's event, n for an event emitted n steps later.
    pub depth: u32,
    /// What happened.
    pub outcome: Outcome,
    /// What the call did.
    pub effects: CallEffects,
}

/// Everything one `dispatch` caused, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// One entry per plugin the event (or an event it caused) was offered to.
    pub deliveries: Vec<Delivery>,
    /// Emitted events cut off by [`MAX_EMIT_DEPTH`], by emitter and topic.
    pub dropped_emits: Vec<(Arc<str>, String)>,
}

/// Why a command could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No loaded plugin has this id.
    #[error("no plugin `{0}` is loaded")]
    UnknownPlugin(String),
    /// The plugin's world has no commands.
    #[error("plugin `{0}` speaks task-events@1, which has no commands (they exist since task-events@2)")]
    NotAvailable(String),
    /// The plugin returned an error.
    #[error("plugin `{plugin}` refused command `{command}`: {error}")]
    Rejected {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// Its error.
        error: String,
    },
    /// The call trapped or the plugin could not start.
    #[error("plugin `{plugin}` failed while running `{command}`: {message}")]
    Failed {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// What went wrong.
        message: String,
    },
}

enum Handler {
    V1(v1::Plugin),
    V2(v2::Plugin),
}

struct LiveInstance {
    store: Store<PluginContext>,
    handler: Handler,
}

struct Slot {
    plugin: LoadedPlugin,
    id: Arc<str>,
    live: Option<LiveInstance>,
}

impl Slot {
    fn subscribed(&self, event: &Event) -> bool {
        let events = &self.plugin.manifest.events;
        match event {
            Event::TaskCreated(_) => events.subscribes(&Subscription::TaskCreated),
            Event::TaskModified(_) => events.subscribes(&Subscription::TaskModified),
            Event::TaskDeleted(_) => events.subscribes(&Subscription::TaskDeleted),
            Event::SyncCompleted(_) => events.subscribes(&Subscription::SyncCompleted),
            Event::Timer(name) => {
                events.subscribes(&Subscription::Timer) && events.timers.iter().any(|t| &t.name == name)
            }
            Event::Custom(custom) => custom.source.as_str() != &*self.id && events.subscribes_to_custom(&custom.topic),
        }
    }
}

/// Holds the loaded plugins and delivers events to them.
pub struct Dispatcher {
    engine: Engine,
    services: HostServices,
    slots: Vec<Slot>,
}

fn render(e: &PluginError) -> String {
    match e {
        PluginError::Denied(why) => format!("denied: {why}"),
        PluginError::NotFound(id) => format!("not found: {id}"),
        PluginError::Invalid(why) => format!("invalid: {why}"),
        PluginError::QuotaExceeded => "quota exceeded".into(),
        PluginError::Conflict => "conflict".into(),
    }
}

fn trap_message(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        if *trap == wasmtime::Trap::Interrupt {
            return "stopped: the call ran past its deadline".to_string();
        }
        return format!("trapped: {trap}");
    }
    format!("{e:#}")
}

impl Dispatcher {
    /// A dispatcher with no plugins, serving the given application services.
    pub fn new(runtime: &Runtime, services: HostServices) -> Dispatcher {
        Dispatcher {
            engine: runtime.engine().clone(),
            services,
            slots: Vec::new(),
        }
    }

    /// Adds a loaded plugin; it is instantiated when its first event comes.
    pub fn add(&mut self, plugin: LoadedPlugin) {
        let id: Arc<str> = Arc::from(plugin.id());
        self.slots.push(Slot { plugin, id, live: None });
    }

    /// The loaded plugins, in the order they receive events.
    pub fn plugins(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.slots.iter().map(|s| &s.plugin)
    }

    /// Whether a plugin currently has a live instance.
    pub fn is_live(&self, id: &str) -> bool {
        self.slots.iter().any(|s| &*s.id == id && s.live.is_some())
    }

    /// Instantiates every plugin now and runs its `init`, instead of on its
    /// first event; returns each plugin's result.
    pub fn start_all(&mut self) -> Vec<(Arc<str>, Result<(), String>)> {
        let engine = &self.engine;
        let services = &self.services;
        self.slots
            .iter_mut()
            .map(|slot| (slot.id.clone(), ensure_live(engine, services, slot).map(|_| ())))
            .collect()
    }

    /// Delivers an event to every subscribed plugin, then delivers the events
    /// they emitted, breadth first, up to [`MAX_EMIT_DEPTH`].
    pub fn dispatch(&mut self, event: &Event) -> DispatchReport {
        let mut report = DispatchReport::default();
        let mut pending: VecDeque<(Event, u32)> = VecDeque::new();
        self.deliver(event, 0, &mut report, &mut pending);
        while let Some((emitted, depth)) = pending.pop_front() {
            self.deliver(&emitted, depth, &mut report, &mut pending);
        }
        report
    }

    fn deliver(
        &mut self,
        event: &Event,
        depth: u32,
        report: &mut DispatchReport,
        pending: &mut VecDeque<(Event, u32)>,
    ) {
        let kind = event_kind(event);
        for slot in &mut self.slots {
            if !slot.subscribed(event) {
                continue;
            }
            let (outcome, effects) = call_handler(&self.engine, &self.services, slot, event);
            if outcome == Outcome::Handled {
                for emitted in &effects.emitted {
                    if depth + 1 > MAX_EMIT_DEPTH {
                        report.dropped_emits.push((slot.id.clone(), emitted.topic.clone()));
                        continue;
                    }
                    let custom = CustomEvent {
                        topic: emitted.topic.clone(),
                        payload: emitted.payload.clone(),
                        source: slot.id.to_string(),
                    };
                    pending.push_back((Event::Custom(custom), depth + 1));
                }
            }
            report.deliveries.push(Delivery {
                plugin: slot.id.clone(),
                event: kind,
                depth,
                outcome,
                effects,
            });
        }
    }

    /// Runs a command a v2 plugin offers.
    pub fn run_command(&mut self, plugin: &str, command: &str, args: &[String]) -> Result<String, CommandError> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| &*s.id == plugin)
            .ok_or_else(|| CommandError::UnknownPlugin(plugin.to_string()))?;
        if slot.plugin.world.version == WorldVersion::V1 {
            return Err(CommandError::NotAvailable(plugin.to_string()));
        }
        let failed = |message: String| CommandError::Failed {
            plugin: plugin.to_string(),
            command: command.to_string(),
            message,
        };
        let deadline = deadline_ticks(slot.plugin.deadline);
        let live = ensure_live(&self.engine, &self.services, slot).map_err(failed)?;
        let Handler::V2(handler) = &live.handler else {
            return Err(CommandError::NotAvailable(plugin.to_string()));
        };
        live.store.set_epoch_deadline(deadline);
        let result = handler
            .plugboard_task_events_handler()
            .call_run_command(&mut live.store, command, args);
        live.store.data_mut().take_effects();
        match result {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(CommandError::Rejected {
                plugin: plugin.to_string(),
                command: command.to_string(),
                error: render(&e),
            }),
            Err(trap) => {
                slot.live = None;
                Err(failed(trap_message(&trap)))
            }
        }
    }
}

/// Makes sure the slot has a live instance, creating it and running `init`
/// if needed.
fn ensure_live<'a>(
    engine: &Engine,
    services: &HostServices,
    slot: &'a mut Slot,
) -> Result<&'a mut LiveInstance, String> {
    if slot.live.is_none() {
        slot.live = Some(instantiate(engine, services, &slot.plugin)?);
    }
    slot.live.as_mut().ok_or_else(|| "instance vanished".to_string())
}

fn instantiate(engine: &Engine, services: &HostServices, plugin: &LoadedPlugin) -> Result<LiveInstance, String> {
    let context = PluginContext::new(
        Arc::from(plugin.id()),
        plugin.policy.clone(),
        services.clone(),
        plugin.config.clone(),
    );
    let mut store = Store::new(engine, context);
    // Component start functions run during instantiation; they get the same
    // deadline as a call.
    store.set_epoch_deadline(deadline_ticks(plugin.deadline));
    let handler = match &plugin.pre {
        PluginPre::V1(pre) => Handler::V1(pre.instantiate(&mut store).map_err(|e| trap_message(&e))?),
        PluginPre::V2(pre) => Handler::V2(pre.instantiate(&mut store).map_err(|e| trap_message(&e))?),
    };
    if let Handler::V2(handler) = &handler {
        let settings: Vec<(String, String)> = plugin.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        store.set_epoch_deadline(deadline_ticks(plugin.deadline));
        let result = handler.plugboard_task_events_handler().call_init(&mut store, &settings);
        store.data_mut().take_effects();
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("init failed: {}", render(&e))),
            Err(trap) => return Err(format!("init {}", trap_message(&trap))),
        }
    }
    Ok(LiveInstance { store, handler })
}

fn call_handler(engine: &Engine, services: &HostServices, slot: &mut Slot, event: &Event) -> (Outcome, CallEffects) {
    let deadline = deadline_ticks(slot.plugin.deadline);
    let v1_call = match slot.plugin.world.version {
        WorldVersion::V1 => match event_down(event) {
            Some(call) => Some(call),
            None => {
                let why = format!("{} has no task-events@1 form", event_kind(event));
                return (Outcome::NotDelivered(why), CallEffects::default());
            }
        },
        WorldVersion::V2 => None,
    };
    let live = match ensure_live(engine, services, slot) {
        Ok(live) => live,
        Err(why) => return (Outcome::Unavailable(why), CallEffects::default()),
    };
    live.store.set_epoch_deadline(deadline);
    let result: wasmtime::Result<Result<(), String>> = match (&live.handler, v1_call) {
        (Handler::V2(h), _) => h
            .plugboard_task_events_handler()
            .call_on_event(&mut live.store, event)
            .map(|r| r.map_err(|e| render(&e))),
        (Handler::V1(h), Some(call)) => {
            let guest = h.plugboard_task_events_handler();
            match &call {
                V1Call::Created(task) => guest.call_on_task_created(&mut live.store, task),
                V1Call::Modified(old, new) => guest.call_on_task_modified(&mut live.store, old, new),
                V1Call::Deleted(task) => guest.call_on_task_deleted(&mut live.store, task),
            }
        }
        (Handler::V1(_), None) => Ok(Ok(())),
    };
    let effects = live.store.data_mut().take_effects();
    let outcome = match result {
        Ok(Ok(())) => Outcome::Handled,
        Ok(Err(e)) => Outcome::Rejected(e),
        Err(trap) => {
            slot.live = None;
            Outcome::Trapped(trap_message(&trap))
        }
    };
    (outcome, effects)
}
