//! Dispatching to a @2 and a @1 plugin side by side on one host.

use std::sync::OnceLock;

use plugboard_contract::TaskStore;
use plugboard_contract::task_store::{empty_patch, new_task};
use plugboard_contract::{Event, Priority, TaskModification};
use plugboard_host::{Dispatcher, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime};
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// Loads an example from its folder's manifest and the component built from
/// its source.
fn example(folder: &str, component: artifacts::Component) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples").join(folder);
    let manifest = plugboard_manifest::Manifest::from_dir(&dir).expect("the example's manifest is valid");
    runtime()
        .load_bytes(
            manifest,
            &dir,
            std::path::Path::new(component.path),
            component.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("the example loads")
}

fn messages(report: &plugboard_host::DispatchReport, plugin: &str) -> Vec<String> {
    report
        .deliveries
        .iter()
        .filter(|d| &*d.plugin == plugin)
        .flat_map(|d| d.effects.logs.iter().map(|l| l.message.clone()))
        .collect()
}

#[test]
fn both_worlds_receive_the_same_events_and_instances_are_reused() {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(example("auto-tag", artifacts::AUTO_TAG)).unwrap();
    dispatcher
        .add(example("legacy-counter", artifacts::LEGACY_COUNTER))
        .unwrap();
    for (id, result) in dispatcher.start_all_blocking() {
        assert!(result.is_ok(), "{id} failed to start: {result:?}");
    }

    let first = tasks.create(new_task("Fix urgent login bug"), 1).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(first.clone()));
    assert!(
        report.deliveries.iter().all(|d| d.outcome == Outcome::Handled),
        "{report:?}"
    );
    assert_eq!(messages(&report, "legacy-counter"), ["created tasks so far: 1"]);
    let tagged = tasks.get(&first.id).unwrap().unwrap();
    assert_eq!(tagged.tags, ["urgent", "bug"]);
    assert_eq!(tagged.priority, Priority::High);

    // The @1 plugin keeps its count in linear memory: the second event sees
    // the same instance.
    let second = tasks.create(new_task("Buy milk"), 2).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(second.clone()));
    assert_eq!(messages(&report, "legacy-counter"), ["created tasks so far: 2"]);
    assert!(tasks.get(&second.id).unwrap().unwrap().tags.is_empty());

    // A completion reaches the @1 plugin as `done`.
    let mut patch = empty_patch();
    patch.status = Some(plugboard_contract::Status::Completed);
    let (before, after) = tasks.update(&second.id, &patch, 3).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskModified(TaskModification { before, after }));
    assert_eq!(
        messages(&report, "legacy-counter"),
        [format!("task {} is done: Buy milk", second.id)]
    );
}

#[test]
fn an_event_with_no_v1_form_is_not_delivered_to_v1_plugins() {
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    let text = std::fs::read_to_string(artifacts::repo_root().join("examples/legacy-counter/plugin.toml")).unwrap();
    // Subscribe the @1 plugin to everything, so only the adapter can hold
    // the events back.
    let text = text.replace(
        "subscribe = [\"task-created\", \"task-modified\", \"task-deleted\"]",
        "subscribe = [\"task-created\", \"sync-completed\", \"timer\", \"custom:*\"]\ntimers = [{ name = \"hourly\", interval = \"1h\" }]",
    );
    let manifest = plugboard_manifest::Manifest::parse(&text, std::path::Path::new("plugin.toml")).unwrap();
    let plugin = runtime()
        .load_bytes(
            manifest,
            std::path::Path::new("."),
            std::path::Path::new(artifacts::LEGACY_COUNTER.path),
            artifacts::LEGACY_COUNTER.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap();
    dispatcher.add(plugin).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::Timer("hourly".into()));
    assert_eq!(report.deliveries.len(), 1);
    assert_eq!(
        report.deliveries[0].outcome,
        Outcome::NotDelivered("timer has no task-events@1 form".into())
    );
    assert!(
        !dispatcher.is_live("legacy-counter"),
        "the plugin was instantiated for an event it cannot receive"
    );
}

