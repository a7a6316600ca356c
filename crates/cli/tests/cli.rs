//! The `plugboard` binary as a user runs it: plugin folders built in a temp
//! dir from the example manifests and the components built from source.

use std::path::Path;
use std::process::{Command, Output};

use plugboard_test_artifacts::{self as artifacts, AUTO_TAG, Component, LEGACY_COUNTER};
use tempfile::TempDir;

/// Runs `plugboard` with `args` in `dir`.
fn plugboard(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the plugboard binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `plugins/<folder>/` with a manifest and a component.
fn plugin_folder(root: &Path, folder: &str, manifest: &str, component: Component) {
    let dir = root.join("plugins").join(folder);
    std::fs::create_dir_all(&dir).expect("create plugin folder");
    std::fs::write(dir.join("plugin.toml"), manifest).expect("write manifest");
    std::fs::write(dir.join(format!("{}.wasm", component.name)), component.bytes).expect("write component");
}

fn example_manifest(example: &str) -> String {
    let path = artifacts::repo_root()
        .join("examples")
        .join(example)
        .join("plugin.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A temp dir holding `plugins/auto-tag` and `plugins/legacy-counter`.
fn example_plugins() -> TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(root.path(), "auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    plugin_folder(
        root.path(),
        "legacy-counter",
        &example_manifest("legacy-counter"),
        LEGACY_COUNTER,
    );
    root
}

/// The line of the final task table that shows `title`.
fn table_row<'a>(out: &'a str, title: &str) -> &'a str {
    let table = out
        .split("Tasks at the end")
        .nth(1)
        .unwrap_or_else(|| panic!("no task table:\n{out}"));
    table
        .lines()
        .find(|line| line.trim_start().starts_with(title))
        .unwrap_or_else(|| panic!("no row for {title:?}:\n{out}"))
}

#[test]
fn the_demo_shows_both_plugins_at_work_and_what_a_v1_plugin_cannot_receive() {
    let root = example_plugins();
    let output = plugboard(root.path(), &["run", "--plugins", "plugins"]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));

    assert!(
        out.contains("auto-tag        0.1.0  task-events@2 (built against 2.1.0)"),
        "{out}"
    );
    assert!(
        out.contains("legacy-counter  0.1.0  task-events@1 (built against 1.0.0)"),
        "{out}"
    );

    assert!(
        out.contains("#5 modify \"Buy milk\" -> \"Buy milk, urgent\"  => task-modified"),
        "{out}"
    );
    assert!(
        out.contains("    changed task \"Buy milk, urgent\": +tag urgent, priority none -> high"),
        "{out}"
    );
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");

    assert!(out.contains("  legacy-counter [task-events@1]: handled"), "{out}");
    assert!(out.contains("    info: created tasks so far: 4"), "{out}");
    assert!(out.contains("is done: Review quarterly report"), "{out}");
    assert!(
        out.contains("  legacy-counter [task-events@1]: not delivered (timer has no task-events@1 form)"),
        "{out}"
    );
    assert!(
        out.contains("  legacy-counter [task-events@1]: not delivered (sync-completed has no task-events@1 form)"),
        "{out}"
    );
    assert!(out.contains("auto-tag [task-events@2]: retag: checked"), "{out}");

    let milk = table_row(&out, "Buy milk, urgent");
    assert!(milk.contains("high") && milk.contains("home,urgent"), "{milk}");
    let login = table_row(&out, "Fix urgent login bug");
    assert!(login.contains("high") && login.contains("work,urgent,bug") && login.contains("website"));
    assert!(table_row(&out, "Review quarterly report").contains("completed"));
    assert!(!out.contains("Call the plumber  "), "the deleted task is gone:\n{out}");
}

#[test]
fn an_events_file_drives_the_run_and_settings_override_the_manifest() {
    let root = example_plugins();
    let events = root.path().join("week.jsonl");
    std::fs::write(
        &events,
        r#"{"create": {"ref": "tea", "title": "Buy tea", "project": "home"}}

{"modify": {"ref": "tea", "priority": "low", "add-tags": ["errand"], "due": "2025-07-01"}}
{"custom": {"topic": "hello", "payload": "hi"}}
{"command": {"plugin": "legacy-counter", "name": "count"}}
"#,
    )
    .expect("write events");
    let output = plugboard(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "week.jsonl",
            "--set",
            "auto-tag.keywords=tea",
        ],
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.contains("Events from week.jsonl:"), "{out}");
    assert!(out.contains("#1 create \"Buy tea\"  => task-created"), "{out}");
    assert!(out.contains("    changed task \"Buy tea\": +tag tea"), "{out}");
    assert!(
        out.contains("#3 modify \"Buy tea\": +tag errand, priority none -> low, due none -> 2025-07-01"),
        "{out}"
    );
    assert!(out.contains("#4 custom \"hello\" from app  => custom"), "{out}");
    assert!(
        out.contains("  legacy-counter [task-events@1]: not delivered (custom has no task-events@1 form)"),
        "{out}"
    );
    assert!(
        out.contains("  legacy-counter [task-events@1]: failed: plugin `legacy-counter` speaks task-events@1"),
        "{out}"
    );
    let tea = table_row(&out, "Buy tea");
    assert!(
        tea.contains("low") && tea.contains("tea,errand") && tea.contains("home"),
        "{tea}"
    );
}

