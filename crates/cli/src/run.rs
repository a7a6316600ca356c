//! `plugboard run`: open a host on the installed plugins (or a folder of
//! plugins) and feed it a script of app actions, reporting what every
//! plugin did with every event.
//!
//! Everything about plugins (discovery, dependency order, disabled and
//! quarantined plugins, grants, the code cache, loading, hot reload) is the
//! `plugboard` library's [`Host`]; this module plays the application: it
//! keeps the tasks, turns script lines into events and prints reports.
//!
//! The installed plugins keep their state in the data folder's SQLite store,
//! as they would in the application. A folder given with `--plugins` is a
//! development run: its plugins get a fresh in-memory state store, so that a
//! plugin under development never writes into the state of an installed
//! plugin of the same id, and every run starts alike.

pub(crate) mod opened;
pub(crate) mod roster;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use plugboard::{Host, HostConfig, InMemoryTaskStore, OpenError, Outcome, QuarantineRecord, Reload, ReloadFailure};
use plugboard_contract::TaskStore;
use plugboard_host::dispatcher::event_kind;
use plugboard_registry::PluginDirs;

use crate::app::{App, Step};
use crate::describe;
use crate::script::{self, CommandCall, Script};
use plugboard::display;
use roster::{MemberState, Roster, Strikes, print_effects, print_quarantined, print_report};

/// The arguments of `plugboard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Load the plugins in this folder's subfolders (each holding a
    /// plugin.toml and its component) instead of the installed ones, with a
    /// fresh in-memory state store.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// A script of app actions, one JSON object per line; without it a built-in demo runs.
    #[arg(long, value_name = "FILE.jsonl")]
    events: Option<PathBuf>,
    /// Overrides a plugin's setting (repeatable), e.g. `--set auto-tag.keywords=urgent,home`.
    #[arg(long = "set", value_name = "ID.KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<Setting>,
    /// Give every plugin everything its manifest requests, ignoring your
    /// grants: for developing your own plugins, never for someone else's.
    #[arg(long)]
    trust_manifests: bool,
    /// Watch the plugin folders and, while the run goes on, swap in plugins
    /// whose files changed (the old build keeps running if the new one does
    /// not load) and unload deleted ones.
    #[arg(long)]
    watch: bool,
    /// Also speak the pre-release world task-events@3.0.0-dev, so that
    /// plugins built against it load: for trying the next ABI, which may
    /// still change; never for plugins you ship.
    #[arg(long)]
    unstable_world: bool,
    /// Print each plugin's metrics as a table at the end of the run (events
    /// handled, errors, traps by kind, denied calls, fuel, memory high-water
    /// mark, instances, time in the plugin).
    #[arg(long)]
    stats: bool,
    /// Serve the metrics in the Prometheus text format on this loopback
    /// address while the run goes on, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
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

/// The host opened on the installed folders (the user's and the builtin
/// ones), or on the development folder given with `--plugins`; as `run`,
/// `serve` and `tasks` all open it.
pub(crate) fn folders_config(
    plugins: Option<&Path>,
    dirs: &PluginDirs,
    config_dir: &Path,
    data_dir: &Path,
    trust_manifests: bool,
) -> HostConfig {
    let mut config = match plugins {
        Some(dir) => HostConfig {
            development: true,
            ..HostConfig::new(dir, config_dir, data_dir)
        },
        None => HostConfig {
            builtin_dir: dirs.builtin.clone(),
            ..HostConfig::new(&dirs.user, config_dir, data_dir)
        },
    };
    config.trust_manifests = trust_manifests;
    config
}

/// What the host is opened on: the installed folders, or the development
/// folder given with `--plugins`.
fn host_config(args: &RunArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> HostConfig {
    let mut config = folders_config(
        args.plugins.as_deref(),
        dirs,
        config_dir,
        data_dir,
        args.trust_manifests,
    );
    config.watch = args.watch;
    config.runtime.unstable_world = args.unstable_world;
    for setting in &args.settings {
        config
            .settings
            .entry(setting.plugin.clone())
            .or_default()
            .insert(setting.key.clone(), setting.value.clone());
    }
    config
}

/// The lock every printer takes, so that what the background thread
/// prints (reloads) never lands in the middle of an event's report.
pub(crate) type Output = Arc<Mutex<()>>;

pub(crate) fn hold(output: &Output) -> MutexGuard<'_, ()> {
    output.lock().unwrap_or_else(|e| e.into_inner())
}

/// Prints a hot reload, as it happens.
fn print_reload(reload: &Reload) {
    match reload {
        Reload::Failed {
            error: ReloadFailure::Manifest(error),
            ..
        } => println!("reload failed, the old build keeps running: {error}"),
        Reload::Failed { error, .. } => println!("reload failed: {error}"),
        done => println!("reload: {done}"),
    }
}

/// Quarantine records the host announces, for the calls whose report
/// does not carry them (starting plugins, running commands).
pub(crate) type Heard = Arc<Mutex<Vec<QuarantineRecord>>>;

pub(crate) fn take_heard(heard: &Heard) -> Vec<QuarantineRecord> {
    std::mem::take(&mut *heard.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Opens the host, showing a progress bar on a terminal while several
/// plugins compile.
pub(crate) fn open_host(config: HostConfig, tasks: Arc<dyn TaskStore>, output: &Output) -> anyhow::Result<Host> {
    let bar: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);
    let printer = output.clone();
    let opened = Host::builder(config)
        .task_store(tasks)
        .on_reload(move |reload| {
            let _printing = hold(&printer);
            print_reload(reload);
        })
        .on_progress(|done, total, id| {
            let mut bar = bar.lock().unwrap_or_else(|e| e.into_inner());
            let bar = bar.get_or_insert_with(|| compile_progress(total));
            bar.set_position(done as u64);
            bar.set_message(id.to_string());
        })
        .open();
    if let Some(bar) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bar.finish_and_clear();
    }
    match opened {
        Ok(host) => Ok(host),
        Err(OpenError::SettingForUnknownPlugin { plugin, key, folders }) => {
            anyhow::bail!("--set {plugin}.{key}: no plugin `{plugin}` in {folders}")
        }
        Err(error) => Err(error.into()),
    }
}

