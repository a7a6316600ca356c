//! Opening a host: the stores the application brings (or the defaults),
//! then discovery, dependency order, the disabled list, the quarantine,
//! grants, loading through the compiled-code cache, and the background
//! thread for hot reload and idle unload.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use plugboard_contract::conduct::InMemoryQuarantine;
use plugboard_contract::grants::GrantStore;
use plugboard_contract::{Clock, system_clock};
use plugboard_contract::{PluginLogSink, QuarantineStore};
use plugboard_host::{
    AppInterface, AppInterfaceError, AppInterfaces, DispatcherOptions, HostServices, InMemoryStateStore,
    InMemoryTaskStore, LoadError, LoadOptions, Runtime, StateStore, TaskStore,
};
use plugboard_registry::{Loadable, Watcher};
use plugboard_state::{GrantsFileStore, PluginLogFiles, QuarantineFile, SqliteStateStore};

use crate::background::{Background, Duties};
use crate::compiling::{self, BackgroundLoading, CompileHook, Job, Note, Settler};
use crate::config::HostConfig;
use crate::disabled::DisabledPlugins;
use crate::discovery::{self, Candidates};
use crate::error::OpenError;
use crate::granting::{self, Granting};
use crate::host::{Host, Shared};
use crate::lifecycle::LifecycleBus;
use crate::reload::{Reload, ReloadListener, Reloader};
use crate::report::{OpenReport, PluginReport, PluginStatus};
use crate::settings;
use crate::timers::{TimerFiring, TimerListener};
use plugboard_host::Dispatcher;

/// A callback told of each plugin about to be compiled: how many were
/// handled before it, how many there are, its id.
type Progress<'a> = Box<dyn FnMut(usize, usize, &str) + 'a>;

/// Opens a [`Host`] with the application's own stores; see [`Host::builder`].
pub struct HostBuilder<'a> {
    config: HostConfig,
    tasks: Option<Arc<dyn TaskStore>>,
    state: Option<Arc<dyn StateStore>>,
    grants: Option<Arc<dyn GrantStore>>,
    quarantine: Option<Box<dyn QuarantineStore>>,
    logs: Option<Arc<dyn PluginLogSink>>,
    clock: Option<Clock>,
    on_reload: Option<ReloadListener>,
    on_timer: Option<TimerListener>,
    progress: Option<Progress<'a>>,
    before_compile: Option<CompileHook>,
    app: AppInterfaces,
    app_error: Option<AppInterfaceError>,
}

impl<'a> HostBuilder<'a> {
    pub(crate) fn new(config: HostConfig) -> Self {
        HostBuilder {
            config,
            tasks: None,
            state: None,
            grants: None,
            quarantine: None,
            logs: None,
            clock: None,
            on_reload: None,
            on_timer: None,
            progress: None,
            before_compile: None,
            app: AppInterfaces::default(),
            app_error: None,
        }
    }

    /// The application's tasks; without it, an empty in-memory store.
    pub fn task_store(mut self, tasks: Arc<dyn TaskStore>) -> Self {
        self.tasks = Some(tasks);
        self
    }

