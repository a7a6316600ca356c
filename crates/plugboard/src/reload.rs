//! Hot reload: a plugin folder that changed while the host runs is loaded
//! again and swapped in (the old build keeps running when the new one does
//! not load), a new one is added, a deleted one unloaded; each outcome is
//! reported to the application.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugboard_archive::IntegrityError;
use plugboard_contract::grants::{GrantStore, GrantStoreError};
use plugboard_host::{ReloadError, ReloadOutcome, Runtime};
use plugboard_manifest::{Manifest, ManifestError};
use plugboard_registry::{Discovered, DiscoveryError, Origin, ReloadEvent, ResolveError, discover, resolve};

use crate::config::HostConfig;
use crate::disabled::{DisabledError, DisabledPlugins};
use crate::granting::{self, Granting};
use crate::lifecycle::LifecycleBus;
use crate::report::Severity;
use plugboard_host::Dispatcher;

/// What the host did about one plugin folder while it ran.
#[derive(Debug)]
pub enum Reload {
    /// A new build replaced the running one.
    Replaced {
        /// The plugin id.
        id: String,
        /// The version that was running.
        from: String,
        /// The version now running.
        to: String,
    },
    /// A plugin that was not loaded is now.
    Added {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
    /// A plugin's folder was deleted, so it was unloaded.
    Unloaded {
        /// The plugin id.
        id: String,
        /// Its folder, now gone.
        dir: PathBuf,
    },
    /// A folder no plugin was running from was deleted.
    Deleted {
        /// The folder.
        dir: PathBuf,
    },
    /// The folder's plugin is disabled, so it was not loaded.
    Disabled {
        /// The plugin id.
        id: String,
        /// Its folder.
        dir: PathBuf,
    },
    /// Nothing was swapped in; a build that was running keeps running.
    Failed {
        /// The plugin folder.
        dir: PathBuf,
        /// Why.
        error: ReloadFailure,
    },
}

/// Why a plugin folder could not be reloaded.
#[derive(Debug, thiserror::Error)]
pub enum ReloadFailure {
    /// Its `plugin.toml` cannot be read or is not valid.
    #[error(transparent)]
    Manifest(Box<ManifestError>),
    /// Its new build does not load, or the plugin is quarantined.
    #[error(transparent)]
    Load(#[from] ReloadError),
    /// A dependency it needs is missing, too old or blocked.
    #[error("{}: not reloading it (a build that was running keeps running): {error}", dir.display())]
    Blocked {
        /// The plugin folder.
        dir: PathBuf,
        /// What is missing.
        error: Box<ResolveError>,
    },
    /// The folder is no usable plugin folder.
    #[error(transparent)]
    Discovery(Box<DiscoveryError>),
    /// The grants cannot be read (the message names where and what to do).
    #[error("{0}; the plugin was not reloaded")]
    Grants(#[from] GrantStoreError),
    /// The disabled list cannot be read.
    #[error("{0}; the plugin was not reloaded")]
    Disabled(#[from] DisabledError),
    /// A plugin the host was loading in the background did not load
    /// ([`crate::HostConfig::load_in_background`]).
    #[error("`{id}` {status}")]
    Loading {
        /// The plugin id.
        id: String,
        /// What became of it, e.g. `does not load: ...`.
        status: String,
    },
    /// A file of the installed plugin is not what was installed.
    #[error("{0}; the plugin was not reloaded")]
    Changed(Box<IntegrityError>),
}

impl fmt::Display for Reload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reload::Replaced { id, from, to } => write!(f, "{id} {from} -> {to} swapped in"),
            Reload::Added { id, version } => write!(f, "{id} {version} added"),
            Reload::Unloaded { id, dir } => write!(f, "{id} unloaded ({} was deleted)", dir.display()),
            Reload::Deleted { dir } => write!(f, "{} was deleted (no plugin was running from it)", dir.display()),
            Reload::Disabled { id, dir } => write!(
                f,
                "{id} in {} is disabled, so it was not loaded (`plugboard enable {id}` lets it load)",
                dir.display()
            ),
            Reload::Failed { error, .. } => write!(f, "not reloaded: {error}"),
        }
    }
}

/// A callback that hears every reload, on the host's background thread.
pub type ReloadListener = Arc<dyn Fn(&Reload) + Send + Sync>;

/// What reloading needs; shared by the host and its background thread.
pub(crate) struct Reloader {
    pub runtime: Runtime,
    pub dispatcher: Dispatcher,
    pub config: HostConfig,
    /// Read again for every plugin reloaded.
    pub grants: Arc<dyn GrantStore>,
    pub listener: Option<ReloadListener>,
    /// Told of every reload as a lifecycle event.
    pub lifecycle: Arc<LifecycleBus>,
}

impl Reloader {
    /// Applies what the watcher saw, and tells the listener: a plugin whose
    /// dependencies cannot be met is not loaded, as when the host opened.
    pub fn apply(&self, event: ReloadEvent) -> Reload {
        let reload = match event {
            ReloadEvent::Removed(dir) => self.unload(dir),
            ReloadEvent::Added(dir) | ReloadEvent::Changed(dir) => match self.blocked(&dir) {
                Some(error) => Reload::Failed {
                    error: ReloadFailure::Blocked {
                        dir: dir.clone(),
                        error: Box::new(error),
                    },
                    dir,
                },
                None => self.reload(&dir),
            },
        };
        self.tell(&reload);
        reload
    }

