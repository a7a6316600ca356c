//! A task as Taskwarrior's hooks carry it (one JSON object) as an @2
//! [`Task`], and the @2 task a plugin changed written back into that same
//! object, touching only the fields whose @2 value changed.
//!
//! | @2 field | Taskwarrior field |
//! |---|---|
//! | `id` | `uuid` |
//! | `title` | `description` |
//! | `description` | none: Taskwarrior has no long text (a plugin's change to it is reported, not kept) |
//! | `status` | `status` (`recurring` is shown as `Pending`) |
//! | `project`, `due` | `project`, `due` |
//! | `tags` | `tags` |
//! | `priority` | `priority` `H` / `M` / `L` (another value is shown as none) |
//! | `created`, `modified` | `entry`, `modified` (never written: Taskwarrior keeps them) |
//! | `annotations` | `annotations` (`entry`, `description`) |
//! | `attributes` | every other field (UDAs, `wait`, `scheduled`, `depends`, ...) but `id` and `urgency`: text as it is, numbers and booleans as text, a list of texts joined by commas |
//!
//! Dates are Taskwarrior's `20261201T093000Z` (UTC, to the second). A field
//! the plugin did not change keeps its exact JSON value, whatever its form.

use chrono::{DateTime, NaiveDateTime};
use plugboard_contract::{Annotation, Attribute, Priority, Status, Task, Timestamp};
use serde_json::{Map, Value};

/// Taskwarrior's date form.
const DATE_FORM: &str = "%Y%m%dT%H%M%SZ";

/// Fields that are not the home of an @2 field and are not attributes
/// either: Taskwarrior computes them.
const COMPUTED: [&str; 2] = ["id", "urgency"];

/// Fields that are the home of an @2 field.
const MAPPED: [&str; 10] = [
    "uuid",
    "description",
    "status",
    "project",
    "tags",
    "priority",
    "due",
    "entry",
    "modified",
    "annotations",
];

/// A task Taskwarrior sent that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TaskJsonError {
    /// Not one JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// A field has the wrong form.
    #[error("field `{field}`: {problem}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn field_error(field: &str, problem: impl Into<String>) -> TaskJsonError {
    TaskJsonError::Field {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Parses Taskwarrior's `20261201T093000Z` into milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<Timestamp> {
    NaiveDateTime::parse_from_str(text, DATE_FORM)
        .ok()
        .map(|time| time.and_utc().timestamp_millis())
}

/// Writes a time in Taskwarrior's form, to the second.
pub fn format_date(time: Timestamp) -> String {
    DateTime::from_timestamp_millis(time)
        .unwrap_or(if time < 0 {
            DateTime::UNIX_EPOCH
        } else {
            DateTime::<chrono::Utc>::MAX_UTC
        })
        .format(DATE_FORM)
        .to_string()
}

/// One task line Taskwarrior sent, parsed.
pub fn parse_object(line: &str) -> Result<Map<String, Value>, TaskJsonError> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(TaskJsonError::NotJson(format!("a JSON {}", kind(&other)))),
        Err(e) => Err(TaskJsonError::NotJson(e.to_string())),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn text<'a>(object: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, TaskJsonError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(field_error(field, format!("expected text, found a {}", kind(other)))),
    }
}

fn date(object: &Map<String, Value>, field: &str) -> Result<Option<Timestamp>, TaskJsonError> {
    text(object, field)?
        .map(|t| parse_date(t).ok_or_else(|| field_error(field, format!("{t:?} is not a date like 20261201T093000Z"))))
        .transpose()
}

/// An attribute's text, or `None` for a value with no text form (an object).
fn attribute_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(",")),
        Value::Null | Value::Object(_) => None,
    }
}

