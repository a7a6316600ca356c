//! Delivering application events to plugins: each through its own world
//! version, each in its own instance (created on its first event, reused
//! from one event to the next, dropped when idle or when too many are live),
//! each call under its limits, its task changes committed only if it
//! succeeds, and a plugin that abuses its limits struck and quarantined.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard_manifest::Subscription;
use wasmtime::{Engine, PoolConcurrencyLimitError, Store};

use crate::abi::v1::{V1Call, event_down};
use crate::abuse::{Abuse, AbuseKind, StrikePolicy, Strikes, classify};
use crate::bindings::{v1, v2};
use crate::context::{CallEffects, PluginContext};
use crate::limits::MAX_EMIT_DEPTH;
use crate::loader::{LoadError, LoadOptions, LoadedPlugin, PluginPre};
use crate::plugin_log::{LogEntry, PluginLogs};
use crate::quarantine::{Quarantine, QuarantineError, QuarantineRecord};
use crate::runtime::Runtime;
use crate::services::HostServices;
use crate::types::{CustomEvent, Event, PluginError};
use crate::world::WorldVersion;

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
    /// The handler returned Ok and its task changes were committed.
    Handled,
    /// The handler returned an error; its task changes were discarded.
    Rejected(String),
    /// The call trapped (a crash, or a limit the host enforced); its task
    /// changes were discarded and the instance was dropped, so the next
    /// event gets a fresh one.
    Trapped(Abuse),
    /// The handler returned Ok but the application's store refused the
    /// batch of changes (a task changed meanwhile); nothing was applied.
    CommitFailed(String),
    /// The plugin is subscribed but its world has no form of this event.
    NotDelivered(String),
    /// The plugin could not be started: its `init` returned an error.
    Unavailable(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Handled => f.write_str("handled"),
            Outcome::Rejected(why) => write!(f, "rejected: {why}"),
            Outcome::Trapped(abuse) => write!(f, "trapped ({}): {}", abuse.kind, abuse.detail),
            Outcome::CommitFailed(why) => write!(f, "commit refused: {why}"),
            Outcome::NotDelivered(why) => write!(f, "not delivered ({why})"),
            Outcome::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
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
    /// What the call did. `changes` lists only what was committed.
    pub effects: CallEffects,
}

/// Everything one `dispatch` caused, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// One entry per plugin the event (or an event it caused) was offered to.
    pub deliveries: Vec<Delivery>,
    /// Emitted events cut off at the depth limit, by emitter and topic.
    pub dropped_emits: Vec<(Arc<str>, String)>,
    /// Plugins quarantined while handling this event.
    pub quarantined: Vec<QuarantineRecord>,
}

/// What a command returned and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The text to show the user.
    pub text: String,
    /// What the call did; `changes` lists what was committed.
    pub effects: CallEffects,
}

/// Why a command could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No loaded plugin has this id.
    #[error("no plugin `{0}` is loaded")]
    UnknownPlugin(String),
    /// The plugin is data only: it has no code, so no commands.
    #[error("plugin `{0}` is data only (its manifest names no component), so it has no commands")]
    DataOnly(String),
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
    /// The call trapped, its changes could not be committed, or the plugin
    /// could not start.
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

/// What a hot reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new build replaced the running one.
    Replaced {
        /// The plugin id.
        id: String,
        /// The version that was running.
        from: String,
        /// The version now running.
        to: String,
    },
    /// A plugin that was not loaded before was added.
    Added {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
}

/// Why a hot reload did not happen; the old build, if any, keeps running.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new build does not load.
    #[error("{}: the new build does not load{}: {error}", dir.display(), kept.as_ref().map(|id| format!(", `{id}` keeps running the old one")).unwrap_or_default())]
    Load {
        /// The plugin folder.
        dir: PathBuf,
        /// The plugin still running from that folder, if any.
        kept: Option<String>,
        /// Why it does not load.
        error: Box<LoadError>,
    },
    /// The plugin may not be loaded (quarantined).
    #[error(transparent)]
    Refused(AddError),
}

