//! The same components on bare wasmtime: `bindgen!` hosts whose functions
//! do nothing but return, WASI linked with wasmtime-wasi's own (blocking)
//! implementation, one store per instance, synchronous calls. It is the
//! floor any host built on wasmtime pays for a call.

use wasmtime::component::{Component, HasSelf, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Bindings for the current 2.x world.
pub mod v2 {
    wasmtime::component::bindgen!({
        path: "../wit/task-events@2.1.0",
        world: "plugboard:task-events/plugin@2.1.0",
        additional_derives: [serde::Deserialize],
    });
}

/// Bindings for the first world.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../wit/task-events@1.0.0",
        world: "plugboard:task-events/plugin@1.0.0",
    });
}

use v2::plugboard::task_events::{clock, config, events, log, state, tasks, types};

/// A store's data: WASI with nothing granted, and the task the trivial
/// `tasks.update` hands back.
pub struct Ctx {
    wasi: WasiCtx,
    table: ResourceTable,
    task: Option<types::Task>,
    keywords: String,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for Ctx {}

impl tasks::Host for Ctx {
    fn get(&mut self, _id: String) -> Result<Option<types::Task>, types::Error> {
        Ok(self.task.clone())
    }
    fn query(&mut self, _filter: types::Filter) -> Result<Vec<types::Task>, types::Error> {
        Ok(Vec::new())
    }
    fn create(&mut self, _task: types::NewTask) -> Result<types::Task, types::Error> {
        self.task.clone().ok_or_else(|| types::Error::NotFound(String::new()))
    }
    fn update(&mut self, _id: String, _patch: types::TaskPatch) -> Result<types::Task, types::Error> {
        self.task.clone().ok_or_else(|| types::Error::NotFound(String::new()))
    }
    fn delete(&mut self, _id: String) -> Result<(), types::Error> {
        Ok(())
    }
    fn count(&mut self, _filter: types::Filter) -> Result<u32, types::Error> {
        Ok(0)
    }
}

impl state::Host for Ctx {
    fn get(&mut self, _key: String) -> Result<Option<Vec<u8>>, types::Error> {
        Ok(None)
    }
    fn set(&mut self, _key: String, _value: Vec<u8>) -> Result<(), types::Error> {
        Ok(())
    }
    fn delete(&mut self, _key: String) -> Result<(), types::Error> {
        Ok(())
    }
    fn list_keys(&mut self) -> Result<Vec<String>, types::Error> {
        Ok(Vec::new())
    }
}

impl events::Host for Ctx {
    fn emit(&mut self, _topic: String, _payload: Vec<u8>) -> Result<(), types::Error> {
        Ok(())
    }
}

impl log::Host for Ctx {
    fn log(&mut self, _level: log::Level, _message: String) {}
}

impl clock::Host for Ctx {
    fn now(&mut self) -> types::Timestamp {
        0
    }
}

impl config::Host for Ctx {
    fn get(&mut self, key: String) -> Option<String> {
        (key == "keywords").then(|| self.keywords.clone())
    }
}

impl v1::plugboard::task_events::types::Host for Ctx {}

impl v1::plugboard::task_events::host::Host for Ctx {
    fn log(&mut self, _level: v1::plugboard::task_events::types::Level, _message: String) {}
    fn get_task(&mut self, _id: String) -> Option<v1::plugboard::task_events::types::Task> {
        None
    }
    fn update_task(&mut self, _task: v1::plugboard::task_events::types::Task) -> Result<(), String> {
        Ok(())
    }
}

/// An engine configured as plugboard configures its own for these
/// measurements: the component model and epoch interruption.
pub fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    Engine::new(&config).expect("the engine starts")
}

/// The same with the pooling instance allocator, its pools those of
/// plugboard's default [`plugboard_host::PoolingLimits`].
pub fn pooled_engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(plugboard_host::PoolingLimits::default().allocation_strategy());
    Engine::new(&config).expect("the engine starts")
}

/// A fresh store with no task and auto-tag's keywords.
pub fn store(engine: &Engine, keywords: &str) -> Store<Ctx> {
    let mut store = Store::new(
        engine,
        Ctx {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            task: None,
            keywords: keywords.to_string(),
        },
    );
    store.set_epoch_deadline(u64::MAX / 2);
    store
}

/// The 2.x world linked once for `component`.
pub fn pre_v2(engine: &Engine, component: &Component) -> v2::PluginPre<Ctx> {
    let mut linker: Linker<Ctx> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    v2::Plugin::add_to_linker::<Ctx, HasSelf<Ctx>>(&mut linker, |c| c).expect("the world links");
    let pre: InstancePre<Ctx> = linker.instantiate_pre(component).expect("the component links");
    v2::PluginPre::new(pre).expect("the component exports the world")
}

/// The first world linked once for `component`.
pub fn pre_v1(engine: &Engine, component: &Component) -> v1::PluginPre<Ctx> {
    let mut linker: Linker<Ctx> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    v1::Plugin::add_to_linker::<Ctx, HasSelf<Ctx>>(&mut linker, |c| c).expect("the world links");
    let pre: InstancePre<Ctx> = linker.instantiate_pre(component).expect("the component links");
    v1::PluginPre::new(pre).expect("the component exports the world")
}

/// A live 2.x instance after `init`, as a host keeps one between events.
pub struct LiveV2 {
    /// The instance's store.
    pub store: Store<Ctx>,
    /// Its exports.
    pub plugin: v2::Plugin,
}

/// Instantiates auto-tag and runs its `init` with its settings.
pub fn start_v2(engine: &Engine, pre: &v2::PluginPre<Ctx>, keywords: &str) -> LiveV2 {
    let mut store = store(engine, keywords);
    let plugin = pre.instantiate(&mut store).expect("instantiates");
    plugin
        .plugboard_task_events_handler()
        .call_init(&mut store, &[("keywords".to_string(), keywords.to_string())])
        .expect("no trap")
        .expect("init succeeds");
    LiveV2 { store, plugin }
}

impl LiveV2 {
    /// Hands the instance one event; `task` is what `tasks.update` returns.
    pub fn on_event(&mut self, event: &types::Event, task: Option<&types::Task>) {
        self.store.data_mut().task = task.cloned();
        self.plugin
            .plugboard_task_events_handler()
            .call_on_event(&mut self.store, event)
            .expect("no trap")
            .expect("the handler succeeds");
    }
}

/// The host's task as the 2.x bindings' type (through their shared JSON).
pub fn task_v2(task: &plugboard_contract::Task) -> types::Task {
    let json = serde_json::to_string(task).expect("a task serializes");
    serde_json::from_str(&json).expect("the bindings read the host's task JSON")
}

/// `task-created` for `task` in the 2.x bindings' type.
pub fn task_created_v2(task: &plugboard_contract::Task) -> types::Event {
    types::Event::TaskCreated(task_v2(task))
}
