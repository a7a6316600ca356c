//! The per-plugin metrics agree with what the dispatcher reported: events
//! handled, traps by kind, denied calls, instantiations, fuel, memory and
//! time in the plugin, each under the plugin's own id.

use std::collections::HashMap;
use std::path::Path;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::metrics as names;
use plugboard_host::{
    AbuseKind, Delivery, DispatchReport, Dispatcher, Grants, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime,
    RuntimeOptions,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn hostile(runtime: &Runtime, id: &str, attack: &str, permissions: &str) -> LoadedPlugin {
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
{permissions}

[limits]
deadline = "2s"

[config]
attack = "{attack}"
"#
    );
    let manifest = Manifest::parse(&text, Path::new("plugin.toml")).expect("the test manifest is valid");
    let origin = Path::new(artifacts::HOSTILE.path);
    runtime
        .load_bytes(
            manifest,
            origin.parent().unwrap_or(origin),
            origin,
            artifacts::HOSTILE.bytes,
            &LoadOptions {
                grants: Grants::everything_requested(),
                ..LoadOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn auto_tag(runtime: &Runtime) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let manifest = Manifest::from_dir(&dir).unwrap();
    runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap()
}

/// Every value the recorder holds, by (metric, plugin, kind label).
fn values(snapshotter: &Snapshotter) -> HashMap<(MetricKind, String, String, String), DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value): (CompositeKey, _, _, DebugValue)| {
            let (kind, key) = key.into_parts();
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_string())
                    .unwrap_or_default()
            };
            ((kind, key.name().to_string(), label("plugin"), label("kind")), value)
        })
        .collect()
}

fn counter(
    values: &HashMap<(MetricKind, String, String, String), DebugValue>,
    name: &str,
    plugin: &str,
    kind: &str,
) -> u64 {
    match values.get(&(
        MetricKind::Counter,
        name.to_string(),
        plugin.to_string(),
        kind.to_string(),
    )) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name}{{plugin={plugin},kind={kind}}}: {other:?}"),
    }
}

#[test]
fn each_plugins_metrics_count_what_the_dispatch_reports_said() {
    let runtime = Runtime::with_options(RuntimeOptions {
        fuel: true,
        ..RuntimeOptions::default()
    })
    .unwrap();
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The handles are registered when a plugin is added: with this recorder
    // for this thread, and used from the host's worker threads after.
    metrics::with_local_recorder(&recorder, || {
        dispatcher.add(auto_tag(&runtime)).unwrap();
        dispatcher.add(hostile(&runtime, "crasher", "panic", "")).unwrap();
        dispatcher.add(hostile(&runtime, "hoarder", "grow-memory", "")).unwrap();
        dispatcher
            .add(hostile(&runtime, "wiper", "delete-all", r#"tasks = ["read"]"#))
            .unwrap();
    });

    let mut reports: Vec<DispatchReport> = Vec::new();
    for title in ["urgent: one", "two", "three"] {
        let task = tasks.create(new_task(title), 1).unwrap();
        reports.push(dispatcher.dispatch_blocking(&Event::TaskCreated(task)));
    }
    let deliveries: Vec<_> = reports.iter().flat_map(|r| &r.deliveries).collect();
    fn of<'a>(deliveries: &'a [&'a Delivery], plugin: &'a str) -> impl Iterator<Item = &'a &'a Delivery> + 'a {
        deliveries.iter().filter(move |d| &*d.plugin == plugin)
    }
    let trapped = |plugin: &str, kind: AbuseKind| {
        of(&deliveries, plugin)
            .filter(|d| matches!(&d.outcome, Outcome::Trapped(abuse) if abuse.kind == kind))
            .count() as u64
    };

    let values = values(&snapshotter);
    assert_eq!(
        counter(&values, names::EVENTS_HANDLED, "auto-tag", ""),
        3,
        "three events sent"
    );
    assert_eq!(
        counter(&values, names::INSTANTIATIONS, "auto-tag", ""),
        1,
        "one instance reused"
    );
    assert!(
        counter(&values, names::FUEL_USED, "auto-tag", "") > 0,
        "fuel is metered"
    );
    match values.get(&(
        MetricKind::Histogram,
        names::CALL_SECONDS.to_string(),
        "auto-tag".to_string(),
        String::new(),
    )) {
        Some(DebugValue::Histogram(samples)) => {
            assert_eq!(samples.len(), 3, "one time per delivery");
            let total: f64 = samples.iter().map(|s| s.0).sum();
            let reported: f64 = of(&deliveries, "auto-tag").map(|d| d.elapsed.as_secs_f64()).sum();
            assert!(
                (total - reported).abs() < 1e-9,
                "{total} s recorded, {reported} s reported"
            );
        }
        other => panic!("call seconds of auto-tag: {other:?}"),
    }

    let crashes = trapped("crasher", AbuseKind::Crash);
    assert!(crashes >= 1, "the panicking plugin trapped: {deliveries:?}");
    assert_eq!(counter(&values, names::TRAPS, "crasher", "crash"), crashes);
    assert_eq!(counter(&values, names::TRAPS, "crasher", "memory"), 0);
    assert_eq!(counter(&values, names::EVENTS_HANDLED, "crasher", ""), 0);
    assert_eq!(
        counter(&values, names::INSTANTIATIONS, "crasher", ""),
        crashes,
        "a trapped instance is never reused"
    );

    assert_eq!(
        trapped("hoarder", AbuseKind::Memory),
        1,
        "quarantined at its first memory trap"
    );
    assert_eq!(counter(&values, names::TRAPS, "hoarder", "memory"), 1);
    match values.get(&(
        MetricKind::Gauge,
        names::MEMORY_HIGH_WATER.to_string(),
        "hoarder".to_string(),
        String::new(),
    )) {
        Some(DebugValue::Gauge(bytes)) => {
            let cap = plugboard_host::CallLimits::default().memory as f64;
            assert!(bytes.0 > cap / 2.0 && bytes.0 <= cap, "{} bytes, cap {cap}", bytes.0);
        }
        other => panic!("memory high-water mark of hoarder: {other:?}"),
    }

    let denied: usize = of(&deliveries, "wiper").map(|d| d.effects.denied.len()).sum();
    assert!(denied > 0, "the wiper's deletes were refused: {deliveries:?}");
    assert_eq!(counter(&values, names::DENIED_CALLS, "wiper", ""), denied as u64);
}

#[test]
fn without_a_recorder_dispatch_records_nothing_and_works_the_same() {
    let runtime = Runtime::new().unwrap();
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    dispatcher.add(auto_tag(&runtime)).unwrap();
    let task = tasks.create(new_task("urgent: call"), 1).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
}
