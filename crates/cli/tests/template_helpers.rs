//! The helpers the Python and JavaScript templates ship
//! (templates/python/plugboard_helpers.py, templates/js/plugboard.js), used
//! by a plugin as a template's user would: a patch built with defaults sets
//! and removes a project (the WIT's `option<option<T>>`), and an unexpected
//! exception in a handler becomes an `invalid` error of the call with its
//! traceback or stack in the plugin's log instead of a trap.
//!
//! The toolchains are installed by `scripts/test`; a missing one fails these
//! tests, naming it. Each guest is built once and kept in
//! `target/toolchain-guests/`, keyed by the sha256 of its sources and the
//! tool's version.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::guests::{cached, componentize_js, python_guest, read, repo, tool};
use plugboard_contract::task_store::new_task;
use plugboard_test::{Outcome, TestHost};

fn wit() -> PathBuf {
    repo().join("wit/task-events@2.2.0")
}

fn python() -> TestHost {
    let fixture = repo().join("tests/toolchain-fixtures/python-helpers");
    let helpers = repo().join("templates/python");
    let component = python_guest(
        "python-helpers",
        &wit(),
        &[&fixture, &helpers],
        &[&fixture.join("app.py"), &helpers.join("plugboard_helpers.py")],
    );
    TestHost::builder(&fixture)
        .component(component)
        .load()
        .expect("the Python plugin loads")
}

fn js() -> TestHost {
    let fixture = repo().join("tests/toolchain-fixtures/js-helpers");
    let helpers = repo().join("templates/js/plugboard.js");
    let (tools, version) = componentize_js();
    let app = read(&fixture.join("app.js"));
    let helper = read(&helpers);
    let component = cached(
        "js-helpers",
        &[&app, &helper, &read(&wit().join("plugin.wit")), &version],
        |out| {
            // The plugin's folder as the template lays it out: app.js with
            // plugboard.js beside it.
            let folder = tempfile::TempDir::new().expect("a temp folder");
            std::fs::write(folder.path().join("app.js"), &app).expect("written");
            std::fs::write(folder.path().join("plugboard.js"), &helper).expect("written");
            tool(
                "componentize-js",
                Command::new(tools.join("node_modules/.bin/componentize-js"))
                    .arg(folder.path().join("app.js"))
                    .arg("--wit")
                    .arg(wit())
                    .args(["--world-name", "plugin", "-o"])
                    .arg(out),
            );
        },
    );
    TestHost::builder(&fixture)
        .component(component)
        .load()
        .expect("the JavaScript plugin loads")
}

/// A patch from the helper sets the project and a tag, then removes the
/// project, and leaves every other field alone.
fn patches_set_and_remove_the_project(host: &TestHost) {
    let mut task = new_task("set");
    task.tags = vec!["mine".into()];
    task.description = "keep me".into();
    let sent = host.create(task);
    sent.assert_handled().assert_log_contains("patched");
    let id = host.only_task().id;
    let after = sent.updated(&id);
    assert_eq!(after.project.as_deref(), Some("home"));
    assert_eq!(after.tags, ["mine", "helped"]);
    assert_eq!(
        after.description, "keep me",
        "a field the patch does not name is left alone"
    );

    let mut unset = new_task("unset");
    unset.project = Some("work".into());
    let sent = host.create(unset);
    sent.assert_handled();
    let id = host
        .tasks()
        .iter()
        .find(|t| t.title == "unset")
        .expect("created")
        .id
        .clone();
    assert_eq!(sent.updated(&id).project, None, "project=None removes it");
}

/// An exception in a reported handler fails the call with an `invalid`
/// error and leaves its traceback in the log; the plugin is not trapped.
fn an_exception_is_an_error_with_its_trace_in_the_log(host: &TestHost, error: &str, trace: &str) {
    let sent = host.create_task("boom");
    sent.assert_rejected(error);
    assert!(
        !matches!(sent.outcome(), Some(Outcome::Trapped(_))),
        "{:?}",
        sent.outcome()
    );
    let log = sent.log_lines().join("\n");
    assert!(log.contains(trace), "{log}");
    assert!(log.contains("explode"), "the frame is named: {log}");
    // Still alive: the next event is handled by the same instance.
    host.create_task("quiet").assert_handled();
}

// One test a language: a Python component takes some 25 s to compile.

#[test]
fn the_python_helpers_build_patches_and_report_an_exception_with_its_traceback() {
    let host = python();
    patches_set_and_remove_the_project(&host);
    an_exception_is_an_error_with_its_trace_in_the_log(
        &host,
        "invalid: ValueError: cannot take 'boom'",
        "Traceback (most recent call last)",
    );
}

#[test]
fn the_js_helpers_build_patches_and_report_an_exception_with_its_stack() {
    let host = js();
    patches_set_and_remove_the_project(&host);
    an_exception_is_an_error_with_its_trace_in_the_log(&host, "invalid: TypeError: cannot take boom", "explode");
}
