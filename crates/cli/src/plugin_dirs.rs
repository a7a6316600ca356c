//! The folders plugins are installed in: the user's plugins folder, where
//! `install` unpacks archives and `remove` deletes them, and an optional
//! builtin folder the application ships, which the CLI reads but never
//! changes. A plugin in the user's folder hides a builtin one with the same
//! id, so a user can install a newer version of a builtin plugin.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest};

use crate::folders;

/// The variable naming the builtin plugins folder.
pub const BUILTIN_VAR: &str = "PLUGBOARD_BUILTIN_DIR";

/// Which folder a plugin is installed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The application's builtin folder.
    Builtin,
    /// The user's plugins folder.
    User,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Builtin => "builtin",
            Origin::User => "user",
        })
    }
}

/// The plugin folders: the user's, and the builtin one when there is one.
#[derive(Debug, Clone)]
pub struct PluginDirs {
    /// The user's plugins folder.
    pub user: PathBuf,
    /// The builtin plugins folder.
    pub builtin: Option<PathBuf>,
}

/// An installed plugin.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its folder.
    pub dir: PathBuf,
    /// Which plugin folder holds it.
    pub origin: Origin,
    /// Its manifest.
    pub manifest: Manifest,
    /// The builtin plugin of the same id it hides, for a user plugin.
    pub hides: Option<Box<Installed>>,
}

impl Installed {
    /// Its id.
    pub fn id(&self) -> &str {
        self.manifest.plugin.id.as_str()
    }
}

/// What the plugin folders hold.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The plugins that load, one per id, by id.
    pub plugins: Vec<Installed>,
    /// Folders that could not be read, each with why.
    pub unreadable: Vec<(PathBuf, String)>,
}

impl PluginDirs {
    /// The folders from the options, else the environment and the XDG
    /// defaults (`$PLUGBOARD_PLUGINS_DIR`, `$PLUGBOARD_BUILTIN_DIR`).
    pub fn resolve(user: Option<&PathBuf>, builtin: Option<&PathBuf>) -> anyhow::Result<PluginDirs> {
        let builtin = builtin.cloned().or_else(|| {
            std::env::var_os(BUILTIN_VAR)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        });
        Ok(PluginDirs {
            user: folders::resolve(folders::PLUGINS, user)?,
            builtin,
        })
    }

    /// The folders, for messages: `DIR (builtin: DIR)`.
    pub fn describe(&self) -> String {
        match &self.builtin {
            Some(builtin) => format!("{} (builtin: {})", self.user.display(), builtin.display()),
            None => self.user.display().to_string(),
        }
    }

    /// Every installed plugin; a missing folder holds none.
    pub fn discover(&self) -> anyhow::Result<Discovery> {
        let mut discovery = Discovery::default();
        let mut by_id: BTreeMap<String, Installed> = BTreeMap::new();
        let folders = self
            .builtin
            .iter()
            .map(|dir| (dir, Origin::Builtin))
            .chain([(&self.user, Origin::User)]);
        for (dir, origin) in folders {
            for folder in plugin_folders(dir)? {
                let manifest = match Manifest::from_dir(&folder) {
                    Ok(manifest) => manifest,
                    Err(error) => {
                        discovery.unreadable.push((folder, error.to_string()));
                        continue;
                    }
                };
                let mut plugin = Installed {
                    dir: folder,
                    origin,
                    manifest,
                    hides: None,
                };
                match by_id.remove(plugin.id()) {
                    Some(builtin) if builtin.origin == Origin::Builtin && origin == Origin::User => {
                        plugin.hides = Some(Box::new(builtin));
                    }
                    Some(first) => {
                        discovery.unreadable.push((
                            plugin.dir.clone(),
                            format!(
                                "plugin `{}` is also installed in {}; each plugin needs its own id",
                                plugin.id(),
                                first.dir.display()
                            ),
                        ));
                        plugin = first;
                    }
                    None => {}
                }
                by_id.insert(plugin.id().to_string(), plugin);
            }
        }
        discovery.plugins = by_id.into_values().collect();
        Ok(discovery)
    }

    /// The installed plugin `id` (the user's copy when it hides a builtin one).
    pub fn find(&self, id: &str) -> anyhow::Result<Option<Installed>> {
        Ok(self.discover()?.plugins.into_iter().find(|p| p.id() == id))
    }
}

/// The subfolders of `dir` holding a plugin.toml, by name, leaving out hidden
/// ones (an install or removal in progress); none when `dir` does not exist.
fn plugin_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read the plugins folder {}", dir.display())),
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list the plugins folder {}", dir.display()))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let path = entry.path();
        if !hidden && path.is_dir() && path.join(MANIFEST_FILE_NAME).is_file() {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(dir: &Path, folder: &str, id: &str, version: &str) {
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(MANIFEST_FILE_NAME),
            format!("[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"{version}\"\napi = \"task-events@2\"\n"),
        )
        .unwrap();
    }

    #[test]
    fn a_user_plugin_hides_the_builtin_one_and_hidden_folders_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        let dirs = PluginDirs {
            user: root.path().join("user"),
            builtin: Some(root.path().join("builtin")),
        };
        plugin(&root.path().join("builtin"), "a", "a", "1.0.0");
        plugin(&root.path().join("builtin"), "b", "b", "1.0.0");
        plugin(&root.path().join("user"), "a", "a", "2.0.0");
        plugin(&root.path().join("user"), ".c.installing-x", "c", "1.0.0");
        let discovery = dirs.discover().unwrap();
        assert!(discovery.unreadable.is_empty(), "{:?}", discovery.unreadable);
        let found: Vec<_> = discovery
            .plugins
            .iter()
            .map(|p| (p.id(), p.manifest.plugin.version.to_string(), p.origin))
            .collect();
        assert_eq!(
            found,
            [
                ("a", "2.0.0".into(), Origin::User),
                ("b", "1.0.0".into(), Origin::Builtin)
            ]
        );
        let hidden = discovery.plugins[0].hides.as_ref().unwrap();
        assert_eq!(hidden.manifest.plugin.version.to_string(), "1.0.0");
    }

    #[test]
    fn missing_folders_hold_nothing_and_a_repeated_id_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let dirs = PluginDirs {
            user: root.path().join("user"),
            builtin: None,
        };
        assert!(dirs.discover().unwrap().plugins.is_empty());
        plugin(&dirs.user, "one", "same", "1.0.0");
        plugin(&dirs.user, "two", "same", "1.0.0");
        let discovery = dirs.discover().unwrap();
        assert_eq!(discovery.plugins.len(), 1);
        assert!(
            discovery.unreadable[0].1.contains("also installed in"),
            "{:?}",
            discovery.unreadable
        );
    }
}
