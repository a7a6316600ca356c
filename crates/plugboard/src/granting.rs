//! What each plugin is loaded with: the user's grants from the grant store
//! (the grants file unless the application brings its own; or, when the
//! application trusts manifests, everything each manifest requests) and the
//! setting overrides for it.
//!
//! Grants go to the copy of a plugin they were given to: a plugin's own
//! table bound at install to a signer and a place (installed, or bundled by
//! one plugin) goes only to a copy from that place whose folder names that
//! signer; a table written by hand goes only to an installed copy. Any other
//! copy with the same id gets the defaults (`[grants]`) only.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use plugboard_archive::{IntegrityError, SIGNATURE_ENTRY, check_installed};
use plugboard_contract::grants::{Binding, GrantStore, GrantStoreError, GrantTable, UNSIGNED};
use plugboard_host::LoadOptions;
use plugboard_registry::{BUNDLED_DEPS_FOLDER, Discovered, Origin};

use crate::config::{HostConfig, Settings};

/// Where grants come from.
#[derive(Debug, Clone)]
pub(crate) enum Granting {
    /// The user's grants, as the store held them (boxed: a table is large
    /// beside the other variant).
    Table(Box<GrantTable>),
    /// Every manifest's request, as is.
    TrustManifests,
}

impl Granting {
    /// The grants as they are now: the store is read each time, so a plugin
    /// reloaded while the host runs gets what the user granted since.
    pub fn read(config: &HostConfig, store: &dyn GrantStore) -> Result<Granting, GrantStoreError> {
        if config.trust_manifests {
            return Ok(Granting::TrustManifests);
        }
        store.load().map(|table| Granting::Table(Box::new(table)))
    }

    /// How `plugin` is loaded.
    pub fn options_for(&self, plugin: &Discovered, settings: &Settings) -> LoadOptions {
        let id = plugin.id().as_str();
        let config_overrides = settings.get(id).cloned().unwrap_or_default();
        match self {
            Granting::Table(table) => {
                let copy = copy_of(plugin);
                let (grants, withheld) = table.grants_for_copy(id, &copy);
                if withheld {
                    tracing::warn!(
                        plugin = id,
                        dir = %plugin.dir.display(),
                        "the grants of `{id}` were given to another copy of it (another signer, or installed rather \
                         than bundled); this copy gets the default grants only"
                    );
                }
                LoadOptions {
                    config_overrides,
                    grants,
                    ..LoadOptions::default()
                }
            }
            Granting::TrustManifests => LoadOptions {
                config_overrides,
                ..LoadOptions::trusting_manifest()
            },
        }
    }
}

/// The folder an archive was unpacked into that holds `plugin`, and the
/// part of it that is the plugin: itself, or `deps/<id>` for a bundled one.
fn unpacked_root(plugin: &Discovered) -> (PathBuf, Option<String>) {
    match &plugin.origin {
        Origin::Bundled { .. } => {
            let root = plugin
                .dir
                .parent()
                .and_then(Path::parent)
                .map_or_else(|| plugin.dir.clone(), Path::to_path_buf);
            (root, Some(format!("{BUNDLED_DEPS_FOLDER}/{}", plugin.id())))
        }
        Origin::Builtin | Origin::User => (plugin.dir.clone(), None),
    }
}

/// Which copy `plugin` is: where it was found, and the key its folder's
/// signature names (a bundled plugin is signed with the plugin bundling it).
pub fn copy_of(plugin: &Discovered) -> Binding {
    let (root, _) = unpacked_root(plugin);
    let bundled_by = match &plugin.origin {
        Origin::Bundled { by } => Some(by.as_str().to_string()),
        Origin::Builtin | Origin::User => None,
    };
    Binding {
        signer: folder_signer(&root),
        bundled_by,
    }
}

/// The key id `plugboard/signature` names in an unpacked folder, or
/// [`UNSIGNED`]. The signature was checked against the trusted keys at
/// install; here it only tells copies apart.
fn folder_signer(root: &Path) -> String {
    let mut text = String::new();
    let read =
        std::fs::File::open(root.join(SIGNATURE_ENTRY)).and_then(|file| file.take(1024).read_to_string(&mut text));
    if read.is_err() {
        return UNSIGNED.to_string();
    }
    text.lines()
        .next()
        .and_then(|line| line.strip_prefix("key-id "))
        .filter(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(|| UNSIGNED.to_string(), str::to_string)
}

/// Checks an installed plugin's files against the digests it was unpacked
/// with (every file hashed; see [`check_installed`]); a folder not
/// unpacked from an archive has nothing to check.
pub(crate) fn check_files(plugin: &Discovered) -> Result<(), IntegrityError> {
    let (root, under) = unpacked_root(plugin);
    check_installed(&root, under.as_deref()).map(drop)
}
