//! What a value a plugin hands the host costs the host, in bytes: its text
//! plus [`ELEMENT_BYTES`] for every string and list element (and
//! [`TASK_RECORD_BYTES`] for a task the host keeps), so that a list of
//! empty strings is not free. The `max-value` check of one argument and
//! the per-call budget of everything a call hands the host both count this.

use plugboard_contract::{Attribute, Filter, NewTask, Task, TaskPatch};

use crate::limits::{ELEMENT_BYTES, TASK_RECORD_BYTES};

/// One string.
pub(crate) fn text(s: &str) -> u64 {
    s.len() as u64 + ELEMENT_BYTES
}

/// An optional string.
fn optional(s: Option<&String>) -> u64 {
    s.map_or(0, |s| text(s))
}

/// A list of strings.
pub(crate) fn texts(list: &[String]) -> u64 {
    ELEMENT_BYTES + list.iter().map(|s| text(s)).sum::<u64>()
}

fn attributes(list: &[Attribute]) -> u64 {
    ELEMENT_BYTES + list.iter().map(|a| text(&a.key) + text(&a.value)).sum::<u64>()
}

/// A bytes value (a payload, a state value).
pub(crate) fn bytes(b: &[u8]) -> u64 {
    b.len() as u64 + ELEMENT_BYTES
}

/// A new task as passed to `tasks.create`.
pub(crate) fn new_task(task: &NewTask) -> u64 {
    TASK_RECORD_BYTES
        + text(&task.title)
        + text(&task.description)
        + optional(task.project.as_ref())
        + texts(&task.tags)
        + attributes(&task.attributes)
}

/// A task as the host keeps it in a call's staged changes.
pub(crate) fn task(task: &Task) -> u64 {
    TASK_RECORD_BYTES
        + text(&task.id)
        + text(&task.title)
        + text(&task.description)
        + optional(task.project.as_ref())
        + texts(&task.tags)
        + ELEMENT_BYTES
        + task.annotations.iter().map(|a| text(&a.text)).sum::<u64>()
        + attributes(&task.attributes)
}

/// A patch as passed to `tasks.update`.
pub(crate) fn patch(patch: &TaskPatch) -> u64 {
    TASK_RECORD_BYTES
        + optional(patch.title.as_ref())
        + optional(patch.description.as_ref())
        + patch.project.as_ref().map_or(0, |p| optional(p.as_ref()))
        + texts(&patch.add_tags)
        + texts(&patch.remove_tags)
        + texts(&patch.add_annotations)
        + attributes(&patch.set_attributes)
        + texts(&patch.remove_attributes)
}

/// A query filter.
pub(crate) fn filter(filter: &Filter) -> u64 {
    ELEMENT_BYTES + optional(filter.project.as_ref()) + texts(&filter.tags) + optional(filter.text.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_contract::task_store::{empty_patch, new_task as plain};

    #[test]
    fn empty_strings_are_not_free() {
        let mut patch = empty_patch();
        patch.remove_tags = vec![String::new(); 10_000_000];
        assert!(super::patch(&patch) > 300_000_000, "{}", super::patch(&patch));
        let mut task = plain("t");
        task.tags = vec!["ab".into(); 3];
        assert_eq!(new_task(&task) - new_task(&plain("t")), 3 * (2 + ELEMENT_BYTES));
    }
}
