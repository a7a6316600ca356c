//! The application's own interface, through plugboard's public API: a
//! granted plugin's call reaches the app; without the grant, or built
//! against a version the app does not offer, it is refused at load, named;
//! a call that waits in the app's implementation ends at the plugin's
//! deadline; the app's calls count toward the plugin's host-call allowance;
//! and the example program runs.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_notify::{Notifier, notify_interface};
use plugboard::task_store::new_task;
use plugboard::types::Event;
use plugboard::{
    AppInterface, Grant, GrantsFile, Host, HostConfig, InMemoryTaskStore, OpenError, Outcome, PluginStatus,
};
use plugboard_host::AbuseKind;
use plugboard_test_artifacts as artifacts;

const MANIFEST: &str = include_str!("../../notify-plugin/plugin.toml");

/// A plugins folder holding notify-plugin, with `limits` appended to its
/// manifest, and the app's config and data folders; the user granted it
/// `grants`.
struct App {
    root: tempfile::TempDir,
}

impl App {
    fn new(limits: &str, grants: &[&str]) -> App {
        let root = tempfile::tempdir().expect("a temporary folder");
        let plugin = root.path().join("plugins/notify-plugin");
        std::fs::create_dir_all(&plugin).expect("the plugin folder");
        std::fs::write(plugin.join("plugin.toml"), format!("{MANIFEST}\n{limits}")).expect("the manifest");
        std::fs::write(plugin.join("notify_plugin.wasm"), artifacts::NOTIFY_PLUGIN.bytes).expect("the component");
        let mut file = GrantsFile::open(&root.path().join("config")).expect("the grants file");
        let grants: Vec<Grant> = grants.iter().map(|g| g.parse().expect("a grant")).collect();
        file.grant("notify-plugin", &grants);
        file.save().expect("the grants are saved");
        App { root }
    }

    fn config(&self) -> HostConfig {
        let path = self.root.path();
        HostConfig::new(path.join("plugins"), path.join("config"), path.join("data"))
    }

    fn open(&self, interface: AppInterface) -> Result<(Host, Arc<InMemoryTaskStore>), OpenError> {
        let tasks = Arc::new(InMemoryTaskStore::new());
        let host = Host::builder(self.config())
            .task_store(tasks.clone())
            .app_interface(interface)
            .open()?;
        Ok((host, tasks))
    }
}

const GRANTED: &[&str] = &["tasks.read", "subscribe:task-created", "app:app.notify"];

fn status(host: &Host) -> String {
    let report = host.report();
    let plugin = report
        .plugins
        .iter()
        .find(|p| p.id == "notify-plugin")
        .expect("notify-plugin is reported");
    plugin.status.to_string()
}

fn create(host: &Host, tasks: &InMemoryTaskStore, title: &str) -> plugboard::DispatchReport {
    let task = tasks
        .create(new_task(title), (host.services().clock)())
        .expect("the task is created");
    host.dispatch_blocking(&Event::TaskCreated(task))
}

#[test]
fn a_granted_plugins_call_reaches_the_apps_implementation() {
    let app = App::new("", GRANTED);
    let (notifier, mut shown) = Notifier::new(4);
    let (host, tasks) = app
        .open(notify_interface(notifier).expect("the interface"))
        .expect("the host opens");
    assert_eq!(status(&host), "loaded (task-events@2)");
    let report = create(&host, &tasks, "Water the plants");
    let delivery = &report.deliveries[0];
    assert_eq!(delivery.outcome, Outcome::Handled, "{}", delivery.outcome);
    let notification = shown.try_recv().expect("the app got a notification");
    assert_eq!(notification.plugin, "notify-plugin");
    assert_eq!(notification.title, "New task");
    assert_eq!(notification.body, "Water the plants");
    assert!(shown.try_recv().is_err(), "exactly one");
}

#[test]
fn without_the_grant_the_plugin_is_refused_at_load_naming_interface_and_permission() {
    let app = App::new("", &["tasks.read", "subscribe:task-created"]);
    let (notifier, _shown) = Notifier::new(4);
    let (host, _) = app
        .open(notify_interface(notifier).expect("the interface"))
        .expect("the host opens");
    let report = host.report();
    let plugin = &report.plugins[0];
    assert!(
        matches!(plugin.status, PluginStatus::LoadFailed(_)),
        "{}",
        plugin.status
    );
    let message = plugin.status.to_string();
    assert!(message.contains("`myapp:ui/notify@1.0.0`"), "{message}");
    assert!(message.contains("needs the permission `app.notify`"), "{message}");
}

#[test]
fn a_version_the_app_does_not_offer_is_refused_at_load() {
    let app = App::new("", GRANTED);
    // The app offers notify 2.0.0 only; the plugin was built against 1.0.0.
    let wit = std::fs::read_to_string(Path::new(app_notify::WIT_DIR).join("notify.wit"))
        .expect("the WIT")
        .replace("myapp:ui@1.0.0", "myapp:ui@2.0.0");
    let (notifier, _shown) = Notifier::new(4);
    let offered_2 =
        AppInterface::from_wit_text(&wit, app_notify::PERMISSION, notifier, |_, _| Ok(())).expect("the interface");
    assert_eq!(offered_2.interfaces(), ["myapp:ui/notify@2.0.0"]);
    let (host, _) = app.open(offered_2).expect("the host opens");
    let message = status(&host);
    assert!(
        message.contains("the application offers `myapp:ui/notify` at 2.0.0, not 1.0.0"),
        "{message}"
    );
}

