//! templates/c and templates/cpp, copied as `plugboard new` copies them
//! (every `{{id}}` and `{{name}}` filled in), build with one `make` into
//! `plugin.wasm` beside `plugin.toml` and pass `plugboard check`.
//!
//! The toolchains (clang-19, wasi-libc, libc++ for wasm32) are installed by
//! `scripts/test`; a missing one fails these tests, naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// The template `lang` copied into `to` with its placeholders filled in.
fn instantiate(lang: &str, to: &Path, id: &str, name: &str) {
    let from = repo().join("templates").join(lang);
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        std::fs::create_dir_all(to.join(&relative)).expect("the project folder");
        for entry in std::fs::read_dir(from.join(&relative)).expect("the template folder") {
            let entry = entry.expect("a folder entry");
            let inner = relative.join(entry.file_name());
            if entry.path().is_dir() {
                pending.push(inner);
            } else {
                let text = std::fs::read_to_string(entry.path()).expect("a template file is text");
                let filled = text.replace("{{id}}", id).replace("{{name}}", name);
                std::fs::write(to.join(&inner), filled).expect("the project file");
            }
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Builds the filled-in template with `make` and checks it; returns the
/// output of `plugboard check`.
fn build_and_check(lang: &str, id: &str, name: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let project = dir.path().join(id);
    instantiate(lang, &project, id, name);
    let make = Command::new("make")
        .arg("-C")
        .arg(&project)
        .arg(format!("PLUGBOARD_SDK_C={}", repo().join("sdk-c").display()))
        .arg(format!("PLUGBOARD={}", env!("CARGO_BIN_EXE_plugboard")))
        .output()
        .expect("make runs; scripts/test installs it with the C toolchain");
    assert!(make.status.success(), "make failed:\n{}", text(&make));
    assert!(
        project.join("plugin.wasm").is_file(),
        "make writes plugin.wasm beside plugin.toml"
    );

    let check = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .arg("check")
        .arg(&project)
        .env("PLUGBOARD_CONFIG_DIR", dir.path().join("config"))
        .env("PLUGBOARD_DATA_DIR", dir.path().join("data"))
        .output()
        .expect("plugboard check runs");
    let report = text(&check);
    assert!(check.status.success(), "plugboard check failed:\n{report}");
    report
}

#[test]
fn the_c_template_builds_with_make_and_passes_check() {
    let report = build_and_check("c", "hello-c", "Hello from C");
    assert!(report.contains("task-created handled in"), "{report}");
    assert!(report.contains(", 1 log line"), "the handler logs its line: {report}");
    assert!(
        report.contains("hello-c: task created: plugboard check: a smoke task"),
        "the template reads the task it is told about: {report}"
    );
}

#[test]
fn the_cpp_template_builds_with_make_and_passes_check() {
    let report = build_and_check("cpp", "hello-cpp", "Hello from C++");
    assert!(report.contains("task-created handled in"), "{report}");
    assert!(report.contains(", 1 log line"), "the handler logs its line: {report}");
    assert!(
        report.contains("hello-cpp: task created: plugboard check: a smoke task"),
        "the template reads the task it is told about: {report}"
    );
}

#[test]
fn make_names_the_missing_sdk_when_plugboard_sdk_c_is_wrong() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    instantiate("c", dir.path(), "lost", "Lost");
    let make = Command::new("make")
        .arg("-C")
        .arg(dir.path())
        .arg("PLUGBOARD_SDK_C=/nonexistent/sdk-c")
        .output()
        .expect("make runs");
    let out = text(&make);
    assert!(!make.status.success(), "{out}");
    assert!(
        out.contains("PLUGBOARD_SDK_C=/nonexistent/sdk-c holds no plugboard.mk"),
        "{out}"
    );
}

#[test]
fn make_names_the_worlds_there_are_when_world_is_unknown() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    instantiate("c", dir.path(), "future", "Future");
    let make = Command::new("make")
        .arg("-C")
        .arg(dir.path())
        .arg(format!("PLUGBOARD_SDK_C={}", repo().join("sdk-c").display()))
        .arg("WORLD=task-events@9.0.0")
        .output()
        .expect("make runs");
    let out = text(&make);
    assert!(!make.status.success(), "{out}");
    assert!(out.contains("no bindings for WORLD=task-events@9.0.0"), "{out}");
    assert!(
        out.contains("task-events@2.1.0"),
        "the worlds there are are named: {out}"
    );
}
