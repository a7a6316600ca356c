//! An app that offers plugins its own interface: it opens a plugboard host
//! on the plugin folder it is given with `myapp:ui/notify@1.0.0` linked
//! beside plugboard's worlds, grants `notify-plugin` what its user agreed
//! (`app:app.notify` among it), creates one task, dispatches the event, and
//! shows the notifications the plugins sent.
//!
//! ```sh
//! app-notify PLUGINS_DIR [TITLE]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use app_notify::{Notifier, notify_interface};
use plugboard::display::escaped;
use plugboard::task_store::new_task;
use plugboard::types::Event;
use plugboard::{Grant, GrantsFile, Host, HostConfig, InMemoryTaskStore, PluginStatus};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("app-notify: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How many notifications wait for the UI at most.
const QUEUE: usize = 16;

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let Some(plugins_dir) = args.next().map(PathBuf::from) else {
        return Err("usage: app-notify PLUGINS_DIR [TITLE]".into());
    };
    let title = args
        .next()
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Water the plants".to_string());

    let folders = tempfile::tempdir()?;
    let config_dir = folders.path().join("config");
    let data_dir = folders.path().join("data");
    grant_what_the_user_agreed(&config_dir)?;

    let (notifier, mut shown) = Notifier::new(QUEUE);
    let tasks = std::sync::Arc::new(InMemoryTaskStore::new());
    let host = Host::builder(HostConfig::new(&plugins_dir, &config_dir, &data_dir))
        .task_store(tasks.clone())
        .app_interface(notify_interface(notifier)?)
        .open()?;
    let mut failed = false;
    for plugin in &host.report().plugins {
        println!(
            "plugin {} {}: {}",
            plugin.id,
            plugin.version,
            escaped(&plugin.status.to_string())
        );
        failed |= !matches!(plugin.status, PluginStatus::Loaded(_));
    }

    let task = tasks.create(new_task(title), (host.services().clock)())?;
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    for delivery in &report.deliveries {
        println!("{}: {}", delivery.plugin, escaped(&delivery.outcome.to_string()));
    }
    // The app's UI: shows what waits in the queue.
    while let Ok(notification) = shown.try_recv() {
        println!(
            "notification from {}: {}: {}",
            notification.plugin,
            escaped(&notification.title),
            escaped(&notification.body)
        );
    }
    host.shutdown();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the app's user agreed each plugin may do, when the app asked them.
const CONSENT: &[(&str, &[&str])] = &[(
    "notify-plugin",
    &["tasks.read", "subscribe:task-created", "app:app.notify"],
)];

/// Records the user's consent in the grants file the host reads.
fn grant_what_the_user_agreed(config_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut grants = GrantsFile::open(config_dir)?;
    for (plugin, permissions) in CONSENT {
        let permissions: Vec<Grant> = permissions.iter().map(|p| p.parse()).collect::<Result<_, _>>()?;
        grants.grant(plugin, &permissions);
    }
    grants.save()?;
    Ok(())
}
