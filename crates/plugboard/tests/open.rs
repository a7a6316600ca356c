//! Opening a host on a plugins folder: every plugin found is loaded,
//! skipped (disabled, quarantined, data only, a dependency missing) or
//! refused (it does not load), and reported as such; the loaded ones get
//! the app's events with what the user granted.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use common::{Folders, app_tasks, create, edit, example_manifest};
use plugboard::{DisabledPlugins, GrantsFile, Host, OpenError, PluginStatus, QuarantineFile, STATE_FILE};
use std::sync::Arc;

use plugboard_host::{
    AbuseKind, GrantStore, GrantTable, InMemoryGrants, InMemoryPluginLogs, InMemoryQuarantine, QuarantineRecord,
    QuarantineStore,
};
use plugboard_test_artifacts as artifacts;

/// A manifest for a plugin of the lifecycle fixture's code, with `extra` tables.
fn lifecycle_like(id: &str, extra: &str) -> String {
    let manifest = std::fs::read_to_string(artifacts::repo_root().join("tests/fixtures/lifecycle/plugin.toml"))
        .expect("the fixture's manifest");
    format!(
        "{}\n{extra}",
        edit(&manifest, "id = \"lifecycle\"", &format!("id = \"{id}\""))
    )
}

fn status<'r>(report: &'r plugboard::OpenReport, id: &str) -> &'r PluginStatus {
    &report
        .plugins
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the report: {report:#?}"))
        .status
}

#[test]
fn every_plugin_is_reported_loaded_skipped_or_refused_and_the_loaded_one_works() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    folders.example("legacy-counter", artifacts::LEGACY_COUNTER);
    folders.plugin(
        "looper",
        &lifecycle_like("looper", ""),
        Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
    );
    folders.plugin(
        "needy",
        &lifecycle_like("needy", "[dependencies]\nghost = \"^1\"\n"),
        Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
    );
    folders.plugin(
        "broken",
        &lifecycle_like("broken", ""),
        Some(("lifecycle.wasm", b"this is not a component")),
    );
    let data_only = edit(&lifecycle_like("keywords", ""), "component = \"lifecycle.wasm\"\n", "");
    folders.plugin("keywords", &data_only, None);

    let mut grants = GrantsFile::open(&folders.config_dir()).unwrap();
    let auto_tag = ["tasks.read", "tasks.write", "subscribe:task-created"].map(|g| g.parse().unwrap());
    grants.grant("auto-tag", &auto_tag);
    grants.save().unwrap();
    let mut disabled = DisabledPlugins::open(&folders.data_dir()).unwrap();
    disabled.insert("legacy-counter");
    disabled.save().unwrap();
    let record = QuarantineRecord {
        plugin: "looper".into(),
        version: "0.1.0".into(),
        kind: AbuseKind::Deadline,
        reason: "ran past its deadline".into(),
        strikes: 1,
        at: 0,
    };
    QuarantineFile::open(&folders.data_dir())
        .unwrap()
        .add(record.clone())
        .unwrap();

    let tasks = app_tasks();
    let host = Host::builder(folders.config())
        .task_store(tasks.clone())
        .open()
        .unwrap();
    let report = host.report();
    assert!(
        matches!(status(report, "auto-tag"), PluginStatus::Loaded(_)),
        "{report:#?}"
    );
    assert!(
        matches!(status(report, "legacy-counter"), PluginStatus::Disabled),
        "{report:#?}"
    );
    assert!(
        matches!(status(report, "looper"), PluginStatus::Quarantined(r) if *r == record),
        "{report:#?}"
    );
    assert!(
        matches!(status(report, "keywords"), PluginStatus::DataOnly),
        "{report:#?}"
    );
    match status(report, "needy") {
        PluginStatus::Blocked(error) => assert!(error.to_string().contains("ghost"), "{error}"),
        other => panic!("needy: {other:?}"),
    }
    match status(report, "broken") {
        PluginStatus::LoadFailed(error) => assert!(error.to_string().contains("broken"), "{error}"),
        other => panic!("broken: {other:?}"),
    }
    assert_eq!(report.failures(), 2, "the blocked and the broken plugin: {report:#?}");
    assert_eq!(
        report.grants_file.as_deref(),
        Some(folders.config_dir().join("plugboard.toml").as_path())
    );
    let ids: Vec<String> = host.plugins().iter().map(|p| p.id().to_string()).collect();
    assert_eq!(ids, ["auto-tag"]);

    let task = create(&host, &tasks, "Fix urgent bug");
    assert_eq!(task.tags, ["urgent", "bug"], "auto-tag ran with its grants: {task:?}");
    assert!(
        folders.data_dir().join(STATE_FILE).is_file(),
        "installed plugins keep their state in the data folder"
    );
}

#[test]
fn without_a_grant_a_plugin_loads_but_receives_nothing() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let tasks = app_tasks();
    let host = Host::builder(folders.config())
        .task_store(tasks.clone())
        .open()
        .unwrap();
    assert!(matches!(status(host.report(), "auto-tag"), PluginStatus::Loaded(_)));
    let task = create(&host, &tasks, "Fix urgent bug");
    assert!(task.tags.is_empty(), "{task:?}");
}

