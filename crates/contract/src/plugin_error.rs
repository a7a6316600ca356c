//! Why a plugin's call failed, in the plugin's own terms (the WIT `error`
//! variant): what a handler returns and what a host call answers a plugin.

use serde::{Deserialize, Serialize};

/// Why a call failed, as a plugin reports or receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PluginError {
    /// The plugin was not granted what the call needs; the text names the
    /// missing permission.
    #[error("denied: {0}")]
    Denied(String),
    /// Nothing exists with this id or key.
    #[error("not found: {0}")]
    NotFound(String),
    /// An argument is malformed; the text says which and why.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The plugin's storage quota would be exceeded.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The target changed since the plugin read it.
    #[error("conflict")]
    Conflict,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_the_host_reports_them_and_keep_the_json_of_the_bindings() {
        let cases = [
            (
                PluginError::Denied("tasks.write".into()),
                "denied: tasks.write",
                r#"{"Denied":"tasks.write"}"#,
            ),
            (
                PluginError::NotFound("t-1".into()),
                "not found: t-1",
                r#"{"NotFound":"t-1"}"#,
            ),
            (
                PluginError::Invalid("title".into()),
                "invalid: title",
                r#"{"Invalid":"title"}"#,
            ),
            (PluginError::QuotaExceeded, "quota exceeded", r#""QuotaExceeded""#),
            (PluginError::Conflict, "conflict", r#""Conflict""#),
        ];
        for (error, text, json) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(serde_json::to_string(&error).unwrap(), json);
            assert_eq!(serde_json::from_str::<PluginError>(json).unwrap(), error);
        }
    }
}
