//! `plugboard-codegen --check` passes on the repository's own wit/ and
//! sdk-c/, and fails, naming the file, once a WIT file changes without the
//! bindings being generated again (in a temporary copy of both).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the copy's folder");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.expect("a folder entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// A temporary copy of wit/ and sdk-c/.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_dir(&repo().join("wit"), &dir.path().join("wit"));
    copy_dir(&repo().join("sdk-c"), &dir.path().join("sdk-c"));
    dir
}

fn codegen(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugboard-codegen"))
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("plugboard-codegen runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_committed_bindings_are_current() {
    let output = codegen(&repo(), &["--check"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn an_untouched_copy_passes_the_check() {
    let dir = copy();
    let output = codegen(dir.path(), &["--check"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_doc_comment_added_to_a_wit_file_makes_the_check_fail_naming_the_files() {
    let dir = copy();
    let wit = dir.path().join("wit/task-events@2.1.0/plugin.wit");
    let text = std::fs::read_to_string(&wit).expect("the WIT");
    let changed = text.replacen(
        "    /// Reads one task; `none` when no task has this id.\n",
        "    /// Reads one task; `none` when no task has this id.\n    /// Needs `tasks.read`.\n",
        1,
    );
    assert_ne!(text, changed, "the WIT documents tasks.get");
    std::fs::write(&wit, changed).expect("the WIT is changed");

    let output = codegen(dir.path(), &["--check"]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    for file in ["plugin.wit", "plugin.h", "plugin_cpp.h"] {
        let line = format!("sdk-c/generated/task-events@2.1.0/{file}: stale");
        assert!(message.contains(&line), "{line:?} in:\n{message}");
    }
    assert!(
        !message.contains("task-events@2.0.0"),
        "only the changed world is stale:\n{message}"
    );

    let output = codegen(dir.path(), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = codegen(dir.path(), &["--check"]);
    assert!(output.status.success(), "regenerated: {}", stderr(&output));
}

#[test]
fn a_function_added_to_a_wit_file_makes_the_check_fail() {
    let dir = copy();
    let wit = dir.path().join("wit/task-events@1.0.0/plugin.wit");
    let text = std::fs::read_to_string(&wit).expect("the WIT");
    let changed = text.replacen("interface host {", "interface host {\n    ping: func() -> u32;", 1);
    assert_ne!(text, changed);
    std::fs::write(&wit, changed).expect("the WIT is changed");
    let output = codegen(dir.path(), &["--check"]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("sdk-c/generated/task-events@1.0.0/plugin.c: stale"),
        "{message}"
    );
}

#[test]
fn a_new_world_folder_is_picked_up_and_missing_and_extra_files_are_named() {
    let dir = copy();
    copy_dir(
        &dir.path().join("wit/task-events@2.1.0"),
        &dir.path().join("wit/task-events@2.3.0"),
    );
    let wit = dir.path().join("wit/task-events@2.3.0/plugin.wit");
    let text = std::fs::read_to_string(&wit).expect("the WIT");
    std::fs::write(&wit, text.replace("@2.1.0", "@2.3.0")).expect("the WIT is changed");
    std::fs::write(dir.path().join("sdk-c/generated/task-events@1.0.0/stray.h"), "").expect("a stray file");

    let output = codegen(dir.path(), &["--check"]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("sdk-c/generated/task-events@2.3.0/plugin.h: missing"),
        "{message}"
    );
    assert!(
        message.contains("sdk-c/generated/task-events@1.0.0/stray.h: extra"),
        "{message}"
    );

    let output = codegen(dir.path(), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("sdk-c/generated/task-events@2.3.0/plugin.c").is_file());
    assert!(!dir.path().join("sdk-c/generated/task-events@1.0.0/stray.h").exists());
}

#[test]
fn a_wit_file_that_does_not_parse_is_named() {
    let dir = copy();
    let wit = dir.path().join("wit/task-events@2.0.0/plugin.wit");
    std::fs::write(&wit, "package plugboard:task-events@2.0.0;\ninterface {").expect("the WIT is broken");
    let output = codegen(dir.path(), &["--check"]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("task-events@2.0.0"), "{message}");
}

#[test]
fn a_world_folder_with_two_wit_files_is_named() {
    let dir = copy();
    std::fs::write(dir.path().join("wit/task-events@1.0.0/extra.wit"), "").expect("a second WIT file");
    let output = codegen(dir.path(), &["--check"]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("task-events@1.0.0") && message.contains("exactly one .wit file"),
        "{message}"
    );
}
