//! The Taskwarrior bridge with the real `task` binary (Debian's
//! `taskwarrior` package; `scripts/test` installs it): a temporary HOME with
//! its own TASKRC and TASKDATA, plugboard's hooks installed into the hooks
//! folder the taskrc names, the user's plugins acting on real tasks.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{example_manifest, plugboard_ok, plugin_folder, stderr, stdout};
use plugboard_test_artifacts::{AUTO_TAG, HOSTILE};
use serde_json::Value;

/// A Taskwarrior set up in a temp dir: `home/`, `taskrc`, `taskdata/`,
/// hooks in `tw-hooks/`; plugboard's folders beside them.
struct Taskwarrior {
    root: tempfile::TempDir,
}

impl Taskwarrior {
    fn new() -> Taskwarrior {
        let found = Command::new("task").arg("--version").output();
        assert!(
            found.as_ref().is_ok_and(|o| o.status.success()),
            "these tests need Taskwarrior's `task` (Debian package `taskwarrior`); scripts/test installs it: {found:?}"
        );
        let root = tempfile::tempdir().unwrap();
        let hooks = root.path().join("tw-hooks");
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        std::fs::write(
            root.path().join("taskrc"),
            format!(
                "confirmation=off\nhooks=on\nhooks.location={}\n\
                 uda.estimate.type=numeric\nuda.estimate.label=Estimate\n\
                 uda.client.type=string\nuda.client.label=Client\n",
                hooks.display()
            ),
        )
        .unwrap();
        Taskwarrior { root }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn hooks(&self) -> PathBuf {
        self.path().join("tw-hooks")
    }

    fn env(&self, command: &mut Command) {
        command
            .current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("TASKRC", self.path().join("taskrc"))
            .env("TASKDATA", self.path().join("taskdata"))
            .stdin(Stdio::null());
    }

    /// Runs `task ARGS`, insisting that it succeeds; returns stdout and stderr.
    fn task(&self, args: &[&str]) -> String {
        let mut command = Command::new("task");
        self.env(&mut command);
        let output = command.args(args).output().expect("task runs");
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert!(output.status.success(), "task {args:?}:\n{text}");
        text
    }

    /// Every task, as `task export` gives it.
    fn export(&self) -> Vec<serde_json::Map<String, Value>> {
        let mut command = Command::new("task");
        self.env(&mut command);
        let output = command.arg("export").output().expect("task runs");
        assert!(output.status.success(), "{}", stderr(&output));
        let tasks: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        tasks
            .into_iter()
            .map(|t| t.as_object().cloned().expect("a task object"))
            .collect()
    }

    /// Runs plugboard on this Taskwarrior and plugboard's folders.
    fn plugboard(&self, args: &[&str]) -> Output {
        let mut command = common::command(self.path());
        self.env(&mut command);
        command
            .args(args)
            .args([
                "--config-dir",
                "config",
                "--data-dir",
                "data",
                "--plugins-dir",
                "installed",
            ])
            .output()
            .expect("plugboard runs")
    }

    fn plugboard_ok(&self, args: &[&str]) -> String {
        let output = self.plugboard(args);
        assert!(
            output.status.success(),
            "{args:?}:\n{}{}",
            stdout(&output),
            stderr(&output)
        );
        stdout(&output)
    }

    /// Installs auto-tag with what it requests granted.
    fn install_auto_tag(&self) {
        self.install("auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    }

    fn install(&self, id: &str, manifest: &str, component: plugboard_test_artifacts::Component) {
        plugin_folder(self.path(), id, manifest, component);
        std::fs::create_dir_all(self.path().join("installed")).unwrap();
        std::fs::rename(
            self.path().join("plugins").join(id),
            self.path().join("installed").join(id),
        )
        .unwrap();
        plugboard_ok(self.path(), &["grant", id, "--all-requested"]);
    }
}

fn tags(task: &serde_json::Map<String, Value>) -> Vec<&str> {
    task.get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn an_installed_plugin_tags_a_task_added_with_task_add() {
    let tw = Taskwarrior::new();
    tw.install_auto_tag();
    let out = tw.plugboard_ok(&["taskwarrior", "install-hooks"]);
    assert!(
        out.contains(&format!("installed {}", tw.hooks().join("on-add.plugboard").display())),
        "{out}"
    );
    assert!(out.contains("your tasks now go through: auto-tag"), "{out}");

    let out = tw.task(&["add", "urgent: file taxes"]);
    assert!(
        out.contains("plugboard: auto-tag: changed task \"urgent: file taxes\": +tag urgent, priority none -> high"),
        "the plugin's feedback is shown:\n{out}"
    );
    let tasks = tw.export();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["description"], "urgent: file taxes");
    assert_eq!(tags(&tasks[0]), ["urgent"]);
    assert_eq!(tasks[0]["priority"], "H");
    assert_eq!(tasks[0]["status"], "pending");
}

#[test]
fn a_uda_and_an_annotation_survive_a_plugins_modification() {
    let tw = Taskwarrior::new();
    tw.install_auto_tag();
    tw.plugboard_ok(&["taskwarrior", "install-hooks"]);
    tw.task(&[
        "add",
        "call the accountant",
        "estimate:3",
        "client:Acme",
        "due:2026-12-24",
        "project:admin",
    ]);
    tw.task(&["1", "annotate", "number is in the folder"]);
    let before = tw.export().remove(0);
    assert!(tags(&before).is_empty(), "no keyword yet: {before:?}");

    let out = tw.task(&["1", "modify", "review the accountant's bill"]);
    assert!(out.contains("plugboard: auto-tag: changed task"), "{out}");
    let after = tw.export().remove(0);
    assert_eq!(
        tags(&after),
        ["review"],
        "the plugin acted on the modification: {after:?}"
    );
    for field in ["estimate", "client", "due", "project", "entry", "uuid", "annotations"] {
        assert_eq!(after[field], before[field], "{field} is kept as it was: {after:?}");
    }
    assert_eq!(after["annotations"][0]["description"], "number is in the folder");
    assert_eq!(after["client"], "Acme");
}

fn looper_manifest(id: &str, attack: &str, limits: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"task-created\"]\n\n\
         [permissions]\ntasks = [\"read\", \"write\"]\n\n[limits]\n{limits}\n[config]\nattack = \"{attack}\"\n"
    )
}

#[test]
fn a_looping_plugin_beside_auto_tag_leaves_task_add_working_and_is_reported() {
    let tw = Taskwarrior::new();
    tw.install_auto_tag();
    tw.install("looper", &looper_manifest("looper", "loop-on-event", ""), HOSTILE);
    tw.plugboard_ok(&["taskwarrior", "install-hooks"]);

    let started = Instant::now();
    let out = tw.task(&["add", "urgent: pay the rent"]);
    let took = started.elapsed();
    assert!(
        out.contains("plugboard: looper: trapped (deadline): the call ran past its 1000 ms deadline"),
        "one line names the plugin and the reason:\n{out}"
    );
    assert!(out.contains("its changes were discarded"), "{out}");
    assert!(took < Duration::from_secs(5), "task add waited {took:?}");
    let tasks = tw.export();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        tasks[0]["description"], "urgent: pay the rent",
        "the looper's change is not kept"
    );
    assert_eq!(tags(&tasks[0]), ["urgent"], "auto-tag's change is");
    assert_eq!(tasks[0]["priority"], "H");
}

#[test]
fn a_plugin_slower_than_the_hooks_budget_is_stopped_and_the_task_kept() {
    let tw = Taskwarrior::new();
    // It may run 30 s a call (granted), but a hook gives all plugins 2 s.
    tw.install(
        "sleeper",
        &looper_manifest("sleeper", "sleep-on-event", "deadline = \"30s\"\n"),
        HOSTILE,
    );
    plugboard_ok(tw.path(), &["grant", "sleeper", "limit:deadline"]);
    tw.plugboard_ok(&["taskwarrior", "install-hooks"]);
    let started = Instant::now();
    let out = tw.task(&["add", "water the plants", "client:home"]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "task add waited {took:?}:\n{out}");
    assert!(out.contains("plugboard: sleeper: "), "{out}");
    let tasks = tw.export();
    assert_eq!(tasks[0]["description"], "water the plants");
    assert_eq!(tasks[0]["client"], "home");
}

#[test]
fn uninstall_hooks_removes_only_what_install_hooks_wrote() {
    let tw = Taskwarrior::new();
    tw.install_auto_tag();
    std::fs::create_dir_all(tw.hooks()).unwrap();
    let own = tw.hooks().join("on-exit.mine");
    std::fs::write(&own, "#!/bin/sh\nexit 0\n").unwrap();
    tw.plugboard_ok(&["taskwarrior", "install-hooks"]);
    let out = tw.plugboard_ok(&["taskwarrior", "uninstall-hooks"]);
    assert!(out.contains("removed") && out.contains("on-modify.plugboard"), "{out}");
    let left: Vec<String> = std::fs::read_dir(tw.hooks())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["on-exit.mine"]);
    tw.task(&["add", "urgent: no plugins now"]);
    assert!(tags(&tw.export()[0]).is_empty(), "the hooks are gone");
}

#[test]
fn a_hook_given_a_task_it_cannot_read_answers_it_unchanged_and_says_why() {
    let tw = Taskwarrior::new();
    tw.install_auto_tag();
    let run = |input: &str| {
        let mut command = common::command(tw.path());
        tw.env(&mut command);
        let mut child = command
            .args([
                "--config-dir",
                "config",
                "--data-dir",
                "data",
                "--plugins-dir",
                "installed",
            ])
            .args(["taskwarrior", "hook", "on-add", "api:2", "command:add"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a hook always exits 0");
        stdout(&output)
    };
    let out = run("{\"description\":\"no uuid\"}\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "{\"description\":\"no uuid\"}", "the task as it came");
    assert_eq!(
        lines[1],
        "plugboard: the task Taskwarrior sent: field `uuid`: missing; the task is left as Taskwarrior had it"
    );
    let out = run("{\"uuid\":\"5c2e1a9e-0000-4000-8000-000000000001\",\"description\":\"x\",\"due\":\"soon\"}\n");
    assert!(out.contains("field `due`: \"soon\" is not a date"), "{out}");
}
