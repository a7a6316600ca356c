//! The watcher against a real folder. File-system events arrive when the operating
//! system delivers them, so every wait here is a generous deadline polled in a loop,
//! never a sleep that asserts how fast something happens.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::write_plugin;
use plugboard_registry::{PluginDirs, ReloadEvent, WatchError, Watcher};

/// Short enough for quick tests; the deadlines below are far longer.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How long an event may take on a loaded machine before the test gives up.
const DEADLINE: Duration = Duration::from_secs(20);

/// Waits for the first event about `dir`, and returns it with the events about other
/// folders that came before it.
fn wait_for(watcher: &Watcher, dir: &Path) -> (ReloadEvent, Vec<ReloadEvent>) {
    let start = Instant::now();
    let mut others = Vec::new();
    while start.elapsed() < DEADLINE {
        if let Some(event) = watcher.recv_timeout(Duration::from_millis(100)) {
            if event.dir() == dir {
                return (event, others);
            }
            others.push(event);
        }
    }
    panic!(
        "no event about {} within {DEADLINE:?}; others: {others:?}",
        dir.display()
    );
}

fn user_dirs(user: &Path) -> PluginDirs {
    PluginDirs {
        builtin: None,
        user: user.to_owned(),
    }
}

#[test]
fn writing_a_file_is_a_change_and_removing_the_folder_is_a_removal() {
    let user = tempfile::tempdir().expect("a temporary folder");
    let auto_tag = write_plugin(user.path(), "auto-tag", "auto-tag", "1.0.0", "");
    let keywords = write_plugin(user.path(), "keyword-pack", "keyword-pack", "1.0.0", "");
    let watcher = Watcher::new(&user_dirs(user.path()), DEBOUNCE).expect("watch");

    std::fs::write(auto_tag.join("plugin.wasm"), b"rebuilt").expect("write");
    let (event, others) = wait_for(&watcher, &auto_tag);
    assert_eq!(event, ReloadEvent::Changed(auto_tag.clone()));
    assert!(others.is_empty(), "{others:?}");

    std::fs::remove_dir_all(&keywords).expect("remove");
    let (event, others) = wait_for(&watcher, &keywords);
    assert_eq!(event, ReloadEvent::Removed(keywords));
    assert!(others.is_empty(), "{others:?}");
}

#[test]
fn a_plugin_folder_moved_into_place_is_an_addition() {
    let user = tempfile::tempdir().expect("a temporary folder");
    let watcher = Watcher::new(&user_dirs(user.path()), DEBOUNCE).expect("watch");

    // As an install does: unpack into a hidden staging folder, then rename it.
    let staging = write_plugin(user.path(), ".auto-tag.unpacking-1", "auto-tag", "1.0.0", "");
    std::fs::write(staging.join("plugin.wasm"), b"component").expect("write");
    let dest = user.path().join("auto-tag");
    std::fs::rename(&staging, &dest).expect("rename into place");

    let (event, others) = wait_for(&watcher, &dest);
    assert_eq!(event, ReloadEvent::Added(dest.clone()));
    assert!(others.is_empty(), "the staging folder is never reported: {others:?}");

    // A folder without plugin.toml is not a plugin until its manifest arrives.
    let bare = user.path().join("bare");
    std::fs::create_dir(&bare).expect("create");
    std::fs::write(bare.join("readme.txt"), "soon").expect("write");
    std::fs::write(bare.join("plugin.toml"), common::manifest_text("bare", "1.0.0", "")).expect("write");
    let (event, _) = wait_for(&watcher, &bare);
    assert_eq!(event, ReloadEvent::Added(bare));
}

#[test]
fn reading_a_plugin_is_not_a_change() {
    let user = tempfile::tempdir().expect("a temporary folder");
    let read = write_plugin(user.path(), "read", "read", "1.0.0", "");
    let written = write_plugin(user.path(), "written", "written", "1.0.0", "");
    let watcher = Watcher::new(&user_dirs(user.path()), DEBOUNCE).expect("watch");

    // The host reads a plugin when it reloads it; that must not look like a change.
    for _ in 0..5 {
        std::fs::read_to_string(read.join("plugin.toml")).expect("read");
        plugboard_registry::discover(&user_dirs(user.path()));
    }
    std::fs::write(written.join("data.json"), "{}").expect("write");
    let (event, others) = wait_for(&watcher, &written);
    assert_eq!(event, ReloadEvent::Changed(written));
    assert!(others.is_empty(), "reads were reported: {others:?}");
}

#[test]
fn a_burst_of_writes_is_gathered() {
    let user = tempfile::tempdir().expect("a temporary folder");
    let plugin = write_plugin(user.path(), "auto-tag", "auto-tag", "1.0.0", "");
    let watcher = Watcher::new(&user_dirs(user.path()), Duration::from_secs(1)).expect("watch");

    let writes = 20;
    for index in 0..writes {
        std::fs::write(plugin.join(format!("file-{index}")), "x").expect("write");
    }
    std::fs::create_dir_all(plugin.join("deps").join("keyword-pack")).expect("create");
    let (event, _) = wait_for(&watcher, &plugin);
    assert_eq!(event, ReloadEvent::Changed(plugin.clone()));
    let mut events = 1;
    while let Some(event) = watcher.recv_timeout(Duration::from_secs(3)) {
        assert_eq!(event, ReloadEvent::Changed(plugin.clone()));
        events += 1;
    }
    // One event, unless the machine paused for a whole debounce time mid-burst.
    assert!(events < 5, "{events} events for a burst of {writes} writes");
}

#[test]
fn a_missing_folder_cannot_be_watched() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let missing: PathBuf = root.path().join("plugins");
    let error = Watcher::new(&user_dirs(&missing), DEBOUNCE).expect_err("missing");
    assert!(matches!(&error, WatchError::MissingDir { dir } if *dir == missing));
    assert!(error.to_string().contains("does not exist"), "{error}");
}
