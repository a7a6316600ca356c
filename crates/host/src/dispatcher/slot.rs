//! One loaded plugin inside the dispatcher: its code and policy, its live
//! instance behind a lock that makes it receive one event at a time, in
//! order, and what can be read about it without taking that lock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use plugboard_contract::Event;
use plugboard_manifest::Subscription;
use wasmtime::Store;

use super::event_forms::EventForms;
use crate::bindings::v1;
use crate::context::PluginContext;
use crate::loader::LoadedPlugin;
use crate::metrics::PluginMetrics;
use crate::world::WorldVersion;

/// How many kinds of event there are, as [`kind_of`] numbers them.
pub(crate) const EVENT_KINDS: usize = 6;

/// The number of `event`'s kind, an index into [`Slot::kinds`].
pub(crate) fn kind_of(event: &Event) -> usize {
    match event {
        Event::TaskCreated(_) => 0,
        Event::TaskModified(_) => 1,
        Event::TaskDeleted(_) => 2,
        Event::SyncCompleted(_) => 3,
        Event::Timer(_) => 4,
        Event::Custom(_) => 5,
    }
}

/// The handler exports of an instance, per world version.
pub(crate) enum Handler {
    V1(v1::Plugin),
    V2(V2Exports),
}

/// What an instance of a native world (2.x, or 3.0.0-dev when opted in)
/// exports: its handler, and its lifecycle interface when it was built
/// against 2.2.0 or later.
pub(crate) struct V2Exports {
    pub(crate) handler: crate::abi::native::HandlerExport,
    pub(crate) lifecycle: Option<crate::abi::native::LifecycleExport>,
}

/// An instantiated plugin: its store and its exports.
pub(crate) struct LiveInstance {
    pub(crate) store: Store<PluginContext>,
    pub(crate) handler: Handler,
}

/// What only the holder of the slot's lock may touch.
#[derive(Default)]
pub(crate) struct SlotState {
    pub(crate) live: Option<LiveInstance>,
    /// An instance taken out of the slot that still owes its `shutdown`.
    /// Whoever takes the lock next runs it before anything else: the task
    /// spawned for it, or the next event, whose new instance then starts
    /// only after the old one's last state writes are committed.
    pub(crate) closing: Option<LiveInstance>,
}

/// One plugin of the dispatcher.
pub(crate) struct Slot {
    pub(crate) id: Arc<str>,
    pub(crate) plugin: LoadedPlugin,
    /// Held for the whole of each call, so a plugin handles one event at a
    /// time; tokio's lock is fair, so events reach it in the order they
    /// asked for it.
    pub(crate) state: tokio::sync::Mutex<SlotState>,
    /// The build this one replaced, until this one's first instance
    /// starts: that waits for the old build's `shutdown`, so that the two
    /// never run at once and the new `init` sees what the old one flushed.
    pub(crate) predecessor: std::sync::Mutex<Option<Arc<Slot>>>,
    /// Set when `init` refused to start; the plugin gets no more events
    /// until it is reloaded or added again.
    pub(crate) unavailable: OnceLock<String>,
    /// Set once the plugin was removed, replaced or quarantined: events
    /// still on their way to it are not delivered.
    retired: AtomicBool,
    /// Whether it has a live instance, readable without the lock.
    live: AtomicBool,
    /// When it last started or handled a call, in microseconds since the
    /// dispatcher was made; 0 for never.
    last_used: AtomicU64,
    /// Its metric handles, registered when it was added.
    pub(crate) metrics: PluginMetrics,
}

impl Slot {
    pub(crate) fn new(plugin: LoadedPlugin) -> Slot {
        Slot {
            metrics: PluginMetrics::register(plugin.id()),
            id: Arc::from(plugin.id()),
            plugin,
            state: tokio::sync::Mutex::new(SlotState::default()),
            predecessor: std::sync::Mutex::new(None),
            unavailable: OnceLock::new(),
            retired: AtomicBool::new(false),
            live: AtomicBool::new(false),
            last_used: AtomicU64::new(0),
        }
    }

    /// Whether this plugin should be offered `event` at all.
    pub(crate) fn wants(&self, event: &Event) -> bool {
        !self.is_retired() && self.unavailable.get().is_none() && self.subscribed(event)
    }

    /// Whether its world has a form of `event` (a v1 plugin cannot take
    /// every v2 event).
    pub(crate) fn accepts(&self, event: &Event, forms: &EventForms) -> bool {
        match self.plugin.world() {
            Some(world) if world.version == WorldVersion::V1 => forms.v1(event).is_some(),
            Some(_) => true,
            None => false,
        }
    }

    /// Which kinds of event it may be offered at all (by [`kind_of`]): the
    /// dispatcher's index, so that an event visits only these plugins.
    pub(crate) fn kinds(&self) -> [bool; EVENT_KINDS] {
        if self.plugin.is_data_only() {
            return [false; EVENT_KINDS];
        }
        let policy = &self.plugin.policy;
        [
            policy.receives(&Subscription::TaskCreated),
            policy.receives(&Subscription::TaskModified),
            policy.receives(&Subscription::TaskDeleted),
            policy.receives(&Subscription::SyncCompleted),
            policy.receives(&Subscription::Timer) && !self.plugin.manifest.events.timers.is_empty(),
            policy.receives_any_custom(),
        ]
    }

    fn subscribed(&self, event: &Event) -> bool {
        if self.plugin.is_data_only() {
            return false;
        }
        let policy = &self.plugin.policy;
        match event {
            Event::TaskCreated(_) => policy.receives(&Subscription::TaskCreated),
            Event::TaskModified(_) => policy.receives(&Subscription::TaskModified),
            Event::TaskDeleted(_) => policy.receives(&Subscription::TaskDeleted),
            Event::SyncCompleted(_) => policy.receives(&Subscription::SyncCompleted),
            Event::Timer(name) => {
                policy.receives(&Subscription::Timer)
                    && self.plugin.manifest.events.timers.iter().any(|t| &t.name == name)
            }
            Event::Custom(custom) => custom.source.as_str() != &*self.id && policy.receives_custom(&custom.topic),
        }
    }

    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Puts an instance in (or takes it out of) the slot, keeping the
    /// lock-free flag in step.
    pub(crate) fn set_live(&self, state: &mut SlotState, live: Option<LiveInstance>) {
        self.live.store(live.is_some(), Ordering::Release);
        state.live = live;
    }

    /// Records that it was used now.
    pub(crate) fn touch(&self, since: Instant) {
        self.touch_at(since, Instant::now());
    }

    /// Records that it was last used at `at`.
    pub(crate) fn touch_at(&self, since: Instant, at: Instant) {
        let micros = u64::try_from(at.saturating_duration_since(since).as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.last_used.store(micros, Ordering::Relaxed);
    }

    /// When it was last used, in microseconds since `since`; 0 for never.
    pub(crate) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }
}
