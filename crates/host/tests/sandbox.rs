//! The hostile corpus: each attack, loaded beside well-behaved plugins in
//! this one process, is contained with its own reason; the others keep
//! handling events and no task changes unless a plugin was allowed to and
//! its call succeeded.

use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use plugboard_contract::task_store::new_task;
use plugboard_contract::{Event, Task};
use plugboard_host::{
    AbuseKind, DispatchBudget, DispatchReport, Dispatcher, DispatcherOptions, Grants, HostServices, InMemoryTaskStore,
    LoadError, LoadOptions, LoadedPlugin, Outcome, QuarantineRecord, QuarantineStore as _, Runtime,
};
use plugboard_host::{plugin_log::PluginLogError, quarantine::QuarantineStoreError};
use plugboard_manifest::Manifest;
use plugboard_state::QuarantineFile;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// The hostile component's manifest for one attack. `extra` adds lines to
/// `[events]`/`[permissions]` through whole tables given by the caller.
fn hostile_manifest(id: &str, attack: &str, permissions: &str, extra_config: &str) -> String {
    format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[events]
subscribe = ["task-created", "custom:*"]
emits = ["storm", "ping", "pong"]

[permissions]
{permissions}

[limits]
deadline = "100ms"

[config]
attack = "{attack}"
{extra_config}
"#
    )
}

fn load(text: &str, component: artifacts::Component, grants: Grants) -> Result<LoadedPlugin, LoadError> {
    let origin = std::path::Path::new(component.path);
    let manifest = Manifest::parse(text, std::path::Path::new("plugin.toml")).expect("test manifests are valid");
    runtime().load_bytes(
        manifest,
        origin.parent().unwrap_or(origin),
        origin,
        component.bytes,
        &LoadOptions {
            grants,
            ..LoadOptions::default()
        },
    )
}

