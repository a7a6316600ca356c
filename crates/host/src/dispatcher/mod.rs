//! Delivering application events to plugins: each through its own world
//! version, each in its own instance (created on its first event, reused
//! from one event to the next, dropped when idle or when too many are live),
//! each call under its deadline, its task changes committed only if it
//! succeeds, and a plugin that abuses its limits struck and quarantined.
//!
//! The [`Dispatcher`] is a shared handle: any number of threads or async
//! tasks dispatch through it at once. Each plugin handles its events one at
//! a time and in order; different plugins run in parallel on the host's
//! worker threads. The parts:
//! - `slot`: one plugin, its instance and its lock;
//! - `invoke`: one call into one plugin under its deadline, and the commit;
//! - `fan_out`: one event to all its subscribers in parallel;
//! - `event_forms`: that event in each world's form, converted once;
//! - `budget`: the bounds on everything one application event causes;
//! - `judge`: strikes, quarantine and plugin logs;
//! - `instances`: the application's hook on instances started and dropped;
//! - `report`: what a dispatch, a command or a reload reports.

mod budget;
mod commands;
mod event_forms;
mod fan_out;
mod instances;
mod invoke;
mod judge;
mod lifecycle;
mod log_writer;
mod report;
mod slot;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

pub use budget::DispatchBudget;
pub use instances::{InstanceDrop, InstanceEvent, InstanceListener};
pub use judge::QuarantineListener;
pub use lifecycle::{HEALTH_DEADLINE, Health, MAX_HEALTH_CHARS, SHUTDOWN_DEADLINE};
pub use report::{
    AddError, CommandError, CommandOutput, Delivery, DispatchReport, Outcome, ReloadError, ReloadOutcome, event_kind,
};

use plugboard_contract::{CustomEvent, Event, HostServices};

use crate::abuse::{Abuse, AbuseKind, StrikePolicy, Strikes};
use crate::context::CallEffects;
use crate::limits::MAX_EMIT_DEPTH;
use crate::loader::{LoadOptions, LoadedPlugin};
use crate::plugin_log::PluginLogSink;
use crate::quarantine::{QuarantineRecord, QuarantineStore, QuarantineStoreError};
use crate::runtime::Runtime;
use crate::world::WorldVersion;
use budget::Spent;
use event_forms::EventForms;
use instances::InstanceHook;
use judge::Judge;
use log_writer::LogWriter;
use slot::Slot;

/// When the dispatcher drops plugin instances, and the budget of each
/// dispatch. The default keeps every instance from its first event until
/// the plugin is removed.
///
/// Dropping an instance never loses durable data, because a plugin's
/// durable data lives in its state (the [`StateStore`]), never in its
/// instance: the next event re-creates the instance and runs its `init`
/// again, and it finds its state as it left it. Whatever a plugin keeps in
/// linear memory (globals, caches) is a cache that may vanish between any
/// two events; plugin authors must keep what matters in state.
///
/// [`StateStore`]: plugboard_contract::StateStore
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatcherOptions {
    /// Drop an instance that has not started or handled anything for this
    /// long: at the end of each dispatch, and whenever the application
    /// calls [`Dispatcher::evict_idle`] (from its own timer, so that a
    /// quiet application gives its memory back too).
    pub idle_timeout: Option<Duration>,
    /// Keep at most this many live instances: before a plugin is
    /// instantiated, and after each dispatch, the least recently used ones
    /// beyond it are dropped. With the pooling allocator on, the pool's
    /// `total_component_instances` is the cap when this is not set. No more
    /// plugins run at once than the cap, and an event with more subscribers
    /// than the cap reaches them one after the other.
    pub max_live_instances: Option<usize>,
    /// The bounds on everything one application event causes.
    pub budget: DispatchBudget,
    /// The most plugins that handle one event at the same time; by default
    /// one per worker thread (one per core). `Some(1)` delivers to one
    /// plugin after the other.
    pub parallel_plugins: Option<usize>,
}

/// What every handle of one dispatcher shares.
pub(crate) struct Shared {
    pub(crate) runtime: Runtime,
    pub(crate) fuel: bool,
    pub(crate) services: HostServices,
    /// The plugins in the order they receive events; replaced whole when
    /// one is added or removed, so a dispatch works on a snapshot without
    /// holding the lock.
    plugins: RwLock<Arc<Roster>>,
    options: RwLock<DispatcherOptions>,
    judge: Mutex<Judge>,
    /// Told of every quarantine, after the judge's lock is released so
    /// that a listener may use the dispatcher.
    listeners: Mutex<Vec<QuarantineListener>>,
    /// Told of instances started and dropped for idleness or the cap.
    pub(crate) instances: InstanceHook,
    /// Whether plugin logs are written, readable without the judge's lock.
    logs_on: AtomicBool,
    /// The pooling allocator's instance slots, when it is on.
    pool_slots: Option<usize>,
    /// The origin of every slot's `last_used`.
    pub(crate) started: Instant,
    /// No instance can have been idle for the idle timeout before this
    /// moment (microseconds since `started`): until then, looking for idle
    /// instances is skipped rather than walking every plugin on every
    /// dispatch.
    idle_due: AtomicU64,
    /// Itself, for the plugin stores that call back into it
    /// (`commands.invoke`, locale plugins) without keeping it alive.
    me: std::sync::Weak<Shared>,
}

/// The loaded plugins in the order they receive events, and for each kind
/// of event the ones that may be offered it, in the same order: an event
/// visits only the plugins subscribed to its kind, however many are
/// installed. Built again whenever a plugin is added or removed.
struct Roster {
    all: Vec<Arc<Slot>>,
    by_kind: [Vec<Arc<Slot>>; slot::EVENT_KINDS],
    /// The translations of the locale plugins, by the id of the plugin
    /// they translate.
    translators: std::collections::HashMap<String, Vec<Arc<crate::locale::Translations>>>,
}

