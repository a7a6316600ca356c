//! The task and state changes of one handler call, staged until the call
//! returns.
//!
//! Every create, update and delete of a task, and every `state.set` and
//! `state.delete`, a plugin makes is recorded here instead of reaching the
//! application's stores; reads see the staged changes. When the handler
//! returns Ok the task batch goes to [`TaskStore::commit`] as a whole, then
//! the state batch to [`StateStore::apply_within_quota`] as a whole (one
//! transaction, one fsync, however many keys); on an error, a trap, a
//! timeout or a kill both are dropped, so the application never sees half
//! of what a plugin did.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use plugboard_contract::task_store::{
    FilterMatcher, TaskStore, TaskStoreError, Timestamp, apply_patch, build_task, new_task_id,
};
use plugboard_contract::{
    Filter, HostServices, NewTask, StateChange, StateStore, StateStoreError, Task, TaskChange, TaskPatch,
};

/// The staged task and state changes of one call.
#[derive(Debug, Default)]
pub struct Transaction {
    /// The changes in the order they were first made, one per task.
    changes: Vec<TaskChange>,
    /// Where each touched task's change sits in `changes`.
    index: HashMap<String, usize>,
    /// Tasks created and deleted again within the call: nothing to commit.
    undone: HashSet<String>,
    /// The plugin's state writes: the last value set under each key, or
    /// `None` for a deleted key.
    state: BTreeMap<String, Option<Vec<u8>>>,
    /// The plugin's usage (keys plus values) after the staged writes; read
    /// from the store on the call's first write.
    usage: Option<u64>,
}

/// Why a call's staged changes were not committed.
#[derive(Debug)]
pub(crate) enum CommitFailure {
    /// The task store refused the batch (a conflict) or failed; nothing
    /// was applied. `discarded` changes were dropped.
    Refused {
        why: String,
        host_failure: bool,
        discarded: usize,
    },
    /// The task changes were committed, the state writes could not be.
    StateLost { committed: Vec<TaskChange>, why: String },
}

