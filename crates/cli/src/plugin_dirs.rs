//! The plugin folders as the CLI uses them: `plugboard-registry` finds the
//! plugins (the user's folder over the builtin one, bundled `deps/`); this
//! module adds the command-line options and what `install`, `remove` and
//! `list` ask of an installed plugin: where its own copy is, and whether the
//! application or the user put it there.

use std::path::PathBuf;

use plugboard_manifest::Manifest;
use plugboard_registry::{BUILTIN_DIR_VAR, Discovered, Discovery, DiscoveryError, Origin, PluginDirs, discover};

/// The plugin folders: `--plugins-dir` and `--builtin-dir` when given, else
/// the registry's defaults from the environment.
pub fn resolve(user: Option<&PathBuf>, builtin: Option<&PathBuf>) -> anyhow::Result<PluginDirs> {
    let mut dirs = match (PluginDirs::from_env(), user) {
        (Ok(dirs), _) => dirs,
        // Without a home folder only the user's folder is unknown, and it was given.
        (Err(_), Some(user)) => PluginDirs {
            builtin: std::env::var_os(BUILTIN_DIR_VAR)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from),
            user: user.clone(),
        },
        (Err(error), None) => return Err(anyhow::anyhow!("{error}; or pass --plugins-dir DIR")),
    };
    if let Some(user) = user {
        dirs.user = user.clone();
    }
    if let Some(builtin) = builtin {
        dirs.builtin = Some(builtin.clone());
    }
    Ok(dirs)
}

/// The folders, for messages: `DIR (builtin: DIR)`.
pub fn describe(dirs: &PluginDirs) -> String {
    plugboard::describe_dirs(&dirs.user, dirs.builtin.as_deref())
}

/// `user`, `builtin`, `bundled by ID`.
pub fn origin_name(origin: &Origin) -> String {
    match origin {
        Origin::Builtin => "builtin".to_string(),
        Origin::User => "user".to_string(),
        Origin::Bundled { by } => format!("bundled by {by}"),
    }
}

/// A plugin installed in its own folder of the user's or the builtin
/// plugins folder (not one bundled by another plugin).
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its folder.
    pub dir: PathBuf,
    /// [`Origin::User`] or [`Origin::Builtin`].
    pub origin: Origin,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Installed {
    fn from_discovered(plugin: &Discovered) -> Option<Installed> {
        matches!(plugin.origin, Origin::User | Origin::Builtin).then(|| Installed {
            dir: plugin.dir.clone(),
            origin: plugin.origin.clone(),
            manifest: plugin.manifest.clone(),
        })
    }
}

/// The installed copy of `id` (a bundled copy never replaces it, so it is
/// the one discovery uses).
pub fn find_installed(dirs: &PluginDirs, id: &str) -> Option<Installed> {
    discover(dirs).get(id).and_then(Installed::from_discovered)
}

/// The builtin copy of `id` that the user's copy hides, if any.
pub fn hidden_builtin(discovery: &Discovery, id: &str) -> Option<Installed> {
    discovery.problems.iter().find_map(|problem| match &problem.error {
        DiscoveryError::ShadowedBuiltin { dir, id: hidden, .. } if hidden.as_str() == id => Some(Installed {
            dir: dir.clone(),
            origin: Origin::Builtin,
            manifest: Manifest::from_dir(dir).ok()?,
        }),
        _ => None,
    })
}

/// Whether a discovery problem only says which copy of a plugin is used
/// (nothing is broken), rather than that a folder had to be skipped.
pub fn is_note(error: &DiscoveryError) -> bool {
    plugboard::Severity::of(error) == plugboard::Severity::Note
}
