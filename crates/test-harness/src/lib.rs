//! Test a plugboard plugin as its author: load the built component into an
//! in-memory host, send it events, and assert on what it did.
//!
//! ```no_run
//! use plugboard_test::TestHost;
//!
//! // The folder with plugin.toml; its `component` must be built already.
//! let host = TestHost::load(env!("CARGO_MANIFEST_DIR")).expect("the plugin loads");
//! let sent = host.create_task("Fix urgent login bug");
//! sent.assert_handled();
//! sent.assert_log_contains("tagged");
//! let task = host.only_task();
//! assert!(task.tags.contains(&"urgent".to_string()));
//! ```
//!
//! A [`TestHost`] is the real plugboard host (the `plugboard-host` crate,
//! with its sandbox, limits and permission checks) over in-memory task and
//! state stores, with a fixed clock. The plugin gets what its manifest
//! requests unless [`TestHost::builder`] is given other grants. Every
//! `assert_*` panics with what was expected, what happened, and the end of
//! the plugin's log, so a failing test says why.
//!
//! For plugins in other languages, `plugboard check PATH --events FILE.jsonl
//! --expect FILE.toml` runs the same checks from an [`Expectation`] file.
//!
//! This crate is for tests: it never touches the user's plugins, grants,
//! tasks or data folders.

#![warn(missing_docs)]

mod expect;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use plugboard_contract::task_store::new_task;
use plugboard_contract::{CustomEvent, Event, NewTask, Task, TaskModification, TaskPatch};
use plugboard_host::{
    DispatchReport, Dispatcher, HostServices, InMemoryStateStore, InMemoryTaskStore, LoadOptions, LoadedPlugin,
    StateStore,
};
use plugboard_manifest::Manifest;

pub use expect::{ExpectError, Expectation, ExpectedEmit, ExpectedTask, MAX_EXPECTATION_BYTES, Outcomes};
pub use plugboard_contract::{Priority, Status, TaskChange};
pub use plugboard_host::{CommandError, Delivery, Grants, Outcome, Runtime};

/// The time the test host's clock shows (2023-11-14T22:13:20Z), in
/// milliseconds since the Unix epoch: fixed, so that a test's expectations
/// on times hold on every run.
pub const NOW: i64 = 1_700_000_000_000;

/// The lines of the plugin's log a failure message shows.
const LOG_LINES_SHOWN: usize = 20;

/// Why a plugin could not be put into a test host.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The WebAssembly runtime could not start.
    #[error("the plugboard runtime could not start: {0}")]
    Runtime(String),
    /// `plugin.toml` is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] plugboard_manifest::ManifestError),
    /// The manifest names no component: a data-only plugin has nothing to test.
    #[error("{0} names no component (`component = \"...\"` under [plugin]); there is nothing to run")]
    NoComponent(PathBuf),
    /// The component is missing (not built yet?) or does not load.
    #[error("{0}; build the plugin first")]
    Load(#[from] plugboard_host::LoadError),
    /// The host refused the plugin.
    #[error("the plugin cannot be added to the host: {0}")]
    Add(#[from] plugboard_host::AddError),
    /// `init` failed.
    #[error("the plugin's init failed: {outcome}\n{log}")]
    Init {
        /// How it ended.
        outcome: Outcome,
        /// The end of its log.
        log: String,
    },
}

/// The runtime every test host of this process shares: one engine, so that
/// a test run compiles no more than it has to.
fn shared_runtime() -> Result<Runtime, Error> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Runtime)
}

/// How to put a plugin into a [`TestHost`]: which folder, component,
/// grants, settings and runtime.
#[must_use]
pub struct Builder {
    dir: PathBuf,
    component: Option<PathBuf>,
    options: LoadOptions,
    runtime: Option<Runtime>,
}

impl Builder {
    /// Loads this component file instead of the one plugin.toml names (for
    /// a build whose output lands elsewhere, such as `cargo component`'s).
    pub fn component(mut self, path: impl Into<PathBuf>) -> Builder {
        self.component = Some(path.into());
        self
    }

    /// Grants these permissions instead of everything the manifest requests.
    pub fn grants(mut self, grants: Grants) -> Builder {
        self.options.grants = grants;
        self
    }

