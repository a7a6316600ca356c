//! Loading plugins: world detection and every way a plugin file can be wrong.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plugboard_contract::Event;
use plugboard_host::{Dispatcher, HostServices, LoadError, LoadOptions, Outcome, Runtime, WorldVersion};
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// Writes a plugin folder: the manifest text and the component bytes under
/// the file name the manifest names.
fn plugin_dir(manifest: &str, component_name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plugin.toml"), manifest).expect("write manifest");
    std::fs::write(dir.path().join(component_name), bytes).expect("write component");
    dir
}

fn manifest(id: &str, api: &str, component: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"{api}\"\ncomponent = \"{component}\"\n\n[events]\nsubscribe = [\"task-created\", \"timer\"]\ntimers = [{{ name = \"hourly\", interval = \"1h\" }}]\n\n[permissions]\ntasks = [\"read\", \"write\"]\n"
    )
}

fn fixture_dir(name: &str) -> PathBuf {
    artifacts::repo_root().join("tests/fixtures").join(name)
}

fn load_error(id: &str, api: &str, bytes: &[u8]) -> String {
    let dir = plugin_dir(&manifest(id, api, "plugin.wasm"), "plugin.wasm", bytes);
    let err = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect_err("loading must fail");
    format!("{err}")
}

#[test]
fn a_major_the_host_does_not_speak_is_refused_naming_the_spoken_versions() {
    let message = load_error("future", "task-events@3", artifacts::FUTURE_V3.bytes);
    assert!(message.contains("plugin `future`"), "{message}");
    assert!(message.contains("plugboard:task-events@3.0.0"), "{message}");
    assert!(message.contains("it speaks 1.0.0, 2.2.0"), "{message}");
}

#[test]
fn a_manifest_api_that_disagrees_with_the_component_is_refused() {
    let message = load_error("liar", "task-events@1", artifacts::CONFORMANCE_V2.bytes);
    assert!(
        message.contains("plugin.toml says `api = \"task-events@1\"`") && message.contains("task-events@2.2.0"),
        "{message}"
    );
}

#[test]
fn a_component_exporting_both_handlers_is_refused() {
    let message = load_error("both", "task-events@2", artifacts::BOTH_WORLDS.bytes);
    assert!(message.contains("several world versions (1.0.0, 2.1.0)"), "{message}");
}

#[test]
fn a_core_module_is_refused_as_not_a_component() {
    // The smallest valid core module: the magic number and version 1.
    let message = load_error("core", "task-events@2", b"\0asm\x01\0\0\0");
    assert!(
        message.contains("is a core WebAssembly module, not a component"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let message = load_error("text", "task-events@2", b"#!/bin/sh\necho hello\n");
    assert!(message.contains("is not a WebAssembly file"), "{message}");
    assert!(message.contains("plugin.wasm"), "{message}");
}

#[test]
fn a_truncated_component_is_refused_without_a_panic() {
    let bytes = artifacts::CONFORMANCE_V2.bytes;
    let message = load_error("cut", "task-events@2", &bytes[..bytes.len() / 2]);
    assert!(message.contains("is not a valid component"), "{message}");
}

#[test]
fn a_missing_component_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.toml"),
        manifest("gone", "task-events@2", "gone.wasm"),
    )
    .unwrap();
    let err = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
    assert!(err.to_string().contains("gone.wasm"), "{err}");
}

#[test]
fn a_bad_manifest_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.toml"), "[plugin]\nid = \"x\"\n").unwrap();
    let err = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .unwrap_err();
    assert!(matches!(err, LoadError::Manifest(_)), "{err}");
    assert!(err.to_string().contains("plugin.toml"), "{err}");
}

#[test]
fn the_examples_load_with_their_world_versions() {
    for (folder, component, version) in [
        ("examples/auto-tag", artifacts::AUTO_TAG, WorldVersion::V2),
        ("examples/legacy-counter", artifacts::LEGACY_COUNTER, WorldVersion::V1),
    ] {
        let text = std::fs::read_to_string(artifacts::repo_root().join(folder).join("plugin.toml")).unwrap();
        let name = format!("{}.wasm", component.name);
        let dir = plugin_dir(&text, &name, component.bytes);
        let plugin = runtime()
            .load_dir(dir.path(), &LoadOptions::trusting_manifest())
            .unwrap_or_else(|e| panic!("{folder}: {e}"));
        assert_eq!(plugin.world().map(|w| w.version), Some(version), "{folder}");
    }
}

#[test]
fn inspect_lists_world_imports_and_exports() {
    let info = runtime()
        .inspect(
            Path::new(artifacts::LEGACY_COUNTER.path),
            &plugboard_host::Policy::deny_all(),
        )
        .unwrap();
    assert_eq!(info.world.clone().unwrap().unwrap().version, WorldVersion::V1);
    assert!(info.refused_imports().is_empty());
    assert!(
        info.exports.iter().any(|e| e == "plugboard:task-events/handler@1.0.0"),
        "{:?}",
        info.exports
    );
    assert!(
        info.imports.iter().any(|i| i == "plugboard:task-events/host@1.0.0"),
        "{:?}",
        info.imports
    );
}

