//! One event in the form each world's handler takes, converted from the
//! contract's `Event` at most once per event, however many plugins of that
//! world receive it.

use std::sync::OnceLock;

use plugboard_contract::Event;

use crate::abi::v1::{V1Call, event_down};
use crate::bindings::v2::plugboard::task_events::types as wit;

/// The per-world forms of one event, filled in by the first plugin of each
/// world that receives it; kept beside the event, which stays borrowed.
#[derive(Default)]
pub(crate) struct EventForms {
    v2: OnceLock<wit::Event>,
    v1: OnceLock<Option<V1Call>>,
}

impl EventForms {
    /// `event` as a `task-events@2` handler receives it.
    pub(crate) fn v2(&self, event: &Event) -> &wit::Event {
        self.v2.get_or_init(|| wit::Event::from(event.clone()))
    }

    /// The `task-events@1` call that means the same as `event`, if there is
    /// one.
    pub(crate) fn v1(&self, event: &Event) -> Option<&V1Call> {
        self.v1.get_or_init(|| event_down(event)).as_ref()
    }
}
