//! legacy-counter: a task-events@1 plugin that counts the tasks created.
//!
//! It shows what the frozen version 1 ABI can do: log on each created task
//! how many were created so far, and note when a task became done. Version 1
//! has no state store, so the count lives in the plugin value, which the
//! SDK keeps in a static for as long as the host reuses this component
//! instance; it starts again from zero when the host reloads the plugin.

use plugboard_sdk::v1::{self, Level, Task, host};

/// The plugin: how many `task-created` events this instance has seen.
#[derive(Default)]
struct LegacyCounter {
    created: u64,
}

impl v1::Plugin for LegacyCounter {
    fn on_task_created(&mut self, _task: Task) -> Result<(), String> {
        self.created += 1;
        host::log(Level::Info, &format!("created tasks so far: {}", self.created));
        Ok(())
    }

    fn on_task_modified(&mut self, old: Task, new: Task) -> Result<(), String> {
        if new.done && !old.done {
            host::log(Level::Info, &format!("task {} is done: {}", new.id, new.title));
        }
        Ok(())
    }

    fn on_task_deleted(&mut self, task: Task) -> Result<(), String> {
        host::log(Level::Debug, &format!("task {} was deleted", task.id));
        Ok(())
    }
}

v1::export_plugin!(LegacyCounter);
