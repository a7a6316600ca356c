//! Instances come and go: created on a plugin's first event, dropped when
//! idle or when too many are live, created again on the next event, which
//! runs `init` again; the plugin's state outlives every instance, its
//! linear memory does not.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use plugboard_host::task_store::{empty_patch, new_task};
use plugboard_host::types::{Event, TaskChange};
use plugboard_host::{
    DispatchReport, Dispatcher, DispatcherOptions, HostServices, InMemoryTaskStore, LoadOptions, LoadedPlugin, Outcome,
    Runtime,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// The lifecycle fixture under `id`, subscribed to `events`.
fn counter(id: &str, events: &str) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("tests/fixtures/lifecycle");
    let text = std::fs::read_to_string(dir.join("plugin.toml"))
        .expect("the fixture's manifest")
        .replace("id = \"lifecycle\"", &format!("id = \"{id}\""))
        .replace("subscribe = [\"task-created\"]", &format!("subscribe = [{events}]"));
    let manifest = Manifest::parse(&text, &dir.join("plugin.toml")).expect("valid manifest");
    runtime()
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::LIFECYCLE.path),
            artifacts::LIFECYCLE.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("the fixture loads")
}

fn host(options: DispatcherOptions, plugins: Vec<LoadedPlugin>) -> (Dispatcher, std::sync::Arc<InMemoryTaskStore>) {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services).with_options(options);
    for plugin in plugins {
        dispatcher.add(plugin).expect("added");
    }
    (dispatcher, tasks)
}

/// What each plugin logged, in delivery order, after checking every
/// delivery was handled.
fn logged(report: &DispatchReport) -> Vec<(String, String)> {
    assert!(
        report.deliveries.iter().all(|d| d.outcome == Outcome::Handled),
        "{report:?}"
    );
    report
        .deliveries
        .iter()
        .flat_map(|d| d.effects.logs.iter().map(|l| (d.plugin.to_string(), l.message.clone())))
        .collect()
}

fn lines(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect()
}

fn created(dispatcher: &Dispatcher, tasks: &InMemoryTaskStore) -> DispatchReport {
    let task = tasks.create(new_task("a task"), 1).expect("created");
    dispatcher.dispatch_blocking(&Event::TaskCreated(task))
}

fn modified(dispatcher: &Dispatcher, tasks: &InMemoryTaskStore) -> DispatchReport {
    let task = tasks.create(new_task("another task"), 1).expect("created");
    let mut patch = empty_patch();
    patch.title = Some("renamed".into());
    let (before, after) = tasks.update(&task.id, &patch, 2).expect("updated");
    dispatcher.dispatch_blocking(&Event::TaskModified(TaskChange { before, after }))
}

#[test]
fn an_idle_plugin_is_unloaded_then_started_again_with_its_state() {
    let options = DispatcherOptions {
        idle_timeout: Some(Duration::from_millis(200)),
        ..DispatcherOptions::default()
    };
    let (dispatcher, tasks) = host(options, vec![counter("lifecycle", "\"task-created\"")]);
    assert_eq!(
        dispatcher.live_count(),
        0,
        "nothing is instantiated before its first event"
    );

    let first = created(&dispatcher, &tasks);
    assert_eq!(
        logged(&first),
        lines(&[
            ("lifecycle", "init: 0 events before"),
            ("lifecycle", "event 1, 1 in this instance")
        ])
    );
    let second = created(&dispatcher, &tasks);
    assert_eq!(logged(&second), lines(&[("lifecycle", "event 2, 2 in this instance")]));
    assert_eq!(dispatcher.live_count(), 1);

    std::thread::sleep(Duration::from_millis(300));
    let dropped: Vec<String> = dispatcher.evict_idle().iter().map(|id| id.to_string()).collect();
    assert_eq!(dropped, ["lifecycle"]);
    assert_eq!(dispatcher.live_count(), 0);
    assert!(!dispatcher.is_live("lifecycle"));

    // Its next event starts it again: `init` runs, the state is there, the
    // count kept in linear memory starts over.
    let third = created(&dispatcher, &tasks);
    assert_eq!(
        logged(&third),
        lines(&[
            ("lifecycle", "init: 2 events before"),
            ("lifecycle", "event 3, 1 in this instance")
        ])
    );
    assert!(dispatcher.is_live("lifecycle"));
}

