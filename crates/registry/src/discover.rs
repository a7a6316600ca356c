//! Finding the installed plugins: every plugin folder in the built-in and user folders,
//! and the dependencies each installed plugin bundles in its `deps/` folder, one copy
//! per plugin id.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest, ManifestError, PluginId};
use semver::Version;

use crate::PluginDirs;

/// The folder inside an installed plugin's folder that holds the plugins it bundles,
/// one subfolder per plugin, named after its id: `deps/<id>/plugin.toml`.
pub const BUNDLED_DEPS_FOLDER: &str = "deps";

/// Where a discovered plugin was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// In the folder of plugins that ship with the app.
    Builtin,
    /// In the user's plugins folder.
    User,
    /// In the `deps/` folder of an installed plugin that bundles it.
    Bundled {
        /// The installed plugin that bundles this one.
        by: PluginId,
    },
}

/// A plugin folder whose `plugin.toml` is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The plugin's manifest.
    pub manifest: Manifest,
    /// The plugin's folder.
    pub dir: PathBuf,
    /// Where it was found.
    pub origin: Origin,
}

impl Discovered {
    /// The plugin's id.
    pub fn id(&self) -> &PluginId {
        &self.manifest.plugin.id
    }

    /// The plugin's version.
    pub fn version(&self) -> &Version {
        &self.manifest.plugin.version
    }

    /// Whether the plugin has a component to run; a plugin without one only carries
    /// data (keyword lists, a locale pack) for the plugins that depend on it.
    pub fn has_code(&self) -> bool {
        self.manifest.plugin.component.is_some()
    }

    /// The plugin's component file, when it has one.
    pub fn component_path(&self) -> Option<PathBuf> {
        self.manifest.component_path(&self.dir)
    }

    fn is_installed(&self) -> bool {
        !matches!(self.origin, Origin::Bundled { .. })
    }

    fn bundled_by(&self) -> Option<&PluginId> {
        match &self.origin {
            Origin::Bundled { by } => Some(by),
            Origin::Builtin | Origin::User => None,
        }
    }
}

/// What [`discover`] found: the plugins to use, one per id, and every folder it
/// skipped or set aside, with the reason.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The plugins to use, one per id, sorted by id.
    pub plugins: Vec<Discovered>,
    /// The folders skipped (invalid, not a plugin) or set aside (another copy of the
    /// same plugin is used), in the order they were found.
    pub problems: Vec<DiscoveryProblem>,
}

impl Discovery {
    /// The plugin with this id, when one was discovered.
    pub fn get(&self, id: &str) -> Option<&Discovered> {
        self.plugins.iter().find(|plugin| plugin.id().as_str() == id)
    }
}

/// A folder [`discover`] skipped or set aside.
#[derive(Debug)]
pub struct DiscoveryProblem {
    /// The folder.
    pub dir: PathBuf,
    /// Why; the message names the folder too.
    pub error: DiscoveryError,
}

