//! Scripts of application actions, one JSON object per line (JSONL), and the
//! built-in demo script. Parsing checks every line before anything runs.

use anyhow::bail;
use plugboard_contract as contract;
use plugboard_contract::task_store::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::date;

/// The script `plugboard run` plays without `--events`: four tasks, a title
/// change that adds a keyword, a completion, a deletion, a timer, a sync and
/// a command.
pub const DEMO: &str = r#"{"create": {"ref": "login", "title": "Fix urgent login bug", "tags": ["work"], "project": "website"}}
{"create": {"ref": "report", "title": "Review quarterly report", "project": "finance", "due": "2025-07-01"}}
{"create": {"ref": "milk", "title": "Buy milk", "tags": ["home"]}}
{"create": {"ref": "plumber", "title": "Call the plumber", "tags": ["home"], "priority": "medium"}}
{"modify": {"ref": "milk", "title": "Buy milk, urgent"}}
{"modify": {"ref": "report", "status": "completed"}}
{"delete": {"ref": "plumber"}}
{"timer": "hourly"}
{"sync": {"pulled": 3, "pushed": 1, "conflicts": 0}}
{"command": {"plugin": "auto-tag", "name": "retag"}}
"#;

/// The script format, for `plugboard run --help`.
pub const FORMAT_HELP: &str = r#"Each line of the --events file is one app action (blank lines are skipped):
  {"create": {"ref": "milk", "title": "Buy milk", "description": "2 litres", "tags": ["home"],
              "project": "home", "priority": "high", "due": "2025-07-01"}}
  {"modify": {"ref": "milk", "title": "Buy milk, urgent", "status": "completed",
              "priority": "low", "project": null, "due": null, "add-tags": ["shop"],
              "remove-tags": ["home"], "add-annotations": ["oat milk"]}}
  {"delete": {"ref": "milk"}}
  {"timer": "hourly"}
  {"sync": {"pulled": 3, "pushed": 1, "conflicts": 0}}
  {"custom": {"topic": "reminder", "payload": "text", "source": "app"}}
  {"command": {"plugin": "auto-tag", "name": "retag", "args": []}}
Only "title" (create), "ref" (modify, delete), "topic", "plugin" and "name" are required.
status: pending|waiting|completed|deleted; priority: none|low|medium|high."#;

/// What the origin of the demo script is called in messages.
pub const DEMO_ORIGIN: &str = "<demo script>";

/// A parsed script: its actions and where each came from.
#[derive(Debug)]
pub struct Script {
    /// The file name (or [`DEMO_ORIGIN`]), for messages.
    pub origin: String,
    /// The actions, in order.
    pub lines: Vec<ScriptLine>,
}

/// One action and its line number (1-based).
#[derive(Debug)]
pub struct ScriptLine {
    /// The line it was read from.
    pub line: usize,
    /// The action.
    pub action: Action,
}

/// Something the application does; every action but `command` becomes an event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// The user creates a task.
    Create(Create),
    /// The user changes a task.
    Modify(Modify),
    /// The user deletes a task.
    Delete(TaskRef),
    /// A timer fires, by name.
    Timer(String),
    /// A synchronisation finishes.
    Sync(Sync),
    /// A custom event arrives from outside the plugins.
    Custom(Custom),
    /// The user runs a plugin's command.
    Command(CommandCall),
    /// Nothing happens for this many milliseconds (at most 60 000): lets
    /// `run --watch` pick up plugin folders changed meanwhile.
    Pause(u64),
}

/// `{"create": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Create {
    /// The name later lines use for this task.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// The title.
    pub title: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// The project.
    pub project: Option<String>,
    /// The tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The priority.
    #[serde(default)]
    pub priority: Priority,
    /// The due date, `YYYY-MM-DD` (UTC midnight).
    #[serde(default, deserialize_with = "due_date")]
    pub due: Option<Timestamp>,
}

/// `{"modify": {...}}`: every field left out is left as it is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Modify {
    /// The task, by the `ref` its `create` line gave it.
    #[serde(rename = "ref")]
    pub reference: String,
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new status.
    pub status: Option<Status>,
    /// A new project; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub project: Option<Option<String>>,
    /// A new priority.
    pub priority: Option<Priority>,
    /// A new due date (`YYYY-MM-DD`); `null` removes it.
    #[serde(default, deserialize_with = "present_due_date")]
    pub due: Option<Option<Timestamp>>,
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Notes to append.
    #[serde(default)]
    pub add_annotations: Vec<String>,
}

/// `{"delete": {"ref": ...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TaskRef {
    /// The task, by the `ref` its `create` line gave it.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// `{"sync": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sync {
    /// Tasks received.
    #[serde(default)]
    pub pulled: u32,
    /// Tasks sent.
    #[serde(default)]
    pub pushed: u32,
    /// Conflicts resolved.
    #[serde(default)]
    pub conflicts: u32,
}

