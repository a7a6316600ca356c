//! `plugboard check PATH`: what an author runs before shipping a plugin
//! folder. One line per check, in order: the manifest, the component's
//! imports (every refused one listed, before anything is compiled), its
//! world version against the manifest's `api`, and a smoke event through
//! the plugin in an in-memory host (granted what it requests, on made-up
//! tasks). Exits non-zero when any check fails; a check that cannot run
//! because an earlier one failed says so.
//!
//! A manifest error is shown under the lines of `plugin.toml` it is about,
//! the offending key or value underlined.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use annotate_snippets::{Level, Renderer, Snippet};
use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::{Dispatcher, Grants, Health, HostServices, LoadOptions, Outcome, Policy};
use plugboard_manifest::{Manifest, ManifestError};

use crate::app::{App, Step};
use crate::inspect::code_cached_runtime;
use crate::script::Script;

/// The largest `--events` file read (a script is one short line an event).
const MAX_EVENTS_BYTES: u64 = 4 * 1024 * 1024;

/// `plugboard check`'s arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plugin folder (plugin.toml + component).
    path: PathBuf,
    /// Check this component file instead of the one plugin.toml names (a
    /// build whose output lands elsewhere, e.g. `cargo component build`'s
    /// target/wasm32-wasip1/release/NAME.wasm).
    #[arg(long, value_name = "FILE.wasm")]
    component: Option<PathBuf>,
    /// After the smoke event, run these app actions (the JSONL script format
    /// of `plugboard run --events`) through the plugin in a fresh in-memory host.
    #[arg(long, value_name = "FILE.jsonl")]
    events: Option<PathBuf>,
    /// Compare what the events did with this expectation file (TOML; see below).
    #[arg(long, value_name = "FILE.toml", requires = "events")]
    expect: Option<PathBuf>,
}

/// The expectation format, for `plugboard check --help`.
pub const EXPECT_HELP: &str = r#"With --events FILE.jsonl the plugin, granted what it requests, gets the app actions of the
file (the format of `plugboard run --events`); with --expect FILE.toml what they did is compared with:
  log = ["task created: Buy milk"]     # lines in the plugin's log, in this order, found by substring
  log-absent = ["Traceback"]           # text no log line may contain
  outcomes = "handled"                 # every delivery handled (default), or "any"
  denied = ["tasks.write"]             # permissions the host must have refused
  absent-tasks = ["Call the plumber"]  # titles of tasks that must not exist at the end
  [[task]]                             # a task that must exist at the end, by title
  title = "Buy milk"
  tags = ["shop"]                      # at least these; also status, priority, project
  [[emit]]                             # an event the plugin must have emitted
  topic = "reminder"
  payload = "Buy milk"
  [state]                              # what the plugin must have stored (UTF-8 text)
  count = "1""#;

