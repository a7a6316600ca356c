//! TEMPORARY, until the host crate's `Dispatcher` is a shared handle (the
//! commit `host: async calls`): today's dispatcher in a mutex, with the
//! signatures the shared one will have, so the rest of this crate is
//! written against those. Delete this file when that commit is merged.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use plugboard_host::types::Event;
use plugboard_host::{
    AddError, CallEffects, CommandError, CommandOutput, DispatchReport, DispatcherOptions, HostServices, LoadOptions,
    LoadedPlugin, Outcome, PluginLogs, Quarantine, QuarantineRecord, ReloadError, ReloadOutcome, Runtime,
    StrikePolicy, Strikes,
};

/// Today's dispatcher behind a mutex: one call at a time.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Mutex<plugboard_host::Dispatcher>>,
}

impl Dispatcher {
    pub fn new(runtime: &Runtime, services: HostServices) -> Dispatcher {
        Dispatcher::wrap(plugboard_host::Dispatcher::new(runtime, services))
    }

    fn wrap(dispatcher: plugboard_host::Dispatcher) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Mutex::new(dispatcher)),
        }
    }

    /// Applies a builder step of today's dispatcher.
    fn rebuild(self, step: impl FnOnce(plugboard_host::Dispatcher) -> plugboard_host::Dispatcher) -> Dispatcher {
        let Ok(mutex) = Arc::try_unwrap(self.inner) else {
            unreachable!("builder steps run before the handle is cloned");
        };
        Dispatcher::wrap(step(mutex.into_inner().unwrap_or_else(|e| e.into_inner())))
    }

    pub fn with_options(self, options: DispatcherOptions) -> Dispatcher {
        self.rebuild(|d| d.with_options(options))
    }

    pub fn with_logs(self, logs: PluginLogs) -> Dispatcher {
        self.rebuild(|d| d.with_logs(logs))
    }

    pub fn with_quarantine(self, quarantine: Quarantine) -> Dispatcher {
        self.rebuild(|d| d.with_quarantine(quarantine))
    }

    pub fn with_strike_policy(self, policy: StrikePolicy) -> Dispatcher {
        self.rebuild(|d| d.with_strike_policy(policy))
    }

    fn lock(&self) -> MutexGuard<'_, plugboard_host::Dispatcher> {
        // A panic inside a dispatch leaves the dispatcher as usable as any
        // trapped call does.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn dispatch(&self, event: Event) -> DispatchReport {
        self.dispatch_blocking(&event)
    }

    pub fn dispatch_blocking(&self, event: &Event) -> DispatchReport {
        self.lock().dispatch(event)
    }

    pub async fn run_command(&self, plugin: &str, command: &str, args: &[String]) -> Result<CommandOutput, CommandError> {
        self.run_command_blocking(plugin, command, args)
    }

    pub fn run_command_blocking(&self, plugin: &str, command: &str, args: &[String]) -> Result<CommandOutput, CommandError> {
        self.lock().run_command(plugin, command, args)
    }

    pub fn start_all_blocking(&self) -> Vec<(Arc<str>, Result<CallEffects, Outcome>)> {
        self.lock().start_all()
    }

    pub fn add(&self, plugin: LoadedPlugin) -> Result<(), AddError> {
        self.lock().add(plugin)
    }

    pub fn reload_dir(&self, runtime: &Runtime, dir: &Path, options: &LoadOptions) -> Result<ReloadOutcome, ReloadError> {
        // Compiled outside the lock, so dispatching goes on meanwhile.
        let plugin = runtime.load_dir(dir, options).map_err(|error| ReloadError::Load {
            dir: dir.to_path_buf(),
            kept: self.lock().plugins().find(|p| p.dir == dir).map(|p| p.id().to_string()),
            error: Box::new(error),
        })?;
        let id = plugin.id().to_string();
        let version = plugin.manifest.plugin.version.to_string();
        let previous = self.lock().replace(plugin).map_err(ReloadError::Refused)?;
        Ok(match previous {
            Some(old) => ReloadOutcome::Replaced {
                id,
                from: old.manifest.plugin.version.to_string(),
                to: version,
            },
            None => ReloadOutcome::Added { id, version },
        })
    }

    pub fn unload_dir(&self, dir: &Path) -> Option<String> {
        self.lock().unload_dir(dir)
    }

    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        self.lock().plugins().cloned().collect()
    }

    pub fn evict_idle(&self) -> Vec<Arc<str>> {
        self.lock().evict_idle()
    }

    pub fn live_count(&self) -> usize {
        self.lock().live_count()
    }

    pub fn is_live(&self, id: &str) -> bool {
        self.lock().is_live(id)
    }

    pub fn strikes(&self, id: &str) -> Option<Strikes> {
        self.lock().strikes(id).cloned()
    }

    pub fn on_quarantine(&self, listener: impl FnMut(&QuarantineRecord) + Send + 'static) {
        self.lock().on_quarantine(listener)
    }

    pub fn persist_errors(&self) -> Vec<String> {
        self.lock().persist_errors().to_vec()
    }
}
