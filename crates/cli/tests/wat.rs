//! A plugin folder under development may name a `.wat` component
//! (WebAssembly text): `run --plugins`, `check` and `inspect` load it as
//! they load a binary, a syntax error is reported with the file and line,
//! and `pack` refuses to put text in an archive.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::Path;

use common::{example_manifest, plugboard_fails, plugboard_ok};
use plugboard_test_artifacts::AUTO_TAG;

/// `plugins/auto-tag/` with the auto-tag example as component text,
/// `auto_tag.wat`, printed from the component built from source.
fn auto_tag_as_text(root: &Path) -> std::path::PathBuf {
    let dir = root.join("plugins/auto-tag");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = example_manifest("auto-tag").replace(
        &format!("component = \"{}.wasm\"", AUTO_TAG.name),
        "component = \"auto_tag.wat\"",
    );
    assert!(manifest.contains("auto_tag.wat"), "{manifest}");
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    let text = wasmprinter::print_bytes(AUTO_TAG.bytes).expect("the component prints as text");
    assert!(text.starts_with("(component"), "component text");
    std::fs::write(dir.join("auto_tag.wat"), text).unwrap();
    dir
}

#[test]
fn a_wat_component_loads_in_run_check_and_inspect_and_handles_events() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    auto_tag_as_text(root);

    let out = plugboard_ok(root, &["run", "--plugins", "plugins", "--trust-manifests"]);
    assert!(
        out.contains("    changed task \"Fix urgent login bug\": +tag urgent, +tag bug, priority none -> high"),
        "the text component handled the event:\n{out}"
    );
    let out = plugboard_ok(root, &["check", "plugins/auto-tag"]);
    assert!(out.contains("smoke"), "{out}");
    let out = plugboard_ok(root, &["inspect", "plugins/auto-tag"]);
    assert!(out.contains("plugboard:task-events/handler@2"), "{out}");
}

#[test]
fn a_syntax_error_in_a_wat_component_names_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let dir = auto_tag_as_text(root);
    std::fs::write(
        dir.join("auto_tag.wat"),
        "(component\n  (core module\n    (func (result i32) i32.cosnt 1))\n)\n",
    )
    .unwrap();
    let output = common::plugboard(root, &["run", "--plugins", "plugins", "--trust-manifests"]);
    assert!(!output.status.success());
    let err = common::stderr(&output);
    assert!(
        err.contains("plugins/auto-tag/auto_tag.wat:3:"),
        "the file and the line of the mistake are named:\n{err}"
    );
    assert!(err.contains("auto-tag"), "{err}");
}

#[test]
fn pack_refuses_a_wat_component() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    auto_tag_as_text(root);
    let err = plugboard_fails(root, &["pack", "plugins/auto-tag", "--out", "dist"]);
    assert!(
        err.contains("plugins/auto-tag/auto_tag.wat: the manifest's component is WebAssembly text (.wat)")
            && err.contains("never put in a plugin archive"),
        "{err}"
    );
    assert!(!root.join("dist").exists() || std::fs::read_dir(root.join("dist")).unwrap().next().is_none());
}
