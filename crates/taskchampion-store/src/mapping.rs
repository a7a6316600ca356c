//! A TaskChampion task (a map of properties, as Taskwarrior 3 stores it) as
//! an @2 [`Task`], and a change between two @2 tasks as the property updates
//! that make it.
//!
//! | @2 field | TaskChampion property |
//! |---|---|
//! | `id` | the task's UUID |
//! | `title` | `description` |
//! | `description` | `plugboard.description` (Taskwarrior has no long text) |
//! | `status` | `status` (`pending`, `completed`, `deleted`); `Waiting` is `pending` with a `wait` date in the future, as Taskwarrior computes it |
//! | `project` | `project` |
//! | `tags` | one `tag_NAME` property each |
//! | `priority` | `priority` `H` / `M` / `L` |
//! | `due`, `created`, `modified` | `due`, `entry`, `modified`, in seconds |
//! | `annotations` | one `annotation_SECONDS` property each |
//! | `attributes` | every other property (Taskwarrior's UDAs, `start`, `scheduled`, `depends`, ...) |
//!
//! Times are kept to the second, as Taskwarrior keeps them. Tags and
//! attributes come back sorted by name, annotations by time. A change writes
//! only the properties whose @2 field changed, so a property the @2 task has
//! no field for (`wait`, `end`, `recur`, a custom priority) is kept as it is.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime};
use plugboard_contract::{Annotation, Attribute, Priority, Status, Task, TaskStoreError, Timestamp};
use taskchampion::{Operations, Tag, TaskData};

const DESCRIPTION: &str = "description";
const LONG_DESCRIPTION: &str = "plugboard.description";
const STATUS: &str = "status";
const PROJECT: &str = "project";
const PRIORITY: &str = "priority";
const DUE: &str = "due";
const ENTRY: &str = "entry";
const MODIFIED: &str = "modified";
const WAIT: &str = "wait";
const END: &str = "end";
const TAG_PREFIX: &str = "tag_";
const ANNOTATION_PREFIX: &str = "annotation_";

/// The longest text value (title, description, project, tag, annotation,
/// attribute key or value) the store writes, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The most tags, annotations or attributes one task may carry.
pub const MAX_ITEMS_PER_FIELD: usize = 1024;

/// Whether a property is the home of an @2 field other than `attributes`.
fn is_mapped(key: &str) -> bool {
    matches!(
        key,
        DESCRIPTION | LONG_DESCRIPTION | STATUS | PROJECT | PRIORITY | DUE | ENTRY | MODIFIED | WAIT | END
    ) || key.starts_with(TAG_PREFIX)
        || key.starts_with(ANNOTATION_PREFIX)
}

/// Milliseconds to the whole seconds TaskChampion stores.
fn to_seconds(time: Timestamp) -> i64 {
    time.div_euclid(1000)
}

fn seconds_text(time: Timestamp) -> String {
    to_seconds(time).to_string()
}

fn parse_seconds(text: &str) -> Option<Timestamp> {
    text.parse::<i64>().ok().map(|s| s.saturating_mul(1000))
}

/// When a waiting task with no wait date of its own waits until:
/// Taskwarrior's `someday`, 9999-12-30.
fn someday() -> i64 {
    NaiveDate::from_ymd_opt(9999, 12, 30)
        .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp())
        // 9999-12-30 is a valid date, so this branch is never taken.
        .unwrap_or(i64::MAX / 1000)
}

fn priority_letter(priority: Priority) -> Option<&'static str> {
    match priority {
        Priority::None => None,
        Priority::Low => Some("L"),
        Priority::Medium => Some("M"),
        Priority::High => Some("H"),
    }
}