/// `{"custom": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Custom {
    /// The topic.
    pub topic: String,
    /// The payload, as text.
    #[serde(default)]
    pub payload: String,
    /// Who sent it.
    #[serde(default = "app_source")]
    pub source: String,
}

/// `{"command": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CommandCall {
    /// The plugin offering the command.
    pub plugin: String,
    /// The command's name.
    pub name: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A task's status, as scripts write it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `pending`.
    Pending,
    /// `waiting`.
    Waiting,
    /// `completed`.
    Completed,
    /// `deleted`.
    Deleted,
}

/// A task's priority, as scripts write it.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// `none`.
    #[default]
    None,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

impl From<Status> for contract::Status {
    fn from(status: Status) -> Self {
        match status {
            Status::Pending => contract::Status::Pending,
            Status::Waiting => contract::Status::Waiting,
            Status::Completed => contract::Status::Completed,
            Status::Deleted => contract::Status::Deleted,
        }
    }
}

impl From<Priority> for contract::Priority {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::None => contract::Priority::None,
            Priority::Low => contract::Priority::Low,
            Priority::Medium => contract::Priority::Medium,
            Priority::High => contract::Priority::High,
        }
    }
}

fn app_source() -> String {
    "app".to_string()
}

/// Tells a field that is `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn due_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => date::parse(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

fn present_due_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Timestamp>>, D::Error> {
    due_date(deserializer).map(Some)
}

impl Script {
    /// Parses JSONL text; blank lines are skipped. The first bad line is an
    /// error naming `origin`, the line and what is wrong with it.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Script> {
        let mut lines = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Action>(raw) {
                Ok(action) => lines.push(ScriptLine { line, action }),
                Err(error) => bail!("{origin}:{line}: {}", json_problem(&error)),
            }
        }
        Ok(Script {
            origin: origin.to_string(),
            lines,
        })
    }
}

/// serde_json's message without its "at line 1 column N" (every line is
/// parsed alone, so its line is always 1), with the column kept.
fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(problem) => format!("{problem} (column {})", error.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_parses() {
        let script = Script::parse(DEMO, DEMO_ORIGIN).unwrap();
        assert_eq!(script.lines.len(), DEMO.lines().count());
    }

    #[test]
    fn the_help_examples_parse() {
        let mut examples: Vec<String> = Vec::new();
        for line in FORMAT_HELP.lines() {
            match examples.last_mut() {
                Some(example) if line.starts_with("    ") => example.push_str(line),
                _ if line.starts_with("  {") => examples.push(line.to_string()),
                _ => {}
            }
        }
        let script = Script::parse(&examples.join("\n"), "help").unwrap();
        assert_eq!(script.lines.len(), 7);
    }

    #[test]
    fn every_action_form_parses() {
        let text = r#"
{"create": {"ref": "a", "title": "A", "priority": "low", "due": "2024-02-29"}}
{"modify": {"ref": "a", "project": null, "due": null, "status": "waiting", "add-tags": ["x"]}}
{"delete": {"ref": "a"}}
{"timer": "hourly"}
{"sync": {"pulled": 1}}
{"custom": {"topic": "t", "payload": "hi"}}
{"command": {"plugin": "p", "name": "n", "args": ["1"]}}
"#;
        let script = Script::parse(text, "t.jsonl").unwrap();
        assert_eq!(script.lines.len(), 7);
        assert_eq!(script.lines[0].line, 2);
        let Action::Modify(modify) = &script.lines[1].action else {
            panic!("not a modify");
        };
        assert_eq!(modify.project, Some(None));
        assert_eq!(modify.due, Some(None));
        assert_eq!(modify.title, None);
        let Action::Custom(custom) = &script.lines[5].action else {
            panic!("not a custom");
        };
        assert_eq!(custom.source, "app");
    }

    #[test]
    fn a_bad_line_names_the_file_line_and_problem() {
        let text = "{\"timer\": \"hourly\"}\n{\"create\": {\"titel\": \"x\"}}\n";
        let error = Script::parse(text, "events.jsonl").unwrap_err().to_string();
        assert!(error.starts_with("events.jsonl:2: unknown field `titel`"), "{error}");
        assert!(!error.contains("line 1"), "{error}");

        let error = Script::parse("{\"sleep\": 3}", "e.jsonl").unwrap_err().to_string();
        assert!(error.starts_with("e.jsonl:1: unknown variant `sleep`"), "{error}");

        let error = Script::parse("{\"create\": {\"title\": \"x\", \"due\": \"2023-02-29\"}}", "e.jsonl")
            .unwrap_err()
            .to_string();
        assert!(error.contains("2023-02-29"), "{error}");

        let error = Script::parse("{\"timer\": \"a\", \"sync\": {}}", "e.jsonl")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("e.jsonl:1: "), "{error}");
    }
}
