//! auto-tag's rule on a JSON task: every configured keyword the title
//! contains as a whole word (ignoring case) becomes a tag, and `urgent`
//! also makes the task high priority. The change goes to the host's
//! `update_task` function, and only when there is one.

use std::cell::OnceCell;

use extism_pdk::{FnResult, Json, config, host_fn, plugin_fn};
use serde::{Deserialize, Serialize};

const URGENT: &str = "urgent";

/// The fields of the host's task the rule reads; the others are skipped.
#[derive(Deserialize)]
struct Task {
    id: String,
    title: String,
    status: String,
    tags: Vec<String>,
    priority: String,
}

/// The change, in the host's patch form (absent fields keep their value).
#[derive(Serialize, Default)]
struct Patch {
    add_tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'static str>,
}

#[host_fn]
extern "ExtismHost" {
    fn update_task(id: String, patch: Json<Patch>);
}

thread_local! {
    static KEYWORDS: OnceCell<Vec<String>> = const { OnceCell::new() };
}

/// Runs `f` on the keywords, read from the `keywords` setting once.
fn with_keywords<R>(f: impl FnOnce(&[String]) -> R) -> R {
    KEYWORDS.with(|k| {
        f(k.get_or_init(|| {
            config::get("keywords")
                .ok()
                .flatten()
                .unwrap_or_default()
                .split(',')
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect()
        }))
    })
}

/// Whether `word` appears in `text` with no letter, digit or `_` on
/// either side.
fn contains_word(text: &str, word: &str) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// Handles a `task-created` event: the task as JSON.
#[plugin_fn]
pub fn on_task_created(Json(task): Json<Task>) -> FnResult<()> {
    if task.status == "Deleted" {
        return Ok(());
    }
    let title = task.title.to_lowercase();
    let mut patch = Patch::default();
    with_keywords(|keywords| {
        for keyword in keywords.iter().filter(|k| contains_word(&title, k)) {
            if !task.tags.iter().any(|t| t == keyword) {
                patch.add_tags.push(keyword.clone());
            }
            if keyword == URGENT && task.priority != "High" {
                patch.priority = Some("High");
            }
        }
    });
    if patch.add_tags.is_empty() && patch.priority.is_none() {
        return Ok(());
    }
    // SAFETY: `update_task` is the host function the benchmark's host
    // defines with this signature.
    let tags = patch.add_tags.join(", ");
    unsafe { update_task(task.id.clone(), Json(patch))? };
    extism_pdk::info!("task {} ({:?}): +tag {tags}", task.id, task.title);
    Ok(())
}