#[test]
fn a_plugin_whose_init_fails_is_reported_and_the_others_still_run() {
    let root = example_plugins();
    let output = plugboard(
        root.path(),
        &["run", "--plugins", "plugins", "--set", "auto-tag.keywords=two words"],
    );
    let out = stdout(&output);
    assert!(
        out.contains(
            "  auto-tag: could not start: init failed: invalid: setting `keywords`: \"two words\" has a space"
        ),
        "{out}"
    );
    assert!(
        out.contains("  auto-tag [task-events@2]: unavailable: init failed"),
        "{out}"
    );
    assert!(out.contains("    info: created tasks so far: 4"), "{out}");
}

#[test]
fn a_bad_line_stops_the_run_naming_the_file_and_line() {
    let root = example_plugins();
    std::fs::write(
        root.path().join("bad.jsonl"),
        "{\"create\": {\"ref\": \"a\", \"title\": \"A\"}}\n{\"create\": {\"titel\": \"B\"}}\n",
    )
    .expect("write events");
    let output = plugboard(root.path(), &["run", "--plugins", "plugins", "--events", "bad.jsonl"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("bad.jsonl:2: unknown field `titel`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&output).is_empty(), "nothing runs before the script is checked");

    std::fs::write(
        root.path().join("ref.jsonl"),
        "{\"timer\": \"hourly\"}\n{\"delete\": {\"ref\": \"ghost\"}}\n{\"timer\": \"hourly\"}\n",
    )
    .expect("write events");
    let output = plugboard(root.path(), &["run", "--plugins", "plugins", "--events", "ref.jsonl"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("ref.jsonl:2: no task has ref \"ghost\""), "{err}");
    assert!(!stdout(&output).contains("#3"), "the run stops at the bad line");
}

#[test]
fn a_plugin_that_fails_to_load_is_reported_and_the_others_still_run() {
    let root = tempfile::tempdir().expect("temp dir");
    let lying = example_manifest("auto-tag").replace("api = \"task-events@2\"", "api = \"task-events@1\"");
    plugin_folder(root.path(), "auto-tag", &lying, AUTO_TAG);
    plugin_folder(
        root.path(),
        "legacy-counter",
        &example_manifest("legacy-counter"),
        LEGACY_COUNTER,
    );
    let output = plugboard(root.path(), &["run", "--plugins", "plugins"]);
    assert!(!output.status.success(), "a load failure makes the exit code non-zero");
    let err = stderr(&output);
    assert!(
        err.contains("plugin `auto-tag`: plugin.toml says `api = \"task-events@1\"`")
            && err.contains("auto_tag.wasm is built for plugboard:task-events@2.1.0"),
        "{err}"
    );
    let out = stdout(&output);
    assert!(out.contains("    info: created tasks so far: 4"), "{out}");
    assert!(!out.contains("auto-tag ["), "{out}");
    assert!(
        table_row(&out, "Buy milk, urgent").contains("none"),
        "nobody tagged it:\n{out}"
    );
}

#[test]
fn inspect_shows_the_manifest_and_the_world_of_a_folder() {
    let root = example_plugins();
    let output = plugboard(root.path(), &["inspect", "plugins/auto-tag"]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    for expected in [
        "Plugin auto-tag",
        "  api          task-events@2",
        "  subscribes   task-created, task-modified",
        "  asks for     tasks: read, write",
        "  config       keywords = \"urgent,review,bug\"",
        "  commands     retag: Apply the keyword rule",
        "  world        task-events@2, built against 2.1.0",
        "    plugboard:task-events/handler@2.1.0",
        "    plugboard:task-events/tasks@2.1.0",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn inspect_shows_the_world_of_a_wasm_file() {
    let root = example_plugins();
    let output = plugboard(root.path(), &["inspect", "plugins/legacy-counter/legacy_counter.wasm"]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(
        out.contains("  world        task-events@1, built against 1.0.0"),
        "{out}"
    );
    assert!(
        out.contains("  exports (1):\n    plugboard:task-events/handler@1.0.0"),
        "{out}"
    );
    assert!(!out.contains("Plugin "), "a lone file has no manifest:\n{out}");
}

#[test]
fn inspect_flags_a_manifest_that_disagrees_with_its_component() {
    let root = tempfile::tempdir().expect("temp dir");
    let lying = example_manifest("auto-tag").replace("api = \"task-events@2\"", "api = \"task-events@1\"");
    plugin_folder(root.path(), "auto-tag", &lying, AUTO_TAG);
    let output = plugboard(root.path(), &["inspect", "plugins/auto-tag"]);
    assert!(!output.status.success());
    assert!(stdout(&output).contains("task-events@2, built against 2.1.0"));
    let err = stderr(&output);
    assert!(
        err.contains("plugin.toml says `api = \"task-events@1\"` but the component is built for task-events@2.1.0"),
        "{err}"
    );
}

#[test]
fn inspect_refuses_what_is_not_a_component() {
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::write(root.path().join("notes.txt"), "buy milk\n").expect("write text");
    let output = plugboard(root.path(), &["inspect", "notes.txt"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("notes.txt is not a WebAssembly file"), "{err}");

    let output = plugboard(root.path(), &["inspect", "missing"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("missing: no such file or folder"));
}

#[test]
fn conformance_prints_the_matrix_and_exits_by_its_verdict() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = plugboard(root.path(), &["conformance"]);
    let out = stdout(&output);
    assert!(out.contains("task-events@1") && out.contains("task-events@2"), "{out}");
    assert_eq!(
        output.status.success(),
        !stderr(&output).contains("the conformance suite failed"),
        "{out}"
    );
}
