//! The task-events@2 data types, re-exported from the generated bindings,
//! with a few constructors the WIT cannot express.

use std::fmt;

pub use crate::bindings::plugboard::task_events::types::{
    Annotation, Attribute, CustomEvent, Error, Event, Filter, NewTask, Priority, Status, SyncSummary, Task, TaskChange,
    TaskId, TaskPatch, Timestamp,
};

impl NewTask {
    /// A task with this title and every other field empty.
    pub fn new(title: impl Into<String>) -> Self {
        NewTask {
            title: title.into(),
            ..NewTask::default()
        }
    }
}

impl Filter {
    /// Matches every task with this status.
    pub fn status(status: Status) -> Self {
        Filter {
            status: Some(status),
            ..Filter::default()
        }
    }
}

impl Task {
    /// Whether the task carries this tag (compared exactly).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

impl TaskPatch {
    /// Whether applying the patch would change nothing (every field unset).
    pub fn is_empty(&self) -> bool {
        *self == TaskPatch::default()
    }
}

impl Status {
    /// The status's WIT name, such as `"pending"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Waiting => "waiting",
            Status::Completed => "completed",
            Status::Deleted => "deleted",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Priority {
    /// The priority's WIT name, such as `"high"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
