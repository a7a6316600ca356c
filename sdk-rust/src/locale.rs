//! Text in the user's language, from the plugin's `locales/<lang>.json`.

use crate::bindings::plugboard::task_events::locale as host;

/// The translation of `key` in the user's language (else the plugin's
/// default language, else `key` itself), with each `{name}` replaced by
/// the value given for `name`.
pub fn translate(key: &str, args: &[(&str, &str)]) -> String {
    let args: Vec<(String, String)> = args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    host::translate(key, &args)
}

/// The user's language as the host chose it, e.g. `de` or `pt-br`.
pub fn language() -> String {
    host::language()
}
