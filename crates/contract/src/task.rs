//! A task and the requests that create, change and find tasks, as in the
//! `types` interface of `plugboard:task-events@2`.
//!
//! Field and variant names are the Rust forms of the WIT names and serialize
//! as they are (`add_tags`, `"Pending"`), the same JSON the host's generated
//! bindings produce.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since the Unix epoch (UTC).
pub type Timestamp = i64;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Still to do.
    Pending,
    /// Not actionable until some condition holds (for example a date).
    Waiting,
    /// Done.
    Completed,
    /// Removed by the user; kept for history.
    Deleted,
}

/// How important a task is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// No priority set.
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// A timestamped note attached to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// When the note was written.
    pub time: Timestamp,
    /// The note.
    pub text: String,
}

/// A user-defined attribute: a key and its value, both text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// The attribute's name, unique within a task.
    pub key: String,
    /// The attribute's value.
    pub value: String,
}

/// A task as the application stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Stable identifier, assigned by the host: a UUID in its hyphenated form.
    pub id: String,
    /// One-line summary shown to the user.
    pub title: String,
    /// Longer free text; empty when there is none.
    pub description: String,
    /// Where the task is in its life.
    pub status: Status,
    /// The project the task belongs to, if any.
    pub project: Option<String>,
    /// Free-form labels, without a leading `+` or `#`.
    pub tags: Vec<String>,
    /// How important the task is.
    pub priority: Priority,
    /// When the task is due, if it has a due date.
    pub due: Option<Timestamp>,
    /// When the task was created.
    pub created: Timestamp,
    /// When the task was last changed.
    pub modified: Timestamp,
    /// Notes attached to the task, oldest first.
    pub annotations: Vec<Annotation>,
    /// User-defined attributes.
    pub attributes: Vec<Attribute>,
}

/// The fields of a task to create; the store assigns the id and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    /// One-line summary; must not be empty.
    pub title: String,
    /// Longer free text; may be empty.
    pub description: String,
    /// The project, if any.
    pub project: Option<String>,
    /// Labels.
    pub tags: Vec<String>,
    /// How important the task is.
    pub priority: Priority,
    /// When the task is due, if it has a due date.
    pub due: Option<Timestamp>,
    /// User-defined attributes.
    pub attributes: Vec<Attribute>,
}

/// A change to some fields of a task; a field left `None` is not touched.
/// The default changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPatch {
    /// A new title; must not be empty.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new status.
    pub status: Option<Status>,
    /// `Some(None)` removes the project, `Some(Some(p))` sets it.
    pub project: Option<Option<String>>,
    /// A new priority.
    pub priority: Option<Priority>,
    /// `Some(None)` removes the due date, `Some(Some(t))` sets it.
    pub due: Option<Option<Timestamp>>,
    /// Tags to add; a tag the task already has is left as it is.
    pub add_tags: Vec<String>,
    /// Tags to remove; a tag the task does not have is ignored.
    pub remove_tags: Vec<String>,
    /// Notes to append, stamped with the time of the change.
    pub add_annotations: Vec<String>,
    /// Attributes to set, replacing any with the same key.
    pub set_attributes: Vec<Attribute>,
    /// Keys of attributes to remove.
    pub remove_attributes: Vec<String>,
    /// When set, the change is a conflict unless the task's `modified` time
    /// still equals this value (optimistic locking).
    pub expected_modified: Option<Timestamp>,
}

/// Which tasks a query returns; every field that is set must match. The
/// default matches every task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only tasks with this status.
    pub status: Option<Status>,
    /// Only tasks in this project.
    pub project: Option<String>,
    /// Only tasks that carry every one of these tags.
    pub tags: Vec<String>,
    /// Only tasks whose title or description contains this text, compared
    /// without regard to case.
    pub text: Option<String>,
    /// At most this many tasks; the host may also cap the number.
    pub limit: Option<u32>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A task with every field set to something other than its default.
    pub(crate) fn full_task() -> Task {
        Task {
            id: "6f1c2e7a-0d3b-4a5e-9c8d-1b2a3c4d5e6f".into(),
            title: "Fix login".into(),
            description: "Users on Safari".into(),
            status: Status::Waiting,
            project: Some("website".into()),
            tags: vec!["work".into(), "urgent".into()],
            priority: Priority::High,
            due: Some(1_751_328_000_000),
            created: 1_700_000_000_000,
            modified: 1_700_000_360_000,
            annotations: vec![Annotation {
                time: 1_700_000_360_000,
                text: "asked by Sam".into(),
            }],
            attributes: vec![Attribute {
                key: "estimate".into(),
                value: "2h".into(),
            }],
        }
    }

    /// The JSON the generated bindings' serde derives give the same task.
    pub(crate) const FULL_TASK_JSON: &str = concat!(
        r#"{"id":"6f1c2e7a-0d3b-4a5e-9c8d-1b2a3c4d5e6f","title":"Fix login","description":"Users on Safari","#,
        r#""status":"Waiting","project":"website","tags":["work","urgent"],"priority":"High","#,
        r#""due":1751328000000,"created":1700000000000,"modified":1700000360000,"#,
        r#""annotations":[{"time":1700000360000,"text":"asked by Sam"}],"#,
        r#""attributes":[{"key":"estimate","value":"2h"}]}"#
    );

    #[test]
    fn a_full_task_has_the_json_of_the_bindings() {
        let task = full_task();
        assert_eq!(serde_json::to_string(&task).unwrap(), FULL_TASK_JSON);
        assert_eq!(serde_json::from_str::<Task>(FULL_TASK_JSON).unwrap(), task);
    }

    #[test]
    fn absent_options_are_null_and_enums_are_their_variant_names() {
        let mut task = full_task();
        task.project = None;
        task.due = None;
        task.status = Status::Pending;
        task.priority = Priority::None;
        let json: serde_json::Value = serde_json::to_value(&task).unwrap();
        assert_eq!(json["project"], serde_json::Value::Null);
        assert_eq!(json["due"], serde_json::Value::Null);
        assert_eq!(json["status"], "Pending");
        assert_eq!(json["priority"], "None");
    }

    #[test]
    fn requests_have_the_json_of_the_bindings() {
        let patch = TaskPatch {
            title: Some("t".into()),
            project: Some(None),
            due: Some(Some(5)),
            add_tags: vec!["a".into()],
            set_attributes: vec![Attribute {
                key: "k".into(),
                value: "v".into(),
            }],
            expected_modified: Some(3),
            ..TaskPatch::default()
        };
        assert_eq!(
            serde_json::to_string(&patch).unwrap(),
            concat!(
                r#"{"title":"t","description":null,"status":null,"project":null,"priority":null,"due":5,"#,
                r#""add_tags":["a"],"remove_tags":[],"add_annotations":[],"#,
                r#""set_attributes":[{"key":"k","value":"v"}],"remove_attributes":[],"expected_modified":3}"#
            )
        );
        let filter = Filter {
            status: Some(Status::Completed),
            limit: Some(10),
            ..Filter::default()
        };
        assert_eq!(
            serde_json::to_string(&filter).unwrap(),
            r#"{"status":"Completed","project":null,"tags":[],"text":null,"limit":10}"#
        );
        let new = NewTask {
            title: "n".into(),
            description: String::new(),
            project: None,
            tags: vec![],
            priority: Priority::Low,
            due: None,
            attributes: vec![],
        };
        assert_eq!(
            serde_json::to_string(&new).unwrap(),
            r#"{"title":"n","description":"","project":null,"tags":[],"priority":"Low","due":null,"attributes":[]}"#
        );
    }
}
