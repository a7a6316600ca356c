//! The `plugboard` binary as a user runs it: plugin folders built in a temp
//! dir from the example manifests and the components built from source.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::Path;
use std::process::Command;

use common::{example_manifest, plugboard, plugboard_in, plugboard_ok, plugin_folder, stderr, stdout};
use plugboard_host::{AbuseKind, QuarantineRecord, QuarantineStore as _};
use plugboard_state::QuarantineFile;
use plugboard_test_artifacts::{AUTO_TAG, HOSTILE, HOSTILE_SOCKETS, LEGACY_COUNTER};
use tempfile::TempDir;

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

/// Grants both examples what the demo script grants them.
fn grant_examples(root: &Path) {
    plugboard_ok(
        root,
        &[
            "grant",
            "auto-tag",
            "tasks.read",
            "tasks.write",
            "subscribe:task-created",
            "subscribe:task-modified",
        ],
    );
    plugboard_ok(
        root,
        &[
            "grant",
            "legacy-counter",
            "tasks.read",
            "subscribe:task-created",
            "subscribe:task-modified",
            "subscribe:task-deleted",
        ],
    );
}

/// Copies the plugin folders into the user's plugins folder, as a user who
/// installs plugins by hand does (without archive, so without digests).
fn install_as_folders(root: &Path) {
    for id in ["auto-tag", "legacy-counter"] {
        let from = root.join("plugins").join(id);
        let to = root.join("installed").join(id);
        std::fs::create_dir_all(&to).expect("create the installed folder");
        for entry in std::fs::read_dir(&from).expect("list the plugin folder") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A quarantine record as the host writes one.
fn deadline_record(plugin: &str) -> QuarantineRecord {
    QuarantineRecord {
        plugin: plugin.to_string(),
        version: "0.1.0".to_string(),
        kind: AbuseKind::Deadline,
        reason: "the call ran past its 100 ms deadline and was stopped".to_string(),
        strikes: 1,
        at: 1_700_000_000_000,
    }
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
fn the_demo_with_the_demo_grants_shows_both_plugins_at_work() {
    let root = example_plugins();
    grant_examples(root.path());
    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);

    assert!(
        out.contains("(permissions: what you granted in config/plugboard.toml)"),
        "{out}"
    );
    assert!(
        out.contains("auto-tag        0.1.0  task-events@2 (built against 2.2.0)"),
        "{out}"
    );
    assert!(
        out.contains("      policy: tasks.read, tasks.write, subscribe:task-created, subscribe:task-modified\n"),
        "{out}"
    );
    assert!(
        out.contains("legacy-counter  0.1.0  task-events@1 (built against 1.0.0)"),
        "{out}"
    );
    assert!(
        out.contains(
            "      policy: tasks.read, subscribe:task-created, subscribe:task-modified, subscribe:task-deleted\n"
        ),
        "{out}"
    );
    assert!(!out.contains("not granted"), "everything requested is granted:\n{out}");
    assert!(
        out.contains("  auto-tag: started\n    info: watching titles for: urgent, review, bug\n"),
        "init's log is shown:\n{out}"
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
        out.contains("  legacy-counter [task-events@1]: not offered (not subscribed to timer)"),
        "{out}"
    );
    assert!(
        out.contains("  auto-tag [task-events@2]: not offered (not subscribed to task-deleted)"),
        "{out}"
    );
    assert!(
        !out.contains("not delivered"),
        "no plugin subscribed to an event its world lacks:\n{out}"
    );
    assert!(out.contains("auto-tag [task-events@2]: retag: checked"), "{out}");
    assert!(!out.contains("QUARANTINED"), "{out}");

    let milk = table_row(&out, "Buy milk, urgent");
    assert!(milk.contains("high") && milk.contains("home,urgent"), "{milk}");
    let login = table_row(&out, "Fix urgent login bug");
    assert!(login.contains("high") && login.contains("work,urgent,bug") && login.contains("website"));
    assert!(table_row(&out, "Review quarterly report").contains("completed"));
    assert!(!out.contains("Call the plumber  "), "the deleted task is gone:\n{out}");
    assert!(
        !root.path().join("home").exists(),
        "nothing is written to the home folder"
    );
}

#[test]
fn with_no_grants_the_plugins_receive_nothing_and_the_tasks_are_untouched() {
    let root = example_plugins();
    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);
    assert_eq!(
        out.matches("      nothing granted: it will receive no events\n")
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.contains(
            "      requested, not granted: tasks.read, tasks.write, subscribe:task-created, subscribe:task-modified"
        ),
        "{out}"
    );
    assert!(
        out.contains("`plugboard grant ID --all-requested --plugins plugins`"),
        "{out}"
    );
    assert!(
        out.contains("  auto-tag [task-events@2]: not offered (subscribe:task-created not granted)"),
        "{out}"
    );
    assert!(
        out.contains("  legacy-counter [task-events@1]: not offered (subscribe:task-deleted not granted)"),
        "{out}"
    );
    assert!(!out.contains(": handled"), "no plugin handled anything:\n{out}");
    assert!(!out.contains("changed task"), "{out}");
    // Granted nothing of what it requests: none of its code runs, not
    // even for a command.
    assert!(
        out.contains("`retag`: it was granted nothing of what its manifest requests, so none of its code runs"),
        "retag does not run:\n{out}"
    );
    let login = table_row(&out, "Fix urgent login bug");
    assert!(
        login.contains("none") && login.contains("work ") && !login.contains("urgent,"),
        "{login}"
    );
    let milk = table_row(&out, "Buy milk, urgent");
    assert!(milk.contains("none") && !milk.contains("home,"), "{milk}");
}

#[test]
fn grant_all_requested_spells_out_the_manifest_and_then_the_plugin_works() {
    let root = example_plugins();
    let out = plugboard_ok(
        root.path(),
        &["grant", "auto-tag", "--all-requested", "--plugins", "plugins"],
    );
    assert!(
        out.contains(
            "auto-tag 0.1.0 (plugins/auto-tag) requests, and you grant it:\n  tasks.read\n  tasks.write\n  \
             subscribe:task-created\n  subscribe:task-modified\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("auto-tag now holds: tasks.read, tasks.write, subscribe:task-created, subscribe:task-modified"),
        "{out}"
    );
    let file = std::fs::read_to_string(root.path().join("config/plugboard.toml")).expect("grants file written");
    assert!(
        file.contains("[plugins.auto-tag.grants]") && !file.contains('*'),
        "{file}"
    );

    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);
    assert!(
        out.contains("    changed task \"Fix urgent login bug\": +tag urgent, +tag bug, priority none -> high"),
        "{out}"
    );
    assert!(table_row(&out, "Buy milk, urgent").contains("home,urgent"), "{out}");
}

#[test]
fn after_revoking_tasks_write_the_update_is_denied_and_the_task_untouched() {
    let root = example_plugins();
    grant_examples(root.path());
    let out = plugboard_ok(root.path(), &["revoke", "auto-tag", "tasks.write"]);
    assert!(out.contains("Revoked from auto-tag: tasks.write"), "{out}");
    assert!(
        out.contains("auto-tag now holds: tasks.read, subscribe:task-created, subscribe:task-modified"),
        "{out}"
    );

    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);
    assert!(out.contains("      requested, not granted: tasks.write"), "{out}");
    assert!(
        out.contains(
            "  auto-tag [task-events@2]: rejected: denied: plugin `auto-tag` was not granted `tasks.write`\n    \
             denied: tasks.write (not granted)\n  legacy-counter"
        ),
        "{out}"
    );
    assert!(!out.contains("changed task"), "{out}");
    let login = table_row(&out, "Fix urgent login bug");
    assert!(login.contains("none") && !login.contains("urgent,"), "{login}");
    // The manifest requests `tasks.write` and the user chose not to grant
    // it: every refusal is reported, none is punished.
    assert!(!out.contains("strikes for denied"), "{out}");
    assert!(!out.contains("QUARANTINED"), "{out}");
    assert!(
        out.matches("  auto-tag [task-events@2]: rejected: denied:").count() >= 3,
        "it keeps receiving events: {out}"
    );
    let out = plugboard_ok(root.path(), &["list", "--plugins", "plugins"]);
    assert!(!out.contains("QUARANTINED"), "{out}");
}

