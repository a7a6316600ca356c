//! A plugin's own files in its `resources/` folder, as `resources.read`
//! and `resources.list` serve them.
//!
//! A path from the plugin is checked before any file is touched: relative,
//! `/` between names, no empty, `.` or `..` part, no `\`, `:` or control
//! character, at most [`MAX_RESOURCE_PATH_BYTES`]. The file it names is
//! then resolved (links followed) and must still be inside the folder, so
//! a link cannot lead out. Reads are capped at the plugin's `max-value`
//! and at [`MAX_RESOURCE_BYTES`]; a listing at [`MAX_RESOURCE_FILES`]
//! files, [`MAX_RESOURCE_DEPTH`] folders deep, and at
//! [`MAX_RESOURCE_ENTRIES`] entries looked at (files, folders and links
//! alike), so that a tree of empty folders cannot make one call walk
//! without end.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use plugboard_contract::PluginError;

/// The folder inside a plugin's folder (and archive) that holds its resources.
pub const RESOURCES_DIR: &str = "resources";

/// Longest path a plugin may pass, in bytes.
pub const MAX_RESOURCE_PATH_BYTES: usize = 1024;

/// Largest file `resources.read` returns, whatever the plugin's `max-value`.
pub const MAX_RESOURCE_BYTES: u64 = 16 << 20;

/// Most files `resources.list` returns; a folder with more is `invalid`.
pub const MAX_RESOURCE_FILES: usize = 4_096;

/// Most entries (files, folders, links) one `resources.list` looks at; a
/// folder with more is `invalid`.
pub const MAX_RESOURCE_ENTRIES: usize = 4 * MAX_RESOURCE_FILES;

/// Deepest folder `resources.list` looks into.
pub const MAX_RESOURCE_DEPTH: usize = 16;

/// A plugin's `resources/` folder, resolved once at load.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// The folder with links resolved; `None` when the plugin has none.
    root: Option<PathBuf>,
}

impl Resources {
    /// The `resources/` folder of the plugin in `plugin_dir`, if it has one.
    pub fn of_plugin(plugin_dir: &Path) -> Resources {
        let root = std::fs::canonicalize(plugin_dir.join(RESOURCES_DIR))
            .ok()
            .filter(|p| p.is_dir());
        Resources { root }
    }

    /// The bytes of the file at `path` (relative to `resources/`), at most
    /// `max` of them.
    pub fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, PluginError> {
        let relative = normalise(path)?;
        let Some(root) = &self.root else {
            return Err(PluginError::NotFound(format!(
                "resources/{path} (the plugin has no resources folder)"
            )));
        };
        let missing = || PluginError::NotFound(format!("resources/{path}"));
        let resolved = std::fs::canonicalize(root.join(&relative)).map_err(|_| missing())?;
        if !resolved.starts_with(root) {
            return Err(PluginError::Invalid(format!(
                "resource path {path:?} leads out of the resources folder"
            )));
        }
        let max = max.min(MAX_RESOURCE_BYTES);
        let file = std::fs::File::open(&resolved).map_err(|_| missing())?;
        let metadata = file.metadata().map_err(|_| missing())?;
        if !metadata.is_file() {
            return Err(PluginError::Invalid(format!("resource path {path:?} is not a file")));
        }
        if metadata.len() > max {
            return Err(PluginError::Invalid(format!(
                "resources/{path} is {} bytes; the most a read returns is {max}",
                metadata.len()
            )));
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        // Read at most one byte past the cap, in case the file grew.
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| PluginError::Invalid(format!("resources/{path} cannot be read: {e}")))?;
        if bytes.len() as u64 > max {
            return Err(PluginError::Invalid(format!(
                "resources/{path} is larger than the {max} bytes a read returns"
            )));
        }
        Ok(bytes)
    }

