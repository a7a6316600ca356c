//! The application's tasks, as the host sees them: a trait the embedding app
//! implements over its own storage, the rules every implementation shares
//! (patches, filters), and an in-memory store for tests and the demo.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::change::TaskChange;
pub use crate::task::Timestamp;
use crate::task::{Annotation, Filter, NewTask, Priority, Status, Task, TaskPatch};

/// Why the task store refused or failed a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskStoreError {
    /// No task has this id.
    #[error("no task has id {0}")]
    NotFound(String),
    /// The request is malformed (empty title, bad tag, ...).
    #[error("{0}")]
    Invalid(String),
    /// The task changed since the caller read it.
    #[error("task {0} was changed since it was read")]
    Conflict(String),
    /// The storage itself failed; not the caller's fault.
    #[error("task storage failed: {0}")]
    Unavailable(String),
}

/// The application's task storage, implemented by the embedding app.
///
/// Methods take `&self`: one store is shared by every plugin instance, so an
/// implementation chooses its own locking. Plugins never write to it
/// directly: their changes are staged during a handler call and handed to
/// [`TaskStore::commit`] in one batch when the call succeeds.
///
/// An application's store, here one that counts the batches plugins
/// commit, over the in-memory one:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use plugboard_contract::task_store::{build_task, new_task};
/// use plugboard_contract::{Filter, InMemoryTaskStore, Task, TaskChange, TaskStore, TaskStoreError};
///
/// #[derive(Default)]
/// struct CountingStore {
///     tasks: InMemoryTaskStore,
///     batches: AtomicUsize,
/// }
///
/// impl TaskStore for CountingStore {
///     fn get(&self, id: &str) -> Result<Option<Task>, TaskStoreError> {
///         self.tasks.get(id)
///     }
///     fn query(&self, filter: &Filter) -> Result<Vec<Task>, TaskStoreError> {
///         self.tasks.query(filter)
///     }
///     fn commit(&self, changes: &[TaskChange]) -> Result<(), TaskStoreError> {
///         self.tasks.commit(changes)?;
///         self.batches.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let store = CountingStore::default();
/// let task = build_task("t-1".into(), new_task("Buy milk"), 0)?;
/// store.commit(&[TaskChange::Created(task)])?;
/// assert_eq!(store.batches.load(Ordering::Relaxed), 1);
/// assert_eq!(store.get("t-1")?.map(|t| t.title).as_deref(), Some("Buy milk"));
/// # Ok::<(), TaskStoreError>(())
/// ```
pub trait TaskStore: Send + Sync {
    /// Reads one task.
    fn get(&self, id: &str) -> Result<Option<Task>, TaskStoreError>;
    /// Lists the tasks that match, oldest first, at most `filter.limit`.
    fn query(&self, filter: &Filter) -> Result<Vec<Task>, TaskStoreError>;
    /// Applies a batch of changes all together or not at all.
    ///
    /// Must fail with [`TaskStoreError::Conflict`], changing nothing, when a
    /// created id already exists, or when an updated or deleted task is gone
    /// or its `modified` time differs from the `before` the batch carries
    /// (the application changed it meanwhile).
    fn commit(&self, changes: &[TaskChange]) -> Result<(), TaskStoreError>;
}

/// A patch that changes nothing (`TaskPatch::default()`); fill in the fields
/// you need.
pub fn empty_patch() -> TaskPatch {
    TaskPatch::default()
}

/// A filter that matches every task (`Filter::default()`).
pub fn match_all() -> Filter {
    Filter::default()
}

/// A new task with only a title.
pub fn new_task(title: impl Into<String>) -> NewTask {
    NewTask {
        title: title.into(),
        description: String::new(),
        project: None,
        tags: Vec::new(),
        priority: Priority::None,
        due: None,
        attributes: Vec::new(),
    }
}

