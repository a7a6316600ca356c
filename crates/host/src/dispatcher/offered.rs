//! One event on its way to plugins, in the form each world takes.

use std::sync::{Arc, OnceLock};

use plugboard_contract::Event;

use crate::abi::v1::{V1Call, event_down};
use crate::bindings::v2::plugboard::task_events::types as wit;

/// An event on its way to plugins: the contract's form, which routing
/// reads, and each world's form, converted from it at most once however
/// many plugins of that world receive it.
pub(crate) struct OfferedEvent {
    event: Arc<Event>,
    v2: OnceLock<wit::Event>,
    v1: OnceLock<Option<V1Call>>,
}

impl OfferedEvent {
    /// An event no plugin has received yet.
    pub(crate) fn new(event: Arc<Event>) -> OfferedEvent {
        OfferedEvent {
            event,
            v2: OnceLock::new(),
            v1: OnceLock::new(),
        }
    }

    /// The event as the application sent it.
    pub(crate) fn event(&self) -> &Event {
        &self.event
    }

    /// The event as a `task-events@2` handler receives it.
    pub(crate) fn v2(&self) -> &wit::Event {
        self.v2.get_or_init(|| wit::Event::from(Event::clone(&self.event)))
    }

    /// The `task-events@1` call that means the same, if there is one.
    pub(crate) fn v1(&self) -> Option<&V1Call> {
        self.v1.get_or_init(|| event_down(&self.event)).as_ref()
    }
}
