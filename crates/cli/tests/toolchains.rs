//! Plugins as each language's toolchain builds them by default load, handle
//! an event and have their output in the plugin's log: Python
//! (componentize-py, no `--stub-wasi`), JavaScript (componentize-js, no
//! features disabled) and C (clang-19 for wasm32-wasip1 with wasi-libc, made a
//! component by `plugboard componentize`, through sdk-c's `plugboard.mk`),
//! and C++ (clang++-19 with libc++ and the generated C++ bindings). And the
//! conformance scenario written in each of those languages and in Rust runs
//! on one host, as one matrix of case × (language, release).
//!
//! The toolchains are installed by `scripts/test` (`ensure_guest_toolchains`
//! in `scripts/toolchain.sh`); a missing one fails these tests, naming it.
//! Each guest is built once and kept in `target/toolchain-guests/`, keyed by
//! the sha256 of its sources, the WIT and the tool's version, and loaded
//! once per test run.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::guests::{cached, componentize_js, js_guest, python_guest, read, repo, tool};
use plugboard_conformance::{CASES, Guest, Verdict};
use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::{Dispatcher, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime, WorldVersion};
use plugboard_manifest::Manifest;

const WORLD: &str = "task-events@2.1.0";

/// The release the other languages' conformance guests of task-events@2
/// are built against: the newest, so that every case applies to them.
const CONFORMANCE_WORLD: &str = "task-events@2.2.0";

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/toolchain-fixtures").join(name)
}

fn wit() -> Vec<u8> {
    read(&repo().join("wit").join(WORLD).join("plugin.wit"))
}

fn python_component() -> PathBuf {
    let dir = fixture("python-hello");
    let wit = repo().join("wit").join(WORLD);
    python_guest("python-hello", &wit, &[&dir], &[&dir.join("app.py")])
}

fn js_component() -> PathBuf {
    let dir = fixture("js-hello");
    let (tools, version) = componentize_js();
    cached("js-hello", &[&read(&dir.join("app.js")), &wit(), &version], |out| {
        // A script beside node_modules, so that node finds the package.
        let script = tools.join("build-guest.mjs");
        std::fs::write(
            &script,
            "import { componentize } from '@bytecodealliance/componentize-js';\n\
             import { readFile, writeFile } from 'node:fs/promises';\n\
             const [source, witPath, out] = process.argv.slice(2);\n\
             const { component } = await componentize(await readFile(source, 'utf8'), { witPath, worldName: 'plugin' });\n\
             await writeFile(out, component);\n",
        )
        .expect("the build script is written");
        tool(
            "componentize-js",
            Command::new("node")
                .arg(&script)
                .arg(dir.join("app.js"))
                .arg(repo().join("wit").join(WORLD))
                .arg(out),
        );
    })
}