impl Transaction {
    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.state.is_empty()
    }

    /// Whether the call created `id` itself.
    pub fn created(&self, id: &str) -> bool {
        matches!(
            self.index.get(id).map(|&i| &self.changes[i]),
            Some(TaskChange::Created(_))
        )
    }

    /// The task as this call sees it: staged, or from the store.
    pub fn get(&self, store: &dyn TaskStore, id: &str) -> Result<Option<Task>, TaskStoreError> {
        match self.index.get(id).map(|&i| &self.changes[i]) {
            Some(TaskChange::Created(task)) | Some(TaskChange::Updated { after: task, .. }) => Ok(Some(task.clone())),
            Some(TaskChange::Deleted(_)) => Ok(None),
            None => store.get(id),
        }
    }

    /// The tasks that match, as this call sees them.
    pub fn query(&self, store: &dyn TaskStore, filter: &Filter) -> Result<Vec<Task>, TaskStoreError> {
        let limit = filter.limit.map(|l| l as usize);
        let mut wide = filter.clone();
        // Staged deletions and edits can remove tasks from the store's
        // answer, so ask for enough to still fill the limit.
        wide.limit = limit.map(|l| (l + self.changes.len()).min(u32::MAX as usize) as u32);
        let matcher = FilterMatcher::new(filter);
        let mut found: Vec<Task> = store
            .query(&wide)?
            .into_iter()
            .filter_map(|task| match self.index.get(&task.id).map(|&i| &self.changes[i]) {
                Some(TaskChange::Updated { after, .. }) => matcher.matches(after).then(|| after.clone()),
                Some(TaskChange::Deleted(_)) => None,
                _ => Some(task),
            })
            .collect();
        for change in &self.changes {
            if let TaskChange::Created(task) = change
                && matcher.matches(task)
            {
                found.push(task.clone());
            }
        }
        if let Some(limit) = limit {
            found.truncate(limit);
        }
        Ok(found)
    }

    /// Stages a new task and returns it with its id and times.
    pub fn create(&mut self, new: NewTask, now: Timestamp) -> Result<Task, TaskStoreError> {
        let task = build_task(new_task_id(), new, now)?;
        self.index.insert(task.id.clone(), self.changes.len());
        self.changes.push(TaskChange::Created(task.clone()));
        Ok(task)
    }

    /// Stages a patch and returns the task as it now is.
    pub fn update(
        &mut self,
        store: &dyn TaskStore,
        id: &str,
        patch: &TaskPatch,
        now: Timestamp,
    ) -> Result<Task, TaskStoreError> {
        let current = self
            .get(store, id)?
            .ok_or_else(|| TaskStoreError::NotFound(id.to_string()))?;
        let next = apply_patch(&current, patch, now)?;
        if next == current {
            return Ok(next);
        }
        match self.index.get(id).copied() {
            Some(i) => match &mut self.changes[i] {
                TaskChange::Created(task) | TaskChange::Updated { after: task, .. } => *task = next.clone(),
                // `get` answered None for a deleted task, so this is unreachable
                // in practice; refusing is still the safe answer.
                TaskChange::Deleted(_) => return Err(TaskStoreError::NotFound(id.to_string())),
            },
            None => {
                self.index.insert(id.to_string(), self.changes.len());
                self.changes.push(TaskChange::Updated {
                    before: current,
                    after: next.clone(),
                });
            }
        }
        Ok(next)
    }

    /// Stages a deletion and returns the task's last state.
    pub fn delete(&mut self, store: &dyn TaskStore, id: &str) -> Result<Task, TaskStoreError> {
        let current = self
            .get(store, id)?
            .ok_or_else(|| TaskStoreError::NotFound(id.to_string()))?;
        match self.index.get(id).copied() {
            Some(i) => {
                let replacement = match &self.changes[i] {
                    // Created and deleted in the same call: nothing to commit,
                    // but keep the slot so `get` answers None.
                    TaskChange::Created(task) => {
                        self.undone.insert(task.id.clone());
                        TaskChange::Deleted(task.clone())
                    }
                    TaskChange::Updated { before, .. } => TaskChange::Deleted(before.clone()),
                    TaskChange::Deleted(_) => return Err(TaskStoreError::NotFound(id.to_string())),
                };
                self.changes[i] = replacement;
            }
            None => {
                self.index.insert(id.to_string(), self.changes.len());
                self.changes.push(TaskChange::Deleted(current.clone()));
            }
        }
        Ok(current)
    }

    /// The batch to commit, leaving the transaction empty. A task created and
    /// deleted within the call is left out.
    pub fn take(&mut self) -> Vec<TaskChange> {
        self.index.clear();
        if self.changes.is_empty() {
            // Most calls change nothing: nothing to filter or rebuild.
            self.undone.clear();
            return Vec::new();
        }
        let undone = std::mem::take(&mut self.undone);
        std::mem::take(&mut self.changes)
            .into_iter()
            .filter(|change| !matches!(change, TaskChange::Deleted(task) if undone.contains(&task.id)))
            .collect()
    }

    /// Drops everything staged; returns how many changes (task changes and
    /// state writes) were dropped.
    pub fn discard(&mut self) -> usize {
        self.index.clear();
        self.undone.clear();
        let dropped = self.changes.len() + self.state.len();
        self.changes.clear();
        self.state.clear();
        self.usage = None;
        dropped
    }

    /// A state value as this call sees it: staged, or from the store.
    pub fn state_get(
        &self,
        store: &dyn StateStore,
        plugin: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StateStoreError> {
        match self.state.get(key) {
            Some(staged) => Ok(staged.clone()),
            None => store.get(plugin, key),
        }
    }

    /// The plugin's keys as this call sees them, in byte order.
    pub fn state_keys(&self, store: &dyn StateStore, plugin: &str) -> Result<Vec<String>, StateStoreError> {
        if self.state.is_empty() {
            return store.list_keys(plugin);
        }
        let mut keys: BTreeSet<String> = store.list_keys(plugin)?.into_iter().collect();
        for (key, value) in &self.state {
            match value {
                Some(_) => keys.insert(key.clone()),
                None => keys.remove(key),
            };
        }
        Ok(keys.into_iter().collect())
    }

    /// Stages a write if the plugin's usage after the call's writes stays
    /// within `quota`; returns whether it was staged.
    pub fn state_set(
        &mut self,
        store: &dyn StateStore,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<bool, StateStoreError> {
        let (usage, current) = self.sizes(store, plugin, key)?;
        let after = usage.saturating_sub(current) + (key.len() + value.len()) as u64;
        if after > quota {
            return Ok(false);
        }
        self.state.insert(key.to_string(), Some(value.to_vec()));
        self.usage = Some(after);
        Ok(true)
    }

    /// Stages the removal of a key.
    pub fn state_delete(&mut self, store: &dyn StateStore, plugin: &str, key: &str) -> Result<(), StateStoreError> {
        let (usage, current) = self.sizes(store, plugin, key)?;
        self.state.insert(key.to_string(), None);
        self.usage = Some(usage.saturating_sub(current));
        Ok(())
    }

    /// The plugin's usage as this call sees it (read from the store once
    /// per call), and what `key` uses in it now.
    fn sizes(&mut self, store: &dyn StateStore, plugin: &str, key: &str) -> Result<(u64, u64), StateStoreError> {
        let usage = match self.usage {
            Some(usage) => usage,
            None => store.usage(plugin)?,
        };
        self.usage = Some(usage);
        let current = self.state_get(store, plugin, key)?;
        Ok((usage, current.map_or(0, |v| (key.len() + v.len()) as u64)))
    }

    /// Commits the staged changes: the tasks as one batch, then the state
    /// writes as one batch within `quota`. Leaves the transaction empty.
    pub(crate) fn commit(
        &mut self,
        services: &HostServices,
        plugin: &str,
        quota: u64,
    ) -> Result<Vec<TaskChange>, CommitFailure> {
        let state: Vec<StateChange> = std::mem::take(&mut self.state)
            .into_iter()
            .map(|(key, value)| match value {
                Some(value) => StateChange::Set { key, value },
                None => StateChange::Delete { key },
            })
            .collect();
        self.usage = None;
        let changes = self.take();
        if !changes.is_empty()
            && let Err(e) = services.tasks.commit(&changes)
        {
            return Err(CommitFailure::Refused {
                why: e.to_string(),
                host_failure: matches!(e, TaskStoreError::Unavailable(_)),
                discarded: changes.len() + state.len(),
            });
        }
        if state.is_empty() {
            return Ok(changes);
        }
        let why = match services.state.apply_within_quota(plugin, &state, quota) {
            Ok(true) => return Ok(changes),
            Ok(false) => "its state writes no longer fit its quota (the state changed meanwhile)".to_string(),
            Err(e) => e.to_string(),
        };
        Err(CommitFailure::StateLost {
            committed: changes,
            why,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_contract::task_store::{InMemoryTaskStore, empty_patch, match_all, new_task};

    #[test]
    fn reads_see_staged_changes_and_the_store_sees_nothing_until_commit() {
        let store = InMemoryTaskStore::new();
        let a = store.create(new_task("a"), 1).unwrap();
        let b = store.create(new_task("b"), 1).unwrap();
        let mut tx = Transaction::default();
        let mut patch = empty_patch();
        patch.title = Some("a2".into());
        tx.update(&store, &a.id, &patch, 2).unwrap();
        tx.delete(&store, &b.id).unwrap();
        let c = tx.create(new_task("c"), 2).unwrap();

        assert_eq!(tx.get(&store, &a.id).unwrap().unwrap().title, "a2");
        assert_eq!(tx.get(&store, &b.id).unwrap(), None);
        let seen: Vec<_> = tx
            .query(&store, &match_all())
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect();
        assert_eq!(seen, ["a2", "c"]);
        let titles: Vec<_> = store.all().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["a", "b"], "nothing reaches the store before commit");

        let batch = tx.take();
        store.commit(&batch).unwrap();
        let titles: Vec<_> = store.all().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["a2", "c"]);
        assert!(store.get(&c.id).unwrap().is_some());
    }

    #[test]
    fn discard_leaves_the_store_untouched() {
        let store = InMemoryTaskStore::new();
        let a = store.create(new_task("a"), 1).unwrap();
        let mut tx = Transaction::default();
        tx.delete(&store, &a.id).unwrap();
        tx.create(new_task("x"), 2).unwrap();
        assert_eq!(tx.discard(), 2);
        assert!(tx.is_empty());
        assert_eq!(store.all(), vec![a]);
    }

    #[test]
    fn a_task_created_then_deleted_in_one_call_commits_nothing() {
        let store = InMemoryTaskStore::new();
        let mut tx = Transaction::default();
        let t = tx.create(new_task("temp"), 1).unwrap();
        tx.delete(&store, &t.id).unwrap();
        assert_eq!(tx.get(&store, &t.id).unwrap(), None);
        assert!(tx.take().is_empty());
    }

    #[test]
    fn limits_apply_after_staged_changes() {
        let store = InMemoryTaskStore::new();
        let a = store.create(new_task("a"), 1).unwrap();
        store.create(new_task("b"), 1).unwrap();
        let mut tx = Transaction::default();
        tx.delete(&store, &a.id).unwrap();
        let mut filter = match_all();
        filter.limit = Some(1);
        let seen: Vec<_> = tx
            .query(&store, &filter)
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect();
        assert_eq!(seen, ["b"]);
    }
}
