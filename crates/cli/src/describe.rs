//! Turning tasks, task changes and dispatch outcomes into the short text a
//! reader of `plugboard run` sees.

use std::collections::HashSet;
use std::fmt::Write as _;

use plugboard::display::escaped;

use plugboard_contract::{Priority, Status, Task};
use plugboard_host::{CallEffects, Outcome, QuarantineRecord};

use crate::date;

/// The widest a title gets in the task table before it is cut.
const MAX_TITLE_COLUMN: usize = 36;

/// A status as scripts and the table write it.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Waiting => "waiting",
        Status::Completed => "completed",
        Status::Deleted => "deleted",
    }
}

/// A priority as scripts and the table write it.
pub fn priority_name(priority: Priority) -> &'static str {
    match priority {
        Priority::None => "none",
        Priority::Low => "low",
        Priority::Medium => "medium",
        Priority::High => "high",
    }
}

fn optional_date(due: Option<i64>) -> String {
    due.map_or_else(|| "none".to_string(), date::format)
}

fn optional_project(project: Option<&String>) -> String {
    project.map_or_else(|| "none".to_string(), |p| format!("{p:?}"))
}

/// Every visible difference between two states of a task, title first,
/// e.g. `+tag urgent`, `priority none -> high`.
pub fn task_changes(before: &Task, after: &Task) -> Vec<String> {
    let mut changes = Vec::new();
    if before.title != after.title {
        changes.push(format!("title {:?} -> {:?}", before.title, after.title));
    }
    changes.extend(changes_besides_title(before, after));
    changes
}

fn changes_besides_title(before: &Task, after: &Task) -> Vec<String> {
    let mut changes = Vec::new();
    if before.status != after.status {
        changes.push(format!(
            "status {} -> {}",
            status_name(before.status),
            status_name(after.status)
        ));
    }
    // Sets, not scans: a plugin's task may carry tens of thousands of tags.
    let had: HashSet<&str> = before.tags.iter().map(String::as_str).collect();
    let has: HashSet<&str> = after.tags.iter().map(String::as_str).collect();
    for tag in after.tags.iter().filter(|t| !had.contains(t.as_str())) {
        changes.push(format!("+tag {tag}"));
    }
    for tag in before.tags.iter().filter(|t| !has.contains(t.as_str())) {
        changes.push(format!("-tag {tag}"));
    }
    if before.priority != after.priority {
        changes.push(format!(
            "priority {} -> {}",
            priority_name(before.priority),
            priority_name(after.priority)
        ));
    }
    if before.project != after.project {
        changes.push(format!(
            "project {} -> {}",
            optional_project(before.project.as_ref()),
            optional_project(after.project.as_ref())
        ));
    }
    if before.due != after.due {
        changes.push(format!(
            "due {} -> {}",
            optional_date(before.due),
            optional_date(after.due)
        ));
    }
    if before.description != after.description {
        changes.push("description changed".to_string());
    }
    let notes = after.annotations.len().saturating_sub(before.annotations.len());
    if notes > 0 {
        changes.push(format!("+{notes} note(s)"));
    }
    if before.attributes != after.attributes {
        changes.push("attributes changed".to_string());
    }
    changes
}

/// A user's change for an event header: `"Buy milk" -> "Buy milk, urgent"`
/// for a new title, then the other changes, e.g. `"Report": status pending -> completed`.
pub fn modification(before: &Task, after: &Task) -> String {
    let mut text = if before.title == after.title {
        format!("{:?}", after.title)
    } else {
        format!("{:?} -> {:?}", before.title, after.title)
    };
    let rest = changes_besides_title(before, after);
    if !rest.is_empty() {
        let _ = write!(text, ": {}", rest.join(", "));
    }
    text
}

/// What a plugin did to a task: `changed task "Buy milk, urgent": +tag urgent, priority none -> high`.
pub fn plugin_change(change: &plugboard_contract::TaskChange) -> String {
    match change {
        plugboard_contract::TaskChange::Created(task) => format!("created task {:?}", task.title),
        plugboard_contract::TaskChange::Deleted(task) => format!("deleted task {:?}", task.title),
        plugboard_contract::TaskChange::Updated { before, after } => {
            let changes = task_changes(before, after);
            if changes.is_empty() {
                format!("changed task {:?} (nothing visible)", after.title)
            } else {
                format!("changed task {:?}: {}", after.title, changes.join(", "))
            }
        }
    }
}

/// What happened to a delivery, in a few words.
pub fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Handled => "handled".to_string(),
        Outcome::Rejected(why) => format!("rejected: {why}"),
        Outcome::Trapped(abuse) => format!("trapped ({}): {}", abuse.kind, abuse.detail),
        Outcome::CommitFailed(why) => format!("commit refused: {why}"),
        Outcome::NotDelivered(why) => format!("not delivered ({why})"),
        Outcome::Unavailable(why) => format!("unavailable: {why}"),
        Outcome::OutOfBudget(why) => format!("stopped, out of budget: {why}"),
        Outcome::HostFailed(why) => format!("host failure, not the plugin's: {why}"),
    }
}

