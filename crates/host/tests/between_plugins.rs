//! What plugins do to each other through the host since task-events 2.2:
//! one invokes another's command (and the chains that makes), one emits an
//! event for others (namespaced by its id), a locale plugin translates for
//! another, and a plugin shuts down and reports its health.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use plugboard_contract::task_store::new_task;
use plugboard_contract::{Event, StateStore};
use plugboard_host::{
    CommandError, Dispatcher, DispatcherOptions, Health, HostServices, InMemoryStateStore, InMemoryTaskStore,
    LoadOptions, LoadedPlugin, Outcome, Runtime,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

fn load_in(dir: &Path, text: &str, component: artifacts::Component, language: &str) -> LoadedPlugin {
    let manifest = Manifest::parse(text, &dir.join("plugin.toml")).expect("test manifests are valid");
    let options = LoadOptions {
        language: language.parse().ok(),
        ..LoadOptions::trusting_manifest()
    };
    runtime()
        .load_bytes(manifest, dir, Path::new(component.path), component.bytes, &options)
        .expect("the fixture loads")
}

/// The hostile fixture's `relay` command: it invokes the command its first
/// argument names with the others. `invokes` are the commands it is
/// granted, `depends` the plugins it names in `[dependencies]`, `params`
/// the declared parameters of its `relay`.
fn relay(id: &str, invokes: &[&str], depends: &[&str], params: &str) -> LoadedPlugin {
    let quoted = |list: &[&str]| list.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    let dependencies: String = depends.iter().map(|d| format!("\"{d}\" = \"*\"\n")).collect();
    let text = format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[permissions]
commands = [{invokes}]

[config]
attack = "invoke-chain"

[commands]
relay = {{ description = "Invokes the command its first argument names", params = [{params}] }}

[dependencies]
{dependencies}
"#,
        invokes = quoted(invokes),
    );
    let dir = Path::new(artifacts::HOSTILE.path).parent().expect("a folder");
    load_in(dir, &text, artifacts::HOSTILE, "en")
}

/// Five optional text parameters.
const ANY_FIVE: &str = r#"{ name = "a", required = false }, { name = "b", required = false }, { name = "c", required = false }, { name = "d", required = false }, { name = "e", required = false }"#;

