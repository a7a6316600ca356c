//! Dispatching through one shared dispatcher from many threads and from
//! inside a tokio runtime at once: no panic, every delivery reported once,
//! each plugin handling its events one at a time, and the report in the
//! plugins' order whatever order the calls finished in.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::{
    DispatchReport, Dispatcher, Grants, HostServices, InMemoryTaskStore, LoadOptions, LoadedPlugin, Outcome, Runtime,
    TaskStore,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

fn load(runtime: &Runtime, text: &str, dir: &Path, component: artifacts::Component) -> LoadedPlugin {
    let manifest = Manifest::parse(text, &dir.join("plugin.toml")).expect("valid manifest");
    runtime
        .load_bytes(
            manifest,
            dir,
            Path::new(component.path),
            component.bytes,
            &LoadOptions {
                grants: Grants::everything_requested(),
                ..LoadOptions::default()
            },
        )
        .expect("the fixture loads")
}

/// A plugin that prints `saw TITLE` to stdout for each task created.
fn printer(runtime: &Runtime, id: &str) -> LoadedPlugin {
    hostile(runtime, id, "print")
}

/// The hostile fixture doing `attack` on every task created, with a 100 ms
/// deadline; it may read tasks (a plugin without `tasks.read` receives
/// tasks without their title).
fn hostile(runtime: &Runtime, id: &str, attack: &str) -> LoadedPlugin {
    let text = format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = ["task-created"]

[permissions]
tasks = ["read"]

[limits]
deadline = "100ms"

[config]
attack = "{attack}"
"#
    );
    load(runtime, &text, Path::new("."), artifacts::HOSTILE)
}

/// A plugin that counts the events it handled in its state and logs
/// `event N, M in this instance`.
fn counter(runtime: &Runtime, id: &str) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("tests/fixtures/lifecycle");
    let text = std::fs::read_to_string(dir.join("plugin.toml"))
        .expect("the fixture's manifest")
        .replace("id = \"lifecycle\"", &format!("id = \"{id}\""));
    load(runtime, &text, &dir, artifacts::LIFECYCLE)
}

const PLUGINS: [&str; 4] = ["printer-a", "counter-a", "printer-b", "counter-b"];

fn dispatcher(runtime: &Runtime) -> (Dispatcher, Arc<InMemoryTaskStore>) {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    for id in PLUGINS {
        let plugin = if id.starts_with("printer") {
            printer(runtime, id)
        } else {
            counter(runtime, id)
        };
        dispatcher.add(plugin).expect("added");
    }
    (dispatcher, tasks)
}

fn event(tasks: &InMemoryTaskStore, title: &str) -> Event {
    Event::TaskCreated(tasks.create(new_task(title), 1).expect("created"))
}

/// Checks one report: each plugin exactly once, in load order, handled,
/// printers having printed the event's title; returns the counters'
/// counts.
fn check(report: &DispatchReport, title: &str) -> Vec<(String, u64)> {
    let order: Vec<&str> = report.deliveries.iter().map(|d| &*d.plugin).collect();
    assert_eq!(order, PLUGINS, "{report:#?}");
    let mut counts = Vec::new();
    for delivery in &report.deliveries {
        assert_eq!(delivery.outcome, Outcome::Handled, "{report:#?}");
        let lines: Vec<&str> = delivery.effects.logs.iter().map(|l| l.message.as_str()).collect();
        if delivery.plugin.starts_with("printer") {
            assert_eq!(lines, [format!("saw {title}")]);
        } else {
            let line = lines
                .iter()
                .find(|l| l.starts_with("event "))
                .unwrap_or_else(|| panic!("no count in {lines:?}"));
            let n: u64 = line["event ".len()..]
                .split(',')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad count line {line:?}"));
            counts.push((delivery.plugin.to_string(), n));
        }
    }
    counts
}