/// Every file of the C SDK a plugin built with `plugboard.mk` depends on,
/// in a fixed order, for the cache key.
fn sdk_c_inputs() -> Vec<u8> {
    let mut files = Vec::new();
    let mut pending = vec![repo().join("sdk-c")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut bytes = Vec::new();
    for file in files {
        bytes.extend_from_slice(file.to_string_lossy().as_bytes());
        bytes.extend_from_slice(&read(&file));
    }
    bytes
}

/// A C or C++ toolchain fixture built with its Makefile (sdk-c's
/// `plugboard.mk`: clang-19 / clang++-19 for wasm32-wasip1 with wasi-libc,
/// the bindings generated from wit/, then `plugboard componentize`), the
/// build folder in target/.
fn make_component(name: &str) -> PathBuf {
    let dir = fixture(name);
    let mut sources = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixture folder")
        .map(|e| e.expect("a folder entry").path())
        .collect();
    names.sort();
    for path in names {
        sources.extend_from_slice(path.to_string_lossy().as_bytes());
        sources.extend_from_slice(&read(&path));
    }
    let clang = tool("clang-19 --version", Command::new("clang-19").arg("--version"));
    let plugboard = read(Path::new(env!("CARGO_BIN_EXE_plugboard")));
    cached(
        name,
        &[&sources, &sdk_c_inputs(), clang.as_bytes(), &plugboard],
        |out| {
            let build = out.with_extension("build");
            tool(
                &format!("make in {}", dir.display()),
                Command::new("make")
                    .arg("-s")
                    .arg("-C")
                    .arg(&dir)
                    .arg(format!("PLUGBOARD_SDK_C={}", repo().join("sdk-c").display()))
                    .arg(format!("PLUGBOARD={}", env!("CARGO_BIN_EXE_plugboard")))
                    .arg(format!("BUILD_DIR={}", build.display()))
                    .arg(format!("PLUGIN={}", out.display())),
            );
            let _ = std::fs::remove_dir_all(&build);
        },
    )
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// Loads the guest with its fixture's manifest, as built by its
/// toolchain's defaults, granted what it requests (nothing).
fn load(name: &str, component: &Path) -> LoadedPlugin {
    let dir = fixture(name);
    let manifest = Manifest::from_dir(&dir).expect("the fixture's manifest is valid");
    runtime()
        .load_bytes(
            manifest,
            &dir,
            component,
            &read(component),
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_or_else(|e| panic!("{name} as its toolchain builds it by default loads: {e}"))
}

/// Each guest compiled once per test run (an 18 MB Python component takes
/// some 25 s).
fn python() -> &'static LoadedPlugin {
    static PLUGIN: OnceLock<LoadedPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| load("python-hello", &python_component()))
}

/// Dispatches a created task titled `title` to `plugin`; returns the
/// delivery's outcome and the lines it left in the plugin's log.
fn created(plugin: &LoadedPlugin, title: &str) -> (Outcome, Vec<String>) {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(plugin.clone()).expect("added");
    let task = tasks.create(new_task(title), 1).expect("created");
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    let delivery = report
        .deliveries
        .iter()
        .find(|d| *d.plugin == *plugin.id())
        .unwrap_or_else(|| panic!("{} received the event: {report:#?}", plugin.id()));
    let logs = delivery.effects.logs.iter().map(|l| l.message.clone()).collect();
    (delivery.outcome.clone(), logs)
}

#[test]
fn a_python_plugin_built_with_componentize_py_defaults_prints_into_its_log() {
    let (outcome, logs) = created(python(), "water the plants");
    assert_eq!(outcome, Outcome::Handled, "{logs:?}");
    assert!(
        logs.iter().any(|l| l == "python-hello: task created: water the plants"),
        "{logs:?}"
    );
}

#[test]
fn an_uncaught_python_exception_leaves_its_traceback_in_the_log() {
    let (outcome, logs) = created(python(), "boom");
    assert!(matches!(outcome, Outcome::Trapped(_)), "{outcome:?}");
    let text = logs.join("\n");
    assert!(text.contains("Traceback (most recent call last)"), "{text}");
    assert!(text.contains("in explode"), "the frames are named: {text}");
    assert!(text.contains("ValueError: python-hello cannot take 'boom'"), "{text}");
}

#[test]
fn a_js_plugin_built_with_componentize_js_defaults_logs_with_console_log() {
    let plugin = load("js-hello", &js_component());
    let (outcome, logs) = created(&plugin, "call the bank");
    assert_eq!(outcome, Outcome::Handled, "{logs:?}");
    assert!(
        logs.iter().any(|l| l == "js-hello: task created: call the bank"),
        "{logs:?}"
    );
}

#[test]
fn a_c_plugin_using_printf_through_wasi_libc_prints_into_its_log() {
    let plugin = load("c-printf", &make_component("c-printf"));
    let (outcome, logs) = created(&plugin, "file the taxes");
    assert_eq!(outcome, Outcome::Handled, "{logs:?}");
    assert!(logs.iter().any(|l| l == "c-printf: handled event kind 0"), "{logs:?}");
    assert!(
        logs.iter().any(|l| l == "c-printf: task created: file the taxes"),
        "the generated bindings hand the plugin the task: {logs:?}"
    );
}

#[test]
fn a_cpp_plugin_built_with_clang_and_the_generated_bindings_logs_its_event() {
    let plugin = load("cpp-hello", &make_component("cpp-hello"));
    let (outcome, logs) = created(&plugin, "book the flights");
    assert_eq!(outcome, Outcome::Handled, "{logs:?}");
    assert!(
        logs.iter().any(|l| l == "cpp-hello: task created: book the flights"),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l == "cpp-hello: printf sees 0 tag(s)"), "{logs:?}");
}

