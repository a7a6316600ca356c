//! This plugin's own key/value store, kept by the host across restarts.
//!
//! This is where anything that must outlive one component instance goes:
//! fields of the [`Plugin`](crate::Plugin) value are lost whenever the host
//! unloads the plugin. Needs the `state` permission; writes count against
//! the quota the user granted and fail with [`Error::QuotaExceeded`] beyond
//! it. Keys are text of at most 256 bytes; values are bytes.

use crate::bindings::plugboard::task_events::state as host;
use crate::types::Error;

/// Reads a value; `Ok(None)` when the key is not set.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    host::get(key)
}

/// Stores a value under a key, replacing any previous value.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    host::set(key, value)
}

/// Removes a key; removing a key that is not set is not an error.
pub fn delete(key: &str) -> Result<(), Error> {
    host::delete(key)
}

/// Lists the keys that are set, in byte order.
pub fn list_keys() -> Result<Vec<String>, Error> {
    host::list_keys()
}

/// Reads a value stored as text; [`Error::Invalid`] when it is not UTF-8.
pub fn get_string(key: &str) -> Result<Option<String>, Error> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::Invalid(format!("state key {key:?} does not hold UTF-8 text"))),
    }
}

/// Stores text under a key, replacing any previous value.
pub fn set_string(key: &str, value: &str) -> Result<(), Error> {
    set(key, value.as_bytes())
}
