//! auto-tag: tags a task with every configured keyword its title contains.
//!
//! The keywords come from the `keywords` setting (comma separated). A
//! keyword counts when it appears in the title as a whole word, ignoring
//! case; the task then gets the keyword as a tag, and the keyword `urgent`
//! also raises the task's priority to high. The plugin writes to a task only
//! when that changes something, so its own update, which the host reports as
//! another `task-modified` event, finds nothing to do and does not loop.
//!
//! The `retag` command applies the same rule to every pending task.

use plugboard_sdk::{Config, Error, Filter, Plugin, Priority, Status, Task, TaskPatch, export_plugin, info, tasks};

/// The keyword that also makes a task high priority.
const URGENT: &str = "urgent";

/// The plugin: the keywords read from the settings in `init`.
#[derive(Default)]
struct AutoTag {
    keywords: Vec<String>,
}

impl Plugin for AutoTag {
    fn init(&mut self, config: &Config) -> Result<(), Error> {
        self.keywords = parse_keywords(config.get("keywords").unwrap_or(""))?;
        info!("watching titles for: {}", self.keywords.join(", "));
        Ok(())
    }

    fn on_task_created(&mut self, task: Task) -> Result<(), Error> {
        self.apply(&task).map(drop)
    }

    fn on_task_modified(&mut self, _before: Task, after: Task) -> Result<(), Error> {
        self.apply(&after).map(drop)
    }

    fn run_command(&mut self, name: String, args: Vec<String>) -> Result<String, Error> {
        match name.as_str() {
            "retag" if args.is_empty() => self.retag(),
            "retag" => Err(Error::Invalid(format!(
                "retag takes no arguments, got {}",
                args.join(" ")
            ))),
            _ => Err(Error::Invalid(format!("unknown command {name}"))),
        }
    }
}

impl AutoTag {
    /// The change the rule asks for on `task`; empty when it already holds.
    fn patch_for(&self, task: &Task) -> TaskPatch {
        let mut patch = TaskPatch::default();
        if task.status == Status::Deleted {
            return patch;
        }
        let title = task.title.to_lowercase();
        for keyword in self.keywords.iter().filter(|k| contains_word(&title, k)) {
            if !task.has_tag(keyword) {
                patch.add_tags.push(keyword.clone());
            }
            if keyword == URGENT && task.priority != Priority::High {
                patch.priority = Some(Priority::High);
            }
        }
        patch
    }

    /// Applies the rule to `task`; returns whether the task was changed.
    fn apply(&self, task: &Task) -> Result<bool, Error> {
        let patch = self.patch_for(task);
        if patch.is_empty() {
            return Ok(false);
        }
        tasks::update(&task.id, &patch)?;
        info!("task {} ({:?}): {}", task.id, task.title, describe(&patch));
        Ok(true)
    }

    /// The `retag` command: the rule applied to every pending task.
    fn retag(&self) -> Result<String, Error> {
        let pending = Filter::status(Status::Pending);
        let total = tasks::count(&pending)?;
        let mut changed = 0;
        let found = tasks::query(&pending)?;
        for task in &found {
            if self.apply(task)? {
                changed += 1;
            }
        }
        let mut summary = format!("retag: checked {} pending tasks, changed {changed}", found.len());
        if (found.len() as u64) < u64::from(total) {
            summary.push_str(&format!(
                "; the host limits a query to {} tasks, so {} of the {total} pending tasks were \
                 not checked",
                found.len(),
                u64::from(total) - found.len() as u64
            ));
        }
        Ok(summary)
    }
}

/// Splits the `keywords` setting into lower-case keywords.
fn parse_keywords(setting: &str) -> Result<Vec<String>, Error> {
    let mut keywords: Vec<String> = Vec::new();
    for keyword in setting.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if keyword.chars().any(char::is_whitespace) {
            return Err(Error::Invalid(format!(
                "setting `keywords`: {keyword:?} has a space; a keyword becomes a tag, which \
                 cannot contain one"
            )));
        }
        let keyword = keyword.to_lowercase();
        if !keywords.contains(&keyword) {
            keywords.push(keyword);
        }
    }
    if keywords.is_empty() {
        return Err(Error::Invalid(
            "setting `keywords` is empty; set it to a comma-separated list such as \
             \"urgent,review,bug\""
                .to_string(),
        ));
    }
    Ok(keywords)
}

/// Whether `word` occurs in `text` with no letter, digit or `_` on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// A short account of what a patch changes, for the log.
fn describe(patch: &TaskPatch) -> String {
    let mut parts = Vec::new();
    if !patch.add_tags.is_empty() {
        parts.push(format!("added tags {}", patch.add_tags.join(", ")));
    }
    if let Some(priority) = patch.priority {
        parts.push(format!("set priority {priority}"));
    }
    parts.join("; ")
}

export_plugin!(AutoTag);

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str, tags: &[&str], priority: Priority) -> Task {
        Task {
            id: "0f6b3b8e-0000-4000-8000-000000000001".to_string(),
            title: title.to_string(),
            description: String::new(),
            status: Status::Pending,
            project: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            priority,
            due: None,
            created: 0,
            modified: 0,
            annotations: Vec::new(),
            attributes: Vec::new(),
        }
    }

    fn plugin() -> AutoTag {
        AutoTag {
            keywords: parse_keywords("urgent, Review,bug,,bug").unwrap(),
        }
    }

    #[test]
    fn keywords_are_trimmed_lowercased_and_deduplicated() {
        assert_eq!(plugin().keywords, ["urgent", "review", "bug"]);
    }

    #[test]
    fn empty_or_spaced_keywords_are_refused() {
        assert!(matches!(parse_keywords(" , "), Err(Error::Invalid(_))));
        assert!(matches!(parse_keywords("two words"), Err(Error::Invalid(_))));
    }

    #[test]
    fn words_match_whole_and_only_whole() {
        assert!(contains_word("fix the bug", "bug"));
        assert!(contains_word("bug: crash", "bug"));
        assert!(contains_word("(bug)", "bug"));
        assert!(!contains_word("debug output", "bug"));
        assert!(!contains_word("bugs everywhere", "bug"));
        assert!(!contains_word("bug_report", "bug"));
        assert!(contains_word("a debug bug", "bug"));
    }

    #[test]
    fn matching_title_gets_tags_and_urgent_gets_high_priority() {
        let patch = plugin().patch_for(&task("URGENT: Review the Bug", &[], Priority::Low));
        assert_eq!(patch.add_tags, ["urgent", "review", "bug"]);
        assert_eq!(patch.priority, Some(Priority::High));
    }

    #[test]
    fn nothing_to_do_gives_an_empty_patch() {
        let plugin = plugin();
        let done = task("urgent bug", &["urgent", "bug"], Priority::High);
        assert!(plugin.patch_for(&done).is_empty());
        assert!(plugin.patch_for(&task("buy milk", &[], Priority::None)).is_empty());
    }

    #[test]
    fn deleted_tasks_are_left_alone() {
        let mut deleted = task("urgent", &[], Priority::None);
        deleted.status = Status::Deleted;
        assert!(plugin().patch_for(&deleted).is_empty());
    }
}
