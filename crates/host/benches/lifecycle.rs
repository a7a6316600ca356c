//! What the plugin lifecycle costs, each pair measured in the same run so
//! that their ratio means something:
//! - `first event`: auto-tag's component bytes to its first event handled,
//!   compiling from scratch and taking the code from the code cache, and the
//!   same from its `.plugin` archive (verify, unpack, load, first event);
//! - `instance`: a dispatch that re-creates an idle-unloaded instance (and
//!   runs `init` again) against a dispatch to a live instance, on demand and
//!   with the pooling allocator;
//! - `hundred plugins`: the host memory (RSS) each installed-but-unloaded
//!   plugin and each live instance adds, with auto-tag loaded 100 times
//!   under different ids (printed on stderr), and the time of each step.
//!
//! Run with `cargo bench -p plugboard-host --bench lifecycle`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_host::task_store::{build_task, new_task};
use plugboard_host::types::Event;
use plugboard_host::{
    Compiled, Dispatcher, DispatcherOptions, HostServices, LoadOptions, LoadedPlugin, Outcome, PoolingLimits, Runtime,
    RuntimeOptions,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

const PLUGINS: usize = 100;

fn auto_tag_dir() -> PathBuf {
    artifacts::repo_root().join("examples/auto-tag")
}

/// Auto-tag's manifest under another id.
fn manifest(id: &str) -> Manifest {
    let dir = auto_tag_dir();
    let text = std::fs::read_to_string(dir.join("plugin.toml")).expect("the example's manifest");
    let text = text.replace("id = \"auto-tag\"", &format!("id = \"{id}\""));
    Manifest::parse(&text, &dir.join("plugin.toml")).expect("a valid manifest")
}

fn load(runtime: &Runtime, id: &str) -> LoadedPlugin {
    runtime
        .load_bytes(
            manifest(id),
            &auto_tag_dir(),
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

fn runtime(options: RuntimeOptions) -> Runtime {
    Runtime::with_options(options).expect("the runtime starts")
}

/// Loads auto-tag from its bytes and handles its first event.
fn first_event(runtime: &Runtime, expected: &Compiled, event: &Event) {
    handle_first_event(runtime, load(runtime, "auto-tag"), expected, event);
}

/// Checks how the plugin was compiled and hands it its first event.
fn handle_first_event(runtime: &Runtime, plugin: LoadedPlugin, expected: &Compiled, event: &Event) {
    assert_eq!(plugin.compiled(), Some(expected));
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    dispatcher.add(plugin).expect("added");
    let report = dispatcher.dispatch_blocking(event);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
}

fn bench_first_event(c: &mut Criterion) {
    let event = quiet_event();
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let uncached = runtime(RuntimeOptions::default());
    let cached = runtime(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    });
    // Fill the cache.
    first_event(&cached, &Compiled::Fresh, &event);

    let mut group = c.benchmark_group("first event");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("auto-tag bytes to first event, compiled", |b| {
        b.iter(|| first_event(&uncached, &Compiled::Fresh, &event))
    });
    group.bench_function("auto-tag bytes to first event, from the code cache", |b| {
        b.iter(|| first_event(&cached, &Compiled::FromCache, &event))
    });
    group.finish();
}

/// Unpacks the archive into a fresh folder, loads the plugin from there and
/// handles its first event.
fn archive_to_first_event(runtime: &Runtime, archive: &Path, expected: &Compiled, event: &Event) {
    let scratch = tempfile::tempdir().expect("a temporary install folder");
    let dest = scratch.path().join("auto-tag");
    let unpacked = plugboard_archive::unpack(
        archive,
        &dest,
        &plugboard_archive::TrustedKeys::none(),
        &plugboard_archive::UnpackLimits::default(),
    )
    .expect("the archive unpacks");
    let plugin = runtime
        .load_dir(&unpacked.dir, &LoadOptions::trusting_manifest())
        .expect("auto-tag loads from its unpacked archive");
    handle_first_event(runtime, plugin, expected, event);
}

fn bench_archive(c: &mut Criterion) {
    let event = quiet_event();
    let folder = tempfile::tempdir().expect("a temporary plugin folder");
    std::fs::copy(auto_tag_dir().join("plugin.toml"), folder.path().join("plugin.toml")).expect("manifest copied");
    std::fs::write(folder.path().join("auto_tag.wasm"), artifacts::AUTO_TAG.bytes).expect("component written");
    let out = tempfile::tempdir().expect("a temporary output folder");
    let archive = plugboard_archive::pack(folder.path(), out.path()).expect("auto-tag packs");
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let uncached = runtime(RuntimeOptions::default());
    let cached = runtime(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    });
    archive_to_first_event(&cached, &archive, &Compiled::Fresh, &event);

    let mut group = c.benchmark_group("archive");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("auto-tag archive to first event, compiled", |b| {
        b.iter(|| archive_to_first_event(&uncached, &archive, &Compiled::Fresh, &event))
    });
    group.bench_function("auto-tag archive to first event, from the code cache", |b| {
        b.iter(|| archive_to_first_event(&cached, &archive, &Compiled::FromCache, &event))
    });
    group.finish();
}

fn bench_instance(c: &mut Criterion) {
    let event = quiet_event();
    let mut group = c.benchmark_group("instance");
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    let pooled = runtime(RuntimeOptions {
        pooling: Some(PoolingLimits {
            total_component_instances: 4,
            ..PoolingLimits::default()
        }),
        ..RuntimeOptions::default()
    });
    let on_demand = runtime(RuntimeOptions::default());
    for (label, runtime) in [("on demand", &on_demand), ("pooling", &pooled)] {
        let plugin = load(runtime, "auto-tag");

        let (services, _) = HostServices::in_memory();
        let live = Dispatcher::new(runtime, services);
        live.add(plugin.clone()).expect("added");
        live.dispatch_blocking(&event);
        group.bench_function(format!("dispatch to a live instance ({label})"), |b| {
            b.iter(|| {
                let report = live.dispatch_blocking(&event);
                debug_assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
            })
        });
        assert_eq!(live.live_count(), 1);

        // A zero idle timeout unloads the instance at the end of every
        // dispatch, so each one re-creates it and runs `init`.
        let (services, _) = HostServices::in_memory();
        let idle = Dispatcher::new(runtime, services).with_options(DispatcherOptions {
            idle_timeout: Some(Duration::ZERO),
            ..DispatcherOptions::default()
        });
        idle.add(plugin).expect("added");
        group.bench_function(
            format!("evict, then dispatch: re-instantiate and init ({label})"),
            |b| {
                b.iter(|| {
                    idle.evict_idle();
                    let report = idle.dispatch_blocking(&event);
                    debug_assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
                })
            },
        );
        assert_eq!(idle.live_count(), 0);
    }
    group.finish();
}

/// The resident set size of this process, from `/proc/self/statm`.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * page_size()
}

