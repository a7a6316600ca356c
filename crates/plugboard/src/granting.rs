//! What each plugin is loaded with: the user's grants from the grants file
//! (or, when the application trusts manifests, everything each manifest
//! requests) and the setting overrides for it.

use std::path::Path;

use plugboard_host::LoadOptions;
use plugboard_state::{GrantsError, GrantsFile};

use crate::config::{HostConfig, Settings};

/// Where grants come from.
#[derive(Debug, Clone)]
pub(crate) enum Granting {
    /// The user's grants file.
    File(GrantsFile),
    /// Every manifest's request, as is.
    TrustManifests,
}

impl Granting {
    /// The grants as they are now: the grants file is read each time, so a
    /// plugin reloaded while the host runs gets what the user granted since.
    pub fn read(config: &HostConfig) -> Result<Granting, GrantsError> {
        if config.trust_manifests {
            return Ok(Granting::TrustManifests);
        }
        GrantsFile::open(&config.config_dir).map(Granting::File)
    }

    /// The grants file in force, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Granting::File(file) => Some(file.path()),
            Granting::TrustManifests => None,
        }
    }

    /// How plugin `id` is loaded.
    pub fn options_for(&self, id: &str, settings: &Settings) -> LoadOptions {
        let config_overrides = settings.get(id).cloned().unwrap_or_default();
        match self {
            Granting::File(file) => LoadOptions {
                config_overrides,
                grants: file.grants_for(id),
            },
            Granting::TrustManifests => LoadOptions {
                config_overrides,
                ..LoadOptions::trusting_manifest()
            },
        }
    }
}
