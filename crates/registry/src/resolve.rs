//! Ordering plugins by their `[dependencies]`: which can load, in what order, and why
//! the others cannot.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use plugboard_manifest::PluginId;
use semver::{Version, VersionReq};

use crate::Discovered;

/// What [`resolve`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOrder {
    /// The plugins that can load, every one after the plugins it depends on; among
    /// plugins free to load at the same point, by id.
    pub load: Vec<Loadable>,
    /// The plugins that cannot load, by id.
    pub blocked: Vec<Blocked>,
}

impl LoadOrder {
    /// The ids of the plugins that can load, in load order.
    pub fn ids(&self) -> impl Iterator<Item = &PluginId> {
        self.load.iter().map(|loadable| loadable.plugin.id())
    }
}

/// A plugin that can load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loadable {
    /// The plugin.
    pub plugin: Discovered,
    /// Its optional dependencies that it will run without, each with the reason (the
    /// error it would have been, were the dependency required).
    pub skipped: Vec<ResolveError>,
}

/// A plugin that cannot load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The plugin.
    pub plugin: Discovered,
    /// Why: the first of its required dependencies (by id) that cannot be satisfied.
    pub error: ResolveError,
}

/// Why a plugin cannot load. The chain starts at that plugin and follows its
/// dependencies to the one that fails: `a -> b -> c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The last plugin of the chain is not installed.
    #[error(
        "{}: {} is not installed ({} needs {} {requirement}); install it",
        Chain(chain),
        last(chain),
        before_last(chain),
        last(chain)
    )]
    Missing {
        /// From the plugin that cannot load to the missing one.
        chain: Vec<PluginId>,
        /// What the plugin before it requires of it.
        requirement: VersionReq,
    },

    /// The last plugin of the chain is installed in a version the one before it does
    /// not work with.
    #[error(
        "{}: requires {requirement}, installed {installed}; install a version of {} that matches",
        Chain(chain),
        last(chain)
    )]
    Incompatible {
        /// From the plugin that cannot load to the incompatible one.
        chain: Vec<PluginId>,
        /// What the plugin before it requires.
        requirement: VersionReq,
        /// The version installed.
        installed: Version,
    },

    /// The chain ends where its cycle closes: `a -> b -> c -> a`, or `d -> a -> b -> a`
    /// for a plugin that depends on a cycle.
    #[error(
        "{}: the plugins depend on each other in a cycle; one of them must drop its dependency",
        Chain(chain)
    )]
    Cyclic {
        /// From the plugin that cannot load around the cycle.
        chain: Vec<PluginId>,
    },

    /// Two plugins of the list have the same id; only the first is considered.
    #[error("{}: plugin `{id}` is not loaded: another copy of it, in {}, is", dir.display(), used.display())]
    Duplicate {
        /// The plugin id.
        id: PluginId,
        /// The copy set aside.
        dir: PathBuf,
        /// The copy considered.
        used: PathBuf,
    },
}

impl ResolveError {
    /// The chain of plugins from the one that cannot load to the one that fails.
    pub fn chain(&self) -> &[PluginId] {
        match self {
            Self::Missing { chain, .. } | Self::Incompatible { chain, .. } | Self::Cyclic { chain } => chain,
            Self::Duplicate { id, .. } => std::slice::from_ref(id),
        }
    }

    /// This error seen from `dependent`, which needs the chain's first plugin: the
    /// chain is prefixed with it, or, when `dependent` is on the cycle that the chain
    /// ends in, becomes that cycle seen from `dependent`.
    fn seen_from(&self, dependent: &PluginId) -> Self {
        let mut error = self.clone();
        match &mut error {
            Self::Cyclic { chain } => {
                let closing = chain.last().expect("a cycle has members");
                let start = chain.iter().position(|id| id == closing).expect("the cycle closes");
                let cycle = &chain[start..chain.len() - 1];
                match cycle.iter().position(|id| id == dependent) {
                    Some(at) => {
                        *chain = cycle[at..].iter().chain(&cycle[..=at]).cloned().collect();
                    }
                    None => chain.insert(0, dependent.clone()),
                }
            }
            Self::Missing { chain, .. } | Self::Incompatible { chain, .. } => chain.insert(0, dependent.clone()),
            Self::Duplicate { .. } => {}
        }
        error
    }
}

/// Shows a chain as `a -> b -> c`.
struct Chain<'a>(&'a [PluginId]);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, id) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

fn last(chain: &[PluginId]) -> &str {
    chain.last().map_or("", PluginId::as_str)
}

