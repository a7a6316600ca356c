//! What the dispatcher tells the application about plugin instances: one
//! started (instantiated and its `init` returned Ok) and one dropped to
//! give memory back (idle, or the least recently used beyond the cap on
//! live instances). Reloads, removals and quarantines are told elsewhere
//! (their callers know them). One listener at most, set once; without it
//! each start or drop costs one atomic load, and events that find their
//! instance live cost nothing.

use std::sync::OnceLock;

/// Why the dispatcher dropped a live instance on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceDrop {
    /// It handled nothing for the idle timeout.
    Idle,
    /// It was the least recently used beyond the cap on live instances.
    LiveCap,
}

/// A change to one plugin's instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceEvent<'a> {
    /// An instance was made and its `init` returned Ok.
    Started {
        /// The plugin id.
        plugin: &'a str,
        /// Its version.
        version: &'a semver::Version,
    },
    /// A live instance was dropped; the next event starts a new one.
    Dropped {
        /// The plugin id.
        plugin: &'a str,
        /// Its version.
        version: &'a semver::Version,
        /// Why.
        why: InstanceDrop,
    },
}

/// A callback that hears every [`InstanceEvent`], on the thread that
/// started or dropped the instance (a dispatching one): it must return
/// quickly and must not dispatch.
pub type InstanceListener = Box<dyn Fn(&InstanceEvent<'_>) + Send + Sync>;

/// The listener, if any, readable without a lock.
#[derive(Default)]
pub(crate) struct InstanceHook(OnceLock<InstanceListener>);

impl InstanceHook {
    /// Sets the listener; `false` when one was set already (it is kept).
    pub(crate) fn set(&self, listener: InstanceListener) -> bool {
        self.0.set(listener).is_ok()
    }

    pub(crate) fn tell(&self, event: InstanceEvent<'_>) {
        if let Some(listener) = self.0.get() {
            listener(&event);
        }
    }
}
