//! Lifecycle events as an application subscribes to them: each plugin
//! found, loaded, refused, started, reloaded, unloaded, quarantined and
//! re-enabled, through `Host::subscribe`, and a subscriber that does not
//! keep up costs the host only its bounded queue.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::{Folders, app_tasks, create, edit, example_manifest};
use plugboard::{Host, LifecycleEvent, LifecycleEvents, UnloadReason};
use plugboard_test_artifacts as artifacts;

/// Long enough for a slow machine to load, start or drop a plugin.
const LIMIT: Duration = Duration::from_secs(60);

/// The next event, waiting at most [`LIMIT`].
fn next(events: &LifecycleEvents) -> LifecycleEvent {
    events
        .recv_timeout(LIMIT)
        .unwrap_or_else(|e| panic!("no lifecycle event within {LIMIT:?}: {e:?}"))
}

/// Every event there is now.
fn drain(events: &LifecycleEvents) -> Vec<LifecycleEvent> {
    std::iter::from_fn(|| events.try_recv()).collect()
}

/// A hostile plugin with `attack`, subscribed to task creation.
fn hostile(folders: &Folders, id: &str, attack: &str) {
    let manifest = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.3.0\"\napi = \"task-events@2\"\n\
         component = \"{}.wasm\"\n\n[events]\nsubscribe = [\"task-created\"]\n\n\
         [permissions]\ntasks = [\"read\", \"write\"]\n\n[config]\nattack = \"{attack}\"\n",
        artifacts::HOSTILE.name
    );
    folders.plugin(
        id,
        &manifest,
        Some((&format!("{}.wasm", artifacts::HOSTILE.name), artifacts::HOSTILE.bytes)),
    );
}

fn loaded(id: &str, version: &str) -> LifecycleEvent {
    LifecycleEvent::Loaded {
        id: id.into(),
        version: version.into(),
    }
}

