//! The engine, the linkers every plugin is instantiated through, and the
//! threads plugin code runs on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::app_interfaces::{AppInterfaces, AppOffer, AppStates};
use crate::bindings::{v1, v2};
use crate::code_cache::{CodeCache, EngineKey};
use crate::compile_bounds::CompileBounds;
use crate::context::PluginContext;
use crate::executor::Executor;
use crate::limits::{EPOCH_TICK, MAX_MEMORY, MAX_TABLE_ELEMENTS, WASM_STACK};
use crate::shared_code::SharedCodes;
use crate::wasi;

/// Why the runtime could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("could not set up the WebAssembly runtime: {0}")]
pub struct RuntimeError(String);

/// Advances the engine's epoch from a background thread so that calls past
/// their deadline trap.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugboard-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long one component may compile before it is abandoned and the plugin
/// refused. The largest real plugins (componentize-py, 18 MB) took 25 s on a
/// busy two-core machine; four times that leaves room for slower machines.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// How many components compile at once on one runtime, counting compiles
/// that were abandoned at their timeout and are still running (wasmtime
/// cannot stop Cranelift mid-way, so such a compile runs to its end on its
/// own thread, bounded by the [`CompileBounds`], and its result is dropped).
/// More wait for a free slot: a plugin reloaded again and again cannot pile
/// up compile threads.
pub const MAX_CONCURRENT_COMPILES: usize = 4;

/// How the engine is set up. Build it with `..RuntimeOptions::default()` so
/// that new options keep their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Count fuel (executed instructions) and stop calls that run out. Costs
    /// some speed on every call; deadlines already bound wall-clock time.
    pub fuel: bool,
    /// Keep compiled components in this folder (see [`CodeCache`]) and load
    /// them from it instead of compiling again. The folder must belong to
    /// the host and be as protected as its executable; never a plugin's.
    pub code_cache: Option<PathBuf>,
    /// The most bytes of compiled code the code cache keeps; past it the
    /// least recently used entries are deleted ([`crate::code_cache::DEFAULT_CAP`]
    /// by default).
    pub code_cache_cap: u64,
    /// Allocate instances from pools reserved up front instead of on demand
    /// (see [`PoolingLimits`]). Off by default: the pools reserve address
    /// space for every slot at start-up.
    pub pooling: Option<PoolingLimits>,
    /// What a component may ask of the compiler, checked before it is
    /// compiled; one over any bound is refused (see [`CompileBounds`]).
    pub compile_bounds: CompileBounds,
    /// How long one compile may run before it is abandoned and the plugin
    /// refused ([`COMPILE_TIMEOUT`] by default). Every compile runs on a
    /// thread of its own, never on the caller's, so the wait is bounded
    /// even though Cranelift cannot be interrupted.
    pub compile_timeout: Duration,
    /// Speak the pre-release world `task-events@3.0.0-dev` too. Off by
    /// default: a plugin built against it is refused, saying the world is
    /// unreleased and how to opt in. For plugin authors trying the next
    /// ABI before it is frozen; it may change in any release.
    pub unstable_world: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            fuel: false,
            code_cache: None,
            code_cache_cap: crate::code_cache::DEFAULT_CAP,
            pooling: None,
            compile_bounds: CompileBounds::DEFAULT,
            compile_timeout: COMPILE_TIMEOUT,
            unstable_world: false,
        }
    }
}

/// The compile threads running now, abandoned ones included; at most
/// [`MAX_CONCURRENT_COMPILES`].
#[derive(Default)]
pub(crate) struct CompileSlots {
    running: Mutex<usize>,
    freed: Condvar,
}

/// One taken compile slot; dropping it frees the slot.
pub(crate) struct CompileSlot(Arc<CompileSlots>);

impl CompileSlots {
    /// Waits for a free slot and takes it.
    pub(crate) fn take(self: &Arc<Self>) -> CompileSlot {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= MAX_CONCURRENT_COMPILES {
            running = self.freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        CompileSlot(self.clone())
    }
}

impl Drop for CompileSlot {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// The sizes of the pooling instance allocator: faster instantiation and
/// no allocation per instance, in exchange for address space reserved at
/// start-up, about 4 GiB (plus guard pages) for each of
/// `total_component_instances × memories_per_component` linear memories.
/// That is virtual memory, not RAM, but a process with `ulimit -v` or a
/// container with a small address-space limit may not start; that is why
/// pooling is off unless the embedder asks for it.
///
/// A dispatcher on this runtime keeps at most `total_component_instances`
/// live instances unless told fewer (`DispatcherOptions::max_live_instances`),
/// dropping the least recently used first. The pool is shared by every
/// dispatcher on the runtime, so with several an instantiation can still
/// find it full: that is reported as the plugin being unavailable for that
/// event, never as the plugin's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolingLimits {
    /// Plugin instances that may be live at once, across every dispatcher
    /// on this runtime.
    pub total_component_instances: u32,
    /// Core module instances one plugin may contain; a Rust plugin built for
    /// wasm32-wasip2 has a handful.
    pub core_instances_per_component: u32,
    /// Linear memories one plugin may contain.
    pub memories_per_component: u32,
    /// Tables one plugin may contain.
    pub tables_per_component: u32,
    /// The largest linear memory, in bytes. It defaults to the host's
    /// [`MAX_MEMORY`], so that each plugin's own memory cap (its manifest's
    /// `memory`, enforced per instance) stays the limit that applies.
    pub max_memory_size: u64,
    /// The most elements of one table; defaults to [`MAX_TABLE_ELEMENTS`] for
    /// the same reason.
    pub table_elements: u32,
}

impl Default for PoolingLimits {
    fn default() -> Self {
        PoolingLimits {
            total_component_instances: 100,
            core_instances_per_component: 20,
            memories_per_component: 2,
            tables_per_component: 8,
            max_memory_size: MAX_MEMORY,
            table_elements: MAX_TABLE_ELEMENTS,
        }
    }
}

impl PoolingLimits {
    /// The wasmtime allocation strategy these limits make, as the runtime
    /// configures its engine with it (for an application or benchmark that
    /// wants an engine of its own with the same pools).
    pub fn allocation_strategy(&self) -> InstanceAllocationStrategy {
        let instances = self.total_component_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(self.core_instances_per_component))
            .total_memories(instances.saturating_mul(self.memories_per_component))
            .total_tables(instances.saturating_mul(self.tables_per_component))
            .max_core_instances_per_component(self.core_instances_per_component)
            .max_memories_per_component(self.memories_per_component)
            .max_tables_per_component(self.tables_per_component)
            .max_memory_size(usize::try_from(self.max_memory_size).unwrap_or(usize::MAX))
            .table_elements(self.table_elements as usize);
        InstanceAllocationStrategy::Pooling(pool)
    }
}

