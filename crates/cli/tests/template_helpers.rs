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

use std::path::{Path, PathBuf};
use std::process::Command;

use plugboard_contract::task_store::new_task;
use plugboard_test::{Outcome, TestHost};
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    plugboard_test_artifacts::repo_root()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(what: &str, command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}; scripts/test installs the toolchains"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cached(name: &str, inputs: &[&[u8]], build: impl FnOnce(&Path)) -> PathBuf {
    let mut hasher = Sha256::new();
    for input in inputs {
        hasher.update((input.len() as u64).to_le_bytes());
        hasher.update(input);
    }
    let key = hex::encode(&hasher.finalize()[..8]);
    let dir = repo().join("target/toolchain-guests");
    std::fs::create_dir_all(&dir).expect("the guest cache folder");
    let out = dir.join(format!("{name}-{key}.wasm"));
    if !out.is_file() {
        let temp = dir.join(format!(".{name}-{key}.{}.wasm", std::process::id()));
        build(&temp);
        std::fs::rename(&temp, &out).expect("the built guest is kept");
    }
    out
}

fn wit() -> PathBuf {
    repo().join("wit/task-events@2.1.0")
}

fn python() -> TestHost {
    let fixture = repo().join("tests/toolchain-fixtures/python-helpers");
    let helpers = repo().join("templates/python");
    let version = run(
        "componentize-py --version",
        Command::new("componentize-py").arg("--version"),
    );
    let component = cached(
        "python-helpers",
        &[
            &read(&fixture.join("app.py")),
            &read(&helpers.join("plugboard_helpers.py")),
            &read(&wit().join("plugin.wit")),
            version.as_bytes(),
        ],
        |out| {
            run(
                "componentize-py",
                Command::new("componentize-py")
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .arg("-d")
                    .arg(wit())
                    .args(["-w", "plugin", "componentize", "-p"])
                    .arg(&fixture)
                    .arg("-p")
                    .arg(&helpers)
                    .arg("app")
                    .arg("-o")
                    .arg(out),
            );
        },
    );
    TestHost::builder(&fixture)
        .component(component)
        .load()
        .expect("the Python plugin loads")
}

fn js() -> TestHost {
    let fixture = repo().join("tests/toolchain-fixtures/js-helpers");
    let helpers = repo().join("templates/js/plugboard.js");
    let tools = repo().join("target/toolchains/js");
    let version = std::fs::read(tools.join("node_modules/@bytecodealliance/componentize-js/package.json"))
        .unwrap_or_else(|e| {
            panic!(
                "componentize-js is not installed in {} ({e}); scripts/test installs it",
                tools.display()
            )
        });
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
            run(
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
