//! Plugins built by other languages' toolchains (componentize-py,
//! componentize-js, clang through sdk-c's `plugboard.mk`) for the tests:
//! each build is kept in `target/toolchain-guests/`, keyed by the sha256 of
//! what went into it, so a test run builds each guest once and a later run
//! only when its inputs changed.
//!
//! The toolchains are installed by `scripts/test` (`ensure_guest_toolchains`
//! in `scripts/toolchain.sh`); a missing one fails the test, naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    plugboard_test_artifacts::repo_root()
        .canonicalize()
        .expect("the repository root")
}

/// A file's bytes; a missing one fails the test, naming it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a build command; its failure fails the test with its output.
pub fn tool(what: &str, command: &mut Command) -> String {
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

/// The cached build of `name` keyed by `inputs`, built by `build(out)` when
/// absent (into a temporary name, renamed, so a dead build leaves nothing).
pub fn cached(name: &str, inputs: &[&[u8]], build: impl FnOnce(&Path)) -> PathBuf {
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

/// `componentize-py --version`, part of each Python guest's key.
pub fn componentize_py_version() -> String {
    tool(
        "componentize-py --version",
        Command::new("componentize-py").arg("--version"),
    )
}

/// Where the test command installs componentize-js, and its
/// `package.json` (part of each JavaScript guest's key).
pub fn componentize_js() -> (PathBuf, Vec<u8>) {
    let tools = repo().join("target/toolchains/js");
    let package = tools.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let version = std::fs::read(&package).unwrap_or_else(|e| {
        panic!(
            "componentize-js is not installed in {} ({e}); scripts/test installs it (ensure_guest_toolchains)",
            tools.display()
        )
    });
    (tools, version)
}

/// A Python guest: the module `app` of `folders` (searched in order)
/// built by componentize-py against the world `plugin` of `wit`, with no
/// option beyond that (its defaults). `sources` are the files it is made
/// of, for the key.
pub fn python_guest(name: &str, wit: &Path, folders: &[&Path], sources: &[&Path]) -> PathBuf {
    let version = componentize_py_version();
    let mut inputs: Vec<Vec<u8>> = sources.iter().map(|s| read(s)).collect();
    inputs.push(read(&wit.join("plugin.wit")));
    inputs.push(version.into_bytes());
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    cached(name, &inputs, |out| {
        let mut command = Command::new("componentize-py");
        command
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-d")
            .arg(wit)
            .args(["-w", "plugin", "componentize"]);
        for folder in folders {
            command.arg("-p").arg(folder);
        }
        tool("componentize-py", command.arg("app").arg("-o").arg(out));
    })
}

/// A JavaScript guest: `app` built by the componentize-js command against
/// the world `plugin` of `wit`, with its defaults. `sources` are the files
/// it is made of, for the key.
pub fn js_guest(name: &str, wit: &Path, app: &Path, sources: &[&Path]) -> PathBuf {
    let (tools, version) = componentize_js();
    let mut inputs: Vec<Vec<u8>> = sources.iter().map(|s| read(s)).collect();
    inputs.push(read(&wit.join("plugin.wit")));
    inputs.push(version);
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    cached(name, &inputs, |out| {
        tool(
            "componentize-js",
            Command::new(tools.join("node_modules/.bin/componentize-js"))
                .arg(app)
                .arg("--wit")
                .arg(wit)
                .args(["--world-name", "plugin", "-o"])
                .arg(out),
        );
    })
}
