//! `plugboard run`: load the installed plugins (or a folder of plugins) and
//! feed them a script of app actions, reporting what every plugin did with
//! every event.
//!
//! The installed plugins keep their state in the data folder's SQLite store,
//! as they would in the application. A folder given with `--plugins` is a
//! development run: its plugins get a fresh in-memory state store, so that a
//! plugin under development never writes into the state of an installed
//! plugin of the same id, and every run starts alike.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use plugboard_contract::Event;
use plugboard_host::dispatcher::event_kind;
use plugboard_host::limits::MAX_EMIT_DEPTH;
use plugboard_host::{
    AbuseKind, AddError, CallEffects, Delivery, DispatchReport, Dispatcher, GrantsFile, HostServices, LoadOptions,
    LoadedPlugin, Outcome, Policy, Quarantine, QuarantineRecord, Runtime, StrikePolicy, WorldVersion,
};
use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest, Subscription};
use plugboard_registry::{Discovered, DiscoveryError, PluginDirs, discover, resolve};
use plugboard_state::SqliteStateStore;

use crate::app::{App, Step};
use crate::disabled::DisabledPlugins;
use crate::remove::STATE_FILE;
use crate::script::{self, CommandCall, Script};
use crate::{describe, grant, plugin_dirs};

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
    /// Watch the plugin folders and, between events, swap in plugins whose
    /// files changed (the old build keeps running if the new one does not
    /// load) and unload deleted ones.
    #[arg(long)]
    watch: bool,
}

/// What a plugin is loaded with: the user's grants (everything its manifest
/// requests with `--trust-manifests`) and its `--set` settings.
fn load_options(
    id: &str,
    grants: Option<&GrantsFile>,
    overrides: &BTreeMap<String, BTreeMap<String, String>>,
) -> LoadOptions {
    let config_overrides = overrides.get(id).cloned().unwrap_or_default();
    match grants {
        Some(file) => LoadOptions {
            config_overrides,
            grants: file.grants_for(id),
        },
        None => LoadOptions {
            config_overrides,
            ..LoadOptions::trusting_manifest()
        },
    }
}

/// How long a plugin folder must stay quiet before a change is reloaded.
const WATCH_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(300);

/// Applies what the watcher saw since the last event: changed or new
/// plugin folders are loaded and swapped in, deleted ones unloaded.
fn apply_reloads(
    watcher: &plugboard_registry::Watcher,
    runtime: &Runtime,
    dispatcher: &Dispatcher,
    grants: Option<&GrantsFile>,
    overrides: &BTreeMap<String, BTreeMap<String, String>>,
) {
    while let Some(event) = watcher.try_recv() {
        match event {
            plugboard_registry::ReloadEvent::Removed(dir) => match dispatcher.unload_dir(&dir) {
                Some(id) => println!("reload: {id} unloaded ({} was deleted)", dir.display()),
                None => println!("reload: {} was deleted (no plugin was running from it)", dir.display()),
            },
            plugboard_registry::ReloadEvent::Added(dir) | plugboard_registry::ReloadEvent::Changed(dir) => {
                let id = match Manifest::from_dir(&dir) {
                    Ok(manifest) => manifest.plugin.id.as_str().to_string(),
                    Err(error) => {
                        println!("reload failed, the old build keeps running: {error}");
                        continue;
                    }
                };
                let options = load_options(&id, grants, overrides);
                match dispatcher.reload_dir(runtime, &dir, &options) {
                    Ok(plugboard_host::ReloadOutcome::Replaced { id, from, to }) => {
                        println!("reload: {id} {from} -> {to} swapped in")
                    }
                    Ok(plugboard_host::ReloadOutcome::Added { id, version }) => {
                        println!("reload: {id} {version} added")
                    }
                    Err(error) => println!("reload failed: {error}"),
                }
            }
        }
    }
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

/// A plugin of this run, as the CLI reports on it: what it is and what has
/// become of it.
struct Member {
    id: String,
    world: WorldVersion,
    manifest: Arc<Manifest>,
    policy: Arc<Policy>,
    state: MemberState,
}

/// What has become of a plugin during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberState {
    /// It gets the events it subscribed to and was granted.
    Running,
    /// Its start failed (init refused or trapped).
    CouldNotStart,
    /// The host quarantined it during this run.
    Quarantined,
}