impl Roster {
    fn new(all: Vec<Arc<Slot>>) -> Roster {
        let mut by_kind: [Vec<Arc<Slot>>; slot::EVENT_KINDS] = Default::default();
        for slot in &all {
            for (kind, wants) in slot.kinds().into_iter().enumerate() {
                if wants {
                    by_kind[kind].push(slot.clone());
                }
            }
        }
        let mut translators: std::collections::HashMap<String, Vec<Arc<crate::locale::Translations>>> =
            Default::default();
        for slot in &all {
            if let Some(target) = &slot.plugin.translations.translates {
                translators
                    .entry(target.clone())
                    .or_default()
                    .push(slot.plugin.translations.clone());
            }
        }
        Roster {
            all,
            by_kind,
            translators,
        }
    }

    /// The plugins that may be offered `event`; [`Slot::wants`] decides.
    fn subscribed(&self, event: &Event) -> &[Arc<Slot>] {
        &self.by_kind[slot::kind_of(event)]
    }
}

impl std::ops::Deref for Roster {
    type Target = [Arc<Slot>];

    fn deref(&self) -> &[Arc<Slot>] {
        &self.all
    }
}

/// One dispatch in progress: its budget, its report so far, and the
/// emitted events still to deliver with their depth and emitter.
struct Round {
    /// The most plugins that handle one event at once.
    parallel: usize,
    /// The cap on live instances, if any.
    live_cap: Option<usize>,
    spent: Spent,
    report: DispatchReport,
    queue: VecDeque<(Arc<Event>, u32, Arc<Slot>)>,
    /// A clock reading taken just now, when nothing that takes time has
    /// happened since: the next delivery starts at it instead of reading
    /// the clock again (an event to one quiet plugin reads the clock twice).
    now: Option<Instant>,
}

