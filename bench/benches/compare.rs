//! plugboard against bare wasmtime, native Rust and Extism, in one run, so
//! that every ratio compares numbers measured together. Every host does the
//! work of the auto-tag example for one `task-created` event (see the
//! crate's docs for what each host is):
//! - `warm, no change` / `warm, one change`: one live instance, a task
//!   auto-tag leaves alone / one it tags and makes high priority (the
//!   change committed to the in-memory store; for bare wasmtime, to a host
//!   function that returns). plugboard writes plugin logs to files, as
//!   `plugboard run` does;
//! - `warm, task-events@1`: the legacy-counter example through plugboard's
//!   adapter against the same component on bare wasmtime;
//! - `fan-out N`: one event to N live auto-tag plugins (N = 10, 100,
//!   1,000): plugboard in parallel, plugboard one plugin after the other,
//!   bare wasmtime one instance after the other and on two threads, each
//!   with its own half of the instances (what the second core can give);
//! - `cold event`: instantiate, `init`, handle;
//! - `first event`: a packed archive unpacked, loaded and handling its
//!   first event, compiled and from the code cache, against bare wasmtime
//!   compiling / deserializing the component and handling the event.
//!
//! Before criterion runs, the bench prints the heap allocations per event of
//! each host and plugboard's host memory per installed-but-unloaded plugin
//! (1,000 installed) and per live instance (100 live), resident and
//! proportional, against bare wasmtime's per live instance.
//!
//! Run: `cargo bench --manifest-path bench/Cargo.toml` (all) or with a
//! filter, e.g. `-- 'warm'`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use plugboard_bench::plugins::{self, KEYWORDS, QUIET_TITLE, URGENT_TITLE};
use plugboard_bench::{bare, extism_host, native};
use plugboard_contract::task_store::{InMemoryTaskStore, new_task};
use plugboard_host::{Compiled, DispatcherOptions, LoadOptions, Outcome, PoolingLimits, Runtime, RuntimeOptions};
use wasmtime::component::Component;

