//! One Taskwarrior hook run: the task Taskwarrior sends on stdin offered to
//! the user's installed plugins (`task-created` for `on-add`,
//! `task-modified` for `on-modify`), and the task as they left it written
//! back on stdout, then one feedback line per thing they did.
//!
//! Whatever happens, the hook exits 0 and answers a task Taskwarrior can
//! store: a plugin that fails, traps or runs out of time has its changes
//! discarded (each plugin's changes are all or nothing) and is named on a
//! feedback line with the reason; when the hook itself cannot do its job
//! (unreadable input, plugins that cannot be opened, a dispatch that
//! outlives [`HOOK_LIMIT`]) it answers the task exactly as Taskwarrior sent
//! it. The plugins see only this task: the hook's store holds it alone, and
//! what a plugin does to another task (creating one) is reported and
//! dropped, as a hook can only answer the task it was given.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugboard::{Host, HostConfig, InMemoryTaskStore, Outcome, PluginStatus, TaskChange, TaskStore};
use plugboard_contract::{Event, TaskModification};
use plugboard_registry::PluginDirs;

use super::json;
use crate::describe;

/// All the plugins together get this long for one task: each call has its
/// own deadline (1 s unless granted more), and the dispatch stops them all
/// at this bound.
pub const HOOK_BUDGET: Duration = Duration::from_secs(2);

/// If the dispatch has not ended this long after it started (a fault in
/// the host, since [`HOOK_BUDGET`] bounds the plugins), the hook answers
/// the task unchanged and exits.
pub const HOOK_LIMIT: Duration = Duration::from_secs(5);

/// The most bytes read from stdin: one or two tasks of Taskwarrior's.
const MAX_INPUT: u64 = 4 << 20;

/// The most feedback lines one plugin adds to Taskwarrior's output; the
/// rest are in its log (`plugboard logs ID`).
const MAX_LINES_PER_PLUGIN: usize = 8;

/// The hook events plugboard answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookEvent {
    /// A task is being added: stdin holds it.
    OnAdd,
    /// A task is being changed: stdin holds it before, then after.
    OnModify,
}

/// What the hook writes once: the task line, then feedback lines.
struct Answer {
    given: bool,
}

fn answer(state: &Mutex<Answer>, task_line: &str, feedback: &[String]) {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    if state.given {
        return;
    }
    state.given = true;
    let mut out = std::io::stdout().lock();
    // Taskwarrior reads what it can; a closed pipe leaves nothing to do.
    let _ = writeln!(out, "{task_line}");
    for line in feedback {
        let _ = writeln!(out, "plugboard: {}", plugboard::display::escaped(line));
    }
    let _ = out.flush();
}