/// Holds the loaded plugins and delivers events to them. Cheap to clone;
/// every clone is the same dispatcher, and all of them may be used from
/// any thread at once.
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a whole assignment or push, so a
    // panic elsewhere cannot leave the data half-changed.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn snapshot(&self) -> Arc<Roster> {
        self.plugins.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn options(&self) -> DispatcherOptions {
        self.options.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn judge(&self) -> MutexGuard<'_, Judge> {
        lock(&self.judge)
    }

    /// Changes the plugin list under its lock.
    fn edit_plugins<R>(&self, edit: impl FnOnce(&mut Vec<Arc<Slot>>) -> R) -> R {
        let mut guard = self.plugins.write().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<Arc<Slot>> = guard.iter().cloned().collect();
        let result = edit(&mut list);
        *guard = Arc::new(Roster::new(list));
        result
    }

    /// Unloads a plugin: it gets no further events, and its instance is
    /// dropped once the calls holding it end.
    fn retire(&self, id: &str) -> Option<Arc<Slot>> {
        self.edit_plugins(|list| {
            let index = list.iter().position(|s| &*s.id == id)?;
            let slot = list.remove(index);
            slot.retire();
            if let Ok(mut state) = slot.state.try_lock() {
                self.unload_instance(&slot, &mut state);
            }
            Some(slot)
        })
    }

    /// The most live instances kept: the configured cap, else the pool's.
    pub(crate) fn max_live(&self) -> Option<usize> {
        self.max_live_under(&self.options())
    }

    fn max_live_under(&self, options: &DispatcherOptions) -> Option<usize> {
        match (options.max_live_instances, self.pool_slots) {
            (Some(cap), Some(pool)) => Some(cap.min(pool)),
            (cap, pool) => cap.or(pool),
        }
    }

    /// The most plugins that handle one event at once: one per worker
    /// thread, fewer when the options say so, and under a cap on live
    /// instances no more than the cap (each one starting an instance must
    /// find another to drop that is not busy in a call).
    fn parallel_under(&self, options: &DispatcherOptions) -> usize {
        let cap = self.max_live_under(options).unwrap_or(usize::MAX).max(1);
        let asked = options.parallel_plugins.unwrap_or(usize::MAX).max(1);
        self.runtime.executor().workers().min(cap).min(asked)
    }

    /// Drops the least recently used instances, never `keep`'s, until at
    /// most `room` are live. Instances busy in a call are left alone.
    fn drop_least_recently_used(&self, room: usize, keep: Option<&Slot>) {
        let plugins = self.snapshot();
        let mut live = plugins.iter().filter(|s| s.is_live()).count();
        while live > room {
            let mut candidates: Vec<&Arc<Slot>> = plugins
                .iter()
                .filter(|s| s.is_live() && !keep.is_some_and(|k| std::ptr::eq(k, &***s)))
                .collect();
            candidates.sort_by_key(|s| s.last_used());
            let dropped = candidates.into_iter().find_map(|slot| {
                let mut state = slot.state.try_lock().ok()?;
                if self.pool_slots.is_some() {
                    // The pool's slot is needed for the instance about to
                    // start: it must be free before that one instantiates,
                    // so this instance goes at once, without `shutdown`
                    // (which runs after the caller has moved on).
                    slot.set_live(&mut state, None);
                } else {
                    self.unload_instance(slot, &mut state);
                }
                Some(slot)
            });
            let Some(slot) = dropped else {
                return;
            };
            self.instances.tell(InstanceEvent::Dropped {
                plugin: &slot.id,
                version: &slot.plugin.manifest.plugin.version,
                why: InstanceDrop::LiveCap,
            });
            tracing::debug!(plugin = %slot.id, "dropped the least recently used instance");
            live -= 1;
        }
    }

    /// Makes room for the instance of `slot` before it is created.
    pub(crate) fn make_room_for(&self, slot: &Slot) {
        if let Some(max) = self.max_live() {
            self.drop_least_recently_used(max.saturating_sub(1), Some(slot));
        }
    }

    /// Takes out the instances idle for at least the idle timeout, as of
    /// `now`; returns their plugins, and for each whether its instance owes
    /// a `shutdown` (then it is the slot's closing instance, and the caller
    /// sees that it runs). The walk over the plugins is skipped until the
    /// first moment an instance can be due (kept in `idle_due`), so a
    /// dispatch to a few of many installed plugins does not pay for all of
    /// them.
    fn evict_idle(&self, options: &DispatcherOptions, now: Instant) -> Vec<(Arc<Slot>, bool)> {
        let Some(timeout) = options.idle_timeout else {
            return Vec::new();
        };
        let now = u64::try_from(now.saturating_duration_since(self.started).as_micros()).unwrap_or(u64::MAX);
        if now < self.idle_due.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let timeout = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
        // An instance made live or used after this walk is due no sooner
        // than a timeout from now; one the walk keeps, at its own time.
        let mut due = now.saturating_add(timeout);
        let mut dropped = Vec::new();
        for slot in self.snapshot().iter() {
            if !slot.is_live() {
                continue;
            }
            let expires = slot.last_used().saturating_add(timeout);
            if now < expires {
                due = due.min(expires);
                continue;
            }
            // A plugin busy in a call is not idle; it is used again when
            // the call ends.
            if let Ok(mut state) = slot.state.try_lock() {
                let closing = self.take_instance(slot, &mut state);
                tracing::debug!(plugin = %slot.id, "dropped an idle instance");
                self.instances.tell(InstanceEvent::Dropped {
                    plugin: &slot.id,
                    version: &slot.plugin.manifest.plugin.version,
                    why: InstanceDrop::Idle,
                });
                dropped.push((slot.clone(), closing));
            }
        }
        self.idle_due.store(due, Ordering::Relaxed);
        dropped
    }

    /// Applies the idle timeout and the cap on live instances at the end of
    /// a dispatch whose budget ends at `ends`. The idle instances shut down
    /// here, on this thread, while the budget has a whole
    /// [`SHUTDOWN_DEADLINE`] left and no other event holds their lock; the
    /// rest on tasks of their own.
    async fn tidy_instances(&self, options: &DispatcherOptions, now: Instant, ends: Instant) {
        for (slot, closing) in self.evict_idle(options, now) {
            if !closing {
                continue;
            }
            let time_left = ends.saturating_duration_since(Instant::now()) >= SHUTDOWN_DEADLINE;
            match slot.state.try_lock() {
                Ok(mut state) if time_left => self.finish_closing(&slot, &mut state).await,
                _ => self.spawn_closing(&slot),
            }
        }
        if let Some(max) = self.max_live_under(options) {
            self.drop_least_recently_used(max, None);
        }
    }

    /// Counts strikes; quarantines and unloads past the threshold. Returns
    /// whether the plugin was quarantined.
    fn strike(&self, slot: &Slot, abuse: &Abuse, n: u32, report: &mut DispatchReport) -> bool {
        let version = slot.plugin.manifest.plugin.version.to_string();
        let record = self.judge().strike(&slot.id, &version, abuse, n);
        match record {
            Some(record) => {
                self.retire(&slot.id);
                for listener in lock(&self.listeners).iter_mut() {
                    listener(&record);
                }
                report.quarantined.push(record);
                true
            }
            None => false,
        }
    }

    /// Writes a call's log and audit lines, taking the lock only when there
    /// is something to write.
    fn log(&self, plugin: &str, effects: Option<&CallEffects>, audit: &[String]) {
        if !self.logs_on.load(Ordering::Relaxed) {
            return;
        }
        // A quiet, successful call writes nothing: no lock for it.
        if Judge::has_log_work(effects, audit) {
            self.judge().write_log(plugin, effects, audit);
        }
    }

    /// Judges what a call did: denied calls and a trap count strikes.
    /// Returns whether the plugin was quarantined.
    /// A call refused for a permission the manifest requests but the user
    /// did not grant is reported, not struck; only calls to what the
    /// manifest never requested count. A host failure counts nothing.
    fn judge_call(&self, slot: &Slot, outcome: &Outcome, effects: &CallEffects, report: &mut DispatchReport) -> bool {
        let denied = effects.denied_unrequested as u32;
        if denied > 0 {
            let abuse = Abuse {
                kind: AbuseKind::Denied,
                detail: format!("made {denied} call(s) to permissions its manifest never requested"),
            };
            if self.strike(slot, &abuse, denied, report) {
                return true;
            }
        }
        if let Outcome::Trapped(abuse) = outcome {
            return self.strike(slot, abuse, 1, report);
        }
        false
    }

    /// Delivers an event to every subscribed plugin, then the events they
    /// emitted, breadth first, within [`MAX_EMIT_DEPTH`] and the dispatch's
    /// budget.
    async fn dispatch(self: &Arc<Self>, event: &Event) -> DispatchReport {
        self.dispatch_to(event, None).await
    }

    /// [`Shared::dispatch`], the application's event offered only to the
    /// plugin `only` when it is given (the events it emits go to their
    /// subscribers as usual).
    async fn dispatch_to(self: &Arc<Self>, event: &Event, only: Option<&str>) -> DispatchReport {
        let options = self.options();
        let now = Instant::now();
        let mut round = Round {
            parallel: self.parallel_under(&options),
            live_cap: self.max_live_under(&options),
            spent: Spent::start_at(options.budget, now),
            report: DispatchReport::default(),
            queue: VecDeque::new(),
            now: Some(now),
        };
        self.deliver(&mut round, event, None, 0, None, only).await;
        while let Some((event, depth, emitter)) = round.queue.pop_front() {
            self.deliver(&mut round, &event, Some(&event), depth, Some(&emitter), None)
                .await;
        }
        let now = round.now.unwrap_or_else(Instant::now);
        self.tidy_instances(&options, now, round.spent.ends).await;
        round.report
    }

    /// Delivers one event (the application's, or one a plugin emitted) to
    /// its subscribers, queueing what they emit.
    async fn deliver(
        self: &Arc<Self>,
        round: &mut Round,
        event: &Event,
        shared_event: Option<&Arc<Event>>,
        depth: u32,
        emitter: Option<&Arc<Slot>>,
        only: Option<&str>,
    ) {
        let roster = self.snapshot();
        let chosen;
        let plugins = match only {
            None => roster.subscribed(event),
            Some(id) => {
                chosen = roster.subscribed(event).iter().find(|s| &*s.id == id).cloned();
                chosen.as_slice()
            }
        };
        // A lone candidate is asked whether it wants the event when it gets
        // it; more are counted first, for the budget and the fan-out.
        let count = match plugins {
            [] => return,
            [_] if emitter.is_none() => 1,
            _ => plugins.iter().filter(|s| s.wants(event)).count(),
        };
        if count == 0 {
            return;
        }
        if let Some(emitter) = emitter
            && let Err(why) = round.spent.deliver(count as u32)
        {
            round.now = None;
            self.drop_emitted(emitter, event, why, &mut round.report);
            return;
        }
        // More subscribers than live instances may exist: each one evicts
        // another, and which one is least recently used must not depend on
        // which call finished first, so they take their turns one by one.
        let parallel = match round.live_cap {
            Some(cap) if count > cap => 1,
            _ => round.parallel,
        };
        if parallel.min(count) <= 1 {
            // One after the other on this thread, each result taken as it
            // comes: no work list, no copies of the event.
            let forms = EventForms::default();
            // `fan_out::deliver` skips those that do not want it.
            for slot in plugins {
                let result = fan_out::deliver(self, slot, event, &forms, round.spent.ends, round.now.take()).await;
                self.take_result(round, event, depth, slot, result);
            }
            return;
        }
        let targets: Arc<[Arc<Slot>]> = plugins.iter().filter(|s| s.wants(event)).cloned().collect();
        // Boxed: the parallel fan-out is a large future, and without the box
        // every dispatch's future would carry (and copy) its size even when
        // its deliveries run one after the other, as they do for most events.
        let results = Box::pin(fan_out::fan_out(
            self,
            event,
            shared_event,
            targets.clone(),
            round.spent.ends,
            parallel,
        ))
        .await;
        for (slot, result) in targets.iter().zip(results) {
            self.take_result(round, event, depth, slot, result);
        }
        // The deliveries ran on other threads too: the last reading is
        // not this thread's latest moment.
        round.now = None;
    }

    /// Takes what one plugin did with `event` into the dispatch: queues
    /// the events it emitted (within the budget), writes its log, judges
    /// it, and adds its delivery to the report.
    fn take_result(&self, round: &mut Round, event: &Event, depth: u32, slot: &Arc<Slot>, result: fan_out::Result) {
        let Some(fan_out::Delivered {
            outcome,
            effects,
            elapsed,
            finished,
        }) = result
        else {
            return;
        };
        let kind = event.kind();
        if outcome == Outcome::Handled {
            for emitted in &effects.emitted {
                // Namespaced by the emitter: a plugin can only speak for
                // itself, and subscribers name whose topic they want.
                let custom = Event::Custom(CustomEvent {
                    topic: format!("{}/{}", slot.id, emitted.topic),
                    payload: emitted.payload.clone(),
                    source: slot.id.to_string(),
                });
                let bytes = (slot.id.len() + 1 + emitted.topic.len() + emitted.payload.len()) as u64;
                let refused = if depth + 1 > MAX_EMIT_DEPTH {
                    Err(format!(
                        "its event `{}` continued an emit chain past depth {MAX_EMIT_DEPTH} and was dropped",
                        emitted.topic
                    ))
                } else {
                    round.spent.emit(bytes)
                };
                match refused {
                    Ok(()) => round.queue.push_back((Arc::new(custom), depth + 1, slot.clone())),
                    Err(why) => self.drop_emitted(slot, &custom, why, &mut round.report),
                }
            }
        }
        let audit = match &outcome {
            Outcome::Trapped(abuse) => vec![format!("stopped during {kind}: {abuse}")],
            Outcome::CommitFailed(why) => vec![format!("task changes refused: {why}")],
            Outcome::Rejected(why) => vec![format!("{kind} handler returned an error: {why}")],
            Outcome::OutOfBudget(why) => vec![format!("stopped during {kind}: {why}")],
            Outcome::HostFailed(why) => vec![format!("host failure during {kind}: {why}")],
            _ => Vec::new(),
        };
        slot.metrics.outcome(&outcome, false, effects.denied.len(), elapsed);
        // Writing logs and judging a failure may take time (files, the
        // listeners): after them the clock is read again.
        let quiet = !Judge::has_log_work(Some(&effects), &audit);
        self.log(&slot.id, Some(&effects), &audit);
        // Quarantined for this call or for the storm its events made:
        // its queued events go nowhere.
        if self.judge_call(slot, &outcome, &effects, &mut round.report) || slot.is_retired() {
            round.queue.retain(|(_, _, from)| !Arc::ptr_eq(from, slot));
        }
        round.report.deliveries.push(Delivery {
            plugin: slot.id.clone(),
            event: kind,
            depth,
            outcome,
            effects,
            elapsed,
        });
        round.now = quiet.then_some(finished);
    }

    /// Records an emitted event that is not delivered, and strikes its
    /// emitter for the storm.
    fn drop_emitted(&self, emitter: &Slot, event: &Event, why: String, report: &mut DispatchReport) {
        let topic = match event {
            Event::Custom(custom) => custom.topic.clone(),
            other => other.kind().to_string(),
        };
        report.dropped_emits.push((emitter.id.clone(), topic));
        if emitter.is_retired() {
            return;
        }
        let abuse = Abuse {
            kind: AbuseKind::EventStorm,
            detail: why,
        };
        self.log(&emitter.id, None, &[format!("event dropped: {}", abuse.detail)]);
        self.strike(emitter, &abuse, 1, report);
    }

    /// Runs a command for the application (`from` is `None`) or for the
    /// plugin at the end of `from`'s chain: the arguments checked against
    /// the parameters the command declares first, the call under the
    /// provider's own limits (and, invoked by a plugin, within the caller's
    /// deadline), its changes committed on their own.
    async fn run_command(
        self: &Arc<Self>,
        plugin: &str,
        command: &str,
        args: &[String],
        from: Option<&crate::context::Invocation>,
    ) -> Result<CommandOutput, CommandError> {
        let slot = self
            .snapshot()
            .iter()
            .find(|s| &*s.id == plugin)
            .cloned()
            .ok_or_else(|| CommandError::UnknownPlugin(plugin.to_string()))?;
        let failed = |message: String| CommandError::Failed {
            plugin: plugin.to_string(),
            command: command.to_string(),
            message,
        };
        match slot.plugin.world() {
            None => return Err(CommandError::DataOnly(plugin.to_string())),
            Some(world) if world.version == WorldVersion::V1 => {
                return Err(CommandError::NotAvailable(plugin.to_string()));
            }
            Some(_) => {}
        }
        commands::check_arguments(&slot, command, args, from.is_some())?;
        if let Some(why) = slot.unavailable.get() {
            return Err(failed(why.clone()));
        }
        if ungranted(&slot) {
            return Err(failed(UNGRANTED.to_string()));
        }
        let spent = Spent::start(self.options().budget);
        let ends = match from {
            Some(invocation) => spent.ends.min(invocation.ends),
            None => spent.ends,
        };
        let mut state = match from {
            None => slot.state.lock().await,
            Some(_) => commands::lock_within(&slot, command, ends).await?,
        };
        if slot.is_retired() {
            return Err(CommandError::UnknownPlugin(plugin.to_string()));
        }
        if state.live.is_none() {
            self.make_room_for(&slot);
        }
        let started = Instant::now();
        let chain = from.map_or(&[][..], |invocation| invocation.chain.as_slice());
        let (result, effects) = invoke::run_command(self, &slot, &mut state, command, args, ends, chain).await;
        drop(state);
        slot.touch(self.started);
        let audit = match &result {
            Err(Outcome::Trapped(abuse)) => vec![format!("stopped during command `{command}`: {abuse}")],
            _ => Vec::new(),
        };
        self.log(plugin, Some(&effects), &audit);
        let mut report = DispatchReport::default();
        let outcome = match &result {
            Ok(_) => Outcome::Handled,
            Err(outcome) => outcome.clone(),
        };
        slot.metrics
            .outcome(&outcome, true, effects.denied.len(), started.elapsed());
        self.judge_call(&slot, &outcome, &effects, &mut report);
        match result {
            Ok(text) => Ok(CommandOutput { text, effects }),
            Err(Outcome::Trapped(abuse)) => Err(failed(abuse.to_string())),
            Err(Outcome::Rejected(error)) => Err(CommandError::Rejected {
                plugin: plugin.to_string(),
                command: command.to_string(),
                error,
            }),
            Err(Outcome::CommitFailed(why)) => Err(failed(format!("its task changes were refused: {why}"))),
            Err(other) => Err(failed(other.to_string())),
        }
    }

    async fn start_all(self: &Arc<Self>) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        let mut results = Vec::new();
        let mut report = DispatchReport::default();
        for slot in self.snapshot().iter() {
            if slot.plugin.is_data_only() || slot.is_retired() {
                continue;
            }
            if ungranted(slot) {
                results.push((slot.id.clone(), Err(Outcome::Unavailable(UNGRANTED.to_string()))));
                continue;
            }
            // A trap in `init` counts like a trap anywhere else; as nothing
            // else may start the plugin again (it may subscribe to nothing),
            // it is started again until it starts or its strikes of that
            // kind quarantine it.
            let mut attempts = 0;
            let result = loop {
                let spent = Spent::start(self.options().budget);
                let mut state = slot.state.lock().await;
                if state.live.is_none() {
                    self.make_room_for(slot);
                }
                let started = invoke::start(self, slot, &mut state, spent.ends).await;
                drop(state);
                slot.touch(self.started);
                let result = match started {
                    Ok(effects) => {
                        self.log(&slot.id, Some(&effects), &[]);
                        self.judge_call(slot, &Outcome::Handled, &effects, &mut report);
                        Ok(effects)
                    }
                    Err((outcome, effects)) => {
                        // What it wrote before failing (a panic message, a
                        // traceback) goes to its log with the failure.
                        self.log(&slot.id, Some(&effects), &[format!("could not start: {outcome}")]);
                        Err(outcome)
                    }
                };
                let Err(Outcome::Trapped(abuse)) = &result else {
                    break result;
                };
                slot.metrics.trapped(abuse.kind);
                attempts += 1;
                let threshold = self.judge().policy.threshold(abuse.kind);
                if self.strike(slot, abuse, 1, &mut report) || threshold == 0 || attempts >= threshold {
                    break result;
                }
            };
            results.push((slot.id.clone(), result));
        }
        results
    }
}