/// Why a folder was skipped or set aside. None of these stops discovery: the other
/// folders are still searched.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A plugins folder (or a plugin's `deps/` folder) exists but cannot be listed,
    /// or the built-in folder that was configured does not exist.
    #[error("{}: cannot list the plugins in this folder: {source}", dir.display())]
    Unreadable {
        /// The folder.
        dir: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// A folder's `plugin.toml` cannot be read or is invalid; the plugin is skipped.
    #[error("skipped the plugin in {}: {source}", dir.display())]
    InvalidManifest {
        /// The plugin folder.
        dir: PathBuf,
        /// What is wrong, with the file, line and field.
        #[source]
        source: Box<ManifestError>,
    },

    /// A folder among the plugins has no `plugin.toml`, so it is not a plugin.
    #[error(
        "{}: skipped: there is no {MANIFEST_FILE_NAME} here, so this is not a plugin folder (a plugin's {MANIFEST_FILE_NAME} sits at the top of its folder); move the plugin's files up or remove the folder",
        dir.display()
    )]
    NotAPlugin {
        /// The folder.
        dir: PathBuf,
    },

    /// Two folders of the same plugins folder hold the same plugin id.
    #[error(
        "{}: skipped: plugin `{id}` is also in {}, which is used (the first folder by name); remove one of the two",
        dir.display(), used.display()
    )]
    DuplicateId {
        /// The folder set aside.
        dir: PathBuf,
        /// The plugin id both hold.
        id: PluginId,
        /// The folder used.
        used: PathBuf,
    },

    /// A bundled dependency's folder is not named after the id in its manifest.
    #[error(
        "{}: skipped: it holds plugin `{id}`, but a bundled dependency's folder must be named after its id (deps/{id}); rebuild the plugin that bundles it",
        dir.display()
    )]
    MisnamedBundle {
        /// The folder.
        dir: PathBuf,
        /// The id its manifest declares.
        id: PluginId,
    },

    /// A built-in plugin is not used because the user installed the same plugin.
    #[error(
        "{}: built-in plugin `{id}` is not used: the copy you installed in {} replaces it",
        dir.display(), used.display()
    )]
    ShadowedBuiltin {
        /// The built-in plugin's folder.
        dir: PathBuf,
        /// The plugin id.
        id: PluginId,
        /// The user's copy, which is used.
        used: PathBuf,
    },

    /// A plugin bundled by another is not used: another copy of it (usually the
    /// installed one) satisfies at least as many of the plugins that need it.
    #[error(
        "{}: the copy of `{id}` {version} bundled by `{bundled_by}` is not used: {id} {used_version} in {} is",
        dir.display(), used.display()
    )]
    BundleNotUsed {
        /// The bundled copy's folder.
        dir: PathBuf,
        /// The plugin id.
        id: PluginId,
        /// The bundled copy's version.
        version: Version,
        /// The plugin that bundles it.
        bundled_by: PluginId,
        /// The copy that is used.
        used: PathBuf,
        /// The version of the copy that is used.
        used_version: Version,
    },

    /// A plugin bundles a copy of a plugin that is installed (or built in). A bundled
    /// copy never replaces an installed one, whatever version it has or the bundling
    /// plugin requires: it would run under the installed plugin's id, with its grants,
    /// state and strikes.
    #[error(
        "{}: the copy of `{id}` {version} bundled by `{bundled_by}` is not used: `{id}` {used_version} is installed in {}, and a bundled copy never replaces an installed or builtin plugin",
        dir.display(), used.display()
    )]
    BundleOfInstalled {
        /// The bundled copy's folder.
        dir: PathBuf,
        /// The plugin id.
        id: PluginId,
        /// The bundled copy's version.
        version: Version,
        /// The plugin that bundles it.
        bundled_by: PluginId,
        /// The installed copy, which is used.
        used: PathBuf,
        /// The installed copy's version.
        used_version: Version,
    },
}

