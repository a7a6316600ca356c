//! The plugins and events every host in the comparison gets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugboard_contract::task_store::{InMemoryTaskStore, new_task};
use plugboard_contract::{Event, Task};
use plugboard_host::{Dispatcher, DispatcherOptions, HostServices, LoadOptions, LoadedPlugin, Runtime};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

/// The keywords auto-tag watches for, as its manifest sets them.
pub const KEYWORDS: &str = "urgent,review,bug";

/// The title of a task auto-tag changes nothing for.
pub const QUIET_TITLE: &str = "buy milk";

/// The title of a task auto-tag tags `urgent` and makes high priority.
pub const URGENT_TITLE: &str = "urgent: file taxes";

/// The auto-tag example's folder.
pub fn auto_tag_dir() -> PathBuf {
    artifacts::repo_root().join("examples/auto-tag")
}

/// The legacy-counter example's folder (a task-events@1 plugin).
pub fn legacy_counter_dir() -> PathBuf {
    artifacts::repo_root().join("examples/legacy-counter")
}

/// The auto-tag component, built from source.
pub fn auto_tag_bytes() -> &'static [u8] {
    artifacts::AUTO_TAG.bytes
}

/// The legacy-counter component, built from source.
pub fn legacy_counter_bytes() -> &'static [u8] {
    artifacts::LEGACY_COUNTER.bytes
}

/// The Extism build of auto-tag's rule, built from source by build.rs.
pub fn extism_auto_tag_bytes() -> Vec<u8> {
    let path = env!("EXTISM_AUTO_TAG_WASM");
    std::fs::read(path).unwrap_or_else(|e| panic!("reading the Extism plugin {path}: {e}"))
}

/// A plugin's manifest from its example folder, under another id.
pub fn manifest(dir: &Path, id: &str) -> Manifest {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let original = Manifest::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replace(&format!("id = \"{}\"", original.plugin.id), &format!("id = \"{id}\""));
    Manifest::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads auto-tag under `id`, granted what it requests.
pub fn load_auto_tag(runtime: &Runtime, id: &str) -> LoadedPlugin {
    let dir = auto_tag_dir();
    runtime
        .load_bytes(
            manifest(&dir, id),
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            auto_tag_bytes(),
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_or_else(|e| panic!("auto-tag loads: {e}"))
}

/// Loads legacy-counter under `id`, granted what it requests.
pub fn load_legacy_counter(runtime: &Runtime, id: &str) -> LoadedPlugin {
    let dir = legacy_counter_dir();
    runtime
        .load_bytes(
            manifest(&dir, id),
            &dir,
            Path::new(artifacts::LEGACY_COUNTER.path),
            legacy_counter_bytes(),
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_or_else(|e| panic!("legacy-counter loads: {e}"))
}

/// A dispatcher on in-memory stores holding one task with `title`, and the
/// `task-created` event of that task.
pub struct Scene {
    /// The dispatcher, with no plugin yet.
    pub dispatcher: Dispatcher,
    /// The application's tasks.
    pub tasks: Arc<InMemoryTaskStore>,
    /// The task the event is about.
    pub task: Task,
    /// `task-created` for it.
    pub event: Event,
    /// The plugin log folder when logs are on; kept until the scene drops.
    pub logs: Option<tempfile::TempDir>,
}

/// A scene; `logs` writes plugin logs to files as `plugboard run` does.
pub fn scene(runtime: &Runtime, title: &str, logs: bool, options: DispatcherOptions) -> Scene {
    let (services, tasks) = HostServices::in_memory();
    let task = tasks
        .create(new_task(title), 1)
        .expect("the in-memory store creates a task");
    let mut dispatcher = Dispatcher::new(runtime, services).with_options(options);
    let folder = logs.then(|| tempfile::tempdir().expect("a temporary log folder"));
    if let Some(folder) = &folder {
        dispatcher = dispatcher.with_logs(plugboard_state::PluginLogFiles::new(folder.path()));
    }
    Scene {
        dispatcher,
        tasks,
        event: Event::TaskCreated(task.clone()),
        task,
        logs: folder,
    }
}
