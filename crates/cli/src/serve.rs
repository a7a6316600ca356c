//! `plugboard serve`: the installed plugins (or a folder of plugins) kept
//! loaded on the user's tasks (the TaskChampion replica `plugboard tasks`
//! works on) until Ctrl-C or SIGTERM, with their timers firing.
//!
//! Everything is the `plugboard` library's [`Host`], as an embedding
//! application gets it: its background thread fires each plugin's timers
//! ([`HostConfig::fire_timers`]), swaps in plugins whose folder changed
//! and unloads idle ones. This module only prints what happens and waits
//! for the signal to stop; stopping lets the timer firings still running
//! finish (each within its plugin's deadline), so every change a plugin
//! committed is in the replica when the command exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugboard::display::escaped;
use plugboard::{Host, OpenError, Reload, ReloadFailure, TimerFiring};
use plugboard_manifest::{Subscription, format_duration};
use plugboard_registry::PluginDirs;

use crate::describe;
use crate::run::opened;
use crate::run::roster::print_effects;
use crate::tasks::open_store;

/// The arguments of `plugboard serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Serve the plugins in this folder's subfolders instead of the
    /// installed ones (a development run: a fresh in-memory state store).
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Give every plugin everything its manifest requests, ignoring your
    /// grants: for developing your own plugins, never for someone else's.
    #[arg(long)]
    trust_manifests: bool,
    /// Unload a plugin's instance after it has been idle this long (its next
    /// event starts it again), e.g. `30s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    idle_unload: Duration,
    /// Serve each plugin's metrics in the Prometheus text format on this
    /// loopback address, e.g. 127.0.0.1:9464 (`plugboard stats` and the
    /// console's `stats` show them without it).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    plugboard_manifest::parse_duration(text).map_err(|e| e.to_string())
}

/// Keeps the output of one firing or reload together.
type Output = Arc<Mutex<()>>;

/// The signals that stop the server, blocked in every thread so that only
/// [`wait_for_stop`] receives them.
struct StopSignals(libc::sigset_t);

impl StopSignals {
    /// Blocks SIGINT and SIGTERM in the calling thread and in every thread
    /// it starts from now on. It must run before any thread is started:
    /// the host's threads inherit the mask, so none of them is killed by
    /// the signal and the main thread receives it.
    fn block() -> anyhow::Result<StopSignals> {
        // SAFETY: the set is initialised by sigemptyset before use, and the
        // calls only change this thread's signal mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let error = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if error != 0 {
                anyhow::bail!(
                    "cannot block SIGINT and SIGTERM: {}",
                    std::io::Error::from_raw_os_error(error)
                );
            }
            Ok(StopSignals(set))
        }
    }

    /// Waits for SIGINT or SIGTERM; returns its name.
    fn wait_for_stop(&self) -> &'static str {
        loop {
            let mut signal = 0;
            // SAFETY: the set was initialised in `block`; `signal` is a
            // valid place for the answer.
            if unsafe { libc::sigwait(&self.0, &mut signal) } == 0 {
                return if signal == libc::SIGTERM { "SIGTERM" } else { "SIGINT" };
            }
        }
    }
}

