//! The cost of the two ways a call could be bounded while the plugin waits
//! inside WASI, on bare wasmtime with the same component (auto-tag handling
//! an event it changes nothing for) and the same engine configuration, in
//! one run:
//! - `sync`: WASI linked with its blocking implementations and a plain
//!   call: the floor of a design that keeps calls synchronous and replaces
//!   every blocking WASI function with one bounded by the call's time;
//! - `async`: WASI linked with its asynchronous implementations and an
//!   async call, polled on the calling thread: what plugboard does, without
//!   plugboard;
//! - `async + timer`: the same under a tokio timeout, as a call that waits
//!   needs.
//!
//! Run with `cargo bench -p plugboard-host --bench route`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_host::bindings::v2::plugboard::task_events::types as host_types;
use plugboard_host::task_store::{build_task, new_task};
use plugboard_host::types::Event;
use plugboard_test_artifacts as artifacts;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod sync_world {
    wasmtime::component::bindgen!({
        path: "../../wit/task-events@2.1.0",
        world: "plugboard:task-events/plugin@2.1.0",
        additional_derives: [serde::Deserialize],
    });
}

mod async_world {
    wasmtime::component::bindgen!({
        path: "../../wit/task-events@2.1.0",
        world: "plugboard:task-events/plugin@2.1.0",
        exports: { default: async },
        additional_derives: [serde::Deserialize],
    });
}

struct Ctx {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn store(engine: &Engine) -> Store<Ctx> {
    let mut store = Store::new(
        engine,
        Ctx {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    store.set_epoch_deadline(u64::MAX / 2);
    store
}

/// The quiet event as JSON, for either world's own types.
fn event_json() -> String {
    let task = build_task("t".into(), new_task("buy milk"), 1).expect("a valid task");
    let event = host_types::Event::from(Event::TaskCreated(task));
    serde_json::to_string(&event).expect("the event serializes")
}

fn bench_route(c: &mut Criterion) {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    let engine = Engine::new(&config).expect("the engine starts");
    let component = Component::new(&engine, artifacts::AUTO_TAG.bytes).expect("auto-tag compiles");
    let json = event_json();
    let mut group = c.benchmark_group("route");
    group.sample_size(50).measurement_time(Duration::from_secs(5));

    // Auto-tag's handler calls no plugboard host function for this event
    // (its `init`, which logs, is never called here), so those imports are
    // traps.
    let mut linker: Linker<Ctx> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("plugboard's imports link as traps");
    let mut sync_store = store(&engine);
    let plugin = sync_world::Plugin::instantiate(&mut sync_store, &component, &linker).expect("instantiates");
    let event: sync_world::plugboard::task_events::types::Event = serde_json::from_str(&json).expect("the event");
    let handler = plugin.plugboard_task_events_handler();
    group.bench_function("sync call, blocking WASI", |b| {
        b.iter(|| handler.call_on_event(&mut sync_store, &event).expect("no trap"))
    });

    let mut linker: Linker<Ctx> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI links");
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("plugboard's imports link as traps");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let _entered = runtime.enter();
    let mut async_store = store(&engine);
    let plugin = futures::executor::block_on(async_world::Plugin::instantiate_async(
        &mut async_store,
        &component,
        &linker,
    ))
    .expect("instantiates");
    let event: async_world::plugboard::task_events::types::Event = serde_json::from_str(&json).expect("the event");
    let handler = plugin.plugboard_task_events_handler();
    group.bench_function("async call, async WASI", |b| {
        b.iter(|| futures::executor::block_on(handler.call_on_event(&mut async_store, &event)).expect("no trap"))
    });
    group.bench_function("async call, async WASI, under a timer", |b| {
        b.iter(|| {
            futures::executor::block_on(tokio::time::timeout(
                Duration::from_secs(1),
                handler.call_on_event(&mut async_store, &event),
            ))
            .expect("in time")
            .expect("no trap")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_route);
criterion_main!(benches);