/// Auto-tag under `id`, also listening to a timer named `tick`.
fn ticking_auto_tag(id: &str) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let text = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    let text = text.replace("id = \"auto-tag\"", &format!("id = \"{id}\"")).replace(
        "subscribe = [\"task-created\", \"task-modified\"]",
        "subscribe = [\"task-created\", \"task-modified\", \"timer\"]\ntimers = [{ name = \"tick\", interval = \"1h\" }]",
    );
    let manifest = plugboard_manifest::Manifest::parse(&text, &dir.join("plugin.toml")).unwrap();
    runtime()
        .load_bytes(
            manifest,
            &dir,
            std::path::Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap()
}

#[test]
fn a_timer_fires_for_the_plugin_that_declared_it_only() {
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    for id in ["first", "second"] {
        dispatcher.add(ticking_auto_tag(id)).unwrap();
    }
    let delivered = |report: &plugboard_host::DispatchReport| -> Vec<String> {
        report.deliveries.iter().map(|d| d.plugin.to_string()).collect()
    };
    let report = dispatcher.fire_timer_blocking("second", "tick");
    assert_eq!(delivered(&report), ["second"]);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    assert!(!dispatcher.is_live("first"), "the other plugin was not even started");

    // A timer the plugin does not declare, or a plugin that is not there,
    // reaches nobody.
    assert!(dispatcher.fire_timer_blocking("second", "hourly").deliveries.is_empty());
    assert!(dispatcher.fire_timer_blocking("third", "tick").deliveries.is_empty());

    // The async form, awaited from another runtime, does the same.
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = caller.block_on(dispatcher.fire_timer("first", "tick"));
    assert_eq!(delivered(&report), ["first"]);
}

/// A log store that takes each append only when the test lets it, and
/// keeps what it was given.
struct GatedLogs {
    gate: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    written: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl plugboard_host::PluginLogSink for GatedLogs {
    fn append(
        &self,
        plugin: &str,
        _at: i64,
        entries: &[plugboard_host::plugin_log::LogEntry<'_>],
    ) -> Result<(), plugboard_host::plugin_log::PluginLogError> {
        // A closed gate (the test ended) lets everything through.
        let _ = self.gate.lock().unwrap().recv();
        let mut written = self.written.lock().unwrap();
        for entry in entries {
            let text = match entry {
                plugboard_host::plugin_log::LogEntry::Plugin(line) => line.message.clone(),
                plugboard_host::plugin_log::LogEntry::Audit(text) => text.clone(),
            };
            written.push(format!("{plugin}: {text}"));
        }
        Ok(())
    }
}

#[test]
fn log_lines_are_written_off_the_dispatch_and_all_of_them_by_a_flush() {
    let (open, gate) = std::sync::mpsc::channel();
    let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services).with_logs(GatedLogs {
        gate: std::sync::Mutex::new(gate),
        written: written.clone(),
    });
    dispatcher
        .add(example("legacy-counter", artifacts::LEGACY_COUNTER))
        .unwrap();
    // The log store takes nothing yet: if a dispatch waited for it, this
    // would never return.
    for n in 1..=3 {
        let task = tasks.create(new_task(format!("task {n}")), n).unwrap();
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
        assert_eq!(
            messages(&report, "legacy-counter"),
            [format!("created tasks so far: {n}")]
        );
    }
    assert!(written.lock().unwrap().is_empty(), "nothing could be written yet");
    for _ in 0..3 {
        open.send(()).unwrap();
    }
    dispatcher.flush_logs();
    assert_eq!(
        *written.lock().unwrap(),
        (1..=3)
            .map(|n| format!("legacy-counter: created tasks so far: {n}"))
            .collect::<Vec<_>>(),
        "every line, in order, once the store took them"
    );

    // Dropping the dispatcher writes what is still queued.
    let task = tasks.create(new_task("task 4"), 4).unwrap();
    dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    drop(open);
    drop(dispatcher);
    assert_eq!(
        written.lock().unwrap().last().map(String::as_str),
        Some("legacy-counter: created tasks so far: 4")
    );
}