/// Runs the hook; always exits 0.
pub fn run(event: HookEvent, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> ExitCode {
    let mut input = String::new();
    let read = std::io::stdin().lock().take(MAX_INPUT).read_to_string(&mut input);
    let lines: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    let wanted = match event {
        HookEvent::OnAdd => 1,
        HookEvent::OnModify => 2,
    };
    // The task to give back when nothing can be done: the one Taskwarrior
    // is about to store.
    let Some(&unchanged) = lines.get(wanted - 1) else {
        let why = match read {
            Err(e) => format!("cannot read the task Taskwarrior sent: {e}"),
            Ok(_) => format!("Taskwarrior sent {} task line(s), expected {wanted}", lines.len()),
        };
        // With no task to answer, the only safe answer is none: Taskwarrior
        // keeps its own.
        println!("plugboard: {why}");
        return ExitCode::SUCCESS;
    };
    let state = Arc::new(Mutex::new(Answer { given: false }));
    match offer(event, &lines, dirs, config_dir, data_dir, &state, unchanged) {
        Ok((task_line, feedback)) => answer(&state, &task_line, &feedback),
        Err(why) => answer(
            &state,
            unchanged,
            &[format!("{why:#}; the task is left as Taskwarrior had it")],
        ),
    }
    ExitCode::SUCCESS
}

/// Offers the task to the plugins; returns the task line to answer and the
/// feedback.
fn offer(
    event: HookEvent,
    lines: &[&str],
    dirs: &PluginDirs,
    config_dir: &Path,
    data_dir: &Path,
    state: &Arc<Mutex<Answer>>,
    unchanged: &str,
) -> anyhow::Result<(String, Vec<String>)> {
    let read = |line: &str| -> anyhow::Result<_> {
        let object = json::parse_object(line).map_err(|e| anyhow::anyhow!("the task Taskwarrior sent: {e}"))?;
        let task = json::to_task(&object).map_err(|e| anyhow::anyhow!("the task Taskwarrior sent: {e}"))?;
        Ok((object, task))
    };
    let (mut object, task) = read(lines[lines.len() - 1])?;
    let event = match event {
        HookEvent::OnAdd => Event::TaskCreated(task.clone()),
        HookEvent::OnModify => Event::TaskModified(TaskModification {
            before: read(lines[0])?.1,
            after: task.clone(),
        }),
    };

    let store = Arc::new(InMemoryTaskStore::new());
    store
        .commit(&[TaskChange::Created(task.clone())])
        .map_err(|e| anyhow::anyhow!("the task Taskwarrior sent: {e}"))?;
    let mut config = HostConfig {
        builtin_dir: dirs.builtin.clone(),
        ..HostConfig::new(&dirs.user, config_dir, data_dir)
    };
    config.budget.wall_clock = HOOK_BUDGET;
    let host = Host::builder(config)
        .task_store(store.clone())
        .open()
        .map_err(|e| anyhow::anyhow!("cannot open the plugins: {e}"))?;
    let mut feedback = load_problems(&host);

    let watchdog_state = state.clone();
    let watchdog_line = unchanged.to_string();
    std::thread::Builder::new()
        .name("plugboard-hook-limit".into())
        .spawn(move || {
            std::thread::sleep(HOOK_LIMIT);
            answer(
                &watchdog_state,
                &watchdog_line,
                &[format!(
                    "the plugins were still running after {} s; the task is left as Taskwarrior had it",
                    HOOK_LIMIT.as_secs()
                )],
            );
            std::process::exit(0);
        })
        .map_err(|e| anyhow::anyhow!("cannot start the hook's time limit: {e}"))?;

    let report = host.dispatch_blocking(&event);
    let now = (host.services().clock)();
    for delivery in &report.deliveries {
        let plugin = &delivery.plugin;
        match &delivery.outcome {
            Outcome::Handled => {
                let mut said = Vec::new();
                for log in &delivery.effects.logs {
                    said.push(format!("{plugin}: {}", log.message));
                }
                for change in &delivery.effects.changes {
                    said.push(match change {
                        TaskChange::Updated { after, .. } if after.id == task.id => {
                            format!("{plugin}: {}", describe::plugin_change(change))
                        }
                        other => format!(
                            "{plugin}: {}; a Taskwarrior hook answers only the task it was given, so this is dropped",
                            describe::plugin_change(other)
                        ),
                    });
                }
                for permission in &delivery.effects.denied {
                    said.push(format!("{plugin}: denied {permission} (not granted)"));
                }
                let more = said.len().saturating_sub(MAX_LINES_PER_PLUGIN);
                said.truncate(MAX_LINES_PER_PLUGIN);
                if more > 0 {
                    said.push(format!("{plugin}: {more} more line(s): `plugboard logs {plugin}`"));
                }
                feedback.extend(said);
            }
            Outcome::NotDelivered(_) => {}
            failed => feedback.push(format!(
                "{plugin}: {}; its changes were discarded",
                describe::outcome(failed)
            )),
        }
    }
    for record in &report.quarantined {
        feedback.push(format!(
            "{} is quarantined ({}): it no longer runs until `plugboard enable {}`",
            record.plugin, record.kind, record.plugin
        ));
    }

    let after = store.get(&task.id).ok().flatten().unwrap_or_else(|| task.clone());
    let not_kept = json::write_back(&mut object, &task, &after, now);
    if not_kept.description {
        feedback
            .push("the plugins changed the long description, which Taskwarrior has no field for: not kept".to_string());
    }
    let line = serde_json::to_string(&object).map_err(|e| anyhow::anyhow!("cannot write the task: {e}"))?;
    host.shutdown();
    Ok((line, feedback))
}

/// One line per installed plugin that could not be loaded.
fn load_problems(host: &Host) -> Vec<String> {
    host.report()
        .plugins
        .iter()
        .filter_map(|plugin| match &plugin.status {
            PluginStatus::LoadFailed(error) => Some(format!("not running {}: {error}", plugin.id)),
            PluginStatus::Changed(error) => Some(format!("not running {}: {error}", plugin.id)),
            PluginStatus::Blocked(error) => Some(format!("not running {}: {error}", plugin.id)),
            _ => None,
        })
        .collect()
}
