//! `plugboard new --lang LANG NAME` as a plugin author runs it: the folder
//! it writes builds with the template's documented command and passes
//! `plugboard check` unedited; Rust also with `cargo component build`.
//!
//! The toolchains are installed by `scripts/test` (`ensure_guest_toolchains`
//! in `scripts/toolchain.sh`); a missing one fails these tests, naming it.
//! The Rust builds share one cargo target folder under
//! `target/template-builds/`; the Python and JavaScript components are kept
//! in `target/toolchain-guests/`, keyed by the sha256 of the files `new`
//! wrote and the tool's version, so each is built once.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::guests::{componentize_js, componentize_py_version, repo, tool as run};
use common::{plugboard, stderr, stdout};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// `plugboard new` in `root`; the new plugin's folder.
fn new(root: &Path, lang: &str) -> PathBuf {
    let output = plugboard(root, &["new", "--lang", lang, "My plugin", "--dir", "my-plugin"]);
    assert!(output.status.success(), "{}\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("created the"), "{}", stdout(&output));
    root.join("my-plugin")
}

/// `plugboard check` on the plugin folder (and any extra arguments).
fn check(root: &Path, dir: &Path, extra: &[&str]) -> (bool, String) {
    let dir = dir.to_str().expect("a UTF-8 path");
    let mut args = vec!["check", dir];
    args.extend(extra);
    let output = plugboard(root, &args);
    (
        output.status.success(),
        format!("{}{}", stdout(&output), stderr(&output)),
    )
}

fn assert_checks_pass(root: &Path, dir: &Path, extra: &[&str]) {
    let (ok, out) = check(root, dir, extra);
    assert!(ok, "plugboard check fails on the new plugin:\n{out}");
    for name in ["manifest", "imports", "world", "smoke"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok ") && l.split_whitespace().nth(1) == Some(name)),
            "{name} passes:\n{out}"
        );
    }
    // The template logs the title of the task of the smoke event: it is
    // granted what it needs to read it.
    assert!(
        out.contains("task created: plugboard check: a smoke task"),
        "the new plugin logs the smoke task's title:\n{out}"
    );
}

/// The files of `dir` (not under `target/`), hashed with `extra`.
fn key(dir: &Path, extra: &[u8]) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let bytes = std::fs::read(&file).expect("readable");
        hasher.update(file.strip_prefix(dir).expect("inside").to_string_lossy().as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.update(extra);
    hex::encode(&hasher.finalize()[..8])
}

/// Puts the component `build` makes in `dir` at `dir/file`, from the cache
/// when these very sources were built before.
fn build_cached(name: &str, dir: &Path, file: &str, tool_version: &[u8], build: impl FnOnce()) {
    let cache = repo().join("target/toolchain-guests");
    std::fs::create_dir_all(&cache).expect("the guest cache folder");
    let kept = cache.join(format!("{name}-{}.wasm", key(dir, tool_version)));
    if kept.is_file() {
        std::fs::copy(&kept, dir.join(file)).expect("the cached build is copied");
        return;
    }
    build();
    let temp = cache.join(format!(".{name}.{}.wasm", std::process::id()));
    std::fs::copy(dir.join(file), &temp).expect("the build is kept");
    std::fs::rename(&temp, &kept).expect("the build is kept");
}

/// The toolchain the repository pins, for builds run outside it.
fn pinned_toolchain() -> String {
    let text = std::fs::read_to_string(repo().join("rust-toolchain.toml")).expect("rust-toolchain.toml");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("a channel in rust-toolchain.toml")
}

/// `cargo` for a Rust plugin outside the repository: the pinned toolchain,
/// none of the outer build's settings, the shared target folder linked in
/// as the plugin's `target/`.
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(dir).env("RUSTUP_TOOLCHAIN", pinned_toolchain());
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
    ] {
        command.env_remove(var);
    }
    command
}

/// The template's Cargo.toml with the documented `[patch.crates-io]`
/// section pointing at this repository's SDK and test harness (they are
/// not published yet); the target folder shared by every run.
fn rust_plugin(root: &Path) -> PathBuf {
    let dir = new(root, "rust");
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the template's Cargo.toml");
    assert!(text.contains("plugboard-sdk = \"0.1\""), "{text}");
    let patched = format!(
        "{text}\n[patch.crates-io]\nplugboard-sdk = {{ path = {:?} }}\nplugboard-test = {{ path = {:?} }}\n",
        repo().join("sdk-rust"),
        repo().join("crates/test-harness")
    );
    std::fs::write(&manifest, patched).expect("the patch section is added");
    let shared = repo().join("target/template-builds/rust");
    std::fs::create_dir_all(&shared).expect("the shared target folder");
    std::os::unix::fs::symlink(&shared, dir.join("target")).expect("the target link");
    dir
}

