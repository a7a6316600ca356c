//! What the host does while it runs, with no dispatch to drive it: a
//! plugin folder that changes is swapped in, a deleted one unloaded, an
//! idle instance dropped; and the background thread stops with the host.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Folders, app_tasks, create, edit, example_manifest, wait_until};
use plugboard::{Host, HostConfig, Reload};
use plugboard_test_artifacts as artifacts;

/// Long enough for a slow machine to notice, reload and compile a plugin.
const RELOAD_LIMIT: Duration = Duration::from_secs(60);

/// auto-tag 0.2.0, with `home` among its keywords.
fn auto_tag_v2() -> String {
    let manifest = edit(
        &example_manifest("auto-tag"),
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    edit(
        &manifest,
        "keywords = \"urgent,review,bug\"",
        "keywords = \"urgent,home\"",
    )
}

/// The next reload the host reports, waiting at most [`RELOAD_LIMIT`].
fn next_reload(reloads: &mpsc::Receiver<String>) -> String {
    reloads
        .recv_timeout(RELOAD_LIMIT)
        .unwrap_or_else(|e| panic!("no reload reported within {RELOAD_LIMIT:?}: {e}"))
}

/// A configuration that trusts the manifests and watches the plugin folders
/// with a short debounce.
fn watching(folders: &Folders) -> HostConfig {
    let mut config = folders.config();
    config.trust_manifests = true;
    config.watch = true;
    config.watch_debounce = Duration::from_millis(100);
    config
}

#[test]
fn a_plugin_folder_changed_while_the_host_runs_is_swapped_in_and_a_deleted_one_unloaded() {
    let folders = Folders::new();
    let dir = folders.example("auto-tag", artifacts::AUTO_TAG);
    let config = watching(&folders);
    let (sender, reloads) = mpsc::channel();
    let tasks = app_tasks();
    let host = Host::builder(config)
        .task_store(tasks.clone())
        .on_reload(move |reload| {
            let _ = sender.send(reload.to_string());
        })
        .open()
        .unwrap();
    assert!(create(&host, &tasks, "Sell the home").tags.is_empty());

    std::fs::write(dir.join("plugin.toml"), auto_tag_v2()).unwrap();
    assert_eq!(next_reload(&reloads), "auto-tag 0.1.0 -> 0.2.0 swapped in");
    assert_eq!(
        create(&host, &tasks, "Clean the home").tags,
        ["home"],
        "the next event reaches the new build"
    );

    std::fs::remove_dir_all(&dir).unwrap();
    let unloaded = next_reload(&reloads);
    assert!(unloaded.starts_with("auto-tag unloaded"), "{unloaded}");
    assert!(host.plugins().is_empty());
}

#[test]
fn a_broken_new_build_is_reported_and_the_old_one_keeps_running() {
    let folders = Folders::new();
    let dir = folders.example("auto-tag", artifacts::AUTO_TAG);
    let config = watching(&folders);
    let (sender, reloads) = mpsc::channel();
    let tasks = app_tasks();
    let host = Host::builder(config)
        .task_store(tasks.clone())
        .on_reload(move |reload| {
            let _ = sender.send(match reload {
                Reload::Failed { error, .. } => format!("failed: {error}"),
                done => done.to_string(),
            });
        })
        .open()
        .unwrap();
    std::fs::write(dir.join("auto_tag.wasm"), b"not a component any more").unwrap();
    let failed = next_reload(&reloads);
    assert!(
        failed.starts_with("failed: ") && failed.contains("auto-tag"),
        "{failed}"
    );
    assert_eq!(
        create(&host, &tasks, "Fix the bug").tags,
        ["bug"],
        "the old build still runs"
    );
}

#[test]
fn an_idle_instance_is_dropped_without_any_dispatch() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    let idle = Duration::from_millis(200);
    config.idle_timeout = Some(idle);
    let host = Host::open(config).unwrap();
    let started = std::time::Instant::now();
    let results = host.start_all_blocking();
    assert!(results.iter().all(|(_, result)| result.is_ok()), "{results:?}");
    assert_eq!(host.live_count(), 1);
    wait_until("dropping the idle instance", Duration::from_secs(30), || {
        host.live_count() == 0
    });
    assert!(started.elapsed() >= idle, "dropped before it was idle long enough");
    assert!(!host.is_live("auto-tag"));
    assert_eq!(host.plugins().len(), 1, "dropping an instance keeps the plugin loaded");
}

#[test]
fn reload_now_applies_changes_without_a_watcher() {
    let folders = Folders::new();
    let dir = folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    assert!(!host.is_running_in_background(), "nothing to watch, nothing to sweep");

    std::fs::write(dir.join("plugin.toml"), auto_tag_v2()).unwrap();
    let reloads: Vec<String> = host.reload_now().iter().map(ToString::to_string).collect();
    assert_eq!(reloads, ["auto-tag 0.1.0 -> 0.2.0 swapped in"]);
    assert_eq!(create(&host, &tasks, "Clean the home").tags, ["home"]);

    std::fs::remove_dir_all(&dir).unwrap();
    let reloads: Vec<String> = host.reload_now().iter().map(ToString::to_string).collect();
    assert_eq!(reloads.len(), 1, "{reloads:?}");
    assert!(reloads[0].starts_with("auto-tag unloaded"), "{reloads:?}");
}

#[test]
fn the_background_thread_stops_on_shutdown_and_with_the_last_handle() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    config.watch = true;

    let host = Host::open(config.clone()).unwrap();
    let clone = host.clone();
    drop(host);
    assert!(clone.is_running_in_background(), "a clone keeps the host running");
    clone.shutdown();
    assert!(!clone.is_running_in_background());
    assert_eq!(clone.plugins().len(), 1, "shutting down keeps the plugins loaded");

    // The listener lives as long as the host's background thread does: once
    // the last handle is dropped, its sender is gone.
    let (sender, reloads) = mpsc::channel::<()>();
    let host = Host::builder(config)
        .on_reload(move |_| {
            let _ = sender.send(());
        })
        .open()
        .unwrap();
    assert!(host.is_running_in_background());
    drop(host);
    assert_eq!(
        reloads.recv_timeout(Duration::from_secs(10)),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
}

#[test]
fn a_plugin_added_while_the_host_runs_without_its_dependency_is_not_loaded() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let config = watching(&folders);
    let (sender, reloads) = mpsc::channel();
    let host = Host::builder(config)
        .on_reload(move |reload| {
            let _ = sender.send(reload.to_string());
        })
        .open()
        .unwrap();
    let manifest = edit(
        &example_manifest("legacy-counter"),
        "[events]",
        "[dependencies]\nghost = \"^1\"\n\n[events]",
    );
    folders.plugin(
        "legacy-counter",
        &manifest,
        Some(("legacy_counter.wasm", artifacts::LEGACY_COUNTER.bytes)),
    );
    let refused = next_reload(&reloads);
    assert!(
        refused.contains("not reloading it") && refused.contains("ghost"),
        "{refused}"
    );
    let ids: Vec<String> = host.plugins().iter().map(|p| p.id().to_string()).collect();
    assert_eq!(ids, ["auto-tag"]);
}
