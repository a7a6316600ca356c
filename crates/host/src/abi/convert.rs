//! The ABI edge of the newest world: `From` conversions, both ways, between
//! the generated bindings of `plugboard:task-events@2` (`types`) and the
//! embedder's contract types (`plugboard-contract`).
//!
//! Every host interface converts its arguments with these on the way in and
//! its results on the way out, and the dispatcher converts each event once
//! before handing it to plugins; the rest of the host works on contract
//! types only. A new WIT minor therefore changes this file, not the types
//! an embedder writes against.

use plugboard_contract as contract;

use crate::bindings::v2::plugboard::task_events::types as wit;

/// Converts a list element by element.
fn list<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

impl From<wit::Status> for contract::Status {
    fn from(status: wit::Status) -> Self {
        match status {
            wit::Status::Pending => contract::Status::Pending,
            wit::Status::Waiting => contract::Status::Waiting,
            wit::Status::Completed => contract::Status::Completed,
            wit::Status::Deleted => contract::Status::Deleted,
        }
    }
}

impl From<contract::Status> for wit::Status {
    fn from(status: contract::Status) -> Self {
        match status {
            contract::Status::Pending => wit::Status::Pending,
            contract::Status::Waiting => wit::Status::Waiting,
            contract::Status::Completed => wit::Status::Completed,
            contract::Status::Deleted => wit::Status::Deleted,
        }
    }
}

impl From<wit::Priority> for contract::Priority {
    fn from(priority: wit::Priority) -> Self {
        match priority {
            wit::Priority::None => contract::Priority::None,
            wit::Priority::Low => contract::Priority::Low,
            wit::Priority::Medium => contract::Priority::Medium,
            wit::Priority::High => contract::Priority::High,
        }
    }
}

impl From<contract::Priority> for wit::Priority {
    fn from(priority: contract::Priority) -> Self {
        match priority {
            contract::Priority::None => wit::Priority::None,
            contract::Priority::Low => wit::Priority::Low,
            contract::Priority::Medium => wit::Priority::Medium,
            contract::Priority::High => wit::Priority::High,
        }
    }
}

impl From<wit::Annotation> for contract::Annotation {
    fn from(annotation: wit::Annotation) -> Self {
        contract::Annotation {
            time: annotation.time,
            text: annotation.text,
        }
    }
}

impl From<contract::Annotation> for wit::Annotation {
    fn from(annotation: contract::Annotation) -> Self {
        wit::Annotation {
            time: annotation.time,
            text: annotation.text,
        }
    }
}

impl From<wit::Attribute> for contract::Attribute {
    fn from(attribute: wit::Attribute) -> Self {
        contract::Attribute {
            key: attribute.key,
            value: attribute.value,
        }
    }
}

impl From<contract::Attribute> for wit::Attribute {
    fn from(attribute: contract::Attribute) -> Self {
        wit::Attribute {
            key: attribute.key,
            value: attribute.value,
        }
    }
}

impl From<wit::Task> for contract::Task {
    fn from(task: wit::Task) -> Self {
        contract::Task {
            id: task.id,
            title: task.title,
            description: task.description,
            status: task.status.into(),
            project: task.project,
            tags: task.tags,
            priority: task.priority.into(),
            due: task.due,
            created: task.created,
            modified: task.modified,
            annotations: list(task.annotations),
            attributes: list(task.attributes),
        }
    }
}

impl From<contract::Task> for wit::Task {
    fn from(task: contract::Task) -> Self {
        wit::Task {
            id: task.id,
            title: task.title,
            description: task.description,
            status: task.status.into(),
            project: task.project,
            tags: task.tags,
            priority: task.priority.into(),
            due: task.due,
            created: task.created,
            modified: task.modified,
            annotations: list(task.annotations),
            attributes: list(task.attributes),
        }
    }
}

impl From<wit::NewTask> for contract::NewTask {
    fn from(task: wit::NewTask) -> Self {
        contract::NewTask {
            title: task.title,
            description: task.description,
            project: task.project,
            tags: task.tags,
            priority: task.priority.into(),
            due: task.due,
            attributes: list(task.attributes),
        }
    }
}

impl From<contract::NewTask> for wit::NewTask {
    fn from(task: contract::NewTask) -> Self {
        wit::NewTask {
            title: task.title,
            description: task.description,
            project: task.project,
            tags: task.tags,
            priority: task.priority.into(),
            due: task.due,
            attributes: list(task.attributes),
        }
    }
}

