//! Runs the conformance suite as a matrix of language × world release ×
//! case: the Rust guests built by the test-artifacts build (@1, and 2.0,
//! 2.1 and 2.2), and the Python
//! (componentize-py) and JavaScript (componentize-js) guests of
//! tests/toolchain-fixtures/conformance-{python,js}-v{1,2}, each built here
//! once and cached in target/toolchain-guests by the sha256 of its source,
//! its world's WIT and the tool's version. Every case must pass on every
//! guest.
//!
//! The toolchains are installed by `scripts/test` (`ensure_guest_toolchains`
//! in `scripts/toolchain.sh`); a missing one fails this test, naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use plugboard_conformance::{CASES, Guest, Verdict};
use plugboard_host::{Runtime, WorldVersion};
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a build command; its failure fails the test with its output.
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

/// The world's WIT folder and its world name.
fn wit(world: WorldVersion) -> PathBuf {
    repo().join("wit").join(match world {
        WorldVersion::V1 => "task-events@1.0.0",
        WorldVersion::V2 | WorldVersion::V3Dev => "task-events@2.1.0",
    })
}

/// The cached build of `name` keyed by `inputs`, built by `build(out)` when
/// absent (into a temporary name, renamed, so a dead build leaves nothing).
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

fn python_guest(world: WorldVersion) -> Guest {
    let name = format!("conformance-python-v{}", world.major());
    let dir = repo().join("tests/toolchain-fixtures").join(&name);
    let wit = wit(world);
    let version = run(
        "componentize-py --version",
        Command::new("componentize-py").arg("--version"),
    );
    let path = cached(
        &name,
        &[
            &read(&dir.join("app.py")),
            &read(&wit.join("plugin.wit")),
            version.as_bytes(),
        ],
        |out| {
            run(
                "componentize-py",
                Command::new("componentize-py")
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .arg("-d")
                    .arg(&wit)
                    .args(["-w", "plugin", "componentize", "-p"])
                    .arg(&dir)
                    .arg("app")
                    .arg("-o")
                    .arg(out),
            );
        },
    );
    Guest::from_file("python", world, path).expect("the built guest is read")
}

fn js_guest(world: WorldVersion) -> Guest {
    let name = format!("conformance-js-v{}", world.major());
    let dir = repo().join("tests/toolchain-fixtures").join(&name);
    let wit = wit(world);
    let tools = repo().join("target/toolchains/js");
    let package = tools.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let version = std::fs::read(&package).unwrap_or_else(|e| {
        panic!(
            "componentize-js is not installed in {} ({e}); scripts/test installs it (ensure_guest_toolchains)",
            tools.display()
        )
    });
    let path = cached(
        &name,
        &[&read(&dir.join("app.js")), &read(&wit.join("plugin.wit")), &version],
        |out| {
            run(
                "componentize-js",
                Command::new(tools.join("node_modules/.bin/componentize-js"))
                    .arg(dir.join("app.js"))
                    .arg("--wit")
                    .arg(&wit)
                    .args(["--world-name", "plugin", "-o"])
                    .arg(out),
            );
        },
    );
    Guest::from_file("js", world, path).expect("the built guest is read")
}

#[test]
fn every_language_passes_every_case_on_every_world_on_one_host() {
    let mut guests = plugboard_conformance::rust_guests();
    guests.extend(WorldVersion::ALL.map(python_guest));
    guests.extend(WorldVersion::ALL.map(js_guest));
    let runtime = Runtime::new().expect("the runtime starts");
    let report = plugboard_conformance::run_guests(&runtime, &guests).expect("the suite runs");
    let matrix = report.render();
    println!("{matrix}");
    assert!(report.passed(), "{matrix}");
    assert_eq!(report.results.len(), CASES.len() * guests.len());
    for column in [
        "rust 1.0",
        "rust 2.0",
        "rust 2.1",
        "rust 2.2",
        "python 1.0",
        "python 2.1",
        "js 1.0",
        "js 2.1",
    ] {
        assert!(
            matrix.lines().next().is_some_and(|h| h.contains(column)),
            "{column} in {matrix}"
        );
    }
    // Each guest passes something in each world: no column is all n/a.
    for guest in &guests {
        assert!(
            report
                .results
                .iter()
                .any(|r| r.language == guest.language && r.world == guest.world && r.verdict == Verdict::Pass),
            "{} passes some case: {matrix}",
            guest.column()
        );
    }
}

#[test]
fn the_built_in_rust_guests_pass_every_case() {
    let report = plugboard_conformance::run().expect("the suite runs");
    let matrix = report.render();
    assert!(report.passed(), "{matrix}");
    assert_eq!(
        report.results.len(),
        CASES.len() * plugboard_conformance::RELEASES.len()
    );
    assert!(matrix.starts_with("case"), "{matrix}");
    for release in ["rust 1.0", "rust 2.0", "rust 2.1", "rust 2.2"] {
        assert!(matrix.lines().next().is_some_and(|h| h.contains(release)), "{matrix}");
    }
}

#[test]
fn a_guest_that_does_not_follow_the_scenario_fails_its_cases_by_name() {
    // auto-tag speaks task-events@2 and loads with the scenario's manifest,
    // but refuses to start without its own setting, and logs nothing the
    // cases expect.
    let guest = Guest::from_file("rust", WorldVersion::V2, plugboard_test_artifacts::AUTO_TAG.path).expect("read");
    let runtime = Runtime::new().expect("the runtime starts");
    let report = plugboard_conformance::run_guests(&runtime, &[guest]).expect("the suite runs");
    let matrix = report.render();
    assert!(!report.passed(), "{matrix}");
    assert!(
        matrix.contains("FAIL init + config on rust task-events@2.2.0: init did not succeed"),
        "{matrix}"
    );
    assert!(matrix.contains("FAIL tasks.get on rust task-events@2.2.0"), "{matrix}");
}

#[test]
fn an_unavailable_guest_shows_n_a_in_every_case() {
    let guests = [Guest::unavailable(
        "cobol",
        WorldVersion::V1,
        "no compiler targets this world",
    )];
    let runtime = Runtime::new().expect("the runtime starts");
    let report = plugboard_conformance::run_guests(&runtime, &guests).expect("the suite runs");
    assert!(report.passed());
    assert!(report.results.iter().all(|r| r.verdict == Verdict::NotApplicable));
    assert!(report.render().contains("cobol @1"), "{}", report.render());
}