fn check_title(title: &str) -> Result<(), TaskStoreError> {
    if title.trim().is_empty() {
        return Err(TaskStoreError::Invalid("title: must not be empty".into()));
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), TaskStoreError> {
    if tag.is_empty() || tag.chars().any(char::is_whitespace) {
        return Err(TaskStoreError::Invalid(format!(
            "tag {tag:?}: must be non-empty and contain no white space"
        )));
    }
    Ok(())
}

/// A fresh task id: a random (version 4) UUID in its hyphenated form, as
/// the ABI describes task ids.
pub fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Builds the task a [`NewTask`] describes, after checking it.
pub fn build_task(id: String, new: NewTask, now: Timestamp) -> Result<Task, TaskStoreError> {
    check_title(&new.title)?;
    // Linear in the number of tags: a set, not a scan, finds the repeats.
    let mut seen: HashSet<&str> = HashSet::with_capacity(new.tags.len());
    let mut keep = Vec::with_capacity(new.tags.len());
    for tag in &new.tags {
        check_tag(tag)?;
        keep.push(seen.insert(tag.as_str()));
    }
    let mut keep = keep.into_iter();
    let tags: Vec<String> = new.tags.into_iter().filter(|_| keep.next().unwrap_or(false)).collect();
    Ok(Task {
        id,
        title: new.title,
        description: new.description,
        status: Status::Pending,
        project: new.project,
        tags,
        priority: new.priority,
        due: new.due,
        created: now,
        modified: now,
        annotations: Vec::new(),
        attributes: new.attributes,
    })
}

/// Applies a patch to a task, checking it first; the task is unchanged on error.
pub fn apply_patch(task: &Task, patch: &TaskPatch, now: Timestamp) -> Result<Task, TaskStoreError> {
    if let Some(expected) = patch.expected_modified
        && expected != task.modified
    {
        return Err(TaskStoreError::Conflict(task.id.clone()));
    }
    let mut next = task.clone();
    if let Some(title) = &patch.title {
        check_title(title)?;
        next.title = title.clone();
    }
    if let Some(description) = &patch.description {
        next.description = description.clone();
    }
    if let Some(status) = patch.status {
        next.status = status;
    }
    if let Some(project) = &patch.project {
        next.project = project.clone();
    }
    if let Some(priority) = patch.priority {
        next.priority = priority;
    }
    if let Some(due) = patch.due {
        next.due = due;
    }
    // Every step below is linear in the task and the patch: sets and maps
    // find what is already there, never a scan per element.
    if !patch.add_tags.is_empty() {
        let mut present: HashSet<String> = next.tags.iter().cloned().collect();
        for tag in &patch.add_tags {
            check_tag(tag)?;
            if present.insert(tag.clone()) {
                next.tags.push(tag.clone());
            }
        }
    }
    if !patch.remove_tags.is_empty() {
        let removed: HashSet<&str> = patch.remove_tags.iter().map(String::as_str).collect();
        next.tags.retain(|t| !removed.contains(t.as_str()));
    }
    for text in &patch.add_annotations {
        next.annotations.push(Annotation {
            time: now,
            text: text.clone(),
        });
    }
    if !patch.set_attributes.is_empty() {
        let mut at: HashMap<String, usize> = next
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| (a.key.clone(), i))
            .collect();
        for attr in &patch.set_attributes {
            match at.get(&attr.key) {
                Some(&i) => next.attributes[i].value = attr.value.clone(),
                None => {
                    at.insert(attr.key.clone(), next.attributes.len());
                    next.attributes.push(attr.clone());
                }
            }
        }
    }
    if !patch.remove_attributes.is_empty() {
        let removed: HashSet<&str> = patch.remove_attributes.iter().map(String::as_str).collect();
        next.attributes.retain(|a| !removed.contains(a.key.as_str()));
    }
    if next != *task {
        next.modified = now.max(task.modified);
    }
    Ok(next)
}

/// Whether a task matches a filter (ignoring its `limit`). To test many
/// tasks against one filter, make a [`FilterMatcher`] once instead.
pub fn filter_matches(task: &Task, filter: &Filter) -> bool {
    FilterMatcher::new(filter).matches(task)
}

