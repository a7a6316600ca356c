//! `plugboard run --watch`: a plugin folder changed while the host runs is
//! swapped in between events.

// The shared helpers serve every CLI test file; this one uses two of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{example_manifest, plugin_folder};
use plugboard_test_artifacts as artifacts;

#[test]
fn a_plugin_changed_during_a_run_is_swapped_in_between_events() {
    let root = tempfile::tempdir().unwrap();
    plugin_folder(
        root.path(),
        "auto-tag",
        &example_manifest("auto-tag"),
        artifacts::AUTO_TAG,
    );
    std::fs::write(
        root.path().join("script.jsonl"),
        concat!(
            "{\"create\": {\"title\": \"Fix urgent bug\"}}\n",
            "{\"pause\": 4000}\n",
            "{\"create\": {\"title\": \"Buy milk at home\"}}\n",
        ),
    )
    .unwrap();
    let mut child = common::command(root.path())
        .args([
            "--config-dir",
            "config",
            "--data-dir",
            "data",
            "--plugins-dir",
            "installed",
        ])
        .args([
            "run",
            "--plugins",
            "plugins",
            "--events",
            "script.jsonl",
            "--trust-manifests",
            "--watch",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the plugboard binary runs");
    let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut seen = String::new();
    let mut line = String::new();
    // Change the plugin once the run is paused between two events.
    loop {
        line.clear();
        if out.read_line(&mut line).expect("read stdout") == 0 {
            panic!("the run ended before pausing:\n{seen}");
        }
        seen.push_str(&line);
        if line.starts_with("#2 pause") {
            break;
        }
    }
    let manifest = example_manifest("auto-tag")
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace("keywords = \"urgent,review,bug\"", "keywords = \"urgent,home\"");
    assert!(
        manifest.contains("0.2.0") && manifest.contains("urgent,home"),
        "the example manifest changed shape"
    );
    std::fs::write(root.path().join("plugins/auto-tag/plugin.toml"), manifest).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    seen.push_str(&rest);
    assert!(child.wait().unwrap().success(), "{seen}");
    assert!(seen.contains("reload: auto-tag 0.1.0 -> 0.2.0 swapped in"), "{seen}");
    let milk = seen
        .lines()
        .find(|l| l.trim_start().starts_with("Buy milk at home"))
        .unwrap_or_default();
    assert!(
        milk.contains("home"),
        "the new keywords are in force after the reload: {seen}"
    );
    assert!(!seen.contains("+tag bug") || seen.contains("Fix urgent bug"), "{seen}");
}