/// The WIT folder of the release a toolchain conformance guest of `world`
/// is built against.
fn conformance_wit(world: WorldVersion) -> PathBuf {
    repo().join("wit").join(match world {
        WorldVersion::V1 => "task-events@1.0.0",
        WorldVersion::V2 => CONFORMANCE_WORLD,
        WorldVersion::V3Dev => panic!("the conformance guests are built for released worlds"),
    })
}

/// The scenario plugin in Python (tests/toolchain-fixtures/conformance-python-v*).
fn python_conformance(world: WorldVersion) -> Guest {
    let name = format!("conformance-python-v{}", world.major());
    let dir = fixture(&name);
    let path = python_guest(&name, &conformance_wit(world), &[&dir], &[&dir.join("app.py")]);
    Guest::from_file("python", world, path).expect("the built guest is read")
}

/// The scenario plugin in JavaScript (tests/toolchain-fixtures/conformance-js-v*).
fn js_conformance(world: WorldVersion) -> Guest {
    let name = format!("conformance-js-v{}", world.major());
    let app = fixture(&name).join("app.js");
    let path = js_guest(&name, &conformance_wit(world), &app, &[&app]);
    Guest::from_file("js", world, path).expect("the built guest is read")
}

/// The scenario plugin in C or C++ (tests/toolchain-fixtures/conformance-{c,cpp}-v*),
/// built with its Makefile.
fn make_conformance(language: &str, world: WorldVersion) -> Guest {
    let component = make_component(&format!("conformance-{language}-v{}", world.major()));
    Guest::from_file(language, world, component).expect("the built guest is read")
}

/// The conformance scenario (wit/CONFORMANCE.md) written in Rust, C, C++,
/// Python and JavaScript, each for @1 and task-events@2, on one host: one
/// matrix of case × (language, release), every case passing wherever it
/// applies. The Rust guests cover every 2.x minor; the others are built
/// against the newest, 2.2.0, so every case of task-events@2 applies to
/// them, and n/a is left only for what @1 does not have.
#[test]
fn every_language_passes_every_case_on_every_world_on_one_host() {
    let mut guests = plugboard_conformance::rust_guests();
    guests.extend(WorldVersion::ALL.map(|world| make_conformance("c", world)));
    guests.extend(WorldVersion::ALL.map(|world| make_conformance("cpp", world)));
    guests.extend(WorldVersion::ALL.map(python_conformance));
    guests.extend(WorldVersion::ALL.map(js_conformance));
    let report = plugboard_conformance::run_guests(runtime(), &guests).expect("the suite runs");
    let matrix = report.render();
    println!("{matrix}");
    assert!(report.passed(), "{matrix}");
    assert_eq!(report.results.len(), CASES.len() * guests.len(), "{matrix}");
    let header = matrix.lines().next().unwrap_or_default();
    for column in [
        "rust 1.0",
        "rust 2.0",
        "rust 2.1",
        "rust 2.2",
        "c 1.0",
        "c 2.2",
        "cpp 1.0",
        "cpp 2.2",
        "python 1.0",
        "python 2.2",
        "js 1.0",
        "js 2.2",
    ] {
        assert!(header.contains(column), "{column} in {matrix}");
    }
    // What is n/a in a column is exactly what its release lacks: the Rust
    // guest of the same release shows the same cells n/a.
    let not_applicable = |language: &str, release: &str| -> Vec<&'static str> {
        report
            .results
            .iter()
            .filter(|r| r.language == language && r.release == release)
            .filter(|r| r.verdict == Verdict::NotApplicable)
            .map(|r| r.case)
            .collect()
    };
    for guest in guests.iter().filter(|g| g.language != "rust") {
        let cells: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.language == guest.language && r.world == guest.world)
            .collect();
        assert_eq!(
            cells.len(),
            CASES.len(),
            "{} has a cell per case:\n{matrix}",
            guest.column()
        );
        let release = cells[0].release;
        assert!(
            plugboard_conformance::RELEASES.contains(&release),
            "{} loaded as a known release, not {release}:\n{matrix}",
            guest.column()
        );
        assert_eq!(
            not_applicable(&guest.language, release),
            not_applicable("rust", release),
            "{} shows n/a only where its release lacks the case:\n{matrix}",
            guest.column()
        );
    }
}
