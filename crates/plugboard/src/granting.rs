//! What each plugin is loaded with: the user's grants from the grant store
//! (the grants file unless the application brings its own; or, when the
//! application trusts manifests, everything each manifest requests) and the
//! setting overrides for it.

use plugboard_contract::grants::{GrantStore, GrantStoreError, GrantTable};
use plugboard_host::LoadOptions;

use crate::config::{HostConfig, Settings};

/// Where grants come from.
#[derive(Debug, Clone)]
pub(crate) enum Granting {
    /// The user's grants, as the store held them.
    Table(GrantTable),
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
        store.load().map(Granting::Table)
    }

    /// How plugin `id` is loaded.
    pub fn options_for(&self, id: &str, settings: &Settings) -> LoadOptions {
        let config_overrides = settings.get(id).cloned().unwrap_or_default();
        match self {
            Granting::Table(table) => LoadOptions {
                config_overrides,
                grants: table.grants_for(id),
            },
            Granting::TrustManifests => LoadOptions {
                config_overrides,
                ..LoadOptions::trusting_manifest()
            },
        }
    }
}