impl From<wit::TaskPatch> for contract::TaskPatch {
    fn from(patch: wit::TaskPatch) -> Self {
        contract::TaskPatch {
            title: patch.title,
            description: patch.description,
            status: patch.status.map(Into::into),
            project: patch.project,
            priority: patch.priority.map(Into::into),
            due: patch.due,
            add_tags: patch.add_tags,
            remove_tags: patch.remove_tags,
            add_annotations: patch.add_annotations,
            set_attributes: list(patch.set_attributes),
            remove_attributes: patch.remove_attributes,
            expected_modified: patch.expected_modified,
        }
    }
}

impl From<contract::TaskPatch> for wit::TaskPatch {
    fn from(patch: contract::TaskPatch) -> Self {
        wit::TaskPatch {
            title: patch.title,
            description: patch.description,
            status: patch.status.map(Into::into),
            project: patch.project,
            priority: patch.priority.map(Into::into),
            due: patch.due,
            add_tags: patch.add_tags,
            remove_tags: patch.remove_tags,
            add_annotations: patch.add_annotations,
            set_attributes: list(patch.set_attributes),
            remove_attributes: patch.remove_attributes,
            expected_modified: patch.expected_modified,
        }
    }
}

impl From<wit::Filter> for contract::Filter {
    fn from(filter: wit::Filter) -> Self {
        contract::Filter {
            status: filter.status.map(Into::into),
            project: filter.project,
            tags: filter.tags,
            text: filter.text,
            limit: filter.limit,
        }
    }
}

impl From<contract::Filter> for wit::Filter {
    fn from(filter: contract::Filter) -> Self {
        wit::Filter {
            status: filter.status.map(Into::into),
            project: filter.project,
            tags: filter.tags,
            text: filter.text,
            limit: filter.limit,
        }
    }
}

impl From<wit::TaskChange> for contract::TaskModification {
    fn from(change: wit::TaskChange) -> Self {
        contract::TaskModification {
            before: change.before.into(),
            after: change.after.into(),
        }
    }
}

impl From<contract::TaskModification> for wit::TaskChange {
    fn from(change: contract::TaskModification) -> Self {
        wit::TaskChange {
            before: change.before.into(),
            after: change.after.into(),
        }
    }
}

impl From<wit::SyncSummary> for contract::SyncSummary {
    fn from(summary: wit::SyncSummary) -> Self {
        contract::SyncSummary {
            pulled: summary.pulled,
            pushed: summary.pushed,
            conflicts: summary.conflicts,
        }
    }
}

impl From<contract::SyncSummary> for wit::SyncSummary {
    fn from(summary: contract::SyncSummary) -> Self {
        wit::SyncSummary {
            pulled: summary.pulled,
            pushed: summary.pushed,
            conflicts: summary.conflicts,
        }
    }
}

impl From<wit::CustomEvent> for contract::CustomEvent {
    fn from(event: wit::CustomEvent) -> Self {
        contract::CustomEvent {
            topic: event.topic,
            payload: event.payload,
            source: event.source,
        }
    }
}

impl From<contract::CustomEvent> for wit::CustomEvent {
    fn from(event: contract::CustomEvent) -> Self {
        wit::CustomEvent {
            topic: event.topic,
            payload: event.payload,
            source: event.source,
        }
    }
}

impl From<wit::Event> for contract::Event {
    fn from(event: wit::Event) -> Self {
        match event {
            wit::Event::TaskCreated(task) => contract::Event::TaskCreated(task.into()),
            wit::Event::TaskModified(change) => contract::Event::TaskModified(change.into()),
            wit::Event::TaskDeleted(task) => contract::Event::TaskDeleted(task.into()),
            wit::Event::SyncCompleted(summary) => contract::Event::SyncCompleted(summary.into()),
            wit::Event::Timer(name) => contract::Event::Timer(name),
            wit::Event::Custom(custom) => contract::Event::Custom(custom.into()),
        }
    }
}

impl From<contract::Event> for wit::Event {
    fn from(event: contract::Event) -> Self {
        match event {
            contract::Event::TaskCreated(task) => wit::Event::TaskCreated(task.into()),
            contract::Event::TaskModified(change) => wit::Event::TaskModified(change.into()),
            contract::Event::TaskDeleted(task) => wit::Event::TaskDeleted(task.into()),
            contract::Event::SyncCompleted(summary) => wit::Event::SyncCompleted(summary.into()),
            contract::Event::Timer(name) => wit::Event::Timer(name),
            contract::Event::Custom(custom) => wit::Event::Custom(custom.into()),
        }
    }
}