#[test]
fn a_recently_used_instance_is_kept() {
    let options = DispatcherOptions {
        idle_timeout: Some(Duration::from_secs(3600)),
        ..DispatcherOptions::default()
    };
    let (dispatcher, tasks) = host(options, vec![counter("lifecycle", "\"task-created\"")]);
    created(&dispatcher, &tasks);
    assert!(dispatcher.evict_idle().is_empty());
    let again = created(&dispatcher, &tasks);
    assert_eq!(logged(&again), lines(&[("lifecycle", "event 2, 2 in this instance")]));
}

#[test]
fn without_options_instances_live_until_the_plugin_is_removed() {
    let (dispatcher, tasks) = host(
        DispatcherOptions::default(),
        vec![counter("a", "\"task-created\""), counter("b", "\"task-modified\"")],
    );
    created(&dispatcher, &tasks);
    modified(&dispatcher, &tasks);
    assert!(dispatcher.evict_idle().is_empty());
    assert_eq!(dispatcher.live_count(), 2);
    assert!(dispatcher.remove("a"));
    assert_eq!(dispatcher.live_count(), 1);
}

#[test]
fn with_one_live_instance_allowed_two_plugins_take_turns() {
    let options = DispatcherOptions {
        max_live_instances: Some(1),
        ..DispatcherOptions::default()
    };
    let (dispatcher, tasks) = host(
        options,
        vec![counter("a", "\"task-created\""), counter("b", "\"task-modified\"")],
    );

    let report = created(&dispatcher, &tasks);
    assert_eq!(
        logged(&report),
        lines(&[("a", "init: 0 events before"), ("a", "event 1, 1 in this instance")])
    );
    assert!(dispatcher.is_live("a") && !dispatcher.is_live("b"));

    // Another event for `a` reuses its instance.
    let report = created(&dispatcher, &tasks);
    assert_eq!(logged(&report), lines(&[("a", "event 2, 2 in this instance")]));

    // `b`'s event needs room: `a`, the least recently used, goes.
    let report = modified(&dispatcher, &tasks);
    assert_eq!(
        logged(&report),
        lines(&[("b", "init: 0 events before"), ("b", "event 1, 1 in this instance")])
    );
    assert!(dispatcher.is_live("b") && !dispatcher.is_live("a"));
    assert_eq!(dispatcher.live_count(), 1);

    // And back: `a` starts again and finds its count in its state.
    let report = created(&dispatcher, &tasks);
    assert_eq!(
        logged(&report),
        lines(&[("a", "init: 2 events before"), ("a", "event 3, 1 in this instance")])
    );
    assert!(dispatcher.is_live("a") && !dispatcher.is_live("b"));
    assert_eq!(dispatcher.live_count(), 1);
}

#[test]
fn the_cap_holds_even_when_one_event_reaches_more_plugins_than_it_allows() {
    let options = DispatcherOptions {
        max_live_instances: Some(2),
        ..DispatcherOptions::default()
    };
    let plugins = ["a", "b", "c"]
        .iter()
        .map(|id| counter(id, "\"task-created\""))
        .collect();
    let (dispatcher, tasks) = host(options, plugins);
    let report = created(&dispatcher, &tasks);
    let handled: Vec<_> = report.deliveries.iter().map(|d| d.plugin.to_string()).collect();
    assert_eq!(handled, ["a", "b", "c"]);
    logged(&report);
    assert_eq!(dispatcher.live_count(), 2);
    assert!(!dispatcher.is_live("a") && dispatcher.is_live("b") && dispatcher.is_live("c"));
}

#[test]
fn start_all_respects_the_cap() {
    let options = DispatcherOptions {
        max_live_instances: Some(1),
        ..DispatcherOptions::default()
    };
    let plugins = vec![counter("a", "\"task-created\""), counter("b", "\"task-created\"")];
    let (dispatcher, _) = host(options, plugins);
    let started = dispatcher.start_all_blocking();
    assert!(started.iter().all(|(_, result)| result.is_ok()), "{started:?}");
    assert_eq!(dispatcher.live_count(), 1);
    assert!(dispatcher.is_live("b"));
}
