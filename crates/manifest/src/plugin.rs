//! The `[plugin]` table: who the plugin is, which world it speaks and where its
//! component is.

use std::borrow::Borrow;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::api::ApiVersion;
use crate::error::InvalidValue;

/// The `[plugin]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = "the [plugin] table")]
pub struct PluginInfo {
    /// The plugin's unique id, e.g. `auto-tag`.
    pub id: PluginId,
    /// The name shown to users, trimmed.
    #[serde(deserialize_with = "display_name")]
    pub name: String,
    /// The plugin's own version.
    #[serde(deserialize_with = "plugin_version")]
    pub version: semver::Version,
    /// The world version the plugin was built for.
    pub api: ApiVersion,
    /// The component file, relative to the plugin folder; `None` for a data-only plugin.
    #[serde(default, deserialize_with = "component")]
    pub component: Option<PathBuf>,
    /// A longer description shown to users.
    #[serde(default)]
    pub description: Option<String>,
    /// The authors, e.g. `"Ann <ann@example.com>"`.
    #[serde(default)]
    pub authors: Vec<String>,
    /// The license, ideally an SPDX expression.
    #[serde(default)]
    pub license: Option<String>,
    /// Where the plugin's source lives.
    #[serde(default)]
    pub repository: Option<String>,
}

fn display_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(serde::de::Error::custom(
            "the name is empty; give the name users will see, e.g. \"Auto tag\"",
        ));
    }
    Ok(trimmed.to_owned())
}

fn plugin_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<semver::Version, D::Error> {
    let text = String::deserialize(deserializer)?;
    semver::Version::parse(&text).map_err(|error| {
        serde::de::Error::custom(format!(
            "\"{text}\" is not a semantic version (expected e.g. \"1.2.0\"): {error}"
        ))
    })
}

fn component<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<PathBuf>, D::Error> {
    let text = String::deserialize(deserializer)?;
    component_path(&text).map(Some).map_err(serde::de::Error::custom)
}

const COMPONENT_FORM: &str =
    "expected a path inside the plugin folder with forward slashes, e.g. \"plugin.wasm\" or \"bin/plugin.wasm\"";

/// Checks that `text` names a file inside the plugin folder on every platform, and
/// returns it as a relative path. The archive and loader join it to the plugin folder,
/// so anything that could climb out of it or be read differently on Windows is refused.
fn component_path(text: &str) -> Result<PathBuf, InvalidValue> {
    let refuse = |problem: &str| {
        Err(InvalidValue::new(format!(
            "\"{}\" {problem}; {COMPONENT_FORM}",
            text.escape_debug()
        )))
    };
    if text.is_empty() {
        return Err(InvalidValue::new(format!(
            "the component path is empty; {COMPONENT_FORM}"
        )));
    }
    if text.chars().any(char::is_control) {
        return refuse("contains a control character");
    }
    if text.starts_with(['/', '\\']) {
        return refuse("is an absolute path");
    }
    if text.contains(':') {
        return refuse("contains ':' (a Windows drive like \"C:\" or a stream name)");
    }
    if text.contains('\\') {
        return refuse("contains a backslash");
    }
    let mut path = PathBuf::new();
    for segment in text.split('/') {
        match segment {
            "" => return refuse("has an empty segment ('//' or a trailing '/')"),
            ".." => return refuse("leaves the plugin folder with '..'"),
            "." => {}
            name => path.push(name),
        }
    }
    if path.as_os_str().is_empty() {
        return refuse("names the plugin folder, not a file");
    }
    Ok(path)
}

/// A plugin's unique id: 1 to 64 lowercase ASCII letters, digits, '.' and '-', starting
/// with a letter, not ending with '.' or '-', without "..".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PluginId(String);

impl PluginId {
    /// The id as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PluginId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for PluginId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

const ID_FORM: &str =
    "expected 1 to 64 lowercase ASCII letters, digits, '.' and '-', starting with a letter, e.g. \"auto-tag\"";

impl FromStr for PluginId {
    type Err = InvalidValue;

    fn from_str(id: &str) -> Result<Self, InvalidValue> {
        let refuse = |problem: &str| Err(InvalidValue::new(format!("plugin id \"{id}\" {problem}; {ID_FORM}")));
        if id.is_empty() {
            return Err(InvalidValue::new(format!("the plugin id is empty; {ID_FORM}")));
        }
        if id.len() > 64 {
            return refuse("is longer than 64 characters");
        }
        if let Some(bad) = id
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
        {
            return refuse(&format!("contains {bad:?}"));
        }
        if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
            return refuse("does not start with a letter");
        }
        if id.ends_with(['.', '-']) {
            return refuse("ends with '.' or '-'");
        }
        if id.contains("..") {
            return refuse("contains \"..\"");
        }
        Ok(Self(id.to_owned()))
    }
}

impl<'de> Deserialize<'de> for PluginId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parsed(deserializer, "a plugin id string like \"auto-tag\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_the_documented_form_are_accepted() {
        for id in ["a", "auto-tag", "org.example.auto-tag", "a--b", "x1", &"a".repeat(64)] {
            assert_eq!(id.parse::<PluginId>().expect(id).as_str(), id);
        }
    }

    #[test]
    fn other_ids_are_refused_with_the_reason() {
        for (id, problem) in [
            ("", "the plugin id is empty"),
            ("Auto", "contains 'A'"),
            ("auto_tag", "contains '_'"),
            ("auto tag", "contains ' '"),
            ("1tag", "does not start with a letter"),
            ("-tag", "does not start with a letter"),
            (".tag", "does not start with a letter"),
            ("tag-", "ends with '.' or '-'"),
            ("tag.", "ends with '.' or '-'"),
            ("a..b", "contains \"..\""),
            ("é", "contains 'é'"),
        ] {
            let message = id.parse::<PluginId>().expect_err(id).to_string();
            assert!(message.contains(problem), "{id}: {message}");
            assert!(message.contains("e.g. \"auto-tag\""), "{id}: {message}");
        }
        let long = "a".repeat(65);
        assert!(
            long.parse::<PluginId>()
                .expect_err("too long")
                .to_string()
                .contains("longer than 64")
        );
    }

    #[test]
    fn component_paths_stay_inside_the_plugin_folder() {
        assert_eq!(component_path("plugin.wasm"), Ok(PathBuf::from("plugin.wasm")));
        assert_eq!(
            component_path("./bin/plugin.wasm"),
            Ok(["bin", "plugin.wasm"].iter().collect())
        );
        for (path, problem) in [
            ("", "the component path is empty"),
            ("../x.wasm", "leaves the plugin folder with '..'"),
            ("a/../../x.wasm", "leaves the plugin folder with '..'"),
            ("a/..", "leaves the plugin folder with '..'"),
            ("/etc/x.wasm", "is an absolute path"),
            ("\\x.wasm", "is an absolute path"),
            ("\\\\server\\x.wasm", "is an absolute path"),
            ("C:\\x.wasm", "contains ':' (a Windows drive"),
            ("C:x.wasm", "contains ':' (a Windows drive"),
            ("bin\\x.wasm", "contains a backslash"),
            ("x\0.wasm", "contains a control character"),
            ("bin//x.wasm", "has an empty segment"),
            ("bin/", "has an empty segment"),
            (".", "names the plugin folder"),
        ] {
            let message = component_path(path).expect_err(path).to_string();
            assert!(message.contains(problem), "{path:?}: {message}");
            assert!(message.contains("inside the plugin folder"), "{path:?}: {message}");
        }
    }
}