/// Finds every plugin in `dirs`, one copy per id:
///
/// - every subfolder of the built-in and user folders that holds a `plugin.toml` is a
///   plugin; a folder whose manifest is invalid is skipped and reported, and never
///   stops the others. A subfolder without `plugin.toml` is reported as not a plugin;
///   hidden entries (names starting with `.`, such as an install's staging folder) and
///   files are ignored. A user folder that does not exist yet holds no plugins; a
///   configured built-in folder that does not exist is reported.
/// - when the same id is in both folders, the user's copy wins and the built-in one is
///   reported as shadowed. Two folders with the same id in one folder: the first by
///   name wins, the other is reported.
/// - each installed plugin that wins may bundle dependencies in `deps/<id>/`; they are
///   discovered with [`Origin::Bundled`] (one level: a bundled plugin's own `deps/` is
///   not searched, as an archive bundles all its dependencies side by side).
/// - an installed (or built-in) plugin is always the copy used for its id: a bundled
///   copy never replaces it, whatever its version or what the bundling plugin
///   requires (the bundling plugin is then blocked by [`crate::resolve`] if the
///   installed version does not satisfy it). Otherwise a bundled plugin is used
///   only for an id nothing installs: among several bundled copies, the one that
///   satisfies the most requirements of the plugins that depend on that id, a tie
///   going to the higher version, then to the bundling plugin first by id. Every
///   copy not used is reported.
///
/// The plugins come back sorted by id. Nothing is written, and no component is read.
pub fn discover(dirs: &PluginDirs) -> Discovery {
    let mut problems = Vec::new();

    // The installed plugins: the user's copy of an id shadows the built-in one.
    let mut installed: BTreeMap<PluginId, Discovered> = BTreeMap::new();
    for (origin, root) in dirs.roots() {
        let must_exist = origin == Origin::Builtin;
        for plugin in plugins_in(root, &origin, must_exist, &mut problems) {
            if let Some(builtin) = installed.remove(plugin.id()) {
                problems.push(problem(DiscoveryError::ShadowedBuiltin {
                    dir: builtin.dir,
                    id: builtin.manifest.plugin.id,
                    used: plugin.dir.clone(),
                }));
            }
            installed.insert(plugin.id().clone(), plugin);
        }
    }

    // Every copy of every id: the installed one first, then the bundled ones by the id
    // of the plugin that bundles them.
    let mut copies: BTreeMap<PluginId, Vec<Discovered>> = BTreeMap::new();
    for plugin in installed.values() {
        let deps = plugin.dir.join(BUNDLED_DEPS_FOLDER);
        let by = Origin::Bundled {
            by: plugin.id().clone(),
        };
        for bundled in plugins_in(&deps, &by, false, &mut problems) {
            let folder_name = bundled.dir.file_name().and_then(|name| name.to_str());
            if folder_name != Some(bundled.id().as_str()) {
                problems.push(problem(DiscoveryError::MisnamedBundle {
                    id: bundled.manifest.plugin.id,
                    dir: bundled.dir,
                }));
                continue;
            }
            copies.entry(bundled.id().clone()).or_default().push(bundled);
        }
    }
    for (id, plugin) in installed {
        copies.entry(id).or_default().insert(0, plugin);
    }

    let requirements = Requirements::of(copies.values().flatten());
    let mut plugins = Vec::with_capacity(copies.len());
    for (id, mut candidates) in copies {
        // An installed copy is always first, and always used.
        let installed_copy = candidates.first().is_some_and(Discovered::is_installed);
        let chosen = (0..candidates.len())
            .filter(|&index| !installed_copy || index == 0)
            .max_by_key(|&index| {
                let candidate = &candidates[index];
                (
                    requirements.satisfied_by(&id, candidate.version()),
                    candidate.is_installed(),
                    candidate.version().clone(),
                    Reverse(candidate.bundled_by().cloned()),
                )
            })
            .expect("every id has at least one copy");
        let used = candidates.swap_remove(chosen);
        candidates.sort_by(|a, b| a.bundled_by().cmp(&b.bundled_by()));
        for other in candidates {
            problems.push(problem(not_used(other, &used)));
        }
        plugins.push(used);
    }
    Discovery { plugins, problems }
}

/// The problem for `other`, a copy of the same plugin as `used` that is set aside.
fn not_used(other: Discovered, used: &Discovered) -> DiscoveryError {
    let id = other.manifest.plugin.id;
    let version = other.manifest.plugin.version;
    match other.origin {
        Origin::Bundled { by } if used.is_installed() => DiscoveryError::BundleOfInstalled {
            dir: other.dir,
            id,
            version,
            bundled_by: by,
            used: used.dir.clone(),
            used_version: used.version().clone(),
        },
        Origin::Bundled { by } => DiscoveryError::BundleNotUsed {
            dir: other.dir,
            id,
            version,
            bundled_by: by,
            used: used.dir.clone(),
            used_version: used.version().clone(),
        },
        // Two installed copies of one id never reach here: the user's copy
        // shadows the built-in one before.
        Origin::Builtin | Origin::User => DiscoveryError::ShadowedBuiltin {
            dir: other.dir,
            id,
            used: used.dir.clone(),
        },
    }
}

