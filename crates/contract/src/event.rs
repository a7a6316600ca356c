//! Something that happened in the application, delivered to the plugins
//! subscribed to it, as in the `types` interface of `plugboard:task-events@2`.

use serde::{Deserialize, Serialize};

use crate::task::Task;

/// A task before and after a change (the WIT `task-change` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskModification {
    /// The task as it was.
    pub before: Task,
    /// The task as it is now.
    pub after: Task,
}

/// What a synchronisation with a remote store did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Tasks received from the remote.
    pub pulled: u32,
    /// Tasks sent to the remote.
    pub pushed: u32,
    /// Changes that conflicted and were resolved by the application.
    pub conflicts: u32,
}

/// An event one plugin emitted for others (or the application sent in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomEvent {
    /// What the event is about, as named in the emitter's manifest.
    pub topic: String,
    /// Opaque data whose format the topic defines.
    pub payload: Vec<u8>,
    /// The id of the plugin that emitted it.
    pub source: String,
}

/// Something that happened in the application.
// Unboxed like the WIT variant it mirrors: an event is built once per
// dispatch, and boxing the tasks would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A task was created.
    TaskCreated(Task),
    /// A task was changed.
    TaskModified(TaskModification),
    /// A task was deleted; this is its last state.
    TaskDeleted(Task),
    /// A synchronisation finished.
    SyncCompleted(SyncSummary),
    /// A timer declared in a plugin's manifest fired; this is its name.
    Timer(String),
    /// A plugin emitted an event other plugins may subscribe to.
    Custom(CustomEvent),
}

impl Event {
    /// The event's name as manifests subscribe to it (`task-created`, ...,
    /// `custom`).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TaskCreated(_) => "task-created",
            Event::TaskModified(_) => "task-modified",
            Event::TaskDeleted(_) => "task-deleted",
            Event::SyncCompleted(_) => "sync-completed",
            Event::Timer(_) => "timer",
            Event::Custom(_) => "custom",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::tests::{FULL_TASK_JSON, full_task};

    fn round_trips_as(event: Event, json: &str) {
        assert_eq!(serde_json::to_string(&event).unwrap(), json, "{}", event.kind());
        assert_eq!(serde_json::from_str::<Event>(json).unwrap(), event);
    }

    #[test]
    fn every_event_kind_has_the_json_of_the_bindings() {
        let before = full_task();
        let mut after = full_task();
        after.title = "Fix login on Safari".into();
        let after_json = FULL_TASK_JSON.replace(r#""Fix login""#, r#""Fix login on Safari""#);
        round_trips_as(
            Event::TaskCreated(full_task()),
            &format!(r#"{{"TaskCreated":{FULL_TASK_JSON}}}"#),
        );
        round_trips_as(
            Event::TaskModified(TaskModification { before, after }),
            &format!(r#"{{"TaskModified":{{"before":{FULL_TASK_JSON},"after":{after_json}}}}}"#),
        );
        round_trips_as(
            Event::TaskDeleted(full_task()),
            &format!(r#"{{"TaskDeleted":{FULL_TASK_JSON}}}"#),
        );
        round_trips_as(
            Event::SyncCompleted(SyncSummary {
                pulled: 3,
                pushed: 1,
                conflicts: 0,
            }),
            r#"{"SyncCompleted":{"pulled":3,"pushed":1,"conflicts":0}}"#,
        );
        round_trips_as(Event::Timer("hourly".into()), r#"{"Timer":"hourly"}"#);
        round_trips_as(
            Event::Custom(CustomEvent {
                topic: "reminder".into(),
                payload: b"hi".to_vec(),
                source: "app".into(),
            }),
            r#"{"Custom":{"topic":"reminder","payload":[104,105],"source":"app"}}"#,
        );
    }
}