#[test]
fn a_plugin_built_against_an_older_minor_loads_and_handles_events() {
    let text = std::fs::read_to_string(fixture_dir("compat-v2-0").join("plugin.toml")).unwrap();
    let dir = plugin_dir(&text, "compat_v2_0.wasm", artifacts::COMPAT_V2_0.bytes);
    let plugin = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .unwrap();
    let world = plugin.world().expect("it has code");
    assert_eq!(world.version, WorldVersion::V2);
    assert_eq!(world.built_against, semver::Version::new(2, 0, 0));
    assert_eq!(WorldVersion::V2.host_release(), semver::Version::new(2, 2, 0));

    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(plugin).unwrap();
    let task = tasks
        .create(plugboard_contract::task_store::new_task("Water plants"), 1)
        .unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
    assert_eq!(report.deliveries.len(), 1);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled, "{report:?}");
    let stored = plugboard_contract::TaskStore::get(&*tasks, &task.id).unwrap().unwrap();
    assert_eq!(stored.tags, vec!["seen-by-2.0".to_string()]);
}

#[test]
fn a_plugin_built_against_2_1_without_a_lifecycle_export_loads_and_handles_events() {
    let text = std::fs::read_to_string(fixture_dir("compat-v2-1").join("plugin.toml")).unwrap();
    let dir = plugin_dir(&text, "compat_v2_1.wasm", artifacts::COMPAT_V2_1.bytes);
    let plugin = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .unwrap();
    let world = plugin.world().expect("it has code");
    assert_eq!(world.built_against, semver::Version::new(2, 1, 0));

    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(plugin).unwrap();
    let task = tasks
        .create(plugboard_contract::task_store::new_task("Water plants"), 1)
        .unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled, "{report:?}");
    let logs: Vec<&str> = report.deliveries[0]
        .effects
        .logs
        .iter()
        .map(|l| l.message.as_str())
        .collect();
    assert!(logs.contains(&"2.1.0 plugin counts 1 task(s)"), "{logs:?}");
    let stored = plugboard_contract::TaskStore::get(&*tasks, &task.id).unwrap().unwrap();
    assert_eq!(stored.tags, vec!["seen-by-2.1".to_string()]);
    // Unloading it needs no `shutdown`, and it reports no health.
    dispatcher.stop_instances_blocking();
    assert!(!dispatcher.is_live("compat-v2-1"));
}

/// A copy of `bytes` whose component imports and exports of
/// `plugboard:task-events@2.2.0` are renamed to `@{version}`: the same
/// plugin, as if built against a WIT copy of that version.
fn renamed_world(bytes: &[u8], version: &str) -> Vec<u8> {
    use wasm_encoder::reencode::{Reencode, ReencodeComponent, component_utils};

    struct Rename(String);
    impl Reencode for Rename {
        type Error = std::convert::Infallible;
    }
    impl Rename {
        fn name(&self, name: &str) -> String {
            match name.strip_prefix("plugboard:task-events/") {
                Some(rest) => format!(
                    "plugboard:task-events/{}",
                    rest.replace("@2.2.0", &format!("@{}", self.0))
                ),
                None => name.to_string(),
            }
        }
    }
    impl ReencodeComponent for Rename {
        fn parse_component_import_section(
            &mut self,
            imports: &mut wasm_encoder::ComponentImportSection,
            section: wasmparser::ComponentImportSectionReader<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
            for import in section {
                let import = import?;
                let ty = self.component_type_ref(import.ty)?;
                let name = self.name(import.name.name);
                imports.import(
                    wasmparser::ComponentExternName {
                        name: &name,
                        ..import.name
                    },
                    ty,
                );
            }
            Ok(())
        }
        fn parse_component_export(
            &mut self,
            exports: &mut wasm_encoder::ComponentExportSection,
            export: wasmparser::ComponentExport<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
            let name = self.name(export.name.name);
            let renamed = wasmparser::ComponentExport {
                name: wasmparser::ComponentExternName {
                    name: &name,
                    ..export.name
                },
                ..export
            };
            component_utils::parse_component_export(self, exports, renamed)
        }
    }
    let mut component = wasm_encoder::Component::new();
    Rename(version.to_string())
        .parse_component(&mut component, wasmparser::Parser::new(0), bytes)
        .expect("the fixture re-encodes");
    component.finish()
}

#[test]
fn a_component_built_against_a_pre_release_is_refused_naming_it_and_the_plugin() {
    // The renaming itself keeps a loadable plugin: the same fixture renamed
    // to the host's own release loads.
    let same = renamed_world(artifacts::CONFORMANCE_V2.bytes, "2.2.0");
    let dir = plugin_dir(&manifest("same", "task-events@2", "plugin.wasm"), "plugin.wasm", &same);
    runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect("the re-encoded fixture loads");

    for pre in ["2.9.0-rc", "2.2.0-rc.1"] {
        let bytes = renamed_world(artifacts::CONFORMANCE_V2.bytes, pre);
        let dir = plugin_dir(
            &manifest("early", "task-events@2", "plugin.wasm"),
            "plugin.wasm",
            &bytes,
        );
        let err = runtime()
            .load_dir(dir.path(), &LoadOptions::trusting_manifest())
            .expect_err("a pre-release world is refused");
        assert!(matches!(err, LoadError::World { .. }), "{pre}: {err}");
        let message = err.to_string();
        assert!(message.contains("plugin `early`"), "{message}");
        assert!(
            message.contains(&format!("pre-release plugboard:task-events@{pre}")),
            "{message}"
        );
        assert!(message.contains("it speaks 1.0.0, 2.2.0"), "{message}");
    }
}
