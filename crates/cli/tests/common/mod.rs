//! Running the `plugboard` binary as a user does, with every folder it
//! reads or writes inside a temp dir, and building plugin folders from the
//! example manifests and the components built from source.

pub mod guests;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use plugboard_test_artifacts::{self as artifacts, Component};

/// Runs `plugboard` with `args` in `dir`, keeping its grants in
/// `dir/config`, its quarantine, state and logs in `dir/data` and the
/// plugins it installs in `dir/installed` (never in the real home folder).
pub fn plugboard(dir: &Path, args: &[&str]) -> Output {
    plugboard_with_input(dir, args, None)
}

/// [`plugboard`] with `input` on its stdin (with `None`, stdin is empty).
pub fn plugboard_with_input(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--config-dir",
        "config",
        "--data-dir",
        "data",
        "--plugins-dir",
        "installed",
    ]);
    run(dir, &all, input)
}

/// Runs `plugboard` with exactly `args` in `dir`, with the environment
/// pointing every default folder into `dir/home` in case an option is missing.
pub fn plugboard_in(dir: &Path, args: &[&str]) -> Output {
    run(dir, args, None)
}

/// The `plugboard` binary, to run in `dir` with every default folder
/// pointing into `dir/home`, for tests that drive the process themselves.
pub fn command(dir: &Path) -> Command {
    let home = dir.join("home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
    command
        .current_dir(dir)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env_remove("PLUGBOARD_CONFIG_DIR")
        .env_remove("PLUGBOARD_DATA_DIR")
        .env_remove("PLUGBOARD_PLUGINS_DIR")
        .env_remove("PLUGBOARD_BUILTIN_DIR");
    command
}

fn run(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = command(dir)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugboard binary runs");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The command may exit before reading it all; that is its answer.
        let _ = stdin.write_all(input.as_bytes());
    }
    child.wait_with_output().expect("the plugboard binary runs")
}

/// Runs `plugboard` and insists that it succeeds; returns its stdout.
pub fn plugboard_ok(dir: &Path, args: &[&str]) -> String {
    let output = plugboard(dir, args);
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "plugboard {args:?}:\n{out}\n{}",
        stderr(&output)
    );
    out
}

/// Runs `plugboard` and insists that it fails; returns its stderr.
pub fn plugboard_fails(dir: &Path, args: &[&str]) -> String {
    let output = plugboard(dir, args);
    assert!(
        !output.status.success(),
        "plugboard {args:?} should fail:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `plugins/<folder>/` with a manifest and a component.
pub fn plugin_folder(root: &Path, folder: &str, manifest: &str, component: Component) {
    let dir = root.join("plugins").join(folder);
    std::fs::create_dir_all(&dir).expect("create plugin folder");
    std::fs::write(dir.join("plugin.toml"), manifest).expect("write manifest");
    std::fs::write(dir.join(format!("{}.wasm", component.name)), component.bytes).expect("write component");
}

/// The manifest of `examples/<example>`.
pub fn example_manifest(example: &str) -> String {
    let path = artifacts::repo_root()
        .join("examples")
        .join(example)
        .join("plugin.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
