//! What dispatching costs on the host's execution model, each pair measured
//! in the same run so that their ratio means something:
//! - `warm`: one event to one live auto-tag instance that changes nothing,
//!   through the blocking call and through the async one (awaited from a
//!   tokio runtime of the bench's own);
//! - `fan-out`: one event to 100 live auto-tag instances (under different
//!   ids), in parallel on the host's worker threads against one plugin
//!   after the other (`DispatcherOptions::parallel_plugins = Some(1)`).
//!
//! Run with `cargo bench -p plugboard-host --bench dispatch`. The warm
//! dispatch before and after the async execution model is compared by
//! `scripts/bench-before-after`, which runs the `instance` group of the
//! `lifecycle` bench on both commits.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plugboard_host::task_store::{build_task, new_task};
use plugboard_host::types::Event;
use plugboard_host::{
    Dispatcher, DispatcherOptions, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime, RuntimeOptions,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

const FAN_OUT: usize = 100;

fn load(runtime: &Runtime, id: &str) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let text = std::fs::read_to_string(dir.join("plugin.toml")).expect("the example's manifest");
    let text = text.replace("id = \"auto-tag\"", &format!("id = \"{id}\""));
    let manifest = Manifest::parse(&text, &dir.join("plugin.toml")).expect("a valid manifest");
    runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("auto-tag loads")
}

/// An event auto-tag handles without changing anything, so that repeating
/// it measures the same work every time.
fn quiet_event() -> Event {
    Event::TaskCreated(build_task("t".into(), new_task("buy milk"), 1).expect("a valid task"))
}

fn dispatcher(runtime: &Runtime, plugins: usize, options: DispatcherOptions) -> Dispatcher {
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services).with_options(options);
    for i in 0..plugins {
        dispatcher.add(load(runtime, &format!("auto-tag-{i}"))).expect("added");
    }
    let report = dispatcher.dispatch_blocking(&quiet_event());
    assert_eq!(report.deliveries.len(), plugins);
    assert!(report.deliveries.iter().all(|d| d.outcome == Outcome::Handled));
    assert_eq!(dispatcher.live_count(), plugins);
    dispatcher
}

fn bench_warm(c: &mut Criterion) {
    let runtime = Runtime::new().expect("the runtime starts");
    let event = quiet_event();
    let one = dispatcher(&runtime, 1, DispatcherOptions::default());
    let mut group = c.benchmark_group("warm");
    group.sample_size(50).measurement_time(Duration::from_secs(5));
    group.bench_function("one plugin, blocking call", |b| {
        b.iter(|| one.dispatch_blocking(&event))
    });
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the caller");
    group.bench_function("one plugin, async call", |b| {
        b.iter(|| caller.block_on(one.dispatch(event.clone())))
    });
    group.finish();
}

fn bench_fan_out(c: &mut Criterion) {
    // The code cache compiles auto-tag once for its hundred copies.
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let runtime = Runtime::with_options(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts");
    let event = quiet_event();
    let parallel = dispatcher(&runtime, FAN_OUT, DispatcherOptions::default());
    let sequential = dispatcher(
        &runtime,
        FAN_OUT,
        DispatcherOptions {
            parallel_plugins: Some(1),
            ..DispatcherOptions::default()
        },
    );
    let mut group = c.benchmark_group("fan-out");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(FAN_OUT as u64));
    group.bench_function("100 live plugins, in parallel", |b| {
        b.iter(|| parallel.dispatch_blocking(&event))
    });
    group.bench_function("100 live plugins, one at a time", |b| {
        b.iter(|| sequential.dispatch_blocking(&event))
    });
    group.finish();
}

criterion_group!(benches, bench_warm, bench_fan_out);
criterion_main!(benches);
