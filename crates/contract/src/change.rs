//! The task changes one plugin call made, as the application's
//! [`TaskStore`](crate::TaskStore) commits them.

use crate::task::Task;

/// A task change a plugin made during a call.
// Unboxed on purpose: a change is built once per host call and boxing both
// tasks would add two allocations to every update.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskChange {
    /// It created this task.
    Created(Task),
    /// It changed a task.
    Updated {
        /// The task before.
        before: Task,
        /// The task after.
        after: Task,
    },
    /// It deleted this task.
    Deleted(Task),
}
