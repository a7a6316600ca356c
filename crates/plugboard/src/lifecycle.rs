//! Lifecycle events: what happens to each plugin while a host lives, for an
//! application to show and log. [`crate::Host::subscribe`] hands out a
//! [`LifecycleEvents`] receiver; the host pushes every event into each
//! receiver's queue of fixed capacity and never waits for a subscriber, so
//! a slow or stalled one costs the host at most its queue: when the queue
//! is full the **oldest** event is dropped and counted
//! ([`LifecycleEvents::dropped`]). With no subscriber, publishing an event
//! is one atomic load; dispatching an event to a plugin whose instance is
//! live publishes nothing.

use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use plugboard_host::{InstanceDrop, InstanceEvent, QuarantineRecord};

use crate::reload::Reload;
use crate::report::{PluginReport, PluginStatus};

/// How many events a [`crate::Host::subscribe`] receiver holds before the
/// oldest is dropped.
pub const LIFECYCLE_QUEUE: usize = 1024;

/// Why a plugin was unloaded, or its instance dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnloadReason {
    /// Its instance handled nothing for the idle timeout; the plugin stays
    /// loaded and its next event starts it again.
    Idle,
    /// Its instance was the least recently used beyond the cap on live
    /// instances; its next event starts it again.
    LiveCap,
    /// Its folder was removed: it is no longer loaded.
    Removed,
}

/// One thing that happened to one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// Opening found the plugin in the folders; what became of it follows.
    Found {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
        /// Its folder.
        dir: PathBuf,
    },
    /// It was loaded (at open, in the background, or added by a reload): it
    /// gets the events it subscribed to and was granted.
    Loaded {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
    /// It was not loaded (or, for a reload, not swapped in: a build that
    /// was running keeps running).
    Refused {
        /// The plugin id; the folder's name when its manifest cannot be read.
        id: String,
        /// Its version, when known.
        version: Option<String>,
        /// Why, for the user: does not load, disabled, quarantined, a file
        /// changed since install, a dependency missing.
        reason: String,
    },
    /// An instance of it was made and its `init` returned Ok: on its first
    /// event (or [`crate::Host::start_all_blocking`]), and again after its
    /// instance was dropped.
    Started {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
    /// A new build of it was swapped in.
    Reloaded {
        /// The plugin id.
        id: String,
        /// The version that was running.
        from: String,
        /// The version now running.
        to: String,
    },
    /// Its instance was dropped (idle, over the cap), or the plugin itself
    /// unloaded (its folder removed).
    Unloaded {
        /// The plugin id.
        id: String,
        /// Its version, when known.
        version: Option<String>,
        /// Why.
        why: UnloadReason,
    },
    /// It misbehaved past its strike threshold: unloaded and quarantined.
    Quarantined {
        /// The plugin id.
        id: String,
        /// The version that misbehaved.
        version: String,
        /// The kind of abuse (`deadline`, `memory`, ...).
        kind: String,
        /// What happened.
        reason: String,
    },
    /// [`crate::Host::enable`] let a quarantined or disabled plugin load
    /// again; what loading it did follows.
    ReEnabled {
        /// The plugin id.
        id: String,
    },
}

impl LifecycleEvent {
    /// The plugin the event is about.
    pub fn id(&self) -> &str {
        match self {
            LifecycleEvent::Found { id, .. }
            | LifecycleEvent::Loaded { id, .. }
            | LifecycleEvent::Refused { id, .. }
            | LifecycleEvent::Started { id, .. }
            | LifecycleEvent::Reloaded { id, .. }
            | LifecycleEvent::Unloaded { id, .. }
            | LifecycleEvent::Quarantined { id, .. }
            | LifecycleEvent::ReEnabled { id } => id,
        }
    }

    /// What opening did with a plugin of its report, or `None` while it is
    /// still compiling and for a data-only plugin (there is nothing to load).
    fn of_status(report: &PluginReport) -> Option<LifecycleEvent> {
        let (id, version) = (report.id.clone(), report.version.clone());
        match &report.status {
            PluginStatus::Loaded(_) => Some(LifecycleEvent::Loaded { id, version }),
            PluginStatus::Compiling | PluginStatus::DataOnly => None,
            other => Some(LifecycleEvent::Refused {
                id,
                version: Some(version),
                reason: other.to_string(),
            }),
        }
    }

    /// What a reload did, as a lifecycle event (`None` for a deleted folder
    /// no plugin ran from).
    fn of_reload(reload: &Reload) -> Option<LifecycleEvent> {
        Some(match reload {
            Reload::Replaced { id, from, to } => LifecycleEvent::Reloaded {
                id: id.clone(),
                from: from.clone(),
                to: to.clone(),
            },
            Reload::Added { id, version } => LifecycleEvent::Loaded {
                id: id.clone(),
                version: version.clone(),
            },
            Reload::Unloaded { id, .. } => LifecycleEvent::Unloaded {
                id: id.clone(),
                version: None,
                why: UnloadReason::Removed,
            },
            Reload::Deleted { .. } => return None,
            Reload::Disabled { id, .. } => LifecycleEvent::Refused {
                id: id.clone(),
                version: None,
                reason: "disabled".to_string(),
            },
            Reload::Failed { dir, error } => LifecycleEvent::Refused {
                id: plugboard_manifest::Manifest::from_dir(dir)
                    .map(|m| m.plugin.id.as_str().to_string())
                    .unwrap_or_else(|_| dir.file_name().unwrap_or_default().to_string_lossy().into_owned()),
                version: None,
                reason: error.to_string(),
            },
        })
    }
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleEvent::Found { id, version, dir } => write!(f, "{id} {version} found in {}", dir.display()),
            LifecycleEvent::Loaded { id, version } => write!(f, "{id} {version} loaded"),
            LifecycleEvent::Refused { id, version, reason } => match version {
                Some(version) => write!(f, "{id} {version} refused: {reason}"),
                None => write!(f, "{id} refused: {reason}"),
            },
            LifecycleEvent::Started { id, version } => write!(f, "{id} {version} started"),
            LifecycleEvent::Reloaded { id, from, to } => write!(f, "{id} reloaded ({from} -> {to})"),
            LifecycleEvent::Unloaded { id, version, why } => {
                let version = version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                let why = match why {
                    UnloadReason::Idle => "instance dropped: idle",
                    UnloadReason::LiveCap => "instance dropped: too many live instances",
                    UnloadReason::Removed => "unloaded: its folder was removed",
                };
                write!(f, "{id}{version} {why}")
            }
            LifecycleEvent::Quarantined {
                id,
                version,
                kind,
                reason,
            } => write!(f, "{id} {version} quarantined for {kind}: {reason}"),
            LifecycleEvent::ReEnabled { id } => write!(f, "{id} re-enabled"),
        }
    }
}