/// Runs the subcommand until SIGINT or SIGTERM.
pub fn serve(args: &ServeArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let signals = StopSignals::block()?;
    crate::control::Server::check_none_runs(data_dir)?;
    let store = open_store(data_dir)?;
    let mut config = crate::run::folders_config(
        args.plugins.as_deref(),
        dirs,
        config_dir,
        data_dir,
        args.trust_manifests,
    );
    config.watch = true;
    config.fire_timers = true;
    config.idle_timeout = Some(args.idle_unload);

    // Before the host opens, so that every plugin's metric handles land in
    // the recorder; without the `prometheus` feature there is none, unless
    // an endpoint was asked for, which is then an error.
    let metrics = match cfg!(feature = "prometheus") || args.metrics_addr.is_some() {
        true => Some(crate::stats::Metrics::install(args.metrics_addr)?),
        false => None,
    };
    // Every plugin log line goes to its log file and to the consoles.
    let tail = crate::control::Tail::default();
    let logs = crate::control::TeeLogs {
        inner: Arc::new(plugboard::PluginLogFiles::new(data_dir)),
        tail: tail.clone(),
    };

    let output = Output::default();
    let printer = output.clone();
    let reload_printer = output.clone();
    let fired = Arc::new(Mutex::new(0u64));
    let counter = fired.clone();
    let opened = Host::builder(config.clone())
        .task_store(store.clone())
        .plugin_logs(Arc::new(logs))
        .on_reload(move |reload| {
            let _printing = printer.lock().unwrap_or_else(|e| e.into_inner());
            print_reload(reload);
        })
        .on_timer(move |firing| {
            let _printing = reload_printer.lock().unwrap_or_else(|e| e.into_inner());
            *counter.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            print_firing(firing);
        })
        .open();
    let host = match opened {
        Ok(host) => host,
        Err(OpenError::SettingForUnknownPlugin { plugin, key, folders }) => {
            anyhow::bail!("setting {plugin}.{key}: no plugin `{plugin}` in {folders}")
        }
        Err(error) => return Err(error.into()),
    };
    let lifecycle = print_lifecycle(&host, output.clone())?;
    let control =
        crate::control::Server::start(data_dir, crate::control::Controller::new(host.clone(), metrics), tail)?;
    let failures = {
        let _printing = output.lock().unwrap_or_else(|e| e.into_inner());
        let report = host.report();
        opened::print_problems(report);
        opened::print_loaded(report, args.plugins.as_deref());
        print_timers(&host);
        println!(
            "\nserving {} plugin(s) on the tasks in {} (watching {}, idle instances unloaded after {}); stop with Ctrl-C",
            host.plugins().len(),
            data_dir.join(crate::tasks::REPLICA_FOLDER).display(),
            config.describe_folders(),
            format_duration(args.idle_unload)
        );
        println!(
            "control socket {} (mode 0600): `plugboard console` and `plugboard stats` attach to it",
            control.path().display()
        );
        if let Some(addr) = args.metrics_addr {
            println!("metrics (Prometheus text) on http://{addr}/metrics");
        }
        report.failures()
    };

    let signal = signals.wait_for_stop();
    {
        let _printing = output.lock().unwrap_or_else(|e| e.into_inner());
        println!("{signal}: stopping (timer firings still running finish first)");
    }
    // Stops the timers, the watcher and the sweeper, and waits for the
    // firings still running, each bounded by its plugin's deadline.
    // No console can ask anything more of it.
    drop(control);
    host.shutdown();
    for error in host.persist_errors() {
        eprintln!("warning: a quarantine could not be saved: {error}");
    }
    drop(host);
    // Its receiver ends with the last handle of the host, once it printed
    // every event; a console still connected may hold a handle a little
    // longer, so the wait is bounded.
    let waited = std::time::Instant::now();
    while !lifecycle.is_finished() && waited.elapsed() < LIFECYCLE_DRAIN {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if lifecycle.is_finished() {
        let _ = lifecycle.join();
    }
    // The replica's own thread ends once every change sent to it is written.
    drop(store);
    let fired = *fired.lock().unwrap_or_else(|e| e.into_inner());
    println!("stopped: {fired} timer firing(s); every change the plugins committed is in the replica");
    if failures > 0 {
        eprintln!("error: {failures} plugin(s) could not be loaded (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each lifecycle event (`event: auto-tag 0.1.0 loaded`) as it
/// comes, on a thread of its own, until the host is gone.
/// How long `serve` waits, when it stops, for the lifecycle events still
/// queued to be printed.
const LIFECYCLE_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

fn print_lifecycle(host: &Host, output: Output) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let events = host.subscribe();
    let thread = std::thread::Builder::new()
        .name("serve-lifecycle".to_string())
        .spawn(move || {
            while let Some(event) = events.recv() {
                let _printing = output.lock().unwrap_or_else(|e| e.into_inner());
                println!("event: {}", escaped(&event.to_string()));
            }
            if events.dropped() > 0 {
                println!(
                    "event: {} event(s) not shown (they came faster than they were printed)",
                    events.dropped()
                );
            }
        })?;
    Ok(thread)
}

/// The timers the host fires, plugin by plugin.
fn print_timers(host: &Host) {
    let mut lines = Vec::new();
    for plugin in host.plugins() {
        let events = &plugin.manifest.events;
        if events.timers.is_empty() {
            continue;
        }
        let names: Vec<String> = events
            .timers
            .iter()
            .map(|t| format!("{} every {}", t.name, format_duration(t.interval)))
            .collect();
        let note = if !events.subscribes(&Subscription::Timer) {
            " (not fired: it does not subscribe to timer)"
        } else if !plugin.policy.receives(&Subscription::Timer) {
            " (not fired: subscribe:timer not granted)"
        } else {
            ""
        };
        lines.push(format!("  {}: {}{note}", plugin.id(), names.join(", ")));
    }
    if !lines.is_empty() {
        println!("\nTimers:");
        for line in lines {
            println!("{line}");
        }
    }
}

/// One timer firing: which timer, then what each plugin it reached did.
fn print_firing(firing: &TimerFiring) {
    let skipped = match firing.skipped {
        0 => String::new(),
        n => format!(" ({n} skipped since its last firing)"),
    };
    println!("timer {}/{}{skipped} =>", firing.plugin, escaped(&firing.timer));
    for delivery in &firing.report.deliveries {
        let label = match delivery.depth {
            0 => delivery.plugin.to_string(),
            depth => format!("{} <- {} (emitted, depth {depth})", delivery.plugin, delivery.event),
        };
        println!("  {label}: {}", escaped(&describe::outcome(&delivery.outcome)));
        print_effects(&delivery.effects);
    }
    for record in &firing.report.quarantined {
        println!(
            "  QUARANTINED: {} ({}): {}",
            record.plugin,
            record.kind,
            escaped(&record.reason)
        );
    }
}

/// A hot reload, as it happens.
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