/// Why a plugin could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The plugin is quarantined; the user must re-enable it first.
    #[error("plugin `{}` is quarantined since {} for {}: {}; re-enable it (`plugboard enable`) to load it again", .0.plugin, crate::plugin_log::format_utc(.0.at), .0.kind, .0.reason)]
    Quarantined(QuarantineRecord),
    /// A plugin with this id is already loaded.
    #[error("a plugin with id `{0}` is already loaded")]
    Duplicate(String),
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
    /// When its instance last started or handled a call.
    last_used: Option<Instant>,
    strikes: Strikes,
    /// Set when `init` refused to start; the plugin gets no more events.
    unavailable: Option<String>,
}

impl Slot {
    /// Whether its world has a form of `event` (a v1 plugin cannot take
    /// every v2 event).
    fn accepts(&self, event: &Event) -> bool {
        match self.plugin.world() {
            Some(world) if world.version == WorldVersion::V1 => event_down(event).is_some(),
            Some(_) => true,
            None => false,
        }
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
}

/// When the dispatcher drops plugin instances. The default keeps every
/// instance from its first event until the plugin is removed.
///
/// Dropping an instance never loses durable data, because a plugin's
/// durable data lives in its state (the [`StateStore`]), never in its
/// instance: the next event re-creates the instance and runs its `init`
/// again, and it finds its state as it left it. Whatever a plugin keeps in
/// linear memory (globals, caches) is a cache that may vanish between any
/// two events; plugin authors must keep what matters in state.
///
/// [`StateStore`]: crate::state_store::StateStore
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
    /// `total_component_instances` is the cap when this is not set.
    pub max_live_instances: Option<usize>,
}

/// A callback the embedding app registers to hear of quarantines.
pub type QuarantineListener = Box<dyn FnMut(&QuarantineRecord) + Send>;

/// Holds the loaded plugins and delivers events to them.
pub struct Dispatcher {
    engine: Engine,
    fuel: bool,
    services: HostServices,
    slots: Vec<Slot>,
    strike_policy: StrikePolicy,
    quarantine: Quarantine,
    listeners: Vec<QuarantineListener>,
    /// Quarantine records and log lines that could not be written.
    persist_errors: Vec<String>,
    logs: Option<PluginLogs>,
    options: DispatcherOptions,
    /// The pooling allocator's instance slots, when it is on.
    pool_slots: Option<usize>,
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

/// Why a handler call did not return Ok.
enum CallFailure {
    Rejected(String),
    Trapped(wasmtime::Error),
}

impl Dispatcher {
    /// A dispatcher with no plugins, serving the given application services,
    /// with the default strike thresholds and a quarantine kept in memory.
    pub fn new(runtime: &Runtime, services: HostServices) -> Dispatcher {
        Dispatcher {
            engine: runtime.engine().clone(),
            fuel: runtime.options().fuel,
            services,
            slots: Vec::new(),
            strike_policy: StrikePolicy::default(),
            quarantine: Quarantine::in_memory(),
            listeners: Vec::new(),
            persist_errors: Vec::new(),
            logs: None,
            options: DispatcherOptions::default(),
            pool_slots: runtime
                .options()
                .pooling
                .as_ref()
                .map(|pool| pool.total_component_instances as usize),
        }
    }

    /// Drops idle instances and caps the live ones as `options` says.
    pub fn with_options(mut self, options: DispatcherOptions) -> Dispatcher {
        self.options = options;
        self
    }

    /// When instances are dropped.
    pub fn options(&self) -> &DispatcherOptions {
        &self.options
    }

    /// The most live instances kept: the configured cap, else the pool's.
    fn max_live(&self) -> Option<usize> {
        match (self.options.max_live_instances, self.pool_slots) {
            (Some(cap), Some(pool)) => Some(cap.min(pool)),
            (cap, pool) => cap.or(pool),
        }
    }

    /// How many plugins have a live instance now.
    pub fn live_count(&self) -> usize {
        self.slots.iter().filter(|s| s.live.is_some()).count()
    }

