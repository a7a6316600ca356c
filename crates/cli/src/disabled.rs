//! Plugins the user disabled: kept installed but not loaded, recorded in
//! `disabled.json` in the data folder (a JSON array of plugin ids), and
//! `plugboard disable`, which adds one.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use plugboard_registry::PluginDirs;

use crate::{grant, plugin_dirs};

/// The disabled list's name inside the data folder.
pub const DISABLED_FILE: &str = "disabled.json";

/// The disabled plugins.
#[derive(Debug, Clone)]
pub struct DisabledPlugins {
    path: PathBuf,
    ids: BTreeSet<String>,
}

impl DisabledPlugins {
    /// Reads `disabled.json` in the data folder; a missing file disables nothing.
    pub fn open(data_dir: &Path) -> anyhow::Result<DisabledPlugins> {
        let path = data_dir.join(DISABLED_FILE);
        let ids = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a JSON array of plugin ids; fix it, or move it away to enable every plugin",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(DisabledPlugins { path, ids })
    }

    /// Whether `id` is disabled.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Disables `id`; false when it already was.
    pub fn insert(&mut self, id: &str) -> bool {
        self.ids.insert(id.to_string())
    }

    /// Enables `id` again; false when it was not disabled.
    pub fn remove(&mut self, id: &str) -> bool {
        self.ids.remove(id)
    }

    /// Writes the file through a temporary file beside it and a rename, so
    /// a crash leaves the old list or the new one.
    pub fn save(&self) -> anyhow::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let context = || format!("cannot write {}", self.path.display());
        std::fs::create_dir_all(dir).with_context(context)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).with_context(context)?;
        let mut json = serde_json::to_vec_pretty(&self.ids).with_context(context)?;
        json.push(b'\n');
        temp.write_all(&json)
            .and_then(|()| temp.as_file().sync_all())
            .with_context(context)?;
        temp.persist(&self.path).map_err(|e| e.error).with_context(context)?;
        Ok(())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_survives_a_round_trip_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut disabled = DisabledPlugins::open(dir.path()).unwrap();
        assert!(!disabled.contains("a"));
        assert!(disabled.insert("b") && disabled.insert("a") && !disabled.insert("a"));
        disabled.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(DISABLED_FILE)).unwrap();
        assert_eq!(text, "[\n  \"a\",\n  \"b\"\n]\n");
        let mut again = DisabledPlugins::open(dir.path()).unwrap();
        assert!(again.contains("a") && again.remove("a") && !again.remove("a"));

        std::fs::write(dir.path().join(DISABLED_FILE), "{\"a\": 1}").unwrap();
        let error = format!("{:#}", DisabledPlugins::open(dir.path()).unwrap_err());
        assert!(
            error.contains("disabled.json is not a JSON array of plugin ids"),
            "{error}"
        );
    }
}