    /// Every file in `resources/`, relative to it, sorted; links that lead
    /// out of the folder, and folders deeper than [`MAX_RESOURCE_DEPTH`],
    /// are left out.
    pub fn list(&self) -> Result<Vec<String>, PluginError> {
        let Some(root) = &self.root else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let mut visited = 0usize;
        let mut pending = vec![(root.clone(), String::new(), 0usize)];
        while let Some((dir, prefix, depth)) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                visited += 1;
                if visited > MAX_RESOURCE_ENTRIES {
                    return Err(PluginError::Invalid(format!(
                        "the resources folder holds more than {MAX_RESOURCE_ENTRIES} entries"
                    )));
                }
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let relative = format!("{prefix}{name}");
                let Ok(resolved) = std::fs::canonicalize(entry.path()) else {
                    continue;
                };
                if !resolved.starts_with(root) {
                    continue;
                }
                if resolved.is_dir() {
                    // A link to a folder inside is listed under its own path only.
                    let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
                    if depth + 1 < MAX_RESOURCE_DEPTH && !is_link {
                        pending.push((resolved, format!("{relative}/"), depth + 1));
                    }
                } else if resolved.is_file() && normalise(&relative).is_ok() {
                    if found.len() >= MAX_RESOURCE_FILES {
                        return Err(PluginError::Invalid(format!(
                            "the resources folder holds more than {MAX_RESOURCE_FILES} files"
                        )));
                    }
                    found.push(relative);
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Checks a path a plugin passed and makes it a relative path.
fn normalise(path: &str) -> Result<PathBuf, PluginError> {
    let bad = |why: &str| PluginError::Invalid(format!("resource path {path:?} {why}"));
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.len() > MAX_RESOURCE_PATH_BYTES {
        return Err(PluginError::Invalid(format!(
            "resource path is {} bytes; the most is {MAX_RESOURCE_PATH_BYTES}",
            path.len()
        )));
    }
    if path.starts_with('/') {
        return Err(bad("is absolute; give it relative to resources/"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\' || c == ':') {
        return Err(bad("contains a control character, '\\' or ':'"));
    }
    let mut relative = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" => return Err(bad("has an empty part ('//' or a trailing '/')")),
            "." | ".." => return Err(bad("has a '.' or '..' part")),
            name => relative.push(name),
        }
    }
    Ok(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_plain() {
        assert_eq!(normalise("a/b.txt").unwrap(), PathBuf::from("a/b.txt"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/",
            "./a",
            "c:\\x",
            "a\0b",
        ] {
            assert!(matches!(normalise(bad), Err(PluginError::Invalid(_))), "{bad:?}");
        }
        assert!(normalise(&"a".repeat(MAX_RESOURCE_PATH_BYTES + 1)).is_err());
    }

    #[test]
    fn reads_list_and_refuses_links_out() {
        let dir = tempfile::tempdir().unwrap();
        let resources = dir.path().join("resources");
        std::fs::create_dir_all(resources.join("sub")).unwrap();
        std::fs::write(resources.join("a.txt"), b"alpha").unwrap();
        std::fs::write(resources.join("sub/b.txt"), b"beta").unwrap();
        std::fs::write(dir.path().join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), resources.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path(), resources.join("up")).unwrap();
        let found = Resources::of_plugin(dir.path());
        assert_eq!(found.read("a.txt", 100).unwrap(), b"alpha");
        assert_eq!(found.read("sub/b.txt", 100).unwrap(), b"beta");
        assert_eq!(found.list().unwrap(), ["a.txt", "sub/b.txt"]);
        for escape in ["out", "up/secret"] {
            let err = found.read(escape, 100).unwrap_err();
            assert!(
                matches!(&err, PluginError::Invalid(why) if why.contains("leads out")),
                "{escape}: {err:?}"
            );
        }
        assert!(matches!(found.read("nope", 100), Err(PluginError::NotFound(_))));
        assert!(matches!(found.read("a.txt", 3), Err(PluginError::Invalid(why)) if why.contains("5 bytes")));
        assert!(matches!(found.read("sub", 100), Err(PluginError::Invalid(_))));
        let none = Resources::of_plugin(&dir.path().join("missing"));
        assert_eq!(none.list().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_listing_stops_at_its_entry_cap_even_with_no_file_in_sight() {
        let dir = tempfile::tempdir().unwrap();
        let resources = dir.path().join("resources");
        for i in 0..=MAX_RESOURCE_ENTRIES {
            std::fs::create_dir_all(resources.join(format!("empty-{i}"))).unwrap();
        }
        let err = Resources::of_plugin(dir.path()).list().unwrap_err();
        assert!(
            matches!(&err, PluginError::Invalid(why) if why.contains(&format!("more than {MAX_RESOURCE_ENTRIES} entries"))),
            "{err:?}"
        );
        // One folder fewer is listed (and holds no file).
        std::fs::remove_dir(resources.join("empty-0")).unwrap();
        assert_eq!(Resources::of_plugin(dir.path()).list().unwrap(), Vec::<String>::new());
    }
}
