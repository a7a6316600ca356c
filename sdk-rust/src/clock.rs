//! The current time as the application sees it.

use crate::bindings::plugboard::task_events::clock as host;
use crate::types::Timestamp;

/// Now, in milliseconds since the Unix epoch (UTC).
///
/// Use this rather than `std::time`: the sandbox gives a plugin no clock of
/// its own, and the application may run on simulated time in tests.
pub fn now() -> Timestamp {
    host::now()
}
