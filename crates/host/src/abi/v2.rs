//! The native implementation of the newest world's host interfaces.
//!
//! Every call checks its arguments' size and the plugin's policy first; a
//! refusal returns the WIT `denied` error and is recorded. Storage failures
//! that are not the plugin's fault stop the call as a host failure, which
//! counts no strike.
//!
//! The calls are written once, as methods of [`PluginContext`] on the
//! contract's types; the bindings' `Host` traits below only convert their
//! arguments in and their results out (`abi::convert`), and the v1 adapter
//! calls the same methods.

use plugboard_contract::{
    Event, Filter, NewTask, PluginError, Priority, StateStoreError, Status, Task, TaskModification, TaskPatch,
    TaskStoreError,
};

use crate::abuse::{AbuseKind, HostFailure, LimitExceeded};
use crate::bindings::v2::plugboard::task_events::{clock, config, events, log, state, tasks, types};
use crate::context::{EmittedEvent, LogLevel, PluginContext};
use crate::limits::MAX_NAME_BYTES;
use crate::policy::Permission;
use crate::weight;

/// Longest state key, in bytes.
pub const MAX_STATE_KEY_BYTES: usize = 256;

/// Largest single state value: state is for settings and small records, not
/// files.
pub const MAX_STATE_VALUE_BYTES: usize = 1 << 20;

/// Most tasks one query returns, whatever the filter's limit, so a plugin
/// cannot make the host copy the whole store into its memory at once.
pub const MAX_QUERY_RESULTS: u32 = 10_000;

/// Turns a store failure into what the plugin sees: its own mistakes as WIT
/// errors, the store's failures as a host failure, which stops the call
/// without a strike.
fn task_result<T>(result: Result<T, TaskStoreError>) -> wasmtime::Result<Result<T, PluginError>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(TaskStoreError::NotFound(id)) => Ok(Err(PluginError::NotFound(id))),
        Err(TaskStoreError::Invalid(why)) => Ok(Err(PluginError::Invalid(why))),
        Err(TaskStoreError::Conflict(_)) => Ok(Err(PluginError::Conflict)),
        Err(e @ TaskStoreError::Unavailable(_)) => Err(HostFailure::trap(e.to_string())),
    }
}

fn state_failure(e: StateStoreError) -> wasmtime::Error {
    HostFailure::trap(e.to_string())
}

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.len() > MAX_STATE_KEY_BYTES {
        return Err(PluginError::Invalid(format!(
            "state key must be 1 to {MAX_STATE_KEY_BYTES} bytes, got {}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(PluginError::Invalid(format!(
            "state key {key:?} contains a control character"
        )));
    }
    Ok(())
}

