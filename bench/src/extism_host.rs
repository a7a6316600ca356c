//! The same work through Extism: the application serializes its task to
//! JSON, calls the plugin's `on_task_created`, and the plugin calls the
//! host function `update_task` with the change, which the host parses and
//! applies to the same in-memory store.

use std::sync::Arc;

use extism::{Manifest, PTR, Plugin, PluginBuilder, UserData, Wasm, convert::Json};
use plugboard_contract::task_store::InMemoryTaskStore;
use plugboard_contract::{Priority, Task, TaskPatch};
use serde::Deserialize;

/// The change as the Extism plugin sends it.
#[derive(Deserialize)]
struct GuestPatch {
    add_tags: Vec<String>,
    #[serde(default)]
    priority: Option<Priority>,
}

extism::host_fn!(update_task(store: Arc<InMemoryTaskStore>; id: String, patch: Json<GuestPatch>) {
    let Json(patch) = patch;
    let patch = TaskPatch {
        add_tags: patch.add_tags,
        priority: patch.priority,
        ..TaskPatch::default()
    };
    let store = store.get()?;
    let store = store.lock().map_err(|_| extism::Error::msg("the store's lock is poisoned"))?;
    store.update(&id, &patch, 2).map_err(|e| extism::Error::msg(e.to_string()))?;
    Ok(())
});

/// An Extism plugin instance of the auto-tag rule over `store`.
pub fn auto_tag(wasm: &[u8], keywords: &str, store: Arc<InMemoryTaskStore>) -> Plugin {
    let manifest = Manifest::new([Wasm::data(wasm.to_vec())]).with_config_key("keywords", keywords);
    PluginBuilder::new(manifest)
        .with_wasi(false)
        .with_function("update_task", [PTR, PTR], [], UserData::new(store), update_task)
        .build()
        .unwrap_or_else(|e| panic!("the Extism plugin instantiates: {e}"))
}

/// Handles `task-created` for `task` as an Extism application would.
pub fn on_task_created(plugin: &mut Plugin, task: &Task) {
    let json = serde_json::to_vec(task).expect("a task serializes");
    plugin
        .call::<&[u8], &[u8]>("on_task_created", &json)
        .unwrap_or_else(|e| panic!("the Extism plugin handles the event: {e}"));
}
