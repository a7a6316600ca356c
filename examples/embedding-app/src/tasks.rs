//! The app's own task storage: tasks in a `Vec` behind a mutex, oldest
//! first, behind plugboard's `TaskStore` contract so plugins can read them
//! and commit changes to them.

use std::sync::{Mutex, MutexGuard};

use plugboard::task_store::{Timestamp, build_task, filter_matches};
use plugboard::types::{Filter, NewTask, Task};
use plugboard::{TaskChange, TaskStore, TaskStoreError};

/// The app's tasks.
#[derive(Debug, Default)]
pub struct VecTaskStore {
    tasks: Mutex<Vec<Task>>,
    next_id: Mutex<u64>,
}

impl VecTaskStore {
    fn lock(&self) -> MutexGuard<'_, Vec<Task>> {
        // Every write below is a single push, assignment or removal, so a
        // panic elsewhere cannot leave the list half-changed.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a task, as the app does when its user adds one.
    pub fn create(&self, new: NewTask, now: Timestamp) -> Result<Task, TaskStoreError> {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            format!("task-{next}")
        };
        let task = build_task(id, new, now)?;
        self.lock().push(task.clone());
        Ok(task)
    }

    /// The task with this id, as stored now.
    pub fn get_task(&self, id: &str) -> Option<Task> {
        self.lock().iter().find(|t| t.id == id).cloned()
    }
}

/// Whether `tasks` still holds `expected` exactly as it was read.
fn unchanged(tasks: &[Task], expected: &Task) -> bool {
    tasks
        .iter()
        .any(|t| t.id == expected.id && t.modified == expected.modified)
}

impl TaskStore for VecTaskStore {
    fn get(&self, id: &str) -> Result<Option<Task>, TaskStoreError> {
        Ok(self.get_task(id))
    }

    fn query(&self, filter: &Filter) -> Result<Vec<Task>, TaskStoreError> {
        let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
        Ok(self
            .lock()
            .iter()
            .filter(|t| filter_matches(t, filter))
            .take(limit)
            .cloned()
            .collect())
    }

    fn commit(&self, changes: &[TaskChange]) -> Result<(), TaskStoreError> {
        let mut tasks = self.lock();
        // Check the whole batch first, so that a refusal changes nothing.
        for change in changes {
            let (id, fine) = match change {
                TaskChange::Created(task) => (&task.id, !tasks.iter().any(|t| t.id == task.id)),
                TaskChange::Updated { before, .. } | TaskChange::Deleted(before) => {
                    (&before.id, unchanged(&tasks, before))
                }
            };
            if !fine {
                return Err(TaskStoreError::Conflict(id.clone()));
            }
        }
        for change in changes {
            match change {
                TaskChange::Created(task) => tasks.push(task.clone()),
                TaskChange::Updated { after, .. } => {
                    if let Some(current) = tasks.iter_mut().find(|t| t.id == after.id) {
                        *current = after.clone();
                    }
                }
                TaskChange::Deleted(task) => tasks.retain(|t| t.id != task.id),
            }
        }
        Ok(())
    }
}
