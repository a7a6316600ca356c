//! The timers plugins declare (`[events] timers = [{ name, interval }]`),
//! fired by the host's background thread while it runs
//! ([`crate::HostConfig::fire_timers`]).
//!
//! A timer fires for the plugin that declared it alone
//! ([`Dispatcher::fire_timer`]), and only while that plugin is loaded,
//! subscribed to `timer` and granted it. Bounds, whatever a manifest says:
//! an interval is at least 100 ms (the manifest refuses less), a plugin
//! declares at most 16 timers, its timers together fire at most
//! [`MAX_FIRINGS_PER_SECOND`] times in any second, and a timer whose
//! previous firing is still running is skipped, not queued: at most one
//! firing per timer is ever in flight. A skipped firing is not made up
//! later; the next firing that happens says how many were skipped.
//!
//! The firings run on the host's worker threads; this thread only starts
//! them and collects their reports, so a slow plugin never delays another
//! plugin's timers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use plugboard_host::{DispatchReport, Dispatcher, LoadedPlugin};
use plugboard_manifest::{Manifest, Subscription};

use crate::background::Signal;

/// The most times one plugin's timers may fire in any second, however many
/// it declares: ten, one timer at the shortest interval.
pub const MAX_FIRINGS_PER_SECOND: u32 = 10;

/// How often the schedule looks for plugins added, reloaded or unloaded.
const ROSTER_POLL: Duration = Duration::from_millis(100);

/// One timer firing, as the host reports it when it has run.
#[derive(Debug)]
pub struct TimerFiring {
    /// The plugin whose timer fired.
    pub plugin: Arc<str>,
    /// The timer's name, as the manifest declares it.
    pub timer: String,
    /// How many times this timer came due since its last firing and was
    /// skipped: its previous firing was still running, or the plugin's
    /// timers had fired [`MAX_FIRINGS_PER_SECOND`] times in that second.
    pub skipped: u32,
    /// How long the firing took.
    pub elapsed: Duration,
    /// What the plugin (and those its emitted events reached) did.
    pub report: DispatchReport,
}

/// Told of every timer firing once it has run, on the host's background
/// thread. It must not keep a [`crate::Host`] handle of its own.
pub type TimerListener = Box<dyn FnMut(&TimerFiring) + Send>;

type Firing = Pin<Box<dyn Future<Output = DispatchReport> + Send>>;

/// The schedule of every loaded plugin's timers, and the firings running.
pub(crate) struct TimerSchedule {
    dispatcher: Dispatcher,
    listener: Option<TimerListener>,
    signals: Sender<Signal>,
    plugins: HashMap<Arc<str>, PluginTimers>,
    /// Firings running, by slot; a finished one leaves its slot free.
    running: Vec<Option<Running>>,
    roster_checked: Option<Instant>,
}

/// One plugin's timers, for the build of it that is loaded.
struct PluginTimers {
    /// The manifest they come from: a new build has a new one.
    manifest: Arc<Manifest>,
    timers: Vec<TimerState>,
    /// When the current one-second window started, and how many firings it had.
    window: Instant,
    fired_in_window: u32,
    /// The timer looked at first: the one after the last that fired, so
    /// that when the rate bound holds some back, those go first next time.
    first: usize,
}

struct TimerState {
    name: String,
    interval: Duration,
    due: Instant,
    /// The slot of its firing still running.
    running: Option<usize>,
    skipped: u32,
}

struct Running {
    plugin: Arc<str>,
    timer: String,
    skipped: u32,
    started: Instant,
    firing: Firing,
    waker: Waker,
}

/// Wakes the background thread to poll the firing in `slot` again.
struct SlotWaker {
    slot: usize,
    signals: Sender<Signal>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        // A closed channel means the host has stopped; nothing to wake.
        let _ = self.signals.send(Signal::Woken(self.slot));
    }
}

impl TimerSchedule {
    pub fn new(dispatcher: Dispatcher, listener: Option<TimerListener>, signals: Sender<Signal>) -> Self {
        TimerSchedule {
            dispatcher,
            listener,
            signals,
            plugins: HashMap::new(),
            running: Vec::new(),
            roster_checked: None,
        }
    }