#[test]
fn a_subscriber_hears_found_loaded_refused_started_reloaded_and_unloaded() {
    let folders = Folders::new();
    let auto_tag = folders.example("auto-tag", artifacts::AUTO_TAG);
    folders.plugin(
        "broken",
        "[plugin]\nid = \"broken\"\nname = \"b\"\nversion = \"1.0.0\"\napi = \"task-events@2\"\ncomponent = \"b.wasm\"\n",
        Some(("b.wasm", &b"not a component"[..])),
    );
    let mut config = folders.config();
    config.trust_manifests = true;
    config.idle_timeout = Some(Duration::from_millis(300));
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    let events = host.subscribe();

    // What opening did comes first, though it happened before subscribing.
    let opening = drain(&events);
    assert_eq!(opening.len(), 4, "{opening:#?}");
    let mut found: Vec<&str> = opening
        .iter()
        .filter(|e| matches!(e, LifecycleEvent::Found { .. }))
        .map(LifecycleEvent::id)
        .collect();
    found.sort();
    assert_eq!(found, ["auto-tag", "broken"]);
    assert!(
        matches!(&opening[0], LifecycleEvent::Found { .. }) && matches!(&opening[1], LifecycleEvent::Found { .. }),
        "each plugin found comes before what became of it: {opening:#?}"
    );
    assert!(opening.contains(&loaded("auto-tag", "0.1.0")), "{opening:#?}");
    let refused = opening
        .iter()
        .find_map(|e| match e {
            LifecycleEvent::Refused { id, version, reason } if id == "broken" => Some((version, reason)),
            _ => None,
        })
        .expect("broken is refused");
    assert_eq!(refused.0.as_deref(), Some("1.0.0"));
    assert!(
        refused.1.contains("does not load"),
        "the reason says why: {}",
        refused.1
    );

    // Its first event starts it; idle, its instance is dropped.
    assert_eq!(create(&host, &tasks, "Fix the bug").tags, ["bug"]);
    assert_eq!(
        next(&events),
        LifecycleEvent::Started {
            id: "auto-tag".into(),
            version: "0.1.0".into()
        }
    );
    create(&host, &tasks, "Fix another bug");
    let dropped = next(&events);
    assert_eq!(
        dropped,
        LifecycleEvent::Unloaded {
            id: "auto-tag".into(),
            version: Some("0.1.0".into()),
            why: UnloadReason::Idle
        },
        "an event to a live instance tells nothing; then, idle, it is dropped"
    );
    assert!(!host.is_live("auto-tag"));
    // On a slow machine the instance may have been dropped and started again.
    drain(&events);

    let manifest = edit(
        &example_manifest("auto-tag"),
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    std::fs::write(auto_tag.join("plugin.toml"), manifest).unwrap();
    host.reload_now();
    let reloaded: Vec<LifecycleEvent> = drain(&events)
        .into_iter()
        .filter(|e| matches!(e, LifecycleEvent::Reloaded { .. }))
        .collect();
    assert_eq!(
        reloaded,
        [LifecycleEvent::Reloaded {
            id: "auto-tag".into(),
            from: "0.1.0".into(),
            to: "0.2.0".into()
        }]
    );

    std::fs::remove_dir_all(&auto_tag).unwrap();
    host.reload_now();
    let removed: Vec<LifecycleEvent> = drain(&events)
        .into_iter()
        .filter(|e| {
            e.id() == "auto-tag"
                && !matches!(
                    e,
                    LifecycleEvent::Unloaded {
                        why: UnloadReason::Idle,
                        ..
                    }
                )
        })
        .collect();
    assert_eq!(
        removed,
        [LifecycleEvent::Unloaded {
            id: "auto-tag".into(),
            version: None,
            why: UnloadReason::Removed
        }]
    );
}

#[test]
fn a_subscriber_hears_a_quarantine_and_the_re_enable_that_loads_the_plugin_again() {
    let folders = Folders::new();
    hostile(&folders, "looper", "loop-on-event");
    let mut config = folders.config();
    config.trust_manifests = true;
    let tasks = app_tasks();
    let host = Host::builder(config.clone()).task_store(tasks.clone()).open().unwrap();
    let events = host.subscribe();
    drain(&events);

    create(&host, &tasks, "Anything");
    let quarantined = drain(&events);
    let record = quarantined
        .iter()
        .find_map(|e| match e {
            LifecycleEvent::Quarantined {
                id,
                version,
                kind,
                reason,
            } => Some((id, version, kind, reason)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a quarantine is told: {quarantined:#?}"));
    assert_eq!((record.0.as_str(), record.1.as_str()), ("looper", "0.3.0"));
    assert_eq!(record.2, "deadline");
    assert!(!record.3.is_empty());
    assert!(host.plugins().is_empty(), "quarantined means unloaded");

    // A host opened now refuses it, and says why.
    let other = Host::open(config).unwrap();
    let replay = drain(&other.subscribe());
    assert!(
        replay
            .iter()
            .any(|e| matches!(e, LifecycleEvent::Refused { id, reason, .. } if id == "looper" && reason.contains("quarantined"))),
        "{replay:#?}"
    );
    drop(other);

    let reload = host.enable("looper").unwrap();
    assert!(reload.is_some(), "its folder is loaded again");
    assert_eq!(
        drain(&events),
        [
            LifecycleEvent::ReEnabled { id: "looper".into() },
            loaded("looper", "0.3.0")
        ]
    );
    assert_eq!(host.plugins().len(), 1);
    assert!(
        host.enable("looper").unwrap().is_none(),
        "nothing to re-enable any more"
    );
    assert!(drain(&events).is_empty());
}

#[test]
fn an_instance_dropped_for_the_live_cap_is_told() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let second = edit(
        &example_manifest("auto-tag"),
        "id = \"auto-tag\"",
        "id = \"auto-tag-2\"",
    );
    folders.plugin(
        "auto-tag-2",
        &second,
        Some((&format!("{}.wasm", artifacts::AUTO_TAG.name), artifacts::AUTO_TAG.bytes)),
    );
    let mut config = folders.config();
    config.trust_manifests = true;
    config.max_live_instances = Some(1);
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    let events = host.subscribe();
    drain(&events);
    create(&host, &tasks, "Fix the bug");
    let told = drain(&events);
    let capped: Vec<&LifecycleEvent> = told
        .iter()
        .filter(|e| {
            matches!(
                e,
                LifecycleEvent::Unloaded {
                    why: UnloadReason::LiveCap,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(capped.len(), 1, "one instance made room for the other: {told:#?}");
    let started = told
        .iter()
        .filter(|e| matches!(e, LifecycleEvent::Started { .. }))
        .count();
    assert_eq!(started, 2, "{told:#?}");
}

#[test]
fn a_subscriber_that_lags_loses_the_oldest_events_counted_and_the_receiver_ends_with_the_host() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    for id in ["b", "c"] {
        folders.plugin(
            id,
            &format!("[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"1.0.0\"\napi = \"task-events@2\"\n"),
            None,
        );
    }
    let mut config = folders.config();
    config.trust_manifests = true;
    let tasks = app_tasks();
    let host = Host::builder(config).task_store(tasks.clone()).open().unwrap();
    // Three found, one loaded (the other two are data only): four events.
    let events = host.subscribe_with_capacity(2);
    assert_eq!(events.dropped(), 2);
    create(&host, &tasks, "Fix the bug");
    assert_eq!(events.dropped(), 3, "the start pushed out one more");
    let held = drain(&events);
    assert_eq!(
        held,
        [
            loaded("auto-tag", "0.1.0"),
            LifecycleEvent::Started {
                id: "auto-tag".into(),
                version: "0.1.0".into()
            }
        ],
        "the newest are kept"
    );

    let waiting = std::thread::spawn(move || events.recv());
    drop(host);
    assert_eq!(waiting.join().unwrap(), None, "a receiver waiting ends with the host");
}

#[test]
fn plugins_loaded_in_the_background_are_told_to_subscribers_before_and_after() {
    let folders = Folders::new();
    folders.example("auto-tag", artifacts::AUTO_TAG);
    let mut config = folders.config();
    config.trust_manifests = true;
    config.load_in_background = true;
    let host = Host::open(config).unwrap();
    let early = host.subscribe();
    host.wait_until_loaded();
    let late = host.subscribe();
    for events in [early, late] {
        let told = drain(&events);
        assert_eq!(told.len(), 2, "{told:#?}");
        assert!(matches!(&told[0], LifecycleEvent::Found { id, .. } if id == "auto-tag"));
        assert_eq!(told[1], loaded("auto-tag", "0.1.0"));
    }
}