/// The @2 view of a stored task; `now` (seconds) decides whether a `wait`
/// date makes a pending task `Waiting`.
pub fn task_from_data(data: &TaskData, now: i64) -> Task {
    let get = |key: &str| data.get(key);
    let time = |key: &str| get(key).and_then(parse_seconds);
    let waits = time(WAIT).is_some_and(|wait| wait > now.saturating_mul(1000));
    let status = match get(STATUS) {
        Some("completed") => Status::Completed,
        Some("deleted") => Status::Deleted,
        Some("waiting") => Status::Waiting,
        _ if waits => Status::Waiting,
        _ => Status::Pending,
    };
    let priority = match get(PRIORITY) {
        Some("H") => Priority::High,
        Some("M") => Priority::Medium,
        Some("L") => Priority::Low,
        _ => Priority::None,
    };
    let mut tags = Vec::new();
    let mut annotations = Vec::new();
    let mut attributes = BTreeMap::new();
    for (key, value) in data.iter() {
        if let Some(tag) = key.strip_prefix(TAG_PREFIX) {
            tags.push(tag.to_string());
        } else if let Some(seconds) = key.strip_prefix(ANNOTATION_PREFIX) {
            if let Some(time) = parse_seconds(seconds) {
                annotations.push(Annotation {
                    time,
                    text: value.clone(),
                });
            }
        } else if !is_mapped(key) {
            attributes.insert(key.clone(), value.clone());
        }
    }
    tags.sort();
    annotations.sort_by(|a, b| (a.time, &a.text).cmp(&(b.time, &b.text)));
    let modified = time(MODIFIED);
    let created = time(ENTRY).or(modified).unwrap_or(0);
    Task {
        id: data.get_uuid().to_string(),
        title: get(DESCRIPTION).unwrap_or_default().to_string(),
        description: get(LONG_DESCRIPTION).unwrap_or_default().to_string(),
        status,
        project: get(PROJECT).map(str::to_string),
        tags,
        priority,
        due: time(DUE),
        created,
        modified: modified.unwrap_or(created),
        annotations,
        attributes: attributes
            .into_iter()
            .map(|(key, value)| Attribute { key, value })
            .collect(),
    }
}

/// Writes into `data` (and `ops`) what turns `before` into `after`: every
/// field when `before` is `None` (a new task), else only the changed ones.
/// Checks first; on error `data` may be partly changed but `ops` must then
/// be dropped uncommitted.
pub fn write_change(
    data: &mut TaskData,
    before: Option<&Task>,
    after: &Task,
    now: i64,
    ops: &mut Operations,
) -> Result<(), TaskStoreError> {
    check_task(after)?;
    let id = &after.id;
    let mut set = |key: &str, value: Option<String>, data: &mut TaskData| {
        if data.get(key) != value.as_deref() {
            data.update(key, value, ops);
        }
    };
    if before.is_none_or(|b| b.title != after.title) {
        set(DESCRIPTION, Some(after.title.clone()), data);
    }
    if before.is_none_or(|b| b.description != after.description) {
        let text = (!after.description.is_empty()).then(|| after.description.clone());
        set(LONG_DESCRIPTION, text, data);
    }
    if before.is_none_or(|b| b.project != after.project) {
        set(PROJECT, after.project.clone(), data);
    }
    if before.is_none_or(|b| b.priority != after.priority) {
        set(PRIORITY, priority_letter(after.priority).map(str::to_string), data);
    }
    if before.is_none_or(|b| b.due != after.due) {
        set(DUE, after.due.map(seconds_text), data);
    }
    if before.is_none_or(|b| b.created != after.created) {
        set(ENTRY, Some(seconds_text(after.created)), data);
    }
    let no_tags: &[String] = &[];
    let old_tags = before.map_or(no_tags, |b| &b.tags);
    for tag in old_tags.iter().filter(|t| !after.tags.contains(t)) {
        set(&format!("{TAG_PREFIX}{tag}"), None, data);
    }
    for tag in after.tags.iter().filter(|t| !old_tags.contains(t)) {
        set(&format!("{TAG_PREFIX}{tag}"), Some(String::new()), data);
    }
    let no_notes: &[Annotation] = &[];
    let old_notes = before.map_or(no_notes, |b| &b.annotations);
    for note in old_notes.iter().filter(|n| !after.annotations.contains(n)) {
        let key = format!("{ANNOTATION_PREFIX}{}", to_seconds(note.time));
        if data.get(&key) == Some(note.text.as_str()) {
            set(&key, None, data);
        }
    }
    for note in after.annotations.iter().filter(|n| !old_notes.contains(n)) {
        // Two notes in one second would share a property: the later one
        // moves to the next free second, as Taskwarrior does.
        let mut seconds = to_seconds(note.time);
        let mut tries = 0;
        while data.has(format!("{ANNOTATION_PREFIX}{seconds}")) {
            tries += 1;
            if tries > MAX_ITEMS_PER_FIELD {
                return Err(invalid(id, "annotations", "too many annotations in one second"));
            }
            seconds += 1;
        }
        set(&format!("{ANNOTATION_PREFIX}{seconds}"), Some(note.text.clone()), data);
    }
    let no_attributes: &[Attribute] = &[];
    let old_attributes = before.map_or(no_attributes, |b| &b.attributes);
    for old in old_attributes {
        if !after.attributes.iter().any(|a| a.key == old.key) {
            set(&old.key, None, data);
        }
    }
    for attribute in &after.attributes {
        if !old_attributes.contains(attribute) {
            set(&attribute.key, Some(attribute.value.clone()), data);
        }
    }
    if before.is_none_or(|b| b.status != after.status) {
        write_status(data, before.map(|b| b.status), after.status, now, &mut set);
    }
    if before.is_none_or(|b| b != after) {
        set(MODIFIED, Some(seconds_text(after.modified)), data);
    }
    Ok(())
}