/// Refuses a task id or topic longer than [`MAX_NAME_BYTES`] before the
/// host looks anything up with it.
fn check_name(what: &str, name: &str) -> Result<(), PluginError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(PluginError::Invalid(format!(
            "{what} is {} bytes; the most is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

fn capped(filter: &Filter) -> Filter {
    let mut filter = filter.clone();
    filter.limit = Some(filter.limit.unwrap_or(MAX_QUERY_RESULTS).min(MAX_QUERY_RESULTS));
    filter
}

/// A task as a plugin without `tasks.read` sees it: its id and times, and
/// nothing of its content (empty title, no tags, ...). Events carry this
/// form to such a plugin, and `tasks.update` answers with it.
pub fn without_content(task: &Task) -> Task {
    Task {
        id: task.id.clone(),
        title: String::new(),
        description: String::new(),
        status: Status::Pending,
        project: None,
        tags: Vec::new(),
        priority: Priority::None,
        due: None,
        created: task.created,
        modified: task.modified,
        annotations: Vec::new(),
        attributes: Vec::new(),
    }
}

/// An event as a plugin without `tasks.read` receives it: every task in it
/// [`without_content`]; other events unchanged.
pub fn event_without_content(event: &Event) -> Event {
    match event {
        Event::TaskCreated(task) => Event::TaskCreated(without_content(task)),
        Event::TaskDeleted(task) => Event::TaskDeleted(without_content(task)),
        Event::TaskModified(change) => Event::TaskModified(TaskModification {
            before: without_content(&change.before),
            after: without_content(&change.after),
        }),
        other => other.clone(),
    }
}

/// The host calls of the `tasks`, `state` and `events` interfaces, on the
/// contract's types. Each checks its arguments' size before anything else
/// (`max-value`, by [`crate::weight`]), and counts what the host keeps for
/// the call against its byte budget.
impl PluginContext {
    /// `tasks.get`: one task as this call sees it.
    pub(crate) fn get_task(&mut self, id: &str) -> wasmtime::Result<Result<Option<Task>, PluginError>> {
        self.enter()?;
        if let Err(e) = self
            .require(Permission::TasksRead)
            .and_then(|_| check_name("task id", id))
        {
            return Ok(Err(e));
        }
        task_result(self.tx.get(&*self.services.tasks, id))
    }

    /// `tasks.query`: the matching tasks, at most [`MAX_QUERY_RESULTS`].
    pub(crate) fn query_tasks(&mut self, filter: &Filter) -> wasmtime::Result<Result<Vec<Task>, PluginError>> {
        self.enter()?;
        self.check_size("query filter", weight::filter(filter))?;
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        task_result(self.tx.query(&*self.services.tasks, &capped(filter)))
    }

    /// `tasks.create`: stages a new task and returns it.
    pub(crate) fn create_task(&mut self, task: NewTask) -> wasmtime::Result<Result<Task, PluginError>> {
        self.enter()?;
        let size = weight::new_task(&task);
        self.check_size("new task", size)?;
        if let Err(e) = self.require(Permission::TasksWrite) {
            return Ok(Err(e));
        }
        self.charge("new task", size)?;
        let now = (self.services.clock)();
        task_result(self.tx.create(task, now))
    }

    /// `tasks.update`: stages a patch and returns the task as it is now
    /// (without its content to a plugin without `tasks.read`). Setting the
    /// status `deleted` needs `tasks.delete` as well.
    pub(crate) fn update_task(&mut self, id: &str, patch: &TaskPatch) -> wasmtime::Result<Result<Task, PluginError>> {
        self.enter()?;
        self.update_task_unentered(id, patch)
    }

    /// [`PluginContext::update_task`] for a call already counted.
    pub(crate) fn update_task_unentered(
        &mut self,
        id: &str,
        patch: &TaskPatch,
    ) -> wasmtime::Result<Result<Task, PluginError>> {
        self.check_size("task patch", weight::patch(patch))?;
        let allowed = self
            .require(Permission::TasksWrite)
            .and_then(|_| match patch.status {
                Some(Status::Deleted) => self.require(Permission::TasksDelete),
                _ => Ok(()),
            })
            .and_then(|_| check_name("task id", id))
            .and_then(|_| self.may_address(id));
        if let Err(e) = allowed {
            return Ok(Err(e));
        }
        let now = (self.services.clock)();
        let updated = task_result(self.tx.update(&*self.services.tasks, id, patch, now))?;
        if let Ok(task) = &updated {
            // Before and after are both kept until the call ends.
            self.charge("task update", 2 * weight::task(task))?;
        }
        Ok(match updated {
            Ok(task) if !self.policy.tasks_read => Ok(without_content(&task)),
            other => other,
        })
    }

    /// `tasks.delete`: stages a deletion.
    pub(crate) fn delete_task(&mut self, id: &str) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        let allowed = self
            .require(Permission::TasksDelete)
            .and_then(|_| check_name("task id", id))
            .and_then(|_| self.may_address(id));
        if let Err(e) = allowed {
            return Ok(Err(e));
        }
        let deleted = task_result(self.tx.delete(&*self.services.tasks, id))?;
        if let Ok(task) = &deleted {
            self.charge("task deletion", weight::task(task))?;
        }
        Ok(deleted.map(|_| ()))
    }

    /// `tasks.count`: how many tasks match, ignoring the filter's limit.
    pub(crate) fn count_tasks(&mut self, filter: &Filter) -> wasmtime::Result<Result<u32, PluginError>> {
        self.enter()?;
        self.check_size("query filter", weight::filter(filter))?;
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        let mut all = filter.clone();
        all.limit = None;
        Ok(task_result(self.tx.query(&*self.services.tasks, &all))?
            .map(|list| list.len().min(u32::MAX as usize) as u32))
    }

    /// `state.get`: one of the plugin's values, as this call sees them.
    pub(crate) fn get_state(&mut self, key: &str) -> wasmtime::Result<Result<Option<Vec<u8>>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        let value = self
            .tx
            .state_get(&*self.services.state, &self.plugin_id, key)
            .map_err(state_failure)?;
        Ok(Ok(value))
    }

    /// `state.set`: stages a value within the plugin's quota; it is written
    /// with the call's other changes when the call returns Ok.
    pub(crate) fn set_state(&mut self, key: &str, value: &[u8]) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        let size = weight::text(key) + weight::bytes(value);
        self.check_size("state value", size)?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        if value.len() > MAX_STATE_VALUE_BYTES {
            return Ok(Err(PluginError::Invalid(format!(
                "state value for {key:?} is {} bytes; the most is {MAX_STATE_VALUE_BYTES}",
                value.len()
            ))));
        }
        self.charge("state write", size)?;
        let quota = self.policy.state_quota.unwrap_or(0);
        let staged = self
            .tx
            .state_set(&*self.services.state, &self.plugin_id, key, value, quota)
            .map_err(state_failure)?;
        if !staged {
            return Ok(Err(PluginError::QuotaExceeded));
        }
        Ok(Ok(()))
    }

    /// `state.delete`: stages the removal of one of the plugin's keys.
    pub(crate) fn delete_state(&mut self, key: &str) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        self.charge("state deletion", weight::text(key))?;
        self.tx
            .state_delete(&*self.services.state, &self.plugin_id, key)
            .map_err(state_failure)?;
        Ok(Ok(()))
    }

    /// `state.list-keys`: the plugin's keys in byte order, as this call
    /// sees them.
    pub(crate) fn list_state_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State) {
            return Ok(Err(e));
        }
        let keys = self
            .tx
            .state_keys(&*self.services.state, &self.plugin_id)
            .map_err(state_failure)?;
        Ok(Ok(keys))
    }

    /// `events.emit`: queues an event for after the call succeeds.
    pub(crate) fn emit_event(&mut self, topic: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        let size = weight::text(&topic) + weight::bytes(&payload);
        self.check_size("event payload", size)?;
        if let Err(e) = check_name("topic", &topic) {
            return Ok(Err(e));
        }
        if !self.policy.allows_topic(&topic) {
            let requested = self.requested.allows_topic(&topic);
            return Ok(Err(self.deny(&format!("events.emit:{topic}"), requested)));
        }
        if self.effects.emitted.len() as u64 >= u64::from(self.limits.emits) {
            return Err(LimitExceeded::trap(
                AbuseKind::EventStorm,
                format!(
                    "emitted more than {} events while handling one event",
                    self.limits.emits
                ),
            ));
        }
        self.charge("emitted event", size)?;
        self.effects.emitted.push(EmittedEvent { topic, payload });
        Ok(Ok(()))
    }

    /// `log.log`: one line in the plugin's log.
    pub(crate) fn log_line(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.enter()?;
        self.check_size("log line", weight::text(&message))?;
        self.push_log(level, message)
    }
}