    /// When the schedule next has something to do.
    pub fn next_wake(&self) -> Option<Instant> {
        let roster = self.roster_checked.map(|at| at + ROSTER_POLL);
        let due = self.plugins.values().flat_map(|p| p.timers.iter().map(|t| t.due)).min();
        match (roster, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Follows the loaded plugins and fires every timer that is due.
    pub fn tick(&mut self, now: Instant) {
        if self.roster_checked.is_none_or(|at| now >= at + ROSTER_POLL) {
            self.follow(&self.dispatcher.plugins(), now);
            self.roster_checked = Some(now);
        }
        let mut due = Vec::new();
        for (id, plugin) in &mut self.plugins {
            if now >= plugin.window + Duration::from_secs(1) {
                plugin.window = now;
                plugin.fired_in_window = 0;
            }
            let count = plugin.timers.len();
            let first = plugin.first;
            for index in (0..count).map(|n| (first + n) % count) {
                let timer = &mut plugin.timers[index];
                if timer.due > now {
                    continue;
                }
                timer.due += timer.interval;
                if timer.due <= now {
                    // Late by more than an interval (a suspended machine):
                    // no burst to catch up.
                    timer.due = now + timer.interval;
                }
                if timer.running.is_some() || plugin.fired_in_window >= MAX_FIRINGS_PER_SECOND {
                    timer.skipped = timer.skipped.saturating_add(1);
                    continue;
                }
                plugin.fired_in_window += 1;
                plugin.first = (index + 1) % count;
                due.push((id.clone(), timer.name.clone(), std::mem::take(&mut timer.skipped)));
            }
        }
        for (plugin, timer, skipped) in due {
            self.start(plugin, timer, skipped, now);
        }
    }

    /// Polls the firing in `slot` again; reports it when it has finished.
    pub fn poll(&mut self, slot: usize) {
        let Some(Some(running)) = self.running.get_mut(slot) else {
            return;
        };
        let mut context = Context::from_waker(&running.waker);
        let Poll::Ready(report) = running.firing.as_mut().poll(&mut context) else {
            return;
        };
        let Some(running) = self.running[slot].take() else {
            return;
        };
        if let Some(timer) = self
            .plugins
            .get_mut(&running.plugin)
            .and_then(|p| p.timers.iter_mut().find(|t| t.name == running.timer))
            && timer.running == Some(slot)
        {
            timer.running = None;
        }
        let firing = TimerFiring {
            plugin: running.plugin,
            timer: running.timer,
            skipped: running.skipped,
            elapsed: running.started.elapsed(),
            report,
        };
        if let Some(listener) = &mut self.listener {
            listener(&firing);
        }
    }

    /// How many firings are still running.
    pub fn running_count(&self) -> usize {
        self.running.iter().filter(|r| r.is_some()).count()
    }

    /// Stops scheduling: no timer fires from now on; the firings running
    /// still finish (each within its plugin's deadline) and are reported.
    pub fn stop(&mut self) {
        self.plugins.clear();
        self.roster_checked = Some(Instant::now() + Duration::from_secs(86_400 * 365));
    }

    fn start(&mut self, plugin: Arc<str>, timer: String, skipped: u32, now: Instant) {
        let slot = match self.running.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.running.push(None);
                self.running.len() - 1
            }
        };
        let dispatcher = self.dispatcher.clone();
        let (id, name) = (plugin.clone(), timer.clone());
        let firing: Firing = Box::pin(async move { dispatcher.fire_timer(&id, &name).await });
        let waker = Waker::from(Arc::new(SlotWaker {
            slot,
            signals: self.signals.clone(),
        }));
        if let Some(state) = self
            .plugins
            .get_mut(&plugin)
            .and_then(|p| p.timers.iter_mut().find(|t| t.name == timer))
        {
            state.running = Some(slot);
        }
        self.running[slot] = Some(Running {
            plugin,
            timer,
            skipped,
            started: now,
            firing,
            waker,
        });
        self.poll(slot);
    }

    /// Keeps the timers of the plugins loaded now: a new plugin's timers
    /// first fire one interval from now, a new build of one starts its
    /// timers afresh, an unloaded one's are dropped.
    fn follow(&mut self, loaded: &[LoadedPlugin], now: Instant) {
        let mut kept = HashMap::with_capacity(self.plugins.len());
        for plugin in loaded {
            let manifest = &plugin.manifest;
            if manifest.events.timers.is_empty()
                || !manifest.events.subscribes(&Subscription::Timer)
                || !plugin.policy.receives(&Subscription::Timer)
            {
                continue;
            }
            let id: Arc<str> = Arc::from(plugin.id());
            let timers = match self.plugins.remove(&id) {
                Some(same) if Arc::ptr_eq(&same.manifest, manifest) => same,
                previous => PluginTimers {
                    manifest: manifest.clone(),
                    timers: manifest
                        .events
                        .timers
                        .iter()
                        .take(plugboard_manifest::Timer::MAX_PER_PLUGIN)
                        .map(|timer| TimerState {
                            name: timer.name.clone(),
                            interval: timer.interval,
                            due: now + timer.interval,
                            // A firing of the previous build still running
                            // keeps its timer from firing again meanwhile.
                            running: previous
                                .as_ref()
                                .and_then(|p| p.timers.iter().find(|t| t.name == timer.name))
                                .and_then(|t| t.running),
                            skipped: 0,
                        })
                        .collect(),
                    window: now,
                    fired_in_window: 0,
                    first: 0,
                },
            };
            kept.insert(id, timers);
        }
        self.plugins = kept;
    }
}
