//! `plugboard disable`: adds a plugin to the disabled list (`disabled.json`
//! in the data folder, kept by [`plugboard::DisabledPlugins`]), so that it
//! stays installed but is not loaded.

use std::path::Path;
use std::process::ExitCode;

use plugboard::DisabledPlugins;
use plugboard_registry::PluginDirs;

use crate::{grant, plugin_dirs};

/// `plugboard disable ID`: keeps the plugin installed but stops it loading.
pub fn disable(id: &str, dirs: &PluginDirs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    grant::check_id(id)?;
    let mut disabled = DisabledPlugins::open(data_dir)?;
    if !disabled.insert(id) {
        println!("{id} is already disabled.");
        return Ok(ExitCode::SUCCESS);
    }
    disabled.save()?;
    match plugin_dirs::find_installed(dirs, id) {
        Some(plugin) => println!(
            "Disabled {id} {}: it stays installed in {} but is not loaded.",
            plugin.manifest.plugin.version,
            plugin.dir.display()
        ),
        None => println!(
            "Disabled {id} (it is not installed in {}; it will not load while disabled).",
            plugin_dirs::describe(dirs)
        ),
    }
    println!("`plugboard enable {id}` loads it again.");
    Ok(ExitCode::SUCCESS)
}
