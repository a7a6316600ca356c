//! Per-plugin key/value state: the trait the host calls and an in-memory
//! implementation. Durable storage comes with the lifecycle work; the host
//! code above this trait does not change.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Why the state store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateStoreError {
    /// The storage itself failed; not the plugin's fault.
    #[error("plugin state storage failed: {0}")]
    Unavailable(String),
}

/// Key/value storage, partitioned by plugin id.
pub trait StateStore: Send + Sync {
    /// Reads a value.
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StateStoreError>;
    /// Writes a value, replacing any previous one.
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StateStoreError>;
    /// Removes a key; absent keys are not an error.
    fn delete(&self, plugin: &str, key: &str) -> Result<(), StateStoreError>;
    /// The plugin's keys in byte order.
    fn list_keys(&self, plugin: &str) -> Result<Vec<String>, StateStoreError>;
    /// Bytes the plugin uses (keys plus values), for its quota.
    fn usage(&self, plugin: &str) -> Result<u64, StateStoreError>;
}

/// State kept in memory; lost when the process exits.
#[derive(Debug, Default)]
pub struct InMemoryStateStore {
    inner: Mutex<BTreeMap<String, BTreeMap<String, Vec<u8>>>>,
}

impl InMemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Vec<u8>>>> {
        // Every write is one insert or remove, so a poisoned map is whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for InMemoryStateStore {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StateStoreError> {
        Ok(self.lock().get(plugin).and_then(|m| m.get(key)).cloned())
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StateStoreError> {
        self.lock()
            .entry(plugin.to_string())
            .or_default()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), StateStoreError> {
        if let Some(map) = self.lock().get_mut(plugin) {
            map.remove(key);
        }
        Ok(())
    }

    fn list_keys(&self, plugin: &str) -> Result<Vec<String>, StateStoreError> {
        Ok(self
            .lock()
            .get(plugin)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn usage(&self, plugin: &str) -> Result<u64, StateStoreError> {
        Ok(self
            .lock()
            .get(plugin)
            .map(|m| m.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum())
            .unwrap_or(0))
    }
}
