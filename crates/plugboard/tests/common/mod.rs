//! Plugin folders built from the example manifests and the components the
//! workspace builds from source, in a temp dir that also holds the host's
//! config and data folders.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard::task_store::new_task;
use plugboard::types::{Event, Task};
use plugboard::{Host, HostConfig, InMemoryTaskStore};
use plugboard_test_artifacts::{self as artifacts, Component};

/// A temp dir with `plugins/`, `config/` and `data/`.
pub struct Folders {
    pub root: tempfile::TempDir,
}

impl Folders {
    pub fn new() -> Folders {
        let root = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir(root.path().join("plugins")).expect("the plugins folder");
        Folders { root }
    }

    pub fn plugins(&self) -> PathBuf {
        self.root.path().join("plugins")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The installed plugins of `plugins/`, with the user's grants.
    pub fn config(&self) -> HostConfig {
        HostConfig::new(self.plugins(), self.config_dir(), self.data_dir())
    }

    /// Writes `plugins/<name>/plugin.toml` and, when given, the component
    /// under the name the manifest gives it; returns the folder.
    pub fn plugin(&self, name: &str, manifest: &str, component: Option<(&str, &[u8])>) -> PathBuf {
        let dir = self.plugins().join(name);
        std::fs::create_dir_all(&dir).expect("the plugin folder");
        std::fs::write(dir.join("plugin.toml"), manifest).expect("the manifest");
        if let Some((file, bytes)) = component {
            std::fs::write(dir.join(file), bytes).expect("the component");
        }
        dir
    }

    /// An example plugin (`examples/<name>`) with its built component.
    pub fn example(&self, name: &str, component: Component) -> PathBuf {
        let manifest = example_manifest(name);
        self.plugin(
            name,
            &manifest,
            Some((&format!("{}.wasm", component.name), component.bytes)),
        )
    }
}

/// The manifest of `examples/<name>`.
pub fn example_manifest(name: &str) -> String {
    let path = artifacts::repo_root().join("examples").join(name).join("plugin.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with `from` replaced, insisting that it was there.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "expected {from:?} in:\n{text}");
    text.replace(from, to)
}

/// Creates a task in the app's store and dispatches its creation; returns
/// the task as the store has it afterwards.
pub fn create(host: &Host, tasks: &InMemoryTaskStore, title: &str) -> Task {
    let task = tasks.create(new_task(title), 1).expect("the app creates its task");
    let id = task.id.clone();
    host.dispatch_blocking(&Event::TaskCreated(task));
    tasks
        .all()
        .into_iter()
        .find(|t| t.id == id)
        .expect("the task is still there")
}

/// Waits until `done` holds, checking every few milliseconds, for at most
/// `limit`; returns how long it took, or panics naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

/// An app's task store, shared with the host.
pub fn app_tasks() -> Arc<InMemoryTaskStore> {
    Arc::new(InMemoryTaskStore::new())
}
