//! One event in the form each world's handler takes, converted from the
//! contract's `Event` at most once per event, however many plugins of that
//! world receive it.

use std::sync::OnceLock;

use plugboard_contract::Event;

use crate::abi::v1::{V1Call, event_down};
use crate::abi::v2::event_without_content;
use crate::bindings::v2::plugboard::task_events::types as wit;

/// The per-world forms of one event, filled in by the first plugin of each
/// world that receives it; kept beside the event, which stays borrowed.
#[derive(Default)]
pub(crate) struct EventForms {
    v2: OnceLock<wit::Event>,
    v1: OnceLock<Option<V1Call>>,
    /// The same for plugins without `tasks.read`: tasks without content.
    v2_unread: OnceLock<wit::Event>,
    v1_unread: OnceLock<Option<V1Call>>,
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

    /// `event` as a `task-events@2` plugin receives it: whole with
    /// `tasks.read`, its tasks without content ([`event_without_content`])
    /// without.
    pub(crate) fn v2_for(&self, event: &Event, read: bool) -> &wit::Event {
        if read {
            return self.v2(event);
        }
        self.v2_unread
            .get_or_init(|| wit::Event::from(event_without_content(event)))
    }

    /// The `task-events@1` call for a plugin with or without `tasks.read`.
    pub(crate) fn v1_for(&self, event: &Event, read: bool) -> Option<&V1Call> {
        if read {
            return self.v1(event);
        }
        self.v1_unread
            .get_or_init(|| event_down(&event_without_content(event)))
            .as_ref()
    }
}
