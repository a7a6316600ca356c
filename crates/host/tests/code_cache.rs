//! The compiled-code cache as a user meets it: the second load of a plugin
//! compiles nothing, a damaged or foreign entry is replaced without the
//! plugin failing, and compiled code is only ever taken from the cache.

use std::path::{Path, PathBuf};

use plugboard_contract::Event;
use plugboard_contract::task_store::new_task;
use plugboard_host::{
    CacheDefect, CacheKey, Compiled, Dispatcher, HostServices, LoadError, LoadOptions, LoadedPlugin, Outcome,
    PluginSource, Runtime, RuntimeOptions, TaskStore,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn auto_tag_dir() -> PathBuf {
    artifacts::repo_root().join("examples/auto-tag")
}

fn cached_runtime(cache: &Path, fuel: bool) -> Runtime {
    Runtime::with_options(RuntimeOptions {
        fuel,
        code_cache: Some(cache.to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts")
}

fn load_auto_tag(runtime: &Runtime) -> LoadedPlugin {
    let dir = auto_tag_dir();
    let manifest = Manifest::from_dir(&dir).expect("the example's manifest is valid");
    runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .expect("auto-tag loads")
}

/// Where `runtime` keeps auto-tag's compiled code.
fn entry(runtime: &Runtime) -> PathBuf {
    let cache = runtime.code_cache().expect("a cache is configured");
    cache.entry_path(&CacheKey::new(runtime.engine(), artifacts::AUTO_TAG.bytes))
}

/// The plugin handles an event as it should, whatever way its code came.
fn assert_tags_urgent_tasks(runtime: &Runtime, plugin: LoadedPlugin) {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime, services);
    dispatcher.add(plugin).expect("added");
    let task = tasks.create(new_task("urgent: fix the bug"), 1).expect("created");
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled, "{report:?}");
    let tagged = tasks.get(&task.id).expect("read").expect("still there");
    assert_eq!(tagged.tags, ["urgent", "bug"]);
}

#[test]
fn the_second_load_takes_the_code_from_the_cache_and_it_runs() {
    let cache = tempfile::tempdir().expect("temp dir");
    let first = cached_runtime(cache.path(), false);
    assert_eq!(load_auto_tag(&first).compiled(), Some(&Compiled::Fresh));
    assert!(entry(&first).is_file(), "the compiled code was written to the cache");

    // A new process, the same cache folder.
    let second = cached_runtime(cache.path(), false);
    let plugin = load_auto_tag(&second);
    assert_eq!(plugin.compiled(), Some(&Compiled::FromCache));
    assert_tags_urgent_tasks(&second, plugin);
}

#[test]
fn plugins_of_one_component_share_its_compiled_code_while_any_is_loaded() {
    let runtime = Runtime::new().expect("the runtime starts");
    let first = load_auto_tag(&runtime);
    assert_eq!(first.compiled(), Some(&Compiled::Fresh));
    let second = load_auto_tag(&runtime);
    let third = load_auto_tag(&runtime);
    assert_eq!(second.compiled(), Some(&Compiled::Shared));
    assert_eq!(third.compiled(), Some(&Compiled::Shared));
    assert_eq!(runtime.components_in_memory(), 1, "one compiled copy for the three");
    // Shared code, separate instances: each plugin still handles its own
    // events in its own instance and its own store.
    assert_tags_urgent_tasks(&runtime, second);
    assert_tags_urgent_tasks(&runtime, third);
    drop(first);
    assert_eq!(runtime.components_in_memory(), 0, "the code goes with the last plugin");
    assert_eq!(load_auto_tag(&runtime).compiled(), Some(&Compiled::Fresh));
}

#[test]
fn without_a_cache_every_load_compiles() {
    let runtime = Runtime::new().expect("the runtime starts");
    assert!(runtime.code_cache().is_none());
    // Each plugin is dropped at once, so nothing is left to share.
    assert_eq!(load_auto_tag(&runtime).compiled(), Some(&Compiled::Fresh));
    assert_eq!(load_auto_tag(&runtime).compiled(), Some(&Compiled::Fresh));
}

/// Damages the cached entry with `damage`, then checks the next load finds
/// `defect`, still works, and leaves a good entry behind.
fn damaged_entry_is_replaced(damage: impl FnOnce(&Path), defect: CacheDefect) {
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = cached_runtime(cache.path(), false);
    load_auto_tag(&runtime);
    let path = entry(&runtime);
    damage(&path);

    let plugin = load_auto_tag(&runtime);
    assert_eq!(plugin.compiled(), Some(&Compiled::Replaced(defect)));
    assert_tags_urgent_tasks(&runtime, plugin);
    assert_eq!(
        load_auto_tag(&runtime).compiled(),
        Some(&Compiled::FromCache),
        "the entry was rewritten"
    );
}

#[test]
fn a_truncated_entry_is_deleted_recompiled_and_rewritten() {
    damaged_entry_is_replaced(
        |path| {
            let bytes = std::fs::read(path).expect("read");
            std::fs::write(path, &bytes[..bytes.len() / 2]).expect("truncated");
        },
        CacheDefect::Truncated,
    );
}

#[test]
fn an_entry_with_one_flipped_byte_is_deleted_recompiled_and_rewritten() {
    damaged_entry_is_replaced(
        |path| {
            let mut bytes = std::fs::read(path).expect("read");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            std::fs::write(path, &bytes).expect("flipped");
        },
        CacheDefect::Corrupt,
    );
}

#[test]
fn garbage_in_place_of_an_entry_is_deleted_recompiled_and_rewritten() {
    damaged_entry_is_replaced(
        |path| std::fs::write(path, b"these are not the bytes you are looking for").expect("written"),
        CacheDefect::NotAnEntry,
    );
}

#[test]
fn an_entry_made_with_another_engine_configuration_is_replaced() {
    let cache = tempfile::tempdir().expect("temp dir");
    let plain = cached_runtime(cache.path(), false);
    let counting_fuel = cached_runtime(cache.path(), true);
    assert_ne!(
        entry(&plain),
        entry(&counting_fuel),
        "another engine configuration looks up another entry"
    );
    assert_eq!(load_auto_tag(&counting_fuel).compiled(), Some(&Compiled::Fresh));
    std::fs::copy(entry(&counting_fuel), entry(&plain)).expect("copied over");

    let plugin = load_auto_tag(&plain);
    assert_eq!(plugin.compiled(), Some(&Compiled::Replaced(CacheDefect::Foreign)));
    assert_tags_urgent_tasks(&plain, plugin);
    assert_eq!(load_auto_tag(&plain).compiled(), Some(&Compiled::FromCache));
    assert_eq!(
        load_auto_tag(&counting_fuel).compiled(),
        Some(&Compiled::FromCache),
        "the other configuration's own entry is untouched"
    );
}

#[test]
fn precompiled_code_shipped_in_a_plugin_folder_is_never_run() {
    let runtime = Runtime::new().expect("the runtime starts");
    let precompiled = runtime
        .engine()
        .precompile_component(artifacts::AUTO_TAG.bytes)
        .expect("precompiles");
    let manifest = std::fs::read_to_string(auto_tag_dir().join("plugin.toml")).expect("read");

    // Named as the component: refused, it is not WebAssembly.
    let folder = tempfile::tempdir().expect("temp dir");
    let shipped = manifest.replace("component = \"auto_tag.wasm\"", "component = \"auto_tag.cwasm\"");
    std::fs::write(folder.path().join("plugin.toml"), shipped).expect("written");
    std::fs::write(folder.path().join("auto_tag.cwasm"), &precompiled).expect("written");
    let err = runtime
        .load_dir(folder.path(), &LoadOptions::trusting_manifest())
        .expect_err("precompiled code is refused");
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err}");
    assert!(err.to_string().contains("auto_tag.cwasm"), "{err}");

    // Beside the component: ignored, the component is compiled.
    let folder = tempfile::tempdir().expect("temp dir");
    std::fs::write(folder.path().join("plugin.toml"), &manifest).expect("written");
    std::fs::write(folder.path().join("auto_tag.wasm"), artifacts::AUTO_TAG.bytes).expect("written");
    std::fs::write(folder.path().join("auto_tag.cwasm"), &precompiled).expect("written");
    let cache = tempfile::tempdir().expect("temp dir");
    let cached = cached_runtime(cache.path(), false);
    let plugin = cached
        .load_dir(folder.path(), &LoadOptions::trusting_manifest())
        .expect("loads");
    assert_eq!(plugin.compiled(), Some(&Compiled::Fresh));
}

#[test]
fn a_cache_that_cannot_be_written_does_not_stop_the_plugin() {
    let blocker = tempfile::NamedTempFile::new().expect("temp file");
    // The cache "folder" is a file, so the folder cannot be created.
    let runtime = cached_runtime(blocker.path(), false);
    let plugin = load_auto_tag(&runtime);
    assert_eq!(plugin.compiled(), Some(&Compiled::Fresh));
    assert_tags_urgent_tasks(&runtime, plugin);
}

#[test]
fn compile_many_reports_progress_after_each_plugin() {
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = cached_runtime(cache.path(), false);
    let text = std::fs::read_to_string(auto_tag_dir().join("plugin.toml")).expect("read");
    let source = |id: &str| PluginSource {
        manifest: Manifest::parse(
            &text.replace("id = \"auto-tag\"", &format!("id = \"{id}\"")),
            &auto_tag_dir().join("plugin.toml"),
        )
        .expect("valid"),
        dir: Path::new(artifacts::AUTO_TAG.path)
            .parent()
            .expect("the built component is in a folder")
            .to_path_buf(),
        options: LoadOptions::trusting_manifest(),
    };
    let mut missing = source("missing");
    missing.dir = cache.path().join("nowhere");
    let sources = [source("first"), missing, source("second")];

    let mut seen = Vec::new();
    let results = runtime.compile_many(&sources, |done, total, id| seen.push((done, total, id.to_string())));
    assert_eq!(
        seen,
        [
            (1, 3, "first".to_string()),
            (2, 3, "missing".into()),
            (3, 3, "second".into())
        ]
    );
    let compiled: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map(|p| p.compiled().cloned()).map_err(|e| e.to_string()))
        .collect();
    assert_eq!(compiled[0], Ok(Some(Compiled::Fresh)));
    assert!(
        matches!(&compiled[1], Err(e) if e.contains("plugin `missing`") && e.contains("auto_tag.wasm")),
        "{compiled:?}"
    );
    assert_eq!(
        compiled[2],
        Ok(Some(Compiled::Shared)),
        "the same code, compiled once and shared with the first"
    );
}

