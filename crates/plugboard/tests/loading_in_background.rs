//! Loading plugins in the background: opening returns before the plugins
//! are compiled, a plugin whose compile is still running receives no events
//! and holds none up, and the others handle theirs meanwhile.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Folders, app_tasks, edit, wait_until};
use plugboard::task_store::new_task;
use plugboard::types::Event;
use plugboard::{Host, Outcome, PluginStatus, Reload};
use plugboard_test_artifacts as artifacts;

fn lifecycle_like(id: &str) -> String {
    let manifest = std::fs::read_to_string(artifacts::repo_root().join("tests/fixtures/lifecycle/plugin.toml"))
        .expect("the fixture's manifest");
    edit(&manifest, "id = \"lifecycle\"", &format!("id = \"{id}\""))
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_plugin_still_compiling_holds_no_event_and_the_others_handle_theirs() {
    let folders = Folders::new();
    for id in ["fast", "slow"] {
        folders.plugin(
            id,
            &lifecycle_like(id),
            Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
        );
    }
    let mut config = folders.config();
    config.trust_manifests = true;
    config.load_in_background = true;

    // `slow`'s compile does not start before the test says so.
    let (entered, slow_entered) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let listener_heard = heard.clone();
    let tasks = app_tasks();
    let host = Host::builder(config)
        .task_store(tasks.clone())
        .before_compile(move |id| {
            if id == "slow" {
                let _ = entered.send(());
                let _ = released.lock().unwrap().recv_timeout(LIMIT);
            }
        })
        .on_reload(move |reload| listener_heard.lock().unwrap().push(reload.to_string()))
        .open()
        .expect("the host opens");
    for plugin in &host.report().plugins {
        assert!(matches!(plugin.status, PluginStatus::Compiling), "{:#?}", host.report());
    }

    slow_entered.recv_timeout(LIMIT).expect("slow's compile starts");
    wait_until("fast is loaded", LIMIT, || {
        host.plugins().iter().any(|p| p.id() == "fast")
    });
    assert!(!host.plugins().iter().any(|p| p.id() == "slow"), "slow is not live yet");
    assert_eq!(host.loading_count(), 1);

    // An event while `slow` compiles: `fast` handles it, nothing waits for `slow`.
    let task = tasks.create(new_task("while slow compiles"), 1).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    let handled: Vec<&str> = report.deliveries.iter().map(|d| &*d.plugin).collect();
    assert_eq!(handled, ["fast"], "{report:?}");
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled, "{report:?}");

    release.send(()).unwrap();
    let settled = host.wait_until_loaded();
    let slow = settled.iter().find(|p| p.id == "slow").expect("slow is settled");
    assert!(matches!(slow.status, PluginStatus::Loaded(_)), "{settled:#?}");
    assert_eq!(host.loading_count(), 0);
    assert!(
        heard.lock().unwrap().iter().any(|r| r.starts_with("slow 0.1.0 added")),
        "{:?}",
        heard.lock().unwrap()
    );

    // The event before `slow` was ready is not replayed to it; the next one reaches both.
    let task = tasks.create(new_task("after slow loaded"), 2).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    let mut handled: Vec<&str> = report.deliveries.iter().map(|d| &*d.plugin).collect();
    handled.sort();
    assert_eq!(handled, ["fast", "slow"], "{report:?}");
    assert!(
        report.deliveries.iter().all(|d| d.outcome == Outcome::Handled),
        "{report:?}"
    );
}

#[test]
fn a_plugin_that_fails_in_the_background_is_reported_and_the_others_load() {
    let folders = Folders::new();
    folders.plugin(
        "good",
        &lifecycle_like("good"),
        Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
    );
    folders.plugin(
        "broken",
        &lifecycle_like("broken"),
        Some(("lifecycle.wasm", b"not a component")),
    );
    let mut config = folders.config();
    config.trust_manifests = true;
    config.load_in_background = true;
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener_heard = heard.clone();
    let host = Host::builder(config)
        .on_reload(move |reload: &Reload| listener_heard.lock().unwrap().push(reload.to_string()))
        .open()
        .expect("the host opens");
    let settled = host.wait_until_loaded();
    let status = |id: &str| &settled.iter().find(|p| p.id == id).expect("settled").status;
    assert!(matches!(status("good"), PluginStatus::Loaded(_)), "{settled:#?}");
    match status("broken") {
        PluginStatus::LoadFailed(error) => assert!(error.to_string().contains("plugin `broken`"), "{error}"),
        other => panic!("broken: {other:?}"),
    }
    let heard = heard.lock().unwrap();
    assert!(heard.iter().any(|r| r.contains("`broken` does not load")), "{heard:?}");
    let ids: Vec<String> = host.plugins().iter().map(|p| p.id().to_string()).collect();
    assert_eq!(ids, ["good"]);
}

#[test]
fn opening_compiles_several_plugins_at_once_and_waits_for_all_by_default() {
    let folders = Folders::new();
    for id in ["first", "second"] {
        folders.plugin(
            id,
            &lifecycle_like(id),
            Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
        );
    }
    let mut config = folders.config();
    config.trust_manifests = true;
    // `first`'s load waits until `second`'s has started: loading one
    // after the other would never see it.
    let (second_started, second_seen) = mpsc::channel::<()>();
    let second_seen = Mutex::new(second_seen);
    let overlapped = Arc::new(Mutex::new(None));
    let record = overlapped.clone();
    let host = Host::builder(config)
        .before_compile(move |id| match id {
            "first" => *record.lock().unwrap() = Some(second_seen.lock().unwrap().recv_timeout(LIMIT).is_ok()),
            _ => {
                let _ = second_started.send(());
            }
        })
        .open()
        .expect("the host opens");
    assert_eq!(*overlapped.lock().unwrap(), Some(true), "the two loads overlapped");
    // Opening waited: the report is complete, in load order, and nothing is left loading.
    let ids: Vec<String> = host.plugins().iter().map(|p| p.id().to_string()).collect();
    assert_eq!(ids, ["first", "second"]);
    assert!(
        host.report()
            .plugins
            .iter()
            .all(|p| matches!(p.status, PluginStatus::Loaded(_)))
    );
    assert_eq!(host.loading_count(), 0);
    assert!(host.wait_until_loaded().is_empty());
}