impl From<wit::Error> for contract::PluginError {
    fn from(error: wit::Error) -> Self {
        match error {
            wit::Error::Denied(why) => contract::PluginError::Denied(why),
            wit::Error::NotFound(what) => contract::PluginError::NotFound(what),
            wit::Error::Invalid(why) => contract::PluginError::Invalid(why),
            wit::Error::QuotaExceeded => contract::PluginError::QuotaExceeded,
            wit::Error::Conflict => contract::PluginError::Conflict,
        }
    }
}

impl From<contract::PluginError> for wit::Error {
    fn from(error: contract::PluginError) -> Self {
        match error {
            contract::PluginError::Denied(why) => wit::Error::Denied(why),
            contract::PluginError::NotFound(what) => wit::Error::NotFound(what),
            contract::PluginError::Invalid(why) => wit::Error::Invalid(why),
            contract::PluginError::QuotaExceeded => wit::Error::QuotaExceeded,
            contract::PluginError::Conflict => wit::Error::Conflict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str) -> contract::Task {
        contract::Task {
            id: "6f1c2e7a-0d3b-4a5e-9c8d-1b2a3c4d5e6f".into(),
            title: title.into(),
            description: "Users on Safari".into(),
            status: contract::Status::Waiting,
            project: Some("website".into()),
            tags: vec!["work".into(), "urgent".into()],
            priority: contract::Priority::High,
            due: Some(1_751_328_000_000),
            created: 1_700_000_000_000,
            modified: 1_700_000_360_000,
            annotations: vec![contract::Annotation {
                time: 1_700_000_360_000,
                text: "asked by Sam".into(),
            }],
            attributes: vec![contract::Attribute {
                key: "estimate".into(),
                value: "2h".into(),
            }],
        }
    }

    /// Converts to the bindings and back, checking that nothing is lost and
    /// that both serialize to the same JSON.
    fn same_both_ways<C, W>(value: C)
    where
        C: Clone + PartialEq + std::fmt::Debug + serde::Serialize + From<W>,
        W: serde::Serialize + From<C>,
    {
        let bound = W::from(value.clone());
        let bound_json = serde_json::to_string(&bound).expect("the bindings' types always serialize");
        let contract_json = serde_json::to_string(&value).expect("the contract's types always serialize");
        assert_eq!(contract_json, bound_json);
        assert_eq!(C::from(bound), value);
    }

    #[test]
    fn every_event_kind_converts_both_ways_with_the_same_json() {
        let events = [
            contract::Event::TaskCreated(task("Fix login")),
            contract::Event::TaskModified(contract::TaskModification {
                before: task("Fix login"),
                after: task("Fix login on Safari"),
            }),
            contract::Event::TaskDeleted(task("Fix login")),
            contract::Event::SyncCompleted(contract::SyncSummary {
                pulled: 3,
                pushed: 1,
                conflicts: 2,
            }),
            contract::Event::Timer("hourly".into()),
            contract::Event::Custom(contract::CustomEvent {
                topic: "reminder".into(),
                payload: b"hi".to_vec(),
                source: "app".into(),
            }),
        ];
        for event in events {
            same_both_ways::<_, wit::Event>(event);
        }
    }

    #[test]
    fn requests_and_errors_convert_both_ways_with_the_same_json() {
        same_both_ways::<_, wit::NewTask>(contract::NewTask {
            title: "n".into(),
            description: "d".into(),
            project: Some("p".into()),
            tags: vec!["t".into()],
            priority: contract::Priority::Medium,
            due: Some(9),
            attributes: vec![contract::Attribute {
                key: "k".into(),
                value: "v".into(),
            }],
        });
        for project in [None, Some(None), Some(Some("p".to_string()))] {
            same_both_ways::<_, wit::TaskPatch>(contract::TaskPatch {
                title: Some("t".into()),
                description: Some("d".into()),
                status: Some(contract::Status::Deleted),
                project,
                priority: Some(contract::Priority::Low),
                due: Some(None),
                add_tags: vec!["a".into()],
                remove_tags: vec!["b".into()],
                add_annotations: vec!["c".into()],
                set_attributes: vec![contract::Attribute {
                    key: "k".into(),
                    value: "v".into(),
                }],
                remove_attributes: vec!["r".into()],
                expected_modified: Some(4),
            });
        }
        same_both_ways::<_, wit::Filter>(contract::Filter {
            status: Some(contract::Status::Pending),
            project: Some("p".into()),
            tags: vec!["t".into()],
            text: Some("x".into()),
            limit: Some(5),
        });
        for error in [
            contract::PluginError::Denied("d".into()),
            contract::PluginError::NotFound("n".into()),
            contract::PluginError::Invalid("i".into()),
            contract::PluginError::QuotaExceeded,
            contract::PluginError::Conflict,
        ] {
            same_both_ways::<_, wit::Error>(error);
        }
    }
}