/// Runs the subcommand; fails when the script is bad, and exits non-zero at
/// the end when a plugin could not be loaded.
pub fn run(args: &RunArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let script = match &args.events {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Script::parse(&text, &path.display().to_string())?
        }
        None => Script::parse(script::DEMO, script::DEMO_ORIGIN)?,
    };
    let config = host_config(args, dirs, config_dir, data_dir);
    let strike_policy = config.strike_policy.clone();
    // Before the host opens: each plugin's metric handles are registered
    // with the recorder installed when it is loaded.
    let metrics = match args.stats || args.metrics_addr.is_some() {
        true => Some(crate::stats::Metrics::install(args.metrics_addr)?),
        false => None,
    };
    if let Some(addr) = args.metrics_addr {
        println!("Metrics (Prometheus text) on http://{addr}/metrics while the run goes on");
    }
    let tasks = Arc::new(InMemoryTaskStore::new());
    let output = Output::default();
    let host = open_host(config, tasks.clone(), &output)?;
    let printing = hold(&output);
    let report = host.report();
    opened::print_problems(report);
    let failures = report.failures();
    let heard: Heard = Arc::default();
    let listener = heard.clone();
    host.on_quarantine(move |record| listener.lock().unwrap_or_else(|e| e.into_inner()).push(record.clone()));

    opened::print_loaded(report, args.plugins.as_deref());
    let mut roster = Roster::of(report.loaded());
    if !roster.members.is_empty() {
        println!("\nStarting plugins:");
    }
    for (id, started) in host.start_all_blocking() {
        match started {
            Ok(effects) => {
                println!("  {id}: started");
                print_effects(&effects);
            }
            Err(outcome) => {
                let why = match outcome {
                    Outcome::Unavailable(why) => why,
                    other => other.to_string(),
                };
                println!("  {id}: could not start: {}", display::escaped(&why));
                roster.set_state(&id, MemberState::CouldNotStart);
            }
        }
    }
    let mut quarantined_now = Vec::new();
    for record in take_heard(&heard) {
        print_quarantined(&mut roster, &record);
        quarantined_now.push(record);
    }

    let mut app = App::new(tasks, host.services().clock.clone());
    println!("\nEvents from {}:", script.origin);
    drop(printing);
    for line in script.lines {
        let applied = app
            .apply(line.action)
            .with_context(|| format!("{}:{}", script.origin, line.line))?;
        let printing_step = hold(&output);
        // Hot reloads may have added, replaced or unloaded plugins meanwhile.
        roster.follow(&host.plugins());
        match applied.step {
            Step::Event(event) => {
                println!("#{} {}  => {}", line.line, applied.summary, event_kind(&event));
                let report = host.dispatch_blocking(&event);
                // The report carries this dispatch's quarantines.
                take_heard(&heard);
                let strikes = Strikes {
                    host: &host,
                    policy: &strike_policy,
                };
                print_report(&mut roster, &event, &report, &strikes);
                quarantined_now.extend(report.quarantined);
            }
            Step::Pause(duration) => {
                println!("#{} {}", line.line, applied.summary);
                // Hot reloads print while the run waits.
                drop(printing_step);
                std::thread::sleep(duration);
            }
            Step::Command(call) => {
                println!("#{} {}", line.line, applied.summary);
                run_command(&host, &roster, &call);
                for record in take_heard(&heard) {
                    print_quarantined(&mut roster, &record);
                    quarantined_now.push(record);
                }
            }
        }
    }

    let _printing = hold(&output);
    let tasks = app.tasks();
    println!("\nTasks at the end ({}):", tasks.len());
    print!("{}", describe::task_table(&tasks));

    if !quarantined_now.is_empty() {
        let ids: Vec<&str> = quarantined_now.iter().map(|r| r.plugin.as_str()).collect();
        println!(
            "\nQuarantined during this run: {}. They stay unloaded until you run `plugboard enable ID`.",
            ids.join(", ")
        );
    }
    if let Some(metrics) = metrics.as_ref().filter(|_| args.stats) {
        println!("\nMetrics:");
        print!("{}", crate::stats::table(&crate::stats::parse(&metrics.text())));
    }
    for error in host.persist_errors() {
        eprintln!("warning: a quarantine could not be saved, so it lasts only for this run: {error}");
    }
    if failures > 0 {
        eprintln!("error: {failures} plugin(s) could not be loaded (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a command and prints its answer and what it did, as the host
/// reported it.
fn run_command(host: &Host, roster: &Roster, call: &CommandCall) {
    let result = host.run_command_blocking(&call.plugin, &call.name, &call.args);
    let label = roster.label(&call.plugin);
    match result {
        Ok(output) => {
            println!("  {label}: {}", display::escaped(&output.text));
            print_effects(&output.effects);
        }
        Err(error) => println!("  {label}: failed: {}", display::escaped(&error.to_string())),
    }
}

/// A progress bar for compiling `count` plugins: on stderr when it is a
/// terminal and there is more than one, else hidden.
fn compile_progress(count: usize) -> indicatif::ProgressBar {
    if count < 2 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(count as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("compiling {pos}/{len} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
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
