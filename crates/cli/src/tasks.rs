//! `plugboard tasks`: the user's tasks in a TaskChampion replica (the
//! storage of Taskwarrior 3) in the data folder, with the installed plugins
//! acting on every change.
//!
//! Each action that changes tasks opens a host on the installed plugins
//! (with the user's grants, as `run` does), makes the change as the user's
//! own (one undo point), fires the event the change is (`task-created`,
//! `task-modified`, `task-deleted`, `sync-completed`) and prints what every
//! plugin did with it, as `run` prints a dispatch. `list` and `export` only
//! read, and load no plugin.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use plugboard::Host;
use plugboard_contract::task_store::{empty_patch, new_task};
use plugboard_contract::{Event, Filter, Priority, Status, Task, TaskModification, TaskPatch};
use plugboard_registry::PluginDirs;
use plugboard_taskchampion::TaskChampionStore;

use crate::date;
use crate::describe;
use crate::run::roster::{Roster, Strikes, print_quarantined, print_report};
use crate::run::{Heard, Output, hold, open_host, opened, take_heard};

/// The replica's folder inside the data folder.
pub const REPLICA_FOLDER: &str = "tasks";

/// The arguments of `plugboard tasks`.
#[derive(Debug, clap::Args)]
pub struct TasksArgs {
    /// What to do with the tasks.
    #[command(subcommand)]
    action: Action,
    /// Run the plugins in this folder's subfolders instead of the installed
    /// ones (a development run: they get a fresh in-memory state store).
    #[arg(long, global = true, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Give every plugin everything its manifest requests, ignoring your
    /// grants: for developing your own plugins, never for someone else's.
    #[arg(long, global = true)]
    trust_manifests: bool,
}

