//! Checking setting overrides against the plugins found: an override for a
//! plugin that is not there is a mistake worth stopping for; one for a key
//! the manifest does not declare is passed on and reported.

use plugboard_registry::Loadable;

use crate::config::Settings;
use crate::error::OpenError;
use crate::report::UnknownSetting;

/// The overrides whose key the plugin does not declare; an error for the
/// first override naming a plugin (with a component) that is not in `load`.
pub(crate) fn check(settings: &Settings, load: &[Loadable], folders: &str) -> Result<Vec<UnknownSetting>, OpenError> {
    let mut unknown = Vec::new();
    for (plugin, values) in settings {
        let found = load
            .iter()
            .map(|loadable| &loadable.plugin)
            .find(|found| found.has_code() && found.id().as_str() == plugin);
        let Some(found) = found else {
            return Err(OpenError::SettingForUnknownPlugin {
                plugin: plugin.clone(),
                key: values.keys().next().cloned().unwrap_or_default(),
                folders: folders.to_string(),
            });
        };
        let declared = &found.manifest.config;
        for key in values.keys().filter(|key| !declared.contains_key(*key)) {
            unknown.push(UnknownSetting {
                plugin: plugin.clone(),
                key: key.clone(),
                known: declared.keys().cloned().collect(),
            });
        }
    }
    Ok(unknown)
}
