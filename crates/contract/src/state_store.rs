//! Per-plugin key/value state: the trait the host calls and an in-memory
//! implementation (the durable one is `plugboard-state`'s SQLite store).
//!
//! State is where a plugin's durable data lives: its instance, and so its
//! linear memory, may be dropped whenever it is idle and re-created later.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// One staged write of a plugin's state: what a handler call's `state.set`
/// and `state.delete` become, applied together by
/// [`StateStore::apply_within_quota`] when the call succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// Write `value` under `key`, replacing any previous value.
    Set {
        /// The key.
        key: String,
        /// The new value.
        value: Vec<u8>,
    },
    /// Remove `key`; an absent key is not an error.
    Delete {
        /// The key.
        key: String,
    },
}

impl StateChange {
    /// The key this change writes.
    pub fn key(&self) -> &str {
        match self {
            StateChange::Set { key, .. } | StateChange::Delete { key } => key,
        }
    }
}

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

    /// Writes a value only if the plugin's usage afterwards (keys plus
    /// values, the replaced value no longer counted) is at most `quota`
    /// bytes; returns whether it was stored.
    ///
    /// The default reads the usage and the old value, then writes: two
    /// writers for the same plugin in between can together pass the quota.
    /// A store that can, overrides it with one transaction.
    fn set_within_quota(&self, plugin: &str, key: &str, value: &[u8], quota: u64) -> Result<bool, StateStoreError> {
        let used = self.usage(plugin)?;
        let replaced = self.get(plugin, key)?.map(|old| old.len());
        if usage_after(used, key, replaced, value.len()) > quota {
            return Ok(false);
        }
        self.set(plugin, key, value)?;
        Ok(true)
    }

    /// Applies a batch of changes, in order, only if the plugin's usage
    /// afterwards is at most `quota` bytes; returns whether they were
    /// applied. All or nothing: on `false` or an error nothing is written.
    ///
    /// The default computes the usage after the batch from
    /// [`StateStore::usage`] and the values it replaces, then writes one
    /// change after the other: a crash in between can leave part of the
    /// batch, and another writer of the same plugin in between can pass the
    /// quota. A store that can, overrides it with one transaction (the
    /// in-memory store and `plugboard-state`'s SQLite store do).
    fn apply_within_quota(&self, plugin: &str, changes: &[StateChange], quota: u64) -> Result<bool, StateStoreError> {
        let mut used = self.usage(plugin)?;
        let mut sizes: BTreeMap<&str, Option<usize>> = BTreeMap::new();
        for change in changes {
            let key = change.key();
            let replaced = match sizes.get(key) {
                Some(size) => *size,
                None => self.get(plugin, key)?.map(|old| old.len()),
            };
            let freed = replaced.map_or(0, |old| (key.len() + old) as u64);
            used = used.saturating_sub(freed);
            let now = match change {
                StateChange::Set { value, .. } => {
                    used += (key.len() + value.len()) as u64;
                    Some(value.len())
                }
                StateChange::Delete { .. } => None,
            };
            sizes.insert(key, now);
        }
        if used > quota {
            return Ok(false);
        }
        for change in changes {
            match change {
                StateChange::Set { key, value } => self.set(plugin, key, value)?,
                StateChange::Delete { key } => self.delete(plugin, key)?,
            }
        }
        Ok(true)
    }
}

/// A plugin's usage after writing `value_len` bytes under `key`, given its
/// usage `used` now and the length of the value it replaces, if any.
pub fn usage_after(used: u64, key: &str, replaced: Option<usize>, value_len: usize) -> u64 {
    let freed = replaced.map_or(0, |old| (key.len() + old) as u64);
    used.saturating_sub(freed) + (key.len() + value_len) as u64
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
        Ok(self.lock().get(plugin).map_or(0, plugin_usage))
    }

    /// Checks and writes under one lock, so concurrent writers cannot pass
    /// the quota together.
    fn set_within_quota(&self, plugin: &str, key: &str, value: &[u8], quota: u64) -> Result<bool, StateStoreError> {
        let mut all = self.lock();
        let map = all.entry(plugin.to_string()).or_default();
        let replaced = map.get(key).map(Vec::len);
        if usage_after(plugin_usage(map), key, replaced, value.len()) > quota {
            return Ok(false);
        }
        map.insert(key.to_string(), value.to_vec());
        Ok(true)
    }

    /// Applies the batch to a copy of the plugin's map under one lock, and
    /// keeps the copy only if it is within the quota.
    fn apply_within_quota(&self, plugin: &str, changes: &[StateChange], quota: u64) -> Result<bool, StateStoreError> {
        let mut all = self.lock();
        let mut map = all.get(plugin).cloned().unwrap_or_default();
        for change in changes {
            match change {
                StateChange::Set { key, value } => {
                    map.insert(key.clone(), value.clone());
                }
                StateChange::Delete { key } => {
                    map.remove(key);
                }
            }
        }
        if plugin_usage(&map) > quota {
            return Ok(false);
        }
        all.insert(plugin.to_string(), map);
        Ok(true)
    }
}