/// The @2 view of a Taskwarrior task.
pub fn to_task(object: &Map<String, Value>) -> Result<Task, TaskJsonError> {
    let id = text(object, "uuid")?.ok_or_else(|| field_error("uuid", "missing"))?;
    let status = match text(object, "status")? {
        None | Some("pending") | Some("recurring") => Status::Pending,
        Some("waiting") => Status::Waiting,
        Some("completed") => Status::Completed,
        Some("deleted") => Status::Deleted,
        Some(other) => return Err(field_error("status", format!("unknown status {other:?}"))),
    };
    let priority = match text(object, "priority")? {
        Some("H") => Priority::High,
        Some("M") => Priority::Medium,
        Some("L") => Priority::Low,
        _ => Priority::None,
    };
    let tags = match object.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| field_error("tags", "expected a list of texts"))?,
        Some(other) => return Err(field_error("tags", format!("expected a list, found a {}", kind(other)))),
    };
    let annotations = match object.get("annotations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let note = item
                    .as_object()
                    .ok_or_else(|| field_error("annotations", "expected objects"))?;
                Ok(Annotation {
                    time: date(note, "entry")
                        .map_err(|_| field_error("annotations", "an entry is not a date"))?
                        .unwrap_or(0),
                    text: text(note, "description")
                        .map_err(|_| field_error("annotations", "a description is not text"))?
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect::<Result<Vec<_>, TaskJsonError>>()?,
        Some(other) => {
            return Err(field_error(
                "annotations",
                format!("expected a list, found a {}", kind(other)),
            ));
        }
    };
    let mut attributes: Vec<Attribute> = object
        .iter()
        .filter(|(key, _)| !MAPPED.contains(&key.as_str()) && !COMPUTED.contains(&key.as_str()))
        .filter_map(|(key, value)| {
            attribute_text(value).map(|value| Attribute {
                key: key.clone(),
                value,
            })
        })
        .collect();
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
    let created = date(object, "entry")?.unwrap_or(0);
    Ok(Task {
        id: id.to_string(),
        title: text(object, "description")?.unwrap_or_default().to_string(),
        description: String::new(),
        status,
        project: text(object, "project")?.map(str::to_string),
        tags,
        priority,
        due: date(object, "due")?,
        created,
        modified: date(object, "modified")?.unwrap_or(created),
        annotations,
        attributes,
    })
}

/// What [`write_back`] could not keep.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NotKept {
    /// The plugins changed the long description, which Taskwarrior has no field for.
    pub description: bool,
    /// The plugins changed the task's id.
    pub id: bool,
}

