//! Expectation files: what a run of events must leave behind, for
//! `plugboard check PATH --events FILE.jsonl --expect FILE.toml` and for
//! tests that keep their expectations beside the plugin.
//!
//! ```toml
//! # Lines that must be in the plugin's log, in this order (others may
//! # come between); each is found by substring.
//! log = ["task created: Buy milk"]
//! # Text no log line may contain.
//! log-absent = ["Traceback"]
//! # How every delivery must end: "handled" (the default) or "any".
//! outcomes = "handled"
//! # Permissions the host must have refused the plugin.
//! denied = ["tasks.write"]
//! # Titles of tasks that must not exist at the end.
//! absent-tasks = ["Call the plumber"]
//!
//! # A task that must exist at the end, found by its title; only the
//! # fields given are compared (tags: these at least).
//! [[task]]
//! title = "Buy milk"
//! tags = ["shop"]
//! status = "pending"     # pending | waiting | completed | deleted
//! priority = "high"      # none | low | medium | high
//! project = "home"
//!
//! # An event the plugin must have emitted (payload as UTF-8 text).
//! [[emit]]
//! topic = "reminder"
//! payload = "Buy milk"
//!
//! # What the plugin must have stored in its state (values as UTF-8 text).
//! [state]
//! count = "1"
//! ```
//!
//! An expectation file is at most [`MAX_EXPECTATION_BYTES`] long.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Sent, TestHost, tail};

/// The largest expectation file read: far more than any hand-written one.
pub const MAX_EXPECTATION_BYTES: u64 = 1024 * 1024;

/// Why an expectation file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// It cannot be read.
    #[error("cannot read the expectation file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is larger than [`MAX_EXPECTATION_BYTES`].
    #[error("the expectation file {} is larger than {MAX_EXPECTATION_BYTES} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// It is not valid TOML of the expectation format.
    #[error("the expectation file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
}

/// How every delivery must end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcomes {
    /// Every delivery handled without an error.
    #[default]
    Handled,
    /// Not checked.
    Any,
}

/// A task that must exist at the end of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpectedTask {
    /// Its title, by which it is found.
    pub title: String,
    /// Tags it must have (it may have others).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its status.
    pub status: Option<String>,
    /// Its priority.
    pub priority: Option<String>,
    /// Its project.
    pub project: Option<String>,
}

/// An event the plugin must have emitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedEmit {
    /// Its topic.
    pub topic: String,
    /// Its payload, as UTF-8 text; not compared when left out.
    pub payload: Option<String>,
}

/// What a run of events must leave behind (see the module's format).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expectation {
    /// Log lines, in order, each found by substring.
    #[serde(default)]
    pub log: Vec<String>,
    /// Text no log line may contain.
    #[serde(default)]
    pub log_absent: Vec<String>,
    /// How every delivery must end.
    #[serde(default)]
    pub outcomes: Outcomes,
    /// Permissions the host must have refused.
    #[serde(default)]
    pub denied: Vec<String>,
    /// Titles of tasks that must not exist at the end.
    #[serde(default)]
    pub absent_tasks: Vec<String>,
    /// Tasks that must exist at the end.
    #[serde(default, rename = "task")]
    pub tasks: Vec<ExpectedTask>,
    /// Events the plugin must have emitted.
    #[serde(default, rename = "emit")]
    pub emits: Vec<ExpectedEmit>,
    /// State the plugin must have stored.
    #[serde(default)]
    pub state: BTreeMap<String, String>,
}

