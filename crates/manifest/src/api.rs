//! The world version a plugin declares it was built for: `api = "task-events@2"`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::error::InvalidValue;

/// The name of the WIT world every plugboard plugin targets (`plugboard:task-events@X.Y.Z`).
pub const WORLD_NAME: &str = "task-events";

const FORM: &str = "expected \"task-events@MAJOR\" or \"task-events@MAJOR.MINOR\", e.g. \"task-events@2\"";

/// The world major version a plugin was built for, and optionally the lowest minor
/// version of that major it needs from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiVersion {
    /// The world's major version; a host that does not speak it refuses the plugin.
    pub major: u64,
    /// The lowest minor version the plugin needs; `None` accepts any.
    pub minor: Option<u64>,
}

impl ApiVersion {
    /// Whether a host world of version `world` can run a plugin declaring this version:
    /// the same major, and at least the declared minor.
    pub fn accepts(&self, world: &semver::Version) -> bool {
        world.major == self.major && self.minor.is_none_or(|minor| world.minor >= minor)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{WORLD_NAME}@{}", self.major)?;
        if let Some(minor) = self.minor {
            write!(f, ".{minor}")?;
        }
        Ok(())
    }
}

impl FromStr for ApiVersion {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let invalid = |problem: &str| InvalidValue::new(format!("\"{text}\" {problem}; {FORM}"));
        let Some((world, version)) = text.split_once('@') else {
            return Err(invalid("has no '@' before the version"));
        };
        if world != WORLD_NAME {
            return Err(invalid(&format!(
                "names the world \"{world}\", but plugboard plugins target \"{WORLD_NAME}\""
            )));
        }
        let number = |part: &str| -> Result<u64, InvalidValue> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!("has \"{part}\" where a number belongs")));
            }
            part.parse()
                .map_err(|_| invalid(&format!("has a number too large: {part}")))
        };
        let mut parts = version.split('.');
        let major = number(parts.next().unwrap_or_default())?;
        let minor = parts.next().map(number).transpose()?;
        if parts.next().is_some() {
            let suggestion = ApiVersion { major, minor };
            return Err(invalid(&format!(
                "gives more than MAJOR.MINOR (a plugin declares the world's major version and at most a minimum minor; write \"{suggestion}\")"
            )));
        }
        Ok(Self { major, minor })
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parsed(deserializer, "a world version string like \"task-events@2\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> semver::Version {
        semver::Version::parse(text).expect("test versions are valid")
    }

    #[test]
    fn parses_and_shows_major_and_minor() {
        let major_only: ApiVersion = "task-events@2".parse().expect("valid");
        assert_eq!(major_only, ApiVersion { major: 2, minor: None });
        assert_eq!(major_only.to_string(), "task-events@2");
        let with_minor: ApiVersion = "task-events@2.1".parse().expect("valid");
        assert_eq!(
            with_minor,
            ApiVersion {
                major: 2,
                minor: Some(1)
            }
        );
        assert_eq!(with_minor.to_string(), "task-events@2.1");
    }

    #[test]
    fn every_other_form_is_refused_with_the_expected_form() {
        for (text, problem) in [
            ("task-events", "has no '@'"),
            ("2", "has no '@'"),
            ("task-event@2", "names the world \"task-event\""),
            ("@2", "names the world \"\""),
            ("task-events@", "has \"\" where a number belongs"),
            ("task-events@two", "has \"two\" where a number belongs"),
            ("task-events@2.", "has \"\" where a number belongs"),
            ("task-events@-2", "has \"-2\" where a number belongs"),
            ("task-events@ 2", "has \" 2\" where a number belongs"),
            ("task-events@2.x", "has \"x\" where a number belongs"),
            ("task-events@2.1.0", "write \"task-events@2.1\""),
            ("task-events@2.1.0.4", "gives more than MAJOR.MINOR"),
            ("task-events@99999999999999999999", "too large"),
        ] {
            let message = text.parse::<ApiVersion>().expect_err(text).to_string();
            assert!(message.starts_with(&format!("\"{text}\" ")), "{text}: {message}");
            assert!(message.contains(problem), "{text}: {message}");
            assert!(message.contains("\"task-events@MAJOR.MINOR\""), "{text}: {message}");
        }
    }

    #[test]
    fn accepts_the_same_major_with_at_least_the_minor() {
        let any_minor = ApiVersion { major: 2, minor: None };
        assert!(any_minor.accepts(&version("2.0.0")));
        assert!(any_minor.accepts(&version("2.5.1")));
        assert!(!any_minor.accepts(&version("1.9.0")));
        assert!(!any_minor.accepts(&version("3.0.0")));
        let needs_minor_1 = ApiVersion {
            major: 2,
            minor: Some(1),
        };
        assert!(!needs_minor_1.accepts(&version("2.0.0")));
        assert!(needs_minor_1.accepts(&version("2.1.0")));
        assert!(needs_minor_1.accepts(&version("2.3.0")));
    }
}
