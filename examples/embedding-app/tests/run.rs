//! Runs the embedding app as its user would, on a plugins folder holding
//! the auto-tag example, and checks what they would: the plugin loaded, and
//! the new task got its tags and priority.

use std::process::Command;

use plugboard_test_artifacts as artifacts;

#[test]
fn the_app_opens_a_host_and_auto_tag_tags_its_new_task() {
    let root = tempfile::tempdir().unwrap();
    let plugin = root.path().join("plugins/auto-tag");
    std::fs::create_dir_all(&plugin).unwrap();
    let manifest = artifacts::repo_root().join("examples/auto-tag/plugin.toml");
    std::fs::copy(&manifest, plugin.join("plugin.toml")).unwrap();
    std::fs::write(plugin.join("auto_tag.wasm"), artifacts::AUTO_TAG.bytes).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_embedding-app"))
        .arg(root.path().join("plugins"))
        .arg("Fix urgent login bug")
        .output()
        .expect("the app runs");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}\n{err}");
    assert!(out.contains("plugin auto-tag 0.1.0: loaded (task-events@2)"), "{out}");
    assert!(out.contains("auto-tag: handled"), "{out}");
    assert!(
        out.contains("task \"Fix urgent login bug\": tags: urgent, bug; priority: high"),
        "{out}"
    );
}

#[test]
fn without_a_plugins_folder_the_app_says_how_to_run_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_embedding-app"))
        .output()
        .expect("the app runs");
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("usage: embedding-app PLUGINS_DIR"), "{err}");
}
