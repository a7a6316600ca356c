//! The pooling instance allocator: plugins run from the pools as they do
//! without them, the per-plugin memory cap still applies, and a full pool
//! makes a plugin wait, not a culprit.

use std::path::Path;

use plugboard_host::task_store::new_task;
use plugboard_host::types::Event;
use plugboard_host::{
    AbuseKind, Dispatcher, HostServices, LoadOptions, LoadedPlugin, Outcome, PoolingLimits, Runtime, RuntimeOptions,
    TaskStore,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn pooled_runtime(instances: u32) -> Runtime {
    Runtime::with_options(RuntimeOptions {
        pooling: Some(PoolingLimits {
            total_component_instances: instances,
            ..PoolingLimits::default()
        }),
        ..RuntimeOptions::default()
    })
    .expect("the pooled runtime starts")
}

fn load(runtime: &Runtime, manifest: &str, component: artifacts::Component) -> LoadedPlugin {
    let manifest = Manifest::parse(manifest, Path::new("plugin.toml")).expect("valid manifest");
    runtime
        .load_bytes(
            manifest,
            Path::new("."),
            Path::new(component.path),
            component.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("loads")
}

fn example(runtime: &Runtime, folder: &str, component: artifacts::Component) -> LoadedPlugin {
    let text = std::fs::read_to_string(artifacts::repo_root().join("examples").join(folder).join("plugin.toml"))
        .expect("the example's manifest");
    load(runtime, &text, component)
}

fn hostile(runtime: &Runtime, id: &str, attack: &str) -> LoadedPlugin {
    let text = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"hostile.wasm\"\n[events]\nsubscribe = [\"task-created\"]\n\
         [limits]\nmemory = \"16MiB\"\n[config]\nattack = \"{attack}\"\n"
    );
    load(runtime, &text, artifacts::HOSTILE)
}

#[test]
fn both_worlds_run_from_the_pools() {
    let runtime = pooled_runtime(4);
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    dispatcher
        .add(example(&runtime, "auto-tag", artifacts::AUTO_TAG))
        .expect("added");
    dispatcher
        .add(example(&runtime, "legacy-counter", artifacts::LEGACY_COUNTER))
        .expect("added");
    for title in ["urgent bug", "buy milk"] {
        let task = tasks.create(new_task(title), 1).expect("created");
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
        assert!(
            report.deliveries.iter().all(|d| d.outcome == Outcome::Handled),
            "{report:?}"
        );
        let counted = report
            .deliveries
            .iter()
            .flat_map(|d| &d.effects.logs)
            .any(|l| l.message.starts_with("created tasks so far"));
        assert!(counted, "the @1 plugin ran: {report:?}");
        if title == "urgent bug" {
            let tagged = tasks.get(&task.id).expect("read").expect("there");
            assert_eq!(tagged.tags, ["urgent", "bug"]);
        }
    }
}

#[test]
fn the_plugin_memory_cap_still_applies_under_pooling() {
    let runtime = pooled_runtime(2);
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    dispatcher
        .add(hostile(&runtime, "hoarder", "grow-memory"))
        .expect("added");
    let task = tasks.create(new_task("anything"), 1).expect("created");
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    match &report.deliveries[0].outcome {
        Outcome::Trapped(abuse) => {
            assert_eq!(abuse.kind, AbuseKind::Memory);
            assert!(abuse.detail.contains("its cap is 16 MiB"), "{abuse:?}");
        }
        other => panic!("expected a memory trap, got {other:?}"),
    }
}

#[test]
fn one_dispatcher_never_keeps_more_live_instances_than_the_pool_has() {
    let runtime = pooled_runtime(1);
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    dispatcher.add(hostile(&runtime, "first", "none")).expect("added");
    dispatcher.add(hostile(&runtime, "second", "none")).expect("added");
    for round in 0..3 {
        let task = tasks.create(new_task("anything"), round).expect("created");
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
        let outcomes: Vec<_> = report.deliveries.iter().map(|d| &d.outcome).collect();
        assert_eq!(outcomes, [&Outcome::Handled, &Outcome::Handled]);
        assert_eq!(dispatcher.live_count(), 1);
        assert!(dispatcher.is_live("second"), "the least recently used instance went");
    }
}

#[test]
fn a_pool_full_because_of_another_dispatcher_makes_a_plugin_wait_without_a_strike() {
    let runtime = pooled_runtime(1);
    let (services, tasks) = HostServices::in_memory();
    let holder = Dispatcher::new(&runtime, services.clone());
    holder.add(hostile(&runtime, "holder", "none")).expect("added");
    let waiter = Dispatcher::new(&runtime, services);
    waiter.add(hostile(&runtime, "waiter", "none")).expect("added");

    let task = tasks.create(new_task("anything"), 1).expect("created");
    let event = Event::TaskCreated(task);
    assert_eq!(holder.dispatch_blocking(&event).deliveries[0].outcome, Outcome::Handled);
    let report = waiter.dispatch_blocking(&event);
    match &report.deliveries[0].outcome {
        Outcome::Unavailable(why) => assert!(why.contains("no room for another live plugin instance"), "{why}"),
        other => panic!("expected the plugin to wait, got {other:?}"),
    }
    assert!(report.quarantined.is_empty());
    assert_eq!(waiter.strikes("waiter").map(|s| s.total()), Some(0));

    drop(holder);
    assert_eq!(
        waiter.dispatch_blocking(&event).deliveries[0].outcome,
        Outcome::Handled,
        "the slot the other dispatcher freed is used"
    );
}
