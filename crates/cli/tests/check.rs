//! `plugboard check PATH` as a plugin author runs it: one line per check,
//! a non-zero exit when any fails, a manifest error shown under the line of
//! plugin.toml it is about.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::Path;

use common::{example_manifest, plugboard, plugin_folder, stdout};
use plugboard_test_artifacts::{AUTO_TAG, HOSTILE};
use tempfile::TempDir;

/// `plugboard check plugins/<folder>` in `root`: its exit success and stdout.
fn check(root: &Path, folder: &str) -> (bool, String) {
    let output = plugboard(root, &["check", &format!("plugins/{folder}")]);
    (output.status.success(), stdout(&output))
}

/// The line of the check `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{out}"))
}

#[test]
fn a_good_plugin_passes_every_check() {
    let root = TempDir::new().unwrap();
    plugin_folder(root.path(), "auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    let (ok, out) = check(root.path(), "auto-tag");
    assert!(ok, "{out}");
    for name in ["manifest", "imports", "world", "smoke", "health"] {
        assert!(line(&out, name).starts_with("ok "), "{out}");
    }
    assert!(line(&out, "smoke").contains("task-created handled"), "{out}");
    // Built with the SDK against 2.2: its lifecycle export answers the SDK's default.
    assert!(line(&out, "health").ends_with(" ok"), "{out}");
}

#[test]
fn a_manifest_error_is_shown_with_the_field_underlined() {
    let root = TempDir::new().unwrap();
    let manifest = example_manifest("auto-tag").replace("[events]", "[events]\nsubscribes = [\"task-created\"]");
    plugin_folder(root.path(), "auto-tag", &manifest, AUTO_TAG);
    let (ok, out) = check(root.path(), "auto-tag");
    assert!(!ok, "{out}");
    assert!(line(&out, "manifest").starts_with("FAILED "), "{out}");
    assert!(line(&out, "manifest").contains("unknown field `subscribes`"), "{out}");
    // The offending line, numbered, and the key underlined below it.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("| subscribes = [\"task-created\"]"))
        .unwrap_or_else(|| panic!("the line is shown:\n{out}"));
    let source = lines[at];
    let marks = lines[at + 1];
    let column = source.find("subscribes").unwrap();
    assert_eq!(
        &marks[column..column + "subscribes".len()],
        "^".repeat("subscribes".len()),
        "the key is underlined:\n{source}\n{marks}"
    );
    assert!(line(&out, "imports").starts_with("- "), "{out}");
}

#[test]
fn an_invalid_value_is_underlined_too() {
    let root = TempDir::new().unwrap();
    let manifest = example_manifest("auto-tag").replace("version = \"0.1.0\"", "version = \"zero\"");
    plugin_folder(root.path(), "auto-tag", &manifest, AUTO_TAG);
    let (ok, out) = check(root.path(), "auto-tag");
    assert!(!ok, "{out}");
    assert!(out.contains("| version = \"zero\""), "{out}");
    assert!(out.contains("^^^^^^ this value"), "{out}");
}

#[test]
fn every_refused_import_is_listed() {
    let root = TempDir::new().unwrap();
    let manifest = example_manifest("auto-tag").replace("auto_tag.wasm", "greedy.wasm");
    let mut component = wasm_encoder::ComponentBuilder::default();
    for name in ["wasi:keyvalue/store@0.2.0", "wasi:http/incoming-handler@0.2.6"] {
        let ty = component.type_instance(None, &wasm_encoder::InstanceType::new());
        component.import(name, wasm_encoder::ComponentTypeRef::Instance(ty));
    }
    let bytes = component.finish();
    let dir = root.path().join("plugins/greedy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    std::fs::write(dir.join("greedy.wasm"), bytes).unwrap();
    let (ok, out) = check(root.path(), "greedy");
    assert!(!ok, "{out}");
    assert!(line(&out, "manifest").starts_with("ok "), "{out}");
    assert!(line(&out, "imports").starts_with("FAILED "), "{out}");
    assert!(line(&out, "imports").contains("2 of 2 refused"), "{out}");
    assert!(out.contains("wasi:keyvalue/store@0.2.0: "), "{out}");
    assert!(out.contains("wasi:http/incoming-handler@0.2.6: "), "{out}");
    assert!(line(&out, "world").starts_with("- "), "{out}");
    assert!(line(&out, "smoke").starts_with("- "), "{out}");
}

#[test]
fn a_world_other_than_the_manifests_fails() {
    let root = TempDir::new().unwrap();
    let manifest = example_manifest("auto-tag").replace("api = \"task-events@2\"", "api = \"task-events@1\"");
    plugin_folder(root.path(), "auto-tag", &manifest, AUTO_TAG);
    let (ok, out) = check(root.path(), "auto-tag");
    assert!(!ok, "{out}");
    assert!(line(&out, "imports").starts_with("ok "), "{out}");
    assert!(line(&out, "world").starts_with("FAILED "), "{out}");
    assert!(line(&out, "world").contains("task-events@2.2.0"), "{out}");
}

#[test]
fn a_plugin_that_traps_on_the_smoke_event_fails() {
    let root = TempDir::new().unwrap();
    let manifest = r#"
[plugin]
id = "trapper"
name = "Trapper"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = ["task-created"]

[permissions]
state = { quota = "16KiB" }

[config]
attack = "state-then-trap"
"#;
    plugin_folder(root.path(), "trapper", manifest, HOSTILE);
    let (ok, out) = check(root.path(), "trapper");
    assert!(!ok, "{out}");
    assert!(line(&out, "world").starts_with("ok "), "{out}");
    assert!(line(&out, "smoke").starts_with("FAILED "), "{out}");
    assert!(line(&out, "smoke").contains("task-created"), "{out}");
}

/// auto-tag in `plugins/auto-tag`, an events script and an expectation file
/// in `root`.
fn auto_tag_with(root: &Path, events: &str, expect: &str) {
    plugin_folder(root, "auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    std::fs::write(root.join("events.jsonl"), events).unwrap();
    std::fs::write(root.join("expect.toml"), expect).unwrap();
}

const EVENTS: &str = r#"{"create": {"ref": "bug", "title": "Fix urgent login bug"}}
{"create": {"ref": "milk", "title": "Buy milk"}}
{"modify": {"ref": "milk", "title": "Review the milk"}}
{"delete": {"ref": "bug"}}
"#;

#[test]
fn events_and_an_expectation_that_holds_pass() {
    let root = TempDir::new().unwrap();
    auto_tag_with(
        root.path(),
        EVENTS,
        r#"
log = ["watching titles for: urgent, review, bug", "Fix urgent login bug", "Review the milk"]
absent-tasks = ["Fix urgent login bug"]
[[task]]
title = "Review the milk"
tags = ["review"]
priority = "none"
"#,
    );
    let output = plugboard(
        root.path(),
        &[
            "check",
            "plugins/auto-tag",
            "--events",
            "events.jsonl",
            "--expect",
            "expect.toml",
        ],
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", common::stderr(&output));
    assert!(line(&out, "events").starts_with("ok "), "{out}");
    assert!(line(&out, "events").contains("4 actions"), "{out}");
    assert!(line(&out, "expect").starts_with("ok "), "{out}");
}

#[test]
fn an_expectation_that_does_not_hold_fails_with_each_difference_and_the_log() {
    let root = TempDir::new().unwrap();
    auto_tag_with(
        root.path(),
        EVENTS,
        r#"
log = ["tagged everything"]
[[task]]
title = "Review the milk"
tags = ["shop"]
[state]
seen = "2"
"#,
    );
    let output = plugboard(
        root.path(),
        &[
            "check",
            "plugins/auto-tag",
            "--events",
            "events.jsonl",
            "--expect",
            "expect.toml",
        ],
    );
    let out = stdout(&output);
    assert!(!output.status.success(), "{out}");
    assert!(line(&out, "expect").starts_with("FAILED "), "{out}");
    assert!(line(&out, "expect").contains("3 not met"), "{out}");
    assert!(out.contains("log: no line contains \"tagged everything\""), "{out}");
    assert!(
        out.contains("task \"Review the milk\": expected the tags [\"shop\"], it has [\"review\"]"),
        "{out}"
    );
    assert!(out.contains("state \"seen\": expected \"2\", it is not set"), "{out}");
    assert!(
        out.contains("| watching titles for: urgent, review, bug"),
        "the log is shown:\n{out}"
    );
}

#[test]
fn a_bad_events_or_expectation_file_is_named_before_anything_runs() {
    let root = TempDir::new().unwrap();
    auto_tag_with(root.path(), "{\"create\": {}}\n", "log = []\n");
    let output = plugboard(root.path(), &["check", "plugins/auto-tag", "--events", "events.jsonl"]);
    assert!(!output.status.success());
    let err = common::stderr(&output);
    assert!(err.contains("events.jsonl:1: missing field `title`"), "{err}");
    assert!(stdout(&output).is_empty(), "no check ran: {}", stdout(&output));

    std::fs::write(root.path().join("events.jsonl"), EVENTS).unwrap();
    std::fs::write(root.path().join("expect.toml"), "logs = [\"x\"]\n").unwrap();
    let output = plugboard(
        root.path(),
        &[
            "check",
            "plugins/auto-tag",
            "--events",
            "events.jsonl",
            "--expect",
            "expect.toml",
        ],
    );
    assert!(!output.status.success());
    let err = common::stderr(&output);
    assert!(err.contains("expect.toml") && err.contains("logs"), "{err}");
}

#[test]
fn a_plugin_with_its_own_folder_is_checked_in_a_throw_away_one() {
    let root = TempDir::new().unwrap();
    let manifest = r#"
[plugin]
id = "keeper"
name = "Keeper"
version = "0.1.0"
api = "task-events@2"
component = "files_probe.wasm"

[events]
subscribe = ["task-created"]

[permissions]
files = { private = true, quota = "64KiB" }

[config]
steps = "text:/private/note.txt:kept;read:/private/note.txt"
"#;
    plugin_folder(root.path(), "keeper", manifest, plugboard_test_artifacts::FILES_PROBE);
    std::fs::write(
        root.path().join("events.jsonl"),
        "{\"create\": {\"ref\": \"a\", \"title\": \"Write it down\"}}\n",
    )
    .unwrap();
    let output = plugboard(root.path(), &["check", "plugins/keeper", "--events", "events.jsonl"]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", common::stderr(&output));
    let imports = line(&out, "imports");
    assert!(
        imports.contains("wasi:filesystem: /private (own folder, 64KiB quota, 4096 entries)"),
        "{imports}"
    );
    for name in ["smoke", "events"] {
        assert!(line(&out, name).contains("ok"), "{out}");
    }
    assert!(!root.path().join("data/files").exists(), "nothing in the data folder");
}