    /// Loads every plugin folder again, in dependency order, swapping in
    /// each that loads, and unloads the plugins whose folder is gone;
    /// tells the listener of each. A plugin whose dependencies cannot be met
    /// is not reloaded (a build that was running keeps running).
    pub fn reload_all(&self) -> Vec<Reload> {
        let discovery = discover(&self.config.plugin_dirs());
        let order = resolve(&discovery.plugins);
        let mut reloads = Vec::new();
        for problem in discovery.problems {
            if Severity::of(&problem.error) == Severity::Error {
                reloads.push(Reload::Failed {
                    dir: problem.dir,
                    error: ReloadFailure::Discovery(Box::new(problem.error)),
                });
            }
        }
        let present: BTreeSet<&Path> = order.load.iter().map(|l| l.plugin.dir.as_path()).collect();
        for gone in self
            .dispatcher
            .plugins()
            .iter()
            .filter(|p| !present.contains(p.dir.as_path()))
        {
            reloads.push(self.unload(gone.dir.clone()));
        }
        for loadable in order.load.iter().filter(|l| l.plugin.has_code()) {
            reloads.push(self.reload(&loadable.plugin.dir));
        }
        for blocked in order.blocked {
            reloads.push(Reload::Failed {
                dir: blocked.plugin.dir.clone(),
                error: ReloadFailure::Blocked {
                    dir: blocked.plugin.dir,
                    error: Box::new(blocked.error),
                },
            });
        }
        for reload in &reloads {
            self.tell(reload);
        }
        reloads
    }

    /// Why the plugin in `dir` cannot load as the folders are now, if its
    /// dependencies cannot be met.
    fn blocked(&self, dir: &Path) -> Option<ResolveError> {
        let discovery = discover(&self.config.plugin_dirs());
        resolve(&discovery.plugins)
            .blocked
            .into_iter()
            .find(|blocked| blocked.plugin.dir == dir)
            .map(|blocked| blocked.error)
    }

    fn tell(&self, reload: &Reload) {
        tracing::info!(%reload, "hot reload");
        self.lifecycle.reloaded(reload);
        if let Some(listener) = &self.listener {
            listener(reload);
        }
    }

    fn unload(&self, dir: PathBuf) -> Reload {
        match self.dispatcher.unload_dir(&dir) {
            Some(id) => Reload::Unloaded { id, dir },
            None => Reload::Deleted { dir },
        }
    }

    /// Loads the plugin in `dir` with the grants and disabled list as they
    /// are now, and swaps it in.
    fn reload(&self, dir: &Path) -> Reload {
        match self.try_reload(dir) {
            Ok(reload) => reload,
            Err(error) => Reload::Failed {
                dir: dir.to_path_buf(),
                error,
            },
        }
    }

    fn try_reload(&self, dir: &Path) -> Result<Reload, ReloadFailure> {
        let manifest = Manifest::from_dir(dir).map_err(|e| ReloadFailure::Manifest(Box::new(e)))?;
        let id = manifest.plugin.id.as_str().to_string();
        if DisabledPlugins::open(&self.config.data_dir)?.contains(&id) {
            return Ok(Reload::Disabled {
                id,
                dir: dir.to_path_buf(),
            });
        }
        // The copy discovery finds in this folder: where it is installed
        // decides which grants it gets and which digests it is checked against.
        let discovery = discover(&self.config.plugin_dirs());
        let plugin = discovery
            .plugins
            .into_iter()
            .find(|plugin| plugin.dir == dir)
            .unwrap_or(Discovered {
                manifest,
                dir: dir.to_path_buf(),
                origin: Origin::User,
            });
        granting::check_files(&plugin).map_err(|error| ReloadFailure::Changed(Box::new(error)))?;
        let options = plugboard_host::LoadOptions {
            files_dir: Some(self.config.files_dir()),
            ..Granting::read(&self.config, &*self.grants)?.options_for(&plugin, &self.config.settings)
        };
        Ok(match self.dispatcher.reload_dir(&self.runtime, dir, &options)? {
            ReloadOutcome::Replaced { id, from, to } => Reload::Replaced { id, from, to },
            ReloadOutcome::Added { id, version } => Reload::Added { id, version },
        })
    }
}
