//! A very small task app that embeds plugboard: it keeps its tasks in its
//! own store (a `Vec` behind a mutex), opens a plugboard host on the plugin
//! folder it is given, with throw-away config and data folders, grants
//! `auto-tag` what the app's user agreed to, creates one task, hands the
//! host the event, and prints what the plugins changed.
//!
//! ```sh
//! embedding-app PLUGINS_DIR [TITLE]
//! ```
//!
//! It uses only the `plugboard` crate: `Host::builder(...).open()` does
//! discovery, grants, quarantine, the code cache and loading.

mod tasks;

use plugboard::display::escaped;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use plugboard::task_store::new_task;
use plugboard::types::{Event, Priority};
use plugboard::{Grant, GrantsFile, Host, HostConfig, PluginStatus, TaskChange};

use crate::tasks::VecTaskStore;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("embedding-app: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let Some(plugins_dir) = args.next().map(PathBuf::from) else {
        return Err("usage: embedding-app PLUGINS_DIR [TITLE]".into());
    };
    let title = args
        .next()
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Fix urgent login bug".to_string());

    // The app's own folders; a real app would keep them in its home.
    let folders = tempfile::tempdir()?;
    let config_dir = folders.path().join("config");
    let data_dir = folders.path().join("data");
    grant_what_the_user_agreed(&config_dir)?;

    let tasks = Arc::new(VecTaskStore::default());
    let host = Host::builder(HostConfig::new(&plugins_dir, &config_dir, &data_dir))
        .task_store(tasks.clone())
        .open()?;
    let mut failed = false;
    for plugin in &host.report().plugins {
        // A status can quote the plugin (its error, its quarantine reason):
        // what a plugin wrote is escaped before it reaches the terminal.
        println!(
            "plugin {} {}: {}",
            plugin.id,
            plugin.version,
            escaped(&plugin.status.to_string())
        );
        failed |= matches!(
            plugin.status,
            PluginStatus::LoadFailed(_) | PluginStatus::Changed(_) | PluginStatus::Blocked(_) | PluginStatus::Duplicate
        );
    }

    let task = tasks.create(new_task(title), (host.services().clock)())?;
    println!("created {:?}", task.title);
    let report = host.dispatch_blocking(&Event::TaskCreated(task.clone()));
    for delivery in &report.deliveries {
        println!("{}: {}", delivery.plugin, escaped(&delivery.outcome.to_string()));
        for change in &delivery.effects.changes {
            if let TaskChange::Updated { after, .. } = change {
                println!("  changed {:?}", after.title);
            }
        }
    }
    let stored = tasks.get_task(&task.id).ok_or("the task vanished")?;
    println!(
        "task {:?}: tags: {}; priority: {}",
        stored.title,
        escaped(&stored.tags.join(", ")),
        priority_name(stored.priority)
    );
    host.shutdown();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the app's user agreed each plugin may do, when the app asked them.
const CONSENT: &[(&str, &[&str])] = &[("auto-tag", &["tasks.read", "tasks.write", "subscribe:task-created"])];

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

/// A priority as the app shows it.
fn priority_name(priority: Priority) -> &'static str {
    match priority {
        Priority::None => "none",
        Priority::Low => "low",
        Priority::Medium => "medium",
        Priority::High => "high",
    }
}