/// One subscriber's queue.
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<LifecycleEvent>,
    dropped: u64,
    /// The host is gone: nothing more comes.
    closed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under these locks is a push, a pop or a flag: a panic
    // elsewhere cannot leave them half-changed.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    fn push(&self, event: LifecycleEvent) {
        let mut state = lock(&self.state);
        if state.events.len() >= self.capacity {
            state.events.pop_front();
            state.dropped += 1;
        }
        state.events.push_back(event);
        self.ready.notify_one();
    }
}

/// A subscription to a host's lifecycle events, from
/// [`crate::Host::subscribe`]. It first holds what opening did (each plugin
/// found, then loaded or refused, also for those loaded in the background
/// before it subscribed), then everything after. It holds at most its
/// capacity: past it the oldest event is dropped and counted. Once the
/// host's last handle is dropped, the receiver gives what it still holds,
/// then `None`. Dropping the receiver ends the subscription.
pub struct LifecycleEvents {
    queue: Arc<Queue>,
}

impl LifecycleEvents {
    /// The next event, waiting for it; `None` once the host is gone and
    /// every event has been taken.
    pub fn recv(&self) -> Option<LifecycleEvent> {
        let mut state = lock(&self.queue.state);
        loop {
            if let Some(event) = state.events.pop_front() {
                return Some(event);
            }
            if state.closed {
                return None;
            }
            state = self.queue.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<LifecycleEvent, RecvTimeoutError> {
        let until = Instant::now() + timeout;
        let mut state = lock(&self.queue.state);
        loop {
            if let Some(event) = state.events.pop_front() {
                return Ok(event);
            }
            if state.closed {
                return Err(RecvTimeoutError::Disconnected);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvTimeoutError::Timeout);
            }
            state = self
                .queue
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The next event if there is one now.
    pub fn try_recv(&self) -> Option<LifecycleEvent> {
        lock(&self.queue.state).events.pop_front()
    }

    /// How many events were dropped because the queue was full, since the
    /// subscription began.
    pub fn dropped(&self) -> u64 {
        lock(&self.queue.state).dropped
    }
}

/// Where the host publishes lifecycle events; shared by the host, its
/// reloader, its background loader and the dispatcher's listeners.
#[derive(Default)]
pub(crate) struct LifecycleBus {
    subscribers: Mutex<Vec<Arc<Queue>>>,
    /// How many subscribers there are, readable without the lock.
    count: AtomicUsize,
    /// What opening did, replayed to each new subscriber: two events per
    /// plugin found at most.
    opening: Mutex<Vec<LifecycleEvent>>,
}

impl LifecycleBus {
    /// A new subscription of `capacity` events, holding what opening did.
    pub fn subscribe(&self, capacity: usize) -> LifecycleEvents {
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        });
        // The opening lock is held while subscribing, so an opening event
        // published meanwhile is either replayed or pushed, never both.
        let opening = lock(&self.opening);
        for event in opening.iter() {
            queue.push(event.clone());
        }
        let mut subscribers = lock(&self.subscribers);
        subscribers.push(queue.clone());
        self.count.store(subscribers.len(), Ordering::Release);
        LifecycleEvents { queue }
    }

    /// Tells every subscriber.
    pub fn publish(&self, event: LifecycleEvent) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut subscribers = lock(&self.subscribers);
        // A receiver dropped by its subscriber holds no other reference.
        subscribers.retain(|queue| Arc::strong_count(queue) > 1);
        self.count.store(subscribers.len(), Ordering::Release);
        if let Some((last, others)) = subscribers.split_last() {
            for queue in others {
                queue.push(event.clone());
            }
            last.push(event);
        }
    }