/// The properties of a status: Taskwarrior's `status`, and the `wait` and
/// `end` dates that go with it.
fn write_status(
    data: &mut TaskData,
    before: Option<Status>,
    after: Status,
    now: i64,
    set: &mut impl FnMut(&str, Option<String>, &mut TaskData),
) {
    let waits = data
        .get(WAIT)
        .and_then(|w| w.parse::<i64>().ok())
        .is_some_and(|w| w > now);
    let ended = matches!(before, Some(Status::Completed | Status::Deleted));
    let (status, end) = match after {
        Status::Pending | Status::Waiting => ("pending", None),
        Status::Completed => ("completed", Some(now.to_string())),
        Status::Deleted => ("deleted", Some(now.to_string())),
    };
    set(STATUS, Some(status.to_string()), data);
    match after {
        Status::Waiting if !waits => set(WAIT, Some(someday().to_string()), data),
        Status::Pending if waits => set(WAIT, None, data),
        _ => {}
    }
    if end.is_some() || ended {
        set(END, end, data);
    }
}

fn invalid(id: &str, field: &str, why: &str) -> TaskStoreError {
    TaskStoreError::Invalid(format!("task {id}: {field}: {why}"))
}

fn check_text(id: &str, field: &str, text: &str) -> Result<(), TaskStoreError> {
    if text.len() > MAX_VALUE_BYTES {
        return Err(invalid(
            id,
            field,
            &format!("{} bytes, more than the {MAX_VALUE_BYTES} allowed", text.len()),
        ));
    }
    Ok(())
}

fn check_count(id: &str, field: &str, count: usize) -> Result<(), TaskStoreError> {
    if count > MAX_ITEMS_PER_FIELD {
        return Err(invalid(
            id,
            field,
            &format!("{count} items, more than the {MAX_ITEMS_PER_FIELD} allowed"),
        ));
    }
    Ok(())
}