/// How one check went.
enum Verdict {
    Ok(String),
    Failed(String),
    NotRun(&'static str),
}

fn line(name: &str, verdict: &Verdict) {
    let (mark, text) = match verdict {
        Verdict::Ok(text) => ("ok", text.as_str()),
        Verdict::Failed(text) => ("FAILED", text.as_str()),
        Verdict::NotRun(why) => ("-", *why),
    };
    println!("{mark:<7} {name:<9} {}", plugboard::display::escaped(text));
}

/// Checks the plugin folder at `args.path`.
pub fn check(args: &CheckArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let path = args.path.as_path();
    // Read before anything runs, so that a bad file fails at once.
    let script = args.events.as_deref().map(read_script).transpose()?;
    let expectation = args
        .expect
        .as_deref()
        .map(plugboard_test::Expectation::from_file)
        .transpose()?;
    let mut failed = false;
    let mut report = |name: &str, verdict: Verdict| {
        failed |= matches!(verdict, Verdict::Failed(_));
        line(name, &verdict);
    };
    let manifest_file = path.join(plugboard_manifest::MANIFEST_FILE_NAME);
    let manifest = match Manifest::from_dir(path) {
        Ok(manifest) => manifest,
        Err(error) => {
            report("manifest", Verdict::Failed(error.to_string()));
            let text = std::fs::read_to_string(&manifest_file).unwrap_or_default();
            if let Some(shown) = annotated(&error, &text) {
                println!("{shown}");
            }
            for name in ["imports", "world", "smoke"]
                .into_iter()
                .chain(script.as_ref().map(|_| "events"))
            {
                report(name, Verdict::NotRun("not run: the manifest does not parse"));
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(component) = args.component.clone().or_else(|| manifest.component_path(path)) else {
        report(
            "manifest",
            Verdict::Ok(format!(
                "{} {}, data only: no component to check",
                manifest.plugin.id, manifest.plugin.version
            )),
        );
        return Ok(ExitCode::SUCCESS);
    };
    report(
        "manifest",
        Verdict::Ok(format!(
            "{} {}, {}",
            manifest.plugin.id, manifest.plugin.version, manifest.plugin.api
        )),
    );

    let runtime = code_cached_runtime(data_dir)?;
    let policy = Policy::new(&manifest, &Grants::everything_requested());
    let info = match runtime.inspect(&component, &policy) {
        Ok(info) => info,
        Err(error) => {
            report("imports", Verdict::Failed(error.to_string()));
            report("world", Verdict::NotRun("not run: the component cannot be read"));
            report("smoke", Verdict::NotRun("not run: the component cannot be read"));
            return Ok(ExitCode::FAILURE);
        }
    };
    let refused = info.refused_imports();
    if refused.is_empty() {
        let folders = policy.files.folders();
        let files = if folders.is_empty() {
            String::new()
        } else {
            format!("; wasi:filesystem: {}", folders.join(", "))
        };
        report(
            "imports",
            Verdict::Ok(format!("{} linked, none refused{files}", info.imports.len())),
        );
    } else {
        report(
            "imports",
            Verdict::Failed(format!(
                "{} of {} refused (with what it asks, the plugin would not load)",
                refused.len(),
                info.imports.len()
            )),
        );
        for import in &refused {
            println!(
                "          {}: {}",
                plugboard::display::escaped(&import.import),
                plugboard::display::escaped(&import.reason)
            );
        }
    }
    let world_ok = match &info.world {
        None => {
            report(
                "world",
                Verdict::NotRun("not run: not compiled, as its imports are refused"),
            );
            false
        }
        Some(Err(error)) => {
            report("world", Verdict::Failed(error.to_string()));
            false
        }
        Some(Ok(world)) if world.built_against.major != manifest.plugin.api.major => {
            report(
                "world",
                Verdict::Failed(format!(
                    "plugin.toml says `api = \"{}\"` but the component is built for task-events@{}",
                    manifest.plugin.api, world.built_against
                )),
            );
            false
        }
        Some(Ok(world)) => {
            report(
                "world",
                Verdict::Ok(format!("{}, built against {}", world.version, world.built_against)),
            );
            true
        }
    };
    if !world_ok || !refused.is_empty() {
        report("smoke", Verdict::NotRun("not run: the plugin does not load"));
        if script.is_some() {
            report("events", Verdict::NotRun("not run: the plugin does not load"));
        }
        return Ok(ExitCode::FAILURE);
    }
    let (smoked, health) = smoke(&runtime, manifest, path, &component);
    report("smoke", smoked);
    report(
        "health",
        match health {
            Some(Health::Healthy(text)) => Verdict::Ok(text),
            Some(Health::Unhealthy(why)) => Verdict::Failed(why),
            Some(Health::NotReported) => {
                Verdict::NotRun("not reported: it exports no lifecycle (built before task-events 2.2)")
            }
            None => Verdict::NotRun("not run: the smoke check did not start it"),
        },
    );
    if let Some(script) = script {
        // As for the smoke check: a throw-away folder of its own.
        let files = tempfile::tempdir()?;
        let host = plugboard_test::TestHost::builder(path)
            .component(&component)
            .runtime(runtime.clone())
            .files_dir(files.path())
            .load();
        match host {
            Err(error) => report("events", Verdict::Failed(format!("the plugin does not start: {error}"))),
            Ok(host) => match play(&host, script) {
                Err(error) => report("events", Verdict::Failed(format!("{error:#}"))),
                Ok(sent) => {
                    let handled = sent.iter().filter(|s| s.outcome() == Some(&Outcome::Handled)).count();
                    let delivered = sent.iter().filter(|s| s.delivery().is_some()).count();
                    report(
                        "events",
                        Verdict::Ok(format!(
                            "{} actions, {delivered} delivered to the plugin, {handled} handled",
                            sent.len()
                        )),
                    );
                    if let Some(expectation) = &expectation {
                        let unmet = expectation.check(&host, &sent);
                        if unmet.is_empty() {
                            report("expect", Verdict::Ok("every expectation met".to_string()));
                        } else {
                            report("expect", Verdict::Failed(format!("{} not met", unmet.len())));
                            for one in &unmet {
                                println!("          {}", plugboard::display::escaped(one));
                            }
                            for line in host.log().iter().rev().take(20).rev() {
                                println!("          | {}", plugboard::display::escaped(line));
                            }
                        }
                    }
                }
            },
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Loads the plugin into an in-memory host, granted what it requests,
/// starts it and sends it the first task event it subscribes to; then asks
/// it how it is (`lifecycle.health`).
fn smoke(
    runtime: &plugboard_host::Runtime,
    manifest: Manifest,
    dir: &Path,
    component: &Path,
) -> (Verdict, Option<Health>) {
    let id = manifest.plugin.id.as_str().to_string();
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    let verdict = smoke_event(runtime, manifest, dir, component, &dispatcher, &tasks);
    let started = !matches!(verdict, Verdict::Failed(_));
    (verdict, started.then(|| dispatcher.health_blocking(&id)).flatten())
}

fn smoke_event(
    runtime: &plugboard_host::Runtime,
    manifest: Manifest,
    dir: &Path,
    component: &Path,
    dispatcher: &Dispatcher,
    tasks: &plugboard_host::InMemoryTaskStore,
) -> Verdict {
    use plugboard_manifest::Subscription;
    let kinds = [
        Subscription::TaskCreated,
        Subscription::TaskModified,
        Subscription::TaskDeleted,
    ];
    let kind = kinds.into_iter().find(|kind| manifest.events.subscribes(kind));
    // Read within the runtime's size bound, a `.wat` made binary, as
    // loading a folder reads it.
    let bytes = match runtime.read_component(manifest.plugin.id.as_str(), component) {
        Ok(bytes) => bytes,
        Err(error) => return Verdict::Failed(format!("it does not load: {error}")),
    };
    // A plugin granted its own folder gets a throw-away one: a check
    // writes nothing into the data folder.
    let files = match tempfile::tempdir() {
        Ok(files) => files,
        Err(error) => return Verdict::Failed(format!("no temporary folder for its files: {error}")),
    };
    let options = LoadOptions {
        files_dir: Some(files.path().to_path_buf()),
        ..LoadOptions::trusting_manifest()
    };
    let plugin = match runtime.load_bytes(manifest, dir, component, &bytes, &options) {
        Ok(plugin) => plugin,
        Err(error) => return Verdict::Failed(format!("it does not load: {error}")),
    };
    if let Err(error) = dispatcher.add(plugin) {
        return Verdict::Failed(format!("it cannot be added to a host: {error}"));
    }
    for (_, started) in dispatcher.start_all_blocking() {
        if let Err(outcome) = started {
            return Verdict::Failed(format!("init: {outcome}"));
        }
    }
    let Some(kind) = kind else {
        return Verdict::Ok("init ran; it subscribes to no task event, so none was sent".to_string());
    };
    let task = match tasks.create(new_task("plugboard check: a smoke task"), 1) {
        Ok(task) => task,
        Err(error) => return Verdict::Failed(format!("the in-memory store refused a task: {error}")),
    };
    let event = match kind {
        Subscription::TaskCreated => Event::TaskCreated(task),
        Subscription::TaskDeleted => Event::TaskDeleted(task),
        _ => Event::TaskModified(plugboard_contract::TaskModification {
            before: task.clone(),
            after: task,
        }),
    };
    let report = dispatcher.dispatch_blocking(&event);
    let Some(delivery) = report.deliveries.first() else {
        return Verdict::Failed(format!("the {kind} event was not delivered"));
    };
    let logs = delivery.effects.logs.len();
    match &delivery.outcome {
        Outcome::Handled => {
            // The first lines it logged, so that the author sees what the
            // plugin made of the event.
            let shown = delivery
                .effects
                .logs
                .iter()
                .take(3)
                .map(|l| format!("\n          {}", plugboard::display::escaped(&l.message)))
                .collect::<String>();
            Verdict::Ok(format!(
                "{kind} handled in {} ms, {logs} log line{}{shown}",
                delivery.elapsed.as_millis(),
                if logs == 1 { "" } else { "s" }
            ))
        }
        outcome => {
            let last = delivery
                .effects
                .logs
                .iter()
                .rev()
                .take(5)
                .rev()
                .map(|l| format!("\n          {}", plugboard::display::escaped(&l.message)))
                .collect::<String>();
            Verdict::Failed(format!("{kind}: {outcome}{last}"))
        }
    }
}

/// Reads and parses an `--events` script, at most [`MAX_EVENTS_BYTES`].
fn read_script(path: &Path) -> anyhow::Result<Script> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_EVENTS_BYTES + 1).read_to_string(&mut text))
        .with_context(|| format!("cannot read the events file {}", path.display()))?;
    if text.len() as u64 > MAX_EVENTS_BYTES {
        anyhow::bail!(
            "the events file {} is larger than {MAX_EVENTS_BYTES} bytes",
            path.display()
        );
    }
    Script::parse(&text, &path.display().to_string())
}

/// Applies the script's actions to the test host's tasks, as the app
/// would, and sends each event (or command) to the plugin.
fn play(host: &plugboard_test::TestHost, script: Script) -> anyhow::Result<Vec<plugboard_test::Sent>> {
    let mut app = App::new(host.task_store().clone(), Arc::new(|| plugboard_test::NOW));
    let mut sent = Vec::new();
    for line in script.lines {
        let at = || format!("{} line {}", script.origin, line.line);
        let applied = app.apply(line.action).with_context(at)?;
        match applied.step {
            Step::Event(event) => sent.push(host.send(*event)),
            Step::Command(call) => {
                anyhow::ensure!(
                    call.plugin == host.id(),
                    "{}: the command is for plugin `{}`, this is `{}`",
                    at(),
                    call.plugin,
                    host.id()
                );
                let args: Vec<&str> = call.args.iter().map(String::as_str).collect();
                host.command(&call.name, &args)
                    .map_err(|e| anyhow::anyhow!("{}: command {}: {e}", at(), call.name))?;
            }
            Step::Pause(_) => {}
        }
    }
    Ok(sent)
}

/// The manifest error rendered under the lines of `text` it is about, the
/// offending text underlined; `None` when it points at no place.
fn annotated(error: &ManifestError, text: &str) -> Option<String> {
    let at = error.location();
    let line_column = at.line_column?;
    let span = token_span(text, line_column.line, line_column.column)?;
    let file = at.file.display().to_string();
    let title = error.to_string();
    let label = match error {
        ManifestError::UnknownField { field, .. } => format!("unknown field `{field}`"),
        ManifestError::MissingField { field, .. } => format!("this table has no `{field}`"),
        ManifestError::Invalid { .. } => "this value".to_string(),
        _ => "here".to_string(),
    };
    let span = if span.is_empty() {
        span.start..(span.start + 1).min(text.len())
    } else {
        span
    };
    let message = Level::Error.title(&title).snippet(
        Snippet::source(text)
            .line_start(1)
            .origin(&file)
            .fold(true)
            .annotation(Level::Error.span(span).label(&label)),
    );
    Some(Renderer::plain().render(message).to_string())
}

/// The byte range of the TOML token starting at `line`:`column` (1-based,
/// the column in characters): a quoted string through its closing quote, a
/// `[table]` header through its `]`, anything else up to the next space,
/// comma, bracket, `=` or comment. At least one character.
fn token_span(text: &str, line: usize, column: usize) -> Option<std::ops::Range<usize>> {
    let line_start = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum::<usize>();
    let line_text = text[line_start..].lines().next()?;
    let offset = line_text.char_indices().nth(column.checked_sub(1)?).map(|(i, _)| i)?;
    let rest = &line_text[offset..];
    let length = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].find(quote).map_or(rest.len(), |end| end + 2),
        '[' => rest.find(']').map_or(rest.len(), |end| end + 1),
        _ => rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '=' | '#'))
            .unwrap_or(rest.len())
            .max(rest.chars().next().map_or(1, char::len_utf8)),
    };
    let start = line_start + offset;
    Some(start..start + length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_a_key_a_string_or_a_header() {
        let text = "[plugin]\nid = \"x\"\nsubscribes = [\"a\", \"b\"]\nversion = \"zero\" # no\n";
        let at = |line, column| token_span(text, line, column).map(|span| &text[span]);
        assert_eq!(at(1, 1), Some("[plugin]"));
        assert_eq!(at(3, 1), Some("subscribes"));
        assert_eq!(at(3, 15), Some("\"a\""));
        assert_eq!(at(4, 11), Some("\"zero\""));
        assert_eq!(at(9, 1), None);
        assert_eq!(at(2, 99), None);
    }
}
