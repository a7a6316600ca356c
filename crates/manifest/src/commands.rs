//! Commands: the ones a plugin offers (`[commands]`) and references to other plugins'
//! commands it asks to invoke (`[permissions].commands`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::de::parsed;
use crate::error::InvalidValue;
use crate::names::check_command_name;
use crate::plugin::PluginId;

/// A command the plugin offers to users and other plugins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table like { description = \"Re-tag every task\" }"
)]
pub struct CommandInfo {
    /// What the command does, shown to users.
    pub description: String,
}

/// A command of another plugin: `other-plugin.command` (the last '.' separates them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommandRef {
    /// The plugin that offers the command.
    pub plugin: PluginId,
    /// The command's name in that plugin's `[commands]`.
    pub command: String,
}

impl fmt::Display for CommandRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.plugin, self.command)
    }
}

impl FromStr for CommandRef {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let Some((plugin, command)) = text.rsplit_once('.') else {
            return Err(InvalidValue::new(format!(
                "command \"{text}\" does not name its plugin; expected PLUGIN-ID.COMMAND, e.g. \"auto-tag.retag\""
            )));
        };
        let in_reference =
            |error: InvalidValue| InvalidValue::new(format!("in command \"{text}\": {}", error.message()));
        check_command_name(command).map_err(in_reference)?;
        Ok(Self {
            plugin: plugin.parse().map_err(in_reference)?,
            command: command.to_owned(),
        })
    }
}

impl<'de> Deserialize<'de> for CommandRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a command like \"auto-tag.retag\"")
    }
}

/// A command name as a `[commands]` key; only a reader.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct CommandName(String);

impl FromStr for CommandName {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        check_command_name(text)?;
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for CommandName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a command name like \"retag\"")
    }
}

/// Reads the `[commands]` table, checking every name.
pub(crate) fn offered_commands<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, CommandInfo>, D::Error> {
    Ok(BTreeMap::<CommandName, CommandInfo>::deserialize(deserializer)?
        .into_iter()
        .map(|(name, info)| (name.0, info))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_last_dot() {
        let reference: CommandRef = "org.example.tagger.retag".parse().expect("valid");
        assert_eq!(reference.plugin.as_str(), "org.example.tagger");
        assert_eq!(reference.command, "retag");
        assert_eq!(reference.to_string(), "org.example.tagger.retag");
    }

    #[test]
    fn bad_references_say_which_part_is_wrong() {
        for (text, problem) in [
            ("retag", "does not name its plugin"),
            ("tagger.", "in command \"tagger.\": command name is empty"),
            ("tagger.Retag", "command name \"Retag\" contains 'R'"),
            ("tagger.1x", "must start with a lowercase letter"),
            (".retag", "the plugin id is empty"),
            ("Tagger.retag", "plugin id \"Tagger\" contains 'T'"),
        ] {
            let message = text.parse::<CommandRef>().expect_err(text).to_string();
            assert!(message.contains(problem), "{text}: {message}");
        }
    }
}
