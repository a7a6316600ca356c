//! Telling other plugins that something happened.

use crate::bindings::plugboard::task_events::events as host;
use crate::types::Error;

/// Emits a custom event on `topic`, which must be listed under
/// `[events] emits` in the manifest.
///
/// It is delivered after the current handler returns `Ok`, as the topic
/// `<this-plugin-id>/<topic>`, to every plugin subscribed to
/// `custom:<this-plugin-id>/<topic>`; the topic defines the payload's format.
pub fn emit(topic: &str, payload: &[u8]) -> Result<(), Error> {
    host::emit(topic, payload)
}