/// Refuses a task the store cannot keep as it is: an empty or oversized
/// text, a tag Taskwarrior would not accept, an attribute named like a
/// property another field owns.
pub fn check_task(task: &Task) -> Result<(), TaskStoreError> {
    let id = &task.id;
    if task.title.trim().is_empty() {
        return Err(invalid(id, "title", "must not be empty"));
    }
    check_text(id, "title", &task.title)?;
    check_text(id, "description", &task.description)?;
    if let Some(project) = &task.project {
        check_text(id, "project", project)?;
    }
    check_count(id, "tags", task.tags.len())?;
    check_count(id, "annotations", task.annotations.len())?;
    check_count(id, "attributes", task.attributes.len())?;
    for tag in &task.tags {
        check_text(id, "tags", tag)?;
        match Tag::from_str(tag) {
            Ok(parsed) if parsed.is_user() => {}
            _ => {
                return Err(invalid(
                    id,
                    &format!("tag {tag:?}"),
                    "not a valid tag (no white space or `:`, not starting with a digit or one of +-*/()<>^!%=~, not all capitals)",
                ));
            }
        }
    }
    for note in &task.annotations {
        check_text(id, "annotation", &note.text)?;
    }
    for attribute in &task.attributes {
        let field = format!("attribute {:?}", attribute.key);
        if attribute.key.is_empty() || attribute.key.chars().any(char::is_whitespace) {
            return Err(invalid(id, &field, "a key must be non-empty, with no white space"));
        }
        if is_mapped(&attribute.key) {
            return Err(invalid(id, &field, "this name belongs to a task field"));
        }
        check_text(id, &field, &attribute.key)?;
        check_text(id, &field, &attribute.value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskchampion::Uuid;

    #[test]
    fn a_custom_priority_and_unknown_properties_survive_a_title_change() {
        let mut ops = Operations::new();
        let mut data = TaskData::create(Uuid::new_v4(), &mut ops);
        data.update("description", Some("Pay rent".into()), &mut ops);
        data.update("priority", Some("urgent".into()), &mut ops);
        data.update("recur", Some("monthly".into()), &mut ops);
        data.update("wait", Some("100".into()), &mut ops);
        let before = task_from_data(&data, 200);
        assert_eq!(before.priority, Priority::None);
        let mut after = before.clone();
        after.title = "Pay the rent".into();
        let mut ops = Operations::new();
        write_change(&mut data, Some(&before), &after, 200, &mut ops).unwrap();
        assert_eq!(data.get("priority"), Some("urgent"));
        assert_eq!(data.get("wait"), Some("100"));
        assert_eq!(task_from_data(&data, 200).attributes, before.attributes);
        let written: Vec<_> = ops
            .iter()
            .filter_map(|op| match op {
                taskchampion::Operation::Update { property, .. } => Some(property.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(written, ["description", "modified"]);
    }

    #[test]
    fn waiting_is_a_future_wait_date() {
        let mut ops = Operations::new();
        let mut data = TaskData::create(Uuid::new_v4(), &mut ops);
        data.update("description", Some("Renew passport".into()), &mut ops);
        data.update("status", Some("pending".into()), &mut ops);
        let before = task_from_data(&data, 1_000);
        let mut after = before.clone();
        after.status = Status::Waiting;
        write_change(&mut data, Some(&before), &after, 1_000, &mut ops).unwrap();
        assert_eq!(data.get("status"), Some("pending"));
        assert_eq!(task_from_data(&data, 1_000).status, Status::Waiting);
        let mut back = after.clone();
        back.status = Status::Pending;
        write_change(&mut data, Some(&after), &back, 1_000, &mut ops).unwrap();
        assert_eq!(data.get("wait"), None);
        assert_eq!(task_from_data(&data, 1_000).status, Status::Pending);
    }

    #[test]
    fn bad_tags_and_attributes_name_the_task_and_field() {
        let mut ops = Operations::new();
        let mut data = TaskData::create(Uuid::new_v4(), &mut ops);
        data.update("description", Some("x".into()), &mut ops);
        let task = task_from_data(&data, 0);
        for (tag, attribute) in [
            ("9lives", "ok"),
            ("fine", "status"),
            ("fine", "tag_x"),
            ("two words", "ok"),
        ] {
            let mut bad = task.clone();
            bad.tags = vec![tag.into()];
            bad.attributes = vec![Attribute {
                key: attribute.into(),
                value: "v".into(),
            }];
            let error = write_change(&mut data, None, &bad, 0, &mut ops)
                .unwrap_err()
                .to_string();
            assert!(error.contains(&task.id), "{error}");
            assert!(error.contains(tag) || error.contains(attribute), "{error}");
        }
        let mut long = task.clone();
        long.title = "x".repeat(MAX_VALUE_BYTES + 1);
        let error = check_task(&long).unwrap_err().to_string();
        assert!(error.contains("title") && error.contains("bytes"), "{error}");
    }
}