/// Why an ungranted plugin runs no code.
const UNGRANTED: &str = "it was granted nothing of what its manifest requests, so none of its code runs \
                         (grant it what it needs, e.g. `plugboard grant ID --all-requested`)";

/// Whether a plugin is ungranted: its manifest requests something and the
/// user granted none of it. Such a plugin runs no code at all: it receives
/// no event, `start_all` does not instantiate it and its commands are
/// refused. A plugin whose manifest requests nothing has nothing to grant,
/// and runs (it can only compute and log, within its limits).
fn ungranted(slot: &Slot) -> bool {
    let granted = &slot.plugin.policy;
    if **granted != crate::policy::Policy::deny_all() {
        return false;
    }
    let requested = crate::policy::Policy::new(&slot.plugin.manifest, &crate::grants::Grants::everything_requested());
    requested != crate::policy::Policy::deny_all()
}

impl Dispatcher {
    /// A dispatcher with no plugins, serving the given application services,
    /// with the default strike thresholds and a quarantine kept in memory.
    pub fn new(runtime: &Runtime, services: HostServices) -> Dispatcher {
        let pool_slots = runtime
            .options()
            .pooling
            .as_ref()
            .map(|pool| pool.total_component_instances as usize);
        Dispatcher {
            shared: Arc::new_cyclic(|me| Shared {
                me: me.clone(),
                runtime: runtime.clone(),
                fuel: runtime.options().fuel,
                judge: Mutex::new(Judge::new(services.clock.clone())),
                logs_on: AtomicBool::new(false),
                listeners: Mutex::new(Vec::new()),
                instances: InstanceHook::default(),
                services,
                plugins: RwLock::new(Arc::new(Roster::new(Vec::new()))),
                options: RwLock::new(DispatcherOptions::default()),
                pool_slots,
                started: Instant::now(),
                idle_due: AtomicU64::new(0),
            }),
        }
    }