/// Every count 1..=total seen exactly once per counter: no two calls of a
/// plugin overlapped (they would have read the same count) and none was
/// lost.
fn assert_counted_once_each(counts: Vec<(String, u64)>, total: u64) {
    let mut per_plugin: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (plugin, n) in counts {
        per_plugin.entry(plugin).or_default().push(n);
    }
    assert_eq!(per_plugin.len(), 2);
    for (plugin, mut seen) in per_plugin {
        seen.sort_unstable();
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "{plugin}");
    }
}

#[test]
fn plain_threads_dispatch_at_once_and_every_delivery_is_reported_once() {
    let (dispatcher, tasks) = dispatcher(runtime());
    const THREADS: u64 = 4;
    const EACH: u64 = 15;
    let counts: Vec<(String, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (dispatcher, tasks) = (dispatcher.clone(), tasks.clone());
                scope.spawn(move || {
                    let mut counts = Vec::new();
                    let mut last: BTreeMap<String, u64> = BTreeMap::new();
                    for i in 0..EACH {
                        let title = format!("thread {t} task {i}");
                        let report = dispatcher.dispatch_blocking(&event(&tasks, &title));
                        for (plugin, n) in check(&report, &title) {
                            // One thread's events reach each plugin in the
                            // order that thread sent them.
                            let previous = last.insert(plugin.clone(), n).unwrap_or(0);
                            assert!(n > previous, "{plugin}: event {n} after {previous}");
                            counts.push((plugin, n));
                        }
                    }
                    counts
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("no thread panicked"))
            .collect()
    });
    assert_counted_once_each(counts, THREADS * EACH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tasks_and_blocking_calls_inside_tokio_dispatch_at_once() {
    // A runtime of the test's own, dropped inside the tokio runtime at the
    // end: that must not panic either.
    let runtime = Runtime::new().expect("the runtime starts");
    let (dispatcher, tasks) = dispatcher(&runtime);
    const TASKS: u64 = 6;
    const EACH: u64 = 5;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let (dispatcher, tasks) = (dispatcher.clone(), tasks.clone());
        handles.push(tokio::spawn(async move {
            let mut counts = Vec::new();
            for i in 0..EACH {
                let title = format!("task {t} event {i}");
                let event = event(&tasks, &title);
                // Half the tasks use the blocking call from inside the
                // runtime, which must not panic.
                let report = if t % 2 == 0 {
                    dispatcher.dispatch(event).await
                } else {
                    dispatcher.dispatch_blocking(&event)
                };
                counts.extend(check(&report, &title));
            }
            counts
        }));
    }
    let mut counts = Vec::new();
    for handle in handles {
        counts.extend(handle.await.expect("no task panicked"));
    }
    assert_counted_once_each(counts, TASKS * EACH);
    let stored = tasks.all();
    assert_eq!(stored.len() as u64, TASKS * EACH);
    assert!(stored.iter().all(|t| TaskStore::get(&*tasks, &t.id).is_ok()));
    drop(dispatcher);
    drop(runtime);
}

#[test]
fn a_quarantine_listener_may_use_the_dispatcher() {
    let (dispatcher, tasks) = dispatcher(runtime());
    dispatcher
        .add(hostile(runtime(), "looper", "sleep-on-event"))
        .expect("added");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (inner, record) = (dispatcher.clone(), seen.clone());
    dispatcher.on_quarantine(move |quarantined| {
        // Called while the dispatch is still going on: the dispatcher must
        // answer, not deadlock.
        let loaded = inner.plugins().iter().any(|p| p.id() == quarantined.plugin);
        let known = inner.quarantined(&quarantined.plugin).is_some();
        record
            .lock()
            .expect("not poisoned")
            .push((quarantined.plugin.clone(), loaded, known));
    });
    let report = dispatcher.dispatch_blocking(&event(&tasks, "anything"));
    assert_eq!(report.quarantined.len(), 1, "{report:#?}");
    assert_eq!(
        *seen.lock().expect("not poisoned"),
        [("looper".to_string(), false, true)]
    );
}