    /// Drops the instances idle for at least the idle timeout (nothing when
    /// none is set); returns the plugins whose instance was dropped. Their
    /// next event re-creates it and runs `init` again; their state is kept.
    pub fn evict_idle(&mut self) -> Vec<Arc<str>> {
        let Some(timeout) = self.options.idle_timeout else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut dropped = Vec::new();
        for slot in &mut self.slots {
            let idle = slot
                .last_used
                .is_none_or(|used| now.saturating_duration_since(used) >= timeout);
            if slot.live.is_some() && idle {
                slot.live = None;
                tracing::debug!(plugin = %slot.id, "dropped an idle instance");
                dropped.push(slot.id.clone());
            }
        }
        dropped
    }

    /// Drops the least recently used instances, never `keep`'s, until at
    /// most `room` are live.
    fn drop_least_recently_used(&mut self, room: usize, keep: Option<usize>) {
        while self.live_count() > room {
            let oldest = self
                .slots
                .iter()
                .enumerate()
                .filter(|(index, slot)| slot.live.is_some() && Some(*index) != keep)
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(index, _)| index);
            let Some(index) = oldest else {
                return;
            };
            let slot = &mut self.slots[index];
            slot.live = None;
            tracing::debug!(plugin = %slot.id, "dropped the least recently used instance");
        }
    }

    /// Makes room for the instance of slot `index` before it is created.
    fn make_room_for(&mut self, index: usize) {
        if self.slots[index].live.is_some() {
            return;
        }
        if let Some(max) = self.max_live() {
            self.drop_least_recently_used(max.saturating_sub(1), Some(index));
        }
    }

    /// Applies the idle timeout and the cap on live instances.
    fn tidy_instances(&mut self) {
        self.evict_idle();
        if let Some(max) = self.max_live() {
            self.drop_least_recently_used(max, None);
        }
    }

    /// Writes each plugin's log lines, denied calls, traps and quarantine
    /// to its log file.
    pub fn with_logs(mut self, logs: PluginLogs) -> Dispatcher {
        self.logs = Some(logs);
        self
    }

    fn write_log(&mut self, plugin: &str, effects: Option<&CallEffects>, audit: Vec<String>) {
        let Some(logs) = &self.logs else {
            return;
        };
        let mut entries: Vec<LogEntry<'_>> = Vec::new();
        if let Some(effects) = effects {
            entries.extend(effects.logs.iter().map(LogEntry::Plugin));
            entries.extend(
                effects
                    .denied
                    .iter()
                    .map(|p| LogEntry::Audit(format!("denied: not granted `{p}`"))),
            );
        }
        entries.extend(audit.into_iter().map(LogEntry::Audit));
        if let Err(e) = logs.append(plugin, (self.services.clock)(), &entries) {
            self.persist_errors.push(format!("log of plugin `{plugin}`: {e}"));
        }
    }

    /// Uses this quarantine (usually [`Quarantine::open`] on the host's data
    /// folder, so that it survives restarts).
    pub fn with_quarantine(mut self, quarantine: Quarantine) -> Dispatcher {
        self.quarantine = quarantine;
        self
    }

    /// Uses these strike thresholds.
    pub fn with_strike_policy(mut self, policy: StrikePolicy) -> Dispatcher {
        self.strike_policy = policy;
        self
    }

    /// Calls `listener` whenever a plugin is quarantined.
    pub fn on_quarantine(&mut self, listener: impl FnMut(&QuarantineRecord) + Send + 'static) {
        self.listeners.push(Box::new(listener));
    }

    /// The quarantine.
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// Lets a quarantined plugin be added again.
    pub fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineError> {
        self.quarantine.release(plugin)
    }

    /// Quarantine records that were applied but could not be saved.
    pub fn persist_errors(&self) -> &[String] {
        &self.persist_errors
    }