    /// Drops idle instances, caps the live ones and bounds each dispatch as
    /// `options` says.
    pub fn with_options(self, options: DispatcherOptions) -> Dispatcher {
        *self.shared.options.write().unwrap_or_else(|e| e.into_inner()) = options;
        // A new idle timeout may make instances due sooner.
        self.shared.idle_due.store(0, Ordering::Relaxed);
        self
    }

    /// When instances are dropped, and the budget of each dispatch.
    pub fn options(&self) -> DispatcherOptions {
        self.shared.options()
    }

    /// Writes each plugin's log lines, denied calls, traps and quarantine
    /// to `logs` (usually `plugboard-state`'s `PluginLogFiles` in the host's
    /// data folder); without it nothing is logged. Pass an `Arc` to keep a
    /// handle that reads what was written.
    ///
    /// The lines are written by a thread of the dispatcher's own, not by
    /// the dispatch that produced them: a dispatch hands them over and goes
    /// on. They are all written before a quarantine is reported, when the
    /// dispatcher is dropped, and when [`Dispatcher::flush_logs`] returns.
    pub fn with_logs(self, logs: impl PluginLogSink + 'static) -> Dispatcher {
        self.shared.judge().logs = Some(LogWriter::start(Arc::new(logs)));
        self.shared.logs_on.store(true, Ordering::Relaxed);
        self
    }

