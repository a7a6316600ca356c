//! Hot reload: a changed plugin folder is checked and swapped in between
//! events with its state kept; a broken new build leaves the old one
//! running; a deleted folder unloads the plugin.

use std::path::Path;
use std::sync::OnceLock;

use plugboard_host::task_store::new_task;
use plugboard_host::types::Event;
use plugboard_host::{DispatchReport, Dispatcher, HostServices, LoadOptions, Outcome, ReloadOutcome, Runtime};
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

fn write_plugin(dir: &Path, version: &str) {
    let manifest = std::fs::read_to_string(artifacts::repo_root().join("tests/fixtures/lifecycle/plugin.toml"))
        .expect("the fixture's manifest");
    let manifest = manifest.replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
    assert!(
        manifest.contains(&format!("version = \"{version}\"")),
        "the fixture manifest changed shape"
    );
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    std::fs::write(dir.join("lifecycle.wasm"), artifacts::LIFECYCLE.bytes).unwrap();
}

fn logs(report: &DispatchReport) -> Vec<String> {
    report
        .deliveries
        .iter()
        .flat_map(|d| d.effects.logs.iter().map(|l| l.message.clone()))
        .collect()
}

#[test]
fn a_changed_plugin_is_swapped_in_between_events_and_keeps_its_state() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("lifecycle");
    std::fs::create_dir(&dir).unwrap();
    write_plugin(&dir, "0.1.0");
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    let options = LoadOptions::trusting_manifest();
    dispatcher.add(runtime().load_dir(&dir, &options).unwrap()).unwrap();
    let event = Event::TaskCreated(tasks.create(new_task("one"), 1).unwrap());
    assert_eq!(
        logs(&dispatcher.dispatch_blocking(&event)),
        ["init: 0 events before", "event 1, 1 in this instance"]
    );

    // A new version arrives in the folder.
    write_plugin(&dir, "0.2.0");
    let outcome = dispatcher.reload_dir(runtime(), &dir, &options).unwrap();
    assert_eq!(
        outcome,
        ReloadOutcome::Replaced {
            id: "lifecycle".into(),
            from: "0.1.0".into(),
            to: "0.2.0".into()
        }
    );
    let report = dispatcher.dispatch_blocking(&event);
    assert_eq!(
        logs(&report),
        ["init: 1 events before", "event 2, 1 in this instance"],
        "a fresh instance, the same state"
    );
    assert_eq!(
        dispatcher
            .plugins()
            .first()
            .unwrap()
            .manifest
            .plugin
            .version
            .to_string(),
        "0.2.0"
    );

    // A broken build: the old one keeps running and the error says why.
    std::fs::write(dir.join("lifecycle.wasm"), b"not wasm any more").unwrap();
    let err = dispatcher.reload_dir(runtime(), &dir, &options).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("the new build does not load, `lifecycle` keeps running the old one"),
        "{message}"
    );
    assert!(message.contains("is not a WebAssembly file"), "{message}");
    let report = dispatcher.dispatch_blocking(&event);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    assert_eq!(logs(&report), ["event 3, 2 in this instance"]);

    // The folder is deleted: the plugin is unloaded.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(dispatcher.unload_dir(&dir).as_deref(), Some("lifecycle"));
    assert!(dispatcher.dispatch_blocking(&event).deliveries.is_empty());
}