fn before_last(chain: &[PluginId]) -> &str {
    chain.len().checked_sub(2).map_or("", |index| chain[index].as_str())
}

/// Orders `plugins` by their dependencies. A plugin can load when each required
/// dependency is in the list, in a version its requirement accepts, and can load
/// itself; it then loads after them. An optional dependency that is missing, of
/// another version, cannot load, or would close a cycle is skipped with a note in
/// [`Loadable::skipped`]; an available one is loaded first. Every other plugin is
/// [`Blocked`] with the chain to the cause. The result does not depend on the order of
/// `plugins`: ties are broken by id. When two plugins share an id, the first is used.
pub fn resolve(plugins: &[Discovered]) -> LoadOrder {
    let mut by_id: BTreeMap<&PluginId, &Discovered> = BTreeMap::new();
    let mut blocked = Vec::new();
    for plugin in plugins {
        if let Some(used) = by_id.get(plugin.id()) {
            blocked.push(Blocked {
                plugin: plugin.clone(),
                error: ResolveError::Duplicate {
                    id: plugin.id().clone(),
                    dir: plugin.dir.clone(),
                    used: used.dir.clone(),
                },
            });
        } else {
            by_id.insert(plugin.id(), plugin);
        }
    }

    // First the required dependencies alone decide which plugins can load: a cycle of
    // required dependencies blocks every plugin on it, whatever the search order.
    let mut required = RequiredDependencies {
        plugins: &by_id,
        status: BTreeMap::new(),
        path: Vec::new(),
    };
    for id in by_id.keys() {
        required.visit(id);
    }
    let mut uses: BTreeMap<&PluginId, Vec<&PluginId>> = BTreeMap::new();
    let mut errors: BTreeMap<&PluginId, ResolveError> = BTreeMap::new();
    for (id, status) in required.status {
        match status {
            Status::Loadable(deps) => {
                uses.insert(id, deps);
            }
            Status::Blocked(error) => {
                errors.insert(id, error);
            }
            Status::Visiting => unreachable!("every visit finishes"),
        }
    }

    // Then each optional dependency that can load is used, unless it would close a
    // cycle with the dependencies already used; by plugin id, then dependency id.
    let mut skipped: BTreeMap<&PluginId, Vec<ResolveError>> = BTreeMap::new();
    let loadable: Vec<&PluginId> = uses.keys().copied().collect();
    for id in loadable {
        for (dep_id, dependency) in &by_id[id].manifest.dependencies {
            if !dependency.optional {
                continue;
            }
            let found = check(&by_id, id, dep_id, &dependency.requirement).and_then(|dep| match errors.get(dep) {
                Some(error) => Err(error.seen_from(id)),
                None => match path_between(&uses, dep, id) {
                    Some(path) => Err(ResolveError::Cyclic {
                        chain: std::iter::once(id).chain(path).cloned().collect(),
                    }),
                    None => Ok(dep),
                },
            });
            match found {
                Ok(dep) => uses.get_mut(id).expect("a loadable plugin").push(dep),
                Err(error) => skipped.entry(id).or_default().push(error),
            }
        }
    }

    let mut order = LoadOrder::default();
    for id in topological_order(&uses) {
        order.load.push(Loadable {
            plugin: by_id[id].clone(),
            skipped: skipped.remove(id).unwrap_or_default(),
        });
    }
    blocked.extend(errors.into_iter().map(|(id, error)| Blocked {
        plugin: by_id[id].clone(),
        error,
    }));
    blocked.sort_by(|a, b| a.plugin.id().cmp(b.plugin.id()));
    order.blocked = blocked;
    order
}

/// Whether `dependent` can use `dep_id` under `requirement` as far as presence and
/// version go: the dependency's key when it can, else the error from `dependent`.
fn check<'a>(
    plugins: &BTreeMap<&'a PluginId, &'a Discovered>,
    dependent: &PluginId,
    dep_id: &PluginId,
    requirement: &VersionReq,
) -> Result<&'a PluginId, ResolveError> {
    let chain = || vec![dependent.clone(), dep_id.clone()];
    let Some((dep_key, dep)) = plugins.get_key_value(dep_id) else {
        return Err(ResolveError::Missing {
            chain: chain(),
            requirement: requirement.clone(),
        });
    };
    if !requirement.matches(dep.version()) {
        return Err(ResolveError::Incompatible {
            chain: chain(),
            requirement: requirement.clone(),
            installed: dep.version().clone(),
        });
    }
    Ok(dep_key)
}