/// One line per thing a call did, as the host reported it: log lines,
/// committed task changes, refused host calls, emitted events, and what was
/// thrown away.
pub fn effects(effects: &CallEffects) -> Vec<String> {
    let mut lines = Vec::new();
    for log in &effects.logs {
        lines.push(format!("{}: {}", log.level, log.message));
    }
    for change in &effects.changes {
        lines.push(plugin_change(change));
    }
    for permission in &effects.denied {
        lines.push(format!("denied: {permission} (not granted)"));
    }
    for emitted in &effects.emitted {
        lines.push(format!(
            "emitted custom:{} ({} bytes)",
            emitted.topic,
            emitted.payload.len()
        ));
    }
    match effects.discarded_changes {
        0 => {}
        1 => lines.push("1 staged task change discarded".to_string()),
        n => lines.push(format!("{n} staged task changes discarded")),
    }
    if effects.dropped_output > 0 {
        lines.push(format!(
            "{} bytes of log output dropped (more than a call may write)",
            effects.dropped_output
        ));
    }
    lines
}

/// `since 2025-07-01 12:00:00 for deadline: the call ran past ...`, to follow
/// "quarantined".
pub fn quarantined_since(record: &QuarantineRecord) -> String {
    format!(
        "since {} for {}: {}",
        date::format_time(record.at),
        record.kind,
        record.reason
    )
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max.saturating_sub(1)).chain(['…']).collect()
    } else {
        text.to_string()
    }
}

/// The tasks as a table: title, status, priority, tags, project.
pub fn task_table(tasks: &[Task]) -> String {
    let header = ["title", "status", "priority", "tags", "project"];
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .map(|task| {
            [
                truncate(&escaped(&task.title), MAX_TITLE_COLUMN),
                status_name(task.status).to_string(),
                priority_name(task.priority).to_string(),
                escaped(&task.tags.join(",")).into_owned(),
                task.project
                    .as_deref()
                    .map_or_else(|| "-".to_string(), |p| escaped(p).into_owned()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, " {cell:<width$} ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_contract::task_store::{InMemoryTaskStore, empty_patch, new_task};

    fn task(title: &str) -> Task {
        InMemoryTaskStore::new().create(new_task(title), 0).unwrap()
    }

    #[test]
    fn changes_name_each_field() {
        let before = task("Buy milk");
        let mut patch = empty_patch();
        patch.title = Some("Buy milk, urgent".into());
        patch.add_tags = vec!["urgent".into()];
        patch.priority = Some(Priority::High);
        patch.status = Some(Status::Completed);
        patch.project = Some(Some("home".into()));
        patch.due = Some(Some(0));
        let after = plugboard_contract::task_store::apply_patch(&before, &patch, 1).unwrap();
        assert_eq!(
            task_changes(&before, &after),
            [
                "title \"Buy milk\" -> \"Buy milk, urgent\"",
                "status pending -> completed",
                "+tag urgent",
                "priority none -> high",
                "project none -> \"home\"",
                "due none -> 1970-01-01",
            ]
        );
        assert!(modification(&before, &after).starts_with("\"Buy milk\" -> \"Buy milk, urgent\": status pending"));
        let change = plugboard_contract::TaskChange::Updated { before, after };
        assert!(plugin_change(&change).starts_with("changed task \"Buy milk, urgent\": title"));
    }

    #[test]
    fn outcomes_and_effects_say_what_the_host_reported() {
        let trapped = Outcome::Trapped(plugboard_host::Abuse {
            kind: plugboard_host::AbuseKind::Deadline,
            detail: "the call ran past its 100 ms deadline and was stopped".into(),
        });
        assert_eq!(
            outcome(&trapped),
            "trapped (deadline): the call ran past its 100 ms deadline and was stopped"
        );
        assert_eq!(
            outcome(&Outcome::CommitFailed("task x was changed since it was read".into())),
            "commit refused: task x was changed since it was read"
        );
        let effects = effects(&CallEffects {
            denied: vec!["tasks.delete".into()],
            discarded_changes: 3,
            dropped_output: 10,
            ..CallEffects::default()
        });
        assert_eq!(
            effects,
            [
                "denied: tasks.delete (not granted)",
                "3 staged task changes discarded",
                "10 bytes of log output dropped (more than a call may write)"
            ]
        );
    }

    #[test]
    fn the_table_aligns_columns_and_cuts_long_titles() {
        let mut long = task(&"x".repeat(50));
        long.tags = vec!["a".into(), "b".into()];
        let table = task_table(&[task("Buy milk"), long]);
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("  title "), "{table}");
        let status_column = lines[0].find("status").unwrap();
        assert_eq!(lines[1].find("pending"), Some(status_column), "{table}");
        assert!(lines[2].contains('…') && lines[2].contains("a,b"), "{table}");
    }
}