    /// Overrides one of the manifest's `[config]` settings.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Builder {
        self.options.config_overrides.insert(key.into(), value.into());
        self
    }

    /// Keeps the plugin's own folder (`files.private`) in `dir/<id>`; without
    /// it, a plugin granted `files.private` does not load.
    pub fn files_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.options.files_dir = Some(dir.into());
        self
    }

    /// Runs the plugin on this runtime (for example one with a code cache)
    /// instead of the one the process's test hosts share.
    pub fn runtime(mut self, runtime: Runtime) -> Builder {
        self.runtime = Some(runtime);
        self
    }

    /// Loads the plugin and runs its `init`.
    pub fn load(self) -> Result<TestHost, Error> {
        let runtime = match self.runtime {
            Some(runtime) => runtime,
            None => shared_runtime()?,
        };
        let manifest = Manifest::from_dir(&self.dir)?;
        if self.component.is_none() && manifest.plugin.component.is_none() {
            return Err(Error::NoComponent(
                self.dir.join(plugboard_manifest::MANIFEST_FILE_NAME),
            ));
        }
        let plugin = match self.component {
            None => runtime.load(manifest, &self.dir, &self.options)?,
            Some(component) => {
                // As the runtime reads a manifest's component: at most the
                // compile bounds' file size (one byte more shows it is over).
                let limit = runtime.options().compile_bounds.file_bytes;
                let mut bytes = Vec::new();
                std::fs::File::open(&component)
                    .and_then(|file| file.take(limit.saturating_add(1)).read_to_end(&mut bytes))
                    .map_err(|source| plugboard_host::LoadError::Read {
                        plugin: manifest.plugin.id.to_string(),
                        path: component.clone(),
                        source,
                    })?;
                runtime.load_bytes(manifest, &self.dir, &component, &bytes, &self.options)?
            }
        };
        TestHost::start(runtime, plugin)
    }
}

/// One plugin in an in-memory host: send it events, look at what it did.
pub struct TestHost {
    dispatcher: Dispatcher,
    tasks: Arc<InMemoryTaskStore>,
    state: Arc<InMemoryStateStore>,
    plugin: LoadedPlugin,
    /// Every line the plugin logged so far, `init`'s included.
    log: Mutex<Vec<String>>,
    // Kept so the engine outlives the dispatcher's plugins.
    _runtime: Runtime,
}

impl TestHost {
    /// Loads the plugin in `path` (a folder with plugin.toml, or the
    /// plugin.toml itself), granted everything its manifest requests, and
    /// runs its `init`.
    pub fn load(path: impl AsRef<Path>) -> Result<TestHost, Error> {
        TestHost::builder(path).load()
    }

    /// Starts loading the plugin in `path` with other grants, settings, a
    /// component built elsewhere or another runtime.
    pub fn builder(path: impl AsRef<Path>) -> Builder {
        let path = path.as_ref();
        let dir = if path
            .file_name()
            .is_some_and(|n| n == plugboard_manifest::MANIFEST_FILE_NAME)
        {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        Builder {
            dir,
            component: None,
            options: LoadOptions::trusting_manifest(),
            runtime: None,
        }
    }

    fn start(runtime: Runtime, plugin: LoadedPlugin) -> Result<TestHost, Error> {
        let tasks = Arc::new(InMemoryTaskStore::new());
        let state = Arc::new(InMemoryStateStore::new());
        let services = HostServices {
            tasks: tasks.clone(),
            state: state.clone(),
            clock: Arc::new(|| NOW),
        };
        let dispatcher = Dispatcher::new(&runtime, services);
        dispatcher.add(plugin.clone())?;
        let host = TestHost {
            dispatcher,
            tasks,
            state,
            plugin,
            log: Mutex::new(Vec::new()),
            _runtime: runtime,
        };
        for (_, started) in host.dispatcher.start_all_blocking() {
            match started {
                Ok(effects) => host.record(effects.logs.iter().map(|l| l.message.clone())),
                Err(outcome) => {
                    return Err(Error::Init {
                        outcome,
                        log: host.log_tail(),
                    });
                }
            }
        }
        Ok(host)
    }

    /// The plugin's id.
    pub fn id(&self) -> &str {
        self.plugin.id()
    }

    /// The task store the plugin sees, for tasks a test sets up without
    /// telling the plugin.
    pub fn task_store(&self) -> &Arc<InMemoryTaskStore> {
        &self.tasks
    }

    /// Creates a task with this title and tells the plugin (`task-created`).
    pub fn create_task(&self, title: &str) -> Sent {
        self.create(new_task(title))
    }

    /// Creates this task and tells the plugin (`task-created`).
    ///
    /// # Panics
    /// When the store refuses the task (an empty title, a tag with a space).
    #[track_caller]
    pub fn create(&self, task: NewTask) -> Sent {
        let task = self
            .tasks
            .create(task, NOW)
            .unwrap_or_else(|e| panic!("the test's task cannot be created: {e}"));
        self.send(Event::TaskCreated(task))
    }

    /// Changes a task as the user would and tells the plugin
    /// (`task-modified`).
    ///
    /// # Panics
    /// When there is no such task or the patch is invalid.
    #[track_caller]
    pub fn modify(&self, id: &str, patch: &TaskPatch) -> Sent {
        let (before, after) = self
            .tasks
            .update(id, patch, NOW)
            .unwrap_or_else(|e| panic!("the test's change to task {id} cannot be made: {e}"));
        self.send(Event::TaskModified(TaskModification { before, after }))
    }

    /// Deletes a task as the user would and tells the plugin (`task-deleted`).
    ///
    /// # Panics
    /// When there is no such task.
    #[track_caller]
    pub fn delete(&self, id: &str) -> Sent {
        let task = self
            .tasks
            .delete(id)
            .unwrap_or_else(|e| panic!("the test's task {id} cannot be deleted: {e}"));
        self.send(Event::TaskDeleted(task))
    }

    /// Fires one of the plugin's timers by name.
    pub fn fire_timer(&self, name: &str) -> Sent {
        self.send(Event::Timer(name.to_string()))
    }

    /// Delivers a custom event as if another plugin (`source`) emitted it.
    pub fn custom(&self, topic: &str, payload: &[u8], source: &str) -> Sent {
        self.send(Event::Custom(CustomEvent {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            source: source.to_string(),
        }))
    }

    /// Delivers an event.
    pub fn send(&self, event: Event) -> Sent {
        let report = self.dispatcher.dispatch_blocking(&event);
        self.record(
            report
                .deliveries
                .iter()
                .filter(|d| *d.plugin == *self.plugin.id())
                .flat_map(|d| d.effects.logs.iter().map(|l| l.message.clone())),
        );
        Sent {
            plugin: self.plugin.id().to_string(),
            event: event_kind(&event),
            report,
            log: self.log_tail(),
        }
    }

    /// Runs one of the plugin's commands; the text it returned, or why not.
    pub fn command(&self, name: &str, args: &[&str]) -> Result<String, CommandError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let output = self.dispatcher.run_command_blocking(self.plugin.id(), name, &args)?;
        self.record(output.effects.logs.iter().map(|l| l.message.clone()));
        Ok(output.text)
    }