/// A filter prepared once for testing many tasks: its text lowercased and
/// its tags in a set, so that each task costs time linear in the task, not
/// in the filter times the task.
#[derive(Debug)]
pub struct FilterMatcher<'a> {
    filter: &'a Filter,
    needle: Option<String>,
    tags: HashSet<&'a str>,
}

impl<'a> FilterMatcher<'a> {
    /// Prepares `filter`.
    pub fn new(filter: &'a Filter) -> FilterMatcher<'a> {
        FilterMatcher {
            filter,
            needle: filter.text.as_ref().map(|t| t.to_lowercase()),
            tags: filter.tags.iter().map(String::as_str).collect(),
        }
    }

    /// Whether `task` matches (ignoring the filter's `limit`).
    pub fn matches(&self, task: &Task) -> bool {
        let filter = self.filter;
        if filter.status.is_some_and(|s| s != task.status) {
            return false;
        }
        if filter
            .project
            .as_ref()
            .is_some_and(|p| task.project.as_ref() != Some(p))
        {
            return false;
        }
        if self.tags.len() <= 4 {
            // A few tags: a scan of the task's tags per filter tag is linear.
            if !filter.tags.iter().all(|t| task.tags.contains(t)) {
                return false;
            }
        } else {
            // Each distinct filter tag must be among the task's: count the
            // task's tags that are in the set, each once.
            let mut found: HashSet<&str> = HashSet::new();
            for tag in &task.tags {
                if self.tags.contains(tag.as_str()) {
                    found.insert(tag.as_str());
                }
            }
            if found.len() != self.tags.len() {
                return false;
            }
        }
        if let Some(needle) = &self.needle {
            // A needle longer than the text cannot be in it; checking first
            // spares building a searcher for a long needle once per task.
            let contains = |text: &str| {
                let text = text.to_lowercase();
                text.len() >= needle.len() && text.contains(needle.as_str())
            };
            if !contains(&task.title) && !contains(&task.description) {
                return false;
            }
        }
        true
    }
}

/// Tasks kept in memory, in creation order: for tests, the demo and apps
/// that persist tasks themselves.
#[derive(Debug, Default)]
pub struct InMemoryTaskStore {
    inner: Mutex<Tasks>,
}

#[derive(Debug, Default)]
struct Tasks {
    next_seq: u64,
    by_id: BTreeMap<String, (u64, Task)>,
}

impl InMemoryTaskStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tasks> {
        // A panic while holding the lock cannot leave the map half-written
        // (every write is a single insert or remove), so a poisoned lock is
        // still safe to use.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every task, oldest first.
    pub fn all(&self) -> Vec<Task> {
        let tasks = self.lock();
        let mut list: Vec<_> = tasks.by_id.values().collect();
        list.sort_by_key(|(seq, _)| *seq);
        list.into_iter().map(|(_, t)| t.clone()).collect()
    }
}

impl InMemoryTaskStore {
    /// Creates a task, as the application would (not through a plugin).
    pub fn create(&self, task: NewTask, now: Timestamp) -> Result<Task, TaskStoreError> {
        let task = build_task(new_task_id(), task, now)?;
        let mut tasks = self.lock();
        let seq = tasks.next_seq;
        tasks.next_seq += 1;
        tasks.by_id.insert(task.id.clone(), (seq, task.clone()));
        Ok(task)
    }

    /// Applies a patch, as the application would; returns before and after.
    pub fn update(&self, id: &str, patch: &TaskPatch, now: Timestamp) -> Result<(Task, Task), TaskStoreError> {
        let mut tasks = self.lock();
        let (_, current) = tasks
            .by_id
            .get_mut(id)
            .ok_or_else(|| TaskStoreError::NotFound(id.to_string()))?;
        let next = apply_patch(current, patch, now)?;
        let before = std::mem::replace(current, next.clone());
        Ok((before, next))
    }