/// The fields `add` and `modify` set.
#[derive(Debug, Default, clap::Args)]
struct Fields {
    /// The project (`modify --project ""` removes it).
    #[arg(long)]
    project: Option<String>,
    /// A tag to add (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// low, medium, high or none.
    #[arg(long, value_parser = parse_priority)]
    priority: Option<Priority>,
    /// The due date, YYYY-MM-DD (`modify --due ""` removes it).
    #[arg(long, value_name = "DATE")]
    due: Option<String>,
    /// Longer text beside the title.
    #[arg(long)]
    description: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Add a task; the words are its title.
    Add {
        #[arg(required = true, num_args = 1..)]
        title: Vec<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// List tasks: pending and waiting ones, unless the filter names a
    /// status. Filter words: `+TAG`, `project:NAME`,
    /// `status:pending|waiting|completed|deleted|all`, other words match the
    /// title or description.
    List { filter: Vec<String> },
    /// Change a task (by its id or the start of it).
    Modify {
        id: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// A tag to remove (repeatable).
        #[arg(long = "untag", value_name = "TAG")]
        untags: Vec<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Mark a task done.
    Done { id: String },
    /// Delete a task (kept as deleted, as Taskwarrior does; `undo` brings it back).
    Delete { id: String },
    /// Add a note to a task; the words are the note.
    Annotate {
        id: String,
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Take back the last action, with what the plugins did after it.
    Undo,
    /// Print every task as JSON (the @2 task form plugins see).
    Export,
    /// Sync with a TaskChampion local sync server folder.
    Sync {
        /// The server's folder (created when missing).
        #[arg(long, value_name = "DIR")]
        server_dir: PathBuf,
    },
}

fn parse_priority(text: &str) -> Result<Priority, String> {
    match text.to_ascii_lowercase().as_str() {
        "none" | "" => Ok(Priority::None),
        "low" | "l" => Ok(Priority::Low),
        "medium" | "m" => Ok(Priority::Medium),
        "high" | "h" => Ok(Priority::High),
        _ => Err(format!("{text:?}: expected low, medium, high or none")),
    }
}

fn parse_status(text: &str) -> anyhow::Result<Option<Status>> {
    Ok(Some(match text {
        "pending" => Status::Pending,
        "waiting" => Status::Waiting,
        "completed" => Status::Completed,
        "deleted" => Status::Deleted,
        "all" => return Ok(None),
        _ => anyhow::bail!("status:{text}: expected pending, waiting, completed, deleted or all"),
    }))
}

/// Opens the replica of the data folder.
pub fn open_store(data_dir: &Path) -> anyhow::Result<Arc<TaskChampionStore>> {
    Ok(Arc::new(TaskChampionStore::open(&data_dir.join(REPLICA_FOLDER))?))
}

/// Runs the subcommand.
pub fn tasks(args: &TasksArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(data_dir)?;
    match &args.action {
        Action::List { filter } => return list(&store, filter),
        Action::Export => {
            println!("{}", serde_json::to_string_pretty(&store.all()?)?);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let mut session = Session::open(args, dirs, config_dir, data_dir, store.clone())?;
    let now = session.host.services().clock.as_ref()();
    match &args.action {
        Action::List { .. } | Action::Export => unreachable!("answered above"),
        Action::Add { title, fields } => {
            let mut new = new_task(title.join(" "));
            new.project = fields.project.clone().filter(|p| !p.is_empty());
            new.tags = fields.tags.clone();
            new.priority = fields.priority.unwrap_or_default();
            new.due = fields
                .due
                .as_deref()
                .map(date::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            new.description = fields.description.clone().unwrap_or_default();
            let task = store.create(new, now)?;
            println!("added {} {:?}", short(&task.id), task.title);
            session.fire(Event::TaskCreated(task.clone()));
            session.show_outcome(&task)?;
        }
        Action::Modify {
            id,
            title,
            untags,
            fields,
        } => {
            let mut patch = fields_patch(fields)?;
            patch.title = title.clone();
            patch.remove_tags = untags.clone();
            session.modify(id, &patch, now, "modified")?;
        }
        Action::Done { id } => {
            let mut patch = empty_patch();
            patch.status = Some(Status::Completed);
            session.modify(id, &patch, now, "completed")?;
        }
        Action::Annotate { id, text } => {
            let mut patch = empty_patch();
            patch.add_annotations = vec![text.join(" ")];
            session.modify(id, &patch, now, "annotated")?;
        }
        Action::Delete { id } => {
            let task = store.find(id)?;
            let mut patch = empty_patch();
            patch.status = Some(Status::Deleted);
            let (_, deleted) = store.update(&task.id, &patch, now)?;
            println!("deleted {} {:?}", short(&deleted.id), deleted.title);
            session.fire(Event::TaskDeleted(deleted));
        }
        Action::Undo => {
            let undone = store.undo()?;
            if undone.is_empty() {
                println!("nothing to undo");
            }
            for change in undone {
                let event = match (change.before, change.after) {
                    (Some(before), Some(after)) => {
                        println!(
                            "undone: {} {}",
                            short(&after.id),
                            describe::modification(&before, &after)
                        );
                        Event::TaskModified(TaskModification { before, after })
                    }
                    (Some(gone), None) => {
                        println!("undone: {} {:?} is gone", short(&gone.id), gone.title);
                        Event::TaskDeleted(gone)
                    }
                    (None, Some(back)) => {
                        println!("undone: {} {:?} is back", short(&back.id), back.title);
                        Event::TaskCreated(back)
                    }
                    (None, None) => continue,
                };
                session.fire(event);
            }
        }
        Action::Sync { server_dir } => {
            let summary = store
                .sync(server_dir)
                .with_context(|| format!("tasks sync --server-dir {}", server_dir.display()))?;
            println!(
                "synced with {}: pulled {}, pushed {}, conflicts {}",
                server_dir.display(),
                summary.pulled,
                summary.pushed,
                summary.conflicts
            );
            session.fire(Event::SyncCompleted(summary));
        }
    }
    Ok(session.finish())
}

fn fields_patch(fields: &Fields) -> anyhow::Result<TaskPatch> {
    let mut patch = empty_patch();
    patch.project = fields.project.as_ref().map(|p| (!p.is_empty()).then(|| p.clone()));
    patch.add_tags = fields.tags.clone();
    patch.priority = fields.priority;
    patch.due = match fields.due.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(text) => Some(Some(date::parse(text).map_err(anyhow::Error::msg)?)),
    };
    patch.description = fields.description.clone();
    Ok(patch)
}

/// The first block of a task id, enough to name it in `modify` and the others.
fn short(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

fn list(store: &TaskChampionStore, words: &[String]) -> anyhow::Result<ExitCode> {
    let mut filter = Filter::default();
    let mut status_named = false;
    let mut text = Vec::new();
    for word in words {
        if let Some(tag) = word.strip_prefix('+') {
            filter.tags.push(tag.to_string());
        } else if let Some(project) = word.strip_prefix("project:") {
            filter.project = Some(project.to_string());
        } else if let Some(status) = word.strip_prefix("status:") {
            filter.status = parse_status(status)?;
            status_named = true;
        } else {
            text.push(word.as_str());
        }
    }
    if !text.is_empty() {
        filter.text = Some(text.join(" "));
    }
    let tasks: Vec<Task> = store
        .all()?
        .into_iter()
        .filter(|t| plugboard_contract::task_store::filter_matches(t, &filter))
        .filter(|t| status_named || matches!(t.status, Status::Pending | Status::Waiting))
        .collect();
    println!("{} task(s)", tasks.len());
    if !tasks.is_empty() {
        print!("{}", id_table(&tasks));
    }
    Ok(ExitCode::SUCCESS)
}

/// The task table with each task's short id in front.
fn id_table(tasks: &[Task]) -> String {
    let table = describe::task_table(tasks);
    let mut lines = table.lines();
    let mut out = format!("  {:<8}{}\n", "id", lines.next().unwrap_or_default());
    for (task, line) in tasks.iter().zip(lines) {
        out.push_str(&format!("  {:<8}{line}\n", short(&task.id)));
    }
    out
}

/// A host on the plugins with the replica as its task store, and what is
/// needed to print its reports.
struct Session {
    host: Host,
    store: Arc<TaskChampionStore>,
    roster: Roster,
    strike_policy: plugboard_host::StrikePolicy,
    heard: Heard,
    output: Output,
    failures: usize,
}

impl Session {
    fn open(
        args: &TasksArgs,
        dirs: &PluginDirs,
        config_dir: &Path,
        data_dir: &Path,
        store: Arc<TaskChampionStore>,
    ) -> anyhow::Result<Session> {
        let config = crate::run::folders_config(
            args.plugins.as_deref(),
            dirs,
            config_dir,
            data_dir,
            args.trust_manifests,
        );
        let strike_policy = config.strike_policy.clone();
        let output = Output::default();
        let host = open_host(config, store.clone(), &output)?;
        let report = host.report();
        opened::print_problems(report);
        let failures = report.failures();
        let heard: Heard = Arc::default();
        let listener = heard.clone();
        host.on_quarantine(move |record| listener.lock().unwrap_or_else(|e| e.into_inner()).push(record.clone()));
        let mut roster = Roster::of(report.loaded());
        for (id, started) in host.start_all_blocking() {
            if let Err(outcome) = started {
                println!("  {id}: could not start: {outcome}");
                roster.set_state(&id, crate::run::roster::MemberState::CouldNotStart);
            }
        }
        for record in take_heard(&heard) {
            print_quarantined(&mut roster, &record);
        }
        Ok(Session {
            host,
            store,
            roster,
            strike_policy,
            heard,
            output,
            failures,
        })
    }

    /// Dispatches the event and prints what each plugin did.
    fn fire(&mut self, event: Event) {
        let _printing = hold(&self.output);
        println!("=> {}", plugboard_host::dispatcher::event_kind(&event));
        if self.roster.members.is_empty() {
            println!("  (no plugin is installed)");
        }
        let report = self.host.dispatch_blocking(&event);
        take_heard(&self.heard);
        let strikes = Strikes {
            host: &self.host,
            policy: &self.strike_policy,
        };
        print_report(&mut self.roster, &event, &report, &strikes);
    }

    /// Applies the user's patch to a task, fires `task-modified` and shows
    /// where the task ended up.
    fn modify(&mut self, reference: &str, patch: &TaskPatch, now: i64, verb: &str) -> anyhow::Result<()> {
        let task = self.store.find(reference)?;
        let (before, after) = self.store.update(&task.id, patch, now)?;
        println!(
            "{verb} {} {}",
            short(&after.id),
            describe::modification(&before, &after)
        );
        self.fire(Event::TaskModified(TaskModification {
            before,
            after: after.clone(),
        }));
        self.show_outcome(&after)
    }

    /// Says how the plugins changed the task, if they did.
    fn show_outcome(&self, task: &Task) -> anyhow::Result<()> {
        use plugboard_contract::TaskStore as _;
        if let Some(now) = self.store.get(&task.id)?
            && now != *task
        {
            println!(
                "task {} after the plugins: {}",
                short(&now.id),
                describe::modification(task, &now)
            );
        }
        Ok(())
    }

    /// Reports what could not be saved or loaded; the exit code says whether
    /// every plugin loaded.
    fn finish(self) -> ExitCode {
        for error in self.host.persist_errors() {
            eprintln!("warning: a quarantine could not be saved, so it lasts only for this run: {error}");
        }
        if self.failures > 0 {
            eprintln!("error: {} plugin(s) could not be loaded (see above)", self.failures);
            return ExitCode::FAILURE;
        }
        ExitCode::SUCCESS
    }
}