fn hostile(id: &str, attack: &str, permissions: &str) -> LoadedPlugin {
    load(
        &hostile_manifest(id, attack, permissions, ""),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The same manifest with a deadline long enough that only a byte budget
/// can stop the attack: copying megabytes in a debug build on a busy
/// machine can take longer than 100 ms.
fn patient(manifest: String) -> String {
    manifest.replace("deadline = \"100ms\"", "deadline = \"10s\"")
}

/// [`hostile`] under [`patient`]'s deadline.
fn patient_hostile(id: &str, attack: &str, permissions: &str) -> LoadedPlugin {
    load(
        &patient(hostile_manifest(id, attack, permissions, "")),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The well-behaved neighbour: auto-tag, granted what it asks.
fn bystander() -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let manifest = Manifest::from_dir(&dir).unwrap();
    runtime()
        .load_bytes(
            manifest,
            &dir,
            std::path::Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap()
}

/// Tests whose assertions are about timing take the machine alone: the
/// others (several of which spin for their whole deadline) share it.
static CPU: RwLock<()> = RwLock::new(());

enum CpuShare {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// Adds a plugin that loops on every event under `id` and dispatches one
/// event, which quarantines it.
fn quarantine_a_looper(dispatcher: &Dispatcher, id: &str) {
    dispatcher
        .add(hostile(id, "loop-on-event", r#"tasks = ["read", "write"]"#))
        .unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(
        plugboard_contract::task_store::build_task("t".into(), new_task("x"), 1).unwrap(),
    ));
    assert_eq!(report.quarantined.len(), 1, "{report:#?}");
}

struct Host {
    _cpu: CpuShare,
    dispatcher: Dispatcher,
    tasks: Arc<InMemoryTaskStore>,
    services: HostServices,
    quarantined: Arc<Mutex<Vec<QuarantineRecord>>>,
}

impl Host {
    fn new(plugins: Vec<LoadedPlugin>) -> Host {
        let cpu = CpuShare::Shared(CPU.read().unwrap_or_else(|e| e.into_inner()));
        Host::with_cpu(cpu, plugins, DispatcherOptions::default())
    }

    /// A host whose dispatcher has these options.
    fn with_options(plugins: Vec<LoadedPlugin>, options: DispatcherOptions) -> Host {
        let cpu = CpuShare::Shared(CPU.read().unwrap_or_else(|e| e.into_inner()));
        Host::with_cpu(cpu, plugins, options)
    }

    /// A host for a test that measures time: no other test of this file
    /// runs meanwhile.
    fn alone(plugins: Vec<LoadedPlugin>) -> Host {
        let cpu = CpuShare::Alone(CPU.write().unwrap_or_else(|e| e.into_inner()));
        Host::with_cpu(cpu, plugins, DispatcherOptions::default())
    }

    fn with_cpu(cpu: CpuShare, plugins: Vec<LoadedPlugin>, options: DispatcherOptions) -> Host {
        let (services, tasks) = HostServices::in_memory();
        let dispatcher = Dispatcher::new(runtime(), services.clone()).with_options(options);
        let quarantined = Arc::new(Mutex::new(Vec::new()));
        let seen = quarantined.clone();
        dispatcher.on_quarantine(move |record| seen.lock().unwrap().push(record.clone()));
        dispatcher.add(bystander()).unwrap();
        for plugin in plugins {
            dispatcher.add(plugin).unwrap();
        }
        let host = Host {
            _cpu: cpu,
            dispatcher,
            tasks,
            services,
            quarantined,
        };
        for title in ["Water the plants", "Pay rent", "Call mum"] {
            host.tasks.create(new_task(title), 1).unwrap();
        }
        host
    }

    fn create(&mut self, title: &str) -> (Task, DispatchReport) {
        let task = self.tasks.create(new_task(title), 2).unwrap();
        let report = self.dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
        (task, report)
    }

    /// Dispatches an event the attacker reacts to and checks that no task
    /// changed but the new one, which is returned with the report.
    fn attack(&mut self) -> DispatchReport {
        let before = self.tasks.all();
        let (task, report) = self.create("Plain new task");
        let mut expected = before;
        expected.push(task);
        assert_eq!(self.tasks.all(), expected, "a task changed: {report:#?}");
        report
    }

    /// The neighbour still handles events and still changes tasks.
    fn assert_bystander_works(&mut self) {
        let (task, report) = self.create("Fix urgent bug");
        let delivery = report
            .deliveries
            .iter()
            .find(|d| &*d.plugin == "auto-tag")
            .expect("auto-tag got the event");
        assert_eq!(delivery.outcome, Outcome::Handled, "{report:#?}");
        let stored = plugboard_contract::TaskStore::get(&*self.tasks, &task.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.tags, ["urgent", "bug"]);
    }

    fn outcome_of(report: &DispatchReport, plugin: &str) -> Outcome {
        report
            .deliveries
            .iter()
            .find(|d| &*d.plugin == plugin)
            .unwrap_or_else(|| panic!("{plugin} got no delivery: {report:#?}"))
            .outcome
            .clone()
    }

    fn quarantined(&self, plugin: &str) -> QuarantineRecord {
        let records = self.quarantined.lock().unwrap();
        let record = records
            .iter()
            .find(|r| r.plugin == plugin)
            .unwrap_or_else(|| panic!("{plugin} was not reported quarantined: {records:?}"))
            .clone();
        assert!(self.dispatcher.quarantined(plugin).is_some());
        assert!(
            self.dispatcher.plugins().iter().all(|p| p.id() != plugin),
            "{plugin} is still loaded"
        );
        record
    }
}

fn trapped(outcome: Outcome, kind: AbuseKind) -> String {
    match outcome {
        Outcome::Trapped(abuse) if abuse.kind == kind => abuse.detail,
        other => panic!("expected a {kind} trap, got {other:?}"),
    }
}

#[test]
fn an_endless_loop_after_changing_ten_tasks_changes_none_and_is_quarantined() {
    let mut host = Host::new(vec![hostile("looper", "loop-on-event", r#"tasks = ["read", "write"]"#)]);
    for i in 0..8 {
        host.tasks.create(new_task(format!("Task {i}")), 1).unwrap();
    }
    let started = Instant::now();
    let report = host.attack();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the loop was not stopped in time"
    );
    let detail = trapped(Host::outcome_of(&report, "looper"), AbuseKind::Deadline);
    assert!(detail.contains("100 ms deadline"), "{detail}");
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "looper").unwrap();
    assert_eq!(
        delivery.effects.discarded_changes, 10,
        "the ten staged updates were dropped"
    );
    assert!(delivery.effects.changes.is_empty());
    assert_eq!(host.quarantined("looper").kind, AbuseKind::Deadline);
    host.assert_bystander_works();
}

#[test]
fn an_endless_loop_in_init_is_stopped_and_quarantined() {
    let mut host = Host::new(vec![hostile("init-looper", "loop-in-init", "")]);
    let report = host.attack();
    trapped(Host::outcome_of(&report, "init-looper"), AbuseKind::Deadline);
    assert_eq!(host.quarantined("init-looper").kind, AbuseKind::Deadline);
    host.assert_bystander_works();
}

#[test]
fn an_endless_loop_at_component_start_is_stopped_and_quarantined() {
    let text = hostile_manifest("start-looper", "none", "", "").replace("hostile.wasm", "hostile_start_loop.wasm");
    let plugin = load(&text, artifacts::HOSTILE_START_LOOP, Grants::everything_requested()).unwrap();
    let mut host = Host::new(vec![plugin]);
    let report = host.attack();
    trapped(Host::outcome_of(&report, "start-looper"), AbuseKind::Deadline);
    assert_eq!(host.quarantined("start-looper").kind, AbuseKind::Deadline);
    host.assert_bystander_works();
}

#[test]
fn unbounded_memory_growth_hits_the_cap_and_is_quarantined() {
    let mut host = Host::new(vec![hostile("hoarder", "grow-memory", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "hoarder"), AbuseKind::Memory);
    assert!(detail.contains("its cap is 64 MiB"), "{detail}");
    assert_eq!(host.quarantined("hoarder").kind, AbuseKind::Memory);
    host.assert_bystander_works();
}

#[test]
fn deep_recursion_overflows_the_stack_and_is_quarantined() {
    let mut host = Host::new(vec![hostile("recurser", "recurse", "")]);
    let report = host.attack();
    trapped(Host::outcome_of(&report, "recurser"), AbuseKind::Stack);
    assert_eq!(host.quarantined("recurser").kind, AbuseKind::Stack);
    host.assert_bystander_works();
}

#[test]
fn a_huge_return_value_is_refused_and_quarantined() {
    let mut host = Host::new(vec![hostile("bloater", "huge-return", "")]);
    let err = host.dispatcher.run_command_blocking("bloater", "big", &[]).unwrap_err();
    // 8 MiB of text: wasmtime stops copying it into the host at twice
    // `max-value`, before the host holds it.
    assert!(
        err.to_string()
            .contains("large-value: passed the host (or returned) a value that takes more than 2162688 bytes"),
        "{err}"
    );
    assert_eq!(host.quarantined("bloater").kind, AbuseKind::LargeValue);
    host.assert_bystander_works();
}

#[test]
fn a_huge_value_passed_to_the_host_is_refused() {
    let mut host = Host::new(vec![hostile("shouter", "huge-log-line", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "shouter"), AbuseKind::LargeValue);
    // Stopped while wasmtime copies the 8 MiB argument, before the host
    // function runs.
    assert!(detail.contains("its `max-value` is 1048576 bytes"), "{detail}");
    host.assert_bystander_works();
}

#[test]
fn a_log_flood_is_cut_off_and_quarantined() {
    let mut host = Host::new(vec![hostile("flooder", "log-flood", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "flooder"), AbuseKind::LogFlood);
    assert!(detail.contains("more than 1000 log lines"), "{detail}");
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "flooder").unwrap();
    assert_eq!(
        delivery.effects.logs.len(),
        1000,
        "the lines up to the cap are kept for the user"
    );
    assert_eq!(host.quarantined("flooder").kind, AbuseKind::LogFlood);
    host.assert_bystander_works();
}

#[test]
fn stdout_goes_to_the_log_and_is_capped() {
    // 5,000 lines through WASI take more than the other attacks' 100 ms on a
    // loaded machine with a debug build; this test is about the output cap,
    // so the deadline must not be what stops the plugin.
    let text = patient(hostile_manifest("printer", "stdout-flood", "", ""));
    let printer = load(&text, artifacts::HOSTILE, Grants::everything_requested()).expect("the printer loads");
    let mut host = Host::new(vec![printer]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "printer").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled);
    assert_eq!(delivery.effects.logs[0].message, "stdout line 0");
    assert!(
        delivery.effects.dropped_output > 0,
        "output past the cap is dropped and counted"
    );
    assert!(
        delivery.effects.logs.iter().any(|l| l.message == "done flooding"),
        "stderr is kept too"
    );
}

#[test]
fn deleting_without_permission_is_denied_and_quarantined_on_the_third_denial() {
    let mut host = Host::new(vec![hostile("deleter", "delete-all", "")]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "deleter").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled);
    assert_eq!(delivery.effects.denied.first().map(String::as_str), Some("tasks.read"));
    assert!(delivery.effects.denied.iter().filter(|d| *d == "tasks.delete").count() >= 3);
    let record = host.quarantined("deleter");
    assert_eq!(record.kind, AbuseKind::Denied);
    host.assert_bystander_works();
}

#[test]
fn delete_all_with_read_only_permission_deletes_nothing() {
    let mut host = Host::new(vec![hostile("wiper", "delete-all", r#"tasks = ["read"]"#)]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "wiper").unwrap();
    assert!(
        delivery.effects.denied.iter().all(|d| d == "tasks.delete"),
        "{:?}",
        delivery.effects.denied
    );
    assert_eq!(delivery.effects.denied.len(), 4, "one per task it could read");
    assert!(delivery.effects.logs.iter().any(|l| {
        l.message
            .contains("Denied(\"plugin `wiper` was not granted `tasks.delete`\")")
    }));
    assert_eq!(host.quarantined("wiper").kind, AbuseKind::Denied);
    host.assert_bystander_works();
}

#[test]
fn an_event_storm_is_stopped_and_quarantined() {
    let mut host = Host::new(vec![hostile("stormer", "emit-storm", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "stormer"), AbuseKind::EventStorm);
    assert!(detail.contains("more than 16 events"), "{detail}");
    assert!(
        report.deliveries.iter().all(|d| d.event != "custom"),
        "no storm event was delivered"
    );
    assert_eq!(host.quarantined("stormer").kind, AbuseKind::EventStorm);
    host.assert_bystander_works();
}

#[test]
fn a_two_plugin_ping_pong_is_cut_at_the_depth_limit() {
    let ping = load(
        &hostile_manifest("pinger", "ping-pong", "", "starts = \"true\"\nsends = \"ping\"")
            .replace("\"custom:*\"", "\"custom:ponger/pong\""),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap();
    let pong = load(
        &hostile_manifest("ponger", "ping-pong", "", "sends = \"pong\"")
            .replace("\"custom:*\"", "\"custom:pinger/ping\""),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap();
    let mut host = Host::new(vec![ping, pong]);
    let report = host.attack();
    let depths: Vec<u32> = report
        .deliveries
        .iter()
        .filter(|d| d.event == "custom")
        .map(|d| d.depth)
        .collect();
    assert_eq!(depths, [1, 2, 3, 4], "the chain stops at the depth limit");
    assert_eq!(report.dropped_emits.len(), 1, "{:?}", report.dropped_emits);
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].kind, AbuseKind::EventStorm);
    host.assert_bystander_works();
}

#[test]
fn a_panic_and_unreachable_are_crashes_quarantined_on_the_third() {
    let mut host = Host::new(vec![
        hostile("panicker", "panic", ""),
        hostile("trapper", "unreachable", ""),
    ]);
    for round in 1..=3 {
        let report = host.attack();
        for plugin in ["panicker", "trapper"] {
            let detail = trapped(Host::outcome_of(&report, plugin), AbuseKind::Crash);
            assert!(
                detail.contains("wasm `unreachable` instruction executed"),
                "{plugin}: {detail}"
            );
            assert_eq!(report.quarantined.len(), if round < 3 { 0 } else { 2 });
        }
    }
    assert_eq!(host.quarantined("panicker").strikes, 3);
    host.assert_bystander_works();
}

#[test]
fn filling_the_state_quota_stops_at_the_quota() {
    let mut host = Host::new(vec![hostile("filler", "fill-state", r#"state = { quota = "16KiB" }"#)]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "filler").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled);
    assert!(
        delivery
            .effects
            .logs
            .iter()
            .any(|l| l.message == "stored 15 blocks, then: Error::QuotaExceeded"),
        "{:?}",
        delivery.effects.logs
    );
    assert!(plugboard_contract::StateStore::usage(&*host.services.state, "filler").unwrap() <= 16 << 10);
    host.assert_bystander_works();
}

#[test]
fn state_keys_are_keys_not_paths() {
    let mut host = Host::new(vec![hostile("keys", "state-keys", r#"state = { quota = "16KiB" }"#)]);
    let report = host.attack();
    let logs: Vec<&str> = report
        .deliveries
        .iter()
        .filter(|d| &*d.plugin == "keys")
        .flat_map(|d| d.effects.logs.iter().map(|l| l.message.as_str()))
        .collect();
    assert!(logs.contains(&"set \"../../etc/passwd\": ok"), "{logs:?}");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("set \"a\\0b\": Error::Invalid(") && l.contains("control character")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.starts_with("set \"\": Error::Invalid(")),
        "{logs:?}"
    );
    let keys = plugboard_contract::StateStore::list_keys(&*host.services.state, "keys").unwrap();
    assert_eq!(keys, ["../../etc/passwd", "/etc/shadow"]);
}

/// A manifest for the file-system or sockets fixture: subscribed to
/// created tasks, requesting nothing, with one setting.
fn wasi_manifest(id: &str, component: artifacts::Component, setting: &str) -> String {
    format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "{}.wasm"

[events]
subscribe = ["task-created"]

[limits]
deadline = "10s"

[config]
{setting}
"#,
        component.name
    )
}

#[test]
fn a_plugin_importing_the_file_system_loads_and_reaches_no_file() {
    let folder = tempfile::tempdir().unwrap();
    let secret = folder.path().join("secret.txt");
    std::fs::write(&secret, "the user's secret").unwrap();
    let text = wasi_manifest(
        "files",
        artifacts::HOSTILE_FILESYSTEM,
        &format!("path = {:?}", secret.display().to_string()),
    );
    let plugin = load(&text, artifacts::HOSTILE_FILESYSTEM, Grants::everything_requested())
        .unwrap_or_else(|e| panic!("a component importing wasi:filesystem loads: {e}"));
    let mut host = Host::new(vec![plugin]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "files").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled, "{delivery:#?}");
    let logs = logs_of(&report, "files");
    for attempt in [
        "read",
        "write",
        "create",
        "create relative",
        "remove",
        "list /",
        "list .",
        "mkdir",
        "metadata",
    ] {
        assert!(
            logs.iter().any(|l| l.starts_with(&format!("{attempt}: failed"))),
            "{attempt} did not fail: {logs:?}"
        );
    }
    assert!(!logs.iter().any(|l| l.contains(": OK")), "{logs:?}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the user's secret");
    let left: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing was created beside the file");
    assert!(!std::path::Path::new("plugin-was-here").exists());
    assert!(!std::path::Path::new("/plugin-dir").exists());
    host.assert_bystander_works();
}

#[test]
fn a_plugin_importing_sockets_loads_and_connects_nowhere() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let tcp_target = listener.local_addr().unwrap();
    let udp_target = udp.local_addr().unwrap();
    let mut plugins = Vec::new();
    for (id, target) in [("tcp", tcp_target), ("udp", udp_target)] {
        let text = wasi_manifest(id, artifacts::HOSTILE_SOCKETS, &format!("target = \"{target}\""));
        plugins.push(
            load(&text, artifacts::HOSTILE_SOCKETS, Grants::everything_requested())
                .unwrap_or_else(|e| panic!("a component importing wasi:sockets loads: {e}")),
        );
    }
    let mut host = Host::new(plugins);
    let report = host.attack();
    for id in ["tcp", "udp"] {
        let delivery = report.deliveries.iter().find(|d| &*d.plugin == id).unwrap();
        assert_eq!(delivery.outcome, Outcome::Handled, "{delivery:#?}");
        let logs = logs_of(&report, id);
        for attempt in ["tcp connect", "tcp listen", "udp send", "name lookup"] {
            assert!(
                logs.iter().any(|l| l.starts_with(&format!("{attempt}: failed"))),
                "{attempt} did not fail: {logs:?}"
            );
        }
        assert!(!logs.iter().any(|l| l.contains(": OK")), "{logs:?}");
    }
    assert!(
        listener
            .accept()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected"
    );
    let mut datagram = [0u8; 16];
    assert!(
        udp.recv_from(&mut datagram)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "no datagram arrived"
    );
    host.assert_bystander_works();
}

#[test]
fn every_refused_import_is_named_at_once_before_compiling() {
    // A component importing two interfaces the host refuses, and nothing
    // to compile: the refusal names both and comes before any compile.
    let bytes = components_importing(&[
        "wasi:http/incoming-handler@0.2.6",
        "wasi:keyvalue/store@0.2.0",
        "wasi:cli/stdout@0.2.6",
    ]);
    let manifest = Manifest::parse(
        &hostile_manifest("greedy", "none", "", ""),
        std::path::Path::new("plugin.toml"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::with_options(plugboard_host::RuntimeOptions {
        code_cache: Some(cache.path().join("code")),
        ..Default::default()
    })
    .unwrap();
    let err = runtime
        .load_bytes(
            manifest,
            cache.path(),
            std::path::Path::new("greedy.wasm"),
            &bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::ForbiddenImport { .. }), "{message}");
    assert!(message.contains("imports 2 interfaces the host refuses"), "{message}");
    assert!(message.contains("`wasi:http/incoming-handler@0.2.6`"), "{message}");
    assert!(message.contains("`wasi:keyvalue/store@0.2.0`"), "{message}");
    assert!(!message.contains("wasi:cli/stdout"), "{message}");
    assert!(!cache.path().join("code").exists(), "nothing was compiled or cached");
}

/// A component that imports each of `names` as an empty instance.
fn components_importing(names: &[&str]) -> Vec<u8> {
    use wasm_encoder::{ComponentBuilder, ComponentTypeRef, InstanceType};
    let mut component = ComponentBuilder::default();
    for name in names {
        let ty = component.type_instance(None, &InstanceType::new());
        component.import(*name, ComponentTypeRef::Instance(ty));
    }
    component.finish()
}

#[test]
fn a_plugin_with_no_grants_receives_nothing() {
    let plugin = load(
        &hostile_manifest("ungranted", "delete-all", r#"tasks = ["read", "delete"]"#, ""),
        artifacts::HOSTILE,
        Grants::none(),
    )
    .unwrap();
    let mut host = Host::new(vec![plugin]);
    let report = host.attack();
    assert!(
        report.deliveries.iter().all(|d| &*d.plugin != "ungranted"),
        "{report:#?}"
    );
}

#[test]
fn quarantine_survives_a_restart_of_the_host() {
    let data = tempfile::tempdir().unwrap();
    {
        let (services, _) = HostServices::in_memory();
        let dispatcher =
            Dispatcher::new(runtime(), services.clone()).with_quarantine(QuarantineFile::open(data.path()).unwrap());
        quarantine_a_looper(&dispatcher, "persistent-looper");
    }
    // A new host on the same data folder refuses to load it.
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services).with_quarantine(QuarantineFile::open(data.path()).unwrap());
    let err = dispatcher
        .add(hostile("persistent-looper", "loop-on-event", ""))
        .unwrap_err();
    assert!(err.to_string().contains("is quarantined since"), "{err}");
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(
        err.to_string().contains(" since 20"),
        "the time is shown as a date: {err}"
    );
    // Until the user re-enables it.
    dispatcher.release("persistent-looper").unwrap();
    dispatcher
        .add(hostile("persistent-looper", "loop-on-event", ""))
        .unwrap();
}

/// Stores that keep everything in memory but fail to keep it, like a full
/// disk: the host must go on and say what was lost.
#[derive(Default)]
struct FailingStores(plugboard_host::InMemoryQuarantine);

#[derive(Debug, thiserror::Error)]
#[error("the test's storage is full")]
struct StorageFull;

impl plugboard_host::QuarantineStore for FailingStores {
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        self.0.get(plugin)
    }
    fn list(&self) -> Vec<QuarantineRecord> {
        self.0.list()
    }
    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError> {
        self.0.add(record)?;
        Err(QuarantineStoreError::Unavailable(Box::new(StorageFull)))
    }
    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        self.0.release(plugin)?;
        Err(QuarantineStoreError::Unavailable(Box::new(StorageFull)))
    }
    fn strikes(&self, plugin: &str) -> plugboard_host::Strikes {
        self.0.strikes(plugin)
    }
    fn record_strikes(&mut self, plugin: &str, strikes: &plugboard_host::Strikes) -> Result<(), QuarantineStoreError> {
        self.0.record_strikes(plugin, strikes)?;
        Err(QuarantineStoreError::Unavailable(Box::new(StorageFull)))
    }
}

impl plugboard_host::PluginLogSink for FailingStores {
    fn append(&self, _: &str, _: i64, _: &[plugboard_host::plugin_log::LogEntry<'_>]) -> Result<(), PluginLogError> {
        Err(PluginLogError::Unavailable(Box::new(StorageFull)))
    }
}

#[test]
fn stores_that_cannot_keep_a_quarantine_or_a_log_leave_it_in_force_and_reported() {
    let (services, _) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services)
        .with_quarantine(FailingStores::default())
        .with_logs(FailingStores::default());
    quarantine_a_looper(&dispatcher, "unkept-looper");
    assert!(
        dispatcher.quarantined("unkept-looper").is_some(),
        "in force for this run"
    );
    let err = dispatcher
        .add(hostile("unkept-looper", "loop-on-event", ""))
        .unwrap_err();
    assert!(err.to_string().contains("is quarantined since"), "{err}");
    let errors = dispatcher.persist_errors();
    // The strike, the quarantine and its log line were each not kept.
    assert!(
        errors.iter().filter(|e| *e == "the test's storage is full").count() >= 2,
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e == "log of plugin `unkept-looper`: the test's storage is full"),
        "{errors:#?}"
    );
    let err = dispatcher.release("unkept-looper").unwrap_err();
    assert_eq!(err.to_string(), "the test's storage is full");
    assert!(
        dispatcher.quarantined("unkept-looper").is_none(),
        "released for this run"
    );
}

#[test]
fn every_attack_at_once_leaves_the_host_and_the_neighbour_working() {
    let attacks = [
        ("a-loop", "loop-on-event", r#"tasks = ["read", "write"]"#),
        ("a-init", "loop-in-init", ""),
        ("a-memory", "grow-memory", ""),
        ("a-stack", "recurse", ""),
        ("a-flood", "log-flood", ""),
        ("a-delete", "delete-all", r#"tasks = ["read"]"#),
        ("a-storm", "emit-storm", ""),
        ("a-panic", "panic", ""),
        ("a-creates", "huge-creates", r#"tasks = ["write"]"#),
        ("a-lines", "huge-log-lines", ""),
        ("a-empty", "empty-strings", r#"tasks = ["read", "write"]"#),
        ("a-random", "huge-random", ""),
        ("a-half-state", "state-then-trap", r#"state = { quota = "16KiB" }"#),
    ];
    let plugins = attacks
        .iter()
        .map(|(id, attack, perms)| hostile(id, attack, perms))
        .collect();
    let mut host = Host::new(plugins);
    for _ in 0..3 {
        host.attack();
        host.assert_bystander_works();
    }
    for (id, _, _) in attacks {
        host.quarantined(id);
    }
    assert_eq!(host.dispatcher.plugins().len(), 1, "only the neighbour is left");
}

/// A one-shot HTTP server on loopback that answers every connection with
/// `hello`, for as many connections as asked.
fn serve_hello(connections: usize) -> (u16, std::thread::JoinHandle<()>) {
    serve(
        connections,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        Duration::ZERO,
    )
}

/// A loopback server answering each of `connections` requests with
/// `response`, then keeping the connection open for `hold` before closing
/// it.
fn serve(connections: usize, response: &'static [u8], hold: Duration) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local address").port();
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(response);
            std::thread::sleep(hold);
        }
    });
    (port, server)
}

fn net_fetch(id: &str, authority: &str, grants: Grants) -> Result<LoadedPlugin, LoadError> {
    load(&net_fetch_manifest(id, authority), artifacts::NET_FETCH, grants)
}

fn net_fetch_manifest(id: &str, authority: &str) -> String {
    format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "net_fetch.wasm"

[events]
subscribe = ["task-created"]

[permissions]
network = ["127.0.0.1"]

[config]
authority = "{authority}"
"#
    )
}

#[test]
fn outgoing_http_reaches_granted_hosts_only() {
    let (port, server) = serve_hello(1);
    let granted = Grants {
        network: Some(vec!["127.0.0.1".into()]),
        subscribe: Some(vec!["task-created".into()]),
        ..Grants::none()
    };
    let allowed = net_fetch("fetcher", &format!("127.0.0.1:{port}"), granted.clone()).unwrap();
    let elsewhere = net_fetch("wanderer", &format!("localhost:{port}"), granted).unwrap();
    let mut host = Host::new(vec![allowed, elsewhere]);
    let report = host.attack();

    let fetcher = report.deliveries.iter().find(|d| &*d.plugin == "fetcher").unwrap();
    assert_eq!(fetcher.outcome, Outcome::Handled);
    let lines: Vec<&str> = fetcher.effects.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(lines, ["status 200 body hello"]);

    let wanderer = report.deliveries.iter().find(|d| &*d.plugin == "wanderer").unwrap();
    let lines: Vec<&str> = wanderer.effects.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        lines,
        ["error ErrorCode::HttpRequestDenied"],
        "a host outside the grant is refused"
    );
    assert_eq!(wanderer.effects.denied, ["network:localhost"]);
    server.join().unwrap();
    host.assert_bystander_works();
}

#[test]
fn outgoing_http_without_a_network_grant_loads_and_every_request_is_refused() {
    let (port, server) = serve_hello(1);
    let grants = Grants {
        subscribe: Some(vec!["task-created".into()]),
        ..Grants::none()
    };
    let plugin = net_fetch("offline", &format!("127.0.0.1:{port}"), grants)
        .unwrap_or_else(|e| panic!("a component importing wasi:http loads without a grant: {e}"));
    let mut host = Host::new(vec![plugin]);
    let report = host.attack();
    let offline = report.deliveries.iter().find(|d| &*d.plugin == "offline").unwrap();
    let lines: Vec<&str> = offline.effects.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(lines, ["error ErrorCode::HttpRequestDenied"]);
    assert_eq!(offline.effects.denied, ["network:127.0.0.1"]);
    assert_eq!(
        offline.effects.denied_unrequested, 0,
        "the manifest requests the host: not struck"
    );
    // Nothing reached the server: connect once ourselves to let it end.
    let mut probe = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::io::Write::write_all(&mut probe, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut probe, &mut answer);
    assert!(answer.contains("hello"), "the server's one answer was ours: {answer}");
    server.join().unwrap();
    host.assert_bystander_works();
}

#[test]
fn strikes_accumulate_across_restarts_of_the_host() {
    let data = tempfile::tempdir().unwrap();
    let mut policy = plugboard_host::StrikePolicy::default();
    policy.set(AbuseKind::Denied, 10);
    for restart in 1..=3 {
        let (services, tasks) = HostServices::in_memory();
        for title in ["a", "b", "c"] {
            tasks.create(new_task(title), 1).unwrap();
        }
        let dispatcher = Dispatcher::new(runtime(), services)
            .with_quarantine(QuarantineFile::open(data.path()).unwrap())
            .with_strike_policy(policy.clone());
        dispatcher
            .add(hostile("wiper", "delete-all", r#"tasks = ["read"]"#))
            .unwrap();
        let task = tasks.create(new_task("d"), 2).unwrap();
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
        // Four refused deletions per run: 4, 8, then 12 strikes, past 10.
        let expected = 4 * restart;
        assert_eq!(
            QuarantineFile::open(data.path())
                .unwrap()
                .strikes("wiper")
                .count(AbuseKind::Denied),
            expected,
            "run {restart}"
        );
        assert_eq!(report.quarantined.len(), usize::from(restart == 3), "run {restart}");
    }
}

#[test]
fn too_many_host_calls_in_one_event_trap_and_quarantine() {
    // Fewer host calls allowed than log lines: the host-call limit trips first.
    let text = hostile_manifest("chatter", "log-flood", "", "").replace("[limits]\n", "[limits]\nhost-calls = 50\n");
    let plugin = load(&text, artifacts::HOSTILE, Grants::everything_requested()).unwrap();
    let mut host = Host::new(vec![plugin]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "chatter"), AbuseKind::HostCalls);
    assert!(detail.contains("more than 50 host calls"), "{detail}");
    assert_eq!(host.quarantined("chatter").kind, AbuseKind::HostCalls);
    host.assert_bystander_works();
}

#[test]
fn a_plugin_out_of_fuel_is_stopped_when_the_host_counts_fuel() {
    let runtime = Runtime::with_options(plugboard_host::RuntimeOptions {
        fuel: true,
        ..plugboard_host::RuntimeOptions::default()
    })
    .unwrap();
    // A generous deadline, so that only the fuel budget can stop the loop.
    let text = hostile_manifest("burner", "loop-on-event", r#"tasks = ["read", "write"]"#, "")
        .replace("deadline = \"100ms\"", "deadline = \"10s\"\nfuel = 10000000");
    let manifest = Manifest::parse(&text, std::path::Path::new("plugin.toml")).unwrap();
    let origin = std::path::Path::new(artifacts::HOSTILE.path);
    let plugin = runtime
        .load_bytes(
            manifest,
            origin.parent().unwrap_or(origin),
            origin,
            artifacts::HOSTILE.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap();
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(&runtime, services);
    dispatcher.add(plugin).unwrap();
    let task = tasks.create(new_task("spin"), 1).unwrap();
    let started = Instant::now();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fuel, not the 10 s deadline, stopped it"
    );
    trapped(report.deliveries[0].outcome.clone(), AbuseKind::Fuel);
    assert_eq!(report.quarantined[0].kind, AbuseKind::Fuel);
}

#[test]
fn denied_calls_traps_and_quarantine_are_written_to_the_plugin_log() {
    let (services, tasks) = HostServices::in_memory();
    let logs = plugboard_host::InMemoryPluginLogs::new();
    let dispatcher = Dispatcher::new(runtime(), services).with_logs(logs.clone());
    dispatcher
        .add(hostile("wiper", "delete-all", r#"tasks = ["read"]"#))
        .unwrap();
    tasks.create(new_task("keep me"), 1).unwrap();
    tasks.create(new_task("me too"), 1).unwrap();
    let task = tasks.create(new_task("and me"), 1).unwrap();
    dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    let lines = logs.tail("wiper", 100);
    let audit: Vec<&String> = lines.iter().filter(|l| l.contains(" audit ")).collect();
    assert_eq!(
        audit
            .iter()
            .filter(|l| l.ends_with("audit denied: not granted `tasks.delete`"))
            .count(),
        3,
        "{lines:#?}"
    );
    assert!(
        audit.iter().any(|l| l.ends_with(
            "audit quarantined after 3 denied strike(s): made 3 call(s) to permissions its manifest never requested"
        )),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(" info  delete refused: ")),
        "the plugin's own lines are kept: {lines:#?}"
    );
}

/// The most a call that waits inside the host may run past its deadline
/// before it is stopped.
const DEADLINE_SLACK: Duration = Duration::from_millis(20);

/// Checks that `plugin`'s delivery was stopped for its 100 ms deadline,
/// within the slack, and that it was quarantined for it.
fn stopped_at_deadline(host: &Host, report: &DispatchReport, plugin: &str) -> String {
    let delivery = report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == plugin)
        .unwrap_or_else(|| panic!("{plugin} got no delivery: {report:#?}"));
    let detail = trapped(delivery.outcome.clone(), AbuseKind::Deadline);
    let most = Duration::from_millis(100) + DEADLINE_SLACK;
    assert!(
        delivery.elapsed <= most,
        "{plugin} was stopped after {:?}, more than its deadline and {DEADLINE_SLACK:?}",
        delivery.elapsed
    );
    assert_eq!(host.quarantined(plugin).kind, AbuseKind::Deadline);
    detail
}

/// Starts every instance first, so that a delivery's time is its call's.
fn warm(host: &Host) {
    for (id, result) in host.dispatcher.start_all_blocking() {
        assert!(result.is_ok(), "{id} did not start: {result:?}");
    }
}

#[test]
fn sleeping_in_on_event_is_stopped_at_the_deadline() {
    let mut host = Host::alone(vec![hostile("sleeper", "sleep-on-event", "")]);
    warm(&host);
    let report = host.attack();
    let detail = stopped_at_deadline(&host, &report, "sleeper");
    assert!(detail.contains("waiting inside a host call"), "{detail}");
    host.assert_bystander_works();
}

#[test]
fn sleeping_in_init_is_stopped_at_the_deadline() {
    let mut host = Host::alone(vec![hostile("init-sleeper", "sleep-in-init", "")]);
    let report = host.attack();
    stopped_at_deadline(&host, &report, "init-sleeper");
    host.assert_bystander_works();
}

#[test]
fn polling_a_far_future_clock_is_stopped_at_the_deadline() {
    let mut host = Host::alone(vec![hostile("poller", "poll-far-future", "")]);
    warm(&host);
    let report = host.attack();
    stopped_at_deadline(&host, &report, "poller");
    host.assert_bystander_works();
}

#[test]
fn reading_stdin_finds_it_closed_instead_of_waiting() {
    // A plugin has no standard input: a blocking read ends at once, so it
    // cannot hold its call open on it.
    let mut host = Host::alone(vec![hostile("reader", "read-stdin", "")]);
    let report = host.attack();
    let delivery = report.deliveries.iter().find(|d| &*d.plugin == "reader").unwrap();
    assert_eq!(delivery.outcome, Outcome::Handled, "{report:#?}");
    let lines: Vec<&str> = delivery.effects.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(lines, ["stdin: StreamError::Closed"]);
    assert!(delivery.elapsed < Duration::from_millis(100), "{:?}", delivery.elapsed);
    host.assert_bystander_works();
}

#[test]
fn a_response_body_that_never_ends_is_stopped_at_the_deadline() {
    // Headers and the start of the body, then silence: the plugin waits in
    // a blocking read of the body stream, inside the host.
    let (port, server) = serve(
        1,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhel",
        Duration::from_secs(2),
    );
    let granted = Grants {
        network: Some(vec!["127.0.0.1".into()]),
        subscribe: Some(vec!["task-created".into()]),
        ..Grants::none()
    };
    let text = net_fetch_manifest("stalled", &format!("127.0.0.1:{port}"))
        .replace("[config]", "[limits]\ndeadline = \"100ms\"\n\n[config]");
    let plugin = load(&text, artifacts::NET_FETCH, granted).unwrap();
    let mut host = Host::alone(vec![plugin]);
    warm(&host);
    let report = host.attack();
    stopped_at_deadline(&host, &report, "stalled");
    host.assert_bystander_works();
    server.join().unwrap();
}

/// Two plugins that each answer every event of the other with 16 events
/// (the most one call may emit), started by `starter`'s answer to a new
/// task: without a budget, one task would cause 16 + 16² + 16³ + 16⁴
/// deliveries.
fn amplifiers(extra: &str) -> Vec<LoadedPlugin> {
    // These tests are about the budget, not deadlines: copying megabytes of
    // payloads in a debug build on a busy machine may take a while.
    let manifest = |id: &str, config: String, listens: &str| {
        patient(hostile_manifest(id, "amplify", "", &config)).replace("\"custom:*\"", &format!("\"custom:{listens}\""))
    };
    let starter = load(
        &manifest(
            "amp-a",
            format!("starts = \"true\"\nsends = \"ping\"\n{extra}"),
            "amp-b/pong",
        ),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap();
    let answerer = load(
        &manifest("amp-b", format!("sends = \"pong\"\n{extra}"), "amp-a/ping"),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap();
    vec![starter, answerer]
}

#[test]
fn amplifying_plugins_stop_at_the_dispatch_delivery_budget() {
    let mut host = Host::new(amplifiers(""));
    let report = host.attack();
    let emitted = report.deliveries.iter().filter(|d| d.depth > 0).count();
    assert!(
        emitted <= DispatchBudget::default().emitted_deliveries as usize,
        "{emitted} deliveries of emitted events"
    );
    assert!(
        emitted >= 16 + 256,
        "the first two steps are within the budget: {emitted}"
    );
    assert!(!report.dropped_emits.is_empty());
    let storms: Vec<&str> = report
        .quarantined
        .iter()
        .filter(|r| r.kind == AbuseKind::EventStorm)
        .map(|r| r.plugin.as_str())
        .collect();
    assert!(!storms.is_empty(), "{:?}", report.quarantined);
    let record = &report.quarantined[0];
    assert!(record.reason.contains("more than 1000 deliveries"), "{}", record.reason);
    host.assert_bystander_works();
}

#[test]
fn large_emitted_payloads_stop_at_the_dispatch_byte_budget() {
    // 16 events of 400 KiB from one call: 6.25 MiB, within what one call
    // may hand the host (8 MiB), but past the dispatch's 4 MiB.
    let mut host = Host::new(amplifiers(&format!("bytes = \"{}\"", 400 << 10)));
    let report = host.attack();
    // Ten fit in 4 MiB; the eleventh is refused and quarantines the
    // emitter, whose events then go nowhere.
    let dropped: Vec<&str> = report.dropped_emits.iter().map(|(from, _)| &**from).collect();
    assert_eq!(dropped, ["amp-a"; 6], "{report:#?}");
    assert!(report.deliveries.iter().all(|d| d.depth == 0), "{report:#?}");
    let record = host.quarantined("amp-a");
    assert_eq!(record.kind, AbuseKind::EventStorm);
    assert!(record.reason.contains("passed 4194304 bytes"), "{}", record.reason);
    host.assert_bystander_works();
}

#[test]
fn a_call_cut_short_by_the_dispatch_wall_clock_is_not_struck() {
    // The plugin may take a second, but the whole dispatch only has 150 ms.
    let text = hostile_manifest("slow", "sleep-on-event", "", "").replace("deadline = \"100ms\"", "deadline = \"1s\"");
    let plugin = load(&text, artifacts::HOSTILE, Grants::everything_requested()).unwrap();
    let options = DispatcherOptions {
        budget: DispatchBudget {
            wall_clock: Duration::from_millis(150),
            ..DispatchBudget::default()
        },
        ..DispatcherOptions::default()
    };
    let mut host = Host::with_options(vec![plugin], options);
    let started = Instant::now();
    let report = host.attack();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    match Host::outcome_of(&report, "slow") {
        Outcome::OutOfBudget(why) => assert!(why.contains("budget"), "{why}"),
        other => panic!("expected the call to be cut by the budget, got {other:?}"),
    }
    assert!(report.quarantined.is_empty());
    assert_eq!(host.dispatcher.strikes("slow").map(|s| s.total()), Some(0));
    host.assert_bystander_works();
}

// --- Work the host does on a plugin's behalf -------------------------------

/// A hostile plugin with extra `[config]` lines.
fn hostile_with(id: &str, attack: &str, permissions: &str, config: &str) -> LoadedPlugin {
    load(
        &hostile_manifest(id, attack, permissions, config),
        artifacts::HOSTILE,
        Grants::everything_requested(),
    )
    .unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn logs_of(report: &DispatchReport, plugin: &str) -> Vec<String> {
    report
        .deliveries
        .iter()
        .filter(|d| &*d.plugin == plugin)
        .flat_map(|d| d.effects.logs.iter().map(|l| l.message.clone()))
        .collect()
}

fn delivery_of<'a>(report: &'a DispatchReport, plugin: &str) -> &'a plugboard_host::Delivery {
    report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == plugin)
        .unwrap_or_else(|| panic!("{plugin} got no delivery: {report:#?}"))
}

#[test]
fn creates_of_huge_titles_stop_at_the_call_budget() {
    // 10 000 creates of 1000 KiB titles, each within `max-value`: staged
    // until the call ends, that was 10 GB of host memory.
    let mut host = Host::new(vec![patient_hostile("creator", "huge-creates", r#"tasks = ["write"]"#)]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "creator"), AbuseKind::LargeValue);
    assert!(
        detail.contains("handed the host more than 8388608 bytes in one call"),
        "{detail}"
    );
    assert_eq!(delivery_of(&report, "creator").effects.discarded_changes, 8);
    host.quarantined("creator");
    host.assert_bystander_works();
}

#[test]
fn log_lines_count_against_the_call_budget_whole() {
    // 1 000 lines of 1000 KiB: each within `max-value`, each cut to
    // nothing past the 256 KiB of log per call, but each was kept whole.
    let mut host = Host::new(vec![patient_hostile("shouter2", "huge-log-lines", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "shouter2"), AbuseKind::LargeValue);
    assert!(detail.contains("the last a log line"), "{detail}");
    let kept: usize = logs_of(&report, "shouter2").iter().map(String::len).sum();
    assert!(kept <= 256 << 10, "{kept} bytes of log kept");
    host.assert_bystander_works();
}

#[test]
fn emitted_payloads_count_against_the_call_budget() {
    // 16 events of 1000 KiB from one call: each within `max-value`, 16 MB
    // together.
    let mut host = Host::new(amplifiers(&format!("bytes = \"{}\"", 1000 << 10)));
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "amp-a"), AbuseKind::LargeValue);
    assert!(detail.contains("the last a emitted event"), "{detail}");
    assert!(
        report.deliveries.iter().all(|d| d.depth == 0),
        "nothing emitted: {report:#?}"
    );
    host.assert_bystander_works();
}

#[test]
fn state_writes_count_against_the_call_budget() {
    // 1 MiB values under a 64 MiB quota: the quota would allow 64 of them,
    // one call may hand the host 8 MiB.
    let text = patient(hostile_manifest(
        "big-filler",
        "huge-state",
        r#"state = { quota = "64MiB" }"#,
        "",
    ));
    let mut host = Host::new(vec![
        load(&text, artifacts::HOSTILE, Grants::everything_requested()).unwrap(),
    ]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "big-filler"), AbuseKind::LargeValue);
    assert!(detail.contains("the last a state write"), "{detail}");
    assert_eq!(
        plugboard_contract::StateStore::usage(&*host.services.state, "big-filler").unwrap(),
        0,
        "nothing was written"
    );
    host.assert_bystander_works();
}

#[test]
fn a_list_of_empty_strings_is_not_zero_bytes() {
    // A million empty tags to remove: no text, but a million strings the
    // host would copy out and hold.
    let mut host = Host::new(vec![patient_hostile(
        "hollow",
        "empty-strings",
        r#"tasks = ["read", "write"]"#,
    )]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "hollow"), AbuseKind::LargeValue);
    assert!(detail.contains("its `max-value` is 1048576 bytes"), "{detail}");
    host.assert_bystander_works();
}

#[test]
fn long_ids_and_topics_are_refused_before_the_host_uses_them() {
    let mut host = Host::new(vec![hostile("namer", "long-names", r#"tasks = ["read"]"#)]);
    let report = host.attack();
    assert_eq!(Host::outcome_of(&report, "namer"), Outcome::Handled);
    assert_eq!(
        logs_of(&report, "namer"),
        [
            "get: Err(Error::Invalid(\"task id is 307200 bytes; the most is 256\"))",
            "emit: Err(Error::Invalid(\"topic is 307200 bytes; the most is 256\"))",
        ]
    );
    host.assert_bystander_works();
}

#[test]
fn a_long_query_text_over_many_tasks_costs_the_host_little() {
    // Lowercasing a 1000 KiB query text again for each of 2 000 tasks was
    // 2 GB of work inside one host call, where no deadline can stop it.
    let mut host = Host::alone(vec![hostile("seeker", "long-query", r#"tasks = ["read"]"#)]);
    for i in 0..2_000 {
        host.tasks.create(new_task(format!("task {i}")), 1).unwrap();
    }
    warm(&host);
    let report = host.attack();
    let delivery = delivery_of(&report, "seeker");
    assert_eq!(delivery.outcome, Outcome::Handled, "{:?}", delivery.elapsed);
    assert_eq!(logs_of(&report, "seeker"), ["query: Ok(0)"]);
    assert!(delivery.elapsed < Duration::from_millis(500), "{:?}", delivery.elapsed);
}

#[test]
fn many_tags_are_merged_in_linear_time() {
    // 25 000 distinct tags on create and 25 000 more in a patch: a scan per
    // tag was 10^9 string comparisons inside two host calls.
    // Building the tags inside the plugin takes a while in itself: a
    // longer deadline, so that only the host's share is measured.
    let text = patient(hostile_manifest(
        "tagger",
        "many-tags",
        r#"tasks = ["read", "write"]"#,
        "count = \"25000\"",
    ));
    let plugin = load(&text, artifacts::HOSTILE, Grants::everything_requested()).unwrap();
    let mut host = Host::alone(vec![plugin]);
    warm(&host);
    let (_, report) = host.create("Plain new task");
    let delivery = delivery_of(&report, "tagger");
    assert_eq!(delivery.outcome, Outcome::Handled, "{:?}", delivery.elapsed);
    assert_eq!(logs_of(&report, "tagger"), ["update: Ok(50000)"]);
    eprintln!("many tags: {:?}", delivery.elapsed);
    assert!(delivery.elapsed < Duration::from_millis(1500), "{:?}", delivery.elapsed);
}

#[test]
fn random_bytes_are_capped_per_call() {
    // 32 MiB of randomness in one `wasi:random` call: the host allocates it
    // before the plugin's memory cap can say anything.
    let mut host = Host::new(vec![hostile("dice", "huge-random", "")]);
    let report = host.attack();
    let detail = trapped(Host::outcome_of(&report, "dice"), AbuseKind::LargeValue);
    assert!(detail.contains("wasi:random"), "{detail}");
    host.assert_bystander_works();
}

/// Runs one amplification attack in this process when the parent test
/// asks for it (`PLUGBOARD_MEMORY_ATTACK`), and prints the process's peak
/// resident memory; without the variable it does nothing, as it is only
/// a child of [`peak_host_memory_stays_bounded_under_each_amplification_attack`].
#[test]
fn memory_attack_child() {
    let Ok(attack) = std::env::var("PLUGBOARD_MEMORY_ATTACK") else {
        return;
    };
    let permissions = "tasks = [\"read\", \"write\"]\nstate = { quota = \"64MiB\" }";
    let mut host = Host::new(vec![hostile("amplifier", &attack, permissions)]);
    for _ in 0..3 {
        host.attack();
        host.assert_bystander_works();
    }
    println!("PEAK_RSS_KIB={}", peak_rss_kib());
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux has /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("/proc/self/status has VmHWM")
}

#[test]
fn peak_host_memory_stays_bounded_under_each_amplification_attack() {
    let _alone = CPU.write().unwrap_or_else(|e| e.into_inner());
    let exe = std::env::current_exe().unwrap();
    let attacks = [
        "huge-creates",
        "huge-log-lines",
        "huge-state",
        "empty-strings",
        "huge-random",
        "many-tags",
        "long-query",
        "none",
    ];
    for attack in attacks {
        let output = std::process::Command::new(&exe)
            .args(["memory_attack_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("PLUGBOARD_MEMORY_ATTACK", attack)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{attack}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let peak: u64 = stdout
            .lines()
            .find_map(|l| l.split("PEAK_RSS_KIB=").nth(1))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{attack}: the child printed no peak: {stdout}"));
        eprintln!("{attack}: peak resident memory {} MiB", peak >> 10);
        assert!(peak < 500 << 10, "{attack}: the host peaked at {} MiB", peak >> 10);
    }
}

// --- All or nothing includes state -------------------------------------------

#[test]
fn state_written_before_a_trap_is_not_kept() {
    let mut host = Host::new(vec![hostile(
        "half-writer",
        "state-then-trap",
        r#"state = { quota = "16KiB" }"#,
    )]);
    let report = host.attack();
    trapped(Host::outcome_of(&report, "half-writer"), AbuseKind::Crash);
    assert_eq!(delivery_of(&report, "half-writer").effects.discarded_changes, 1);
    assert_eq!(
        plugboard_contract::StateStore::get(&*host.services.state, "half-writer", "written").unwrap(),
        None
    );
    host.assert_bystander_works();
}

/// A state store that counts the writes that reach it.
#[derive(Default)]
struct CountingState {
    inner: plugboard_contract::InMemoryStateStore,
    writes: std::sync::atomic::AtomicUsize,
}

impl plugboard_contract::StateStore for CountingState {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, plugboard_contract::StateStoreError> {
        self.inner.get(plugin, key)
    }
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), plugboard_contract::StateStoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.set(plugin, key, value)
    }
    fn delete(&self, plugin: &str, key: &str) -> Result<(), plugboard_contract::StateStoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.delete(plugin, key)
    }
    fn list_keys(&self, plugin: &str) -> Result<Vec<String>, plugboard_contract::StateStoreError> {
        self.inner.list_keys(plugin)
    }
    fn usage(&self, plugin: &str) -> Result<u64, plugboard_contract::StateStoreError> {
        self.inner.usage(plugin)
    }
    fn set_within_quota(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<bool, plugboard_contract::StateStoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.set_within_quota(plugin, key, value, quota)
    }
    fn apply_within_quota(
        &self,
        plugin: &str,
        changes: &[plugboard_contract::StateChange],
        quota: u64,
    ) -> Result<bool, plugboard_contract::StateStoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.apply_within_quota(plugin, changes, quota)
    }
}

#[test]
fn a_calls_state_writes_reach_the_store_as_one_batch() {
    let state = Arc::new(CountingState::default());
    let (mut services, _) = HostServices::in_memory();
    services.state = state.clone();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher
        .add(hostile("batcher", "fill-state", r#"state = { quota = "16KiB" }"#))
        .unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(
        plugboard_contract::task_store::build_task("t".into(), new_task("x"), 1).unwrap(),
    ));
    assert_eq!(
        logs_of(&report, "batcher"),
        ["stored 15 blocks, then: Error::QuotaExceeded"]
    );
    assert_eq!(
        state.writes.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "one batch, one write"
    );
    assert_eq!(
        plugboard_contract::StateStore::list_keys(&state.inner, "batcher")
            .unwrap()
            .len(),
        15
    );
}

// --- Permissions that leak -----------------------------------------------------

#[test]
fn tasks_write_alone_neither_reads_nor_probes_nor_deletes() {
    let (services, tasks) = HostServices::in_memory();
    let other = tasks.create(new_task("Someone else's secret"), 1).unwrap();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher
        .add(hostile_with(
            "prober",
            "write-only-probe",
            r#"tasks = ["write"]"#,
            &format!("probe = \"{}\"", other.id),
        ))
        .unwrap();
    let task = tasks.create(new_task("My secret title"), 1).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
    assert_eq!(
        logs_of(&report, "prober"),
        [
            "empty patch returned title \"\"".to_string(),
            "probe: Error::Denied(\"plugin `prober` was not granted `tasks.read`\")".to_string(),
            "status deleted: Err(Error::Denied(\"plugin `prober` was not granted `tasks.delete`\"))".to_string(),
        ]
    );
    assert_eq!(tasks.all(), vec![other, task], "nothing changed");
}

#[test]
fn a_probe_for_an_id_that_does_not_exist_gets_the_same_answer() {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher
        .add(hostile_with(
            "prober2",
            "write-only-probe",
            r#"tasks = ["write"]"#,
            "probe = \"00000000-0000-0000-0000-000000000000\"",
        ))
        .unwrap();
    let task = tasks.create(new_task("x"), 1).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    assert_eq!(
        logs_of(&report, "prober2")[1],
        "probe: Error::Denied(\"plugin `prober2` was not granted `tasks.read`\")"
    );
}

#[test]
fn an_event_carries_only_the_task_id_and_times_to_a_plugin_without_read() {
    let mut host = Host::new(vec![
        hostile("blind", "print", ""),
        hostile("sighted", "print", r#"tasks = ["read"]"#),
    ]);
    let report = host.attack();
    assert_eq!(logs_of(&report, "blind"), ["saw "]);
    assert_eq!(logs_of(&report, "sighted"), ["saw Plain new task"]);
}

#[test]
fn an_ungranted_plugin_runs_no_code() {
    // It requests task access and events, the user granted none of it: not
    // even its `init` (here an endless loop) runs.
    let plugin = load(
        &hostile_manifest("ungranted-init", "loop-in-init", r#"tasks = ["read"]"#, ""),
        artifacts::HOSTILE,
        Grants::none(),
    )
    .unwrap();
    let host = Host::new(vec![plugin]);
    let started = host.dispatcher.start_all_blocking();
    let (_, result) = started
        .iter()
        .find(|(id, _)| &**id == "ungranted-init")
        .expect("it is listed");
    assert!(
        matches!(result, Err(Outcome::Unavailable(why)) if why.contains("granted nothing")),
        "{result:?}"
    );
    assert!(!host.dispatcher.is_live("ungranted-init"));
    let err = host
        .dispatcher
        .run_command_blocking("ungranted-init", "big", &[])
        .unwrap_err();
    assert!(err.to_string().contains("granted nothing"), "{err}");
    assert!(host.dispatcher.quarantined("ungranted-init").is_none());
}

// --- Strikes that punish the innocent -------------------------------------------

/// A task store whose every call fails, like a busy database.
struct BusyTasks;

impl plugboard_contract::TaskStore for BusyTasks {
    fn get(&self, _: &str) -> Result<Option<Task>, plugboard_contract::TaskStoreError> {
        Err(plugboard_contract::TaskStoreError::Unavailable(
            "database is locked".into(),
        ))
    }
    fn query(&self, _: &plugboard_contract::Filter) -> Result<Vec<Task>, plugboard_contract::TaskStoreError> {
        Err(plugboard_contract::TaskStoreError::Unavailable(
            "database is locked".into(),
        ))
    }
    fn commit(&self, _: &[plugboard_contract::TaskChange]) -> Result<(), plugboard_contract::TaskStoreError> {
        Err(plugboard_contract::TaskStoreError::Unavailable(
            "database is locked".into(),
        ))
    }
}

/// A state store whose every call fails, like a full disk.
struct FullDisk;

impl plugboard_contract::StateStore for FullDisk {
    fn get(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, plugboard_contract::StateStoreError> {
        Err(plugboard_contract::StateStoreError::Unavailable("disk full".into()))
    }
    fn set(&self, _: &str, _: &str, _: &[u8]) -> Result<(), plugboard_contract::StateStoreError> {
        Err(plugboard_contract::StateStoreError::Unavailable("disk full".into()))
    }
    fn delete(&self, _: &str, _: &str) -> Result<(), plugboard_contract::StateStoreError> {
        Err(plugboard_contract::StateStoreError::Unavailable("disk full".into()))
    }
    fn list_keys(&self, _: &str) -> Result<Vec<String>, plugboard_contract::StateStoreError> {
        Err(plugboard_contract::StateStoreError::Unavailable("disk full".into()))
    }
    fn usage(&self, _: &str) -> Result<u64, plugboard_contract::StateStoreError> {
        Err(plugboard_contract::StateStoreError::Unavailable("disk full".into()))
    }
}

#[test]
fn failing_application_stores_are_host_failures_not_strikes() {
    let (mut services, _) = HostServices::in_memory();
    services.tasks = Arc::new(BusyTasks);
    services.state = Arc::new(FullDisk);
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(bystander()).unwrap();
    dispatcher
        .add(hostile("keeper", "set-state", r#"state = { quota = "16KiB" }"#))
        .unwrap();
    for _ in 0..5 {
        let task = plugboard_contract::task_store::build_task("t".into(), new_task("Fix urgent bug"), 1).unwrap();
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
        for plugin in ["auto-tag", "keeper"] {
            let outcome = Host::outcome_of(&report, plugin);
            assert!(
                matches!(&outcome, Outcome::HostFailed(why) if why.contains("database is locked") || why.contains("disk full")),
                "{plugin}: {outcome:?}"
            );
        }
        assert!(report.quarantined.is_empty(), "{report:#?}");
    }
    assert_eq!(dispatcher.strikes("auto-tag"), Some(plugboard_host::Strikes::default()));
    assert_eq!(dispatcher.strikes("keeper"), Some(plugboard_host::Strikes::default()));
}

#[test]
fn calls_to_requested_but_ungranted_permissions_are_reported_not_struck() {
    // It asks for read and delete; the user grants read only. Three
    // refused deletes per event, five events: reported, never punished.
    let grants = Grants {
        tasks: Some(vec!["read".into()]),
        ..Grants::everything_requested()
    };
    let plugin = load(
        &hostile_manifest("asker", "delete-all", r#"tasks = ["read", "delete"]"#, ""),
        artifacts::HOSTILE,
        grants,
    )
    .unwrap();
    let mut host = Host::new(vec![plugin]);
    for _ in 0..5 {
        let report = host.attack();
        let delivery = delivery_of(&report, "asker");
        assert_eq!(delivery.outcome, Outcome::Handled);
        assert!(delivery.effects.denied.len() >= 3, "{:?}", delivery.effects.denied);
        assert!(delivery.effects.denied.iter().all(|d| d == "tasks.delete"));
        assert_eq!(delivery.effects.denied_unrequested, 0);
    }
    assert!(host.dispatcher.quarantined("asker").is_none());
    assert_eq!(
        host.dispatcher.strikes("asker"),
        Some(plugboard_host::Strikes::default())
    );
}

// --- Strikes from init -----------------------------------------------------------

#[test]
fn a_plugin_that_only_traps_in_init_is_quarantined_within_the_run() {
    // It subscribes to nothing, so no event would ever start it again.
    let text = r#"
[plugin]
id = "init-crasher"
name = "init-crasher"
version = "0.1.0"
api = "task-events@2"
component = "hostile.wasm"

[config]
attack = "panic-in-init"
"#;
    let plugin = load(text, artifacts::HOSTILE, Grants::everything_requested()).unwrap();
    let host = Host::new(vec![plugin]);
    host.dispatcher.start_all_blocking();
    let record = host.quarantined("init-crasher");
    assert_eq!((record.kind, record.strikes), (AbuseKind::Crash, 3));
}

#[test]
fn what_a_plugin_wrote_before_its_init_failed_reaches_the_report() {
    // A Rust panic (like a Python traceback) is written to stderr just
    // before the trap: the failed start reports it with the trap.
    let mut host = Host::new(vec![hostile("init-panicker", "panic-in-init", "")]);
    let report = host.attack();
    let delivery = report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == "init-panicker")
        .expect("the event was offered to it");
    trapped(delivery.outcome.clone(), AbuseKind::Crash);
    assert!(
        delivery
            .effects
            .logs
            .iter()
            .any(|line| line.message.contains("the hostile plugin panics in init")),
        "{:#?}",
        delivery.effects.logs
    );
}
