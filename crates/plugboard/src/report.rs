//! What opening a host did: every folder it could not use, and for every
//! plugin it found whether it was loaded or why not, so that an
//! application can tell its user exactly what runs.

use std::path::PathBuf;

use plugboard_archive::IntegrityError;
use plugboard_contract::plugin_log::format_utc;
use plugboard_host::{LoadError, LoadedPlugin, QuarantineRecord};
use plugboard_registry::{DiscoveryError, DiscoveryProblem, ResolveError};

/// How serious a discovery problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Only says which copy of a plugin is used; nothing is broken.
    Note,
    /// A folder that is not a plugin was skipped.
    Warning,
    /// A plugin could not be used.
    Error,
}

impl Severity {
    /// How serious `error` is.
    pub fn of(error: &DiscoveryError) -> Severity {
        match error {
            DiscoveryError::ShadowedBuiltin { .. }
            | DiscoveryError::BundleNotUsed { .. }
            | DiscoveryError::BundleOfInstalled { .. } => Severity::Note,
            DiscoveryError::NotAPlugin { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// What became of one plugin the folders hold.
#[derive(Debug)]
pub enum PluginStatus {
    /// Loaded: it gets the events it subscribed to and was granted.
    Loaded(Box<LoadedPlugin>),
    /// It has no component: data for the plugins that depend on it.
    DataOnly,
    /// The user disabled it; it was not compiled.
    Disabled,
    /// It is quarantined; it was not compiled.
    Quarantined(QuarantineRecord),
    /// A dependency it needs is missing, too old or itself blocked.
    Blocked(ResolveError),
    /// Its component does not load (the error names the file and why).
    LoadFailed(Box<LoadError>),
    /// A file of the installed plugin changed, went missing or was added
    /// since it was installed (the error names the file); it was not loaded.
    Changed(Box<IntegrityError>),
    /// Another plugin with the same id was loaded first.
    Duplicate,
    /// It is being loaded in the background
    /// ([`crate::HostConfig::load_in_background`]): it receives no events
    /// until it is loaded; [`crate::Host::wait_until_loaded`] and the
    /// reload listener tell what became of it.
    Compiling,
}

impl std::fmt::Display for PluginStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginStatus::Loaded(plugin) => match plugin.world() {
                Some(world) => write!(f, "loaded ({})", world.version),
                None => f.write_str("loaded"),
            },
            PluginStatus::DataOnly => f.write_str("data only (no component)"),
            PluginStatus::Disabled => f.write_str("disabled"),
            PluginStatus::Quarantined(record) => write!(
                f,
                "quarantined since {} for {}: {}",
                format_utc(record.at),
                record.kind,
                record.reason
            ),
            PluginStatus::Blocked(error) => write!(f, "cannot load: {error}"),
            PluginStatus::LoadFailed(error) => write!(f, "does not load: {error}"),
            PluginStatus::Changed(error) => write!(f, "not loaded: {error}"),
            PluginStatus::Duplicate => f.write_str("not loaded: a plugin with this id was loaded first"),
            PluginStatus::Compiling => f.write_str("compiling in the background (no events until it is loaded)"),
        }
    }
}

/// One plugin the folders hold, in load order (blocked plugins last).
#[derive(Debug)]
pub struct PluginReport {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Optional dependencies it runs without.
    pub optional_missing: Vec<ResolveError>,
    /// What became of it.
    pub status: PluginStatus,
}

/// A `[config]` override for a key the plugin's manifest does not declare;
/// it is passed on anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    /// The plugin.
    pub plugin: String,
    /// The key it does not declare.
    pub key: String,
    /// The keys it declares.
    pub known: Vec<String>,
}

/// What [`crate::Host::open`] did.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// The plugin folders, for messages: `DIR (builtin: DIR)`.
    pub folders: String,
    /// The grants file in force; `None` when every manifest is trusted or
    /// the application brought its own grant store.
    pub grants_file: Option<PathBuf>,
    /// Folders that could not be used, or notes on which copy is used.
    pub problems: Vec<DiscoveryProblem>,
    /// Every plugin found, in load order.
    pub plugins: Vec<PluginReport>,
    /// Setting overrides for keys the plugins do not declare.
    pub unknown_settings: Vec<UnknownSetting>,
}

impl OpenReport {
    /// The plugins loaded, in load order.
    pub fn loaded(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.plugins.iter().filter_map(|plugin| match &plugin.status {
            PluginStatus::Loaded(loaded) => Some(&**loaded),
            _ => None,
        })
    }

    /// The plugins with the given status.
    pub fn with_status(&self, wanted: fn(&PluginStatus) -> bool) -> impl Iterator<Item = &PluginReport> {
        self.plugins.iter().filter(move |plugin| wanted(&plugin.status))
    }

    /// How many folders or plugins could not be used: discovery errors,
    /// blocked plugins, plugins that do not load and duplicates. Disabled,
    /// quarantined and data-only plugins are the user's choice or by
    /// design, so they do not count.
    pub fn failures(&self) -> usize {
        let problems = self
            .problems
            .iter()
            .filter(|problem| Severity::of(&problem.error) == Severity::Error)
            .count();
        let plugins = self
            .plugins
            .iter()
            .filter(|plugin| {
                matches!(
                    plugin.status,
                    PluginStatus::Blocked(_)
                        | PluginStatus::LoadFailed(_)
                        | PluginStatus::Changed(_)
                        | PluginStatus::Duplicate
                )
            })
            .count();
        problems + plugins
    }
}