impl Expectation {
    /// Reads an expectation file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Expectation, ExpectError> {
        use std::io::Read as _;
        let path = path.as_ref();
        let read = |source| ExpectError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_EXPECTATION_BYTES + 1).read_to_string(&mut text))
            .map_err(read)?;
        if text.len() as u64 > MAX_EXPECTATION_BYTES {
            return Err(ExpectError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        Expectation::parse(&text, path)
    }

    /// Parses an expectation; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Expectation, ExpectError> {
        toml::from_str(text).map_err(|e| ExpectError::Invalid {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Compares what the plugin in `host` did with the events `sent` with
    /// this expectation; one message per unmet expectation, each saying
    /// what was expected and what happened.
    pub fn check(&self, host: &TestHost, sent: &[Sent]) -> Vec<String> {
        let mut unmet = Vec::new();
        let log = host.log();
        let mut from = 0;
        for wanted in &self.log {
            match log[from..].iter().position(|l| l.contains(wanted.as_str())) {
                Some(at) => from += at + 1,
                None if log.iter().any(|l| l.contains(wanted.as_str())) => unmet.push(format!(
                    "log: {wanted:?} is logged, but not after the lines expected before it"
                )),
                None => unmet.push(format!("log: no line contains {wanted:?}")),
            }
        }
        for unwanted in &self.log_absent {
            if let Some(line) = log.iter().find(|l| l.contains(unwanted.as_str())) {
                unmet.push(format!("log-absent: {unwanted:?} is in the line {line:?}"));
            }
        }
        if self.outcomes == Outcomes::Handled {
            for (index, one) in sent.iter().enumerate() {
                match one.outcome() {
                    Some(plugboard_host::Outcome::Handled) | None => {}
                    Some(outcome) => unmet.push(format!(
                        "outcomes: event {} ({}) ended: {outcome}",
                        index + 1,
                        one.event
                    )),
                }
            }
        }
        let denied: Vec<&str> = sent
            .iter()
            .filter_map(Sent::delivery)
            .flat_map(|d| d.effects.denied.iter().map(String::as_str))
            .collect();
        for permission in &self.denied {
            if !denied.contains(&permission.as_str()) {
                unmet.push(format!(
                    "denied: no call was refused for `{permission}` (refused: {denied:?})"
                ));
            }
        }
        let tasks = host.tasks();
        for title in &self.absent_tasks {
            if tasks.iter().any(|t| &t.title == title) {
                unmet.push(format!("absent-tasks: the task {title:?} exists"));
            }
        }
        for expected in &self.tasks {
            let Some(task) = tasks.iter().find(|t| t.title == expected.title) else {
                let titles: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
                unmet.push(format!(
                    "task {:?}: no such task; the tasks are {titles:?}",
                    expected.title
                ));
                continue;
            };
            let missing: Vec<&String> = expected.tags.iter().filter(|t| !task.tags.contains(t)).collect();
            if !missing.is_empty() {
                unmet.push(format!(
                    "task {:?}: expected the tags {missing:?}, it has {:?}",
                    expected.title, task.tags
                ));
            }
            let compare = |field: &str, want: &Option<String>, have: String, unmet: &mut Vec<String>| {
                if let Some(want) = want
                    && *want != have
                {
                    unmet.push(format!(
                        "task {:?}: expected {field} {want:?}, it is {have:?}",
                        expected.title
                    ));
                }
            };
            compare(
                "status",
                &expected.status,
                status_name(task.status).to_string(),
                &mut unmet,
            );
            compare(
                "priority",
                &expected.priority,
                priority_name(task.priority).to_string(),
                &mut unmet,
            );
            compare(
                "project",
                &expected.project,
                task.project.clone().unwrap_or_default(),
                &mut unmet,
            );
        }
        let emitted: Vec<(String, String)> = sent
            .iter()
            .flat_map(|s| s.report().deliveries.iter())
            .filter(|d| *d.plugin == *host.id())
            .flat_map(|d| d.effects.emitted.iter())
            .map(|e| (e.topic.clone(), String::from_utf8_lossy(&e.payload).into_owned()))
            .collect();
        for emit in &self.emits {
            let found = emitted
                .iter()
                .any(|(topic, payload)| *topic == emit.topic && emit.payload.as_ref().is_none_or(|p| p == payload));
            if !found {
                unmet.push(format!(
                    "emit: expected {:?}{}, it emitted {emitted:?}",
                    emit.topic,
                    emit.payload
                        .as_ref()
                        .map(|p| format!(" with {p:?}"))
                        .unwrap_or_default()
                ));
            }
        }
        for (key, want) in &self.state {
            match host.state(key) {
                Some(value) if value == want.as_bytes() => {}
                Some(value) => unmet.push(format!(
                    "state {key:?}: expected {want:?}, it is {:?}",
                    String::from_utf8_lossy(&value)
                )),
                None => unmet.push(format!("state {key:?}: expected {want:?}, it is not set")),
            }
        }
        unmet
    }

    /// [`Expectation::check`] as one message with the plugin's log, or
    /// `Ok` when every expectation is met.
    pub fn verify(&self, host: &TestHost, sent: &[Sent]) -> Result<(), String> {
        let unmet = self.check(host, sent);
        if unmet.is_empty() {
            return Ok(());
        }
        let mut message = format!("{}: {} expectation(s) not met:", host.id(), unmet.len());
        for one in &unmet {
            message.push_str("\n  - ");
            message.push_str(one);
        }
        message.push('\n');
        message.push_str(&tail(&host.log()));
        Err(message)
    }
}

fn status_name(status: plugboard_contract::Status) -> &'static str {
    use plugboard_contract::Status;
    match status {
        Status::Pending => "pending",
        Status::Waiting => "waiting",
        Status::Completed => "completed",
        Status::Deleted => "deleted",
    }
}

fn priority_name(priority: plugboard_contract::Priority) -> &'static str {
    use plugboard_contract::Priority;
    match priority {
        Priority::None => "none",
        Priority::Low => "low",
        Priority::Medium => "medium",
        Priority::High => "high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("expect.rs");
        let start = doc.find("//! ```toml\n").expect("the example") + "//! ```toml\n".len();
        let end = start + doc[start..].find("//! ```\n").expect("its end");
        let text: String = doc[start..end]
            .lines()
            .map(|l| l.strip_prefix("//! ").or_else(|| l.strip_prefix("//!")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let expectation = Expectation::parse(&text, Path::new("example.toml")).expect("the example parses");
        assert_eq!(expectation.tasks[0].tags, ["shop"]);
        assert_eq!(expectation.state["count"], "1");
    }

    #[test]
    fn an_unknown_field_names_the_file_and_the_field() {
        let error = Expectation::parse("logs = [\"x\"]\n", Path::new("want.toml")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("want.toml") && message.contains("logs"), "{message}");
    }
}