    /// Deletes a task, as the application would; returns its last state.
    pub fn delete(&self, id: &str) -> Result<Task, TaskStoreError> {
        self.lock()
            .by_id
            .remove(id)
            .map(|(_, t)| t)
            .ok_or_else(|| TaskStoreError::NotFound(id.to_string()))
    }
}

fn check_unchanged(tasks: &Tasks, expected: &Task) -> Result<(), TaskStoreError> {
    match tasks.by_id.get(&expected.id) {
        Some((_, current)) if current.modified == expected.modified => Ok(()),
        _ => Err(TaskStoreError::Conflict(expected.id.clone())),
    }
}

impl TaskStore for InMemoryTaskStore {
    fn get(&self, id: &str) -> Result<Option<Task>, TaskStoreError> {
        Ok(self.lock().by_id.get(id).map(|(_, t)| t.clone()))
    }

    fn query(&self, filter: &Filter) -> Result<Vec<Task>, TaskStoreError> {
        let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
        let matcher = FilterMatcher::new(filter);
        Ok(self
            .all()
            .into_iter()
            .filter(|t| matcher.matches(t))
            .take(limit)
            .collect())
    }

    fn commit(&self, changes: &[TaskChange]) -> Result<(), TaskStoreError> {
        let mut tasks = self.lock();
        // Check the whole batch first, so that a refusal changes nothing.
        for change in changes {
            match change {
                TaskChange::Created(task) if tasks.by_id.contains_key(&task.id) => {
                    return Err(TaskStoreError::Conflict(task.id.clone()));
                }
                TaskChange::Created(_) => {}
                TaskChange::Updated { before, .. } | TaskChange::Deleted(before) => check_unchanged(&tasks, before)?,
            }
        }
        for change in changes {
            match change {
                TaskChange::Created(task) => {
                    let seq = tasks.next_seq;
                    tasks.next_seq += 1;
                    tasks.by_id.insert(task.id.clone(), (seq, task.clone()));
                }
                TaskChange::Updated { after, .. } => {
                    if let Some((_, current)) = tasks.by_id.get_mut(&after.id) {
                        *current = after.clone();
                    }
                }
                TaskChange::Deleted(task) => {
                    tasks.by_id.remove(&task.id);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_changes_only_named_fields_and_bumps_modified() {
        let store = InMemoryTaskStore::new();
        let mut new = new_task("Write report");
        new.tags = vec!["work".into()];
        let task = store.create(new, 1_000).unwrap();
        let mut patch = empty_patch();
        patch.add_tags = vec!["urgent".into(), "work".into()];
        patch.priority = Some(Priority::High);
        patch.add_annotations = vec!["asked by Sam".into()];
        let (before, after) = store.update(&task.id, &patch, 2_000).unwrap();
        assert_eq!(before, task);
        assert_eq!(after.tags, vec!["work", "urgent"]);
        assert_eq!(after.priority, Priority::High);
        assert_eq!(after.title, "Write report");
        assert_eq!(after.modified, 2_000);
        assert_eq!(after.annotations[0].time, 2_000);
        assert_eq!(store.get(&task.id).unwrap().unwrap(), after);
    }

    #[test]
    fn a_batch_with_one_stale_change_commits_nothing() {
        let store = InMemoryTaskStore::new();
        let a = store.create(new_task("a"), 1).unwrap();
        let b = store.create(new_task("b"), 1).unwrap();
        let mut a2 = a.clone();
        a2.title = "a2".into();
        a2.modified = 5;
        let created = build_task("new-id".into(), new_task("c"), 5).unwrap();
        // The application changes b after the plugin read it.
        let mut patch = empty_patch();
        patch.title = Some("b by the app".into());
        store.update(&b.id, &patch, 3).unwrap();
        let batch = [
            TaskChange::Created(created),
            TaskChange::Updated {
                before: a.clone(),
                after: a2,
            },
            TaskChange::Deleted(b.clone()),
        ];
        assert_eq!(store.commit(&batch), Err(TaskStoreError::Conflict(b.id.clone())));
        let titles: Vec<_> = store.all().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["a", "b by the app"]);
        // Without the stale change the same batch applies whole.
        assert_eq!(store.commit(&batch[..2]), Ok(()));
        let titles: Vec<_> = store.all().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["a2", "b by the app", "c"]);
    }

    #[test]
    fn stale_expected_modified_is_a_conflict_and_changes_nothing() {
        let store = InMemoryTaskStore::new();
        let task = store.create(new_task("a"), 1).unwrap();
        let mut patch = empty_patch();
        patch.title = Some("b".into());
        patch.expected_modified = Some(0);
        assert_eq!(
            store.update(&task.id, &patch, 5),
            Err(TaskStoreError::Conflict(task.id.clone()))
        );
        assert_eq!(store.get(&task.id).unwrap().unwrap().title, "a");
    }

    #[test]
    fn invalid_input_is_refused() {
        let store = InMemoryTaskStore::new();
        assert!(matches!(store.create(new_task("  "), 1), Err(TaskStoreError::Invalid(m)) if m.contains("title")));
        let task = store.create(new_task("a"), 1).unwrap();
        let mut patch = empty_patch();
        patch.add_tags = vec!["two words".into()];
        assert!(
            matches!(store.update(&task.id, &patch, 2), Err(TaskStoreError::Invalid(m)) if m.contains("two words"))
        );
        assert_eq!(store.delete("nope"), Err(TaskStoreError::NotFound("nope".into())));
    }

    #[test]
    fn query_filters_and_limits_in_creation_order() {
        let store = InMemoryTaskStore::new();
        for (title, tag) in [("Buy milk", "home"), ("Fix bug", "work"), ("Review PR", "work")] {
            let mut new = new_task(title);
            new.tags = vec![tag.into()];
            store.create(new, 1).unwrap();
        }
        let mut filter = match_all();
        filter.tags = vec!["work".into()];
        let titles: Vec<_> = store.query(&filter).unwrap().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, ["Fix bug", "Review PR"]);
        filter.limit = Some(1);
        assert_eq!(store.query(&filter).unwrap().len(), 1);
        let mut by_text = match_all();
        by_text.text = Some("MILK".into());
        assert_eq!(store.query(&by_text).unwrap()[0].title, "Buy milk");
        let mut many = match_all();
        many.tags = (0..6).map(|i| format!("t{i}")).collect();
        assert!(store.query(&many).unwrap().is_empty());
    }

    #[test]
    fn repeated_tags_and_attributes_are_kept_once_in_order() {
        let mut new = new_task("t");
        new.tags = vec!["b".into(), "a".into(), "b".into(), "c".into(), "a".into()];
        let task = build_task("id".into(), new, 1).unwrap();
        assert_eq!(task.tags, ["b", "a", "c"]);
        let mut patch = empty_patch();
        patch.add_tags = vec!["c".into(), "d".into(), "d".into()];
        patch.remove_tags = vec!["a".into()];
        patch.set_attributes = ["x", "y", "x"]
            .iter()
            .enumerate()
            .map(|(i, k)| crate::task::Attribute {
                key: k.to_string(),
                value: i.to_string(),
            })
            .collect();
        patch.remove_attributes = vec!["y".into()];
        let next = apply_patch(&task, &patch, 2).unwrap();
        assert_eq!(next.tags, ["b", "c", "d"]);
        let attributes: Vec<_> = next
            .attributes
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(attributes, [("x", "2")]);
    }

    #[test]
    fn many_tags_take_linear_time() {
        // 40 000 distinct tags: a scan per tag would be 8e8 comparisons.
        let mut new = new_task("t");
        new.tags = (0..40_000).map(|i| format!("t{i}")).collect();
        let started = std::time::Instant::now();
        let task = build_task("id".into(), new, 1).unwrap();
        let mut patch = empty_patch();
        patch.add_tags = (0..40_000).map(|i| format!("u{i}")).collect();
        patch.remove_tags = (0..40_000).map(|i| format!("t{i}")).collect();
        let next = apply_patch(&task, &patch, 2).unwrap();
        let mut filter = match_all();
        filter.tags = next.tags.clone();
        assert!(filter_matches(&next, &filter));
        assert_eq!(next.tags.len(), 40_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
