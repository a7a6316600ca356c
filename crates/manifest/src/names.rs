//! The names a manifest gives things (topics, timers, config keys, commands) and the
//! characters each may use. Names end up in file names, log lines and other plugins'
//! manifests, so they are plain lowercase ASCII.

use crate::error::InvalidValue;

/// Checks that a name is 1..=64 characters from `allowed`, for error messages calling it
/// a `kind` and describing the characters as `allowed_description`.
pub(crate) fn check_name(
    kind: &str,
    name: &str,
    allowed: impl Fn(char) -> bool,
    allowed_description: &str,
) -> Result<(), InvalidValue> {
    const MAX_NAME_CHARS: usize = 64;
    if name.is_empty() {
        return Err(InvalidValue::new(format!(
            "{kind} is empty; expected 1 to {MAX_NAME_CHARS} characters: {allowed_description}"
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(InvalidValue::new(format!(
            "{kind} \"{name}\" is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        return Err(InvalidValue::new(format!(
            "{kind} \"{name}\" contains {bad:?}; allowed are {allowed_description}"
        )));
    }
    Ok(())
}

/// The characters of topics, timer names and config keys: `[a-z0-9._-]`.
pub(crate) fn is_topic_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// How the topic character set reads in messages.
pub(crate) const TOPIC_CHARS: &str = "lowercase ASCII letters, digits, '.', '_' and '-'";

/// Checks an event topic (also used for timer names and config keys).
pub(crate) fn check_topic(kind: &str, topic: &str) -> Result<(), InvalidValue> {
    check_name(kind, topic, is_topic_char, TOPIC_CHARS)
}

/// Checks a command name: like a topic but without '.', which separates the plugin id
/// from the command in `other-plugin.command`, and starting with a letter.
pub(crate) fn check_command_name(name: &str) -> Result<(), InvalidValue> {
    check_name("command name", name, |c| c != '.' && is_topic_char(c), COMMAND_CHARS)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(InvalidValue::new(format!(
            "command name \"{name}\" must start with a lowercase letter"
        )));
    }
    Ok(())
}

const COMMAND_CHARS: &str = "lowercase ASCII letters, digits, '_' and '-'";
