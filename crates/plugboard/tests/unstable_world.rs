//! The pre-release world `task-events@3.0.0-dev`: a plugin built against
//! it is refused unless the embedder opts in, with a message saying the
//! world is unreleased and how to opt in; opted in, it loads and handles an
//! event through 3.0.0-dev's own import.

use std::sync::Arc;

use plugboard::task_store::new_task;
use plugboard::types::Event;
use plugboard::{Host, HostConfig, InMemoryTaskStore, Outcome, PluginStatus};
use plugboard_test_artifacts as artifacts;

/// A development folder holding the 3.0.0-dev fixture, trusted.
fn config(root: &std::path::Path, unstable_world: bool) -> HostConfig {
    let plugin = root.join("plugins/unstable-v3-dev");
    std::fs::create_dir_all(&plugin).expect("the plugin folder");
    let manifest = artifacts::repo_root().join("tests/fixtures/unstable-v3-dev/plugin.toml");
    std::fs::copy(manifest, plugin.join("plugin.toml")).expect("the manifest");
    std::fs::write(plugin.join("unstable_v3_dev.wasm"), artifacts::UNSTABLE_V3_DEV.bytes).expect("the component");
    let mut config = HostConfig::new(root.join("plugins"), root.join("config"), root.join("data"));
    config.development = true;
    config.trust_manifests = true;
    config.runtime.unstable_world = unstable_world;
    config
}

#[test]
fn without_the_opt_in_a_plugin_for_the_unreleased_world_is_refused_saying_how_to_opt_in() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let host = Host::open(config(root.path(), false)).expect("the host opens");
    let plugin = &host.report().plugins[0];
    assert!(
        matches!(plugin.status, PluginStatus::LoadFailed(_)),
        "{}",
        plugin.status
    );
    let message = plugin.status.to_string();
    assert!(
        message.contains("plugboard:task-events@3.0.0-dev, a world that is not released yet"),
        "{message}"
    );
    assert!(message.contains("plugboard run --unstable-world"), "{message}");
    assert!(message.contains("unstable_world: true"), "{message}");
}

#[test]
fn opted_in_the_host_speaks_the_unreleased_world_and_the_plugin_handles_an_event() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let tasks = Arc::new(InMemoryTaskStore::new());
    let host = Host::builder(config(root.path(), true))
        .task_store(tasks.clone())
        .open()
        .expect("the host opens");
    let plugin = &host.report().plugins[0];
    assert_eq!(plugin.status.to_string(), "loaded (task-events@3.0.0-dev)");
    let task = tasks
        .create(new_task("Water the plants"), (host.services().clock)())
        .expect("the task is created");
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    let delivery = &report.deliveries[0];
    assert_eq!(delivery.outcome, Outcome::Handled, "{}", delivery.outcome);
    let logged: Vec<&str> = delivery.effects.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logged, ["task-created Water the plants on world 3.0.0-dev"]);
}