    /// Every task in the store, oldest first.
    pub fn tasks(&self) -> Vec<Task> {
        self.tasks.all()
    }

    /// The one task in the store.
    ///
    /// # Panics
    /// When there are none or several.
    #[track_caller]
    pub fn only_task(&self) -> Task {
        let mut all = self.tasks();
        assert!(
            all.len() == 1,
            "expected exactly one task, found {}: {all:#?}",
            all.len()
        );
        all.remove(0)
    }

    /// What the plugin stored under `key` in its state.
    pub fn state(&self, key: &str) -> Option<Vec<u8>> {
        self.state.get(self.plugin.id(), key).ok().flatten()
    }

    /// Every line the plugin logged so far, `init`'s included.
    pub fn log(&self) -> Vec<String> {
        self.lock_log().clone()
    }

    /// Panics unless some line of the plugin's whole log contains `text`.
    #[track_caller]
    pub fn assert_log_contains(&self, text: &str) {
        let log = self.log();
        if !log.iter().any(|l| l.contains(text)) {
            panic!(
                "{}: expected a log line containing {text:?}\n{}",
                self.plugin.id(),
                self.log_tail()
            );
        }
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A test that panicked while holding the lock left whole lines.
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, lines: impl Iterator<Item = String>) {
        self.lock_log().extend(lines);
    }

    /// The end of the plugin's log, for failure messages.
    fn log_tail(&self) -> String {
        tail(&self.lock_log())
    }
}

fn tail(log: &[String]) -> String {
    if log.is_empty() {
        return "the plugin's log is empty".to_string();
    }
    let skipped = log.len().saturating_sub(LOG_LINES_SHOWN);
    let mut out = if skipped > 0 {
        format!("the plugin's log (last {LOG_LINES_SHOWN} of {} lines):", log.len())
    } else {
        "the plugin's log:".to_string()
    };
    for line in &log[skipped..] {
        let _ = write!(out, "\n  | {line}");
    }
    out
}

/// The kind of an event, as manifests name it.
fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::TaskCreated(_) => "task-created",
        Event::TaskModified(_) => "task-modified",
        Event::TaskDeleted(_) => "task-deleted",
        Event::SyncCompleted(_) => "sync-completed",
        Event::Timer(_) => "timer",
        Event::Custom(_) => "custom",
    }
}

/// What one event did: the host's report, with assertions on it.
#[derive(Debug, Clone)]
pub struct Sent {
    plugin: String,
    event: &'static str,
    report: DispatchReport,
    log: String,
}

impl Sent {
    /// The host's whole report of the event.
    pub fn report(&self) -> &DispatchReport {
        &self.report
    }

