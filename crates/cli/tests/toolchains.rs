//! Plugins as each language's toolchain builds them by default load, handle
//! an event and have their output in the plugin's log: Python
//! (componentize-py, no `--stub-wasi`), JavaScript (componentize-js, no
//! features disabled) and C (clang-19 for wasm32-wasip1 with wasi-libc, made a
//! component by `plugboard componentize`).
//!
//! The toolchains are installed by `scripts/test` (`ensure_guest_toolchains`
//! in `scripts/toolchain.sh`); a missing one fails these tests, naming it.
//! Each guest is built once and kept in `target/toolchain-guests/`, keyed by
//! the sha256 of its sources, the WIT and the tool's version, and loaded
//! once per test run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::{Dispatcher, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime};
use plugboard_manifest::Manifest;
use sha2::{Digest, Sha256};

const WORLD: &str = "task-events@2.1.0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/toolchain-fixtures").join(name)
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

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn wit() -> Vec<u8> {
    read(&repo().join("wit").join(WORLD).join("plugin.wit"))
}

fn python_component() -> PathBuf {
    let dir = fixture("python-hello");
    let version = run(
        "componentize-py --version",
        Command::new("componentize-py").arg("--version"),
    );
    cached(
        "python-hello",
        &[&read(&dir.join("app.py")), &wit(), version.as_bytes()],
        |out| {
            run(
                "componentize-py",
                Command::new("componentize-py")
                    .arg("-d")
                    .arg(repo().join("wit").join(WORLD))
                    .args(["-w", "plugin", "componentize", "-p"])
                    .arg(&dir)
                    .arg("app")
                    .arg("-o")
                    .arg(out),
            );
        },
    )
}

fn js_component() -> PathBuf {
    let dir = fixture("js-hello");
    let tools = repo().join("target/toolchains/js");
    let package = tools.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let version = std::fs::read(&package).unwrap_or_else(|e| {
        panic!(
            "componentize-js is not installed in {} ({e}); scripts/test installs it (ensure_guest_toolchains)",
            tools.display()
        )
    });
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
        run(
            "componentize-js",
            Command::new("node")
                .arg(&script)
                .arg(dir.join("app.js"))
                .arg(repo().join("wit").join(WORLD))
                .arg(out),
        );
    })
}

/// Debian's wasi-libc is laid out for `wasm32-wasi`; clang-19 looks for
/// `wasm32-wasip1`. A sysroot and resource folder of links in target/ give
/// clang what it looks for.
fn wasip1_sysroot() -> (PathBuf, PathBuf) {
    let base = repo().join("target/toolchains/c");
    let link = |target: &str, at: PathBuf| {
        assert!(
            Path::new(target).exists(),
            "{target} is missing; scripts/test installs clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc"
        );
        std::fs::create_dir_all(at.parent().expect("a parent")).expect("the folder");
        let _ = std::fs::remove_file(&at);
        std::os::unix::fs::symlink(target, &at).expect("the link");
    };
    let sysroot = base.join("sysroot");
    link("/usr/include/wasm32-wasi", sysroot.join("include/wasm32-wasip1"));
    link("/usr/lib/wasm32-wasi", sysroot.join("lib/wasm32-wasip1"));
    let resources = base.join("resources");
    link("/usr/lib/llvm-19/lib/clang/19/include", resources.join("include"));
    link(
        "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
        resources.join("lib/wasm32-unknown-wasip1/libclang_rt.builtins.a"),
    );
    (sysroot, resources)
}

fn c_component() -> PathBuf {
    let source = fixture("c-printf").join("plugin.c");
    let version = run("clang-19 --version", Command::new("clang-19").arg("--version"));
    let plugboard = read(Path::new(env!("CARGO_BIN_EXE_plugboard")));
    cached("c-printf", &[&read(&source), version.as_bytes(), &plugboard], |out| {
        let (sysroot, resources) = wasip1_sysroot();
        let core = out.with_extension("core.wasm");
        run(
            "clang-19",
            Command::new("clang-19")
                .args(["--target=wasm32-wasip1", "-mexec-model=reactor", "-O2"])
                .arg(format!("--sysroot={}", sysroot.display()))
                .arg("-resource-dir")
                .arg(&resources)
                .arg("-o")
                .arg(&core)
                .arg(&source),
        );
        run(
            "plugboard componentize",
            Command::new(env!("CARGO_BIN_EXE_plugboard"))
                .arg("componentize")
                .arg(&core)
                .args(["--world", "task-events@2", "-o"])
                .arg(out),
        );
        let _ = std::fs::remove_file(&core);
    })
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
    let plugin = load("c-printf", &c_component());
    let (outcome, logs) = created(&plugin, "file the taxes");
    assert_eq!(outcome, Outcome::Handled, "{logs:?}");
    assert!(logs.iter().any(|l| l == "c-printf: handled event kind 0"), "{logs:?}");
}