/// The plugins of the run, in the order they receive events.
struct Roster {
    members: Vec<Member>,
}

impl Roster {
    /// A plugin id with the world it speaks, `auto-tag [task-events@2]`, so a
    /// reader sees which plugins get events through the v1 adapter.
    fn label(&self, id: &str) -> String {
        match self.members.iter().find(|m| m.id == id) {
            Some(member) => format!("{id} [{}]", member.world),
            None => id.to_string(),
        }
    }

    fn set_state(&mut self, id: &str, state: MemberState) {
        if let Some(member) = self.members.iter_mut().find(|m| m.id == id) {
            member.state = state;
        }
    }
}

/// Where the plugins of a run come from.
enum Source<'a> {
    /// A folder of plugin folders (`--plugins DIR`).
    Folder(&'a Path),
    /// The installed plugins.
    Installed(&'a PluginDirs),
}

impl Source<'_> {
    /// Where, for messages.
    fn describe(&self) -> String {
        match self {
            Source::Folder(dir) => dir.display().to_string(),
            Source::Installed(dirs) => plugin_dirs::describe(dirs),
        }
    }

    /// The plugins with a component, in an order where each comes after the
    /// plugins it depends on, with their folders; reports on stderr every
    /// folder skipped and every plugin whose dependencies cannot be met.
    fn plugins(&self) -> anyhow::Result<Found> {
        let dirs = match self {
            Source::Folder(dir) => {
                if !dir.is_dir() {
                    bail!("cannot read the plugins folder {}: it is not a folder", dir.display());
                }
                PluginDirs {
                    builtin: None,
                    user: dir.to_path_buf(),
                }
            }
            Source::Installed(dirs) => (*dirs).clone(),
        };
        let discovery = discover(&dirs);
        let mut found = Found::default();
        for problem in &discovery.problems {
            match &problem.error {
                error if plugin_dirs::is_note(error) => eprintln!("note: {error}"),
                error @ DiscoveryError::NotAPlugin { .. } => eprintln!("warning: {error}"),
                error => {
                    eprintln!("error: {error}");
                    found.failures += 1;
                }
            }
        }
        if let Source::Folder(dir) = self
            && discovery.plugins.is_empty()
            && found.failures == 0
        {
            bail!(
                "{} holds no plugin: expected subfolders each with a {MANIFEST_FILE_NAME} and its component",
                dir.display()
            );
        }
        let order = resolve(&discovery.plugins);
        for blocked in &order.blocked {
            eprintln!("error: not loading {}: {}", blocked.plugin.id(), blocked.error);
            found.failures += 1;
        }
        for loadable in order.load {
            for skipped in &loadable.skipped {
                eprintln!(
                    "note: {} runs without an optional dependency: {skipped}",
                    loadable.plugin.id()
                );
            }
            let plugin = loadable.plugin;
            if plugin.has_code() {
                found.with_code.push((plugin.dir, plugin.manifest));
            } else {
                found.data_only.push(plugin);
            }
        }
        Ok(found)
    }
}

/// The plugins a source holds.
#[derive(Default)]
struct Found {
    /// The plugins with a component, in load order, with their folders.
    with_code: Vec<(PathBuf, Manifest)>,
    /// The plugins without one: data for the plugins that depend on them.
    data_only: Vec<Discovered>,
    /// How many folders or plugins were left out (each reported on stderr).
    failures: usize,
}

/// What loading the plugins gave.
struct Loaded {
    plugins: Vec<LoadedPlugin>,
    /// Plugins without a component, which are not loaded.
    data_only: Vec<Discovered>,
    /// Plugins not loaded because the user disabled them.
    disabled: Vec<String>,
    /// Plugins not loaded because they are quarantined.
    quarantined: Vec<QuarantineRecord>,
    /// How many could not be loaded (each reported on stderr).
    failures: usize,
}