fn plugin_usage(map: &BTreeMap<String, Vec<u8>>) -> u64 {
    map.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that keeps the trait's default `set_within_quota`.
    struct Plain(InMemoryStateStore);

    impl StateStore for Plain {
        fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StateStoreError> {
            self.0.get(plugin, key)
        }
        fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StateStoreError> {
            self.0.set(plugin, key, value)
        }
        fn delete(&self, plugin: &str, key: &str) -> Result<(), StateStoreError> {
            self.0.delete(plugin, key)
        }
        fn list_keys(&self, plugin: &str) -> Result<Vec<String>, StateStoreError> {
            self.0.list_keys(plugin)
        }
        fn usage(&self, plugin: &str) -> Result<u64, StateStoreError> {
            self.0.usage(plugin)
        }
    }

    fn quota_rules_hold(store: &dyn StateStore) {
        // "k" + 9 bytes = 10 bytes: exactly the quota.
        assert!(store.set_within_quota("p", "k", &[1; 9], 10).unwrap());
        // Another key would make 10 + 2.
        assert!(!store.set_within_quota("p", "j", &[1], 10).unwrap());
        assert_eq!(store.get("p", "j").unwrap(), None);
        // Replacing the value frees the old one first.
        assert!(store.set_within_quota("p", "k", &[2; 4], 10).unwrap());
        assert_eq!(store.usage("p").unwrap(), 5);
        assert!(!store.set_within_quota("p", "k", &[3; 10], 10).unwrap());
        assert_eq!(store.get("p", "k").unwrap(), Some(vec![2; 4]));
        // Other plugins' data does not count.
        assert!(store.set_within_quota("q", "k", &[1; 9], 10).unwrap());
    }

    #[test]
    fn the_default_set_within_quota_counts_keys_values_and_replacements() {
        quota_rules_hold(&Plain(InMemoryStateStore::new()));
    }

    #[test]
    fn the_in_memory_store_applies_the_same_quota_rules() {
        quota_rules_hold(&InMemoryStateStore::new());
    }

    fn batch_rules_hold(store: &dyn StateStore) {
        store.set("p", "old", &[0; 6]).unwrap();
        let batch = [
            StateChange::Set {
                key: "a".into(),
                value: vec![1; 4],
            },
            StateChange::Delete { key: "old".into() },
            StateChange::Set {
                key: "a".into(),
                value: vec![2; 2],
            },
        ];
        // After the batch: "a" + 2 bytes = 3, although 4 + 9 was passed on the way.
        assert!(!store.apply_within_quota("p", &batch, 2).unwrap());
        assert_eq!(store.get("p", "old").unwrap(), Some(vec![0; 6]), "nothing applied");
        assert_eq!(store.get("p", "a").unwrap(), None);
        assert!(store.apply_within_quota("p", &batch, 3).unwrap());
        assert_eq!(store.get("p", "a").unwrap(), Some(vec![2; 2]));
        assert_eq!(store.get("p", "old").unwrap(), None);
        assert_eq!(store.usage("p").unwrap(), 3);
    }

    #[test]
    fn a_batch_is_applied_whole_within_the_quota_or_not_at_all() {
        batch_rules_hold(&Plain(InMemoryStateStore::new()));
        batch_rules_hold(&InMemoryStateStore::new());
    }

    #[test]
    fn concurrent_writers_cannot_pass_the_quota_together() {
        let store = std::sync::Arc::new(InMemoryStateStore::new());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || store.set_within_quota("p", &format!("k{i}"), &[0; 98], 400))
            })
            .collect();
        let stored = threads
            .into_iter()
            .map(|t| t.join())
            .filter(|joined| matches!(joined, Ok(Ok(true))))
            .count();
        assert_eq!(stored, 4, "each write is 100 bytes and the quota 400");
        assert_eq!(store.usage("p").unwrap(), 400);
    }
}