/// The engine, the linkers holding every world version the host speaks and
/// the WASI interfaces a plugin may import (linked once, shared by every
/// plugin), and the threads plugin code runs on. Cheap to clone: clones
/// share all of it.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    /// For plugins whose component does not import `wasi:http`: none linked.
    sandboxed: Linker<PluginContext>,
    /// The same plus outgoing HTTP, for plugins whose component imports it
    /// (each request checked against the hosts granted).
    networked: Linker<PluginContext>,
    options: RuntimeOptions,
    code_cache: Option<CodeCache>,
    /// The engine's part of every compiled-code key, computed once.
    engine_key: EngineKey,
    executor: Executor,
    compile_slots: Arc<CompileSlots>,
    /// The compiled components loaded plugins use, one per distinct file.
    shared_code: SharedCodes,
    /// The application's own interfaces, linked into both linkers.
    app: AppOffer,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine (component model, epoch interruption), links
    /// both worlds and the sandboxed WASI interfaces, and starts the worker
    /// threads.
    pub fn new() -> Result<Runtime, RuntimeError> {
        Runtime::with_options(RuntimeOptions::default())
    }

    /// Builds the runtime with non-default options.
    pub fn with_options(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        Runtime::with_app_interfaces(options, AppInterfaces::default())
    }

    /// Builds the runtime with the application's own interfaces linked
    /// beside plugboard's worlds, once (see [`crate::app_interfaces`]).
    pub fn with_app_interfaces(options: RuntimeOptions, app: AppInterfaces) -> Result<Runtime, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(options.fuel);
        // The stack cap is per engine in wasmtime, so every plugin shares it.
        config.max_wasm_stack(WASM_STACK);
        if let Some(pooling) = &options.pooling {
            config.allocation_strategy(pooling.allocation_strategy());
        }
        let engine = Engine::new(&config).map_err(|e| RuntimeError(format!("{e:#}")))?;
        let link = |e: wasmtime::Error| RuntimeError(format!("linking the host interfaces: {e:#}"));
        let mut sandboxed = Linker::new(&engine);
        wasi::add_sandboxed(&mut sandboxed).map_err(link)?;
        v1::Plugin::add_to_linker::<PluginContext, HasSelf<PluginContext>>(&mut sandboxed, |c| c).map_err(link)?;
        v2::Plugin::add_to_linker::<PluginContext, HasSelf<PluginContext>>(&mut sandboxed, |c| c).map_err(link)?;
        crate::abi::v3_dev::add_to_linker(&mut sandboxed).map_err(link)?;
        let app = app
            .link(&mut sandboxed)
            .map_err(|e| RuntimeError(format!("linking the application's interfaces: {e:#}")))?;
        let mut networked = sandboxed.clone();
        wasi::add_outgoing_http(&mut networked).map_err(link)?;
        let executor = Executor::start().map_err(|e| RuntimeError(format!("starting the worker threads: {e}")))?;
        let ticker = EpochTicker::start(engine.clone());
        let code_cache = (options.code_cache.clone()).map(|dir| CodeCache::with_cap(dir, options.code_cache_cap));
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine_key: EngineKey::of(&engine),
                engine,
                sandboxed,
                networked,
                code_cache,
                options,
                executor,
                compile_slots: Arc::default(),
                shared_code: SharedCodes::default(),
                app,
                _ticker: ticker,
            }),
        })
    }

    /// The engine every plugin is compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The engine's part of every compiled-code cache key.
    pub(crate) fn engine_key(&self) -> &EngineKey {
        &self.inner.engine_key
    }

    /// The linker for a plugin: with outgoing HTTP only when its component
    /// imports it.
    pub(crate) fn linker(&self, networked: bool) -> &Linker<PluginContext> {
        if networked {
            &self.inner.networked
        } else {
            &self.inner.sandboxed
        }
    }

    pub(crate) fn app_offer(&self) -> &AppOffer {
        &self.inner.app
    }

    pub(crate) fn app_states(&self) -> Arc<AppStates> {
        self.inner.app.states.clone()
    }

    pub(crate) fn shared_code(&self) -> &SharedCodes {
        &self.inner.shared_code
    }

    /// How many distinct compiled components the loaded plugins hold in
    /// memory: plugins loaded from the same component share one.
    pub fn components_in_memory(&self) -> usize {
        self.inner.shared_code.live()
    }

    pub(crate) fn compile_slots(&self) -> &Arc<CompileSlots> {
        &self.inner.compile_slots
    }

    pub(crate) fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    /// The compiled-code cache, when one is configured.
    pub fn code_cache(&self) -> Option<&CodeCache> {
        self.inner.code_cache.as_ref()
    }

    /// How the engine was set up.
    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.options
    }
}