    /// Publishes an event of opening, and keeps it for later subscribers.
    fn publish_opening(&self, event: LifecycleEvent) {
        let mut opening = lock(&self.opening);
        opening.push(event.clone());
        self.publish(event);
        drop(opening);
    }

    /// Each plugin of the open report found, then what became of it.
    pub fn opened(&self, plugins: &[PluginReport]) {
        for plugin in plugins {
            self.publish_opening(LifecycleEvent::Found {
                id: plugin.id.clone(),
                version: plugin.version.clone(),
                dir: plugin.dir.clone(),
            });
        }
        for plugin in plugins {
            if let Some(event) = LifecycleEvent::of_status(plugin) {
                self.publish_opening(event);
            }
        }
    }

    /// What became of a plugin loaded in the background.
    pub fn settled(&self, report: &PluginReport) {
        if let Some(event) = LifecycleEvent::of_status(report) {
            self.publish_opening(event);
        }
    }

    /// What a reload did.
    pub fn reloaded(&self, reload: &Reload) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(event) = LifecycleEvent::of_reload(reload) {
            self.publish(event);
        }
    }

    /// A quarantine, as the dispatcher tells it.
    pub fn quarantined(&self, record: &QuarantineRecord) {
        self.publish(LifecycleEvent::Quarantined {
            id: record.plugin.clone(),
            version: record.version.clone(),
            kind: record.kind.to_string(),
            reason: record.reason.clone(),
        });
    }

    /// An instance started or dropped, as the dispatcher tells it.
    pub fn instance(&self, event: &InstanceEvent<'_>) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        self.publish(match *event {
            InstanceEvent::Started { plugin, version } => LifecycleEvent::Started {
                id: plugin.to_string(),
                version: version.to_string(),
            },
            InstanceEvent::Dropped { plugin, version, why } => LifecycleEvent::Unloaded {
                id: plugin.to_string(),
                version: Some(version.to_string()),
                why: match why {
                    InstanceDrop::Idle => UnloadReason::Idle,
                    InstanceDrop::LiveCap => UnloadReason::LiveCap,
                },
            },
        });
    }

    /// The host is gone: every receiver ends once it is drained.
    pub fn close(&self) {
        for queue in lock(&self.subscribers).drain(..) {
            lock(&queue.state).closed = true;
            queue.ready.notify_all();
        }
        self.count.store(0, Ordering::Release);
    }
}
