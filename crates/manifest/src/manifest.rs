//! The whole `plugin.toml`: reading it from text, a file or a plugin folder.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::commands::{CommandInfo, offered_commands};
use crate::de::parsed;
use crate::dependencies::Dependency;
use crate::error::{InvalidValue, ManifestError};
use crate::events::Events;
use crate::limits::Limits;
use crate::locales::Locales;
use crate::names::check_topic;
use crate::permissions::Permissions;
use crate::plugin::{PluginId, PluginInfo};

/// The file name of a plugin's manifest inside its folder.
pub const MANIFEST_FILE_NAME: &str = "plugin.toml";

/// The largest manifest read: a real one is a few hundred bytes, and a hostile archive
/// must not make the host parse megabytes of TOML.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = "a plugin manifest")]
pub struct Manifest {
    /// The `[plugin]` table: identity, world version and component.
    pub plugin: PluginInfo,
    /// The `[events]` table.
    #[serde(default)]
    pub events: Events,
    /// The `[permissions]` table: what the plugin asks for.
    #[serde(default)]
    pub permissions: Permissions,
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: Limits,
    /// The `[config]` table: default settings, by key.
    #[serde(default, deserialize_with = "config")]
    pub config: BTreeMap<String, String>,
    /// The `[commands]` table: commands this plugin offers, by name.
    #[serde(default, deserialize_with = "offered_commands")]
    pub commands: BTreeMap<String, CommandInfo>,
    /// The `[dependencies]` table: other plugins this one needs, by id.
    #[serde(default)]
    pub dependencies: BTreeMap<PluginId, Dependency>,
    /// The `[locales]` table: the default language, and whose texts a
    /// locale plugin translates.
    #[serde(default)]
    pub locales: Locales,
}

impl Manifest {
    /// Parses and validates manifest text; `origin` names the file in error messages only.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ManifestError> {
        let manifest: Self = toml::from_str(text).map_err(|error| ManifestError::from_toml(&error, text, origin))?;
        manifest.check_not_own_dependency(text, origin)?;
        Ok(manifest)
    }

    /// A plugin that depends on itself could never load: refused where the key is.
    fn check_not_own_dependency(&self, text: &str, origin: &Path) -> Result<(), ManifestError> {
        let id = &self.plugin.id;
        if !self.dependencies.contains_key(id) {
            return Ok(());
        }
        Err(ManifestError::invalid_key(
            text,
            origin,
            &["dependencies", id.as_str()],
            format!("plugin \"{id}\" depends on itself; remove this entry"),
        ))
    }

    /// Reads, parses and validates the manifest file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let read_error = |source| ManifestError::Read {
            path: path.to_owned(),
            source,
        };
        let mut text = String::new();
        File::open(path)
            .and_then(|file| file.take(MAX_MANIFEST_BYTES + 1).read_to_string(&mut text))
            .map_err(read_error)?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                path: path.to_owned(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        Self::parse(&text, path)
    }

    /// Reads, parses and validates `plugin.toml` in the plugin folder `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, ManifestError> {
        Self::from_file(dir.as_ref().join(MANIFEST_FILE_NAME))
    }

    /// The component file inside `plugin_dir`; `None` for a data-only plugin.
    pub fn component_path(&self, plugin_dir: &Path) -> Option<PathBuf> {
        self.plugin
            .component
            .as_ref()
            .map(|component| plugin_dir.join(component))
    }
}

/// A `[config]` key; only a reader.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ConfigKey(String);

impl FromStr for ConfigKey {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        check_topic("config key", text)?;
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for ConfigKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a config key like \"keywords\"")
    }
}

fn config<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(BTreeMap::<ConfigKey, String>::deserialize(deserializer)?
        .into_iter()
        .map(|(key, value)| (key.0, value))
        .collect())
}