/// Writes into `object` what changed from `before` to `after`, leaving
/// every other field exactly as it was; `now` is the time of a status
/// change's `end`.
pub fn write_back(object: &mut Map<String, Value>, before: &Task, after: &Task, now: Timestamp) -> NotKept {
    let mut not_kept = NotKept {
        description: before.description != after.description,
        id: before.id != after.id,
    };
    if not_kept.id {
        // Another task: nothing of it belongs in this one.
        not_kept.description = false;
        return not_kept;
    }
    let set_or_remove = |object: &mut Map<String, Value>, field: &str, value: Option<Value>| match value {
        Some(value) => {
            object.insert(field.to_string(), value);
        }
        None => {
            object.remove(field);
        }
    };
    if before.title != after.title {
        object.insert("description".into(), Value::String(after.title.clone()));
    }
    if before.status != after.status {
        let name = match after.status {
            Status::Pending => "pending",
            Status::Waiting => "waiting",
            Status::Completed => "completed",
            Status::Deleted => "deleted",
        };
        object.insert("status".into(), Value::String(name.into()));
        match after.status {
            Status::Completed | Status::Deleted => {
                object.entry("end").or_insert_with(|| Value::String(format_date(now)));
            }
            Status::Pending | Status::Waiting => {
                object.remove("end");
            }
        }
    }
    if before.project != after.project {
        set_or_remove(object, "project", after.project.clone().map(Value::String));
    }
    if before.tags != after.tags {
        let tags =
            (!after.tags.is_empty()).then(|| Value::Array(after.tags.iter().cloned().map(Value::String).collect()));
        set_or_remove(object, "tags", tags);
    }
    if before.priority != after.priority {
        let letter = match after.priority {
            Priority::None => None,
            Priority::Low => Some("L"),
            Priority::Medium => Some("M"),
            Priority::High => Some("H"),
        };
        set_or_remove(object, "priority", letter.map(|l| Value::String(l.into())));
    }
    if before.due != after.due {
        set_or_remove(object, "due", after.due.map(|d| Value::String(format_date(d))));
    }
    if before.annotations != after.annotations {
        let old: Vec<Value> = match object.get("annotations") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let notes: Vec<Value> = after
            .annotations
            .iter()
            .map(|note| {
                // An annotation the task already had keeps its exact form.
                let same = before
                    .annotations
                    .iter()
                    .position(|b| b == note)
                    .and_then(|index| old.get(index).cloned());
                same.unwrap_or_else(|| {
                    let mut fresh = Map::new();
                    fresh.insert("entry".into(), Value::String(format_date(note.time)));
                    fresh.insert("description".into(), Value::String(note.text.clone()));
                    Value::Object(fresh)
                })
            })
            .collect();
        set_or_remove(
            object,
            "annotations",
            (!notes.is_empty()).then_some(Value::Array(notes)),
        );
    }
    if before.attributes != after.attributes {
        for gone in before
            .attributes
            .iter()
            .filter(|b| !after.attributes.iter().any(|a| a.key == b.key))
        {
            object.remove(&gone.key);
        }
        for attribute in &after.attributes {
            let unchanged = before.attributes.iter().any(|b| b == attribute);
            let reserved = MAPPED.contains(&attribute.key.as_str()) || COMPUTED.contains(&attribute.key.as_str());
            if unchanged || reserved {
                continue;
            }
            // A number stays a number, as Taskwarrior writes a numeric UDA.
            let was_number = matches!(object.get(&attribute.key), Some(Value::Number(_)));
            let value = match attribute.value.parse::<serde_json::Number>() {
                Ok(number) if was_number => Value::Number(number),
                _ => Value::String(attribute.value.clone()),
            };
            object.insert(attribute.key.clone(), value);
        }
    }
    not_kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"{"id":1,"description":"hello world","due":"20261201T093000Z","entry":"20261130T120000Z","estimate":3,"modified":"20261130T120500Z","note":"abc","project":"home","status":"pending","uuid":"c1db25ae-59b6-4946-b73c-03469c0414b9","annotations":[{"entry":"20261130T120500Z","description":"some note"}],"tags":["a"],"depends":["d1","d2"],"urgency":11.658,"priority":"M"}"#;

    #[test]
    fn every_field_maps_to_the_at2_task() {
        let object = parse_object(TASK).unwrap();
        let task = to_task(&object).unwrap();
        assert_eq!(task.id, "c1db25ae-59b6-4946-b73c-03469c0414b9");
        assert_eq!(task.title, "hello world");
        assert_eq!(task.status, Status::Pending);
        assert_eq!(task.project.as_deref(), Some("home"));
        assert_eq!(task.tags, ["a"]);
        assert_eq!(task.priority, Priority::Medium);
        assert_eq!(task.due, parse_date("20261201T093000Z"));
        assert_eq!(format_date(task.due.unwrap()), "20261201T093000Z");
        assert_eq!(format_date(task.created), "20261130T120000Z");
        assert_eq!(format_date(task.modified), "20261130T120500Z");
        assert_eq!(task.annotations[0].text, "some note");
        let attributes: Vec<(&str, &str)> = task
            .attributes
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(attributes, [("depends", "d1,d2"), ("estimate", "3"), ("note", "abc")]);
    }

    #[test]
    fn an_unchanged_task_writes_back_exactly_as_it_came() {
        let mut object = parse_object(TASK).unwrap();
        let task = to_task(&object).unwrap();
        let original = object.clone();
        assert_eq!(write_back(&mut object, &task, &task, 0), NotKept::default());
        assert_eq!(object, original);
    }

    #[test]
    fn only_the_fields_a_plugin_changed_are_rewritten() {
        let mut object = parse_object(TASK).unwrap();
        let before = to_task(&object).unwrap();
        let mut after = before.clone();
        after.tags.push("urgent".into());
        after.priority = Priority::High;
        after.annotations.push(Annotation {
            time: parse_date("20261201T000000Z").unwrap(),
            text: "new".into(),
        });
        after.attributes.retain(|a| a.key != "note");
        for attribute in &mut after.attributes {
            if attribute.key == "estimate" {
                attribute.value = "5".into();
            }
        }
        after.modified += 1000;
        let mut expected = object.clone();
        write_back(&mut object, &before, &after, 0);
        expected.insert("tags".into(), serde_json::json!(["a", "urgent"]));
        expected.insert("priority".into(), serde_json::json!("H"));
        expected.insert("estimate".into(), serde_json::json!(5));
        expected.remove("note");
        expected.insert(
            "annotations".into(),
            serde_json::json!([
                {"entry": "20261130T120500Z", "description": "some note"},
                {"entry": "20261201T000000Z", "description": "new"}
            ]),
        );
        assert_eq!(
            object, expected,
            "modified, depends, due, urgency and the rest are as they came"
        );
    }

    #[test]
    fn completing_sets_end_and_reopening_removes_it() {
        let mut object = parse_object(TASK).unwrap();
        let before = to_task(&object).unwrap();
        let mut after = before.clone();
        after.status = Status::Completed;
        after.project = None;
        after.due = None;
        write_back(&mut object, &before, &after, parse_date("20261202T000000Z").unwrap());
        assert_eq!(object["status"], "completed");
        assert_eq!(object["end"], "20261202T000000Z");
        assert!(!object.contains_key("project") && !object.contains_key("due"));
        let mut reopened = before.clone();
        reopened.status = Status::Completed;
        write_back(&mut object, &reopened, &before, 0);
        assert_eq!(object["status"], "pending");
        assert!(!object.contains_key("end"));
    }

    #[test]
    fn a_bad_task_names_the_field() {
        let error = |line: &str| to_task(&parse_object(line).unwrap()).unwrap_err().to_string();
        assert_eq!(error(r#"{"description":"x"}"#), "field `uuid`: missing");
        assert!(error(r#"{"uuid":"u","due":"tomorrow"}"#).contains("field `due`: \"tomorrow\" is not a date"));
        assert!(error(r#"{"uuid":"u","tags":"a"}"#).contains("field `tags`"));
        assert!(error(r#"{"uuid":"u","status":"later"}"#).contains("unknown status"));
        assert!(parse_object("[1]").unwrap_err().to_string().contains("a JSON list"));
        assert!(parse_object("{").is_err());
    }
}
