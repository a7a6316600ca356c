//! Data-only plugins: a manifest with no component (a keyword list, a
//! locale pack, data for the application) loads, is listed, and never runs.

use std::path::Path;
use std::sync::OnceLock;

use plugboard_host::task_store::new_task;
use plugboard_host::types::Event;
use plugboard_host::{CommandError, Dispatcher, HostServices, LoadOptions, LoadedPlugin, Outcome, Runtime};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// A keyword pack: settings and a data file, no component. It even asks for
/// events and permissions, which it can never use.
const KEYWORDS_MANIFEST: &str = r#"
[plugin]
id = "keywords-de"
name = "German keywords"
version = "1.0.0"
api = "task-events@2"
description = "Keywords for auto-tag, in German"

[events]
subscribe = ["task-created"]

[permissions]
tasks = ["read"]

[config]
keywords = "dringend,fehler"
"#;

fn keyword_pack() -> (tempfile::TempDir, LoadedPlugin) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plugin.toml"), KEYWORDS_MANIFEST).expect("written");
    std::fs::write(dir.path().join("keywords.txt"), "dringend\nfehler\n").expect("written");
    let plugin = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect("a manifest without a component loads");
    (dir, plugin)
}

fn auto_tag() -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let manifest = Manifest::from_dir(&dir).expect("valid");
    runtime()
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("auto-tag loads")
}

#[test]
fn a_manifest_without_a_component_loads_as_a_data_only_plugin() {
    let (dir, plugin) = keyword_pack();
    assert!(plugin.is_data_only());
    assert_eq!(plugin.id(), "keywords-de");
    assert!(plugin.world().is_none() && plugin.component_path().is_none() && plugin.compiled().is_none());
    assert_eq!(plugin.dir, dir.path(), "the application finds its data in its folder");
    assert_eq!(
        plugin.config.get("keywords").map(String::as_str),
        Some("dringend,fehler")
    );
    assert!(
        plugin.policy.describe().is_empty(),
        "it runs nothing, so it is granted nothing: {:?}",
        plugin.policy.describe()
    );
}

#[test]
fn a_data_only_plugin_is_listed_but_never_receives_events_or_commands() {
    let (_dir, data) = keyword_pack();
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(data).expect("a data-only plugin is added");
    dispatcher.add(auto_tag()).expect("added");
    let listed: Vec<_> = dispatcher
        .plugins()
        .iter()
        .map(|p| (p.id().to_string(), p.is_data_only()))
        .collect();
    assert_eq!(
        listed,
        [("keywords-de".to_string(), true), ("auto-tag".to_string(), false)]
    );

    let started: Vec<_> = dispatcher
        .start_all_blocking()
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(started, ["auto-tag"], "there is nothing to start in a data-only plugin");

    let task = tasks.create(new_task("urgent"), 1).expect("created");
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    let offered: Vec<_> = report.deliveries.iter().map(|d| (&*d.plugin, &d.outcome)).collect();
    assert_eq!(offered, [("auto-tag", &Outcome::Handled)]);
    assert!(!dispatcher.is_live("keywords-de"));

    let err = dispatcher
        .run_command_blocking("keywords-de", "retag", &[])
        .expect_err("no commands");
    assert_eq!(err, CommandError::DataOnly("keywords-de".into()));
    assert_eq!(
        err.to_string(),
        "plugin `keywords-de` is data only (its manifest names no component), so it has no commands"
    );

    assert!(dispatcher.remove("keywords-de"));
    assert_eq!(dispatcher.plugins().len(), 1);
}

#[test]
fn a_data_only_plugin_cannot_take_the_id_of_a_loaded_one() {
    let (_dir, data) = keyword_pack();
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(data.clone()).expect("added");
    assert!(dispatcher.add(data).is_err());
}