    /// Adds a loaded plugin; it is instantiated when its first event comes.
    /// A data-only plugin is listed but never receives events. A
    /// quarantined plugin is refused.
    pub fn add(&mut self, plugin: LoadedPlugin) -> Result<(), AddError> {
        if let Some(record) = self.quarantine.get(plugin.id()) {
            return Err(AddError::Quarantined(record.clone()));
        }
        if self.slots.iter().any(|s| &*s.id == plugin.id()) {
            return Err(AddError::Duplicate(plugin.id().to_string()));
        }
        let id: Arc<str> = Arc::from(plugin.id());
        let strikes = self.quarantine.strikes(&id);
        self.slots.push(Slot {
            plugin,
            id,
            live: None,
            last_used: None,
            strikes,
            unavailable: None,
        });
        Ok(())
    }

    /// Swaps in a new build of a loaded plugin between events (hot reload):
    /// its old instance is dropped, the next event starts the new one, which
    /// runs `init` again. Durable state is kept, since it lives in the state
    /// store under the same id; strikes are kept too. A plugin not loaded yet
    /// is added. Returns the plugin that was replaced.
    pub fn replace(&mut self, plugin: LoadedPlugin) -> Result<Option<LoadedPlugin>, AddError> {
        if let Some(record) = self.quarantine.get(plugin.id()) {
            return Err(AddError::Quarantined(record.clone()));
        }
        let Some(slot) = self.slots.iter_mut().find(|s| &*s.id == plugin.id()) else {
            self.add(plugin)?;
            return Ok(None);
        };
        slot.live = None;
        slot.last_used = None;
        slot.unavailable = None;
        Ok(Some(std::mem::replace(&mut slot.plugin, plugin)))
    }

