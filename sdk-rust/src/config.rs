//! Reading this plugin's settings at any time, not only in `init`.

use crate::bindings::plugboard::task_events::config as host;

/// The value of a setting (manifest default, overridden by the user), if set.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}