    /// Where plugins keep their state; without it, the SQLite file in the
    /// data folder (a fresh in-memory store for a development folder).
    pub fn state_store(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// Where the user's grants are read from, again for every plugin
    /// reloaded; without it, the grants file (`plugboard.toml`) in the
    /// config folder. Ignored when the config trusts manifests.
    pub fn grant_store(mut self, grants: Arc<dyn GrantStore>) -> Self {
        self.grants = Some(grants);
        self
    }

    /// Where quarantine records and strikes are kept; without it,
    /// `quarantine.json` and `strikes.json` in the data folder (in memory,
    /// for this run only, for a development folder).
    pub fn quarantine_store(mut self, quarantine: impl QuarantineStore + 'static) -> Self {
        self.quarantine = Some(Box::new(quarantine));
        self
    }

    /// Where each plugin's log and audit lines are written; without it, the
    /// rotated files in `logs/` in the data folder.
    pub fn plugin_logs(mut self, logs: Arc<dyn PluginLogSink>) -> Self {
        self.logs = Some(logs);
        self
    }

    /// The clock plugins and the host read; without it, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Calls `listener` with every hot reload: on the host's background
    /// thread for what the watcher saw, on the caller's for
    /// [`Host::reload_now`]. It must not keep a [`Host`] handle of its own:
    /// that would keep the host running until [`Host::shutdown`].
    pub fn on_reload(mut self, listener: impl Fn(&Reload) + Send + Sync + 'static) -> Self {
        self.on_reload = Some(Arc::new(listener));
        self
    }

    /// Calls `listener` with every timer firing once it has run, on the
    /// host's background thread, when the config asks to fire timers
    /// ([`HostConfig::fire_timers`]). It must not keep a [`Host`] handle of
    /// its own.
    pub fn on_timer(mut self, listener: impl FnMut(&TimerFiring) + Send + 'static) -> Self {
        self.on_timer = Some(Box::new(listener));
        self
    }

    /// Calls `progress(started, total, id)` on the opening thread as each
    /// plugin starts compiling (or being taken from the code cache); several
    /// compile at once, so `started` counts those started before it. Not
    /// called for plugins loaded in the background.
    pub fn on_progress(mut self, progress: impl FnMut(usize, usize, &str) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Calls `hook(id)` on a loader thread just before each plugin is
    /// loaded; that plugin's load waits for the hook to return, the others'
    /// do not. For an application's own progress display, and for tests
    /// that hold one plugin's compile.
    pub fn before_compile(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.before_compile = Some(Arc::new(hook));
        self
    }

    /// Offers plugins one of the application's own interfaces (see
    /// [`AppInterface`]): linked beside plugboard's worlds, callable by a
    /// plugin granted its permission, under the plugin's limits. A package
    /// that clashes with one offered before makes [`HostBuilder::open`] fail
    /// with [`OpenError::AppInterface`].
    pub fn app_interface(mut self, interface: AppInterface) -> Self {
        if let Err(e) = self.app.add(interface) {
            self.app_error.get_or_insert(e);
        }
        self
    }

    /// Opens the host: finds and loads the plugins, says what became of
    /// each, and starts watching and sweeping when the config asks for it.
    /// Plugins are started on their first event (or [`Host::start_all_blocking`]).
    pub fn open(mut self) -> Result<Host, OpenError> {
        if let Some(e) = self.app_error.take() {
            return Err(OpenError::AppInterface(e));
        }
        let app = std::mem::take(&mut self.app);
        let config = &self.config;
        let (grants, grants_file): (Arc<dyn GrantStore>, _) = match self.grants.take() {
            Some(grants) => (grants, None),
            None => {
                let file = GrantsFileStore::new(&config.config_dir);
                let path = file.path().to_owned();
                (Arc::new(file), Some(path))
            }
        };
        let granting = Granting::read(config, &*grants)?;
        let quarantine = match self.quarantine.take() {
            Some(quarantine) => quarantine,
            // A plugin under development is not the installed plugin of the
            // same id: its strikes and quarantine last for this run only.
            None if config.development => Box::new(InMemoryQuarantine::new()),
            None => Box::new(QuarantineFile::open(&config.data_dir)?),
        };
        let logs = match self.logs.take() {
            Some(logs) => logs,
            None => Arc::new(PluginLogFiles::new(&config.data_dir)),
        };
        let disabled = DisabledPlugins::open(&config.data_dir)?;
        let runtime = Runtime::with_app_interfaces(config.runtime.clone(), app)?;
        let candidates = discovery::find(config)?;
        let folders = config.describe_folders();
        let unknown_settings = settings::check(&config.settings, &candidates.load, &folders)?;
        let services = self.services()?;
        let config = &self.config;

        let dispatcher = Dispatcher::new(&runtime, services.clone())
            .with_options(DispatcherOptions {
                idle_timeout: config.idle_timeout,
                max_live_instances: config.max_live_instances,
                budget: config.budget,
                ..DispatcherOptions::default()
            })
            .with_quarantine(quarantine)
            .with_logs(logs)
            .with_strike_policy(config.strike_policy.clone());
        let lifecycle = Arc::new(LifecycleBus::default());
        let bus = lifecycle.clone();
        dispatcher.on_quarantine(move |record| bus.quarantined(record));
        let bus = lifecycle.clone();
        dispatcher.on_instance(move |event| bus.instance(event));
        let mut report = OpenReport {
            folders,
            grants_file: grants_file.filter(|_| !config.trust_manifests),
            unknown_settings,
            ..OpenReport::default()
        };
        let loading = Loading {
            runtime: &runtime,
            dispatcher: &dispatcher,
            granting: &granting,
            disabled: &disabled,
            config,
        };
        let in_background = loading.load_all(
            candidates,
            &mut report,
            self.progress.as_mut(),
            self.before_compile.take(),
        )?;
        lifecycle.opened(&report.plugins);
        let background_loading = match in_background {
            Some(work) => {
                let loading = Arc::new(BackgroundLoading::new(work.stop.clone()));
                compiling::settle_in_background(
                    work.settler,
                    work.notes,
                    work.reports,
                    loading.clone(),
                    self.on_reload.clone(),
                    lifecycle.clone(),
                )
                .map_err(OpenError::Thread)?;
                Some(loading)
            }
            None => None,
        };

        let watcher = match config.watch {
            true => Some(Watcher::new(&config.plugin_dirs(), config.watch_debounce)?),
            false => None,
        };
        let reloader = Arc::new(Reloader {
            runtime,
            dispatcher: dispatcher.clone(),
            config: self.config.clone(),
            grants,
            listener: self.on_reload.take(),
            lifecycle: lifecycle.clone(),
        });
        let duties = Duties {
            watcher,
            idle_timeout: self.config.idle_timeout,
            timers: self.config.fire_timers.then(|| self.on_timer.take()),
        };
        let background = Background::start(reloader.clone(), duties).map_err(OpenError::Thread)?;
        Ok(Host {
            shared: Arc::new(Shared {
                dispatcher,
                services,
                reloader,
                report,
                background: Mutex::new(background),
                loading: background_loading,
                lifecycle,
            }),
        })
    }

    /// The application's stores, or the defaults.
    fn services(&mut self) -> Result<HostServices, OpenError> {
        let state: Arc<dyn StateStore> = match self.state.take() {
            Some(state) => state,
            None if self.config.development => Arc::new(InMemoryStateStore::new()),
            None => {
                let dir = &self.config.data_dir;
                std::fs::create_dir_all(dir).map_err(|source| OpenError::DataDir {
                    dir: dir.clone(),
                    source,
                })?;
                Arc::new(SqliteStateStore::open(&self.config.state_file())?)
            }
        };
        Ok(HostServices {
            tasks: self.tasks.take().unwrap_or_else(|| Arc::new(InMemoryTaskStore::new())),
            state,
            clock: self.clock.take().unwrap_or_else(system_clock),
        })
    }
}

/// What loading the plugins found reads.
struct Loading<'c> {
    runtime: &'c Runtime,
    dispatcher: &'c Dispatcher,
    granting: &'c Granting,
    disabled: &'c DisabledPlugins,
    config: &'c HostConfig,
}

/// Plugins left to load in the background once opening returns.
struct InBackground {
    settler: Settler,
    notes: std::sync::mpsc::Receiver<Note>,
    /// One report per job, its status still to be decided.
    reports: Vec<PluginReport>,
    stop: Arc<AtomicBool>,
}

impl Loading<'_> {
    /// Reports on every plugin found; loads every plugin that may load
    /// (several at once, on loader threads), leaving disabled and
    /// quarantined ones uncompiled. Waits for them, or, when the config
    /// loads in the background, returns what is left to settle.
    fn load_all(
        &self,
        candidates: Candidates,
        report: &mut OpenReport,
        mut progress: Option<&mut Progress<'_>>,
        hook: Option<CompileHook>,
    ) -> Result<Option<InBackground>, OpenError> {
        report.problems = candidates.problems;
        let mut jobs = Vec::new();
        for loadable in candidates.load {
            let status = match self.status_before_compiling(&loadable) {
                Some(status) => status,
                None => {
                    jobs.push(Job {
                        slot: report.plugins.len(),
                        manifest: loadable.plugin.manifest.clone(),
                        dir: loadable.plugin.dir.clone(),
                        options: LoadOptions {
                            files_dir: Some(self.config.files_dir()),
                            ..self.granting.options_for(&loadable.plugin, &self.config.settings)
                        },
                    });
                    PluginStatus::Compiling
                }
            };
            report.plugins.push(PluginReport {
                id: loadable.plugin.id().as_str().to_string(),
                version: loadable.plugin.version().to_string(),
                dir: loadable.plugin.dir,
                optional_missing: loadable.skipped,
                status,
            });
        }
        for blocked in candidates.blocked {
            report.plugins.push(PluginReport {
                id: blocked.plugin.id().as_str().to_string(),
                version: blocked.plugin.version().to_string(),
                dir: blocked.plugin.dir,
                optional_missing: Vec::new(),
                status: PluginStatus::Blocked(blocked.error),
            });
        }
        if jobs.is_empty() {
            return Ok(None);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let notes = compiling::start(self.runtime, &jobs, hook, stop.clone()).map_err(OpenError::Thread)?;
        let mut settler = Settler::new(self.dispatcher, &jobs);
        if self.config.load_in_background {
            let reports = jobs
                .iter()
                .map(|job| {
                    let entry = &report.plugins[job.slot];
                    PluginReport {
                        id: entry.id.clone(),
                        version: entry.version.clone(),
                        dir: entry.dir.clone(),
                        optional_missing: entry.optional_missing.clone(),
                        status: PluginStatus::Compiling,
                    }
                })
                .collect();
            return Ok(Some(InBackground {
                settler,
                notes,
                reports,
                stop,
            }));
        }
        let (mut started, mut done) = (0, 0);
        while done < jobs.len() {
            match notes.recv() {
                Ok(Note::Started(index)) => {
                    if let Some(progress) = progress.as_mut() {
                        progress(started, jobs.len(), settler.id(index));
                    }
                    started += 1;
                }
                Ok(Note::Done(index, result)) => {
                    settler.done(index, result);
                    done += 1;
                }
                // Every loader thread ended without loading the rest.
                Err(_) => break,
            }
        }
        for (index, status) in settler.settle_ready() {
            report.plugins[jobs[index].slot].status = status;
        }
        for job in &jobs {
            let entry = &mut report.plugins[job.slot];
            if matches!(entry.status, PluginStatus::Compiling) {
                entry.status = PluginStatus::LoadFailed(Box::new(LoadError::Compile {
                    plugin: entry.id.clone(),
                    path: entry.dir.clone(),
                    message: "its loader thread stopped before loading it (a bug in plugboard, not the plugin)"
                        .to_string(),
                }));
            }
        }
        Ok(None)
    }

    /// What becomes of a plugin without compiling it: its installed files
    /// changed, it has no code, is disabled or is quarantined; `None` when
    /// it is to be loaded.
    fn status_before_compiling(&self, loadable: &Loadable) -> Option<PluginStatus> {
        let plugin = &loadable.plugin;
        let id = plugin.id().as_str();
        if let Err(error) = granting::check_files(plugin) {
            return Some(PluginStatus::Changed(Box::new(error)));
        }
        if !plugin.has_code() {
            return Some(PluginStatus::DataOnly);
        }
        if self.disabled.contains(id) {
            return Some(PluginStatus::Disabled);
        }
        if let Some(record) = self.dispatcher.quarantined(id) {
            return Some(PluginStatus::Quarantined(record));
        }
        None
    }
}
