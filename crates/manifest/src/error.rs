//! What can be wrong with a manifest, told so that a plugin author can fix it: every
//! message names the file, the line and column when known, and the field.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use crate::position::{FieldPath, LineColumn};

/// Where a problem is: the manifest file and, when known, the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The manifest file, as the caller named it.
    pub file: PathBuf,
    /// The line and column of the offending text, when the problem has one.
    pub line_column: Option<LineColumn>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line_column) = self.line_column {
            write!(f, ":{line_column}")?;
        }
        Ok(())
    }
}

/// A manifest that cannot be read, is not TOML, or does not follow the `plugin.toml` format.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("{}: cannot read the plugin manifest: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// The manifest file is larger than any real manifest, so it is not read.
    #[error(
        "{}: the plugin manifest is larger than {limit} bytes; a plugin.toml is a few hundred bytes, check that this is the right file",
        path.display()
    )]
    TooLarge {
        /// The file that was refused.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },

    /// The text is not valid TOML.
    #[error("{at}: not valid TOML: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// What the TOML parser expected.
        message: String,
    },

    /// A key the format does not define (often a typo).
    #[error("{at}: unknown field `{field}` {}; {}", in_table(table), expected_fields(expected))]
    UnknownField {
        /// Where the key is.
        at: Location,
        /// The table holding the key, e.g. `[plugin]`; empty for the top level.
        table: String,
        /// The unknown key.
        field: String,
        /// The keys this table accepts.
        expected: Vec<String>,
    },

    /// A required key is absent.
    #[error("{at}: missing field `{field}` {}", in_table(table))]
    MissingField {
        /// Where the table that lacks the key starts, when it is written in the file.
        at: Location,
        /// The table that lacks the key, e.g. `[plugin]`; empty for the top level.
        table: String,
        /// The missing key.
        field: String,
    },

    /// A value has the wrong type or is outside what the format allows.
    #[error("{at}: {}{message}", field_prefix(field))]
    Invalid {
        /// Where the value is.
        at: Location,
        /// The field holding the value, e.g. `[plugin].version`.
        field: String,
        /// What is wrong and what is expected instead.
        message: String,
    },
}

impl ManifestError {
    /// Where the problem is: the file and, when known, the line and column.
    pub fn location(&self) -> Location {
        match self {
            Self::Read { path, .. } | Self::TooLarge { path, .. } => Location {
                file: path.clone(),
                line_column: None,
            },
            Self::Syntax { at, .. }
            | Self::UnknownField { at, .. }
            | Self::MissingField { at, .. }
            | Self::Invalid { at, .. } => at.clone(),
        }
    }

    /// Turns a TOML or serde error about `text` (read from `origin`) into the matching
    /// variant, with a line, column and field path a user can find.
    pub(crate) fn from_toml(error: &toml::de::Error, text: &str, origin: &Path) -> Self {
        let span = error.span();
        let located = |line_column: Option<LineColumn>| Location {
            file: origin.to_owned(),
            line_column,
        };

        // `toml::from_str` reports syntax and data errors alike; parsing alone tells
        // them apart, and its tree is what maps the error's offset to a field path.
        let document = match DeTable::parse(text) {
            Ok(document) => document,
            Err(syntax) => {
                let line_column = syntax.span().map(|span| LineColumn::of_offset(text, span.start));
                return Self::Syntax {
                    at: located(line_column),
                    message: syntax.message().to_owned(),
                };
            }
        };

        // An empty span stands for "the whole document" (e.g. a missing [plugin]),
        // which has no useful line.
        let span = span.filter(|span| !span.is_empty());
        let at = located(span.clone().map(|span| LineColumn::of_offset(text, span.start)));
        let path = span
            .map(|span| FieldPath::at_offset(document.get_ref(), span.start))
            .unwrap_or_default();
        let message = error.message();

        if let Some((field, expected)) = parse_unknown_field(message) {
            return Self::UnknownField {
                at,
                table: path.without_last_key(&field).to_string(),
                field,
                expected,
            };
        }
        if let Some(field) = parse_missing_field(message) {
            return Self::MissingField {
                at: if path.is_top_level() { located(None) } else { at },
                table: path.to_string(),
                field,
            };
        }
        Self::Invalid {
            at,
            field: path.to_string(),
            message: in_toml_words(message),
        }
    }
}

impl ManifestError {
    /// An [`ManifestError::Invalid`] for a check that runs after parsing: it points at
    /// the key reached through `keys` in `text` (read from `origin`), or at the file
    /// alone when the key cannot be found.
    pub(crate) fn invalid_key(text: &str, origin: &Path, keys: &[&str], message: String) -> Self {
        let found = DeTable::parse(text)
            .ok()
            .and_then(|document| FieldPath::of_key(document.get_ref(), keys));
        let (field, line_column) = match found {
            Some((path, span)) => (path.to_string(), Some(LineColumn::of_offset(text, span.start))),
            None => (String::new(), None),
        };
        Self::Invalid {
            at: Location {
                file: origin.to_owned(),
                line_column,
            },
            field,
            message,
        }
    }
}

fn in_table(table: &str) -> String {
    if table.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in {table}")
    }
}

fn expected_fields(expected: &[String]) -> String {
    match expected {
        [] => "this table takes no fields".to_owned(),
        [only] => format!("the only field here is {only}"),
        _ => format!("expected one of {}", expected.join(", ")),
    }
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

// The next two read serde's own wording (`serde::de::Error::unknown_field` and
// `missing_field`), which toml passes through unchanged and serde has kept since 1.0.

/// `unknown field `x`, expected one of `a`, `b`` → (`x`, [`a`, `b`]).
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    // The remaining back-quoted words are the expected fields.
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((field.to_owned(), expected))
}

/// `missing field `x`` → `x`.
fn parse_missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.strip_suffix('`')?.to_owned())
}

/// serde speaks of sequences and maps; a TOML author writes arrays and tables.
fn in_toml_words(message: &str) -> String {
    message
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: map", "invalid type: table")
}

/// A text value that does not have the form its field requires; the message says
/// which form would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    message: String,
}

impl InvalidValue {
    /// An error with a message that says what is wrong and what is expected.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// What is wrong with the value and what is expected instead.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_serde_unknown_field_messages() {
        assert_eq!(
            parse_unknown_field("unknown field `colour`, expected one of `id`, `name`, `api`"),
            Some((
                "colour".to_owned(),
                vec!["id".to_owned(), "name".to_owned(), "api".to_owned()]
            ))
        );
        assert_eq!(
            parse_unknown_field("unknown field `size`, expected `quota`"),
            Some(("size".to_owned(), vec!["quota".to_owned()]))
        );
        assert_eq!(
            parse_unknown_field("unknown field `x`, there are no fields"),
            Some(("x".to_owned(), vec![]))
        );
        assert_eq!(parse_unknown_field("invalid type: integer `3`"), None);
    }

    #[test]
    fn reads_serde_missing_field_messages() {
        assert_eq!(parse_missing_field("missing field `id`"), Some("id".to_owned()));
        assert_eq!(parse_missing_field("unknown field `id`"), None);
    }
}
