//! auto-tag's rule as a native Rust function over the host's own task, the
//! floor of any plugin system: no sandbox, no copy, no call boundary.

use plugboard_contract::task_store::InMemoryTaskStore;
use plugboard_contract::{Priority, Status, Task, TaskPatch};

/// The rule, with its keywords parsed once (as auto-tag does in `init`).
pub struct AutoTag {
    keywords: Vec<String>,
}

impl AutoTag {
    /// The rule for a comma-separated keyword setting.
    pub fn new(setting: &str) -> AutoTag {
        AutoTag {
            keywords: setting
                .split(',')
                .map(|k| k.trim().to_lowercase())
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    /// The change the rule asks for on `task`; empty when it already holds.
    pub fn patch_for(&self, task: &Task) -> TaskPatch {
        let mut patch = TaskPatch::default();
        if task.status == Status::Deleted {
            return patch;
        }
        let title = task.title.to_lowercase();
        for keyword in self.keywords.iter().filter(|k| contains_word(&title, k)) {
            if !task.tags.iter().any(|t| t == keyword) {
                patch.add_tags.push(keyword.clone());
            }
            if keyword == "urgent" && task.priority != Priority::High {
                patch.priority = Some(Priority::High);
            }
        }
        patch
    }

    /// Handles `task-created` for `task`: applies the change to the store
    /// when there is one. Returns whether it changed the task.
    pub fn on_task_created(&self, task: &Task, store: &InMemoryTaskStore) -> bool {
        let patch = self.patch_for(task);
        if patch == TaskPatch::default() {
            return false;
        }
        store
            .update(&task.id, &patch, 2)
            .expect("the task is in the store and the patch is valid");
        true
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}
