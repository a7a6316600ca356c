//! One compiled component in memory per distinct component file. Plugins
//! loaded from the same bytes (one plugin installed under several ids, a
//! plugin and a bundled copy of it, a reload of an unchanged file) share its
//! machine code, its world and its linked `InstancePre`s, instead of each
//! holding a copy deserialized on its own: less memory per plugin, and one
//! event to many of them runs the same code, warm in the caches.
//!
//! The table holds each entry weakly: the code lives as long as a loaded
//! plugin uses it, and is dropped with the last one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use wasmtime::component::Component;

use crate::code_cache::CacheKey;
use crate::loader::PluginPre;
use crate::world::DetectedWorld;

/// A component compiled once, and what every plugin using it shares.
pub(crate) struct SharedCode {
    pub(crate) component: Component,
    pub(crate) world: DetectedWorld,
    /// Linked with each of the runtime's two linkers, when a plugin first
    /// needs it: `[sandboxed, networked]`.
    pres: [Mutex<Option<PluginPre>>; 2],
}

impl SharedCode {
    pub(crate) fn new(component: Component, world: DetectedWorld) -> SharedCode {
        SharedCode {
            component,
            world,
            pres: [Mutex::new(None), Mutex::new(None)],
        }
    }

    /// Its `InstancePre` for the sandboxed or the networked linker, linked
    /// by `link` the first time it is asked for.
    pub(crate) fn pre<E>(
        &self,
        networked: bool,
        link: impl FnOnce(&Component) -> Result<PluginPre, E>,
    ) -> Result<PluginPre, E> {
        let mut pre = self.pres[usize::from(networked)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(pre) = &*pre {
            return Ok(pre.clone());
        }
        let linked = link(&self.component)?;
        *pre = Some(linked.clone());
        Ok(linked)
    }
}

/// The runtime's table of the components in use, by their code-cache key.
#[derive(Default)]
pub(crate) struct SharedCodes {
    entries: Mutex<HashMap<CacheKey, Weak<SharedCode>>>,
}

impl SharedCodes {
    /// The code of `key`, when a loaded plugin still uses it.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Arc<SharedCode>> {
        self.lock().get(key).and_then(Weak::upgrade)
    }

    /// Keeps `code` for the next plugin of the same component; returns the
    /// entry to use, which is an earlier one when another load of the same
    /// bytes finished first.
    pub(crate) fn insert(&self, key: CacheKey, code: SharedCode) -> Arc<SharedCode> {
        let mut entries = self.lock();
        if let Some(existing) = entries.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        // Entries of components no plugin uses any more go when a new one
        // comes: the table never holds more than one dead entry per
        // component loaded since.
        entries.retain(|_, code| code.strong_count() > 0);
        let code = Arc::new(code);
        entries.insert(key, Arc::downgrade(&code));
        code
    }

    /// How many components are in memory.
    pub(crate) fn live(&self) -> usize {
        self.lock().values().filter(|code| code.strong_count() > 0).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Weak<SharedCode>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
