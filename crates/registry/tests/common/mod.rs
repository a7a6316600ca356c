//! Plugin folders for the tests: a `plugin.toml` (and a few fake component bytes when
//! asked), nothing that runs.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use std::path::{Path, PathBuf};

use plugboard_manifest::Manifest;
use plugboard_registry::{Discovered, Origin};

/// The text of a valid manifest for `id` at `version`, followed by `extra` (which may
/// add `component = …` first, then tables such as `[dependencies]`).
pub fn manifest_text(id: &str, version: &str, extra: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"Plugin {id}\"\nversion = \"{version}\"\napi = \"task-events@2\"\n{extra}"
    )
}

/// Writes the plugin folder `parent/folder` with a manifest for `id` at `version`, and
/// returns the folder.
pub fn write_plugin(parent: &Path, folder: &str, id: &str, version: &str, extra: &str) -> PathBuf {
    let dir = parent.join(folder);
    std::fs::create_dir_all(&dir).expect("create the plugin folder");
    std::fs::write(dir.join("plugin.toml"), manifest_text(id, version, extra)).expect("write plugin.toml");
    dir
}

/// Like [`write_plugin`], with a component file of fake bytes (nothing here parses it).
pub fn write_plugin_with_code(parent: &Path, id: &str, version: &str, extra: &str) -> PathBuf {
    let dir = write_plugin(
        parent,
        id,
        id,
        version,
        &format!("component = \"plugin.wasm\"\n{extra}"),
    );
    std::fs::write(dir.join("plugin.wasm"), b"\0asm not really a component").expect("write the component");
    dir
}

/// `[dependencies]` with each (id, requirement, optional).
pub fn dependencies(entries: &[(&str, &str, bool)]) -> String {
    let mut text = String::from("[dependencies]\n");
    for (id, requirement, optional) in entries {
        text.push_str(&format!(
            "\"{id}\" = {{ version = \"{requirement}\", optional = {optional} }}\n"
        ));
    }
    text
}

/// A discovered user plugin (its folder need not exist) with these dependencies.
pub fn plugin(id: &str, version: &str, entries: &[(&str, &str, bool)]) -> Discovered {
    let text = manifest_text(id, version, &dependencies(entries));
    Discovered {
        manifest: Manifest::parse(&text, Path::new("plugin.toml")).expect("test manifests are valid"),
        dir: PathBuf::from("/plugins").join(id),
        origin: Origin::User,
    }
}