    /// Waits until every log line handed over so far is written to the
    /// sink given to [`Dispatcher::with_logs`].
    pub fn flush_logs(&self) {
        // Taken out of the judge's lock, so that dispatches go on meanwhile.
        let writer = self.shared.judge().logs.as_ref().map(LogWriter::flusher);
        if let Some(flush) = writer {
            flush.wait();
        }
    }

    /// Keeps quarantine records and strikes in `quarantine` (usually
    /// `plugboard-state`'s `QuarantineFile` on the host's data folder, so
    /// that they survive restarts) instead of in memory.
    pub fn with_quarantine(self, quarantine: impl QuarantineStore + 'static) -> Dispatcher {
        self.shared.judge().quarantine = Box::new(quarantine);
        self
    }

    /// Uses these strike thresholds.
    pub fn with_strike_policy(self, policy: StrikePolicy) -> Dispatcher {
        self.shared.judge().policy = policy;
        self
    }

    /// Delivers an event to every subscribed plugin, then the events they
    /// emitted, breadth first, up to [`MAX_EMIT_DEPTH`] and within the
    /// dispatch's [`DispatchBudget`]; then drops the instances the
    /// [`DispatcherOptions`] say to drop. The work runs on the host's
    /// threads, whatever runtime awaits it.
    pub async fn dispatch(&self, event: Event) -> DispatchReport {
        let shared = self.shared.clone();
        let task = self
            .shared
            .runtime
            .executor()
            .spawn(async move { shared.dispatch(&event).await });
        match task.await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!("a dispatch failed inside the host: {e}");
                DispatchReport::default()
            }
        }
    }

    /// [`Dispatcher::dispatch`] for callers that are not async: blocks the
    /// calling thread, which takes its share of the work. It may be called
    /// from any thread, inside an async runtime or not.
    pub fn dispatch_blocking(&self, event: &Event) -> DispatchReport {
        self.shared.runtime.executor().block_on(self.shared.dispatch(event))
    }

    /// Fires the timer `name` of `plugin`: a `timer` event offered to that
    /// plugin alone, and only when its manifest declares a timer of that
    /// name and it was granted `subscribe:timer` (another plugin declaring
    /// a timer of the same name is not told). What it emits goes to the
    /// subscribers as for any event, within the same budget.
    pub async fn fire_timer(&self, plugin: &str, name: &str) -> DispatchReport {
        let shared = self.shared.clone();
        let (plugin, event) = (plugin.to_string(), Event::Timer(name.to_string()));
        let task = self
            .shared
            .runtime
            .executor()
            .spawn(async move { shared.dispatch_to(&event, Some(&plugin)).await });
        match task.await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!("a timer failed inside the host: {e}");
                DispatchReport::default()
            }
        }
    }

    /// [`Dispatcher::fire_timer`] for callers that are not async.
    pub fn fire_timer_blocking(&self, plugin: &str, name: &str) -> DispatchReport {
        let event = Event::Timer(name.to_string());
        self.shared
            .runtime
            .executor()
            .block_on(self.shared.dispatch_to(&event, Some(plugin)))
    }

    /// Runs a command a v2 plugin offers; its task changes are committed
    /// when it succeeds, like an event handler's, and misbehaviour counts
    /// the same strikes.
    pub async fn run_command(
        &self,
        plugin: &str,
        command: &str,
        args: &[String],
    ) -> Result<CommandOutput, CommandError> {
        let shared = self.shared.clone();
        let (owned_plugin, owned_command, args) = (plugin.to_string(), command.to_string(), args.to_vec());
        let task = self
            .shared
            .runtime
            .executor()
            .spawn(async move { shared.run_command(&owned_plugin, &owned_command, &args, None).await });
        task.await.unwrap_or_else(|e| {
            Err(CommandError::Failed {
                plugin: plugin.to_string(),
                command: command.to_string(),
                message: format!("the host failed while running it (a bug in plugboard, not the plugin): {e}"),
            })
        })
    }

    /// [`Dispatcher::run_command`] for callers that are not async.
    pub fn run_command_blocking(
        &self,
        plugin: &str,
        command: &str,
        args: &[String],
    ) -> Result<CommandOutput, CommandError> {
        self.shared
            .runtime
            .executor()
            .block_on(self.shared.run_command(plugin, command, args, None))
    }

    /// Instantiates every plugin that has code now and runs its `init`,
    /// instead of on its first event; returns each such plugin's result:
    /// what its `init` did, or why it could not start
    /// ([`Outcome::Unavailable`] when `init` refused or the plugin was
    /// granted nothing of what it requests, so runs no code;
    /// [`Outcome::Trapped`] when it trapped, which counts a strike: a
    /// plugin whose `init` traps is started again until it starts or that
    /// kind's strikes quarantine it, as nothing else may ever start it).
    /// Data-only plugins are left out: there is nothing to start.
    pub fn start_all_blocking(&self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        self.shared.runtime.executor().block_on(self.shared.start_all())
    }

    /// [`Dispatcher::start_all_blocking`] for async callers.
    pub async fn start_all(&self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        let shared = self.shared.clone();
        let task = self
            .shared
            .runtime
            .executor()
            .spawn(async move { shared.start_all().await });
        task.await.unwrap_or_else(|e| {
            tracing::error!("starting the plugins failed inside the host: {e}");
            Vec::new()
        })
    }

    /// Adds a loaded plugin; it is instantiated when its first event comes.
    /// A data-only plugin is listed but never receives events. A
    /// quarantined plugin is refused.
    pub fn add(&self, plugin: LoadedPlugin) -> Result<(), AddError> {
        let mut judge = self.shared.judge();
        if let Some(record) = judge.quarantine.get(plugin.id()) {
            return Err(AddError::Quarantined(record.clone()));
        }
        let slot = Arc::new(Slot::new(plugin));
        self.shared.edit_plugins(|list| {
            if list.iter().any(|s| s.id == slot.id) {
                return Err(AddError::Duplicate(slot.id.to_string()));
            }
            let strikes = judge.quarantine.strikes(&slot.id);
            judge.strikes.insert(slot.id.clone(), strikes);
            list.push(slot);
            Ok(())
        })
    }

    /// Swaps in a new build of a loaded plugin (hot reload): its old
    /// instance is dropped once its current call ends, the next event
    /// starts the new one, which runs `init` again. Durable state is kept,
    /// since it lives in the state store under the same id; strikes are
    /// kept too. A plugin not loaded yet is added. Returns the plugin that
    /// was replaced.
    pub fn replace(&self, plugin: LoadedPlugin) -> Result<Option<LoadedPlugin>, AddError> {
        let judge = self.shared.judge();
        if let Some(record) = judge.quarantine.get(plugin.id()) {
            return Err(AddError::Quarantined(record.clone()));
        }
        drop(judge);
        let slot = Arc::new(Slot::new(plugin));
        let old = self.shared.edit_plugins(|list| {
            let index = list.iter().position(|s| s.id == slot.id)?;
            let old = std::mem::replace(&mut list[index], slot.clone());
            old.retire();
            // Decided before the new build is visible to any dispatch: it
            // waits for the old build when that one still owes a `shutdown`
            // or is busy in a call, else for whatever the old build was
            // itself waiting for (so a chain of builds that never ran is
            // not kept in memory).
            let wait_for_old = match old.state.try_lock() {
                Ok(mut state) => {
                    self.shared.unload_instance(&old, &mut state);
                    state.closing.is_some()
                }
                Err(_) => true,
            };
            let before = if wait_for_old {
                Some(old.clone())
            } else {
                old.predecessor.lock().unwrap_or_else(|e| e.into_inner()).take()
            };
            *slot.predecessor.lock().unwrap_or_else(|e| e.into_inner()) = before;
            Some(old)
        });
        match old {
            Some(old) => Ok(Some(old.plugin.clone())),
            None => {
                let plugin = slot.plugin.clone();
                drop(slot);
                self.add(plugin)?;
                Ok(None)
            }
        }
    }

    /// Reloads the plugin in `dir` (its files changed): the new build is
    /// loaded and checked first, and only swapped in if that succeeds; when
    /// it fails, the old build keeps running and the error says why.
    pub fn reload_dir(
        &self,
        runtime: &Runtime,
        dir: &Path,
        options: &LoadOptions,
    ) -> Result<ReloadOutcome, ReloadError> {
        let plugin = runtime.load_dir(dir, options).map_err(|error| ReloadError::Load {
            dir: dir.to_path_buf(),
            kept: self
                .shared
                .snapshot()
                .iter()
                .find(|s| s.plugin.dir == dir)
                .map(|s| s.id.to_string()),
            error: Box::new(error),
        })?;
        let id = plugin.id().to_string();
        let version = plugin.manifest.plugin.version.to_string();
        let previous = self.replace(plugin).map_err(ReloadError::Refused)?;
        Ok(match previous {
            Some(old) => ReloadOutcome::Replaced {
                id,
                from: old.manifest.plugin.version.to_string(),
                to: version,
            },
            None => ReloadOutcome::Added { id, version },
        })
    }

    /// Unloads the plugin that was loaded from `dir` (its folder was
    /// deleted); returns its id.
    pub fn unload_dir(&self, dir: &Path) -> Option<String> {
        let id = self
            .shared
            .snapshot()
            .iter()
            .find(|s| s.plugin.dir == dir)
            .map(|s| s.id.clone())?;
        self.shared.retire(&id).map(|slot| slot.id.to_string())
    }

    /// Unloads a plugin; returns whether it was loaded.
    pub fn remove(&self, id: &str) -> bool {
        self.shared.retire(id).is_some()
    }

    /// The loaded plugins, in the order they receive events.
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.shared.snapshot().iter().map(|s| s.plugin.clone()).collect()
    }

    /// How many plugins have a live instance now.
    pub fn live_count(&self) -> usize {
        self.shared.snapshot().iter().filter(|s| s.is_live()).count()
    }

    /// How a loaded plugin says it is (its `lifecycle.health`, under
    /// [`HEALTH_DEADLINE`]; started first if it has no instance); `None`
    /// when no plugin of this id is loaded.
    pub fn health_blocking(&self, id: &str) -> Option<Health> {
        let slot = self.shared.snapshot().iter().find(|s| &*s.id == id).cloned()?;
        if ungranted(&slot) || slot.unavailable.get().is_some() {
            return Some(Health::Unhealthy(
                slot.unavailable.get().cloned().unwrap_or_else(|| UNGRANTED.to_string()),
            ));
        }
        Some(self.shared.runtime.executor().block_on(self.shared.health(&slot)))
    }

    /// Stops every live instance: each plugin that exports `lifecycle` gets
    /// its `shutdown` (under [`SHUTDOWN_DEADLINE`] each, what it stages
    /// committed) once its current call ends; returns when all are done.
    /// The plugins stay loaded: the next event starts them again.
    pub fn stop_instances_blocking(&self) {
        let shared = self.shared.clone();
        self.shared.runtime.executor().block_on(async move {
            for slot in shared.snapshot().iter() {
                // The lock is held until the shutdown ends, so the next
                // event's instance starts after it.
                let mut state = slot.state.lock().await;
                shared.finish_closing(slot, &mut state).await;
                if shared.take_instance(slot, &mut state) {
                    shared.finish_closing(slot, &mut state).await;
                }
            }
        });
    }

    /// Waits until every instance already unloaded (idle, over the live
    /// cap) has run its `shutdown`, each under [`SHUTDOWN_DEADLINE`]; live
    /// instances are left alone, but a plugin busy in a call is waited for
    /// until the call ends (at most its deadline). For an application that
    /// wants what those shutdowns write before it goes on, and for
    /// measuring memory.
    pub fn finish_shutdowns_blocking(&self) {
        let shared = self.shared.clone();
        self.shared.runtime.executor().block_on(async move {
            for slot in shared.snapshot().iter() {
                let mut state = slot.state.lock().await;
                shared.finish_closing(slot, &mut state).await;
            }
        });
    }

    /// Whether a plugin currently has a live instance.
    pub fn is_live(&self, id: &str) -> bool {
        self.shared.snapshot().iter().any(|s| &*s.id == id && s.is_live())
    }

    /// Drops the instances idle for at least the idle timeout (nothing when
    /// none is set); returns the plugins whose instance was dropped. Their
    /// next event re-creates it and runs `init` again; their state is kept.
    pub fn evict_idle(&self) -> Vec<Arc<str>> {
        let evicted = self.shared.evict_idle(&self.shared.options(), Instant::now());
        evicted
            .into_iter()
            .map(|(slot, closing)| {
                if closing {
                    self.shared.spawn_closing(&slot);
                }
                slot.id.clone()
            })
            .collect()
    }

    /// The strikes a loaded plugin has collected.
    pub fn strikes(&self, id: &str) -> Option<Strikes> {
        if !self.shared.snapshot().iter().any(|s| &*s.id == id) {
            return None;
        }
        Some(self.shared.judge().strikes.get(id).cloned().unwrap_or_default())
    }

    /// Calls `listener` whenever a plugin is quarantined. The listener may
    /// use the dispatcher, except to add another listener.
    pub fn on_quarantine(&self, listener: impl FnMut(&QuarantineRecord) + Send + 'static) {
        lock(&self.shared.listeners).push(Box::new(listener));
    }

    /// Calls `listener` whenever an instance starts (made, and its `init`
    /// returned Ok) or is dropped for idleness or the cap on live
    /// instances, on the thread that did it; it must return quickly. One
    /// listener at most: returns `false`, keeping the first, when one was
    /// set already. Without one, starting or dropping an instance costs one
    /// atomic load more.
    pub fn on_instance(&self, listener: impl Fn(&InstanceEvent<'_>) + Send + Sync + 'static) -> bool {
        self.shared.instances.set(Box::new(listener))
    }

    /// The quarantine record of a plugin, if it is quarantined.
    pub fn quarantined(&self, plugin: &str) -> Option<QuarantineRecord> {
        self.shared.judge().quarantine.get(plugin).cloned()
    }

    /// Every quarantine record.
    pub fn quarantine_records(&self) -> Vec<QuarantineRecord> {
        self.shared.judge().quarantine.list()
    }

    /// Lets a quarantined plugin be added again, and forgives its strikes.
    /// An error means the release holds for this run but the store could
    /// not keep it.
    pub fn release(&self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        let mut judge = self.shared.judge();
        judge.strikes.remove(plugin);
        judge.quarantine.release(plugin)
    }

    /// Quarantine records and log lines that were applied but could not be
    /// saved.
    pub fn persist_errors(&self) -> Vec<String> {
        self.shared.judge().persist_errors()
    }
}