/// A path `from -> … -> to` along the dependencies in `uses`, when there is one.
fn path_between<'a>(
    uses: &BTreeMap<&'a PluginId, Vec<&'a PluginId>>,
    from: &'a PluginId,
    to: &PluginId,
) -> Option<Vec<&'a PluginId>> {
    // Depth first, remembering how each plugin was reached.
    let mut reached_from: BTreeMap<&PluginId, Option<&PluginId>> = BTreeMap::from([(from, None)]);
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        if id == to {
            let mut path = vec![id];
            while let Some(Some(previous)) = reached_from.get(path[path.len() - 1]) {
                path.push(previous);
            }
            path.reverse();
            return Some(path);
        }
        for dep in uses.get(id).into_iter().flatten() {
            if !reached_from.contains_key(dep) {
                reached_from.insert(dep, Some(id));
                stack.push(dep);
            }
        }
    }
    None
}

/// Kahn's algorithm over `uses` (each plugin's dependencies, all in `uses`), taking
/// the smallest id among the plugins whose dependencies are all placed.
fn topological_order<'a>(uses: &BTreeMap<&'a PluginId, Vec<&'a PluginId>>) -> Vec<&'a PluginId> {
    let mut waiting_on: BTreeMap<&PluginId, usize> = uses.iter().map(|(id, deps)| (*id, deps.len())).collect();
    let mut dependents: BTreeMap<&PluginId, Vec<&PluginId>> = BTreeMap::new();
    for (id, deps) in uses {
        for dep in deps {
            dependents.entry(*dep).or_default().push(*id);
        }
    }
    let mut ready: BTreeSet<&PluginId> = waiting_on
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(uses.len());
    while let Some(id) = ready.pop_first() {
        order.push(id);
        for dependent in dependents.get(id).into_iter().flatten() {
            let count = waiting_on.get_mut(dependent).expect("every dependent is a plugin");
            *count -= 1;
            if *count == 0 {
                ready.insert(*dependent);
            }
        }
    }
    debug_assert_eq!(order.len(), uses.len(), "the dependencies used never form a cycle");
    order
}

enum Status<'a> {
    /// On the current path of the depth-first search.
    Visiting,
    /// Can load after these plugins.
    Loadable(Vec<&'a PluginId>),
    Blocked(ResolveError),
}

/// The depth-first search over required dependencies.
struct RequiredDependencies<'a> {
    plugins: &'a BTreeMap<&'a PluginId, &'a Discovered>,
    status: BTreeMap<&'a PluginId, Status<'a>>,
    /// The current path of the search, to name a cycle.
    path: Vec<&'a PluginId>,
}

impl<'a> RequiredDependencies<'a> {
    /// Decides `id` (a key of `plugins`) after its required dependencies; the plugins
    /// are few and their chains short, so recursion is fine.
    fn visit(&mut self, id: &'a PluginId) {
        if self.status.contains_key(id) {
            return;
        }
        self.status.insert(id, Status::Visiting);
        self.path.push(id);
        let mut uses = Vec::new();
        let mut blocked = None;
        for (dep_id, dependency) in &self.plugins[id].manifest.dependencies {
            if dependency.optional {
                continue;
            }
            match self.usable(id, dep_id, &dependency.requirement) {
                Ok(dep) => uses.push(dep),
                Err(error) => {
                    blocked = Some(error);
                    break;
                }
            }
        }
        self.path.pop();
        let status = match blocked {
            Some(error) => Status::Blocked(error),
            None => Status::Loadable(uses),
        };
        self.status.insert(id, status);
    }

    /// Whether `id` can use its required dependency `dep_id`, searching it first.
    fn usable(
        &mut self,
        id: &'a PluginId,
        dep_id: &PluginId,
        requirement: &VersionReq,
    ) -> Result<&'a PluginId, ResolveError> {
        let dep = check(self.plugins, id, dep_id, requirement)?;
        self.visit(dep);
        match &self.status[dep] {
            Status::Loadable(_) => Ok(dep),
            Status::Blocked(error) => Err(error.seen_from(id)),
            Status::Visiting => {
                // The path runs from `dep` to `id`, which depends on `dep` again.
                let start = self
                    .path
                    .iter()
                    .position(|on_path| *on_path == dep)
                    .expect("a plugin being visited is on the path");
                let chain = self.path[start..].iter().copied().chain([dep]).cloned().collect();
                // Seen from `id`, the cycle starts at `id`.
                Err(ResolveError::Cyclic { chain }.seen_from(id))
            }
        }
    }
}
