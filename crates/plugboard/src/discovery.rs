//! Finding the plugins a host opens, in dependency order: the registry does
//! the work; this adds what a development folder must be.

use plugboard_registry::{Blocked, DiscoveryProblem, Loadable, discover, resolve};

use crate::config::HostConfig;
use crate::error::OpenError;
use crate::report::Severity;

/// The plugins the folders hold.
pub(crate) struct Candidates {
    /// Folders that could not be used, or notes on which copy is used.
    pub problems: Vec<DiscoveryProblem>,
    /// The plugins that can load, each after the plugins it depends on.
    pub load: Vec<Loadable>,
    /// The plugins whose dependencies cannot be met.
    pub blocked: Vec<Blocked>,
}

/// Discovers and orders the plugins of `config`'s folders. A development
/// folder must exist and hold a plugin (or at least a broken one, which is
/// reported as a problem); the installed folders may be missing or empty.
pub(crate) fn find(config: &HostConfig) -> Result<Candidates, OpenError> {
    if config.development && !config.plugins_dir.is_dir() {
        return Err(OpenError::NotAFolder {
            dir: config.plugins_dir.clone(),
        });
    }
    let discovery = discover(&config.plugin_dirs());
    let broken = discovery
        .problems
        .iter()
        .any(|problem| Severity::of(&problem.error) == Severity::Error);
    if config.development && discovery.plugins.is_empty() && !broken {
        return Err(OpenError::NoPlugin {
            dir: config.plugins_dir.clone(),
        });
    }
    let order = resolve(&discovery.plugins);
    Ok(Candidates {
        problems: discovery.problems,
        load: order.load,
        blocked: order.blocked,
    })
}