/// Quarantine records the dispatcher announces, for the calls whose report
/// does not carry them (starting plugins, running commands).
type Heard = Arc<Mutex<Vec<QuarantineRecord>>>;

fn take_heard(heard: &Heard) -> Vec<QuarantineRecord> {
    std::mem::take(&mut *heard.lock().unwrap_or_else(|e| e.into_inner()))
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
    let grants = if args.trust_manifests {
        None
    } else {
        Some(GrantsFile::open(config_dir)?)
    };
    let quarantine = Quarantine::open(data_dir)?;
    let disabled = DisabledPlugins::open(data_dir)?;
    let source = match &args.plugins {
        Some(dir) => Source::Folder(dir),
        None => Source::Installed(dirs),
    };
    // Compiled code is cached in the host's data folder (never read from a
    // plugin folder), so a second run starts without compiling.
    let runtime = Runtime::with_options(plugboard_host::RuntimeOptions {
        code_cache: Some(data_dir.join("code-cache")),
        ..plugboard_host::RuntimeOptions::default()
    })?;
    let loaded = load_plugins(&runtime, args, &source, grants.as_ref(), &quarantine, &disabled)?;
    let mut failures = loaded.failures;

    let (mut services, tasks) = HostServices::in_memory();
    if let Source::Installed(_) = source {
        let path = data_dir.join(STATE_FILE);
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        services.state = Arc::new(SqliteStateStore::open(&path)?);
    }
    let mut app = App::new(tasks, services.clock.clone());
    let strike_policy = StrikePolicy::default();
    let dispatcher = Dispatcher::new(&runtime, services)
        .with_quarantine(quarantine)
        .with_logs(plugboard_host::PluginLogs::new(data_dir))
        .with_strike_policy(strike_policy.clone());
    let heard: Heard = Arc::default();
    let listener = heard.clone();
    dispatcher.on_quarantine(move |record| listener.lock().unwrap_or_else(|e| e.into_inner()).push(record.clone()));

    print_loaded(&loaded, grants.as_ref(), &source);
    for id in &loaded.disabled {
        println!("  skipping {id}: disabled (`plugboard enable {id}` lets it load again)");
    }
    for record in &loaded.quarantined {
        print_skipped(record);
    }
    let mut roster = Roster { members: Vec::new() };
    for plugin in loaded.plugins {
        // Data-only plugins are listed before loading and never get here;
        // one that does has nothing to run.
        let Some(world) = plugin.world().map(|w| w.version) else {
            continue;
        };
        let member = Member {
            id: plugin.id().to_string(),
            world,
            manifest: plugin.manifest.clone(),
            policy: plugin.policy.clone(),
            state: MemberState::Running,
        };
        match dispatcher.add(plugin) {
            Ok(()) => roster.members.push(member),
            Err(AddError::Quarantined(record)) => print_skipped(&record),
            Err(error @ AddError::Duplicate(_)) => {
                eprintln!("error: skipping {}: {error}", member.id);
                failures += 1;
            }
        }
    }

    if !roster.members.is_empty() {
        println!("\nStarting plugins:");
    }
    for (id, started) in dispatcher.start_all_blocking() {
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
                println!("  {id}: could not start: {why}");
                roster.set_state(&id, MemberState::CouldNotStart);
            }
        }
    }
    let mut quarantined_now = Vec::new();
    for record in take_heard(&heard) {
        print_quarantined(&mut roster, &record);
        quarantined_now.push(record);
    }

    let mut overrides: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for setting in &args.settings {
        overrides
            .entry(setting.plugin.clone())
            .or_default()
            .insert(setting.key.clone(), setting.value.clone());
    }
    let watcher = if args.watch {
        let dirs = match &source {
            Source::Folder(dir) => PluginDirs {
                builtin: None,
                user: dir.to_path_buf(),
            },
            Source::Installed(dirs) => (*dirs).clone(),
        };
        Some(plugboard_registry::Watcher::new(&dirs, WATCH_DEBOUNCE).context("watching the plugin folders")?)
    } else {
        None
    };

    println!("\nEvents from {}:", script.origin);
    for line in script.lines {
        if let Some(watcher) = &watcher {
            apply_reloads(watcher, &runtime, &dispatcher, grants.as_ref(), &overrides);
        }
        let applied = app
            .apply(line.action)
            .with_context(|| format!("{}:{}", script.origin, line.line))?;
        match applied.step {
            Step::Event(event) => {
                println!("#{} {}  => {}", line.line, applied.summary, event_kind(&event));
                let report = dispatcher.dispatch_blocking(&event);
                // The report carries this dispatch's quarantines.
                take_heard(&heard);
                let strikes = Strikes {
                    dispatcher: &dispatcher,
                    policy: &strike_policy,
                };
                print_report(&mut roster, &event, &report, &strikes);
                quarantined_now.extend(report.quarantined);
            }
            Step::Pause(duration) => {
                println!("#{} {}", line.line, applied.summary);
                std::thread::sleep(duration);
                if let Some(watcher) = &watcher {
                    apply_reloads(watcher, &runtime, &dispatcher, grants.as_ref(), &overrides);
                }
            }
            Step::Command(call) => {
                println!("#{} {}", line.line, applied.summary);
                run_command(&dispatcher, &roster, &call);
                for record in take_heard(&heard) {
                    print_quarantined(&mut roster, &record);
                    quarantined_now.push(record);
                }
            }
        }
    }

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
    for error in dispatcher.persist_errors() {
        eprintln!("warning: a quarantine could not be saved, so it lasts only for this run: {error}");
    }
    if failures > 0 {
        eprintln!("error: {failures} plugin(s) could not be loaded (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The plugins loaded, each with the policy in force and what it requested
/// but was not granted.
fn print_loaded(loaded: &Loaded, grants: Option<&GrantsFile>, source: &Source<'_>) {
    println!("Plugins loaded from {}:", source.describe());
    match grants {
        Some(file) => println!("  (permissions: what you granted in {})", file.path().display()),
        None => println!(
            "  (--trust-manifests: every plugin gets all its manifest requests; your grants are not consulted)"
        ),
    }
    let id_width = loaded.plugins.iter().map(|p| p.id().len()).max().unwrap_or(0);
    for plugin in &loaded.plugins {
        match (plugin.world(), plugin.component_path()) {
            (Some(world), Some(path)) => println!(
                "  {:<id_width$}  {}  {} (built against {})  {}",
                plugin.id(),
                plugin.manifest.plugin.version,
                world.version,
                world.built_against,
                path.display()
            ),
            _ => println!(
                "  {:<id_width$}  {}  data only",
                plugin.id(),
                plugin.manifest.plugin.version
            ),
        }
        let policy = plugin.policy.describe();
        if policy.is_empty() {
            println!("      nothing granted: it will receive no events");
        } else if plugin.policy.subscriptions.is_empty() {
            println!(
                "      policy: {} (no event granted: it will receive none)",
                policy.join(", ")
            );
        } else {
            println!("      policy: {}", policy.join(", "));
        }
        let missing = grant::not_granted(&plugin.manifest, &plugin.policy);
        if !missing.is_empty() {
            println!("      requested, not granted: {}", missing.join(", "));
        }
    }
    for plugin in &loaded.data_only {
        println!(
            "  {:<id_width$}  {}  data only (no component), for the plugins that depend on it",
            plugin.id(),
            plugin.version()
        );
    }
    if loaded.plugins.is_empty() && loaded.data_only.is_empty() {
        println!("  (none)");
    }
    if grants.is_some()
        && loaded
            .plugins
            .iter()
            .any(|p| !grant::not_granted(&p.manifest, &p.policy).is_empty())
    {
        let all_requested = match source {
            Source::Folder(dir) => format!("plugboard grant ID --all-requested --plugins {}", dir.display()),
            Source::Installed(_) => "plugboard grant ID --all-requested".to_string(),
        };
        println!("  (grant with `plugboard grant ID PERMISSION...`, or `{all_requested}`)");
    }
}

fn print_skipped(record: &QuarantineRecord) {
    println!(
        "  skipping {}: quarantined {} (`plugboard enable {}` lets it load again)",
        record.plugin,
        describe::quarantined_since(record),
        record.plugin
    );
}

fn print_quarantined(roster: &mut Roster, record: &QuarantineRecord) {
    println!("  QUARANTINED: {} ({}): {}", record.plugin, record.kind, record.reason);
    roster.set_state(&record.plugin, MemberState::Quarantined);
}

/// Prints one line per plugin of the run for the application's event, then
/// the deliveries of events plugins emitted, then the quarantines.
fn print_report(roster: &mut Roster, event: &Event, report: &DispatchReport, strikes: &Strikes<'_>) {
    for member in &roster.members {
        let label = roster.label(&member.id);
        match report
            .deliveries
            .iter()
            .find(|d| d.depth == 0 && *d.plugin == *member.id)
        {
            Some(delivery) => {
                print_delivery(&label, delivery);
                strikes.print(delivery);
            }
            None => println!("  {label}: not offered ({})", why_not_offered(member, event)),
        }
    }
    for delivery in report.deliveries.iter().filter(|d| d.depth > 0) {
        let label = format!(
            "{} <- {} (emitted, depth {})",
            roster.label(&delivery.plugin),
            delivery.event,
            delivery.depth
        );
        print_delivery(&label, delivery);
        strikes.print(delivery);
    }
    for (emitter, topic) in &report.dropped_emits {
        println!(
            "  dropped custom:{topic} from {emitter}: the chain of emitted events is deeper than {MAX_EMIT_DEPTH}"
        );
    }
    for record in &report.quarantined {
        print_quarantined(roster, record);
    }
}

/// Why the host did not offer `event` to a plugin, from what the CLI knows
/// of it: the host reports only the plugins it offered the event to.
fn why_not_offered(member: &Member, event: &Event) -> String {
    match member.state {
        MemberState::Quarantined => return "quarantined".to_string(),
        MemberState::Running | MemberState::CouldNotStart => {}
    }
    let events = &member.manifest.events;
    let policy = &member.policy;
    let (subscribed, granted, name) = match event {
        Event::Custom(custom) => (
            events.subscribes_to_custom(&custom.topic),
            policy.receives_custom(&custom.topic),
            format!("custom:{}", custom.topic),
        ),
        _ => {
            let subscription = subscription(event);
            (
                events.subscribes(&subscription),
                policy.receives(&subscription),
                subscription.to_string(),
            )
        }
    };
    if !subscribed {
        return format!("not subscribed to {name}");
    }
    if !granted {
        return format!("subscribe:{name} not granted");
    }
    if let Event::Timer(timer) = event
        && !events.timers.iter().any(|t| &t.name == timer)
    {
        return format!("it has no timer {timer:?}");
    }
    match member.state {
        MemberState::CouldNotStart => "it could not start, see above".to_string(),
        _ => "the host did not say why".to_string(),
    }
}

/// What a manifest subscribes to for receiving `event`.
fn subscription(event: &Event) -> Subscription {
    match event {
        Event::TaskCreated(_) => Subscription::TaskCreated,
        Event::TaskModified(_) => Subscription::TaskModified,
        Event::TaskDeleted(_) => Subscription::TaskDeleted,
        Event::SyncCompleted(_) => Subscription::SyncCompleted,
        Event::Timer(_) => Subscription::Timer,
        Event::Custom(custom) => Subscription::Custom(custom.topic.clone()),
    }
}

/// Where to read the strikes a plugin has collected, and what they lead to.
struct Strikes<'a> {
    dispatcher: &'a Dispatcher,
    policy: &'a StrikePolicy,
}

impl Strikes<'_> {
    /// After a delivery that cost the plugin a strike: how many of that kind
    /// it has now, and how many put it in quarantine. Nothing for a plugin
    /// the host has already quarantined (its `QUARANTINED` line follows).
    fn print(&self, delivery: &Delivery) {
        let Some(strikes) = self.dispatcher.strikes(&delivery.plugin) else {
            return;
        };
        let mut kinds = Vec::new();
        if !delivery.effects.denied.is_empty() {
            kinds.push(AbuseKind::Denied);
        }
        if let Outcome::Trapped(abuse) = &delivery.outcome
            && !kinds.contains(&abuse.kind)
        {
            kinds.push(abuse.kind);
        }
        for kind in kinds {
            match self.policy.threshold(kind) {
                0 => println!(
                    "    strikes for {kind}: {} (never quarantined for it)",
                    strikes.count(kind)
                ),
                threshold => println!(
                    "    strikes for {kind}: {} of {threshold} before quarantine",
                    strikes.count(kind)
                ),
            }
        }
    }
}

