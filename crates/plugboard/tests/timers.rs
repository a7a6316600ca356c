//! The timers plugins declare, fired by the host while it runs: each for
//! the plugin that declared it, bounded in rate, never queued behind a
//! firing still running.

// The shared helpers serve every test file of this crate.
#[allow(dead_code)]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Folders;
use plugboard::{Host, HostConfig, MAX_FIRINGS_PER_SECOND, Outcome, TimerFiring};
use plugboard_test_artifacts as artifacts;

/// A plugin on the conformance-v2 component (it logs `timer NAME` for each
/// timer event) declaring `timers`.
fn timer_plugin(folders: &Folders, id: &str, timers: &str) {
    let manifest = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"conformance_v2.wasm\"\n\n[events]\nsubscribe = [\"timer\"]\ntimers = [{timers}]\n"
    );
    folders.plugin(
        id,
        &manifest,
        Some(("conformance_v2.wasm", artifacts::CONFORMANCE_V2.bytes)),
    );
}

/// A plugin whose every timer firing sleeps `sleep_ms` inside WASI.
fn slow_timer_plugin(folders: &Folders, id: &str, timers: &str, sleep_ms: u32) {
    let manifest = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"timer\"]\ntimers = [{timers}]\n\n\
         [permissions]\ntasks = [\"write\"]\n\n[config]\nattack = \"slow-timer\"\nsleep-ms = \"{sleep_ms}\"\n"
    );
    folders.plugin(id, &manifest, Some(("hostile.wasm", artifacts::HOSTILE.bytes)));
}

type Firings = Arc<Mutex<Vec<TimerFiring>>>;

/// Opens a host that fires timers, collecting every firing.
fn firing_host(folders: &Folders, configure: impl FnOnce(&mut HostConfig)) -> (Host, Firings) {
    let mut config = folders.config();
    config.trust_manifests = true;
    config.fire_timers = true;
    configure(&mut config);
    let firings: Firings = Arc::default();
    let sink = firings.clone();
    let host = Host::builder(config)
        .on_timer(move |firing| sink.lock().unwrap().push(clone_firing(firing)))
        .open()
        .unwrap();
    assert_eq!(host.report().failures(), 0, "{:?}", host.report().plugins);
    (host, firings)
}

fn clone_firing(firing: &TimerFiring) -> TimerFiring {
    TimerFiring {
        plugin: firing.plugin.clone(),
        timer: firing.timer.clone(),
        skipped: firing.skipped,
        elapsed: firing.elapsed,
        report: firing.report.clone(),
    }
}

fn count(firings: &Firings, plugin: &str) -> usize {
    firings.lock().unwrap().iter().filter(|f| &*f.plugin == plugin).count()
}

#[test]
fn a_timer_fires_repeatedly_for_the_plugin_that_declared_it_only() {
    let folders = Folders::new();
    timer_plugin(&folders, "fast", r#"{ name = "tick", interval = "100ms" }"#);
    timer_plugin(&folders, "slow", r#"{ name = "tick", interval = "1h" }"#);
    let (host, firings) = firing_host(&folders, |_| {});
    std::thread::sleep(Duration::from_millis(1_050));
    host.shutdown();

    let fast = count(&firings, "fast");
    assert!((5..=11).contains(&fast), "fast fired {fast} times in about a second");
    assert_eq!(
        count(&firings, "slow"),
        0,
        "slow's timer of the same name is an hour away"
    );
    for firing in firings.lock().unwrap().iter() {
        assert_eq!(firing.timer, "tick");
        let deliveries = &firing.report.deliveries;
        assert_eq!(deliveries.len(), 1, "offered to the plugin that declared it alone");
        assert_eq!(&*deliveries[0].plugin, "fast");
        assert_eq!(deliveries[0].outcome, Outcome::Handled);
        let logs = &deliveries[0].effects.logs;
        assert!(logs.iter().any(|l| l.message == "timer tick"), "{logs:?}");
    }
    let after = count(&firings, "fast");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&firings, "fast"), after, "no timer fires after shutdown");
}

