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

/// Both directions between a bindings enum and the contract enum of the
/// same name, variant for variant.
macro_rules! mirror_enum {
    ($name:ident { $($variant:ident),* $(,)? }) => {
        impl From<wit::$name> for contract::$name {
            fn from(value: wit::$name) -> Self {
                match value {
                    $(wit::$name::$variant => contract::$name::$variant,)*
                }
            }
        }

        impl From<contract::$name> for wit::$name {
            fn from(value: contract::$name) -> Self {
                match value {
                    $(contract::$name::$variant => wit::$name::$variant,)*
                }
            }
        }
    };
}

/// One field across the edge: moved as it is, or converted (`into`), a
/// list converted element by element (`list`), an option converted inside
/// (`each`).
macro_rules! field {
    (; $value:expr) => {
        $value
    };
    (into; $value:expr) => {
        $value.into()
    };
    (list; $value:expr) => {
        list($value)
    };
    (each; $value:expr) => {
        $value.map(Into::into)
    };
}

/// Both directions between a bindings record and a contract record with
/// the same fields, each field converted as its tag says.
macro_rules! mirror_record {
    ($wit:ident <=> $contract:ident { $($field:ident $(: $how:ident)?),* $(,)? }) => {
        impl From<wit::$wit> for contract::$contract {
            fn from(value: wit::$wit) -> Self {
                contract::$contract {
                    $($field: field!($($how)?; value.$field),)*
                }
            }
        }

        impl From<contract::$contract> for wit::$wit {
            fn from(value: contract::$contract) -> Self {
                wit::$wit {
                    $($field: field!($($how)?; value.$field),)*
                }
            }
        }
    };
}

mirror_enum!(Status {
    Pending,
    Waiting,
    Completed,
    Deleted
});
mirror_enum!(Priority {
    None,
    Low,
    Medium,
    High
});
mirror_record!(Annotation <=> Annotation { time, text });
mirror_record!(Attribute <=> Attribute { key, value });
mirror_record!(Task <=> Task {
    id,
    title,
    description,
    status: into,
    project,
    tags,
    priority: into,
    due,
    created,
    modified,
    annotations: list,
    attributes: list,
});
mirror_record!(NewTask <=> NewTask {
    title,
    description,
    project,
    tags,
    priority: into,
    due,
    attributes: list,
});
mirror_record!(TaskPatch <=> TaskPatch {
    title,
    description,
    status: each,
    project,
    priority: each,
    due,
    add_tags,
    remove_tags,
    add_annotations,
    set_attributes: list,
    remove_attributes,
    expected_modified,
});
mirror_record!(Filter <=> Filter {
    status: each,
    project,
    tags,
    text,
    limit,
});
mirror_record!(TaskChange <=> TaskModification { before: into, after: into });
mirror_record!(SyncSummary <=> SyncSummary { pulled, pushed, conflicts });
mirror_record!(CustomEvent <=> CustomEvent { topic, payload, source });

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
