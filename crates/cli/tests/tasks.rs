//! `plugboard tasks` as a user runs it: real tasks in a TaskChampion replica
//! in the data folder, the plugins acting on each change.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::Path;

use common::{example_manifest, plugboard, plugboard_ok, plugin_folder, stderr, stdout};
use plugboard_contract::{Priority, Status, Task};
use plugboard_test_artifacts::{AUTO_TAG, CONFORMANCE_V2, LEGACY_COUNTER};

fn export(root: &Path, data: &str) -> Vec<Task> {
    let args = [
        "tasks",
        "export",
        "--data-dir",
        data,
        "--config-dir",
        "config",
        "--plugins-dir",
        "installed",
    ];
    let output = common::plugboard_in(root, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"))
}

/// Installs auto-tag and legacy-counter with the demo's grants.
fn install_examples(root: &Path) {
    for (id, component) in [("auto-tag", AUTO_TAG), ("legacy-counter", LEGACY_COUNTER)] {
        plugin_folder(root, id, &example_manifest(id), component);
    }
    std::fs::rename(root.join("plugins"), root.join("installed")).unwrap();
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

#[test]
fn the_installed_plugins_act_on_tasks_added_and_changed_in_the_replica() {
    let root = tempfile::tempdir().unwrap();
    install_examples(root.path());
    let out = plugboard_ok(
        root.path(),
        &["tasks", "add", "urgent: file taxes", "--due", "2026-04-15"],
    );
    assert!(out.contains("=> task-created"), "{out}");
    assert!(out.contains("auto-tag [task-events@2]: handled"), "{out}");
    assert!(out.contains("legacy-counter [task-events@1]: handled"), "{out}");

    let tasks = export(root.path(), "data");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.tags, ["urgent"], "auto-tag's change is in the replica");
    assert_eq!(task.priority, Priority::High);
    assert_eq!(task.due, Some(1_776_211_200_000));
    assert!(root.path().join("data/tasks/taskchampion.sqlite3").is_file());

    let id = &task.id[..8];
    let out = plugboard_ok(
        root.path(),
        &["tasks", "annotate", id, "receipts", "in", "the", "drawer"],
    );
    assert!(out.contains("=> task-modified"), "{out}");
    let out = plugboard_ok(root.path(), &["tasks", "done", id]);
    assert!(
        out.contains("is done: urgent: file taxes"),
        "legacy-counter saw it:\n{out}"
    );
    let task = &export(root.path(), "data")[0];
    assert_eq!(task.status, Status::Completed);
    assert_eq!(task.annotations[0].text, "receipts in the drawer");

    let listed = plugboard_ok(root.path(), &["tasks", "list"]);
    assert!(listed.starts_with("0 task(s)"), "a done task is not listed:\n{listed}");
    let listed = plugboard_ok(root.path(), &["tasks", "list", "status:completed", "+urgent", "taxes"]);
    assert!(listed.contains("urgent: file taxes"), "{listed}");

    let out = plugboard_ok(root.path(), &["tasks", "undo"]);
    assert!(out.contains("status completed -> pending"), "{out}");
    assert_eq!(export(root.path(), "data")[0].status, Status::Pending);

    let out = plugboard_ok(root.path(), &["tasks", "delete", id]);
    assert!(out.contains("=> task-deleted") && out.contains("was deleted"), "{out}");
    assert_eq!(export(root.path(), "data")[0].status, Status::Deleted);
}

#[test]
fn sync_between_two_data_folders_fires_sync_completed_with_the_counts() {
    let root = tempfile::tempdir().unwrap();
    plugin_folder(root.path(), "conformance-v2", &example_free_manifest(), CONFORMANCE_V2);
    let dev = ["--plugins", "plugins", "--trust-manifests"];
    let run = |data: &str, args: &[&str]| {
        let mut all = vec!["tasks"];
        all.extend_from_slice(args);
        all.extend_from_slice(&dev);
        all.extend_from_slice(&["--data-dir", data]);
        let output = common::plugboard_in(root.path(), &[all.as_slice(), &["--config-dir", "config"]].concat());
        assert!(
            output.status.success(),
            "{args:?}:\n{}\n{}",
            stdout(&output),
            stderr(&output)
        );
        stdout(&output)
    };
    run("laptop", &["add", "first"]);
    run("laptop", &["add", "second"]);
    let out = run("laptop", &["sync", "--server-dir", "server"]);
    assert!(out.contains("sync-completed pulled=0 pushed=2 conflicts=0"), "{out}");
    let out = run("phone", &["sync", "--server-dir", "server"]);
    assert!(out.contains("sync-completed pulled=2 pushed=0 conflicts=0"), "{out}");
    let titles = |data: &str| {
        let mut titles: Vec<String> = export(root.path(), data).into_iter().map(|t| t.title).collect();
        titles.sort();
        titles
    };
    assert_eq!(titles("phone"), ["first", "second"]);
}

/// conformance-v2's manifest, which sits beside its source.
fn example_free_manifest() -> String {
    let path = plugboard_test_artifacts::repo_root().join("tests/fixtures/conformance-v2/plugin.toml");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_task_that_does_not_exist_or_a_bad_field_is_named() {
    let root = tempfile::tempdir().unwrap();
    let output = plugboard(root.path(), &["tasks", "done", "deadbeef"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("deadbeef"), "{}", stderr(&output));
    let output = plugboard(root.path(), &["tasks", "add", "x", "--due", "2026-02-30"]);
    assert!(stderr(&output).contains("no such day"), "{}", stderr(&output));
    let output = plugboard(root.path(), &["tasks", "add", "x", "--tag", "two words"]);
    assert!(stderr(&output).contains("two words"), "{}", stderr(&output));
    let output = plugboard(root.path(), &["tasks", "list", "status:later"]);
    assert!(stderr(&output).contains("status:later"), "{}", stderr(&output));
    assert!(export(root.path(), "data").is_empty(), "nothing was written");
}