#[test]
fn a_new_rust_plugin_builds_with_cargo_for_wasm32_wasip2_and_passes_check() {
    let root = TempDir::new().unwrap();
    let dir = rust_plugin(root.path());
    run(
        "cargo build --release --target wasm32-wasip2",
        cargo(&dir).args(["build", "--release", "--target", "wasm32-wasip2"]),
    );
    assert_checks_pass(root.path(), &dir, &[]);
    // What the template's own test (tests/plugin.rs, run with `cargo test`
    // in the plugin's folder) asks of plugboard-test, on the plugin just
    // built. That file is a separate workspace's test, whose host build
    // would compile wasmtime again; its assertions are these.
    let test = std::fs::read_to_string(dir.join("tests/plugin.rs")).expect("the template's test");
    let expected = "task created: water the plants (1 so far)";
    assert!(test.contains(expected), "{test}");
    let host = plugboard_test::TestHost::load(&dir).expect("the plugin loads in plugboard-test");
    let sent = host.create_task("water the plants");
    sent.assert_handled();
    sent.assert_log_contains(expected);
    sent.assert_no_task_changes();
}

#[test]
fn a_new_rust_plugin_builds_with_cargo_component_and_passes_check() {
    let root = TempDir::new().unwrap();
    let dir = rust_plugin(root.path());
    // cargo finds `cargo-component` in its own bin folder, where
    // scripts/test installs it (ensure_guest_toolchains).
    run(
        "cargo component --version (scripts/test installs cargo-component)",
        cargo(&dir).args(["component", "--version"]),
    );
    run(
        "cargo component build --release",
        cargo(&dir).args(["component", "build", "--release"]),
    );
    let component = dir.join("target/wasm32-wasip1/release/my_plugin.wasm");
    assert!(component.is_file(), "cargo component wrote {}", component.display());
    assert_checks_pass(root.path(), &dir, &["--component", component.to_str().expect("UTF-8")]);
}

#[test]
fn a_new_python_plugin_builds_with_componentize_py_and_passes_check() {
    let root = TempDir::new().unwrap();
    let dir = new(root.path(), "python");
    assert!(
        dir.join("wit/plugin.wit").is_file(),
        "the world's WIT is written beside the plugin"
    );
    let version = componentize_py_version();
    build_cached("template-python", &dir, "my_plugin.wasm", version.as_bytes(), || {
        run(
            "componentize-py (the template's documented build)",
            Command::new("componentize-py")
                .current_dir(&dir)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .args([
                    "-d",
                    "wit",
                    "-w",
                    "plugin",
                    "componentize",
                    "-p",
                    ".",
                    "app",
                    "-o",
                    "my_plugin.wasm",
                ]),
        );
    });
    assert_checks_pass(root.path(), &dir, &[]);
}

#[test]
fn a_new_js_plugin_builds_with_componentize_js_and_passes_check() {
    let root = TempDir::new().unwrap();
    let dir = new(root.path(), "js");
    assert!(
        dir.join("wit/plugin.wit").is_file(),
        "the world's WIT is written beside the plugin"
    );
    let (tools, version) = componentize_js();
    build_cached("template-js", &dir, "my_plugin.wasm", &version, || {
        // `npm run build` as documented, with the componentize-js the test
        // command installed instead of a `npm install` in the folder.
        let path = format!(
            "{}:{}",
            tools.join("node_modules/.bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        run(
            "npm run build (the template's documented build)",
            Command::new("npm")
                .current_dir(&dir)
                .env("PATH", path)
                .args(["run", "build"]),
        );
    });
    assert_checks_pass(root.path(), &dir, &[]);
}

#[test]
fn the_id_and_name_are_filled_in() {
    let root = TempDir::new().unwrap();
    let output = plugboard(
        root.path(),
        &["new", "--lang", "python", "Weekly review", "--id", "org.example.weekly"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(root.path().join("org.example.weekly/plugin.toml")).unwrap();
    assert!(manifest.contains("id = \"org.example.weekly\""), "{manifest}");
    assert!(manifest.contains("name = \"Weekly review\""), "{manifest}");
    assert!(
        manifest.contains("component = \"org_example_weekly.wasm\""),
        "{manifest}"
    );
    assert!(!manifest.contains("{{"), "{manifest}");

    let output = plugboard(root.path(), &["new", "--lang", "rust", "Auto Tag 2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cargo = std::fs::read_to_string(root.path().join("auto-tag-2/Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"auto-tag-2\""), "{cargo}");
}

#[test]
fn a_folder_with_files_in_it_is_refused_and_left_alone() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("busy");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let output = plugboard(root.path(), &["new", "--lang", "rust", "Busy", "--dir", "busy"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("busy is not empty"), "{}", stderr(&output));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing was written");
}

#[test]
fn an_unknown_language_names_the_ones_there_are() {
    let root = TempDir::new().unwrap();
    let output = plugboard(root.path(), &["new", "--lang", "cobol", "Old"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("there is no \"cobol\" template"), "{err}");
    for language in ["js", "python", "rust"] {
        assert!(err.contains(language), "{err}");
    }
}

#[test]
fn an_unfit_id_or_name_is_refused_with_why() {
    let root = TempDir::new().unwrap();
    let output = plugboard(root.path(), &["new", "--lang", "rust", "Fine", "--id", "Not_OK"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--id: plugin id \"Not_OK\" contains 'N'"),
        "{}",
        stderr(&output)
    );

    let output = plugboard(root.path(), &["new", "--lang", "rust", "say \"hi\""]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("may not contain quotes"),
        "{}",
        stderr(&output)
    );

    let output = plugboard(root.path(), &["new", "--lang", "rust", "42"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("give one with --id"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}
