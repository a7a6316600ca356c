//! `plugboard run --watch`: a plugin folder changed or added while the run
//! goes on is loaded on the host's background thread and is in force for
//! the next event.

// The shared helpers serve every CLI test file; this one uses a few of them.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{example_manifest, plugin_folder};
use plugboard_test_artifacts as artifacts;

/// A run of `script` on `plugins/` with --watch, read up to the script's
/// `#2 pause` line.
struct PausedRun {
    child: Child,
    out: BufReader<ChildStdout>,
    seen: String,
}

impl PausedRun {
    fn start(root: &Path, script: &str) -> PausedRun {
        std::fs::write(root.join("script.jsonl"), script).unwrap();
        let mut child = common::command(root)
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
        let paused = loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                break false;
            }
            seen.push_str(&line);
            if line.starts_with("#2 pause") {
                break true;
            }
        };
        if !paused {
            let status = child.wait();
            panic!("the run ended ({status:?}) before pausing:\n{seen}");
        }
        PausedRun { child, out, seen }
    }

    /// Everything the run printed, once it has succeeded.
    fn finish(mut self) -> String {
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        self.seen.push_str(&rest);
        assert!(self.child.wait().unwrap().success(), "{}", self.seen);
        self.seen
    }
}

#[test]
fn a_plugin_changed_during_a_run_is_swapped_in_before_the_next_event() {
    let root = tempfile::tempdir().unwrap();
    plugin_folder(
        root.path(),
        "auto-tag",
        &example_manifest("auto-tag"),
        artifacts::AUTO_TAG,
    );
    let run = PausedRun::start(
        root.path(),
        concat!(
            "{\"create\": {\"title\": \"Fix urgent bug\"}}\n",
            "{\"pause\": 4000}\n",
            "{\"create\": {\"title\": \"Buy milk at home\"}}\n",
        ),
    );
    // Change the plugin while the run is paused between two events.
    let manifest = example_manifest("auto-tag")
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace("keywords = \"urgent,review,bug\"", "keywords = \"urgent,home\"");
    assert!(
        manifest.contains("0.2.0") && manifest.contains("urgent,home"),
        "the example manifest changed shape"
    );
    std::fs::write(root.path().join("plugins/auto-tag/plugin.toml"), manifest).unwrap();
    let seen = run.finish();
    let reload = seen
        .find("reload: auto-tag 0.1.0 -> 0.2.0 swapped in")
        .unwrap_or_else(|| panic!("{seen}"));
    assert!(
        seen.find("#3 create").is_some_and(|next| reload < next),
        "the reload is printed during the pause: {seen}"
    );
    // The title itself says "home"; the tags column must too. Columns:
    // title, status, priority, tags, project.
    let milk: Vec<&str> = seen
        .lines()
        .find(|l| l.trim_start().starts_with("Buy milk at home"))
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect();
    assert!(
        milk.get(3).is_some_and(|tags| tags.split(',').any(|tag| tag == "home")),
        "the new keywords are in force after the reload: {milk:?} in {seen}"
    );
}

#[test]
fn a_plugin_added_during_a_run_gets_the_next_event() {
    let root = tempfile::tempdir().unwrap();
    plugin_folder(
        root.path(),
        "auto-tag",
        &example_manifest("auto-tag"),
        artifacts::AUTO_TAG,
    );
    let run = PausedRun::start(
        root.path(),
        concat!(
            "{\"create\": {\"title\": \"Fix urgent bug\"}}\n",
            "{\"pause\": 4000}\n",
            "{\"create\": {\"title\": \"Buy milk\"}}\n",
        ),
    );
    plugin_folder(
        root.path(),
        "legacy-counter",
        &example_manifest("legacy-counter"),
        artifacts::LEGACY_COUNTER,
    );
    let seen = run.finish();
    assert!(seen.contains("reload: legacy-counter 0.1.0 added"), "{seen}");
    let after = &seen[seen.find("#3 create").unwrap_or_else(|| panic!("{seen}"))..];
    assert!(
        after.contains("  legacy-counter [task-events@1]: handled"),
        "the added plugin is reported like the others: {seen}"
    );
}

#[test]
fn a_plugin_added_during_a_long_pause_is_loaded_while_the_run_waits() {
    let root = tempfile::tempdir().unwrap();
    plugin_folder(
        root.path(),
        "auto-tag",
        &example_manifest("auto-tag"),
        artifacts::AUTO_TAG,
    );
    let PausedRun { mut child, out, .. } = PausedRun::start(
        root.path(),
        concat!(
            "{\"create\": {\"title\": \"Fix urgent bug\"}}\n",
            "{\"pause\": 600000}\n",
            "{\"create\": {\"title\": \"Buy milk\"}}\n",
        ),
    );
    plugin_folder(
        root.path(),
        "legacy-counter",
        &example_manifest("legacy-counter"),
        artifacts::LEGACY_COUNTER,
    );
    // The run pauses for ten minutes; the reload must be printed long before.
    let (lines, heard) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let limit = Duration::from_secs(60);
    let reload = loop {
        match heard.recv_timeout(limit) {
            Ok(line) if line.starts_with("reload: ") => break line,
            Ok(_) => continue,
            Err(e) => panic!("no reload printed within {limit:?} of the pause: {e}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(reload, "reload: legacy-counter 0.1.0 added");
}