/// Counts heap allocations, for the allocations-per-event figures.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per call of `f`, averaged over many calls after a warm-up.
fn allocations_per_call(mut f: impl FnMut()) -> f64 {
    const CALLS: u64 = 2_000;
    for _ in 0..100 {
        f();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..CALLS {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / CALLS as f64
}

fn runtime() -> Runtime {
    Runtime::new().expect("the runtime starts")
}

/// The four hosts, each with a live auto-tag over a task titled `title`,
/// ready to handle its `task-created` event.
struct Warm {
    scene: plugins::Scene,
    bare: bare::LiveV2,
    bare_event: bare::v2::plugboard::task_events::types::Event,
    bare_task: bare::v2::plugboard::task_events::types::Task,
    native: native::AutoTag,
    native_tasks: Arc<InMemoryTaskStore>,
    native_task: plugboard_contract::Task,
    extism: extism::Plugin,
    extism_task: plugboard_contract::Task,
}

impl Warm {
    fn new(runtime: &Runtime, engine: &wasmtime::Engine, pre: &bare::v2::PluginPre<bare::Ctx>, title: &str) -> Warm {
        let scene = plugins::scene(runtime, title, true, DispatcherOptions::default());
        scene
            .dispatcher
            .add(plugins::load_auto_tag(runtime, "auto-tag"))
            .expect("added");
        let native_tasks = Arc::new(InMemoryTaskStore::new());
        let native_task = native_tasks.create(new_task(title), 1).expect("a task");
        let extism_tasks = Arc::new(InMemoryTaskStore::new());
        let extism_task = extism_tasks.create(new_task(title), 1).expect("a task");
        let bare_task = bare::task_v2(&scene.task);
        let mut warm = Warm {
            bare_event: bare::task_created_v2(&scene.task),
            bare_task,
            bare: bare::start_v2(engine, pre, KEYWORDS),
            native: native::AutoTag::new(KEYWORDS),
            native_tasks,
            native_task,
            extism: extism_host::auto_tag(&plugins::extism_auto_tag_bytes(), KEYWORDS, extism_tasks.clone()),
            extism_task,
            scene,
        };
        // Each host handles the event once, and does what auto-tag does.
        let changes = title == URGENT_TITLE;
        warm.plugboard();
        assert_eq!(warm.scene.tasks.all()[0].tags.contains(&"urgent".to_string()), changes);
        warm.bare();
        assert_eq!(warm.native(), changes);
        warm.extism();
        assert_eq!(extism_tasks.all()[0].tags.contains(&"urgent".to_string()), changes);
        warm
    }

    fn plugboard(&self) {
        let report = self.scene.dispatcher.dispatch_blocking(&self.scene.event);
        debug_assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    }

    fn bare(&mut self) {
        self.bare.on_event(&self.bare_event, Some(&self.bare_task));
    }

    fn native(&self) -> bool {
        self.native.on_task_created(&self.native_task, &self.native_tasks)
    }

    fn extism(&mut self) {
        extism_host::on_task_created(&mut self.extism, &self.extism_task);
    }
}

fn bench_warm(c: &mut Criterion) {
    let runtime = runtime();
    let engine = bare::engine();
    let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
    let pre = bare::pre_v2(&engine, &component);
    for (label, title) in [("warm, no change", QUIET_TITLE), ("warm, one change", URGENT_TITLE)] {
        let mut warm = Warm::new(&runtime, &engine, &pre, title);
        eprintln!(
            "{label}: allocations per event: plugboard {:.1}, bare wasmtime {:.1}, native {:.1}, Extism {:.1}",
            allocations_per_call(|| warm.plugboard()),
            allocations_per_call(|| warm.bare()),
            allocations_per_call(|| {
                warm.native();
            }),
            allocations_per_call(|| warm.extism()),
        );
        let mut group = c.benchmark_group(label);
        group.sample_size(50).measurement_time(Duration::from_secs(4));
        group.bench_function("plugboard", |b| b.iter(|| warm.plugboard()));
        group.bench_function("bare wasmtime", |b| b.iter(|| warm.bare()));
        group.bench_function("native", |b| b.iter(|| warm.native()));
        group.bench_function("Extism", |b| b.iter(|| warm.extism()));
        group.finish();
        warm.scene.dispatcher.flush_logs();
    }
}

fn bench_v1(c: &mut Criterion) {
    let runtime = runtime();
    let scene = plugins::scene(&runtime, QUIET_TITLE, true, DispatcherOptions::default());
    scene
        .dispatcher
        .add(plugins::load_legacy_counter(&runtime, "legacy-counter"))
        .expect("added");
    let engine = bare::engine();
    let component = Component::new(&engine, plugins::legacy_counter_bytes()).expect("legacy-counter compiles");
    let pre = bare::pre_v1(&engine, &component);
    let mut store = bare::store(&engine, KEYWORDS);
    let plugin = pre.instantiate(&mut store).expect("instantiates");
    let task = bare::v1::plugboard::task_events::types::Task {
        id: scene.task.id.clone(),
        title: scene.task.title.clone(),
        done: false,
        tags: Vec::new(),
    };
    let mut plugboard = || {
        let report = scene.dispatcher.dispatch_blocking(&scene.event);
        debug_assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    };
    let mut bare = || {
        plugin
            .plugboard_task_events_handler()
            .call_on_task_created(&mut store, &task)
            .expect("no trap")
            .expect("handled");
    };
    plugboard();
    bare();
    eprintln!(
        "warm, task-events@1: allocations per event: plugboard {:.1}, bare wasmtime {:.1}",
        allocations_per_call(&mut plugboard),
        allocations_per_call(&mut bare),
    );
    let mut group = c.benchmark_group("warm, task-events@1");
    group.sample_size(50).measurement_time(Duration::from_secs(4));
    group.bench_function("plugboard (adapter)", |b| b.iter(&mut plugboard));
    group.bench_function("bare wasmtime", |b| b.iter(&mut bare));
    group.finish();
    scene.dispatcher.flush_logs();
}

fn bench_fan_out(c: &mut Criterion) {
    let runtime = runtime();
    let engine = bare::engine();
    let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
    let pre = bare::pre_v2(&engine, &component);
    for n in [10usize, 100, 1_000] {
        let mut group = c.benchmark_group(format!("fan-out {n}"));
        group
            .sample_size(if n >= 1_000 { 20 } else { 40 })
            .measurement_time(Duration::from_secs(5))
            .throughput(Throughput::Elements(n as u64));
        for (label, parallel) in [("plugboard, in parallel", None), ("plugboard, one at a time", Some(1))] {
            let scene = plugins::scene(
                &runtime,
                QUIET_TITLE,
                false,
                DispatcherOptions {
                    parallel_plugins: parallel,
                    max_live_instances: Some(n),
                    ..DispatcherOptions::default()
                },
            );
            for i in 0..n {
                scene
                    .dispatcher
                    .add(plugins::load_auto_tag(&runtime, &format!("auto-tag-{i}")))
                    .expect("added");
            }
            let report = scene.dispatcher.dispatch_blocking(&scene.event);
            assert_eq!(report.deliveries.len(), n);
            assert!(report.deliveries.iter().all(|d| d.outcome == Outcome::Handled));
            assert_eq!(scene.dispatcher.live_count(), n);
            group.bench_function(label, |b| b.iter(|| scene.dispatcher.dispatch_blocking(&scene.event)));
        }
        let task = new_task(QUIET_TITLE);
        let task = plugboard_contract::task_store::build_task("t".into(), task, 1).expect("a task");
        let event = bare::task_created_v2(&task);
        let mut live: Vec<bare::LiveV2> = (0..n).map(|_| bare::start_v2(&engine, &pre, KEYWORDS)).collect();
        group.bench_function("bare wasmtime, one at a time", |b| {
            b.iter(|| {
                for instance in &mut live {
                    instance.on_event(&event, None);
                }
            })
        });
        // What wasmtime itself gains from the second core: two threads,
        // each delivering to its own half of the instances, always the
        // same half (no work list, no hand-over between them).
        group.bench_function("bare wasmtime, two threads", |b| {
            b.iter_custom(|iters| {
                let (front, back) = live.split_at_mut(n / 2);
                let start = std::sync::Barrier::new(2);
                std::thread::scope(|scope| {
                    let halves = [front, back].map(|half| {
                        let (event, start) = (&event, &start);
                        scope.spawn(move || {
                            start.wait();
                            let started = Instant::now();
                            for _ in 0..iters {
                                for instance in half.iter_mut() {
                                    instance.on_event(event, None);
                                }
                            }
                            started.elapsed()
                        })
                    });
                    halves
                        .map(|half| half.join().expect("a delivering thread"))
                        .into_iter()
                        .max()
                        .unwrap_or_default()
                })
            })
        });
        group.finish();
    }
}

fn bench_cold(c: &mut Criterion) {
    let mut group = c.benchmark_group("cold event");
    group.sample_size(30).measurement_time(Duration::from_secs(5));
    for pooled in [false, true] {
        let allocator = if pooled { "pooling" } else { "on demand" };
        let runtime = Runtime::with_options(RuntimeOptions {
            pooling: pooled.then(PoolingLimits::default),
            ..RuntimeOptions::default()
        })
        .expect("the runtime starts");
        let scene = plugins::scene(
            &runtime,
            QUIET_TITLE,
            false,
            DispatcherOptions {
                idle_timeout: Some(Duration::ZERO),
                ..DispatcherOptions::default()
            },
        );
        scene
            .dispatcher
            .add(plugins::load_auto_tag(&runtime, "auto-tag"))
            .expect("added");
        let engine = if pooled { bare::pooled_engine() } else { bare::engine() };
        let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
        let pre = bare::pre_v2(&engine, &component);
        let event = bare::task_created_v2(&scene.task);
        group.bench_function(format!("plugboard: instantiate, init, handle ({allocator})"), |b| {
            b.iter(|| {
                // A zero idle timeout drops the instance at the end of every
                // dispatch, so each one instantiates and runs `init` again.
                let report = scene.dispatcher.dispatch_blocking(&scene.event);
                debug_assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
            })
        });
        assert_eq!(scene.dispatcher.live_count(), 0);
        group.bench_function(format!("bare wasmtime: instantiate, init, handle ({allocator})"), |b| {
            b.iter(|| bare::start_v2(&engine, &pre, KEYWORDS).on_event(&event, None))
        });
    }
    group.finish();
}

/// Unpacks `archive` into a fresh folder in `scratch`, loads it and handles
/// one event, then drops the host that handled it (as the bare host drops
/// its own). Returns `scratch`, which the bench deletes outside the timing:
/// the bare host has no install folder, and a user waits for the event, not
/// for a scratch folder's deletion.
fn archive_to_first_event(
    runtime: &Runtime,
    archive: &Path,
    expected: &Compiled,
    scratch: tempfile::TempDir,
) -> tempfile::TempDir {
    let unpacked = plugboard_archive::unpack(
        archive,
        &scratch.path().join("auto-tag"),
        &plugboard_archive::TrustedKeys::none(),
        &plugboard_archive::UnpackLimits::default(),
    )
    .expect("the archive unpacks");
    let plugin = runtime
        .load_dir(&unpacked.dir, &LoadOptions::trusting_manifest())
        .expect("auto-tag loads from its unpacked archive");
    assert_eq!(plugin.compiled(), Some(expected));
    let scene = plugins::scene(runtime, QUIET_TITLE, false, DispatcherOptions::default());
    scene.dispatcher.add(plugin).expect("added");
    let report = scene.dispatcher.dispatch_blocking(&scene.event);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    drop(scene);
    scratch
}

/// A new scratch folder to install into.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary install folder")
}

fn bench_first_event(c: &mut Criterion) {
    let folder = tempfile::tempdir().expect("a temporary plugin folder");
    std::fs::copy(
        plugins::auto_tag_dir().join("plugin.toml"),
        folder.path().join("plugin.toml"),
    )
    .expect("manifest copied");
    std::fs::write(folder.path().join("auto_tag.wasm"), plugins::auto_tag_bytes()).expect("component written");
    let out = tempfile::tempdir().expect("a temporary output folder");
    let archive = plugboard_archive::pack(folder.path(), out.path()).expect("auto-tag packs");
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let uncached = runtime();
    let cached = Runtime::with_options(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts");
    drop(archive_to_first_event(&cached, &archive, &Compiled::Fresh, scratch()));

    let engine = bare::engine();
    let serialized = tempfile::NamedTempFile::new().expect("a temporary file");
    let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
    std::fs::write(serialized.path(), component.serialize().expect("serializes")).expect("written");
    drop(component);
    let task = plugboard_contract::task_store::build_task("t".into(), new_task(QUIET_TITLE), 1).expect("a task");
    let event = bare::task_created_v2(&task);

    let mut group = c.benchmark_group("first event");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("plugboard: archive to first event, compiled", |b| {
        b.iter_batched(
            scratch,
            |scratch| archive_to_first_event(&uncached, &archive, &Compiled::Fresh, scratch),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("bare wasmtime: compile, link, first event", |b| {
        b.iter(|| {
            let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
            bare::start_v2(&engine, &bare::pre_v2(&engine, &component), KEYWORDS).on_event(&event, None);
        })
    });
    group.bench_function("plugboard: archive to first event, from the code cache", |b| {
        b.iter_batched(
            scratch,
            |scratch| archive_to_first_event(&cached, &archive, &Compiled::FromCache, scratch),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("bare wasmtime: deserialize file, link, first event", |b| {
        b.iter(|| {
            // SAFETY: the file was written by `Component::serialize` of this
            // engine just above and nothing else writes it.
            let component = unsafe { Component::deserialize_file(&engine, serialized.path()) }.expect("deserializes");
            bare::start_v2(&engine, &bare::pre_v2(&engine, &component), KEYWORDS).on_event(&event, None);
        })
    });
    group.finish();
}

/// This process's memory: the resident set (`/proc/self/statm`) and the
/// proportional set size (`/proc/self/smaps_rollup`). The two differ by the
/// pages several mappings share: each instance maps its component's memory
/// image copy-on-write, so the resident set counts an image page once per
/// instance that reads it, the proportional set size once in all.
struct Footprint {
    rss: i64,
    pss: i64,
}

fn footprint() -> Footprint {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("statm's second field is the resident page count");
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").expect("Linux /proc/self/smaps_rollup");
    let pss_kib: i64 = rollup
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("smaps_rollup has a Pss line in kB");
    Footprint {
        rss: pages * 4096,
        pss: pss_kib * 1024,
    }
}

/// `after - before` per `count`, in KiB, resident and proportional.
fn per(before: &Footprint, after: &Footprint, count: usize) -> String {
    let kib = |bytes: i64| bytes as f64 / count as f64 / 1024.0;
    format!(
        "{:.1} KiB resident, {:.1} KiB proportional",
        kib(after.rss - before.rss),
        kib(after.pss - before.pss)
    )
}

/// Host memory per installed-but-unloaded plugin (1,000 of one component
/// loaded from the code cache) and per live instance (100 kept live of the
/// 1,000 one event reaches), against bare wasmtime starting the same 1,000
/// instances and keeping the last 100.
fn report_memory() {
    const INSTALLED: usize = 1_000;
    const LIVE: usize = 100;
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    let runtime = Runtime::with_options(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts");
    let install = |scene: &plugins::Scene| {
        for i in 0..INSTALLED {
            scene
                .dispatcher
                .add(plugins::load_auto_tag(&runtime, &format!("auto-tag-{i}")))
                .expect("added");
        }
    };
    let options = || DispatcherOptions {
        max_live_instances: Some(LIVE),
        ..DispatcherOptions::default()
    };
    // Fill the code cache and warm the allocator with one whole run, so
    // that neither counts as a plugin's memory (the bare host below is
    // warmed the same way).
    let warm = plugins::scene(&runtime, QUIET_TITLE, false, options());
    install(&warm);
    warm.dispatcher.dispatch_blocking(&warm.event);
    warm.dispatcher.finish_shutdowns_blocking();
    drop(warm);

    let scene = plugins::scene(&runtime, QUIET_TITLE, false, options());
    let before = footprint();
    let started = Instant::now();
    install(&scene);
    let load_time = started.elapsed();
    let installed = footprint();
    // The live cap keeps the last 100 of the 1,000 the event reaches.
    let report = scene.dispatcher.dispatch_blocking(&scene.event);
    assert_eq!(report.deliveries.len(), INSTALLED);
    assert!(report.deliveries.iter().all(|d| d.outcome == Outcome::Handled));
    assert_eq!(scene.dispatcher.live_count(), LIVE);
    // The 900 dropped for the cap shut down on tasks of their own: their
    // stores are gone only once those ran.
    scene.dispatcher.finish_shutdowns_blocking();
    let live = footprint();
    eprintln!(
        "memory: plugboard: {} per installed-but-unloaded plugin ({INSTALLED} loaded from the code cache in {} ms); \
         {} per live instance ({LIVE} live)",
        per(&before, &installed, INSTALLED),
        load_time.as_millis(),
        per(&installed, &live, LIVE),
    );
    drop(report);
    drop(scene);

    // The same component, compiled once, 1,000 instances started and each
    // handed the event, the last 100 kept: the memory wasmtime itself needs.
    let engine = bare::engine();
    let component = Component::new(&engine, plugins::auto_tag_bytes()).expect("auto-tag compiles");
    let pre = bare::pre_v2(&engine, &component);
    let task = plugboard_contract::task_store::build_task("t".into(), new_task(QUIET_TITLE), 1).expect("a task");
    let event = bare::task_created_v2(&task);
    let mut kept = std::collections::VecDeque::with_capacity(LIVE + 1);
    let churn = |kept: &mut std::collections::VecDeque<bare::LiveV2>| {
        for _ in 0..INSTALLED {
            let mut instance = bare::start_v2(&engine, &pre, KEYWORDS);
            instance.on_event(&event, None);
            kept.push_back(instance);
            if kept.len() > LIVE {
                kept.pop_front();
            }
        }
    };
    // Once to warm the allocator, as plugboard's install was.
    churn(&mut kept);
    kept.clear();
    let before = footprint();
    churn(&mut kept);
    let after = footprint();
    assert_eq!(kept.len(), LIVE);
    eprintln!(
        "memory: bare wasmtime: {} per live instance ({LIVE} live)",
        per(&before, &after, LIVE)
    );
}

fn bench_memory(_: &mut Criterion) {
    report_memory();
}

criterion_group!(
    benches,
    bench_memory,
    bench_warm,
    bench_v1,
    bench_fan_out,
    bench_cold,
    bench_first_event
);
criterion_main!(benches);
