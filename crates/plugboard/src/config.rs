//! What a host is opened on: the plugin folders, the folders where the
//! user's decisions and the plugins' data are kept, and the few choices an
//! application makes (development folder, trusting manifests, setting
//! overrides, hot reload, idle unload).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plugboard_host::dispatcher::DispatchBudget;
use plugboard_host::{RuntimeOptions, StrikePolicy};
use plugboard_registry::PluginDirs;

/// The file in the data folder that keeps every installed plugin's state.
pub const STATE_FILE: &str = "state.sqlite3";

/// The folder in the data folder that keeps compiled code.
pub const CODE_CACHE_FOLDER: &str = "code-cache";

/// The folder in the data folder that holds each installed plugin's own
/// folder (`files.private`), `files/<id>`.
pub const FILES_FOLDER: &str = "files";

/// The same for plugins under development (`HostConfig::development`), so
/// that a plugin under development never writes into the installed one's.
pub const DEV_FILES_FOLDER: &str = "dev-files";

/// How long a plugin folder must stay quiet before a change is reloaded,
/// so that an install or a rebuild writing many files is one reload.
pub const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// Setting overrides: plugin id → key → value, as `--set ID.KEY=VALUE` gives them.
pub type Settings = BTreeMap<String, BTreeMap<String, String>>;

/// Everything [`crate::Host::open`] needs to know. Make one with
/// [`HostConfig::new`] and change the fields that differ.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The user's plugins folder: one subfolder per plugin (each may bundle
    /// its dependencies in `deps/`). A plugin here hides a builtin one of the
    /// same id.
    pub plugins_dir: PathBuf,
    /// The plugins the application ships, loaded but never removed; `None`
    /// when it ships none.
    pub builtin_dir: Option<PathBuf>,
    /// Where the user's grants are (`plugboard.toml`).
    pub config_dir: PathBuf,
    /// Where the quarantine and strikes (`quarantine.json`, `strikes.json`),
    /// the disabled list (`disabled.json`), plugin state ([`STATE_FILE`]),
    /// plugin logs (`logs/`) and compiled code ([`CODE_CACHE_FOLDER`]) are kept.
    pub data_dir: PathBuf,
    /// `plugins_dir` is a folder of plugins under development rather than
    /// the installed ones: it must exist and hold at least one plugin, and
    /// the plugins get a fresh in-memory state store (unless the builder is
    /// given one) and strikes and quarantine kept in memory for this run
    /// (unless the builder is given a quarantine store), so a plugin under
    /// development never writes into the state of an installed plugin of
    /// the same id, nor strikes or quarantines it.
    pub development: bool,
    /// Give every plugin everything its manifest requests and ignore the
    /// grants file: for developing one's own plugins, never for a stranger's.
    pub trust_manifests: bool,
    /// Overrides of plugins' `[config]` settings. Each plugin id must be one
    /// the folders hold; a key the manifest does not declare is passed on
    /// and reported.
    pub settings: Settings,
    /// Watch the plugin folders while the host runs and swap in plugins
    /// whose files changed (the old build keeps running if the new one does
    /// not load), load new ones and unload deleted ones.
    pub watch: bool,
    /// How long a changed folder must stay quiet before it is reloaded.
    pub watch_debounce: Duration,
    /// Fire the timers the plugins' manifests declare while the host runs,
    /// each for the plugin that declared it (see [`crate::TimerFiring`] and
    /// [`crate::HostBuilder::on_timer`]): at most
    /// [`crate::MAX_FIRINGS_PER_SECOND`] firings per plugin per second, and
    /// a timer whose previous firing still runs is skipped.
    pub fire_timers: bool,
    /// Drop a plugin's instance after it has been idle this long, whether
    /// or not events come; its next event starts it again.
    pub idle_timeout: Option<Duration>,
    /// Keep at most this many live plugin instances, dropping the least
    /// recently used.
    pub max_live_instances: Option<usize>,
    /// The bounds on everything one application event causes.
    pub budget: DispatchBudget,
    /// When a plugin that keeps misbehaving is quarantined.
    pub strike_policy: StrikePolicy,
    /// Return from opening before the plugins are compiled, and compile
    /// them in the background instead: each is added when it is ready (the
    /// reload listener hears `Added`, or `Failed` with why), and until then
    /// it is simply not loaded, so an event dispatched meanwhile reaches the
    /// plugins already loaded and is neither delayed nor kept for it. Off
    /// by default: opening waits until every plugin is loaded or refused
    /// (compiling several at once), so the open report is complete.
    pub load_in_background: bool,
    /// How the engine is set up; [`HostConfig::new`] points its code cache
    /// at [`CODE_CACHE_FOLDER`] in the data folder.
    pub runtime: RuntimeOptions,
}

impl HostConfig {
    /// The folder holding each plugin's own folder: [`FILES_FOLDER`] in the
    /// data folder, [`DEV_FILES_FOLDER`] for a development run.
    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join(if self.development {
            DEV_FILES_FOLDER
        } else {
            FILES_FOLDER
        })
    }

    /// The installed plugins in `plugins_dir`, the user's grants in
    /// `config_dir`, everything else in `data_dir`; no builtin plugins, no
    /// watching, no idle unload, the default dispatch budget and strike
    /// thresholds, no timers fired, and compiled code cached in the data
    /// folder.
    pub fn new(plugins_dir: impl Into<PathBuf>, config_dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        HostConfig {
            plugins_dir: plugins_dir.into(),
            builtin_dir: None,
            config_dir: config_dir.into(),
            runtime: RuntimeOptions {
                code_cache: Some(data_dir.join(CODE_CACHE_FOLDER)),
                ..RuntimeOptions::default()
            },
            data_dir,
            development: false,
            trust_manifests: false,
            settings: Settings::new(),
            watch: false,
            watch_debounce: DEFAULT_WATCH_DEBOUNCE,
            fire_timers: false,
            idle_timeout: None,
            max_live_instances: None,
            budget: DispatchBudget::default(),
            strike_policy: StrikePolicy::default(),
            load_in_background: false,
        }
    }

    /// The plugin folders to search.
    pub fn plugin_dirs(&self) -> PluginDirs {
        PluginDirs {
            builtin: self.builtin_dir.clone(),
            user: self.plugins_dir.clone(),
        }
    }

    /// The plugin folders, for messages: `DIR` or `DIR (builtin: DIR)`.
    pub fn describe_folders(&self) -> String {
        describe_dirs(&self.plugins_dir, self.builtin_dir.as_deref())
    }

    /// The state database of the installed plugins.
    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join(STATE_FILE)
    }
}

/// `DIR` or `DIR (builtin: DIR)`.
pub fn describe_dirs(user: &Path, builtin: Option<&Path>) -> String {
    match builtin {
        Some(builtin) => format!("{} (builtin: {})", user.display(), builtin.display()),
        None => user.display().to_string(),
    }
}
