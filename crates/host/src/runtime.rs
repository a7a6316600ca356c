//! The engine and the one linker every plugin is instantiated through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::{v1, v2};
use crate::context::PluginContext;

/// How often the engine's epoch advances. A call's deadline is counted in
/// these ticks, so it is also the granularity of every deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The wall-clock time a single handler call gets unless its manifest asks
/// for less: generous for real work, short enough that a stuck plugin does
/// not freeze the application for long.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(1);

/// The longest deadline a manifest may ask for.
pub const MAX_CALL_DEADLINE: Duration = Duration::from_secs(60);

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

/// The engine plus a linker holding every world version the host speaks and
/// the WASI interfaces, linked once and shared by every plugin.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginContext>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine (component model, epoch interruption) and links
    /// both worlds and WASI.
    pub fn new() -> Result<Runtime, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| RuntimeError(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        let link = |e: wasmtime::Error| RuntimeError(format!("linking the host interfaces: {e:#}"));
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
        v1::Plugin::add_to_linker::<PluginContext, HasSelf<PluginContext>>(&mut linker, |c| c).map_err(link)?;
        v2::Plugin::add_to_linker::<PluginContext, HasSelf<PluginContext>>(&mut linker, |c| c).map_err(link)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            _ticker: ticker,
        })
    }

    /// The engine every plugin is compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn linker(&self) -> &Linker<PluginContext> {
        &self.linker
    }
}

/// The number of epoch ticks for a deadline, at least one.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let ticks = deadline.as_millis() / EPOCH_TICK.as_millis();
    ticks.max(1) as u64
}