#[test]
fn a_host_that_does_not_fire_timers_fires_none() {
    let folders = Folders::new();
    timer_plugin(&folders, "fast", r#"{ name = "tick", interval = "100ms" }"#);
    let (host, firings) = firing_host(&folders, |config| config.fire_timers = false);
    std::thread::sleep(Duration::from_millis(400));
    assert!(!host.is_running_in_background());
    assert_eq!(count(&firings, "fast"), 0);
}

#[test]
fn a_plugin_with_many_timers_fires_at_most_the_rate_bound() {
    let folders = Folders::new();
    let timers: Vec<String> = (0..16)
        .map(|n| format!("{{ name = \"t{n}\", interval = \"100ms\" }}"))
        .collect();
    timer_plugin(&folders, "greedy", &timers.join(", "));
    timer_plugin(&folders, "modest", r#"{ name = "tick", interval = "100ms" }"#);
    let (host, firings) = firing_host(&folders, |_| {});
    std::thread::sleep(Duration::from_millis(2_050));
    host.shutdown();

    let greedy = count(&firings, "greedy");
    // Two one-second windows and the start of a third.
    let bound = 3 * MAX_FIRINGS_PER_SECOND as usize;
    assert!(
        greedy <= bound && greedy >= MAX_FIRINGS_PER_SECOND as usize,
        "16 timers at 100 ms fired {greedy} times in 2 s (bound {bound})"
    );
    let greedy: Vec<(String, u32)> = firings
        .lock()
        .unwrap()
        .iter()
        .filter(|f| &*f.plugin == "greedy")
        .map(|f| (f.timer.clone(), f.skipped))
        .collect();
    let names: std::collections::BTreeSet<&str> = greedy.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names.len(),
        16,
        "the bound holds back each timer in turn, starving none: {greedy:?}"
    );
    assert!(
        greedy[MAX_FIRINGS_PER_SECOND as usize..]
            .iter()
            .all(|(_, skipped)| *skipped >= 5),
        "a firing after the first second's says how many times it was skipped: {greedy:?}"
    );
    let modest = count(&firings, "modest");
    assert!(modest >= 12, "another plugin's timer is not starved: {modest}");
}

#[test]
fn a_timer_whose_firing_still_runs_is_skipped_not_queued() {
    let folders = Folders::new();
    slow_timer_plugin(&folders, "sleepy", r#"{ name = "tick", interval = "100ms" }"#, 350);
    timer_plugin(&folders, "brisk", r#"{ name = "tick", interval = "100ms" }"#);
    let (host, firings) = firing_host(&folders, |_| {});
    std::thread::sleep(Duration::from_millis(1_600));
    host.shutdown();

    let firings = firings.lock().unwrap();
    let sleepy: Vec<&TimerFiring> = firings.iter().filter(|f| &*f.plugin == "sleepy").collect();
    assert!(
        (2..=5).contains(&sleepy.len()),
        "a 350 ms firing every 100 ms runs one at a time: {} firings",
        sleepy.len()
    );
    for firing in &sleepy {
        assert!(firing.elapsed >= Duration::from_millis(340), "{:?}", firing.elapsed);
        assert_eq!(firing.report.deliveries[0].outcome, Outcome::Handled);
    }
    assert!(
        sleepy.iter().skip(1).all(|f| f.skipped >= 2),
        "the times it came due meanwhile are skipped: {:?}",
        sleepy.iter().map(|f| f.skipped).collect::<Vec<_>>()
    );
    let brisk = firings.iter().filter(|f| &*f.plugin == "brisk").count();
    assert!(brisk >= 10, "a slow plugin does not delay another's timers: {brisk}");
}

#[test]
fn a_timer_is_fired_only_when_subscribe_timer_is_granted() {
    let folders = Folders::new();
    timer_plugin(&folders, "fast", r#"{ name = "tick", interval = "100ms" }"#);
    let (host, firings) = firing_host(&folders, |config| config.trust_manifests = false);
    std::thread::sleep(Duration::from_millis(400));
    host.shutdown();
    assert_eq!(count(&firings, "fast"), 0, "nothing granted, no timer fires");
}