    /// The plugin's delivery of the event itself, if it was offered it.
    pub fn delivery(&self) -> Option<&Delivery> {
        self.report
            .deliveries
            .iter()
            .find(|d| d.depth == 0 && *d.plugin == *self.plugin)
    }

    #[track_caller]
    fn delivered(&self) -> &Delivery {
        match self.delivery() {
            Some(delivery) => delivery,
            None => self.fail(
                "expected the plugin to be offered the event",
                "it was not (does its manifest subscribe to it?)",
            ),
        }
    }

    #[track_caller]
    fn fail(&self, expected: &str, happened: &str) -> ! {
        panic!(
            "{} on {}: {expected}\nwhat happened: {happened}\n{}",
            self.plugin, self.event, self.log
        )
    }

    /// How the plugin's call ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.delivery().map(|d| &d.outcome)
    }

    /// Panics unless the plugin handled the event without an error.
    #[track_caller]
    pub fn assert_handled(&self) -> &Sent {
        let delivery = self.delivered();
        if delivery.outcome != Outcome::Handled {
            self.fail("expected the event handled", &delivery.outcome.to_string());
        }
        self
    }

    /// Panics unless the plugin's handler returned an error whose text
    /// contains `text`.
    #[track_caller]
    pub fn assert_rejected(&self, text: &str) -> &Sent {
        let delivery = self.delivered();
        match &delivery.outcome {
            Outcome::Rejected(why) if why.contains(text) => self,
            other => self.fail(
                &format!("expected the handler to fail with {text:?}"),
                &other.to_string(),
            ),
        }
    }

    /// Panics unless the plugin trapped (a panic, an uncaught exception, a
    /// limit hit).
    #[track_caller]
    pub fn assert_trapped(&self) -> &Sent {
        let delivery = self.delivered();
        if !matches!(delivery.outcome, Outcome::Trapped(_)) {
            self.fail("expected the plugin to trap", &delivery.outcome.to_string());
        }
        self
    }

    /// The lines the plugin logged while handling the event.
    pub fn log_lines(&self) -> Vec<&str> {
        self.delivery()
            .map(|d| d.effects.logs.iter().map(|l| l.message.as_str()).collect())
            .unwrap_or_default()
    }

    /// Panics unless a line the plugin logged for this event contains `text`.
    #[track_caller]
    pub fn assert_log_contains(&self, text: &str) -> &Sent {
        if !self.log_lines().iter().any(|l| l.contains(text)) {
            self.fail(
                &format!("expected a log line containing {text:?}"),
                &format!("it logged {:?}", self.log_lines()),
            );
        }
        self
    }

    /// The task changes the plugin's call committed.
    pub fn changes(&self) -> &[TaskChange] {
        self.delivery().map_or(&[], |d| d.effects.changes.as_slice())
    }

    /// Panics if the plugin changed, created or deleted a task.
    #[track_caller]
    pub fn assert_no_task_changes(&self) -> &Sent {
        if !self.changes().is_empty() {
            self.fail("expected no task changes", &format!("{:#?}", self.changes()));
        }
        self
    }

    /// The task as the plugin's update left it: panics unless the plugin
    /// updated exactly the task `id` (once or more; the last state is given).
    #[track_caller]
    pub fn updated(&self, id: &str) -> Task {
        let last = self.changes().iter().rev().find_map(|change| match change {
            TaskChange::Updated { after, .. } if after.id == id => Some(after.clone()),
            _ => None,
        });
        match last {
            Some(task) => task,
            None => self.fail(
                &format!("expected the plugin to update task {id}"),
                &format!("its changes: {:#?}", self.changes()),
            ),
        }
    }

    /// Panics unless the plugin emitted `topic` with `payload`.
    #[track_caller]
    pub fn assert_emitted(&self, topic: &str, payload: &[u8]) -> &Sent {
        let emitted = self
            .delivery()
            .map(|d| d.effects.emitted.as_slice())
            .unwrap_or_default();
        if !emitted.iter().any(|e| e.topic == topic && e.payload == payload) {
            self.fail(
                &format!(
                    "expected the event {topic:?} emitted with {:?}",
                    String::from_utf8_lossy(payload)
                ),
                &format!("it emitted {emitted:?}"),
            );
        }
        self
    }

    /// Panics unless the host refused the plugin a call for lack of
    /// `permission` (e.g. `tasks.write`).
    #[track_caller]
    pub fn assert_denied(&self, permission: &str) -> &Sent {
        let denied = self.delivery().map(|d| d.effects.denied.as_slice()).unwrap_or_default();
        if !denied.iter().any(|d| d == permission) {
            self.fail(
                &format!("expected a call refused for lack of `{permission}`"),
                &format!("refused: {denied:?}"),
            );
        }
        self
    }
}
