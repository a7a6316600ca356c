//! How well a runaway plugin is contained:
//! - `stop`: how long a dispatch to a plugin that loops forever takes, with a
//!   50 ms deadline (the promise: within the deadline + 20 ms);
//! - `neighbours`: the event throughput of two well-behaved plugins, alone
//!   and while another plugin loops on a second thread of the same host (the
//!   promise: above 80% of alone).
//!
//! Run with `cargo bench -p plugboard-host --bench containment`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_host::task_store::new_task;
use plugboard_host::types::Event;
use plugboard_host::{AbuseKind, Dispatcher, HostServices, LoadOptions, LoadedPlugin, Runtime, StrikePolicy};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

const DEADLINE_MS: u64 = 50;

fn looper(runtime: &Runtime) -> LoadedPlugin {
    let text = format!(
        r#"
[plugin]
id = "looper"
name = "looper"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"
[events]
subscribe = ["task-created"]
[permissions]
tasks = ["read", "write"]
[limits]
deadline = "{DEADLINE_MS}ms"
[config]
attack = "loop-on-event"
"#
    );
    let manifest = Manifest::parse(&text, Path::new("plugin.toml")).expect("valid manifest");
    let origin = Path::new(artifacts::HOSTILE.path);
    runtime
        .load_bytes(
            manifest,
            Path::new("."),
            origin,
            artifacts::HOSTILE.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("the looping fixture loads")
}

fn example(runtime: &Runtime, folder: &str, component: artifacts::Component) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples").join(folder);
    let manifest = Manifest::from_dir(&dir).expect("example manifest");
    runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new(component.path),
            component.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("example loads")
}

/// A dispatcher that never quarantines for deadlines, so the looper loops on
/// every event.
fn tolerant(runtime: &Runtime) -> Dispatcher {
    let (services, _) = HostServices::in_memory();
    let mut strikes = StrikePolicy::default();
    strikes.set(AbuseKind::Deadline, 0);
    Dispatcher::new(runtime, services).with_strike_policy(strikes)
}

fn neighbours(runtime: &Runtime) -> (Dispatcher, Arc<plugboard_host::InMemoryTaskStore>) {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    dispatcher
        .add(example(runtime, "auto-tag", artifacts::AUTO_TAG))
        .expect("add");
    dispatcher
        .add(example(runtime, "legacy-counter", artifacts::LEGACY_COUNTER))
        .expect("add");
    dispatcher.start_all_blocking();
    (dispatcher, tasks)
}

fn bench(c: &mut Criterion) {
    let runtime = Arc::new(Runtime::new().expect("runtime"));

    let mut group = c.benchmark_group("stop");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    group.bench_function(format!("looping plugin, {DEADLINE_MS} ms deadline"), |b| {
        let dispatcher = tolerant(&runtime);
        dispatcher.add(looper(&runtime)).expect("add");
        let task = plugboard_host::task_store::build_task("t".into(), new_task("spin"), 1).expect("task");
        let event = Event::TaskCreated(task);
        let mut worst = Duration::ZERO;
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                let one = Instant::now();
                let report = dispatcher.dispatch_blocking(&event);
                worst = worst.max(one.elapsed());
                assert!(matches!(
                    report.deliveries[0].outcome,
                    plugboard_host::Outcome::Trapped(_)
                ));
            }
            started.elapsed()
        });
        eprintln!(
            "stop: slowest dispatch to the looping plugin took {} ms",
            worst.as_millis()
        );
    });
    group.finish();

    let mut group = c.benchmark_group("neighbours");
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    let (alone, tasks) = neighbours(&runtime);
    let task = tasks.create(new_task("Fix urgent bug"), 1).expect("task");
    let event = Event::TaskCreated(task);
    group.bench_function("two plugins, alone", |b| b.iter(|| alone.dispatch_blocking(&event)));

    // The same neighbours while a plain native thread spins: what a busy
    // second core costs on this machine, with no plugin involved.
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        })
    };
    group.bench_function("two plugins, while a native thread spins", |b| {
        b.iter(|| alone.dispatch_blocking(&event))
    });
    stop.store(true, Ordering::Relaxed);
    spinner.join().expect("the spinning thread ends");

    let stop = Arc::new(AtomicBool::new(false));
    let looping = {
        let runtime = runtime.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let dispatcher = tolerant(&runtime);
            dispatcher.add(looper(&runtime)).expect("add");
            let task = plugboard_host::task_store::build_task("t".into(), new_task("spin"), 1).expect("task");
            let event = Event::TaskCreated(task);
            let mut loops = 0u64;
            while !stop.load(Ordering::Relaxed) {
                dispatcher.dispatch_blocking(&event);
                loops += 1;
            }
            loops
        })
    };
    group.bench_function("two plugins, while a third loops", |b| {
        b.iter(|| alone.dispatch_blocking(&event))
    });
    stop.store(true, Ordering::Relaxed);
    let loops = looping.join().expect("the looping thread ends");
    eprintln!("neighbours: the looping plugin was stopped {loops} times meanwhile");
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