#[test]
fn a_development_folder_must_hold_a_plugin_and_gets_state_in_memory() {
    let folders = Folders::new();
    let mut config = folders.config();
    config.development = true;
    config.plugins_dir = folders.root.path().join("missing");
    let error = Host::open(config.clone()).err().expect("a missing folder is refused");
    assert!(matches!(error, OpenError::NotAFolder { .. }), "{error}");
    assert!(error.to_string().contains("missing"), "{error}");

    config.plugins_dir = folders.plugins();
    let error = Host::open(config.clone()).err().expect("an empty folder is refused");
    assert!(error.to_string().contains("holds no plugin"), "{error}");

    folders.example("auto-tag", artifacts::AUTO_TAG);
    config.trust_manifests = true;
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    assert_eq!(host.report().grants_file, None);
    assert_eq!(create(&host, &tasks, "Review the bug").tags, ["review", "bug"]);
    assert!(
        !folders.data_dir().join(STATE_FILE).exists(),
        "a development folder never writes into the installed plugins' state"
    );
}

#[test]
fn settings_override_the_manifest_and_must_name_a_plugin_there() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    config
        .settings
        .entry("ghost".into())
        .or_default()
        .insert("keywords".into(), "tea".into());
    let error = Host::open(config.clone())
        .err()
        .expect("a setting for no plugin is refused");
    assert!(matches!(error, OpenError::SettingForUnknownPlugin { .. }), "{error}");
    assert!(error.to_string().contains("ghost"), "{error}");

    config.settings.clear();
    let auto_tag = config.settings.entry("auto-tag".into()).or_default();
    auto_tag.insert("keywords".into(), "tea".into());
    auto_tag.insert("colour".into(), "green".into());
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    let unknown = &host.report().unknown_settings;
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert_eq!(
        (unknown[0].plugin.as_str(), unknown[0].key.as_str()),
        ("auto-tag", "colour")
    );
    assert_eq!(unknown[0].known, ["keywords"]);
    assert_eq!(create(&host, &tasks, "Buy tea, urgent").tags, ["tea"]);
    assert!(
        example_manifest("auto-tag").contains("urgent"),
        "without the override, \"urgent\" would have been a tag too"
    );
}

#[test]
fn an_application_s_own_grant_quarantine_and_log_stores_replace_the_files() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    folders.plugin(
        "looper",
        &lifecycle_like("looper", ""),
        Some(("lifecycle.wasm", artifacts::LIFECYCLE.bytes)),
    );
    let grants = Arc::new(InMemoryGrants::new());
    let mut table = GrantTable::default();
    let read_only = ["tasks.read", "subscribe:task-created"].map(|g| g.parse().unwrap());
    table.grant("auto-tag", &read_only);
    grants.save(&table).unwrap();
    let mut quarantine = InMemoryQuarantine::new();
    let record = QuarantineRecord {
        plugin: "looper".into(),
        version: "0.1.0".into(),
        kind: AbuseKind::Deadline,
        reason: "ran past its deadline".into(),
        strikes: 1,
        at: 0,
    };
    quarantine.add(record.clone()).unwrap();
    let logs = InMemoryPluginLogs::new();

    let tasks = app_tasks();
    let host = Host::builder(folders.config())
        .task_store(tasks.clone())
        .grant_store(grants.clone())
        .quarantine_store(quarantine)
        .plugin_logs(Arc::new(logs.clone()))
        .open()
        .unwrap();
    let report = host.report();
    assert!(
        matches!(status(report, "looper"), PluginStatus::Quarantined(r) if *r == record),
        "{report:#?}"
    );
    assert_eq!(report.grants_file, None, "no grants file is in force");
    let task = create(&host, &tasks, "Fix urgent bug");
    assert!(task.tags.is_empty(), "auto-tag may only read: {task:?}");
    host.flush_logs();
    let audit = logs.tail("auto-tag", 100);
    assert!(
        audit
            .iter()
            .any(|l| l.ends_with("audit denied: not granted `tasks.write`")),
        "{audit:#?}"
    );

    // What the application grants later holds from the next reload on.
    table.grant("auto-tag", &["tasks.write".parse().unwrap()]);
    grants.save(&table).unwrap();
    host.reload_now();
    let task = create(&host, &tasks, "Fix urgent bug");
    assert_eq!(task.tags, ["urgent", "bug"], "{task:?}");

    for kept in [
        folders.config_dir().join("plugboard.toml"),
        folders.data_dir().join("quarantine.json"),
        folders.data_dir().join("strikes.json"),
        folders.data_dir().join("logs"),
    ] {
        assert!(!kept.exists(), "{} was written", kept.display());
    }
}

#[test]
fn a_plugins_own_folder_is_in_the_data_folder_and_apart_for_a_development_run() {
    let manifest = r#"
[plugin]
id = "keeper"
name = "Keeper"
version = "0.1.0"
api = "task-events@2"
component = "files_probe.wasm"

[events]
subscribe = ["task-created"]

[permissions]
files = { private = true }

[config]
steps = "text:/private/note.txt:kept"
"#;
    for development in [false, true] {
        let folders = Folders::new();
        folders.plugin(
            "keeper",
            manifest,
            Some(("files_probe.wasm", artifacts::FILES_PROBE.bytes)),
        );
        let mut config = folders.config();
        config.development = development;
        config.trust_manifests = true;
        let tasks = app_tasks();
        let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
        create(&host, &tasks, "Write it down");
        let (used, unused) = if development {
            (plugboard::DEV_FILES_FOLDER, plugboard::FILES_FOLDER)
        } else {
            (plugboard::FILES_FOLDER, plugboard::DEV_FILES_FOLDER)
        };
        let note = folders.data_dir().join(used).join("keeper/note.txt");
        assert_eq!(
            std::fs::read_to_string(&note).unwrap(),
            "kept",
            "development: {development}"
        );
        assert!(!folders.data_dir().join(unused).exists(), "development: {development}");
    }
}
