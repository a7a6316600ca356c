//! The adapter for `plugboard:task-events@1`: the one place that knows how
//! version 1 maps onto the newest world.
//!
//! Events go down: a v2 event becomes the v1 handler call that means the
//! same, and an event with no v1 form (sync, timer, custom) is not delivered.
//! Host calls go up: each v1 import is implemented by calling the v2 host
//! implementation, so permissions, recording and storage behave the same.
//! The conversions are between the v1 bindings and the contract's types,
//! which the v2 implementation works on; the v2 bindings play no part.

use std::collections::HashSet;

use plugboard_contract::{Event, PluginError, Status, Task, TaskPatch};

use crate::abi::v2::without_content;
use crate::abuse::HostFailure;
use crate::bindings::v1::plugboard::task_events as v1;
use crate::context::{LogLevel, PluginContext};
use crate::policy::Permission;
use crate::weight;

/// A v1 handler call, converted from a v2 event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Call {
    /// `on-task-created`
    Created(v1::types::Task),
    /// `on-task-modified`
    Modified(v1::types::Task, v1::types::Task),
    /// `on-task-deleted`
    Deleted(v1::types::Task),
}

impl From<&Task> for v1::types::Task {
    fn from(task: &Task) -> Self {
        v1::types::Task {
            id: task.id.clone(),
            title: task.title.clone(),
            done: task.status == Status::Completed,
            tags: task.tags.clone(),
        }
    }
}

impl From<v1::types::Level> for LogLevel {
    fn from(level: v1::types::Level) -> Self {
        match level {
            v1::types::Level::Trace => LogLevel::Trace,
            v1::types::Level::Debug => LogLevel::Debug,
            v1::types::Level::Info => LogLevel::Info,
            v1::types::Level::Warn => LogLevel::Warn,
            v1::types::Level::Error => LogLevel::Error,
        }
    }
}

/// The v1 call for a v2 event, or `None` when v1 has no such event.
pub fn event_down(event: &Event) -> Option<V1Call> {
    match event {
        Event::TaskCreated(task) => Some(V1Call::Created(task.into())),
        Event::TaskModified(change) => Some(V1Call::Modified((&change.before).into(), (&change.after).into())),
        Event::TaskDeleted(task) => Some(V1Call::Deleted(task.into())),
        Event::SyncCompleted(_) | Event::Timer(_) | Event::Custom(_) => None,
    }
}

/// The message a v1 plugin receives for a v2 error.
fn error_text(error: &PluginError) -> String {
    match error {
        PluginError::Denied(why) => format!("denied: {why}"),
        PluginError::NotFound(id) => format!("not found: {id}"),
        PluginError::Invalid(why) => format!("invalid: {why}"),
        PluginError::QuotaExceeded => "quota exceeded".to_string(),
        PluginError::Conflict => "conflict: the task changed meanwhile".to_string(),
    }
}

impl v1::types::Host for PluginContext {}

impl v1::host::Host for PluginContext {
    fn log(&mut self, level: v1::types::Level, message: String) -> wasmtime::Result<()> {
        self.log_line(level.into(), message)
    }

    fn get_task(&mut self, id: String) -> wasmtime::Result<Option<v1::types::Task>> {
        // v1 has no error channel here: a refusal or a missing task is `none`
        // (a refusal is still recorded by the v2 call).
        let found = self.get_task(&id)?;
        Ok(found.ok().flatten().as_ref().map(Into::into))
    }

    fn update_task(&mut self, task: v1::types::Task) -> wasmtime::Result<Result<(), String>> {
        self.enter()?;
        self.check_size("task", v1_task_weight(&task))?;
        let allowed = self
            .require(Permission::TasksWrite)
            .and_then(|_| self.may_address(&task.id));
        if let Err(e) = allowed {
            return Ok(Err(error_text(&e)));
        }
        // The current task is read by the host to turn the v1 replacement
        // into a v2 patch; that read is not the plugin's, so it needs no
        // `tasks.read`. The patch is what the plugin changed in the task
        // as it was shown: without `tasks.read`, the task without content.
        let current = match self.tx.get(&*self.services.tasks, &task.id) {
            Ok(Some(current)) if self.policy.tasks_read => current,
            Ok(Some(current)) => without_content(&current),
            Ok(None) => return Ok(Err(error_text(&PluginError::NotFound(task.id)))),
            Err(e) => return Err(HostFailure::trap(e.to_string())),
        };
        let mut patch = TaskPatch::default();
        if task.title != current.title {
            patch.title = Some(task.title.clone());
        }
        let was_done = current.status == Status::Completed;
        if task.done != was_done {
            patch.status = Some(if task.done { Status::Completed } else { Status::Pending });
        }
        let had: HashSet<&str> = current.tags.iter().map(String::as_str).collect();
        let has: HashSet<&str> = task.tags.iter().map(String::as_str).collect();
        patch.add_tags = task
            .tags
            .iter()
            .filter(|t| !had.contains(t.as_str()))
            .cloned()
            .collect();
        patch.remove_tags = current
            .tags
            .iter()
            .filter(|t| !has.contains(t.as_str()))
            .cloned()
            .collect();
        patch.expected_modified = Some(current.modified);
        // The v2 call counts as this same host call.
        let updated = self.update_task_unentered(&task.id, &patch)?;
        Ok(updated.map(|_| ()).map_err(|e| error_text(&e)))
    }
}

/// The weight of a v1 task a plugin passes ([`crate::weight`]).
fn v1_task_weight(task: &v1::types::Task) -> u64 {
    crate::limits::TASK_RECORD_BYTES + weight::text(&task.id) + weight::text(&task.title) + weight::texts(&task.tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_contract::task_store::{build_task, new_task};
    use plugboard_contract::{CustomEvent, SyncSummary, TaskModification};

    fn task(title: &str, status: Status) -> Task {
        let mut t = build_task("id-1".into(), new_task(title), 7).expect("a non-empty title is a valid task");
        t.status = status;
        t.tags = vec!["a".into()];
        t
    }

    #[test]
    fn task_events_go_down_with_done_from_status() {
        let created = event_down(&Event::TaskCreated(task("x", Status::Completed))).unwrap();
        assert_eq!(
            created,
            V1Call::Created(v1::types::Task {
                id: "id-1".into(),
                title: "x".into(),
                done: true,
                tags: vec!["a".into()],
            })
        );
        let modified = event_down(&Event::TaskModified(TaskModification {
            before: task("x", Status::Pending),
            after: task("y", Status::Waiting),
        }))
        .unwrap();
        let V1Call::Modified(old, new) = modified else {
            panic!("expected a modified call, got {modified:?}")
        };
        assert_eq!((old.title.as_str(), old.done), ("x", false));
        assert_eq!((new.title.as_str(), new.done), ("y", false));
    }

    #[test]
    fn events_without_a_v1_form_are_not_delivered() {
        assert_eq!(event_down(&Event::Timer("hourly".into())), None);
        assert_eq!(
            event_down(&Event::SyncCompleted(SyncSummary {
                pulled: 1,
                pushed: 2,
                conflicts: 0
            })),
            None
        );
        assert_eq!(
            event_down(&Event::Custom(CustomEvent {
                topic: "t".into(),
                payload: vec![],
                source: "p".into()
            })),
            None
        );
    }
}