/// A call's result as the bindings return it: the value and the error
/// converted, a trap left as it is.
fn to_wit<T, W: From<T>>(
    result: wasmtime::Result<Result<T, PluginError>>,
) -> wasmtime::Result<Result<W, types::Error>> {
    result.map(|r| r.map(W::from).map_err(types::Error::from))
}

impl types::Host for PluginContext {}

impl tasks::Host for PluginContext {
    fn get(&mut self, id: String) -> wasmtime::Result<Result<Option<types::Task>, types::Error>> {
        to_wit(self.get_task(&id).map(|r| r.map(|found| found.map(types::Task::from))))
    }

    fn query(&mut self, filter: types::Filter) -> wasmtime::Result<Result<Vec<types::Task>, types::Error>> {
        let found = self.query_tasks(&filter.into());
        to_wit(found.map(|r| r.map(|list| list.into_iter().map(types::Task::from).collect::<Vec<_>>())))
    }

    fn create(&mut self, task: types::NewTask) -> wasmtime::Result<Result<types::Task, types::Error>> {
        to_wit(self.create_task(task.into()))
    }

    fn update(&mut self, id: String, patch: types::TaskPatch) -> wasmtime::Result<Result<types::Task, types::Error>> {
        to_wit(self.update_task(&id, &patch.into()))
    }

    fn delete(&mut self, id: String) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.delete_task(&id))
    }

    fn count(&mut self, filter: types::Filter) -> wasmtime::Result<Result<u32, types::Error>> {
        to_wit(self.count_tasks(&filter.into()))
    }
}

impl state::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, types::Error>> {
        to_wit(self.get_state(&key))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.set_state(&key, &value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.delete_state(&key))
    }

    fn list_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, types::Error>> {
        to_wit(self.list_state_keys())
    }
}

impl events::Host for PluginContext {
    fn emit(&mut self, topic: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.emit_event(topic, payload))
    }
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> LogLevel {
        match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        }
    }
}

impl log::Host for PluginContext {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.log_line(level.into(), message)
    }
}

impl clock::Host for PluginContext {
    fn now(&mut self) -> wasmtime::Result<i64> {
        self.enter()?;
        Ok((self.services.clock)())
    }
}

impl config::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.enter()?;
        Ok(self.config.get(&key).cloned())
    }
}
