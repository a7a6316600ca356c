//! `plugboard run`: load a folder of plugins and feed them a script of app
//! actions, reporting what every plugin did with every event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use plugboard_host::WorldVersion;
use plugboard_host::abi::v1::event_down;
use plugboard_host::dispatcher::event_kind;
use plugboard_host::types::Event;
use plugboard_host::{Delivery, DispatchReport, Dispatcher, HostServices, LoadOptions, LoadedPlugin, Runtime};
use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest};

use crate::app::{App, Step};
use crate::describe;
use crate::script::{self, CommandCall, Script};

/// The arguments of `plugboard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The folder whose subfolders are plugins (each holding a plugin.toml and its component).
    #[arg(long, value_name = "DIR")]
    plugins: PathBuf,
    /// A script of app actions, one JSON object per line; without it a built-in demo runs.
    #[arg(long, value_name = "FILE.jsonl")]
    events: Option<PathBuf>,
    /// Overrides a plugin's setting (repeatable), e.g. `--set auto-tag.keywords=urgent,home`.
    #[arg(long = "set", value_name = "ID.KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<Setting>,
}

/// One `--set ID.KEY=VALUE`.
#[derive(Debug, Clone)]
struct Setting {
    plugin: String,
    key: String,
    value: String,
}

fn parse_setting(text: &str) -> Result<Setting, String> {
    let form = "expected ID.KEY=VALUE, e.g. auto-tag.keywords=urgent,home";
    let (name, value) = text.split_once('=').ok_or_else(|| format!("no `=`; {form}"))?;
    let (plugin, key) = name
        .split_once('.')
        .ok_or_else(|| format!("no `.` before `=`; {form}"))?;
    if plugin.is_empty() || key.is_empty() {
        return Err(format!("empty plugin id or key; {form}"));
    }
    Ok(Setting {
        plugin: plugin.to_string(),
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// Runs the subcommand; fails when the script is bad, and exits non-zero at
/// the end when a plugin could not be loaded.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let script = match &args.events {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Script::parse(&text, &path.display().to_string())?
        }
        None => Script::parse(script::DEMO, script::DEMO_ORIGIN)?,
    };
    let runtime = Runtime::new()?;
    let (plugins, load_failures) = load_plugins(&runtime, &args.plugins, &args.settings)?;

    let (services, tasks) = HostServices::in_memory();
    let mut app = App::new(tasks, services.clock.clone());
    let mut dispatcher = Dispatcher::new(&runtime, services);
    println!("Plugins loaded from {}:", args.plugins.display());
    let id_width = plugins.iter().map(|p| p.id().len()).max().unwrap_or(0);
    for plugin in &plugins {
        println!(
            "  {:<id_width$}  {}  {} (built against {})  {}",
            plugin.id(),
            plugin.manifest.plugin.version,
            plugin.world.version,
            plugin.world.built_against,
            plugin.component_path.display()
        );
    }
    if plugins.is_empty() {
        println!("  (none)");
    }
    for plugin in plugins {
        dispatcher.add(plugin);
    }
    for (id, started) in dispatcher.start_all() {
        if let Err(why) = started {
            println!("  {id}: could not start: {why}");
        }
    }

    println!("\nEvents from {}:", script.origin);
    for line in script.lines {
        let applied = app
            .apply(line.action)
            .with_context(|| format!("{}:{}", script.origin, line.line))?;
        match applied.step {
            Step::Event(event) => {
                println!("#{} {}  => {}", line.line, applied.summary, event_kind(&event));
                let report = dispatcher.dispatch(&event);
                print_report(&dispatcher, &event, &report);
            }
            Step::Command(call) => {
                println!("#{} {}", line.line, applied.summary);
                run_command(&mut dispatcher, &app, &call);
            }
        }
    }

    let tasks = app.tasks();
    println!("\nTasks at the end ({}):", tasks.len());
    print!("{}", describe::task_table(&tasks));

    if load_failures > 0 {
        eprintln!("error: {load_failures} plugin(s) could not be loaded (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A plugin id with the world it speaks, `auto-tag [task-events@2]`, so a
/// reader sees which plugins get events through the v1 adapter.
fn label(dispatcher: &Dispatcher, id: &str) -> String {
    match dispatcher.plugins().find(|p| p.id() == id) {
        Some(plugin) => format!("{id} [{}]", plugin.world.version),
        None => id.to_string(),
    }
}

/// Prints one line per loaded plugin for the application's event, then the
/// deliveries of events plugins emitted.
fn print_report(dispatcher: &Dispatcher, event: &Event, report: &DispatchReport) {
    let kind = event_kind(event);
    for plugin in dispatcher.plugins() {
        let label = label(dispatcher, plugin.id());
        match report
            .deliveries
            .iter()
            .find(|d| d.depth == 0 && &*d.plugin == plugin.id())
        {
            Some(delivery) => print_delivery(&label, delivery),
            // The host only offers an event to subscribers; a v1 plugin could
            // not get this one even if it subscribed, which is worth saying.
            None if plugin.world.version == WorldVersion::V1 && event_down(event).is_none() => {
                println!("  {label}: not delivered ({kind} has no {} form)", plugin.world.version);
            }
            None => println!("  {label}: not subscribed to {kind}"),
        }
    }
    for delivery in report.deliveries.iter().filter(|d| d.depth > 0) {
        let label = format!(
            "{} <- {} (emitted, depth {})",
            label(dispatcher, &delivery.plugin),
            delivery.event,
            delivery.depth
        );
        print_delivery(&label, delivery);
    }
    for (emitter, topic) in &report.dropped_emits {
        println!(
            "  dropped custom:{topic} from {emitter}: the chain of emitted events is deeper than {}",
            plugboard_host::dispatcher::MAX_EMIT_DEPTH
        );
    }
}

fn print_delivery(label: &str, delivery: &Delivery) {
    println!("  {label}: {}", describe::outcome(&delivery.outcome));
    let effects = &delivery.effects;
    for log in &effects.logs {
        println!("    {}: {}", log.level, log.message);
    }
    for change in &effects.changes {
        println!("    {}", describe::plugin_change(change));
    }
    for permission in &effects.denied {
        println!("    denied: {permission} (not granted)");
    }
    for emitted in &effects.emitted {
        println!("    emitted custom:{} ({} bytes)", emitted.topic, emitted.payload.len());
    }
}

/// Runs a command and prints its answer and the task changes it made, found
/// by comparing the store before and after (the host does not report a
/// command's effects).
fn run_command(dispatcher: &mut Dispatcher, app: &App, call: &CommandCall) {
    let before = app.tasks();
    let result = dispatcher.run_command(&call.plugin, &call.name, &call.args);
    let label = label(dispatcher, &call.plugin);
    match result {
        Ok(answer) => println!("  {label}: {answer}"),
        Err(error) => println!("  {label}: failed: {error}"),
    }
    for change in describe::store_changes(&before, &app.tasks()) {
        println!("    {change}");
    }
}

/// Loads every plugin folder in `dir`, reporting each that fails on stderr;
/// returns the loaded plugins and how many failed.
fn load_plugins(runtime: &Runtime, dir: &Path, settings: &[Setting]) -> anyhow::Result<(Vec<LoadedPlugin>, usize)> {
    let folders = plugin_folders(dir)?;
    let mut failures = 0;
    let mut manifests = Vec::new();
    for folder in folders {
        match Manifest::from_dir(&folder) {
            Ok(manifest) => manifests.push((folder, manifest)),
            Err(error) => {
                eprintln!("error: skipping {}: {error}", folder.display());
                failures += 1;
            }
        }
    }
    let overrides = overrides_by_plugin(settings, &manifests, dir)?;

    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    for (folder, manifest) in manifests {
        let id = manifest.plugin.id.as_str().to_string();
        if let Some(first) = loaded.iter().find(|p| p.id() == id) {
            eprintln!(
                "error: skipping {}: plugin `{id}` is already loaded from {}; each plugin needs its own id",
                folder.display(),
                first.dir.display()
            );
            failures += 1;
            continue;
        }
        let options = LoadOptions {
            config_overrides: overrides.get(&id).cloned().unwrap_or_default(),
        };
        match runtime.load(manifest, &folder, &options) {
            Ok(plugin) => loaded.push(plugin),
            Err(error) => {
                eprintln!("error: skipping {}: {error}", folder.display());
                failures += 1;
            }
        }
    }
    Ok((loaded, failures))
}

/// The subfolders of `dir` that hold a plugin.toml, by name.
fn plugin_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read the plugins folder {}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list the plugins folder {}", dir.display()))?
            .path();
        if path.is_dir() && path.join(MANIFEST_FILE_NAME).is_file() {
            folders.push(path);
        }
    }
    folders.sort();
    if folders.is_empty() {
        bail!(
            "{} holds no plugin: expected subfolders each with a {MANIFEST_FILE_NAME} and its component",
            dir.display()
        );
    }
    Ok(folders)
}

/// Groups `--set` values by plugin, refusing ids that are not in `dir` and
/// warning about keys the plugin's manifest does not list.
fn overrides_by_plugin(
    settings: &[Setting],
    manifests: &[(PathBuf, Manifest)],
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut overrides: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for setting in settings {
        let Some((_, manifest)) = manifests.iter().find(|(_, m)| m.plugin.id.as_str() == setting.plugin) else {
            bail!(
                "--set {}.{}: no plugin `{}` in {}",
                setting.plugin,
                setting.key,
                setting.plugin,
                dir.display()
            );
        };
        if !manifest.config.contains_key(&setting.key) {
            let known = manifest.config.keys().cloned().collect::<Vec<_>>().join(", ");
            eprintln!(
                "warning: --set {}.{}: `{}` declares no such setting (it has: {}); passing it anyway",
                setting.plugin,
                setting.key,
                setting.plugin,
                if known.is_empty() { "none" } else { &known }
            );
        }
        overrides
            .entry(setting.plugin.clone())
            .or_default()
            .insert(setting.key.clone(), setting.value.clone());
    }
    Ok(overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_at_the_first_dot_and_equals() {
        let setting = parse_setting("auto-tag.keywords=a,b=c").unwrap();
        assert_eq!(
            (setting.plugin.as_str(), setting.key.as_str(), setting.value.as_str()),
            ("auto-tag", "keywords", "a,b=c")
        );
        assert!(parse_setting("auto-tag=1").unwrap_err().contains("no `.`"));
        assert!(parse_setting("auto-tag.keywords").unwrap_err().contains("no `=`"));
        assert!(parse_setting(".k=v").is_err());
    }
}