fn print_delivery(label: &str, delivery: &Delivery) {
    println!("  {label}: {}", describe::outcome(&delivery.outcome));
    print_effects(&delivery.effects);
}

fn print_effects(effects: &CallEffects) {
    for line in describe::effects(effects) {
        println!("    {line}");
    }
}

/// Runs a command and prints its answer and what it did, as the host
/// reported it.
fn run_command(dispatcher: &Dispatcher, roster: &Roster, call: &CommandCall) {
    let result = dispatcher.run_command_blocking(&call.plugin, &call.name, &call.args);
    let label = roster.label(&call.plugin);
    match result {
        Ok(output) => {
            println!("  {label}: {}", output.text);
            print_effects(&output.effects);
        }
        Err(error) => println!("  {label}: failed: {error}"),
    }
}

/// Loads every plugin of the source, with the user's grants (or, with
/// `--trust-manifests`, everything each manifest requests), leaving out
/// disabled and quarantined plugins uncompiled; reports each that fails on
/// stderr. On a terminal, compiling several plugins shows a progress bar.
fn load_plugins(
    runtime: &Runtime,
    args: &RunArgs,
    source: &Source<'_>,
    grants: Option<&GrantsFile>,
    quarantine: &Quarantine,
    disabled: &DisabledPlugins,
) -> anyhow::Result<Loaded> {
    let Found {
        with_code: manifests,
        data_only,
        mut failures,
    } = source.plugins()?;
    let overrides = overrides_by_plugin(&args.settings, &manifests, source)?;

    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    let mut skipped_disabled = Vec::new();
    let mut quarantined = Vec::new();
    let progress = compile_progress(manifests.len());
    for (done, (folder, manifest)) in manifests.into_iter().enumerate() {
        progress.set_position(done as u64);
        let id = manifest.plugin.id.as_str().to_string();
        if disabled.contains(&id) {
            skipped_disabled.push(id);
            continue;
        }
        if let Some(record) = quarantine.get(&id) {
            quarantined.push(record.clone());
            continue;
        }
        progress.set_message(id.clone());
        let options = load_options(&id, grants, &overrides);
        match runtime.load(manifest, &folder, &options) {
            Ok(plugin) => loaded.push(plugin),
            Err(error) => {
                progress.suspend(|| eprintln!("error: skipping {}: {error}", folder.display()));
                failures += 1;
            }
        }
    }
    progress.finish_and_clear();
    Ok(Loaded {
        plugins: loaded,
        data_only,
        disabled: skipped_disabled,
        quarantined,
        failures,
    })
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

/// Groups `--set` values by plugin, refusing ids that are not in the source
/// and warning about keys the plugin's manifest does not list.
fn overrides_by_plugin(
    settings: &[Setting],
    manifests: &[(PathBuf, Manifest)],
    source: &Source<'_>,
) -> anyhow::Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut overrides: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for setting in settings {
        let Some((_, manifest)) = manifests.iter().find(|(_, m)| m.plugin.id.as_str() == setting.plugin) else {
            bail!(
                "--set {}.{}: no plugin `{}` in {}",
                setting.plugin,
                setting.key,
                setting.plugin,
                source.describe()
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
