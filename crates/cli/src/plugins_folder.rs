//! A plugins folder: one subfolder per plugin, each holding a plugin.toml and
//! its component, as `run`, `list` and `grant --all-requested` read it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest};

/// The subfolders of `dir` that hold a plugin.toml, by name; an error when
/// there is none.
pub fn plugin_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read the plugins folder {}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list the plugins folder {}", dir.display()))?
            .path();
        if path.is_dir() && path.join(MANIFEST_FILE_NAME).is_file() {
            folders.push(path);
        }
    }
    folders.sort();
    if folders.is_empty() {
        bail!(
            "{} holds no plugin: expected subfolders each with a {MANIFEST_FILE_NAME} and its component",
            dir.display()
        );
    }
    Ok(folders)
}

/// The manifest of plugin `id`: `dir` itself when it is that plugin's folder,
/// else the subfolder of `dir` whose manifest has that id.
pub fn find_manifest(dir: &Path, id: &str) -> anyhow::Result<(PathBuf, Manifest)> {
    if dir.join(MANIFEST_FILE_NAME).is_file() {
        let manifest = Manifest::from_dir(dir)?;
        if manifest.plugin.id.as_str() != id {
            bail!(
                "{} is the folder of plugin `{}`, not `{id}`",
                dir.display(),
                manifest.plugin.id
            );
        }
        return Ok((dir.to_path_buf(), manifest));
    }
    let mut unreadable = Vec::new();
    for folder in plugin_folders(dir)? {
        match Manifest::from_dir(&folder) {
            Ok(manifest) if manifest.plugin.id.as_str() == id => return Ok((folder, manifest)),
            Ok(_) => {}
            Err(error) => unreadable.push(error.to_string()),
        }
    }
    let mut message = format!("no plugin `{id}` in {}", dir.display());
    if !unreadable.is_empty() {
        message.push_str(&format!(
            "; {} manifest(s) there could not be read:\n  {}",
            unreadable.len(),
            unreadable.join("\n  ")
        ));
    }
    bail!(message)
}