#[test]
fn a_bad_permission_is_named_and_nothing_is_written() {
    let root = example_plugins();
    let output = plugboard(root.path(), &["grant", "auto-tag", "tasks.read", "tasks.frob"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("`tasks.frob` is not a permission") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!root.path().join("config/plugboard.toml").exists(), "nothing written");

    grant_examples(root.path());
    let before = std::fs::read_to_string(root.path().join("config/plugboard.toml")).unwrap();
    let output = plugboard(root.path(), &["revoke", "auto-tag", "tasks.write", "network"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("`network` is not a permission"),
        "{}",
        stderr(&output)
    );
    let after = std::fs::read_to_string(root.path().join("config/plugboard.toml")).unwrap();
    assert_eq!(before, after, "a refused revoke changes nothing");

    let output = plugboard(root.path(), &["grant", "Auto Tag", "tasks.read"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("plugin id \"Auto Tag\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn list_shows_grants_and_quarantine_run_skips_it_and_enable_releases_it() {
    let root = example_plugins();
    install_as_folders(root.path());
    grant_examples(root.path());
    plugboard_ok(root.path(), &["revoke", "legacy-counter", "subscribe:task-deleted"]);
    let out = plugboard_ok(root.path(), &["list", "--plugins", "plugins"]);
    assert!(
        out.contains(
            "  auto-tag        0.1.0  task-events@2  granted: tasks.read, tasks.write, subscribe:task-created, \
             subscribe:task-modified  enabled\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  legacy-counter  0.1.0  task-events@1  granted: tasks.read, subscribe:task-created, \
             subscribe:task-modified (not granted: subscribe:task-deleted)  enabled\n"
        ),
        "{out}"
    );

    let mut quarantine = QuarantineFile::open(&root.path().join("data")).expect("open the quarantine");
    quarantine
        .add(deadline_record("auto-tag"))
        .expect("quarantine auto-tag");
    quarantine
        .add(deadline_record("gone-plugin"))
        .expect("quarantine another");
    let out = plugboard_ok(root.path(), &["list", "--plugins", "plugins"]);
    let reason = "QUARANTINED since 2023-11-14 22:13:20 for deadline: the call ran past its 100 ms deadline and was \
                  stopped (strikes: 1)";
    assert!(
        out.lines()
            .any(|l| l.starts_with("  auto-tag ") && l.contains("granted: tasks.read") && l.ends_with(reason)),
        "{out}"
    );
    assert!(out.contains("Quarantined, not in plugins:\n  gone-plugin"), "{out}");

    let out = plugboard_ok(root.path(), &["list"]);
    assert!(
        out.lines().any(|l| l.starts_with("  auto-tag ") && l.ends_with(reason)),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("  legacy-counter ") && l.ends_with("enabled")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("  gone-plugin ") && l.contains("granted: nothing") && l.ends_with(reason)),
        "{out}"
    );

    let out = plugboard_ok(root.path(), &["run"]);
    assert!(
        out.contains(
            "  skipping auto-tag: quarantined since 2023-11-14 22:13:20 for deadline: the call ran past its 100 ms \
             deadline and was stopped (`plugboard enable auto-tag` lets it load again)"
        ),
        "{out}"
    );
    assert!(
        !out.contains("auto-tag ["),
        "a quarantined plugin gets no event:\n{out}"
    );
    assert!(!out.contains("auto-tag: started"), "{out}");
    assert!(out.contains("  legacy-counter [task-events@1]: handled"), "{out}");
    assert!(
        out.contains("auto-tag: failed: no plugin `auto-tag` is loaded"),
        "{out}"
    );

    let out = plugboard_ok(root.path(), &["enable", "auto-tag"]);
    assert!(
        out.contains("Released auto-tag 0.1.0 from quarantine (it was quarantined since 2023-11-14 22:13:20"),
        "{out}"
    );
    let out = plugboard_ok(root.path(), &["enable", "auto-tag"]);
    assert!(
        out.contains("auto-tag is neither disabled nor quarantined; nothing to do."),
        "{out}"
    );
    let out = plugboard_ok(root.path(), &["list", "--plugins", "plugins"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("  auto-tag ") && l.ends_with("  enabled")),
        "{out}"
    );
    let out = plugboard_ok(root.path(), &["run"]);
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
}

#[test]
fn a_plugin_past_its_deadline_is_trapped_its_changes_dropped_and_it_is_quarantined() {
    let root = example_plugins();
    let manifest = r#"
[plugin]
id = "looper"
name = "Looper"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = ["task-created"]

[permissions]
tasks = ["read", "write"]

[limits]
deadline = "100ms"

[config]
attack = "loop-on-event"
"#;
    plugin_folder(root.path(), "looper", manifest, HOSTILE);
    grant_examples(root.path());
    plugboard_ok(
        root.path(),
        &["grant", "looper", "--all-requested", "--plugins", "plugins/looper"],
    );
    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);
    assert!(
        out.contains(
            "  looper [task-events@2]: trapped (deadline): the call ran past its 100 ms deadline and was stopped\n"
        ),
        "{out}"
    );
    assert!(out.contains("    info: changed the tasks, now looping\n"), "{out}");
    assert!(out.contains("    1 staged task change discarded\n"), "{out}");
    assert!(
        out.contains("  QUARANTINED: looper (deadline): the call ran past its 100 ms deadline and was stopped"),
        "{out}"
    );
    assert!(
        !out.contains("touched"),
        "its staged change never reached the store:\n{out}"
    );
    assert!(
        out.contains("  auto-tag [task-events@2]: handled"),
        "the others go on:\n{out}"
    );

    // A development run keeps its strikes and quarantine to itself: the
    // installed plugin of the same id is neither struck nor quarantined.
    assert!(!root.path().join("data/quarantine.json").exists());
    assert!(!root.path().join("data/strikes.json").exists());
    let out = plugboard_ok(root.path(), &["run", "--plugins", "plugins"]);
    assert!(!out.contains("skipping looper"), "{out}");
    assert!(out.contains("  QUARANTINED: looper (deadline)"), "{out}");
}

#[test]
fn a_development_run_never_quarantines_the_installed_plugin_of_the_same_id() {
    let root = example_plugins();
    // The installed auto-tag, granted and working.
    let archive = plugboard_ok(root.path(), &["pack", "plugins/auto-tag", "--out", "dist"]);
    plugboard_ok(root.path(), &["install", archive.trim(), "--yes"]);
    // A development build of auto-tag that loops.
    let manifest = example_manifest("auto-tag")
        .replace("component = \"auto_tag.wasm\"", "component = \"hostile.wasm\"")
        .replace(
            "[config]",
            "[limits]\ndeadline = \"100ms\"\n\n[config]\nattack = \"loop-on-event\"",
        );
    assert!(
        manifest.contains("hostile.wasm") && manifest.contains("loop-on-event"),
        "{manifest}"
    );
    let dev = root.path().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    plugin_folder(&dev, "auto-tag", &manifest, HOSTILE);
    let out = plugboard_ok(root.path(), &["run", "--plugins", "dev/plugins", "--trust-manifests"]);
    assert!(out.contains("  QUARANTINED: auto-tag (deadline)"), "{out}");

    let out = plugboard_ok(root.path(), &["list"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("  auto-tag "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with("  enabled"), "{out}");
    let out = plugboard_ok(root.path(), &["run"]);
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
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
    let out = plugboard_ok(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "week.jsonl",
            "--set",
            "auto-tag.keywords=tea",
            "--trust-manifests",
        ],
    );
    assert!(
        out.contains("(--trust-manifests: every plugin gets all its manifest requests"),
        "{out}"
    );
    assert!(out.contains("Events from week.jsonl:"), "{out}");
    assert!(out.contains("#1 create \"Buy tea\"  => task-created"), "{out}");
    assert!(out.contains("    changed task \"Buy tea\": +tag tea"), "{out}");
    assert!(
        out.contains("#3 modify \"Buy tea\": +tag errand, priority none -> low, due none -> 2025-07-01"),
        "{out}"
    );
    assert!(out.contains("#4 custom \"hello\" from app  => custom"), "{out}");
    assert!(
        out.contains("  legacy-counter [task-events@1]: not offered (not subscribed to custom:hello)"),
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
    assert!(
        !root.path().join("config").exists(),
        "--trust-manifests reads no grants and writes none"
    );
}

#[test]
fn a_plugin_whose_init_fails_is_reported_and_the_others_still_run() {
    let root = example_plugins();
    grant_examples(root.path());
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
        out.contains("  auto-tag [task-events@2]: not offered (it could not start, see above)"),
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
    grant_examples(root.path());
    let output = plugboard(root.path(), &["run", "--plugins", "plugins"]);
    assert!(!output.status.success(), "a load failure makes the exit code non-zero");
    let err = stderr(&output);
    assert!(
        err.contains("plugin `auto-tag`: plugin.toml says `api = \"task-events@1\"`")
            && err.contains("auto_tag.wasm is built for plugboard:task-events@2.2.0"),
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
fn the_folders_come_from_the_environment_when_no_option_is_given() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .current_dir(root.path())
        .args(["grant", "auto-tag", "tasks.read"])
        .env("HOME", root.path().join("home"))
        .env("PLUGBOARD_CONFIG_DIR", root.path().join("env-config"))
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("the plugboard binary runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(root.path().join("env-config/plugboard.toml").is_file());

    let output = plugboard_in(root.path(), &["revoke", "auto-tag", "tasks.read"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        root.path().join("home/.config/plugboard/plugboard.toml").is_file(),
        "without option or variable, the XDG default under HOME"
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
        "  world        task-events@2, built against 2.2.0",
        "    plugboard:task-events/handler@2.2.0",
        "    plugboard:task-events/tasks@2.2.0",
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
    assert!(stdout(&output).contains("task-events@2, built against 2.2.0"));
    let err = stderr(&output);
    assert!(
        err.contains("plugin.toml says `api = \"task-events@1\"` but the component is built for task-events@2.2.0"),
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
    let header = out.lines().next().unwrap_or_default();
    for column in ["rust 1.0", "rust 2.0", "rust 2.1", "rust 2.2"] {
        assert!(header.contains(column), "{column}: {out}");
    }
    assert_eq!(
        output.status.success(),
        !stderr(&output).contains("the conformance suite failed"),
        "{out}"
    );
}

#[test]
fn conformance_runs_on_a_guest_built_elsewhere() {
    let root = tempfile::tempdir().expect("temp dir");
    let guest = plugboard_test_artifacts::CONFORMANCE_V2.path;
    let output = plugboard(
        root.path(),
        &[
            "conformance",
            "--guest",
            guest,
            "--world",
            "task-events@2",
            "--language",
            "rust",
        ],
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}{}", stderr(&output));
    assert!(
        out.lines().next().is_some_and(|h| h.trim_end().ends_with("rust 2.2")),
        "{out}"
    );
    assert!(!out.contains("rust 1.0"), "only the guest's column: {out}");
    assert!(out.contains("conformance: ") && out.contains(" 0 failed"), "{out}");
}

#[test]
fn a_guest_that_does_not_follow_the_scenario_fails_conformance() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = plugboard(root.path(), &["conformance", "--guest", AUTO_TAG.path]);
    let out = stdout(&output);
    assert!(!output.status.success(), "{out}");
    assert!(out.contains("guest 2.2"), "{out}");
    assert!(out.contains("FAIL init + config on guest task-events@2.2.0"), "{out}");
    assert!(
        stderr(&output).contains("the conformance suite failed"),
        "{}",
        stderr(&output)
    );

    let output = plugboard(root.path(), &["conformance", "--guest", AUTO_TAG.path, "--world", "7"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--world \"7\": the worlds are task-events@1, task-events@2"),
        "{}",
        stderr(&output)
    );

    let output = plugboard(root.path(), &["conformance", "--guest", "missing.wasm"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot read the guest missing.wasm"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    use std::io::Read as _;
    let root = tempfile::tempdir().unwrap();
    let mut child = common::command(root.path())
        .args([
            "--config-dir",
            "config",
            "--data-dir",
            "data",
            "--plugins-dir",
            "installed",
            "conformance",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the plugboard binary runs");
    // Close the pipe before the run prints anything (it loads the plugins
    // first), as `| head -c0` would.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The hostile fixture as plugin `id`, attacking with `attack`, asking for
/// the task access and `[limits]` given.
fn hostile_manifest(id: &str, attack: &str, limits: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"task-created\"]\n\n[permissions]\n\
         tasks = [\"read\", \"write\"]\n\n[limits]\n{limits}\n[config]\nattack = \"{attack}\"\n"
    )
}

#[test]
fn a_deadline_above_the_default_is_clamped_until_it_is_granted() {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(
        root.path(),
        "looper",
        &hostile_manifest("looper", "loop-on-event", "deadline = \"2s\"\n"),
        HOSTILE,
    );
    let events = root.path().join("one.jsonl");
    std::fs::write(&events, "{\"create\": {\"title\": \"Buy milk\"}}\n").expect("events");
    let run = |root: &Path| plugboard_ok(root, &["run", "--plugins", "plugins", "--events", "one.jsonl"]);
    plugboard_ok(
        root.path(),
        &["grant", "looper", "tasks.read", "tasks.write", "subscribe"],
    );
    let out = run(root.path());
    assert!(
        out.contains("trapped (deadline): the call ran past its 1000 ms deadline"),
        "{out}"
    );
    assert!(out.contains("limit:deadline=2s (runs with 1s)"), "{out}");

    plugboard_ok(root.path(), &["grant", "looper", "limit:deadline"]);
    let out = run(root.path());
    assert!(
        out.contains("trapped (deadline): the call ran past its 2000 ms deadline"),
        "{out}"
    );

    // Trusting manifests, for developing one's own plugins, grants what is asked.
    plugboard_ok(root.path(), &["revoke", "looper", "limit:deadline"]);
    let out = plugboard_ok(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "one.jsonl",
            "--trust-manifests",
        ],
    );
    assert!(
        out.contains("trapped (deadline): the call ran past its 2000 ms deadline"),
        "{out}"
    );
}

#[test]
fn plugin_text_never_reaches_the_terminal_raw() {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(
        root.path(),
        "forger",
        &hostile_manifest("forger", "forge-terminal", ""),
        HOSTILE,
    );
    std::fs::write(
        root.path().join("forge.jsonl"),
        "{\"create\": {\"title\": \"Buy milk\"}}\n{\"command\": {\"plugin\": \"forger\", \"name\": \"any\"}}\n",
    )
    .expect("events");
    let out = plugboard_ok(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "forge.jsonl",
            "--trust-manifests",
        ],
    );
    for raw in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
        assert!(!out.contains(raw), "{raw:?} reached the terminal:\n{out}");
    }
    for forged in [
        "  auto-tag [task-events@2]: handled",
        "  QUARANTINED: auto-tag (forged)",
    ] {
        assert!(
            !out.lines().any(|line| line.starts_with(forged)),
            "forged line {forged:?}:\n{out}"
        );
    }
    assert!(
        out.contains("    info: \\u{1b}[2J\\u{1b}[31mcleared\\n  auto-tag [task-events@2]: handled\\n"),
        "the log line is shown, escaped, on one line:\n{out}"
    );
    assert!(out.contains("Buy milk\\u{1b}]0;owned\\u{7}\\r\\u{202e}"), "{out}");
    assert!(
        out.contains("  forger [task-events@2]: done\\n  QUARANTINED: auto-tag (forged)\\u{1b}[0m"),
        "{out}"
    );

    let logs = plugboard_ok(root.path(), &["logs", "forger"]);
    assert!(
        !logs.contains('\u{1b}') && logs.lines().all(|l| !l.starts_with("  auto-tag")),
        "{logs}"
    );
}

#[test]
fn inspect_shows_what_each_import_reaches_and_compiles_through_the_code_cache() {
    let root = TempDir::new().unwrap();
    std::fs::write(root.path().join("sockets.wasm"), HOSTILE_SOCKETS.bytes).unwrap();
    let first = plugboard(root.path(), &["inspect", "sockets.wasm"]);
    let out = stdout(&first);
    assert!(first.status.success(), "{out}{}", stderr(&first));
    let reach = |interface: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(interface))
            .unwrap_or_else(|| panic!("{interface} is listed:\n{out}"))
            .to_string()
    };
    assert!(reach("wasi:sockets/tcp@").ends_with("every address refused"), "{out}");
    assert!(
        reach("wasi:sockets/ip-name-lookup@").ends_with("no name is looked up"),
        "{out}"
    );
    assert!(
        reach("wasi:cli/stdout@").ends_with("the plugin's log, 64 KiB a call"),
        "{out}"
    );
    assert!(out.contains("0 refused"), "{out}");
    assert!(out.contains("code         compiled now"), "{out}");
    let cached = std::fs::read_dir(root.path().join("data/code-cache")).unwrap().count();
    assert_eq!(cached, 1, "the compiled code is in the data folder's code cache");
    let second = stdout(&plugboard(root.path(), &["inspect", "sockets.wasm"]));
    assert!(second.contains("code         taken from the code cache"), "{second}");
}