    /// Reloads the plugin in `dir` (its files changed): the new build is
    /// loaded and checked first, and only swapped in if that succeeds; when
    /// it fails, the old build keeps running and the error says why.
    pub fn reload_dir(
        &mut self,
        runtime: &Runtime,
        dir: &Path,
        options: &LoadOptions,
    ) -> Result<ReloadOutcome, ReloadError> {
        let plugin = runtime.load_dir(dir, options).map_err(|error| ReloadError::Load {
            dir: dir.to_path_buf(),
            kept: self
                .slots
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
    pub fn unload_dir(&mut self, dir: &Path) -> Option<String> {
        let index = self.slots.iter().position(|s| s.plugin.dir == dir)?;
        Some(self.slots.remove(index).id.to_string())
    }

    /// Unloads a plugin; returns whether it was loaded.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.slots.len();
        self.slots.retain(|s| &*s.id != id);
        self.slots.len() != before
    }

    /// The loaded plugins, in the order they receive events.
    pub fn plugins(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.slots.iter().map(|s| &s.plugin)
    }

    /// Whether a plugin currently has a live instance.
    pub fn is_live(&self, id: &str) -> bool {
        self.slots.iter().any(|s| &*s.id == id && s.live.is_some())
    }

    /// The strikes a loaded plugin has collected.
    pub fn strikes(&self, id: &str) -> Option<&Strikes> {
        self.slots.iter().find(|s| &*s.id == id).map(|s| &s.strikes)
    }

    /// Instantiates every plugin that has code now and runs its `init`,
    /// instead of on its first event; returns each such plugin's result:
    /// what its `init` did, or why it could not start
    /// ([`Outcome::Unavailable`] when `init` refused, [`Outcome::Trapped`]
    /// when it trapped, which counts a strike). Data-only plugins are left
    /// out: there is nothing to start.
    pub fn start_all(&mut self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        let mut results = Vec::new();
        let mut abuses = Vec::new();
        for index in 0..self.slots.len() {
            if self.slots[index].plugin.is_data_only() {
                continue;
            }
            self.make_room_for(index);
            let slot = &mut self.slots[index];
            let result = match ensure_live(&self.engine, self.fuel, &self.services, slot) {
                Ok(Some(effects)) => Ok(effects),
                Ok(None) => Ok(CallEffects::default()),
                Err(Start::Refused(why)) => Err(Outcome::Unavailable(why)),
                Err(Start::Trapped(abuse)) => {
                    abuses.push((index, abuse.clone()));
                    Err(Outcome::Trapped(abuse))
                }
            };
            slot.last_used = Some(Instant::now());
            results.push((slot.id.clone(), result));
        }
        for (id, result) in &results {
            match result {
                Ok(effects) => self.write_log(id, Some(effects), Vec::new()),
                Err(outcome) => self.write_log(id, None, vec![format!("could not start: {outcome}")]),
            }
        }
        let mut report = DispatchReport::default();
        for (index, abuse) in abuses.into_iter().rev() {
            self.strike(index, &abuse, 0, &mut report);
        }
        results
    }

    /// Delivers an event to every subscribed plugin, then the events they
    /// emitted, breadth first, up to [`MAX_EMIT_DEPTH`]; then drops the
    /// instances the [`DispatcherOptions`] say to drop.
    pub fn dispatch(&mut self, event: &Event) -> DispatchReport {
        let mut report = DispatchReport::default();
        let mut pending: VecDeque<(Event, u32)> = VecDeque::new();
        self.deliver(event, 0, &mut report, &mut pending);
        while let Some((emitted, depth)) = pending.pop_front() {
            self.deliver(&emitted, depth, &mut report, &mut pending);
        }
        self.tidy_instances();
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
        let mut index = 0;
        while index < self.slots.len() {
            let slot = &self.slots[index];
            if slot.unavailable.is_some() || !slot.subscribed(event) {
                index += 1;
                continue;
            }
            if slot.accepts(event) {
                self.make_room_for(index);
            }
            let slot = &mut self.slots[index];
            let (outcome, effects) = call_handler(&self.engine, self.fuel, &self.services, slot, event);
            slot.last_used = Some(Instant::now());
            let mut storm = None;
            if outcome == Outcome::Handled {
                for emitted in &effects.emitted {
                    if depth + 1 > MAX_EMIT_DEPTH {
                        report.dropped_emits.push((slot.id.clone(), emitted.topic.clone()));
                        storm = Some(Abuse {
                            kind: AbuseKind::EventStorm,
                            detail: format!(
                                "its event `{}` continued an emit chain past depth {MAX_EMIT_DEPTH} and was dropped",
                                emitted.topic
                            ),
                        });
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
            let denied = effects.denied.len() as u32;
            let trapped = match &outcome {
                Outcome::Trapped(abuse) => Some(abuse.clone()),
                _ => None,
            };
            let audit = match &outcome {
                Outcome::Trapped(abuse) => vec![format!("stopped during {kind}: {abuse}")],
                Outcome::CommitFailed(why) => vec![format!("task changes refused: {why}")],
                Outcome::Rejected(why) => vec![format!("{kind} handler returned an error: {why}")],
                _ => Vec::new(),
            };
            let id = slot.id.clone();
            self.write_log(&id, Some(&effects), audit);

            report.deliveries.push(Delivery {
                plugin: id,
                event: kind,
                depth,
                outcome,
                effects,
            });
            let mut quarantined = false;
            if denied > 0 {
                let abuse = Abuse {
                    kind: AbuseKind::Denied,
                    detail: format!("made {denied} call(s) it was not granted"),
                };
                quarantined |= self.strike_n(index, &abuse, denied, report);
            }
            for abuse in trapped.iter().chain(storm.iter()) {
                if !quarantined {
                    quarantined |= self.strike(index, abuse, 0, report);
                }
            }
            if !quarantined {
                index += 1;
            }
        }
    }

    /// Counts one strike; quarantines past the threshold. Returns whether
    /// the plugin was quarantined (and so removed).
    fn strike(&mut self, index: usize, abuse: &Abuse, _depth: u32, report: &mut DispatchReport) -> bool {
        self.strike_n(index, abuse, 1, report)
    }

    fn strike_n(&mut self, index: usize, abuse: &Abuse, n: u32, report: &mut DispatchReport) -> bool {
        let slot = &mut self.slots[index];
        let count = slot.strikes.add(abuse.kind, n);
        let threshold = self.strike_policy.threshold(abuse.kind);
        let (id, strikes) = (slot.id.clone(), slot.strikes.clone());
        if let Err(e) = self.quarantine.record_strikes(&id, &strikes) {
            self.persist_errors.push(e.to_string());
        }
        let slot = &mut self.slots[index];
        tracing::warn!(plugin = %slot.id, kind = %abuse.kind, strikes = count, "plugin misbehaved: {}", abuse.detail);
        if threshold == 0 || count < threshold {
            return false;
        }
        let record = QuarantineRecord {
            plugin: slot.id.to_string(),
            version: slot.plugin.manifest.plugin.version.to_string(),
            kind: abuse.kind,
            reason: abuse.detail.clone(),
            strikes: count,
            at: (self.services.clock)(),
        };
        tracing::error!(plugin = %record.plugin, kind = %record.kind, "plugin quarantined: {}", record.reason);
        let message = format!(
            "quarantined after {} {} strike(s): {}",
            record.strikes, record.kind, record.reason
        );
        self.write_log(&record.plugin, None, vec![message]);
        self.slots.remove(index);
        if let Err(e) = self.quarantine.add(record.clone()) {
            self.persist_errors.push(e.to_string());
        }
        for listener in &mut self.listeners {
            listener(&record);
        }
        report.quarantined.push(record);
        true
    }

    /// Runs a command a v2 plugin offers; its task changes are committed
    /// when it succeeds, like an event handler's, and misbehaviour counts
    /// the same strikes.
    pub fn run_command(&mut self, plugin: &str, command: &str, args: &[String]) -> Result<CommandOutput, CommandError> {
        let index = self
            .slots
            .iter()
            .position(|s| &*s.id == plugin)
            .ok_or_else(|| CommandError::UnknownPlugin(plugin.to_string()))?;
        let failed = |message: String| CommandError::Failed {
            plugin: plugin.to_string(),
            command: command.to_string(),
            message,
        };
        let slot = &mut self.slots[index];
        match slot.plugin.world() {
            None => return Err(CommandError::DataOnly(plugin.to_string())),
            Some(world) if world.version == WorldVersion::V1 => {
                return Err(CommandError::NotAvailable(plugin.to_string()));
            }
            Some(_) => {}
        }
        if let Some(why) = &slot.unavailable {
            return Err(failed(why.clone()));
        }
        self.make_room_for(index);
        let slot = &mut self.slots[index];
        slot.last_used = Some(Instant::now());
        let init = match ensure_live(&self.engine, self.fuel, &self.services, slot) {
            Ok(init) => init,
            Err(Start::Refused(why)) => return Err(failed(why)),
            Err(Start::Trapped(abuse)) => {
                let message = abuse.to_string();
                self.strike(index, &abuse, 0, &mut DispatchReport::default());
                return Err(failed(message));
            }
        };
        let limits = slot.plugin.limits.clone();
        let Some(live) = slot.live.as_mut() else {
            return Err(failed("the instance could not be kept".into()));
        };
        let Handler::V2(handler) = &live.handler else {
            return Err(CommandError::NotAvailable(plugin.to_string()));
        };
        prepare_call(&mut live.store, &limits, self.fuel);
        let result = match handler
            .plugboard_task_events_handler()
            .call_run_command(&mut live.store, command, args)
        {
            Ok(Ok(text)) if text.len() as u64 > limits.max_value => {
                Err(CallFailure::Trapped(crate::abuse::LimitExceeded::trap(
                    AbuseKind::LargeValue,
                    format!(
                        "returned {} bytes of text; the most is {}",
                        text.len(),
                        limits.max_value
                    ),
                )))
            }
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(CallFailure::Rejected(render(&e))),
            Err(trap) => Err(CallFailure::Trapped(trap)),
        };
        let (result, effects) = finish_call(&self.services, slot, result);
        slot.last_used = Some(Instant::now());
        let effects = after_init(init, effects);
        let audit = match &result {
            Err(Outcome::Trapped(abuse)) => vec![format!("stopped during command `{command}`: {abuse}")],
            _ => Vec::new(),
        };
        self.write_log(plugin, Some(&effects), audit);
        let mut report = DispatchReport::default();
        let denied = effects.denied.len() as u32;
        let mut quarantined = false;
        if denied > 0 {
            let abuse = Abuse {
                kind: AbuseKind::Denied,
                detail: format!("made {denied} call(s) it was not granted"),
            };
            quarantined = self.strike_n(index, &abuse, denied, &mut report);
        }
        match result {
            Ok(text) => Ok(CommandOutput { text, effects }),
            Err(Outcome::Trapped(abuse)) => {
                if !quarantined {
                    self.strike(index, &abuse, 0, &mut report);
                }
                Err(failed(abuse.to_string()))
            }
            Err(Outcome::Rejected(error)) => Err(CommandError::Rejected {
                plugin: plugin.to_string(),
                command: command.to_string(),
                error,
            }),
            Err(Outcome::CommitFailed(why)) => Err(failed(format!("its task changes were refused: {why}"))),
            Err(other) => Err(failed(other.to_string())),
        }
    }
}

/// Why an instance could not be started.
enum Start {
    /// `init` returned an error.
    Refused(String),
    /// Instantiation or `init` trapped.
    Trapped(Abuse),
}

/// Sets the per-call limits and clears the per-call state.
fn prepare_call(store: &mut Store<PluginContext>, limits: &crate::limits::CallLimits, fuel: bool) {
    store.data_mut().begin_call();
    store.set_epoch_deadline(limits.deadline_ticks());
    if fuel {
        // Setting fuel only fails when fuel is off, which `fuel` rules out.
        let _ = store.set_fuel(limits.fuel);
    }
}

/// Makes sure the slot has a live instance, creating it and running `init`
/// if needed; returns `init`'s effects when it ran.
fn ensure_live(
    engine: &Engine,
    fuel: bool,
    services: &HostServices,
    slot: &mut Slot,
) -> Result<Option<CallEffects>, Start> {
    if slot.live.is_some() {
        return Ok(None);
    }
    let plugin = &slot.plugin;
    let Some(code) = &plugin.code else {
        return Err(Start::Refused("it is data only: it has no code to run".into()));
    };
    let context = PluginContext::new(
        slot.id.clone(),
        plugin.policy.clone(),
        plugin.limits.clone(),
        services.clone(),
        plugin.config.clone(),
    );
    let mut store = Store::new(engine, context);
    store.limiter(|context| &mut context.limiter);
    // Component start functions run during instantiation, under the same
    // limits as a call.
    prepare_call(&mut store, &plugin.limits, fuel);
    let instantiated = match &code.pre {
        PluginPre::V1(pre) => pre.instantiate(&mut store).map(Handler::V1),
        PluginPre::V2(pre) => pre.instantiate(&mut store).map(Handler::V2),
    };
    let handler = match instantiated {
        Ok(handler) => handler,
        // The host's pool is full: not the plugin's doing, so no strike, and
        // the next event tries again.
        Err(e) if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
            return Err(Start::Refused(format!(
                "the host has no room for another live plugin instance ({e}); it is tried again on the next event"
            )));
        }
        Err(e) => return Err(Start::Trapped(classify(&e, store.data()))),
    };
    let mut effects = None;
    if let Handler::V2(handler) = &handler {
        let settings: Vec<(String, String)> = plugin.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prepare_call(&mut store, &plugin.limits, fuel);
        let result = handler.plugboard_task_events_handler().call_init(&mut store, &settings);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let why = format!("init failed: {}", render(&e));
                slot.unavailable = Some(why.clone());
                return Err(Start::Refused(why));
            }
            Err(trap) => return Err(Start::Trapped(classify(&trap, store.data()))),
        }
        // Task changes in `init` are committed like a handler's.
        let changes = store.data_mut().tx.take();
        let mut taken = store.data_mut().take_effects();
        if !changes.is_empty() {
            if let Err(e) = services.tasks.commit(&changes) {
                return Err(Start::Refused(format!("init's task changes were refused: {e}")));
            }
            taken.changes = changes;
        }
        effects = Some(taken);
    }
    slot.live = Some(LiveInstance { store, handler });
    Ok(effects)
}

/// Commits or discards the call's task changes and gathers its effects.
fn finish_call<T>(
    services: &HostServices,
    slot: &mut Slot,
    result: Result<T, CallFailure>,
) -> (Result<T, Outcome>, CallEffects) {
    let Some(live) = slot.live.as_mut() else {
        return (
            Err(Outcome::Unavailable("no live instance".into())),
            CallEffects::default(),
        );
    };
    let context = live.store.data_mut();
    match result {
        Ok(value) => {
            let changes = context.tx.take();
            let mut effects = context.take_effects();
            if changes.is_empty() {
                return (Ok(value), effects);
            }
            match services.tasks.commit(&changes) {
                Ok(()) => {
                    effects.changes = changes;
                    (Ok(value), effects)
                }
                Err(e) => {
                    effects.discarded_changes = changes.len();
                    effects.emitted.clear();
                    (Err(Outcome::CommitFailed(e.to_string())), effects)
                }
            }
        }
        Err(failure) => {
            let discarded = context.tx.discard();
            let outcome = match failure {
                CallFailure::Rejected(why) => Outcome::Rejected(why),
                CallFailure::Trapped(trap) => Outcome::Trapped(classify(&trap, context)),
            };
            let mut effects = context.take_effects();
            effects.discarded_changes = discarded;
            effects.emitted.clear();
            if matches!(outcome, Outcome::Trapped(_)) {
                // A trapped instance may be in any state: never reuse it.
                slot.live = None;
            }
            (Err(outcome), effects)
        }
    }
}

fn call_handler(
    engine: &Engine,
    fuel: bool,
    services: &HostServices,
    slot: &mut Slot,
    event: &Event,
) -> (Outcome, CallEffects) {
    let Some(world) = slot.plugin.world() else {
        return (Outcome::NotDelivered("it is data only".into()), CallEffects::default());
    };
    let v1_call = match world.version {
        WorldVersion::V1 => match event_down(event) {
            Some(call) => Some(call),
            None => {
                let why = format!("{} has no task-events@1 form", event_kind(event));
                return (Outcome::NotDelivered(why), CallEffects::default());
            }
        },
        WorldVersion::V2 => None,
    };
    let init = match ensure_live(engine, fuel, services, slot) {
        Ok(init) => init,
        Err(Start::Refused(why)) => return (Outcome::Unavailable(why), CallEffects::default()),
        Err(Start::Trapped(abuse)) => return (Outcome::Trapped(abuse), CallEffects::default()),
    };
    let limits = slot.plugin.limits.clone();
    let Some(live) = slot.live.as_mut() else {
        return (Outcome::Unavailable("no live instance".into()), CallEffects::default());
    };
    prepare_call(&mut live.store, &limits, fuel);
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
    let result = match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) if why.len() as u64 > limits.max_value => {
            Err(CallFailure::Trapped(crate::abuse::LimitExceeded::trap(
                AbuseKind::LargeValue,
                format!("returned an error of {} bytes", why.len()),
            )))
        }
        Ok(Err(why)) => Err(CallFailure::Rejected(why)),
        Err(trap) => Err(CallFailure::Trapped(trap)),
    };
    match finish_call(services, slot, result) {
        (Ok(()), effects) => (Outcome::Handled, after_init(init, effects)),
        (Err(outcome), effects) => (outcome, after_init(init, effects)),
    }
}

/// The effects of a call, preceded by those of the `init` that started its
/// instance just before, if one did: a plugin (re-)started for an event
/// reports its `init` logs and changes with that event.
fn after_init(init: Option<CallEffects>, call: CallEffects) -> CallEffects {
    let Some(mut effects) = init else {
        return call;
    };
    effects.logs.extend(call.logs);
    effects.changes.extend(call.changes);
    effects.emitted.extend(call.emitted);
    effects.denied.extend(call.denied);
    effects.discarded_changes += call.discarded_changes;
    effects.dropped_output += call.dropped_output;
    effects
}