unsafe extern "C" {
    fn sysconf(name: i32) -> i64;
}

/// `sysconf(_SC_PAGESIZE)`, the unit of `statm`; `_SC_PAGESIZE` is 30 on
/// Linux.
fn page_size() -> u64 {
    // SAFETY: sysconf takes an integer and reads a system constant; it has
    // no preconditions.
    let size = unsafe { sysconf(30) };
    u64::try_from(size).unwrap_or(4096)
}

fn mib(bytes: i64) -> String {
    format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Loads auto-tag `PLUGINS` times under different ids into one dispatcher.
fn install_hundred(runtime: &Runtime) -> Dispatcher {
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    for n in 0..PLUGINS {
        dispatcher.add(load(runtime, &format!("auto-tag-{n}"))).expect("added");
    }
    dispatcher
}

fn bench_hundred(c: &mut Criterion) {
    let event = quiet_event();
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let runtime = runtime(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    });
    // Fill the code cache and warm the allocator, so that neither is
    // counted as a plugin's memory.
    drop(install_hundred(&runtime));

    let before = rss_bytes();
    let started = Instant::now();
    let dispatcher = install_hundred(&runtime);
    let load_time = started.elapsed();
    let installed = rss_bytes();
    let started = Instant::now();
    let report = dispatcher.dispatch_blocking(&event);
    let start_time = started.elapsed();
    assert_eq!(report.deliveries.len(), PLUGINS);
    assert!(report.deliveries.iter().all(|d| d.outcome == Outcome::Handled));
    assert_eq!(dispatcher.live_count(), PLUGINS);
    let live = rss_bytes();
    let dispatcher = dispatcher.with_options(DispatcherOptions {
        idle_timeout: Some(Duration::ZERO),
        ..DispatcherOptions::default()
    });
    dispatcher.evict_idle();
    assert_eq!(dispatcher.live_count(), 0);
    let evicted = rss_bytes();
    let per = |from: u64, to: u64| mib((to as i64 - from as i64) / PLUGINS as i64);
    eprintln!(
        "hundred plugins: RSS {} before; +{} per installed-but-unloaded plugin ({PLUGINS} loaded from the code \
         cache in {} ms); +{} per live instance ({PLUGINS} started by one event in {} ms); {} after unloading \
         them all ({} per instance given back)",
        mib(before as i64),
        per(before, installed),
        load_time.as_millis(),
        per(installed, live),
        start_time.as_millis(),
        mib(evicted as i64),
        per(evicted, live),
    );
    drop(dispatcher);

    let mut group = c.benchmark_group("hundred plugins");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("load 100 plugins from the code cache and add them", |b| {
        b.iter(|| install_hundred(&runtime))
    });
    let dispatcher = install_hundred(&runtime).with_options(DispatcherOptions {
        idle_timeout: Some(Duration::ZERO),
        ..DispatcherOptions::default()
    });
    group.bench_function("one event starts 100 unloaded plugins (then unloads them)", |b| {
        b.iter(|| {
            let report = dispatcher.dispatch_blocking(&event);
            debug_assert_eq!(report.deliveries.len(), PLUGINS);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_first_event, bench_archive, bench_instance, bench_hundred);
criterion_main!(benches);
