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
    /// The arguments it takes, in order: an invocation's arguments are
    /// checked against these before the command runs. At most
    /// [`CommandInfo::MAX_PARAMS`]; the required ones come first.
    #[serde(default, deserialize_with = "params")]
    pub params: Vec<CommandParam>,
}

impl CommandInfo {
    /// The most parameters a command declares.
    pub const MAX_PARAMS: usize = 32;

    /// Checks arguments against the declared parameters: no more than
    /// declared, every required one given, each of its declared type. The
    /// error names the command's parameter and what is wrong.
    pub fn check_args(&self, args: &[String]) -> Result<(), String> {
        if args.len() > self.params.len() {
            return Err(format!(
                "takes at most {} argument(s) ({}), got {}",
                self.params.len(),
                self.signature(),
                args.len()
            ));
        }
        if let Some(missing) = self.params.iter().skip(args.len()).find(|p| p.required) {
            return Err(format!(
                "argument `{}` is required ({}), got {} argument(s)",
                missing.name,
                self.signature(),
                args.len()
            ));
        }
        for (param, arg) in self.params.iter().zip(args) {
            if !param.kind.accepts(arg) {
                return Err(format!(
                    "argument `{}` must be {}, got {:?}",
                    param.name,
                    param.kind.describe(),
                    arg.chars().take(64).collect::<String>()
                ));
            }
        }
        Ok(())
    }

    /// The parameters as `name: type, [name: type]` (optional ones in brackets).
    pub fn signature(&self) -> String {
        let shown: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.required {
                true => format!("{}: {}", p.name, p.kind),
                false => format!("[{}: {}]", p.name, p.kind),
            })
            .collect();
        if shown.is_empty() {
            "no arguments".to_string()
        } else {
            shown.join(", ")
        }
    }
}

/// One parameter of a command: `{ name = "tag", type = "string", required = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a parameter like { name = \"tag\", type = \"string\", required = true }"
)]
pub struct CommandParam {
    /// Its name, shown in messages.
    #[serde(deserialize_with = "param_name")]
    pub name: String,
    /// What its text must be.
    #[serde(rename = "type", default)]
    pub kind: ParamType,
    /// Whether it must be given; `true` when left out.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// What a command argument's text must be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(
    rename_all = "kebab-case",
    expecting = "one of \"string\", \"integer\", \"number\", \"boolean\""
)]
pub enum ParamType {
    /// Any text.
    #[default]
    String,
    /// A whole number in 64 bits, e.g. `-3`.
    Integer,
    /// A finite decimal number, e.g. `2.5`.
    Number,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// Whether `text` is a value of this type.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            ParamType::String => true,
            ParamType::Integer => text.parse::<i64>().is_ok(),
            ParamType::Number => text.parse::<f64>().is_ok_and(f64::is_finite),
            ParamType::Boolean => matches!(text, "true" | "false"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ParamType::String => "text",
            ParamType::Integer => "an integer",
            ParamType::Number => "a number",
            ParamType::Boolean => "`true` or `false`",
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
        })
    }
}

fn param_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    check_command_name(&name)
        .map_err(|e| serde::de::Error::custom(e.message().replace("command name", "parameter name")))?;
    Ok(name)
}

/// Reads `params`: at most [`CommandInfo::MAX_PARAMS`], names unique,
/// required ones before optional ones (arguments are positional).
fn params<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<CommandParam>, D::Error> {
    use serde::de::Error as _;
    let params = Vec::<CommandParam>::deserialize(deserializer)?;
    if params.len() > CommandInfo::MAX_PARAMS {
        return Err(D::Error::custom(format!(
            "declares {} parameters; the most is {}",
            params.len(),
            CommandInfo::MAX_PARAMS
        )));
    }
    for (index, param) in params.iter().enumerate() {
        if params[..index].iter().any(|p| p.name == param.name) {
            return Err(D::Error::custom(format!(
                "parameter `{}` is declared twice",
                param.name
            )));
        }
        if param.required && params[..index].iter().any(|p| !p.required) {
            return Err(D::Error::custom(format!(
                "required parameter `{}` comes after an optional one; arguments are positional, so \
                 list the required parameters first",
                param.name
            )));
        }
    }
    Ok(params)
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

    fn command(params: &str) -> Result<CommandInfo, String> {
        #[derive(Deserialize)]
        struct Table {
            c: CommandInfo,
        }
        toml::from_str::<Table>(&format!("c = {{ description = \"d\", params = [{params}] }}"))
            .map(|t| t.c)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn arguments_are_checked_by_count_type_and_requirement() {
        let info = command(
            r#"{ name = "tag" }, { name = "count", type = "integer", required = false }, { name = "ratio", type = "number", required = false }, { name = "dry-run", type = "boolean", required = false }"#,
        )
        .unwrap();
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(info.check_args(&args(&["x"])), Ok(()));
        assert_eq!(info.check_args(&args(&["x", "-3", "2.5", "true"])), Ok(()));
        let missing = info.check_args(&[]).unwrap_err();
        assert!(missing.contains("argument `tag` is required"), "{missing}");
        let wrong = info.check_args(&args(&["x", "3.5"])).unwrap_err();
        assert_eq!(wrong, "argument `count` must be an integer, got \"3.5\"");
        let wrong = info.check_args(&args(&["x", "1", "inf"])).unwrap_err();
        assert!(wrong.contains("`ratio` must be a number"), "{wrong}");
        let wrong = info.check_args(&args(&["x", "1", "1", "yes"])).unwrap_err();
        assert!(wrong.contains("`dry-run` must be `true` or `false`"), "{wrong}");
        let many = info.check_args(&args(&["x", "1", "1", "true", "more"])).unwrap_err();
        assert!(many.starts_with("takes at most 4 argument(s)"), "{many}");
        assert!(many.contains("tag: string, [count: integer]"), "{many}");
    }

    #[test]
    fn bad_parameter_lists_are_refused_with_what_is_wrong() {
        for (params, problem) in [
            (
                r#"{ name = "a", required = false }, { name = "b" }"#,
                "required parameter `b` comes after an optional one",
            ),
            (r#"{ name = "a" }, { name = "a" }"#, "parameter `a` is declared twice"),
            (r#"{ name = "A" }"#, "parameter name \"A\" contains 'A'"),
            (r#"{ name = "a", type = "date" }"#, "unknown variant `date`"),
            (r#"{ name = "a", kind = "string" }"#, "unknown field `kind`"),
        ] {
            let message = command(params).expect_err(params);
            assert!(message.contains(problem), "{params}: {message}");
        }
        let many = (0..=CommandInfo::MAX_PARAMS)
            .map(|i| format!("{{ name = \"p{i}\", required = false }}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            command(&many)
                .unwrap_err()
                .contains("declares 33 parameters; the most is 32")
        );
    }

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
