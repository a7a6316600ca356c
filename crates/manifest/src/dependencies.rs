//! The `[dependencies]` table: other plugins this plugin needs, each with the versions
//! it works with.
//!
//! ```toml
//! [dependencies]
//! "keyword-pack" = "^1.2"
//! "locale-fr" = { version = ">=0.3", optional = true }
//! ```

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// One entry of `[dependencies]`: which versions of the other plugin will do, and
/// whether this plugin can load without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The versions of the other plugin that this plugin works with.
    pub requirement: semver::VersionReq,
    /// Whether this plugin still loads when the other plugin is missing or of another
    /// version (it then runs without it).
    pub optional: bool,
}

impl Dependency {
    /// Whether `version` of the other plugin satisfies this dependency.
    pub fn accepts(&self, version: &semver::Version) -> bool {
        self.requirement.matches(version)
    }
}

const EXPECTING: &str = "a version requirement like \"^1.2\" or a table like { version = \">=0.3\", optional = true }";

impl<'de> Deserialize<'de> for Dependency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DependencyVisitor)
    }
}

struct DependencyVisitor;

impl<'de> Visitor<'de> for DependencyVisitor {
    type Value = Dependency;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Dependency, E> {
        Ok(Dependency {
            requirement: requirement(text).map_err(E::custom)?,
            optional: false,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dependency, A::Error> {
        let table = DependencyTable::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Dependency {
            requirement: table.version,
            optional: table.optional,
        })
    }
}

/// The table form of a dependency.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DependencyTable {
    #[serde(deserialize_with = "version_requirement")]
    version: semver::VersionReq,
    #[serde(default)]
    optional: bool,
}

fn version_requirement<'de, D: Deserializer<'de>>(deserializer: D) -> Result<semver::VersionReq, D::Error> {
    let text = String::deserialize(deserializer)?;
    requirement(&text).map_err(de::Error::custom)
}

fn requirement(text: &str) -> Result<semver::VersionReq, String> {
    semver::VersionReq::parse(text).map_err(|error| {
        format!(
            "\"{}\" is not a version requirement (expected e.g. \"^1.2\", \">=0.3, <2\" or \"*\"): {error}",
            text.escape_debug()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> semver::Version {
        semver::Version::parse(text).expect("test versions are valid")
    }

    #[test]
    fn requirements_follow_cargo_s_rules() {
        let caret = requirement("^1.2").expect("valid");
        let dependency = Dependency {
            requirement: caret,
            optional: false,
        };
        assert!(dependency.accepts(&version("1.2.0")));
        assert!(dependency.accepts(&version("1.9.3")));
        assert!(!dependency.accepts(&version("1.1.9")));
        assert!(!dependency.accepts(&version("2.0.0")));
        assert!(requirement("*").expect("any").matches(&version("7.0.0")));
    }

    #[test]
    fn bad_requirements_say_what_a_requirement_looks_like() {
        for text in ["", "one", "^1.x.y", ">= 1, <", "1.2.3.4"] {
            let message = requirement(text).expect_err(text);
            assert!(message.contains("is not a version requirement"), "{text:?}: {message}");
            assert!(message.contains("\"^1.2\""), "{text:?}: {message}");
        }
    }
}