/// The `.cwasm` entries in a cache folder.
fn entries(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .map(|listing| {
            listing
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_refused_component_is_never_written_to_the_cache() {
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = cached_runtime(cache.path(), false);
    let dir = auto_tag_dir();
    // Compiled, then refused: the manifest says another world.
    let text = std::fs::read_to_string(dir.join("plugin.toml"))
        .expect("read")
        .replace("api = \"task-events@2\"", "api = \"task-events@1\"");
    let manifest = Manifest::parse(&text, Path::new("plugin.toml")).expect("valid");
    let err = runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_err();
    assert!(matches!(err, LoadError::ApiMismatch { .. }), "{err}");
    assert_eq!(
        entries(cache.path()),
        Vec::<String>::new(),
        "the refused code is not cached"
    );
    // Refused for its imports: not even compiled.
    let text = "[plugin]\nid = \"greedy\"\nname = \"g\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\ncomponent = \"greedy.wasm\"\n";
    let manifest = Manifest::parse(text, Path::new("plugin.toml")).expect("valid");
    let mut component = wasm_encoder::ComponentBuilder::default();
    let ty = component.type_instance(None, &wasm_encoder::InstanceType::new());
    component.import(
        "wasi:keyvalue/store@0.2.0",
        wasm_encoder::ComponentTypeRef::Instance(ty),
    );
    let err = runtime
        .load_bytes(
            manifest,
            &dir,
            Path::new("greedy.wasm"),
            &component.finish(),
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_err();
    assert!(matches!(err, LoadError::ForbiddenImport { .. }), "{err}");
    assert_eq!(entries(cache.path()), Vec::<String>::new());
    // The same code, accepted, is cached.
    load_auto_tag(&runtime);
    assert_eq!(entries(cache.path()).len(), 1);
}

#[test]
fn inspect_compiles_through_the_cache_as_a_load_does() {
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = cached_runtime(cache.path(), false);
    let path = Path::new(artifacts::AUTO_TAG.path);
    let policy = plugboard_host::Policy::deny_all();
    let first = runtime.inspect(path, &policy).expect("inspected");
    assert_eq!(first.compiled, Some(Compiled::Fresh));
    assert!(entry(&runtime).is_file());
    let second = cached_runtime(cache.path(), false)
        .inspect(path, &policy)
        .expect("inspected");
    assert_eq!(second.compiled, Some(Compiled::FromCache));
    assert_eq!(load_auto_tag(&runtime).compiled(), Some(&Compiled::FromCache));
}

#[test]
fn the_cache_stays_under_its_cap() {
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = cached_runtime(cache.path(), false);
    load_auto_tag(&runtime);
    let size = std::fs::metadata(entry(&runtime)).expect("cached").len();
    // Room for one entry: the next component compiled evicts auto-tag's.
    let small = Runtime::with_options(RuntimeOptions {
        code_cache: Some(cache.path().to_path_buf()),
        code_cache_cap: size + size / 2,
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts");
    small
        .inspect(
            Path::new(artifacts::LEGACY_COUNTER.path),
            &plugboard_host::Policy::deny_all(),
        )
        .expect("inspected");
    let left = entries(cache.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!entry(&runtime).exists(), "the least recently used entry was evicted");
}