/// Every version requirement that some plugin copy puts on each id.
struct Requirements(BTreeMap<PluginId, Vec<semver::VersionReq>>);

impl Requirements {
    fn of<'a>(plugins: impl Iterator<Item = &'a Discovered>) -> Self {
        let mut requirements: BTreeMap<PluginId, Vec<semver::VersionReq>> = BTreeMap::new();
        for plugin in plugins {
            for (id, dependency) in &plugin.manifest.dependencies {
                requirements
                    .entry(id.clone())
                    .or_default()
                    .push(dependency.requirement.clone());
            }
        }
        Self(requirements)
    }

    /// How many of the requirements on `id` `version` satisfies.
    fn satisfied_by(&self, id: &PluginId, version: &Version) -> usize {
        self.0.get(id).map_or(0, |requirements| {
            requirements.iter().filter(|req| req.matches(version)).count()
        })
    }
}

fn problem(error: DiscoveryError) -> DiscoveryProblem {
    let dir = match &error {
        DiscoveryError::Unreadable { dir, .. }
        | DiscoveryError::InvalidManifest { dir, .. }
        | DiscoveryError::NotAPlugin { dir }
        | DiscoveryError::DuplicateId { dir, .. }
        | DiscoveryError::MisnamedBundle { dir, .. }
        | DiscoveryError::ShadowedBuiltin { dir, .. }
        | DiscoveryError::BundleNotUsed { dir, .. }
        | DiscoveryError::BundleOfInstalled { dir, .. } => dir.clone(),
    };
    DiscoveryProblem { dir, error }
}

/// The valid plugins in the subfolders of `root`, one per id, by folder name; every
/// other folder is reported in `problems`. A missing `root` holds no plugins, and is
/// reported only when it `must_exist`.
fn plugins_in(root: &Path, origin: &Origin, must_exist: bool, problems: &mut Vec<DiscoveryProblem>) -> Vec<Discovered> {
    let folders = match plugin_folders(root) {
        Ok(folders) => folders,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !must_exist => return Vec::new(),
        Err(source) => {
            problems.push(problem(DiscoveryError::Unreadable {
                dir: root.to_owned(),
                source,
            }));
            return Vec::new();
        }
    };
    let mut found: Vec<Discovered> = Vec::new();
    for dir in folders {
        let manifest_path = dir.join(MANIFEST_FILE_NAME);
        if !manifest_path.try_exists().unwrap_or(true) {
            problems.push(problem(DiscoveryError::NotAPlugin { dir }));
            continue;
        }
        let manifest = match Manifest::from_file(&manifest_path) {
            Ok(manifest) => manifest,
            Err(source) => {
                problems.push(problem(DiscoveryError::InvalidManifest {
                    dir,
                    source: Box::new(source),
                }));
                continue;
            }
        };
        if let Some(first) = found.iter().find(|plugin| plugin.id() == &manifest.plugin.id) {
            problems.push(problem(DiscoveryError::DuplicateId {
                used: first.dir.clone(),
                id: manifest.plugin.id,
                dir,
            }));
            continue;
        }
        found.push(Discovered {
            manifest,
            dir,
            origin: origin.clone(),
        });
    }
    found
}

/// The subfolders of `root` that may be plugins, sorted by name: hidden entries (an
/// install's staging folder) and files are left out.
pub(crate) fn plugin_folders(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if is_hidden(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a developer may link a plugin folder into the plugins folder.
        if path.is_dir() {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}

/// Whether a folder entry is hidden: its name starts with '.'.
pub(crate) fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}
