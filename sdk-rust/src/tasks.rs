//! Reading and changing the application's tasks.
//!
//! Reads need the `tasks = ["read"]` permission, [`create`] and [`update`]
//! need `"write"`, [`delete`] needs `"delete"`; a call without its permission
//! fails with [`Error::Denied`]. Changes made during a handler call reach the
//! application only when the handler returns `Ok`, all together; an `Err`
//! or a trap discards them.

use crate::bindings::plugboard::task_events::tasks as host;
use crate::types::{Error, Filter, NewTask, Task, TaskPatch};

/// Reads one task; `Ok(None)` when no task has this id.
pub fn get(id: &str) -> Result<Option<Task>, Error> {
    host::get(id)
}

/// Lists the tasks that match `filter`, oldest first.
pub fn query(filter: &Filter) -> Result<Vec<Task>, Error> {
    host::query(filter)
}

/// Creates a task and returns it with its id and times filled in.
pub fn create(task: &NewTask) -> Result<Task, Error> {
    host::create(task)
}

/// Changes the fields `patch` sets and returns the task as it is now.
///
/// Set `patch.expected_modified` to the `modified` time you read to fail
/// with [`Error::Conflict`] instead of overwriting someone else's change.
pub fn update(id: &str, patch: &TaskPatch) -> Result<Task, Error> {
    host::update(id, patch)
}

/// Deletes a task.
pub fn delete(id: &str) -> Result<(), Error> {
    host::delete(id)
}

/// Counts the tasks that match `filter`, ignoring its `limit`.
///
/// New in task-events 2.1.0.
pub fn count(filter: &Filter) -> Result<u32, Error> {
    host::count(filter)
}