fn dispatcher(plugins: Vec<LoadedPlugin>) -> (Dispatcher, Arc<InMemoryStateStore>, Arc<InMemoryTaskStore>) {
    let tasks = Arc::new(InMemoryTaskStore::new());
    let state = Arc::new(InMemoryStateStore::new());
    let services = HostServices {
        tasks: tasks.clone(),
        state: state.clone(),
        clock: Arc::new(|| 1_700_000_000_000),
    };
    let dispatcher = Dispatcher::new(runtime(), services);
    for plugin in plugins {
        dispatcher.add(plugin).expect("a new dispatcher takes it");
    }
    (dispatcher, state, tasks)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The error a relay passed on from the command it invoked.
fn refusal(result: Result<plugboard_host::CommandOutput, CommandError>) -> String {
    match result {
        Err(CommandError::Rejected { error, .. }) => error,
        other => panic!("expected the relay to pass on a refusal, got {other:?}"),
    }
}

#[test]
fn a_command_runs_for_the_host_and_for_another_plugin() {
    let (host, _, _) = dispatcher(vec![
        relay("a", &["b.relay"], &["b"], ANY_FIVE),
        relay("b", &[], &[], ANY_FIVE),
    ]);
    let direct = host
        .run_command_blocking("b", "relay", &[])
        .expect("b runs for the host");
    assert_eq!(direct.text, "end of the chain");
    let through = host
        .run_command_blocking("a", "relay", &args(&["b.relay"]))
        .expect("a invokes b");
    assert_eq!(through.text, "b.relay said: end of the chain");
}

#[test]
fn an_invocation_without_the_grant_or_the_dependency_is_denied() {
    let (host, _, _) = dispatcher(vec![
        relay("ungranted", &[], &["b"], ANY_FIVE),
        relay("undeclared", &["b.relay"], &[], ANY_FIVE),
        relay("b", &[], &[], ANY_FIVE),
    ]);
    let denied = refusal(host.run_command_blocking("ungranted", "relay", &args(&["b.relay"])));
    assert!(
        denied.contains("denied: plugin `ungranted` was not granted `commands.invoke:b.relay`"),
        "{denied}"
    );
    let denied = refusal(host.run_command_blocking("undeclared", "relay", &args(&["b.relay"])));
    assert!(denied.contains("does not name `b` in its [dependencies]"), "{denied}");
    // A command the provider does not declare is not offered to plugins.
    let (host, _, _) = dispatcher(vec![
        relay("a", &["b.secret"], &["b"], ANY_FIVE),
        relay("b", &[], &[], ANY_FIVE),
    ]);
    let unknown = refusal(host.run_command_blocking("a", "relay", &args(&["b.secret"])));
    assert!(
        unknown.contains("not found: plugin `b` offers no command `secret`"),
        "{unknown}"
    );
}

#[test]
fn arguments_are_checked_against_the_declared_parameters_before_the_command_runs() {
    let typed = r#"{ name = "next", required = false }, { name = "hops", type = "integer", required = false }"#;
    let (host, _, _) = dispatcher(vec![
        relay("a", &["b.relay"], &["b"], ANY_FIVE),
        relay("b", &[], &[], typed),
    ]);
    // From another plugin: the caller gets `invalid` naming the parameter.
    let wrong = refusal(host.run_command_blocking("a", "relay", &args(&["b.relay", "x", "many"])));
    assert!(
        wrong.contains("invalid: command `b.relay`: argument `hops` must be an integer, got \"many\""),
        "{wrong}"
    );
    let many = refusal(host.run_command_blocking("a", "relay", &args(&["b.relay", "x", "1", "2"])));
    assert!(many.contains("takes at most 2 argument(s)"), "{many}");
    // From the application: the same check, before the plugin runs.
    let direct = host.run_command_blocking("b", "relay", &args(&["x", "1.5"]));
    assert!(
        matches!(&direct, Err(CommandError::BadArguments { why, .. }) if why.contains("argument `hops` must be an integer")),
        "{direct:?}"
    );
    let required = r#"{ name = "next" }"#;
    let (host, _, _) = dispatcher(vec![relay("c", &[], &[], required)]);
    let missing = host.run_command_blocking("c", "relay", &[]);
    assert!(
        matches!(&missing, Err(CommandError::BadArguments { why, .. }) if why.contains("argument `next` is required")),
        "{missing:?}"
    );
}

#[test]
fn a_chain_back_to_a_plugin_in_it_is_refused_without_waiting_for_a_deadline() {
    let (host, _, _) = dispatcher(vec![
        relay("a", &["b.relay"], &["b"], ANY_FIVE),
        relay("b", &["a.relay"], &["a"], ANY_FIVE),
        relay("self", &["self.relay"], &[], ANY_FIVE),
    ]);
    let started = Instant::now();
    let back = refusal(host.run_command_blocking("a", "relay", &args(&["b.relay", "a.relay"])));
    assert!(
        back.contains("would run `a` again inside its own call (a -> b -> a)"),
        "{back}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "refused at once, not at a deadline: {:?}",
        started.elapsed()
    );
    let itself = refusal(host.run_command_blocking("self", "relay", &args(&["self.relay"])));
    assert!(itself.contains("a plugin may not invoke itself"), "{itself}");
    // Neither was stopped or struck for it: both still answer.
    let again = host
        .run_command_blocking("a", "relay", &args(&["b.relay"]))
        .expect("a still runs");
    assert_eq!(again.text, "b.relay said: end of the chain");
    assert!(host.quarantined("a").is_none() && host.quarantined("b").is_none());
}

#[test]
fn a_chain_is_cut_at_the_depth_limit() {
    let all = ["p1", "p2", "p3", "p4", "p5"];
    let plugins = all
        .iter()
        .map(|id| {
            let others: Vec<&str> = all.iter().copied().filter(|o| o != id).collect();
            let commands: Vec<String> = others.iter().map(|o| format!("{o}.relay")).collect();
            let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
            relay(id, &commands, &others, ANY_FIVE)
        })
        .collect();
    let (host, _, _) = dispatcher(plugins);
    let four = host
        .run_command_blocking("p1", "relay", &args(&["p2.relay", "p3.relay", "p4.relay"]))
        .expect("four plugins make a chain within the limit");
    assert_eq!(
        four.text,
        "p2.relay said: p3.relay said: p4.relay said: end of the chain"
    );
    let five =
        refusal(host.run_command_blocking("p1", "relay", &args(&["p2.relay", "p3.relay", "p4.relay", "p5.relay"])));
    assert!(
        five.contains("would make a chain of 5 plugins; the most is 4"),
        "{five}"
    );
}

/// A hostile plugin that emits `ping` on every new task, and subscribers.
fn pinger_and(subscribers: &[(&str, &str)]) -> Vec<LoadedPlugin> {
    let dir = Path::new(artifacts::HOSTILE.path).parent().expect("a folder");
    let manifest = |id: &str, subscribe: &str, attack: &str, emits: &str| {
        format!(
            r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = [{subscribe}]
emits = [{emits}]

[config]
attack = "{attack}"
starts = "true"
sends = "ping"
"#
        )
    };
    let mut plugins = vec![load_in(
        dir,
        &manifest("pinger", "\"task-created\"", "ping-pong", "\"ping\""),
        artifacts::HOSTILE,
        "en",
    )];
    for (id, subscription) in subscribers {
        plugins.push(load_in(
            dir,
            &manifest(id, &format!("\"{subscription}\""), "none", ""),
            artifacts::HOSTILE,
            "en",
        ));
    }
    plugins
}

#[test]
fn an_emitted_topic_reaches_those_naming_the_emitter_with_its_source() {
    let (host, _, tasks) = dispatcher(pinger_and(&[
        ("by-emitter", "custom:pinger/ping"),
        ("by-bare-topic", "custom:ping"),
        ("by-other-emitter", "custom:ponger/ping"),
    ]));
    let task = tasks.create(new_task("hello"), 1).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    let custom: Vec<&str> = report
        .deliveries
        .iter()
        .filter(|d| d.event == "custom")
        .map(|d| &*d.plugin)
        .collect();
    assert_eq!(custom, ["by-emitter"], "{report:#?}");
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "by-emitter").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled);
    assert_eq!(delivery.depth, 1);
}

