//! `plugboard run --unstable-world`: without it a plugin built against the
//! pre-release world `task-events@3.0.0-dev` is refused, the message saying
//! the world is unreleased and naming the flag; with it the plugin loads and
//! handles the run's events through 3.0.0-dev's own import.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use common::{plugboard, plugboard_ok, plugin_folder, stderr, stdout};
use plugboard_test_artifacts::{UNSTABLE_V3_DEV, repo_root};

#[test]
fn run_speaks_the_unreleased_world_only_with_unstable_world() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let manifest = std::fs::read_to_string(repo_root().join("tests/fixtures/unstable-v3-dev/plugin.toml")).unwrap();
    plugin_folder(root, "unstable-v3-dev", &manifest, UNSTABLE_V3_DEV);

    let refused = plugboard(root, &["run", "--plugins", "plugins", "--trust-manifests"]);
    let said = format!("{}{}", stdout(&refused), stderr(&refused));
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("a world that is not released yet"), "{said}");
    assert!(said.contains("--unstable-world"), "{said}");

    let out = plugboard_ok(
        root,
        &["run", "--plugins", "plugins", "--trust-manifests", "--unstable-world"],
    );
    assert!(out.contains("on world 3.0.0-dev"), "the plugin spoke 3.0.0-dev:\n{out}");
}