#[test]
fn a_call_that_waits_in_the_app_ends_at_the_plugins_deadline() {
    let app = App::new("[limits]\ndeadline = \"300ms\"\n", GRANTED);
    // A queue of one that the UI never empties: the second notification
    // waits for room that never comes.
    let (notifier, mut shown) = Notifier::new(1);
    let (host, tasks) = app
        .open(notify_interface(notifier).expect("the interface"))
        .expect("the host opens");
    assert_eq!(create(&host, &tasks, "First").deliveries[0].outcome, Outcome::Handled);
    let started = Instant::now();
    let report = create(&host, &tasks, "Second");
    let waited = started.elapsed();
    match &report.deliveries[0].outcome {
        Outcome::Trapped(abuse) => assert_eq!(abuse.kind, AbuseKind::Deadline, "{abuse}"),
        other => panic!("the waiting call is stopped at its deadline, not: {other}"),
    }
    assert!(
        waited < Duration::from_secs(5),
        "stopped at its deadline, after {waited:?}"
    );
    // A call past its deadline is struck as any other: the plugin is
    // quarantined, and the app goes on without it.
    assert_eq!(report.quarantined.len(), 1, "quarantined for its deadline");
    assert_eq!(shown.try_recv().expect("the first").body, "First");
    assert!(shown.try_recv().is_err(), "the stopped call showed nothing");
    assert!(create(&host, &tasks, "Third").deliveries.is_empty());
}

#[test]
fn the_apps_calls_count_toward_the_plugins_host_call_allowance() {
    // One host call per event: `notify` takes it, so the log line after it
    // is one too many.
    let app = App::new("[limits]\nhost-calls = 1\n", GRANTED);
    let (notifier, _shown) = Notifier::new(4);
    let (host, tasks) = app
        .open(notify_interface(notifier).expect("the interface"))
        .expect("the host opens");
    let report = create(&host, &tasks, "Water the plants");
    match &report.deliveries[0].outcome {
        Outcome::Trapped(abuse) => assert_eq!(abuse.kind, AbuseKind::HostCalls, "{abuse}"),
        other => panic!("the second host call is one too many, not: {other}"),
    }
}

#[test]
fn an_interface_that_clashes_with_one_offered_fails_the_open_with_its_name() {
    let app = App::new("", GRANTED);
    let (notifier, _shown) = Notifier::new(4);
    let wit = std::fs::read_to_string(Path::new(app_notify::WIT_DIR).join("notify.wit"))
        .expect("the WIT")
        .replace("myapp:ui@1.0.0", "myapp:ui@1.1.0");
    let again = AppInterface::from_wit_text(&wit, "app.notify", notifier.clone(), |_, _| Ok(())).expect("parsed");
    let result = Host::builder(app.config())
        .app_interface(notify_interface(notifier).expect("the interface"))
        .app_interface(again)
        .open();
    let Err(error) = result else {
        panic!("two versions of one major cannot both be offered");
    };
    let message = error.to_string();
    assert!(
        message.contains("`myapp:ui/notify@1.0.0` and `myapp:ui/notify@1.1.0`"),
        "{message}"
    );
}

#[test]
fn the_example_app_shows_the_plugins_notification() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let plugin = root.path().join("plugins/notify-plugin");
    std::fs::create_dir_all(&plugin).expect("the plugin folder");
    std::fs::write(plugin.join("plugin.toml"), MANIFEST).expect("the manifest");
    std::fs::write(plugin.join("notify_plugin.wasm"), artifacts::NOTIFY_PLUGIN.bytes).expect("the component");
    let output = Command::new(env!("CARGO_BIN_EXE_app-notify"))
        .arg(root.path().join("plugins"))
        .arg("Water the plants")
        .output()
        .expect("the app runs");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}\n{err}");
    assert!(
        out.contains("plugin notify-plugin 0.1.0: loaded (task-events@2)"),
        "{out}"
    );
    assert!(out.contains("notify-plugin: handled"), "{out}");
    assert!(
        out.contains("notification from notify-plugin: New task: Water the plants"),
        "{out}"
    );
}

#[test]
fn inspect_knows_the_apps_interface_and_its_permission() {
    use plugboard_host::imports::ImportVerdict;
    use plugboard_host::{AppInterfaces, Policy, Runtime, RuntimeOptions};
    let (notifier, _shown) = Notifier::new(4);
    let mut app = AppInterfaces::default();
    app.add(notify_interface(notifier).expect("the interface"))
        .expect("offered");
    let runtime = Runtime::with_app_interfaces(RuntimeOptions::default(), app).expect("the runtime");
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("notify_plugin.wasm");
    std::fs::write(&path, artifacts::NOTIFY_PLUGIN.bytes).expect("the component");
    let verdict = |policy: &Policy| {
        let info = runtime.inspect(&path, policy).expect("inspected");
        let at = info
            .imports
            .iter()
            .position(|i| i == "myapp:ui/notify@1.0.0")
            .expect("it imports the app's interface");
        info.verdicts[at].clone()
    };
    let granted = Policy {
        app: vec!["app.notify".into()],
        ..Policy::deny_all()
    };
    assert!(matches!(verdict(&granted), ImportVerdict::Linked(_)));
    match verdict(&Policy::deny_all()) {
        ImportVerdict::Refused(why) => assert!(why.contains("needs the permission `app.notify`"), "{why}"),
        other => panic!("refused without the permission, not {other:?}"),
    }
}