#[test]
fn a_topic_the_manifest_does_not_declare_is_denied() {
    let dir = Path::new(artifacts::HOSTILE.path).parent().expect("a folder");
    let text = r#"
[plugin]
id = "undeclared"
name = "undeclared"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = ["task-created"]
emits = ["pong"]

[config]
attack = "ping-pong"
starts = "true"
sends = "ping"
"#;
    let (host, _, tasks) = dispatcher(vec![load_in(dir, text, artifacts::HOSTILE, "en")]);
    let task = tasks.create(new_task("hello"), 1).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    let delivery = &report.deliveries[0];
    assert_eq!(delivery.effects.denied, ["events.emit:ping"], "{report:#?}");
    assert!(delivery.effects.emitted.is_empty());
    assert!(report.deliveries.iter().all(|d| d.event != "custom"));
}

/// The 2.2 conformance fixture, from its source folder (its resources and
/// locales), for a user reading `language`.
fn conformance_v2(language: &str) -> LoadedPlugin {
    let dir = artifacts::repo_root().join("tests/fixtures/conformance-v2");
    let text = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    load_in(&dir, &text, artifacts::CONFORMANCE_V2, language)
}

#[test]
fn a_locale_plugin_translates_for_another() {
    let pack = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(pack.path().join("locales")).unwrap();
    std::fs::write(pack.path().join("locales/de.json"), r#"{"bye": "Tschüss"}"#).unwrap();
    let text = r#"
[plugin]
id = "conformance-de"
name = "German for the conformance fixture"
version = "0.1.0"
api = "task-events@2"

[locales]
translates = "conformance-v2"
"#;
    let manifest = Manifest::parse(text, &pack.path().join("plugin.toml")).unwrap();
    let options = LoadOptions {
        language: "de".parse().ok(),
        ..LoadOptions::default()
    };
    let pack = runtime()
        .load(manifest, pack.path(), &options)
        .expect("a data-only plugin loads");
    assert!(pack.is_data_only());
    let (host, _, _) = dispatcher(vec![conformance_v2("de")]);
    let translated = host
        .run_command_blocking("conformance-v2", "translate", &args(&["bye"]))
        .unwrap();
    assert_eq!(translated.text, "Goodbye", "without the pack: the default language");
    host.add(pack).unwrap();
    let translated = host
        .run_command_blocking("conformance-v2", "translate", &args(&["bye"]))
        .unwrap();
    assert_eq!(
        translated.text, "Tschüss",
        "the pack's German comes before the default English"
    );
    let own = host
        .run_command_blocking("conformance-v2", "translate", &args(&["hello", "Ada"]))
        .unwrap();
    assert_eq!(own.text, "Hallo, Ada!");
}

#[test]
fn a_bad_locale_file_keeps_the_plugin_out_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("locales")).unwrap();
    std::fs::write(dir.path().join("locales/fr.json"), r#"{"nested": {"no": 1}}"#).unwrap();
    let text = "[plugin]\nid = \"bad-locale\"\nname = \"x\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n";
    let manifest = Manifest::parse(text, &dir.path().join("plugin.toml")).unwrap();
    let error = runtime()
        .load(manifest, dir.path(), &LoadOptions::default())
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("plugin `bad-locale`")
            && error.contains("locales/fr.json")
            && error.contains("not a JSON object of texts"),
        "{error}"
    );
}

