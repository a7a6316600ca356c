//! Reading the files the plugin ships in its `resources/` folder.

use crate::bindings::plugboard::task_events::resources as host;
use crate::types::Error;

/// The bytes of `resources/<path>`; `path` uses `/` between names and may
/// not leave the folder.
pub fn read(path: &str) -> Result<Vec<u8>, Error> {
    host::read(path)
}

/// Every file in `resources/`, relative to it, sorted.
pub fn list() -> Result<Vec<String>, Error> {
    host::list()
}