#[test]
fn shutdown_runs_before_an_unload_and_its_state_writes_are_committed() {
    let (host, state, tasks) = dispatcher(vec![conformance_v2("en")]);
    let task = tasks.create(new_task("plain"), 1).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    assert_eq!(state.get("conformance-v2", "flushed-at-shutdown").unwrap(), None);
    host.stop_instances_blocking();
    assert_eq!(
        state.get("conformance-v2", "flushed-at-shutdown").unwrap().as_deref(),
        Some(&b"yes"[..])
    );
    assert!(!host.is_live("conformance-v2"));

    // Removing a live plugin shuts it down too, on a task of its own.
    let (host, state, tasks) = dispatcher(vec![conformance_v2("en")]);
    let task = tasks.create(new_task("plain"), 1).unwrap();
    host.dispatch_blocking(&Event::TaskCreated(task));
    assert!(host.remove("conformance-v2"));
    let waited = Instant::now();
    while state.get("conformance-v2", "flushed-at-shutdown").unwrap().is_none() {
        assert!(waited.elapsed() < Duration::from_secs(5), "no shutdown after remove");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// conformance-v2 with a `shutdown` that sleeps 100 ms before it writes
/// `flushed-at-shutdown` to its state: long enough that anything not waiting
/// for it finishes first.
fn slow_shutdown_conformance_v2() -> LoadedPlugin {
    let dir = artifacts::repo_root().join("tests/fixtures/conformance-v2");
    let text = std::fs::read_to_string(dir.join("plugin.toml")).unwrap().replace(
        "greeting = \"hello\"",
        "greeting = \"hello\"\nshutdown-sleep-ms = \"100\"",
    );
    load_in(&dir, &text, artifacts::CONFORMANCE_V2, "en")
}

/// A dispatcher holding the slow-shutdown fixture, which drops instances
/// idle for 5 ms.
fn idle_after_5_ms() -> (Dispatcher, Arc<InMemoryStateStore>, Arc<InMemoryTaskStore>) {
    let (host, state, tasks) = dispatcher(vec![slow_shutdown_conformance_v2()]);
    let host = host.with_options(DispatcherOptions {
        idle_timeout: Some(Duration::from_millis(5)),
        ..DispatcherOptions::default()
    });
    (host, state, tasks)
}

fn flushed(state: &InMemoryStateStore) -> Option<Vec<u8>> {
    state.get("conformance-v2", "flushed-at-shutdown").unwrap()
}

#[test]
fn an_instance_idle_at_the_end_of_a_dispatch_has_shut_down_when_the_dispatch_returns() {
    let (host, state, tasks) = dispatcher(vec![slow_shutdown_conformance_v2()]);
    let host = host.with_options(DispatcherOptions {
        idle_timeout: Some(Duration::ZERO),
        ..DispatcherOptions::default()
    });
    let task = tasks.create(new_task("plain"), 1).unwrap();
    let report = host.dispatch_blocking(&Event::TaskCreated(task));
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    assert!(!host.is_live("conformance-v2"));
    // No waiting here: its `shutdown` ran, and its state write was
    // committed, before the dispatch returned.
    assert_eq!(flushed(&state).as_deref(), Some(&b"yes"[..]));
}

#[test]
fn a_new_instance_starts_only_after_the_old_one_shut_down() {
    let (host, state, tasks) = idle_after_5_ms();
    let task = tasks.create(new_task("plain"), 1).unwrap();
    let event = Event::TaskCreated(task);
    host.dispatch_blocking(&event);
    for round in 0..3 {
        std::thread::sleep(Duration::from_millis(10));
        state.delete("conformance-v2", "flushed-at-shutdown").unwrap();
        // The application's eviction shuts the instance down on a task of
        // its own, which sleeps; the event right behind it starts the next
        // instance only once that `shutdown` wrote its state.
        assert_eq!(host.evict_idle().len(), 1, "round {round}: the instance was idle");
        let report = host.dispatch_blocking(&event);
        assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
        assert_eq!(flushed(&state).as_deref(), Some(&b"yes"[..]), "round {round}");
    }
}

#[test]
fn an_application_can_wait_for_the_shutdowns_of_unloaded_instances() {
    let (host, state, tasks) = idle_after_5_ms();
    let task = tasks.create(new_task("plain"), 1).unwrap();
    host.dispatch_blocking(&Event::TaskCreated(task));
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(host.evict_idle().len(), 1);
    // Its `shutdown` sleeps on a task of its own: not done yet.
    assert_eq!(flushed(&state), None);
    host.finish_shutdowns_blocking();
    assert_eq!(flushed(&state).as_deref(), Some(&b"yes"[..]));
}

#[test]
fn a_replacing_build_starts_after_the_replaced_one_shut_down() {
    let (host, state, tasks) = dispatcher(vec![slow_shutdown_conformance_v2()]);
    let task = tasks.create(new_task("plain"), 1).unwrap();
    let event = Event::TaskCreated(task);
    for round in 0..3 {
        host.dispatch_blocking(&event);
        state.delete("conformance-v2", "flushed-at-shutdown").unwrap();
        // The old build shuts down on a task of its own; the new build's
        // first event waits for it.
        host.replace(slow_shutdown_conformance_v2()).expect("replaced");
        let report = host.dispatch_blocking(&event);
        assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
        assert_eq!(flushed(&state).as_deref(), Some(&b"yes"[..]), "round {round}");
    }
}

#[test]
fn builds_replaced_before_they_ran_still_wait_for_the_last_one_that_ran() {
    let (host, state, tasks) = dispatcher(vec![slow_shutdown_conformance_v2()]);
    let task = tasks.create(new_task("plain"), 1).unwrap();
    let event = Event::TaskCreated(task);
    host.dispatch_blocking(&event);
    // The live build is replaced, and its replacement replaced again before
    // it got an event: the newest build's first event waits for the one
    // build that ran.
    host.replace(slow_shutdown_conformance_v2()).expect("replaced");
    host.replace(slow_shutdown_conformance_v2()).expect("replaced again");
    let report = host.dispatch_blocking(&event);
    assert_eq!(report.deliveries[0].outcome, Outcome::Handled);
    assert_eq!(flushed(&state).as_deref(), Some(&b"yes"[..]));
}

#[test]
fn health_is_reported_by_plugins_with_a_lifecycle_export_only() {
    let compat_dir = artifacts::repo_root().join("tests/fixtures/compat-v2-1");
    let compat_text = std::fs::read_to_string(compat_dir.join("plugin.toml")).unwrap();
    let (host, _, _) = dispatcher(vec![
        conformance_v2("en"),
        load_in(&compat_dir, &compat_text, artifacts::COMPAT_V2_1, "en"),
    ]);
    assert_eq!(
        host.health_blocking("conformance-v2"),
        Some(Health::Healthy("healthy, 0 instance events".into()))
    );
    assert_eq!(host.health_blocking("compat-v2-1"), Some(Health::NotReported));
    assert_eq!(host.health_blocking("nobody"), None);
}
